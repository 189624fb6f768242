"""End-to-end searches on scikit-learn's digits: logging, resume, skipping."""

import json

import pytest

from nasprior.evaluation import CANDIDATE_FEATURES as PREDICTOR_FEATURES
from nasprior.predictors import RunPredictor, SkipRule
from nasprior.runs.records import RecordLog
from nasprior.search import SearchConfig, run_search
from nasprior.space import SearchSpace, default_space_path
from nasprior.tasks import load_task


@pytest.fixture(scope="module")
def digits():
    return load_task("digits", seed=0)


def small_config(**overrides):
    space = SearchSpace.from_toml(default_space_path("digits"))
    space.genes.update({"n_nodes": (8, 24), "width": (32, 64), "n_layers": (1, 2)})
    values = dict(
        task="digits",
        space=space.to_dict(),
        population=4,
        generations=2,
        train={"epochs": 2, "batch_size": 128, "lr": 0.003, "patience": 0},
        skip={"enabled": False},
        seed=3,
        run_id="test",
    )
    values.update(overrides)
    return SearchConfig(**values)


def test_search_logs_every_candidate(tmp_path, digits):
    lines = []
    result = run_search(small_config(), tmp_path / "run", data=digits, log=lines.append)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    assert len(records) == result.n_trained + result.n_skipped + result.n_failed
    assert len({r["key"] for r in records}) == len(records)  # no candidate trained twice
    assert result.n_trained >= 4 and result.n_skipped == 0
    assert len(result.generations) == 3
    best = result.best
    assert best["metrics"]["val_acc"] == max(r["metrics"]["val_acc"] for r in records if r["status"] == "trained")
    assert json.loads((tmp_path / "run" / "best" / "genome.json").read_text()) == best["genome"]
    assert (tmp_path / "run" / "best" / "model.pt").exists()
    assert json.loads((tmp_path / "run" / "config.json").read_text())["population"] == 4
    for r in records:
        assert set(PREDICTOR_FEATURES) <= set(r["features"])
        assert r["curve"] and 0 <= r["metrics"]["test_acc"] <= 1
    assert any(line.startswith("generation 2: best") for line in lines)


def test_resume_does_not_retrain(tmp_path, digits):
    full = run_search(small_config(), tmp_path / "full", data=digits, log=lambda _: None)
    full_keys = [r["key"] for r in RecordLog(tmp_path / "full" / "records.jsonl").read()]

    class Interrupt(Exception):
        pass

    seen = []

    def interrupting_log(line):
        seen.append(line)
        if sum("[gen" in s for s in seen) == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_search(small_config(), tmp_path / "cut", data=digits, log=interrupting_log)
    before = RecordLog(tmp_path / "cut" / "records.jsonl").read()
    assert len(before) == 5
    resumed_lines = []
    resumed = run_search(small_config(), tmp_path / "cut", resume=True, data=digits, log=resumed_lines.append)
    after = RecordLog(tmp_path / "cut" / "records.jsonl").read()
    assert after[:5] == before  # kept as written
    assert [r["key"] for r in after] == full_keys  # same search, nothing retrained
    assert sum("[gen" in s for s in resumed_lines) == len(full_keys) - 5
    assert resumed.best["key"] == full.best["key"]


def test_skip_rule_threshold():
    rule = SkipRule(quantile=0.25, margin=0.01)
    assert rule.threshold([0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(0.2 - 0.01)
    assert SkipRule(quantile=0.0, margin=0.0).threshold([0.3, 0.6]) == pytest.approx(0.3)


def test_run_predictor_learns_a_feature():
    records = []
    for i in range(30):
        features = {name: float((i * 7 + j) % 5) for j, name in enumerate(PREDICTOR_FEATURES)}
        features["n_weights"] = float(i)
        records.append({"key": str(i), "status": "trained", "features": features, "metrics": {"val_acc": i / 30}})
    records.append({"key": "s", "status": "skipped", "features": {}, "metrics": {"val_acc": None}})
    predictor = RunPredictor(PREDICTOR_FEATURES, seed=0).fit(records)
    assert predictor.n_train_ == 30
    assert predictor.cv_r2_ > 0.8
    low, high = predictor.predict([records[2]["features"], records[27]["features"]])
    assert low < 0.2 < 0.8 < high


def test_search_skips_offspring_predicted_poor(tmp_path, digits):
    config = small_config(generations=3, population=6, skip={"warmup": 6, "quantile": 1.0, "min_r2": -1e9})
    lines = []
    result = run_search(config, tmp_path / "run", data=digits, log=lines.append)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    skipped = [r for r in records if r["status"] == "skipped"]
    assert result.n_skipped == len(skipped) > 0
    for r in skipped:
        assert r["value_source"] == "predicted" and r["curve"] == []
        assert r["metrics"]["val_acc"] is None and r["metrics"]["predicted_val_acc"] is not None
        assert r["generation"] >= 1
    assert any("skipped" in line and "predictor: CV R2" in line for line in lines)


def test_layered_diversity(digits):
    from nasprior.evaluation import Evaluator
    from nasprior.genome import Genome
    from nasprior.search import layered_diversity
    from nasprior.training import TrainConfig

    evaluator = Evaluator(digits, TrainConfig(), "r", 0)
    a = Genome(prior="gnp", n_nodes=16, p=0.2, mapping="layered", n_layers=2, width=32, seed=1)
    graph_mapped = Genome(prior="gnp", n_nodes=16, p=0.2)
    assert layered_diversity([a, a, graph_mapped], evaluator) == (None, 0)  # one distinct layered network
    dense = Genome(prior="complete", n_nodes=16, mapping="layered", n_layers=2, width=32)
    other_shape = Genome(prior="gnp", n_nodes=16, p=0.2, mapping="layered", n_layers=1, width=32)
    diversity, n = layered_diversity([a, a.replace(seed=2), dense, other_shape], evaluator)
    assert n == 3 and 0 < diversity < 1
    near, _ = layered_diversity([a, a.replace(p=0.21)], evaluator)
    far, _ = layered_diversity([a, dense], evaluator)
    assert near < far
