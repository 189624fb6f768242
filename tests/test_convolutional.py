"""Randomly wired CNNs (mapping ``convolutional``), CNN training options, and the search's final stage."""

import json
import math

import networkx as nx
import pytest
import torch

from nasprior.dag import to_dag
from nasprior.errors import ConfigError, RecordError
from nasprior.evaluation import CANDIDATE_FEATURES, Evaluator
from nasprior.features import FEATURE_NAMES
from nasprior.genome import Genome
from nasprior.networks import RandWireNetwork, build_network
from nasprior.predictors import fit_predictor
from nasprior.runs.records import RecordLog, is_screening
from nasprior.search import GeneticSearch, SearchConfig, epochs_within, run_search, survivors
from nasprior.tasks import TaskShape, get_task, load_task
from nasprior.training import TrainConfig, lr_scheduler, train
from nasprior.training.augment import random_crop_flip

CNN_GENES = {
    "prior": ["gnp", "complete"],
    "mapping": ["convolutional"],
    "n_nodes": [3, 5],
    "p": [0.3, 0.9],
    "n_stages": [2, 2],
    "channels": [4, 6],
    "op": ["sep_conv", "conv"],
}


@pytest.fixture(scope="module")
def digits():
    return load_task("digits", seed=0)


def test_stage_dag_wiring_and_output_shape():
    # 0 -> 1 -> 3, 0 -> 2 -> 3, and 4 alone: sources 0 and 4, sinks 3 and 4
    dag = to_dag(nx.Graph([(0, 1), (1, 3), (0, 2), (2, 3)]))
    dag.add_node(4)
    net = RandWireNetwork(dag, (12, 10, 3), n_classes=7, n_stages=2, channels=4)
    stage0, stage1 = net.stages
    assert stage0.order == [0, 1, 2, 3, 4]
    assert stage0.preds == {0: [], 1: [0], 2: [0], 3: [1, 2], 4: []}
    assert stage0.sinks == [3, 4]
    assert stage0.nodes["3"].aggregation_logits.shape == (2,)  # one weight per in-edge
    assert stage0.nodes["1"].aggregation_logits is None  # a single input is taken as it is
    depthwise = stage1.nodes["0"].op[1]
    assert depthwise.stride == (2, 2) and depthwise.in_channels == 4  # sources downsample and read the stage input
    assert stage1.nodes["3"].op[2].out_channels == 8  # channels double per stage
    x = torch.randn(5, 12, 10, 3)
    assert stage0(net.stem(x.permute(0, 3, 1, 2))).shape == (5, 4, 12, 10)
    assert net(x).shape == (5, 7)
    assert net(x.flatten(1)).shape == (5, 7)  # flattened images are reshaped
    assert net.first_layer_width == 2 and net.n_hidden_layers == 2 * 3
    assert net.density == pytest.approx(4 / 10)
    assert net.n_params == sum(p.numel() for p in net.parameters())
    assert net.n_flops > 0


def test_aggregation_weights_are_positive_and_learnt():
    dag = to_dag(nx.complete_graph(4))
    net = RandWireNetwork(dag, (8, 8, 1), n_classes=3, n_stages=1, channels=4)
    node = net.stages[0].nodes["3"]
    with torch.no_grad():
        node.aggregation_logits.copy_(torch.tensor([-30.0, 0.0, 30.0]))
    weights = node.aggregation_weights
    assert (weights > 0).all() and (weights <= 1).all()
    before = node.aggregation_logits.detach().clone()
    torch.optim.SGD(net.parameters(), lr=1.0).zero_grad()
    net(torch.randn(4, 8, 8)).sum().backward()
    assert node.aggregation_logits.grad is not None and node.aggregation_logits.grad.abs().sum() > 0
    assert torch.equal(before, node.aggregation_logits.detach())


def test_cnn_candidate_record_has_structural_and_size_features(digits):
    genome = Genome("gnp", "convolutional", n_nodes=4, p=0.6, n_stages=2, channels=4, op="conv")
    evaluation = Evaluator(digits, TrainConfig(epochs=1, batch_size=256, patience=0), "t", 0).evaluate(genome)
    record = evaluation.record
    assert record["status"] == "trained", record.get("error")
    assert set(CANDIDATE_FEATURES) <= set(record["features"])
    assert record["features"]["n_nodes"] == 4 and record["features"]["n_flops"] > 0
    assert all(isinstance(record["features"][name], float) for name in FEATURE_NAMES)
    assert record["features"]["n_params"] == sum(p.numel() for p in evaluation.network.parameters())


