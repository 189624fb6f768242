"""Issue 20 §5.3-§5.6: every file is parsed at the boundary, every build is size-guarded, nonsense is refused,
and every piece of advice applies. Each case: one message line, exit 2, no traceback, nothing else changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
import torch

from nasprior.cli import build_parser, main
from nasprior.errors import ConfigError, DataError
from nasprior.evaluation import check_cost
from nasprior.genome import Genome
from nasprior.networks import build_network
from nasprior.predictors.stored import Predictor, _sha256
from nasprior.results.report import topology_figure
from nasprior.search import SearchConfig
from nasprior.space import SearchSpace, default_space_path
from nasprior.sparsity.pruning import save_masks
from nasprior.tasks import get_task, load_task

SHIPPED = Path(__file__).resolve().parent.parent / "predictors" / "reber-gru"
LAYERED = {"prior": "complete", "mapping": "layered", "n_nodes": 2, "n_layers": 2, "width": 16}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (directories as empty markers).

    A run's own empty lock file (``.lock``, left by filelock when a command that took the run's lock stops) is
    not a change to the user's files.
    """
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(root.rglob("*"))
        if p.name != ".lock"
    }


def run(capsys, *argv: str) -> str:
    """Run the CLI in-process; assert exit 2, one error line after any notes, no traceback; return the line."""
    status = main(list(argv))
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert status == 2, err
    lines = err.splitlines()
    assert "Traceback" not in err + captured.out and lines[-1].startswith("nasprior: error: "), err
    assert all(line.startswith(("note: ", "moved ")) for line in lines[:-1]), err
    return lines[-1]


def unchanged(capsys, root: Path, *argv: str) -> str:
    """:func:`run`, also asserting that nothing under ``root`` was created, changed or removed."""
    before = snapshot(root)
    err = run(capsys, *argv)
    assert snapshot(root) == before
    return err


def digits_run(tmp_path: Path, name: str = "r", **changes) -> Path:
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits", space=space.to_dict(), population=2, generations=0, train={"epochs": 1}, run_id=name
    ).to_dict()
    config.update(changes)
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return run_dir


def record(genome: dict, **metrics) -> dict:
    key = Genome.from_dict(genome).key
    metrics = metrics or {"val_acc": 0.5}
    return {"key": key, "status": "trained", "task": "digits", "genome": genome, "metrics": metrics, "features": {}}


# -- §5.3 every file parsed into a typed, validated object at the boundary -------------------------------


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"prior": ["gnp"], "cell": "gru"}', ["'prior' = ['gnp']", "use one of"]),
        ('{"prior": "gnp", "mapping": {"a": 1}}', ["'mapping'", "use one of"]),
        ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
        ("[]", ["empty list"]),
    ],
)
def test_bad_genome_arguments_give_one_message(tmp_path, capsys, text, words):
    path = tmp_path / "genome.json"
    path.write_text(text, encoding="utf-8")
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(SHIPPED), "--genome", str(path))
    assert all(w in err for w in words), err


def test_genome_file_that_is_not_utf8_is_refused(tmp_path, capsys):
    path = tmp_path / "genome.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(SHIPPED), "--genome", str(path))
    assert "not UTF-8" in err and str(path) in err


@pytest.mark.parametrize("genome", [{"prior": ["gnp"]}, {"prior": "gnp", "n_nodes": [8]}])
def test_a_record_with_a_mistyped_genome_is_refused_on_resume(tmp_path, capsys, genome):
    run_dir = digits_run(tmp_path)
    line = {"key": "k", "status": "trained", "task": "digits", "genome": genome, "metrics": {"val_acc": 0.5}}
    (run_dir / "records.jsonl").write_text(json.dumps({**line, "features": {}}) + "\n", encoding="utf-8")
    err = unchanged(capsys, tmp_path, "search", "--resume", str(run_dir))
    assert "records.jsonl, line 1" in err and "field 'genome'" in err


