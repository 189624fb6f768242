"""The final stage trains survivors afresh; the same command gives the same records; one failure policy."""

from __future__ import annotations

import json
import math

import pytest
import torch

import nasprior.evaluation as evaluation
from nasprior.cli import main
from nasprior.errors import CandidateError, ConfigError, CostError, NaspriorError, PredictorError
from nasprior.evaluation import Evaluator
from nasprior.genome import Genome
from nasprior.runs.records import RecordLog
from nasprior.search import SearchConfig, epochs_within, final_seed, run_search
from nasprior.tasks import load_task
from nasprior.training import TrainConfig

#: A small digits space: layered MLPs and small graph networks.
GENES = {
    "prior": ["gnp", "complete"],
    "mapping": ["layered", "graph"],
    "n_nodes": [8, 16],
    "p": [0.2, 0.6],
    "n_layers": [1, 2],
    "width": [16, 48],
}
#: Fields that may differ between two runs of the same command (timings, wall time, versions).
TIMING_FIELDS = {"wall_time_s", "train_time_s", "timing", "timestamp", "versions"}


@pytest.fixture(scope="module")
def digits():
    return load_task("digits", seed=0)


def config(**overrides) -> SearchConfig:
    values = dict(
        task="digits",
        space={"genes": GENES},
        population=3,
        generations=1,
        train={"epochs": 2, "batch_size": 128, "lr": 0.003, "patience": 0, "seed": 0},
        skip={"enabled": False},
        seed=0,
        run_id="r",
        final={"top_k": 1, "epochs": 3, "patience": 0},
    )
    values.update(overrides)
    return SearchConfig(**values)


def test_final_record_is_a_fresh_training_at_the_final_budget(tmp_path, digits):
    result = run_search(config(), tmp_path / "run", data=digits, log=lambda _: None)
    (final,) = result.final
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    (screen,) = [r for r in records if r["key"] == final["key"] and r["fidelity"] == "screen"]
    assert final["fidelity"] == "final" and final["status"] == "trained"
    # a seed of its own, derived from the run's seed and the key, and recorded
    assert final["seed"] == final_seed(0, final["key"]) == final["train"]["seed"] != screen["seed"]
    assert final["seed_from"] == {"run_seed": 0, "key": final["key"], "rule": final["seed_from"]["rule"]}
    # not a replay: the first two epochs (the screening budget) differ from the screening curve
    assert [e["train_loss"] for e in final["curve"][:2]] != [e["train_loss"] for e in screen["curve"]]
    # the final budget really ran: 3 epochs (patience 0) on every training image
    assert final["epochs_run"] == len(final["curve"]) == 3 and screen["epochs_run"] == 2
    assert final["n_train_images"] == len(digits.x_train) and final["train"]["train_subset"] == 0
    # one fidelity at a time in the counts
    assert result.n_trained == sum(r["status"] == "trained" and r["fidelity"] == "screen" for r in records)


def test_time_budget_is_timed_on_the_survivors_first_final_epoch(tmp_path, digits):
    assert epochs_within(10.0, 40, 1.0) == 6 and epochs_within(10.0, 4, 1.0) == 4 and epochs_within(100.0, 40, 1) == 1
    result = run_search(
        config(final={"top_k": 1, "epochs": 50, "patience": 0, "minutes": 1e-5}),
        tmp_path / "run",
        data=digits,
        log=lambda _: None,
    )
    (final,) = result.final
    budget = final["final_budget"]
    assert budget["max_epochs"] == 50 and budget["epochs"] == 1 == final["train"]["epochs"] == final["epochs_run"]
    assert budget["first_epoch_s"] > 0 and budget["minutes"] == 1e-5


@pytest.mark.parametrize("minutes", ["inf", "nan", "-1"])
def test_final_minutes_must_be_finite(minutes, tmp_path, capsys):
    status = main(["search", "--task", "digits", "--final-minutes", minutes, "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "final-minutes" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def strip_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING_FIELDS}


def test_the_same_command_gives_the_same_records(tmp_path, digits):
    for name in ("a", "b"):
        run_search(config(), tmp_path / name, data=digits, log=lambda _: None)
    a, b = (RecordLog(tmp_path / name / "records.jsonl").read() for name in ("a", "b"))
    assert len(a) == len(b) and any(r["fidelity"] == "final" for r in a)
    for ra, rb in zip(a, b):
        ra, rb = strip_timings(ra), strip_timings(rb)
        assert ra.keys() == rb.keys()
        for field in ra:
            assert ra[field] == rb[field], f"{ra['key']} {ra['fidelity']}: {field} differs"


def test_user_errors_are_not_value_errors_and_one_family():
    for cls in (ConfigError, CostError, CandidateError, PredictorError):
        assert issubclass(cls, NaspriorError) and not issubclass(cls, ValueError)
    assert issubclass(CostError, CandidateError) and issubclass(CostError, ConfigError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch that sees no GPU")
def test_device_cuda_without_a_gpu_is_one_line_and_creates_nothing(tmp_path, capsys):
    status = main(["search", "--task", "digits", "--device", "cuda", "--runs-dir", str(tmp_path), "--run-id", "x"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1, err
    assert "cuda" in err and "--device cpu" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_a_cost_check_refusal_is_a_failed_record_and_the_search_goes_on(tmp_path, digits, monkeypatch):
    check = evaluation.check_cost
    refused: list[str] = []

    def refuse(genome, shape):
        if not refused:  # the first genome the search meets
            refused.append(genome.key)
            raise CostError(f"genome {genome.key} is too large (test)")
        return check(genome, shape)

    monkeypatch.setattr(evaluation, "check_cost", refuse)
    result = run_search(config(), tmp_path / "run", data=digits, log=lambda _: None)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    (failed,) = [r for r in records if r["status"] == "failed"]
    assert failed["key"] == refused[0] and failed["error"].startswith("CostError: ")
    assert result.n_failed == 1 and result.n_trained >= 2 and result.final


def test_a_nan_loss_is_a_failed_record_and_best_is_only_a_logged_candidate(tmp_path, digits):
    train = {"epochs": 2, "batch_size": 128, "lr": 1e30, "patience": 0}  # nasprior search --lr 1e30
    result = run_search(config(train=train), tmp_path / "run", data=digits, log=lambda _: None)
    text = (tmp_path / "run" / "records.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text  # json.loads would read them
    records = [json.loads(line) for line in text.splitlines()]
    failed = [r for r in records if r["status"] == "failed"]
    assert failed and all(r["error"].startswith("CandidateError: training loss is") for r in failed)
    assert result.n_failed == sum(r["fidelity"] == "screen" for r in failed)
    trained = {r["key"] for r in records if r["status"] == "trained"}
    best = tmp_path / "run" / "best" / "record.json"
    assert best.exists() == bool(trained) and (not trained or json.loads(best.read_text())["key"] in trained)


def test_a_users_error_in_training_stops_instead_of_failing_the_candidate(digits):
    evaluator = Evaluator(digits, TrainConfig(epochs=1, bucket_by_length=True), "r", 0)
    genome = Genome.from_dict({"prior": "complete", "mapping": "layered", "n_nodes": 2, "n_layers": 1, "width": 8})
    with pytest.raises(ConfigError, match="bucket_by_length"):
        evaluator.evaluate(genome)
    evaluator = Evaluator(digits, TrainConfig(epochs=1, lr=1e30), "r", 0)
    record = evaluator.evaluate(genome).record
    assert record["status"] == "failed" and record["metrics"] == {"val_acc": None, "test_acc": None}
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in record["metrics"].values() if v)
