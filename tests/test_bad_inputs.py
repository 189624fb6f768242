"""Every bad input a new user tried gives one clear line, exit status 2, and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasprior.cli import main
from nasprior.errors import RecordError
from nasprior.runs.records import RecordLog
from nasprior.search import SearchConfig
from nasprior.space import SearchSpace, default_space_path


def run(capsys, *argv: str) -> str:
    """Run the CLI, assert exit status 2 and one error line (after any notes) without traceback; return it."""
    status = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    lines = err.splitlines()
    assert "Traceback" not in err and lines[-1].startswith("nasprior: error: "), err
    assert all(line.startswith("note: ") for line in lines[:-1]), err  # e.g. an old predictor's missing intervals
    return lines[-1]


def digits_run(tmp_path: Path, **changes) -> Path:
    """A run directory holding a valid digits config.json (nothing trained)."""
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits", space=space.to_dict(), population=2, generations=0, train={"epochs": 1}, run_id="r"
    ).to_dict()
    config.update(changes)
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return run_dir


def test_infinite_lr_is_refused_before_anything_is_written(tmp_path, capsys):
    err = run(capsys, "search", "--task", "digits", "--lr", "inf", "--runs-dir", str(tmp_path), "--run-id", "x")
    assert "'lr'" in err and "finite" in err
    assert not (tmp_path / "x").exists()


def test_negative_seed_is_refused(tmp_path, capsys):
    assert "seed" in run(capsys, "search", "--task", "digits", "--seed", "-1", "--runs-dir", str(tmp_path))


@pytest.mark.parametrize(
    "table, line, word",
    [("[train]", "epocs = 3", "did you mean 'epochs'"), ("[search]", "populaton = 3", "did you mean 'population'")],
)
def test_unknown_space_keys_are_refused(tmp_path, capsys, table, line, word):
    text = default_space_path("digits").read_text(encoding="utf-8").replace(table, f"{table}\n{line}", 1)
    space = tmp_path / "space.toml"
    space.write_text(text, encoding="utf-8")
    err = run(capsys, "search", "--task", "digits", "--space", str(space), "--runs-dir", str(tmp_path))
    assert word in err and str(space) in err


@pytest.mark.parametrize(
    "record, field",
    [
        ({"key": "abc", "status": "trained"}, "'task'"),
        (
            {"key": "abc", "status": "trained", "task": "digits", "genome": {}, "metrics": "high", "features": {}},
            "'metrics'",
        ),
        ({"key": "abc", "status": "weird", "task": "digits", "genome": {}, "metrics": {}, "features": {}}, "'status'"),
    ],
)
def test_resume_refuses_wrong_schema_records(tmp_path, capsys, record, field):
    run_dir = digits_run(tmp_path)
    (run_dir / "records.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    err = run(capsys, "search", "--resume", str(run_dir))
    assert field in err and "records.jsonl, line 1" in err


@pytest.mark.parametrize(
    "change, word", [({"populaton": 3}, "unknown key 'populaton'"), ({"population": "ten"}, "'population' = 'ten'")]
)
def test_resume_refuses_a_bad_config(tmp_path, capsys, change, word):
    run_dir = digits_run(tmp_path, **change)
    err = run(capsys, "search", "--resume", str(run_dir))
    assert word in err and "config.json" in err


def test_resume_refuses_options_that_would_change_the_run(tmp_path, capsys):
    run_dir = digits_run(tmp_path)
    err = run(capsys, "search", "--resume", str(run_dir), "--task", "mnist", "--population", "3", "--epochs", "2")
    assert "--task, --population, --epochs" in err


@pytest.mark.parametrize("run_id", ["../../etc", "/tmp/elsewhere", ".hidden", "a/b"])
def test_run_ids_must_be_plain_names(tmp_path, capsys, run_id):
    err = run(capsys, "search", "--task", "digits", "--runs-dir", str(tmp_path), "--run-id", run_id)
    assert "--run-id" in err and "plain name" in err


def test_predictor_names_must_be_plain_names(tmp_path, capsys):
    err = run(capsys, "predictor", "fit", str(tmp_path), "--name", "../../x")
    assert "--name" in err and "--out" in err


def test_existing_directory_that_is_not_a_run_is_never_written(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("my own file", encoding="utf-8")
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    run(capsys, "search", "--task", "digits", "--runs-dir", str(tmp_path), "--run-id", "mine")
    assert (mine / "config.json").read_text(encoding="utf-8") == "my own file"
    assert sorted(p.name for p in mine.iterdir()) == ["config.json", "notes.txt"]


def test_unwritable_runs_dir_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    err = run(capsys, "search", "--task", "digits", "--runs-dir", str(blocker), "--run-id", "x")
    assert "cannot write" in err


def test_unwritable_record_log_names_the_candidate(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(RecordError, match="candidate k1 was evaluated but not logged"):
        RecordLog(blocker / "records.jsonl").append({"key": "k1"})


def test_model_card_without_features_or_task_is_refused(tmp_path, capsys):
    (tmp_path / "model_card.json").write_text(json.dumps({"schema": 1, "target": "val_acc"}), encoding="utf-8")
    err = run(capsys, "predict", "--predictor", str(tmp_path), "--genome", '{"prior": "gnp"}')
    assert "field 'task'" in err and "refit" in err


def test_huge_genome_is_refused_with_its_estimate(capsys):
    shipped = Path(__file__).resolve().parent.parent / "predictors" / "reber-gru"
    err = run(
        capsys,
        "predict",
        "--predictor",
        str(shipped),
        "--genome",
        '{"prior": "gnp", "n_nodes": 4096, "p": 1.0, "cell": "gru"}',
    )
    assert "too large" in err and "GiB" in err and "NASPRIOR_MAX_MEMORY_GB" in err


def test_a_search_that_screens_validation_only_prints_its_summary(tmp_path, capsys):
    """score_test = false (the CIFAR-10 screening): the best screened candidate has no test accuracy to print."""
    text = default_space_path("digits").read_text(encoding="utf-8").replace("[train]", "[train]\nscore_test = false", 1)
    space = tmp_path / "space.toml"
    space.write_text(text, encoding="utf-8")
    argv = ["search", "--task", "digits", "--space", str(space), "--runs-dir", str(tmp_path), "--run-id", "v"]
    argv += ["--population", "2", "--generations", "0", "--epochs", "1", "--final-top-k", "0", "--threads", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "val accuracy:" in out and "test accuracy:" not in out
