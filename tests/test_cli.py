"""The command line: a real digits search, and one clear message for each bad input."""

import json

import pytest

from nasprior.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_digits_search_prints_best_and_resumes(tmp_path, capsys):
    args = [
        "search",
        "--task",
        "digits",
        "--population",
        "3",
        "--generations",
        "1",
        "--epochs",
        "2",
        "--final-epochs",
        "2",
        "--runs-dir",
        str(tmp_path),
        "--run-id",
        "r1",
        "--seed",
        "1",
    ]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    for needle in (
        "best candidate",
        "genome:",
        "val accuracy:",
        "test accuracy:",
        "non-zero weights:",
        "density:",
        "trained",
        "generation 1: best",
        "fully trained survivors",
        "MFLOPs",
    ):
        assert needle in out
    n_lines = len((tmp_path / "r1" / "records.jsonl").read_text().splitlines())
    code, out, _ = run_cli(capsys, "search", "--resume", str(tmp_path / "r1"))
    assert code == 0 and f"{n_lines} candidates already logged" in out
    assert len((tmp_path / "r1" / "records.jsonl").read_text().splitlines()) == n_lines
    code, _, err = run_cli(capsys, *args)  # same run id again: refused, nothing overwritten
    assert code == 2 and "--resume" in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["search", "--task", "imagenet"], "unknown task 'imagenet'"),
        (["search", "--task", "digits", "--population", "1"], "population"),
        (["search", "--task", "digits", "--epochs", "0"], "'epochs'"),
        (["search", "--task", "digits", "--skip-quantile", "2"], "'quantile'"),
        (["search", "--task", "mnist", "--data-dir", "/nonexistent/data"], "/nonexistent/data"),
        (["search", "--resume", "/nonexistent/run"], "not a run directory"),
        (["search"], "--task"),
    ],
)
def test_bad_input_gives_one_clear_message(argv, needle, capsys, tmp_path):
    code, _, err = run_cli(capsys, *argv, *(["--runs-dir", str(tmp_path)] if "--task" in argv else []))
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert err.startswith("nasprior: error:") and err.count("nasprior: error:") == 1


def test_unknown_prior_in_space_file(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[genes]\nprior = ["gnp", "hypercube"]\n')
    code, _, err = run_cli(capsys, "search", "--task", "digits", "--space", str(space), "--runs-dir", str(tmp_path))
    assert code == 2 and "hypercube" in err and "gnp" in err
    space.write_text("[genes\nprior = 3")
    code, _, err = run_cli(capsys, "search", "--task", "digits", "--space", str(space), "--runs-dir", str(tmp_path))
    assert code == 2 and "not valid TOML" in err


def test_corrupt_archive(tmp_path, capsys):
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"not a tar archive at all")
    code, _, err = run_cli(
        capsys, "search", "--task", "cifar10", "--data-dir", str(tmp_path), "--runs-dir", str(tmp_path / "runs")
    )
    assert code == 2 and "cifar-10-python.tar.gz" in err


def test_unreadable_last_record_line(tmp_path, capsys):
    args = [
        "search",
        "--task",
        "digits",
        "--population",
        "2",
        "--generations",
        "0",
        "--epochs",
        "1",
        "--final-top-k",
        "0",
        "--runs-dir",
        str(tmp_path),
        "--run-id",
        "r",
    ]
    assert run_cli(capsys, *args)[0] == 0
    log = tmp_path / "r" / "records.jsonl"
    text = log.read_text()
    log.write_text(text + '{"key": "abc", "status": "trai')  # a write cut off mid-line
    code, _, err = run_cli(capsys, "search", "--resume", str(tmp_path / "r"))
    assert code == 2 and "2 records before it are intact" in err and "--drop-bad-tail" in err
    assert log.read_text() == text + '{"key": "abc", "status": "trai'  # nothing lost
    code, out, _ = run_cli(capsys, "search", "--resume", str(tmp_path / "r"), "--drop-bad-tail")
    assert code == 0
    assert [json.loads(line)["key"] for line in log.read_text().splitlines()] == [
        json.loads(line)["key"] for line in text.splitlines()
    ]
    assert (tmp_path / "r" / "records.jsonl.bad").exists()