@pytest.mark.parametrize(
    "content, words",
    [
        (b"genes = 5\n", ["[genes] must be a table", "not int 5"]),
        (b"[genes]\nprior = 5\n", ["gene 'prior' lists [5]"]),
        (b"train = 3\n[genes]\n", ["[train] must be a table"]),
        (bytes(range(256)) * 4, ["not UTF-8 text"]),
        (b"[genes]\nprior = " + b"[" * 5000 + b"]" * 5000 + b"\n", ["search space"]),
    ],
)
def test_malformed_space_files_give_one_message(tmp_path, capsys, content, words):
    space = tmp_path / "space.toml"
    space.write_bytes(content)
    err = unchanged(capsys, tmp_path, "search", "--task", "digits", "--space", str(space), "--runs-dir", str(tmp_path))
    assert all(w in err for w in words) and str(space) in err, err


def test_space_that_is_a_directory_is_refused(tmp_path, capsys):
    err = unchanged(capsys, tmp_path, "search", "--task", "digits", "--space", str(tmp_path), "--runs-dir", "x")
    assert "is a directory" in err or "is not a file" in err


@pytest.mark.parametrize("address", ["garbage", "tcp://host", "tcp://host:99999999", "ftp://host:1"])
def test_bad_scheduler_address_is_refused_before_anything_is_created(tmp_path, capsys, address):
    argv = ["--runs-dir", str(tmp_path), "--run-id", "x", "--scheduler", address]
    err = unchanged(capsys, tmp_path, "search", "--task", "digits", *argv)
    assert "not a Dask scheduler address" in err and "tcp://" in err
    err = unchanged(capsys, tmp_path, "sample", "--task", "digits", "--n", "2", *argv)
    assert "not a Dask scheduler address" in err


def test_record_log_that_is_a_directory_is_refused(tmp_path, capsys):
    run_dir = digits_run(tmp_path)
    (run_dir / "records.jsonl").mkdir()
    err = unchanged(capsys, tmp_path, "search", "--resume", str(run_dir))
    assert "cannot read the record log" in err and "records.jsonl" in err


def test_config_that_is_not_an_object_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("[1, 2]", encoding="utf-8")
    err = unchanged(capsys, tmp_path, "search", "--resume", str(run_dir))
    assert "config.json must hold a JSON object" in err


def _reber_dir(tmp_path: Path, train: str, test: str = ",string,valid\n0,BTSSXXTVVE,1\n1,BTX,0\n") -> Path:
    (tmp_path / "reber").mkdir()
    (tmp_path / "reber" / "train.csv").write_text(train, encoding="utf-8")
    (tmp_path / "reber" / "test.csv").write_text(test, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "train, words",
    [
        (",string,valid\n0," + "B" * 200_000 + ",1\n", ["not a readable CSV file"]),
        (",string,valid\n0," + "B" * 5_000 + ",1\n", ["line 2", "5,000 characters"]),
        (",string,valid\n" + "".join(f"{i},BTSSXXTVVE,{i % 2}\n" for i in range(5)), ["has 5 training", "too few"]),
    ],
)
def test_bad_reber_files_give_one_data_error(tmp_path, train, words):
    data = _reber_dir(tmp_path, train)
    with pytest.raises(DataError) as info:
        load_task("reber", data)
    assert all(w in str(info.value) for w in words), info.value


def test_mnist_with_100_images_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for split in ("train", "test"):
        x = rng.integers(0, 256, size=(100, 28, 28), dtype=np.uint8)
        np.savez(tmp_path / "mnist" / f"{split}.npz", x=x, y=np.arange(100) % 10)
    with pytest.raises(DataError, match="has 100 training examples, too few"):
        load_task("mnist", tmp_path)