def test_image_tasks_take_the_convolutional_mapping_and_others_refuse_it():
    genome = Genome("gnp", "convolutional", n_nodes=4, p=0.5, n_stages=1, channels=4)
    assert get_task("cifar10").shape.image_shape == (32, 32, 3)
    build_network(genome, get_task("mnist").shape)
    with pytest.raises(ConfigError, match="use mapping 'recurrent'"):
        build_network(genome, get_task("reber").shape)
    with pytest.raises(ConfigError, match="takes image inputs"):
        build_network(genome, TaskShape("odd", 10, 2))


def test_random_crop_flip_keeps_shape_and_content():
    images = torch.arange(2 * 4 * 4 * 3, dtype=torch.float32).reshape(2, 4, 4, 3)
    out = random_crop_flip(images, padding=0, generator=torch.Generator().manual_seed(0))
    for i in range(2):  # without padding: each image is itself or its mirror image
        assert torch.equal(out[i], images[i]) or torch.equal(out[i], images[i].flip(1))
    out = random_crop_flip(images[..., 0], padding=2, generator=torch.Generator().manual_seed(1))
    assert out.shape == (2, 4, 4)
    same = random_crop_flip(images[..., 0], padding=2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, same)


def _scheduled_lrs(schedule: str, n_steps: int, lrs=(0.05, 0.2)) -> list[list[float]]:
    """Each group's lr at each of n_steps optimiser steps under lr_scheduler."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    optimizer = torch.optim.SGD(groups, lr=lrs[0])
    scheduler = lr_scheduler(optimizer, schedule, n_steps)
    seen = []
    for _ in range(n_steps):
        seen.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return seen


@pytest.mark.parametrize("n_steps", [1, 7, 10, 157])
def test_torch_schedules_follow_the_documented_factors(n_steps):
    def onecycle(s):  # linear from 1/25 to 1 at n/4, then linear to 0 at n (Smith & Topin 2019)
        t = s / n_steps
        return 0.04 + 0.96 * t / 0.25 if t < 0.25 else (1 - t) / 0.75

    def cosine(s):
        return 0.5 * (1 + math.cos(math.pi * s / n_steps))

    for schedule, factor in (("onecycle", onecycle), ("cosine", cosine), ("constant", lambda s: 1.0)):
        seen = _scheduled_lrs(schedule, n_steps)
        for s, lrs in enumerate(seen):
            assert lrs == pytest.approx([0.05 * factor(s), 0.2 * factor(s)], rel=1e-12, abs=1e-15), (schedule, s)
    if n_steps >= 8:  # the peak and the last step
        seen = _scheduled_lrs("onecycle", 100)
        assert seen[0][0] == pytest.approx(0.002) and seen[25][0] == pytest.approx(0.05)
        assert 0 < seen[-1][0] < 0.05 / 50
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), "steps", 10)


def test_schedules_and_cnn_training_options(digits):
    with pytest.raises(ConfigError, match="nesterov"):
        TrainConfig(optimizer="adam", nesterov=True)
    with pytest.raises(ConfigError, match="schedule"):
        TrainConfig(schedule="steps")
    torch.manual_seed(0)
    net = build_network(Genome("complete", "convolutional", n_nodes=3, n_stages=2, channels=8, op="conv"), digits.shape)
    config = TrainConfig(
        epochs=6,
        batch_size=32,
        optimizer="sgd",
        lr=0.1,
        nesterov=True,
        schedule="onecycle",
        label_smoothing=0.1,
        augment=True,
        channels_last=True,
        amp=True,
        patience=0,
        train_subset=800,
    )
    result = train(net, digits.x_train, digits.y_train, digits.x_val, digits.y_val, config)
    assert result.val_acc > 0.2  # chance is 0.1 (4-pixel shifts and flips are harsh on 8x8 digits)


def cnn_config(**overrides):
    values = dict(
        task="digits",
        space={"genes": CNN_GENES},
        population=3,
        generations=1,
        train={"epochs": 1, "batch_size": 128, "optimizer": "sgd", "lr": 0.05, "patience": 0, "train_subset": 400},
        skip={"enabled": False},
        seed=1,
        run_id="cnn",
        final={"top_k": 2, "epochs": 2},
    )
    values.update(overrides)
    return SearchConfig(**values)


def test_final_stage_trains_survivors_and_logs_its_records(tmp_path, digits):
    result = run_search(cnn_config(), tmp_path / "run", data=digits, log=lambda _: None)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    screened = [r for r in records if r["fidelity"] == "screen"]
    final = [r for r in records if r["fidelity"] == "final"]
    assert len(final) == 2 and [r["key"] for r in final] == [r["key"] for r in result.final]
    assert [r["key"] for r in final] == [r["key"] for r in survivors(screened, 2)]
    for r in final:
        assert r["status"] == "trained" and r["train"]["epochs"] == 2 and r["train"]["train_subset"] == 0
        assert r["screen_val_acc"] == next(s["metrics"]["val_acc"] for s in screened if s["key"] == r["key"])
        assert r["curve"] and len(r["curve"]) == 2
    assert result.n_trained == len([r for r in screened if r["status"] == "trained"])  # finals are not counted twice
    best = json.loads((tmp_path / "run" / "best" / "record.json").read_text())
    assert best["fidelity"] == "final" and best["metrics"]["val_acc"] == max(r["metrics"]["val_acc"] for r in final)


def test_resume_after_screening_trains_only_the_final_stage(tmp_path, digits):
    run_dir = tmp_path / "run"
    run_search(cnn_config(), run_dir, data=digits, log=lambda _: None)
    log_path = run_dir / "records.jsonl"
    lines = log_path.read_text().splitlines(keepends=True)
    screened = [line for line in lines if '"fidelity": "screen"' in line]
    first_final = [line for line in lines if '"fidelity": "final"' in line][0]
    log_path.write_text("".join(screened + [first_final]))  # interrupted during the final stage
    progress = []
    resumed = run_search(cnn_config(), run_dir, resume=True, data=digits, log=progress.append)
    records = RecordLog(log_path).read()
    assert len(records) == len(screened) + 2  # nothing screened again; one survivor left to train
    assert not any("[gen" in line for line in progress)  # every screened candidate replayed from the log
    assert sum("already trained" in line for line in progress) == 1
    assert len(resumed.final) == 2
    run_search(cnn_config(), run_dir, resume=True, data=digits, log=lambda _: None)
    assert len(RecordLog(log_path).read()) == len(records)  # a finished run trains nothing more


def test_run_predictor_learns_from_screening_records_only(tmp_path, digits):
    config = cnn_config(population=4, generations=1, final={"top_k": 2, "epochs": 1})
    run_search(config, tmp_path / "run", data=digits, log=lambda _: None)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    n_screened = sum(r["status"] == "trained" and r["fidelity"] == "screen" for r in records)
    assert n_screened >= 5 and any(r["fidelity"] == "final" for r in records)
    search = GeneticSearch(
        cnn_config(skip={"warmup": 5, "min_r2": 0.0}), tmp_path / "run", digits, records, lambda _: None
    )
    search.records = list(records)  # as a replay that has met every logged record
    search.usable_predictor()
    assert search.predictor.n_train_ == n_screened  # the final records are left out
    assert not is_screening({"fidelity": "final"}) and is_screening({}) and is_screening({"fidelity": "screen"})
    with pytest.raises(ConfigError, match="top_k"):
        cnn_config(final={"top_k": -1})
    with pytest.raises(ConfigError):
        cnn_config(final={"top_k": 1, "epoch": 3})


def test_final_time_budget_is_timed_on_the_first_final_epoch(tmp_path, digits):
    # 45 s per epoch: 13 epochs in 10 minutes, capped by the budget's 12; at least one epoch
    assert epochs_within(45.0, 12, 10.0) == 12 and epochs_within(45.0, 40, 10.0) == 13
    assert epochs_within(45.0, 40, 0.1) == 1
    with pytest.raises(ConfigError, match="minutes"):
        cnn_config(final={"top_k": 1, "minutes": -1})
    result = run_search(
        cnn_config(final={"top_k": 1, "epochs": 50, "minutes": 0.02}), tmp_path / "run", data=digits, log=lambda _: None
    )
    (record,) = result.final
    budget = record["final_budget"]
    assert budget["max_epochs"] == 50 and budget["epochs"] == record["train"]["epochs"] == len(record["curve"])
    assert 1 <= budget["epochs"] < 50 and budget["first_epoch_s"] > 0
    assert set(record["timing"]) == {"train", "val", "test"} and record["timing"]["train"] > 0


def test_predictor_fit_never_mixes_screening_and_final_records(tmp_path, digits):
    run_search(cnn_config(population=6, generations=1), tmp_path / "run", data=digits, log=lambda _: None)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    screened = sum(r["status"] == "trained" and r["fidelity"] == "screen" for r in records)
    finals = sum(r["status"] == "trained" and r["fidelity"] == "final" for r in records)
    assert screened >= 10 and finals == 2
    options = dict(n_trials=2, folds=3, inner_folds=2, repeats=1, seed=0)
    lines = []
    card = fit_predictor([tmp_path / "run"], "cnn", log=lines.append, **options).card
    assert card["n_train"] == screened and card["training_runs"][0]["fidelity"] == "screen"
    assert card["training_runs"][0]["n_other_fidelity"] == 2 and any("left out" in line for line in lines)
    with pytest.raises(RecordError, match="at least 10"):  # the 2 final records alone are too few
        fit_predictor([tmp_path / "run"], "cnn-final", fidelity="final", **options)
