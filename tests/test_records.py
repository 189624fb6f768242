import json

import pytest

from nasprior.errors import RecordError
from nasprior.genome import Genome
from nasprior.runs.records import RecordLog, make_record, quarantine_bad_tail


def rec(seed):
    return make_record(
        run_id="r",
        genome=Genome(seed=seed),
        task="digits",
        status="trained",
        features={"n_nodes": 64.0},
        metrics={"val_acc": 0.5, "test_acc": 0.4},
    )


def test_append_and_read(tmp_path):
    log = RecordLog(tmp_path / "run" / "records.jsonl")
    assert log.read() == []
    for s in range(3):
        log.append(rec(s))
    records = log.read()
    assert [r["genome"]["seed"] for r in records] == [0, 1, 2]
    assert records[0]["key"] == Genome(seed=0).key
    assert records[0]["value_source"] == "trained" and "torch" in records[0]["versions"]


def test_truncated_last_line_is_reported_and_kept(tmp_path):
    path = tmp_path / "records.jsonl"
    log = RecordLog(path)
    for s in range(3):
        log.append(rec(s))
    text = path.read_text()
    cut = text[: len(text) - 40]  # the last line loses its end
    path.write_text(cut)
    with pytest.raises(RecordError, match=r"last line is unreadable.*2 records before it are intact.*--drop-bad-tail"):
        log.read()
    assert path.read_text() == cut  # reading changed nothing
    assert quarantine_bad_tail(path) == 1
    assert [r["genome"]["seed"] for r in log.read()] == [0, 1]
    assert (tmp_path / "records.jsonl.bad").read_text() == cut.splitlines(keepends=True)[-1]


def test_bad_status():
    with pytest.raises(RecordError, match="status"):
        make_record(run_id="r", genome=Genome(), task="digits", status="done", features={}, metrics={})


def test_records_are_json_lines(tmp_path):
    log = RecordLog(tmp_path / "records.jsonl")
    log.append(rec(0))
    (line,) = (tmp_path / "records.jsonl").read_text().splitlines()
    assert json.loads(line)["status"] == "trained"
