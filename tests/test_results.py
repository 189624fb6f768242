"""Reading finished runs: the HTML report and the ONNX export."""

from __future__ import annotations

import base64
import re

import onnx
import pytest
from test_search import small_config

from nasprior.cli import main
from nasprior.results.export import TOLERANCE, export_onnx
from nasprior.results.report import FIGURES, write_report
from nasprior.search import run_search
from nasprior.space import SearchSpace, default_space_path
from nasprior.tasks import load_task


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run"
    run_search(
        small_config(objectives=["accuracy", "weights"]), path, data=load_task("digits", seed=0), log=lambda _: None
    )
    return path


def test_report_holds_every_figure(run_dir):
    page = write_report(run_dir).read_text(encoding="utf-8")
    for name in FIGURES:
        match = re.search(rf'<img id="{name}" alt="{name}" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert match, name
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG")
    assert "Config" in page and "Versions" in page and "torch" in page


def test_onnx_export_matches_torch(run_dir, capsys):
    path, diff = export_onnx(run_dir)
    assert path.exists() and path.stat().st_size > 0 and diff <= TOLERANCE
    assert main(["export", str(run_dir), "--key", "0123456789abcdef"]) == 2
    assert "no trained candidate 0123456789abcdef" in capsys.readouterr().err


def test_progress_is_live_on_a_terminal_and_plain_elsewhere(tmp_path):
    import io

    from nasprior.compute.progress import SearchProgress

    plain = io.StringIO()
    with SearchProgress(2, stream=plain) as progress:  # a StringIO is not a terminal
        progress.candidate("abc gnp(n=8)", 3)
        progress.epoch(1, 3, 0.5)
        progress.log("  [gen 0] 1/2 abc: val 0.5000")
        progress.done()
    assert plain.getvalue() == "  [gen 0] 1/2 abc: val 0.5000\n"
    live = io.StringIO()
    with SearchProgress(2, live=True, stream=live) as progress:
        progress.candidate("abc gnp(n=8)", 3)
        progress.epoch(2, 3, 0.75)
        progress.log("a line")
        progress.done()
    text = live.getvalue()
    assert "a line" in text and "search" in text and "1/2" in text


def test_onnx_export_of_a_widened_pooled_convolutional_survivor(tmp_path):
    space = SearchSpace.from_toml(default_space_path("cifar10")).to_dict()
    space["genes"].update({"n_nodes": {"values": [3]}, "channels": {"values": [4]}, "op": ["conv"]})
    final = {"top_k": 1, "epochs": 1, "whiten_stem": True, "stem_pool": 2, "width_multiplier": 2.0}
    config = small_config(space=space, population=2, generations=0, final=final)
    run_search(config, tmp_path / "run", data=load_task("digits", seed=0), log=lambda _: None)
    path, diff = export_onnx(tmp_path / "run")
    assert path.exists() and diff <= TOLERANCE
    assert any(node.op_type == "MaxPool" for node in onnx.load(str(path)).graph.node)  # the network trained, pooled
