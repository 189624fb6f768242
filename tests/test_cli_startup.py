"""The CLI starts without torch: ``--help`` and ``--version`` import only argparse and the name lists."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nasprior
from nasprior import names
from nasprior._version import __version__
from nasprior.cli import build_parser, handler, main
from nasprior.cli.parsers import HANDLERS
from nasprior.search import OBJECTIVES, STRATEGIES
from nasprior.sparsity.pruning import SCHEMES
from nasprior.tasks import TASKS
from nasprior.training import DEVICES

REPO = Path(__file__).resolve().parents[1]
#: Libraries that take seconds to import; none may be loaded to build the parser.
HEAVY = ("torch", "sklearn", "skops", "onnx", "onnxruntime", "scipy", "networkx", "numpy", "optuna", "dask")


def python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter on this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_importing_the_cli_and_building_its_parser_imports_no_torch():
    assert python("import nasprior.cli, sys; sys.exit('torch' in sys.modules)").returncode == 0
    done = python(
        "import sys, nasprior, nasprior.cli\n"
        "nasprior.cli.build_parser().format_help()\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [["--help"], ["search", "--help"], ["predictor", "fit", "--help"], ["--version"]])
def test_help_and_version_answer_without_torch(argv):
    done = python(
        "import sys\nfrom nasprior.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('torch loaded' if 'torch' in sys.modules else 'no torch', file=sys.stderr)\nsys.exit(code)"
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("no torch")
    if argv == ["--version"]:
        assert done.stdout.strip() == f"nasprior {__version__}"
    else:
        assert done.stdout.startswith("usage: nasprior")


def test_the_console_module_prints_the_version_and_search_help():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda *argv: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "nasprior", *argv], env=env, capture_output=True, text=True, timeout=120
    )
    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"nasprior {__version__}")
    search = run("search", "--help")
    assert search.returncode == 0
    assert "--strategy {ga-skip,ga,ga-screen,random}" in search.stdout and "--device {auto,cpu,cuda}" in search.stdout


def test_every_subcommand_has_a_handler_that_resolves():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == list(HANDLERS)  # --help order too
    for command in HANDLERS:
        assert callable(handler(command))


def test_a_user_error_raised_while_importing_a_handler_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_handler.py").write_text(
        "from nasprior.errors import ConfigError\nraise ConfigError('the plugin is broken: reinstall it')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(HANDLERS, "report", "broken_handler:cmd_report")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "nasprior: error: the plugin is broken: reinstall it\n"


def test_the_name_lists_are_those_of_their_owners():
    assert (OBJECTIVES, STRATEGIES, DEVICES, SCHEMES) == (
        names.OBJECTIVES,
        names.STRATEGIES,
        names.DEVICES,
        names.PRUNE_SCHEMES,
    )
    # the registry is the truth: its built-in tasks (registered first, on import) are the parser's TASK_NAMES
    assert tuple(TASKS)[: len(names.TASK_NAMES)] == names.TASK_NAMES
    assert all(TASKS[name].load.__module__.startswith("nasprior.tasks.") for name in names.TASK_NAMES)


def test_the_public_api_is_imported_on_first_access():
    from nasprior import Genome, build_network, evaluate  # noqa: F401

    assert Genome is nasprior.genome.Genome and callable(evaluate)
    assert set(nasprior.__all__) <= set(dir(nasprior))
    for name in nasprior.__all__:
        assert getattr(nasprior, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        nasprior.nonsense  # noqa: B018