def _card_copy(tmp_path: Path) -> tuple[Path, dict]:
    target = tmp_path / "pred"
    shutil.copytree(SHIPPED, target)
    return target, json.loads((target / "model_card.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c["features"]["min"].update({c["features"]["names"][0]: "low"}), "features.min."),
        (lambda c: c.update(intervals=[0.9]), "'intervals'"),
        (lambda c: c.update(model_file=3), "'model_file'"),
        (lambda c: c.update(model_file="../../etc/passwd"), "'model_file'"),
        (lambda c: c.update(where=["cell"]), "'where'"),
        (lambda c: c.update(source=7), "'source'"),
        (lambda c: c["task"].update(vocab_size="28"), "'task.vocab_size'"),
        (lambda c: c["features"].update(genes={"cell": "gru"}), "'features.genes'"),
    ],
)
def test_every_model_card_field_is_validated(tmp_path, capsys, change, field):
    target, card = _card_copy(tmp_path)
    change(card)
    (target / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(target), "--genome", '{"cell": "gru"}')
    assert field in err and "refit" in err, err


def test_skops_file_holding_a_dict_is_refused(tmp_path, capsys):
    target, card = _card_copy(tmp_path)
    sio.dump({"not": "a pipeline"}, target / "model.skops")
    card["model_sha256"] = _sha256(target / "model.skops")
    (target / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(target), "--genome", '{"cell": "gru"}')
    assert "holds a dict, not a fitted scikit-learn pipeline" in err


def _best_run(tmp_path: Path, genome: dict, weights_of: dict | None = None) -> Path:
    run_dir = digits_run(tmp_path)
    (run_dir / "best").mkdir()
    (run_dir / "best" / "genome.json").write_text(json.dumps(genome), encoding="utf-8")
    net = build_network(Genome.from_dict(weights_of or genome), get_task("digits").shape)
    torch.save(net.state_dict(), run_dir / "best" / "model.pt")
    return run_dir


def test_export_refuses_random_bytes_in_model_pt(tmp_path, capsys):
    run_dir = _best_run(tmp_path, LAYERED)
    (run_dir / "best" / "model.pt").write_bytes(np.random.default_rng(0).bytes(4000))
    err = unchanged(capsys, tmp_path, "export", str(run_dir), "--out", str(tmp_path / "m.onnx"))
    assert "not a readable torch state dict" in err and "best/" in err


def test_export_refuses_a_genome_that_no_longer_fits_the_weights(tmp_path, capsys):
    run_dir = _best_run(tmp_path, {**LAYERED, "width": 20}, weights_of=LAYERED)
    err = unchanged(capsys, tmp_path, "export", str(run_dir), "--out", str(tmp_path / "m.onnx"))
    assert "does not fit the network of best/genome.json" in err and "size mismatch" in err


# -- §5.4 one cost estimate guards every path that builds a graph, a network or a population -------------


def test_graph_file_too_large_for_its_features_is_refused(tmp_path, capsys):
    path = tmp_path / "big.edgelist"
    path.write_text("".join(f"{i} {i + 1}\n" for i in range(30_000)), encoding="utf-8")
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(SHIPPED), "--graph", str(path))
    assert "30,001 nodes" in err and "too large" in err and "NASPRIOR_MAX_MEMORY_GB" in err


def test_graph_file_predictor_checks_a_genome_before_building_its_graph():
    predictor = Predictor(pipeline=None, card={"source": "graphs", "features": {}})
    with pytest.raises(ConfigError, match="prior graph of genome .* too large"):
        predictor.genome_features([Genome(prior="gnp", n_nodes=4096, p=1.0)])


def test_report_does_not_draw_a_genome_too_large_to_build():
    with pytest.raises(ConfigError, match="too large"):
        topology_figure(Genome(prior="gnp", n_nodes=4096, p=1.0))


def test_convolutional_cost_counts_channels():
    shape = get_task("cifar10").shape
    small = Genome(prior="gnp", mapping="convolutional", n_nodes=6, channels=16, p=0.5)
    gb, _ = check_cost(small, shape)
    assert gb < 1.0
    with pytest.raises(ConfigError, match="too large: about [0-9.,]+ GiB"):
        check_cost(small.replace(channels=512), shape)


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "--task", "digits", "--strategy", "ga-screen", "--screen-factor", "100000000"],
        ["search", "--task", "digits", "--population", "100000000"],
        ["sample", "--task", "digits", "--n", "100000000"],
    ],
)
def test_populations_too_large_to_hold_are_refused_before_anything_is_created(tmp_path, capsys, argv):
    err = unchanged(capsys, tmp_path, *argv, "--runs-dir", str(tmp_path), "--run-id", "x")
    assert "candidates) is too large" in err and "GiB" in err


