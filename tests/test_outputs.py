"""Where commands write: one checked path, run locks, validation before creating, and the shipped spaces.

Each refusal is one line (``nasprior: error: ...``), exit status 2, no
traceback, and leaves every file it did not create byte for byte unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasprior.cli import main
from nasprior.errors import ConfigError, RunDirError
from nasprior.results.report import REPORT_MARKER, is_report
from nasprior.runs.outputs import HOLDER_FILE, LOCK_FILE, RunLock, check_output_file, check_run_dir, run_kind
from nasprior.runs.records import RecordLog
from nasprior.runs.sampling import SampleConfig
from nasprior.search import SearchConfig
from nasprior.space import SearchSpace, default_space_path, shipped_spaces, space_path

REPO = Path(__file__).resolve().parent.parent


def refused(capsys, *argv: str, one_line: bool = True) -> str:
    """Run the CLI; assert exit 2 and one error line without traceback; return the message.

    ``one_line=False`` for the data sets' messages, which list the places looked in, one per line.
    """
    status = main(list(argv))
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert "Traceback" not in err and err.startswith("nasprior: error: "), err
    assert len(err.splitlines()) == 1 or not one_line, err
    return err


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative path -> digest)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def search_run(tmp_path: Path, name: str = "r") -> Path:
    """A search run directory: a valid digits config.json, a record log line and a best/ folder."""
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits", space=space.to_dict(), population=2, generations=0, train={"epochs": 1}, run_id=name
    ).to_dict()
    run_dir = tmp_path / name
    (run_dir / "best").mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run_dir / "records.jsonl").write_text('{"key": "k", "status": "failed"}\n', encoding="utf-8")
    (run_dir / "best" / "model.pt").write_bytes(b"weights")
    (run_dir / "best" / "genome.json").write_text('{"prior": "gnp"}', encoding="utf-8")
    return run_dir


def sample_run(tmp_path: Path, name: str = "s") -> Path:
    """A sample run directory (its config.json only)."""
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SampleConfig(task="digits", space=space.to_dict(), n=2, train={"epochs": 1}, run_id=name)
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    return run_dir


def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    return folder


# -- §5.1 writing into what it did not create ---------------------------------------------------------


@pytest.mark.parametrize("target", ["records.jsonl", "config.json"])
def test_report_never_replaces_a_file_it_did_not_write(tmp_path, capsys, target):
    run_dir = search_run(tmp_path)
    before = hashes(run_dir)
    err = refused(capsys, "report", str(run_dir), "--out", str(run_dir / target))
    assert "is not a report written by nasprior" in err and "left unchanged" in err
    assert hashes(run_dir) == before


@pytest.mark.parametrize("target", ["config.json", "records.jsonl", "best/model.pt"])
def test_export_never_replaces_a_file_it_did_not_write(tmp_path, capsys, target):
    run_dir = search_run(tmp_path)
    before = hashes(run_dir)
    err = refused(capsys, "export", str(run_dir), "--out", str(run_dir / target))
    assert "is not an ONNX export written by nasprior" in err
    assert hashes(run_dir) == before


def test_report_out_that_is_a_directory_is_refused(tmp_path, capsys):
    run_dir = search_run(tmp_path)
    before = hashes(run_dir)
    assert "is a directory" in refused(capsys, "report", str(run_dir), "--out", str(run_dir / "best"))
    assert hashes(run_dir) == before


def test_an_existing_report_may_be_replaced(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(f"<!DOCTYPE html>\n<html><head>{REPORT_MARKER}</head></html>", encoding="utf-8")
    assert is_report(report) and check_output_file(report, is_report, "a report") == report
    report.write_text("<!DOCTYPE html>\n<html>my page</html>", encoding="utf-8")
    with pytest.raises(RunDirError, match="not a report written by nasprior"):
        check_output_file(report, is_report, "a report")


def test_prune_mnist_refuses_an_existing_search_run(tmp_path, capsys):
    run_dir = search_run(tmp_path)
    before = hashes(run_dir)
    err = refused(capsys, "prune-mnist", "--runs-dir", str(tmp_path), "--run-id", "r", "--data-dir", str(tmp_path))
    assert "holds a search run, not a prune-mnist run" in err
    assert hashes(run_dir) == before


def test_prune_mnist_refuses_a_users_folder(tmp_path, capsys):
    folder = users_folder(tmp_path)
    err = refused(capsys, "prune-mnist", "--runs-dir", str(tmp_path), "--run-id", "mine", "--data-dir", str(tmp_path))
    assert "is not an empty nasprior run directory" in err
    assert hashes(folder) == {"notes.txt": hashlib.sha256(b"keep me").hexdigest()}


def test_sample_refuses_a_users_folder_as_search_does(tmp_path, capsys):
    folder = users_folder(tmp_path)
    before = hashes(folder)
    for command in ("sample", "search"):
        extra = ["--n", "2"] if command == "sample" else []
        err = refused(capsys, command, "--task", "digits", *extra, "--runs-dir", str(tmp_path), "--run-id", "mine")
        assert "is not an empty nasprior run directory" in err
    assert hashes(folder) == before


def test_sample_refuses_a_search_run_and_resume_a_sample_run(tmp_path, capsys):
    search_dir, sample_dir = search_run(tmp_path), sample_run(tmp_path)
    before = hashes(tmp_path)
    err = refused(capsys, "sample", "--task", "digits", "--n", "2", "--runs-dir", str(tmp_path), "--run-id", "r")
    assert "holds a search run, not a sample run" in err
    err = refused(capsys, "search", "--resume", str(sample_dir))
    assert "holds a sample run, not a search run" in err and "nasprior search" in err
    assert hashes(tmp_path) == before and run_kind(search_dir) == "search" and run_kind(sample_dir) == "sample"


def test_predictor_fit_refuses_a_users_folder_before_fitting(tmp_path, capsys):
    folder = users_folder(tmp_path)
    before = hashes(folder)
    err = refused(capsys, "predictor", "fit", str(tmp_path / "no-such-run"), "--out", str(tmp_path), "--name", "mine")
    assert "does not hold a predictor" in err
    assert hashes(folder) == before


@pytest.fixture
def read_only_dir(tmp_path):
    """A read-only bind mount of an empty folder (root ignores permission bits); skips where mounting fails."""
    source, target = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(source), str(target)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount: {done.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_unwritable_outputs_are_found_before_the_work(tmp_path, capsys, read_only_dir):
    run_dir = search_run(tmp_path)
    before = hashes(run_dir)
    assert "not writable" in refused(capsys, "report", str(run_dir), "--out", str(read_only_dir / "r.html"))
    assert "not writable" in refused(capsys, "export", str(run_dir), "--out", str(read_only_dir / "m.onnx"))
    err = refused(capsys, "predictor", "fit", str(run_dir), "--out", str(read_only_dir), "--name", "p")
    assert "not writable" in err
    start = time.perf_counter()
    err = refused(capsys, "search", "--task", "digits", "--runs-dir", str(read_only_dir), "--run-id", "x")
    assert "not writable" in err and time.perf_counter() - start < 10  # refused before any training
    err = refused(capsys, "sample", "--task", "digits", "--n", "2", "--runs-dir", str(read_only_dir / "sub"))
    assert "not writable" in err
    assert hashes(run_dir) == before and not any(read_only_dir.iterdir())


# -- validate everything before creating anything -------------------------------------------------------


def test_missing_data_set_leaves_no_run_directory(tmp_path, capsys):
    empty = tmp_path / "no-data"
    empty.mkdir()
    runs = tmp_path / "runs"
    for argv in (
        ["search", "--task", "mnist", "--run-id", "x"],
        ["sample", "--task", "mnist", "--n", "2", "--run-id", "y"],
        ["prune-mnist", "--run-id", "z"],
    ):
        err = refused(capsys, *argv, "--data-dir", str(empty), "--runs-dir", str(runs), one_line=False)
        assert "mnist" in err.lower()
    assert not runs.exists()


def test_bad_memory_limit_leaves_no_run_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NASPRIOR_MAX_MEMORY_GB", "lots")
    for argv in (["search", "--task", "digits"], ["sample", "--task", "digits", "--n", "2"]):
        err = refused(capsys, *argv, "--runs-dir", str(tmp_path / "runs"), "--run-id", "x")
        assert "NASPRIOR_MAX_MEMORY_GB = 'lots'" in err
    assert not (tmp_path / "runs").exists()


def test_space_mapping_the_task_cannot_take_leaves_no_run_directory(tmp_path, capsys):
    text = default_space_path("digits").read_text(encoding="utf-8")
    space = tmp_path / "space.toml"
    space.write_text(text.replace('mapping = ["graph", "layered"]', 'mapping = ["recurrent"]', 1), encoding="utf-8")
    for argv in (["search", "--task", "digits"], ["sample", "--task", "digits", "--n", "2"]):
        err = refused(capsys, *argv, "--space", str(space), "--runs-dir", str(tmp_path / "runs"), "--run-id", "x")
        assert "mapping 'recurrent' takes sequence inputs" in err and "'graph'" in err
    assert not (tmp_path / "runs").exists()


def test_a_bad_stored_predictor_leaves_no_run_directory(tmp_path, capsys):
    runs = tmp_path / "runs"
    refused(capsys, "search", "--task", "digits", "--predictor", str(tmp_path), "--runs-dir", str(runs))
    assert not runs.exists()


# -- §5.2 locks -----------------------------------------------------------------------------------------


def test_a_locked_run_is_refused_naming_its_holder(tmp_path, capsys):
    sample_dir = sample_run(tmp_path)
    search_dir = search_run(tmp_path)
    before = hashes(tmp_path)
    with RunLock(sample_dir, "sample"), RunLock(search_dir, "search"):
        holder = json.loads((sample_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        assert holder["pid"] == os.getpid() and holder["command"] == "sample"
        with pytest.raises(RunDirError, match=f"in use by pid {os.getpid()} on "):
            RunLock(sample_dir, "sample").__enter__()
        err = refused(capsys, "sample", "--task", "digits", "--n", "2", "--runs-dir", str(tmp_path), "--run-id", "s")
        assert f"in use by pid {os.getpid()}" in err and "'nasprior sample'" in err
        err = refused(capsys, "search", "--resume", str(search_dir))
        assert f"in use by pid {os.getpid()}" in err and "'nasprior search'" in err
    assert not (sample_dir / HOLDER_FILE).exists()
    after = {k: v for k, v in hashes(tmp_path).items() if not k.endswith(LOCK_FILE)}
    assert after == before
    check_run_dir(search_dir, "search", resume=True)  # released: free again


def test_two_processes_on_one_run_id(tmp_path):
    """A second search on the run id of a running one, and a --resume of it, stop at once naming the holder."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "nasprior", "search", "--task", "digits", "--runs-dir", str(runs), "--run-id", "x"]
    budget = ["--population", "8", "--generations", "5", "--epochs", "5", "--no-skip", "--final-top-k", "0"]
    first = subprocess.Popen(
        argv + budget + ["--threads", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while not (runs / "x" / HOLDER_FILE).exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        assert json.loads((runs / "x" / HOLDER_FILE).read_text(encoding="utf-8"))["pid"] == first.pid
        for second_argv in (argv + budget, [sys.executable, "-m", "nasprior", "search", "--resume", str(runs / "x")]):
            second = subprocess.run(second_argv, env=env, capture_output=True, text=True, timeout=120)
            lines = second.stderr.strip().splitlines()
            assert second.returncode == 2 and len(lines) == 1 and "Traceback" not in second.stderr, second.stderr
            assert f"in use by pid {first.pid} on " in lines[0] and "'nasprior search'" in lines[0]
        assert first.poll() is None  # still running: the second process was refused by the lock
    finally:
        first.terminate()  # SIGTERM, not SIGINT: test runners' workers may run with SIGINT ignored
        _, err = first.communicate(timeout=120)
    assert first.returncode == -signal.SIGTERM, err
    keys = [r["key"] for r in RecordLog(runs / "x" / "records.jsonl").read()]
    assert len(keys) == len(set(keys))  # no candidate trained and logged twice
    check_run_dir(runs / "x", "search", resume=True)  # the lock went with the killed process


# -- §4 the shipped search spaces -----------------------------------------------------------------------


def test_shipped_spaces_are_package_data():
    names = shipped_spaces()
    assert {"digits", "mnist", "cifar10", "cifar10_mlp", "reber"} <= set(names)
    for name in names:
        path = space_path(name)
        assert path.parent == REPO / "nasprior" / "spaces" and SearchSpace.from_toml(path).genes
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"spaces/*.toml"' in pyproject and '"pretrained/*/model.skops"' in pyproject  # the wheel carries them


def test_space_argument_takes_a_file_a_shipped_name_or_an_old_path(tmp_path, monkeypatch):
    shipped = default_space_path("cifar10_mlp")
    assert space_path("cifar10_mlp") == shipped == space_path("cifar10_mlp.toml")
    assert space_path("search_spaces/cifar10_mlp.toml") == shipped  # the README's commands of earlier versions
    own = tmp_path / "cifar10_mlp.toml"
    own.write_text("[genes]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert space_path("cifar10_mlp.toml") == Path("cifar10_mlp.toml")  # a file of that name wins
    with pytest.raises(ConfigError, match="no shipped space of that name.*cifar10_mlp"):
        space_path("elsewhere/nothing.toml")
