"""The README and the documentation site: short, current, their code runs, their figures come from files."""

from __future__ import annotations

import re
import runpy
import sys
import tomllib
from pathlib import Path

import pytest

from nasprior import __version__
from nasprior.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import docs_figures  # noqa: E402
import mkdocs_hooks  # noqa: E402

DOCS = ROOT / "docs"


def test_readme_is_short_and_its_headline_table_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert docs_figures.readme_table_current(readme) == readme, "run python scripts/docs_figures.py"
    assert "python -m pytest -q -n 2" in readme


def test_every_table_marker_renders_and_names_its_file():
    pages = [p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")]
    names = {m for page in pages for m in re.findall(r"<!-- table: (\w+) -->", page)}
    assert names, "no generated tables in the docs"
    for name in names:
        table = docs_figures.TABLES[name]()
        assert table.startswith("|") and "Source: `" in table
        for path in re.findall(r"`([\w./-]+\.(?:txt|json|jsonl|gz))`", table):
            assert (ROOT / path).is_file(), path
    with pytest.raises(KeyError):
        docs_figures.render("<!-- table: no_such_table -->")


def test_figures_read_the_committed_files():
    # the sparse benchmark's two runs, and the comparison against plain dense the issue asked for
    runs = docs_figures.sparse_runs()
    assert len(runs) == 2
    step = runs[0]["layers"][("3072->1024", 5, "train")]
    assert step["dense"] / step["SparseLinear"] == pytest.approx(22.06 / 6.54)
    # the anytime medians say how many seeds they cover
    fractions = docs_figures.search_fractions()
    assert fractions["ga-skip"]["anytime"][60][1] == 2 and fractions["ga"]["anytime"][60][1] == 10
    # seed-noise ceilings come with an interval that holds the point estimate
    for value, low, high, n in docs_figures.seed_noise_ceilings(n_boot=200).values():
        assert low < value < high and n == 10
    # the proxy and compile tables read every row of their files
    costs = {r["network"]: r["cpu_s"] for r in docs_figures.proxy_costs()}
    assert len(costs) == 5 and costs["cnn 6 nodes conv"]["all five"] == pytest.approx(2.453)
    assert docs_figures.compile_rows()["train compiled"]["ratio"] == "1.27x"
    assert docs_figures.table_proxy_sanity().count("`proxy_") == 5


def test_cli_reference_covers_every_command():
    text = mkdocs_hooks.cli_reference()
    for command in (
        "nasprior search",
        "nasprior sample",
        "nasprior predictor fit",
        "nasprior predict",
        "nasprior report",
    ):
        assert f"## `{command}`" in text
    assert "--final-top-k" in text


def test_version_is_defined_once(capsys):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "nasprior._version.__version__"}
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"nasprior {__version__}"


@pytest.mark.parametrize("example", ["add_prior.py", "train_own_loop.py", "fit_own_predictor.py"])
def test_tutorial_examples_run(example, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [example, str(tmp_path / "out")])
    runpy.run_path(str(DOCS / "examples" / example), run_name="__main__")
    out = capsys.readouterr().out
    page = {"add_prior.py": "add-prior", "train_own_loop.py": "own-loop", "fit_own_predictor.py": "own-predictor"}
    assert f'--8<-- "docs/examples/{example}"' in (DOCS / "tutorials" / f"{page[example]}.md").read_text("utf-8")
    assert out.strip()
    if example == "train_own_loop.py":
        assert float(out.split("epochs: ")[1]) > 0.9