def test_nnstd_refuses_masks_too_large_to_compare(tmp_path, capsys, monkeypatch):
    masks = [np.ones((400, 64), dtype=bool), np.ones((10, 400), dtype=bool)]
    save_masks(tmp_path / "a.npz", masks)
    monkeypatch.setenv("NASPRIOR_MAX_MEMORY_GB", "0.001")
    err = unchanged(capsys, tmp_path, "nnstd", str(tmp_path / "a.npz"), str(tmp_path / "a.npz"), "--include-output")
    assert "masks of" in err and "too large" in err


# -- §5.5 nonsense accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_val_acc_in_a_record_is_refused_on_resume(tmp_path, capsys, value):
    run_dir = digits_run(tmp_path)
    (run_dir / "records.jsonl").write_text(json.dumps(record(LAYERED, val_acc=value)) + "\n", encoding="utf-8")
    err = unchanged(capsys, tmp_path, "search", "--resume", str(run_dir))
    assert "records.jsonl, line 1" in err and "'metrics.val_acc'" in err and "finite" in err


def test_numeric_gene_features_are_refused(tmp_path, capsys):
    err = unchanged(
        capsys, tmp_path, "predictor", "fit", str(tmp_path), "--name", "p", "--out", str(tmp_path), "--gene-features",
        "cell,n_nodes",
    )  # fmt: skip
    assert "--gene-features n_nodes" in err and "choose among prior, mapping" in err and "cell" in err


def test_run_id_with_a_trailing_newline_is_refused(tmp_path, capsys):
    err = unchanged(capsys, tmp_path, "search", "--task", "digits", "--runs-dir", str(tmp_path), "--run-id", "x\n")
    assert "plain name" in err


# -- §5.6 advice that applies ----------------------------------------------------------------------------


def test_bad_tail_advice_names_an_option_that_sample_and_fit_accept(tmp_path, capsys):
    run_dir = digits_run(tmp_path)
    good = json.dumps(record(LAYERED))
    (run_dir / "records.jsonl").write_text(good + "\n{torn", encoding="utf-8")
    err = unchanged(capsys, tmp_path, "predictor", "fit", str(run_dir), "--name", "p", "--out", str(tmp_path / "o"))
    assert "--drop-bad-tail" in err and "last line" in err
    parser = build_parser()
    assert parser.parse_args(["sample", "--task", "digits", "--n", "2", "--drop-bad-tail"]).drop_bad_tail
    err = run(capsys, "predictor", "fit", str(run_dir), "--name", "p", "--out", str(tmp_path / "o"), "--drop-bad-tail")
    assert "1 trained record(s)" in err  # the tail was moved aside; the fit then needs more records
    assert (run_dir / "records.jsonl").read_text(encoding="utf-8") == good + "\n"
    assert (run_dir / "records.jsonl.bad").read_text(encoding="utf-8") == "{torn"


@pytest.mark.parametrize(
    "config, word", [({"kind": "sample", "task": "digits"}, "sample run"), ({"experiment": "prune-mnist"}, "prune")]
)
def test_search_resume_of_another_kind_of_run_says_so(tmp_path, capsys, config, word):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    err = unchanged(capsys, tmp_path, "search", "--resume", str(run_dir))
    assert word in err and "not a search" in err and "cells" not in err


def test_genome_of_another_task_is_told_the_predictor_task(capsys, tmp_path):
    err = unchanged(capsys, tmp_path, "predict", "--predictor", str(SHIPPED), "--genome", json.dumps(LAYERED))
    assert "is for task 'reber'" in err and "cell = None" not in err


def test_nnstd_on_a_directory_says_directory(tmp_path, capsys):
    err = unchanged(capsys, tmp_path, "nnstd", str(tmp_path), json.dumps(LAYERED), "--n-inputs", "4")
    assert "is a directory" in err and "not valid JSON" not in err
