"""Predictors as a product: feature matrix from records, honest scores, safe storage, predict, search use."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import BayesianRidge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from nasprior.cli import main
from nasprior.errors import ConfigError, RecordError
from nasprior.evaluation import candidate_features
from nasprior.genome import Genome
from nasprior.predictors import (
    CARD_FILE,
    MODEL_FILE,
    Predictor,
    PredictorError,
    feature_matrix,
    fit_predictor,
    genome_features,
    nested_cv_scores,
    select_feature_names,
    trained_records,
)
from nasprior.runs.records import RecordLog, make_record
from nasprior.tasks import get_task


def _record(status: str, features: dict, val_acc: float | None, seed: int = 0) -> dict:
    return make_record(
        run_id="r",
        genome=Genome(seed=seed),
        task="digits",
        status=status,
        features=features,
        metrics={"val_acc": val_acc, "test_acc": val_acc},
    )


def test_feature_matrix_from_hand_made_records():
    records = [
        _record("trained", {"a": 1.0, "b": 10.0, "c": 5.0}, 0.5, seed=1),
        _record("failed", {"a": 9.0, "b": 9.0}, None, seed=2),
        _record("skipped", {"a": 7.0, "b": 7.0, "c": 1.0}, None, seed=3),
        _record("trained", {"a": 2.0, "b": 20.0, "c": float("nan")}, 0.75, seed=4),
        _record("trained", {"a": 3.0, "b": 30.0}, 0.25, seed=5),
        _record("trained", {"a": 4.0, "b": 40.0}, float("nan"), seed=6),  # no usable target
    ]
    trained = trained_records(records)
    assert [r["genome"]["seed"] for r in trained] == [1, 4, 5]
    names, dropped = select_feature_names(trained, candidates=("b", "c", "a"))
    assert names == ["b", "a"] and dropped == ["c"]  # c is missing in one record and nan in another
    X, y = feature_matrix(trained, names)
    np.testing.assert_array_equal(X, [[10.0, 1.0], [20.0, 2.0], [30.0, 3.0]])
    np.testing.assert_array_equal(y, [0.5, 0.75, 0.25])


def test_nested_scores_separate_informative_from_noise_columns():
    rng = np.random.default_rng(0)
    n = 36
    signal = rng.uniform(0, 1, n)
    noise = rng.uniform(0, 1, (n, 2))
    y = 0.2 + 0.6 * signal + rng.normal(0, 0.01, n)
    X = np.column_stack([signal, noise])
    scores = nested_cv_scores(X, y, size_columns=[1, 2], n_trials=3, folds=3, inner_folds=2, repeats=2, seed=0)
    assert scores["structural"]["r2"]["mean"] > 0.9
    assert scores["structural"]["spearman"]["mean"] > 0.9
    assert scores["size_only"]["r2"]["mean"] < 0.3
    assert scores["size_only"]["kendall"]["mean"] < scores["structural"]["kendall"]["mean"]
    assert len(scores["structural"]["r2"]["values"]) == 2
    assert sum(scores["outer_models"].values()) == 6  # 2 repeats x 3 folds, tuned per outer fold
    assert sum(scores["size_only_models"].values()) == 6  # the baseline is tuned on its own
    assert scores["importance"][0]["feature"] == "x0"  # the informative column, by permutation importance
    assert set(scores["coverage"]) == {"0.8", "0.9"}


def test_size_only_columns_hold_no_structural_feature():
    """Size = counts of nodes, edges, weights and parameters; shape features are structure."""
    from nasprior.features import PROFILE_FEATURE_NAMES, TOPOLOGY_SCORE_NAMES, WL_FEATURE_NAMES
    from nasprior.predictors import SIZE_ONLY_FEATURES

    assert set(SIZE_ONLY_FEATURES) == {"n_nodes", "n_edges", "n_weights", "n_params"}
    structure = {
        "first_layer_width",
        "n_hidden_layers",
        "n_layers",
        "n_sources",
        "n_sinks",
        "network_density",
        "density",
        "max_degree",
        *PROFILE_FEATURE_NAMES,
        *TOPOLOGY_SCORE_NAMES,
        *WL_FEATURE_NAMES,
    }
    assert not structure & set(SIZE_ONLY_FEATURES)
    assert all(name.startswith("n_") for name in SIZE_ONLY_FEATURES)


def test_conformal_interval_covers_at_the_nominal_rate_when_the_noise_is_known():
    from sklearn.linear_model import BayesianRidge
    from sklearn.model_selection import KFold

    from nasprior.predictors import conformal_half_widths

    rng = np.random.default_rng(0)
    sigma = 0.1
    X = rng.uniform(0, 1, (400, 3))
    y = X @ [0.5, -0.3, 0.2] + rng.normal(0, sigma, 400)
    X_new = rng.uniform(0, 1, (20000, 3))
    y_new = X_new @ [0.5, -0.3, 0.2] + rng.normal(0, sigma, 20000)
    half = conformal_half_widths(BayesianRidge(), X, y, KFold(5, shuffle=True, random_state=0))
    predicted = BayesianRidge().fit(X, y).predict(X_new)
    for level, z in ((0.8, 1.2816), (0.9, 1.6449)):
        covered = np.mean(np.abs(y_new - predicted) <= half[f"{level:g}"])
        assert abs(covered - level) < 0.03, (level, covered)
        assert half[f"{level:g}"] == pytest.approx(z * sigma, rel=0.15)  # the Gaussian quantile of the known noise


def test_run_predictor_interval_and_skip_rule_upper_bound():
    from nasprior.predictors import RunPredictor, SkipRule

    rng = np.random.default_rng(1)
    records = [
        _record("trained", {"a": float(a), "b": float(b)}, float(0.5 + 0.3 * a + rng.normal(0, 0.02)), seed=i)
        for i, (a, b) in enumerate(rng.uniform(0, 1, (40, 2)))
    ]
    predictor = RunPredictor(["a", "b"]).fit(records)
    features = [{"a": 0.5, "b": 0.5}]
    point, lower, upper = predictor.predict_interval(features, 0.8)
    assert lower[0] < point[0] < upper[0] and point[0] == pytest.approx(predictor.predict(features)[0])
    assert SkipRule(interval=0.8).interval == 0.8
    with pytest.raises(PredictorError, match="no 0.85 interval"):
        predictor.predict_interval(features, 0.85)  # calibrated at 0.8 and 0.9 only
    wider = RunPredictor(["a", "b"], levels=[0.8, 0.85, 0.9]).fit(records)
    assert set(wider.half_widths_) == {0.8, 0.85, 0.9}
    assert wider.half_widths_[0.8] <= wider.half_widths_[0.85] <= wider.half_widths_[0.9]
    assert wider.half_widths_[0.8] == predictor.half_widths_[0.8]  # the same folds and forests
    # the pooled out-of-fold R2 equals sklearn's on cross_val_predict with the same folds
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold, cross_val_predict

    from nasprior.predictors.base import feature_matrix

    X, y = feature_matrix(records, ["a", "b"])
    forest = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=0, n_jobs=1)
    oof = cross_val_predict(forest, X, y, cv=KFold(5, shuffle=True, random_state=0))
    assert predictor.cv_r2_ == pytest.approx(r2_score(y, oof), abs=1e-12)
    with pytest.raises(ConfigError, match="interval"):
        SkipRule(interval=1.5)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """sample -> predictor fit through the CLI on digits (tiny n, few trials)."""
    root = tmp_path_factory.mktemp("workflow")
    code = main(
        [
            "sample",
            "--task",
            "digits",
            "--n",
            "12",
            "--epochs",
            "1",
            "--workers",
            "1",
            "--seed",
            "0",
            "--runs-dir",
            str(root / "runs"),
            "--run-id",
            "digits-sample",
        ]
    )
    assert code == 0
    code = main(
        [
            "predictor",
            "fit",
            str(root / "runs" / "digits-sample"),
            "--name",
            "digits-test",
            "--out",
            str(root / "predictors"),
            "--n-trials",
            "2",
            "--repeats",
            "1",
            "--folds",
            "3",
            "--inner-folds",
            "2",
        ]
    )
    assert code == 0
    return root


def _copy(fitted, tmp_path):
    return shutil.copytree(fitted / "predictors" / "digits-test", tmp_path / "p")


def test_fit_writes_model_and_card(fitted):
    path = fitted / "predictors" / "digits-test"
    card = json.loads((path / CARD_FILE).read_text())
    assert card["schema"] == 2 and card["target"] == "val_acc" and card["source"] == "runs"
    assert card["task"] == {"name": "digits", "n_inputs": 64, "n_classes": 10, "vocab_size": 0}
    assert card["training_runs"][0]["run_id"] == "digits-sample" and card["training_runs"][0]["n_records"] == 12
    assert card["n_train"] == card["training_runs"][0]["n_trained"]
    assert card["training_runs"][0]["train"]["epochs"] == 1  # the budget behind the target is in the card
    assert card["features"]["size_only"] == ["n_nodes", "n_edges", "n_weights", "n_params"]
    assert {"n_edges", "n_params", "degree_mean"} <= set(card["features"]["names"])
    for kind in ("structural", "size_only"):
        for metric in ("r2", "spearman", "kendall"):
            assert set(card["scores"][kind][metric]) == {"mean", "std", "values"}
    assert card["model"]["class"] in ("bayesian_ridge", "random_forest", "gradient_boosting")
    assert sum(card["scores"]["size_only_models"].values()) == 3  # the baseline chose its own class in each fold
    assert set(card["intervals"]["half_width"]) == set(card["intervals"]["coverage"]) == {"0.8", "0.9"}
    assert 0.0 <= card["intervals"]["coverage"]["0.8"]["mean"] <= 1.0
    importance = card["importance"]
    assert {item["feature"] for item in importance} == set(card["features"]["names"])
    assert [item["mean"] for item in importance] == sorted((item["mean"] for item in importance), reverse=True)
    assert len(card["model_sha256"]) == 64 and {"sklearn", "skops", "torch"} <= set(card["versions"])
    # min/max are those of the training records
    records = [
        json.loads(line) for line in (fitted / "runs" / "digits-sample" / "records.jsonl").read_text().splitlines()
    ]
    n_edges = [r["features"]["n_edges"] for r in records if r["status"] == "trained"]
    assert card["features"]["min"]["n_edges"] == min(n_edges) and card["features"]["max"]["n_edges"] == max(n_edges)


def test_save_load_round_trip_gives_same_predictions(fitted, tmp_path):
    predictor = Predictor.load(fitted / "predictors" / "digits-test")
    genomes = [
        Genome(prior="gnp", n_nodes=20, p=0.3, seed=5),
        Genome(prior="complete", n_nodes=30, mapping="layered", n_layers=2, width=128),
    ]
    before = predictor.predict_genomes(genomes)
    assert before.shape == (2,) and np.all(np.isfinite(before))
    features = genome_features(genomes, predictor.task)
    np.testing.assert_allclose(predictor.predict(features), before)
    predictor.save(tmp_path / "again")
    again = Predictor.load(tmp_path / "again")
    np.testing.assert_array_equal(again.predict_genomes(genomes), before)
    assert again.cv_r2_ == predictor.cv_r2_
    with pytest.raises(PredictorError, match="already holds"):
        predictor.save(tmp_path / "again")


def test_tampered_model_file_is_refused(fitted, tmp_path):
    path = _copy(fitted, tmp_path)
    data = bytearray((path / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(PredictorError, match="SHA-256"):
        Predictor.load(path)


def test_untrusted_type_is_refused_even_with_a_matching_checksum(fitted, tmp_path):
    path = _copy(fitted, tmp_path)
    # a function outside the allow list, as a tampered file could carry (skops would call it only if trusted)
    evil = Pipeline(
        [("f", FunctionTransformer(shutil.rmtree)), ("scale", StandardScaler()), ("model", BayesianRidge())]
    )
    sio.dump(evil, path / MODEL_FILE)
    card = json.loads((path / CARD_FILE).read_text())
    import hashlib

    card["model_sha256"] = hashlib.sha256((path / MODEL_FILE).read_bytes()).hexdigest()
    (path / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(PredictorError, match="allow list.*shutil.rmtree"):
        Predictor.load(path)


def test_wrong_schema_and_missing_files_are_refused(fitted, tmp_path):
    path = _copy(fitted, tmp_path)
    card = json.loads((path / CARD_FILE).read_text())
    card["schema"] = 99
    (path / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(PredictorError, match="schema version 99"):
        Predictor.load(path)
    with pytest.raises(PredictorError, match="not a predictor directory"):
        Predictor.load(tmp_path / "nothing")


def test_predict_command_warns_on_out_of_range_genome(fitted, capsys):
    path = str(fitted / "predictors" / "digits-test")
    big = json.dumps({"prior": "gnp", "n_nodes": 200, "p": 0.5, "seed": 1})
    assert main(["predict", "--predictor", path, "--genome", big]) == 0
    out, err = capsys.readouterr()
    value = float(out.split("predicted val_acc ")[1].split(",")[0].split()[0])
    assert "80% interval [" in out
    assert math.isfinite(value) and "CV R2" in out
    assert "outside the training range" in err and "n_edges=" in err
    predictor = Predictor.load(path)
    features = genome_features([Genome.from_json(big)], predictor.task)[0]
    assert "n_edges" in predictor.out_of_range(features)
    # a genome like the training ones: its size features lie inside the range
    assert (
        main(
            [
                "predict",
                "--predictor",
                path,
                "--genome",
                json.dumps([{"prior": "complete", "n_nodes": 8}]),
                "--task",
                "digits",
            ]
        )
        == 0
    )
    assert main(["predict", "--predictor", path, "--genome", big, "--task", "mnist"]) == 2


def test_search_uses_stored_predictor_before_its_own_is_warm(fitted, tmp_path):
    from nasprior.search import SearchConfig, run_search
    from nasprior.space import SearchSpace, default_space_path

    space = SearchSpace.from_toml(default_space_path("digits"))
    path = str(fitted / "predictors" / "digits-test")
    config = SearchConfig(
        task="digits",
        space=space.to_dict(),
        population=4,
        generations=1,
        train={**space.train, "epochs": 1},
        skip={"warmup": 50, "quantile": 1.0, "min_r2": -1e9},
        seed=0,
        run_id="s",
        predictor=path,
    )
    lines: list[str] = []
    result = run_search(config, tmp_path / "s", log=lines.append)
    assert any("stored predictor" in line for line in lines)
    skipped = [
        r
        for r in json.loads("[" + ",".join((tmp_path / "s" / "records.jsonl").read_text().split("\n")[:-1]) + "]")
        if r["status"] == "skipped"
    ]
    assert result.n_skipped == len(skipped) >= 1
    assert all(r["predictor"] == path and r["generation"] == 1 for r in skipped)
    with pytest.raises(ConfigError, match="fitted on task 'digits'"):
        SearchConfig(**{**config.to_dict(), "task": "mnist", "run_id": "m"})


def test_stored_predictor_ranks_generation_0(fitted, tmp_path, monkeypatch):
    """With a usable stored predictor, generation 0 trains the population it ranks best of initial_factor x as many."""
    # the fixture's predictor predicts one value for every digits genome: rank by a feature instead
    monkeypatch.setattr(Predictor, "predict", lambda self, rows: np.array([float(r["n_edges"]) for r in rows]))
    from nasprior.search import SearchConfig
    from nasprior.search.ga import GeneticSearch
    from nasprior.space import SearchSpace, default_space_path
    from nasprior.tasks import load_task

    space = SearchSpace.from_toml(default_space_path("digits"))
    base = dict(
        task="digits",
        space=space.to_dict(),
        population=4,
        generations=1,
        train={**space.train, "epochs": 1},
        skip={"min_r2": -1e9},
        seed=0,
        run_id="s",
        predictor=str(fitted / "predictors" / "digits-test"),
    )
    data = load_task("digits")

    def generation_0(**options):
        lines: list[str] = []
        search = GeneticSearch(SearchConfig(**{**base, **options}), tmp_path, data, [], lines.append)
        keys = [search.space.decode(ind).key for ind in search.initial_population()]
        return keys, search, lines

    ranked, search, lines = generation_0(initial_factor=3)
    assert len(ranked) == 4 and "12 random candidates drawn" in lines[0] and "drew 12" in lines[1]
    (screen,) = search.screened  # what the summary of generation 0 keeps
    assert screen["n_bred"] == 12 and len(screen["predicted_rejected"]) == 8
    assert min(screen["predicted_kept"]) >= max(screen["predicted_rejected"])
    again, _, _ = generation_0(initial_factor=3)
    assert again == ranked  # seeded: a resumed run draws and ranks the same candidates
    plain, _, lines = generation_0(initial_factor=1)
    assert "4 random candidates" in lines[0] and plain != ranked
    for options in ({"strategy": "ga"}, {"strategy": "random"}, {"skip": {"enabled": False}}):
        keys, _, lines = generation_0(initial_factor=3, **options)  # no predictor strategy: random, as before
        assert keys == plain and "4 random candidates" in lines[0]
    keys, _, _ = generation_0(initial_factor=3, skip={"min_r2": 2.0})  # the stored predictor is not good enough
    assert keys == plain
    with pytest.raises(ConfigError, match="initial_factor"):
        SearchConfig(**{**base, "initial_factor": 0})


def test_run_predictor_takes_over_only_when_it_beats_the_stored_one_on_the_run(fitted, tmp_path, monkeypatch):
    """Both usable: the stored predictor decides until the run's own CV R2 beats the stored R2 on the run's records."""
    from nasprior.search import SearchConfig
    from nasprior.search.ga import GeneticSearch
    from nasprior.space import SearchSpace, default_space_path
    from nasprior.tasks import load_task

    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits",
        space=space.to_dict(),
        population=4,
        generations=1,
        train={**space.train, "epochs": 1},
        skip={"warmup": 5, "min_r2": -1e9},
        seed=0,
        run_id="s",
        predictor=str(fitted / "predictors" / "digits-test"),
    )
    lines: list[str] = []
    search = GeneticSearch(config, tmp_path, load_task("digits"), [], lines.append)
    records = [
        r for r in RecordLog(fitted / "runs" / "digits-sample" / "records.jsonl").read() if r["status"] == "trained"
    ]
    search.records = [{**r, "fidelity": "screen"} for r in records[:8]]  # as the run screened them
    monkeypatch.setattr(search.predictor, "fit", lambda rows: search.predictor)
    on_run = search.stored_r2_on(search.records)
    assert on_run is not None
    search.predictor.cv_r2_ = on_run - 0.1  # the run's own is usable but worse than the stored one on this run
    source, name = search.usable_predictor()
    assert source is search.stored and name == config.predictor and "stored" in lines[-1] and "kept" in lines[-1]
    search.predictor.cv_r2_ = on_run + 0.1
    source, name = search.usable_predictor()
    assert source is search.predictor and name == "run" and "takes over" in lines[-1]


def test_predictor_path_finds_folders_and_shipped_names(tmp_path):
    from nasprior.predictors import predictor_path, shipped_predictors

    assert predictor_path(None) is None
    assert predictor_path(str(tmp_path)) == str(tmp_path.resolve())
    for name in shipped_predictors():  # package data: a card in nasprior/pretrained/<name>/
        assert Path(predictor_path(name), "model_card.json").is_file()
    with pytest.raises(PredictorError, match="no shipped predictor of that name"):
        predictor_path("no-such-predictor")


def test_shipped_predictor_predicts_a_possible_accuracy_far_outside_its_range():
    """predictors/reber-gru loads after install; far outside its range it warns and stays in [0, 1]."""
    path = Path(__file__).resolve().parents[1] / "predictors" / "reber-gru"
    predictor = Predictor.load(path)
    if predictor.card.get("migrated_from_schema") == 1:  # fitted before intervals: loads and predicts without them
        assert predictor.interval_levels == [] and predictor.source == "runs"
        with pytest.raises(PredictorError, match="fitted before intervals"):
            predictor.predict_interval([], 0.9)
    genomes = [Genome(prior="barabasi_albert", n_nodes=n, m=3, cell="gru") for n in (30, 400)]
    features = genome_features(genomes, predictor.task)
    assert predictor.out_of_range(features[0]) == [] and "n_nodes" in predictor.out_of_range(features[1])
    raw = predictor.pipeline.predict(predictor.matrix(features))
    predicted = predictor.predict(features)
    assert predicted[0] == pytest.approx(raw[0]) and 0.5 < predicted[0] < 1.0
    assert 0.0 <= predicted[1] <= 1.0 and predicted[1] == pytest.approx(min(max(raw[1], 0.0), 1.0))


def test_predicted_accuracy_is_clipped_to_a_fraction(fitted, monkeypatch):
    """A model that extrapolates (a linear one far outside its range) never yields an impossible accuracy."""
    predictor = Predictor.load(fitted / "predictors" / "digits-test")
    features = genome_features([Genome(prior="complete", n_nodes=8)] * 3, predictor.task)
    monkeypatch.setattr(predictor, "pipeline", SimpleNamespace(predict=lambda X: np.array([1.18, -0.2, 0.7])))
    assert predictor.predict(features).tolist() == [1.0, 0.0, 0.7]


def test_fit_does_not_depend_on_the_order_of_the_log(fitted, tmp_path):
    """A parallel sample logs in completion order; the same records in another order give the same predictor."""
    run = shutil.copytree(fitted / "runs" / "digits-sample", tmp_path / "digits-sample")
    lines = (run / "records.jsonl").read_text().splitlines(keepends=True)
    (run / "records.jsonl").write_text("".join(reversed(lines)))
    options = dict(n_trials=2, folds=3, inner_folds=2, repeats=1, seed=0)
    card = json.loads((fitted / "predictors" / "digits-test" / CARD_FILE).read_text())
    refit = fit_predictor([run], "digits-test", **options).card
    assert refit["scores"]["structural"] == card["scores"]["structural"]
    assert refit["model"]["params"] == card["model"]["params"]


# ------------------------------------------------------------------ graphs from other tools


@pytest.fixture(scope="module")
def graph_set(tmp_path_factory):
    """GraphML files of other tools' graphs (undirected and DAGs) with a target table and groups."""
    import csv

    import networkx as nx

    root = tmp_path_factory.mktemp("graphs")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(18):
        n = int(rng.integers(10, 30))
        graph = nx.connected_watts_strogatz_graph(n, 4, float(rng.uniform(0.05, 1.0)), seed=i)
        if i % 3 == 0:  # a DAG as another tool would write it, with string labels
            graph = nx.relabel_nodes(nx.DiGraph((min(e), max(e)) for e in graph.edges), lambda v: f"n{v}")
        nx.write_graphml(graph, root / f"g{i:02d}.graphml")
        rows.append({"file": f"g{i:02d}.graphml", "acc": 0.3 + 0.02 * n + rng.normal(0, 0.01), "group": i // 2})
    with open(root / "targets.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "acc", "group"])
        writer.writeheader()
        writer.writerows(rows)
    code = main(
        [
            "predictor",
            "fit",
            "--graphs",
            str(root),
            "--targets",
            str(root / "targets.csv"),
            "--graph-column",
            "file",
            "--name",
            "ext",
            "--out",
            str(root / "predictors"),
            "--n-trials",
            "2",
            "--repeats",
            "1",
            "--folds",
            "3",
            "--inner-folds",
            "2",
        ]
    )
    assert code == 0
    return root


def test_fit_from_graph_files_and_predict_them_round_trip(graph_set, capsys):
    import networkx as nx

    from nasprior.graph_io import read_graph

    path = graph_set / "predictors" / "ext"
    card = json.loads((path / CARD_FILE).read_text())
    assert card["source"] == "graphs" and card["target"] == "acc" and card["n_train"] == 18
    assert card["training_runs"][0]["group_column"] == "group" and card["scores"]["protocol"]["grouped"]
    assert {"last_layer_width", "wl_hist_00", "n_params"} <= set(card["features"]["names"]) | set(
        card["features"]["dropped_constant"]
    )
    predictor = Predictor.load(path)
    files = sorted(graph_set.glob("*.graphml"))
    graphs = [read_graph(f) for f in files]
    direct = predictor.predict_graphs(graphs)
    assert direct.shape == (18,) and np.all(np.isfinite(direct))
    capsys.readouterr()
    assert main(["predict", "--predictor", str(path), "--graph", str(files[4])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("g04.graphml predicted acc ") and "80% interval [" in out and "90% interval [" in out
    assert float(out.split("predicted acc ")[1].split(",")[0]) == pytest.approx(direct[4], abs=1e-4)
    assert main(["predict", "--predictor", str(path), "--graphs", str(graph_set)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "graph,predicted_acc,lower_80,upper_80,lower_90,upper_90" and len(lines) == 19
    row = lines[5].split(",")
    assert row[0] == "g04.graphml" and float(row[2]) <= float(row[1]) <= float(row[3])
    assert float(row[4]) <= float(row[2]) and float(row[5]) >= float(row[3])  # the 90% interval holds the 80% one
    # the Python API takes networkx graphs directly (an undirected one is oriented by node order)
    assert predictor.predict_graphs([nx.path_graph(12)]).shape == (1,)


def test_predict_refuses_a_pickled_graph(graph_set, tmp_path, capsys):
    import pickle

    import networkx as nx

    (tmp_path / "g.gpickle").write_bytes(pickle.dumps(nx.path_graph(5)))
    code = main(
        ["predict", "--predictor", str(graph_set / "predictors" / "ext"), "--graph", str(tmp_path / "g.gpickle")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "pickle file, which nasprior never loads" in err and len(err.strip().splitlines()) == 1


def test_fit_options_are_checked(graph_set, tmp_path):
    assert main(["predictor", "fit", "--graphs", str(graph_set), "--name", "x", "--out", str(tmp_path)]) == 2
    assert main(["predictor", "fit", "--name", "x", "--out", str(tmp_path)]) == 2
    (tmp_path / "t.csv").write_text("graph,acc\ng00.graphml,high\n")
    assert (
        main(
            [
                "predictor",
                "fit",
                "--graphs",
                str(graph_set),
                "--targets",
                str(tmp_path / "t.csv"),
                "--name",
                "x",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )


def test_per_gene_and_pooled_predictors(fitted, tmp_path):
    """--where keeps one gene value (a per-cell predictor); --gene-features adds one-hot columns (a pooled one)."""
    run = fitted / "runs" / "digits-sample"
    records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    priors = sorted({r["genome"]["prior"] for r in records})
    assert len(priors) >= 2
    options = dict(n_trials=2, folds=3, inner_folds=2, repeats=1, seed=0)
    pooled = fit_predictor([run], "pooled", gene_features=["prior"], **options)
    names = [f"prior={p}" for p in priors]
    assert pooled.genes == {"prior": priors}
    assert set(names) <= set(pooled.feature_names) and set(names) <= set(pooled.card["features"]["size_only"])
    genome = Genome.from_dict(records[0]["genome"])
    features = pooled.genome_features([genome])[0]
    assert [features[n] for n in names] == [float(p == genome.prior) for p in priors]
    assert 0.0 <= pooled.predict([features])[0] <= 1.0
    with pytest.raises(PredictorError, match="fitted on prior in"):
        pooled.gene_columns([{"prior": "a_prior_never_trained", "mapping": "graph"}])
    with pytest.raises(PredictorError, match="a graph file does not give"):
        pooled.graph_features([])
    pooled.save(tmp_path / "pooled")
    assert Predictor.load(tmp_path / "pooled").genes == {"prior": priors}

    with pytest.raises(RecordError, match=r"with prior=no_such_prior"):
        fit_predictor([run], "none", where={"prior": "no_such_prior"}, **options)
    with pytest.raises(ConfigError, match="no trained record has a gene 'colour'"):
        fit_predictor([run], "bad", gene_features=["colour"], **options)
    assert main(["predictor", "fit", str(run), "--name", "x", "--out", str(tmp_path), "--where", "cell"]) == 2


def test_per_cell_predictor_refuses_other_cells(tmp_path):
    """--where cell=gru on a run of two cell types: fitted on the GRU rows only; an LSTM genome is refused."""
    shape = get_task("reber").shape
    rng = np.random.default_rng(0)
    run = tmp_path / "run"
    run.mkdir()
    lines = []
    for i in range(24):
        genome = Genome(
            prior="barabasi_albert", n_nodes=10 + i % 12, m=1 + i % 3, cell="gru" if i % 2 else "lstm", seed=i
        )
        features = candidate_features(genome, shape)
        acc = float(0.6 + 0.01 * features["n_nodes"] + rng.normal(0, 0.01))
        lines.append(
            json.dumps(
                make_record(
                    run_id="r",
                    genome=genome,
                    task="reber",
                    status="trained",
                    features=features,
                    metrics={"val_acc": acc, "test_acc": acc},
                )
            )
        )
    (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    gru = fit_predictor([run], "gru", where={"cell": "gru"}, n_trials=2, folds=3, inner_folds=2, repeats=1, seed=0)
    assert gru.where == {"cell": "gru"} and gru.card["n_train"] == 12 and gru.genes == {}
    ok = Genome(prior="barabasi_albert", n_nodes=15, m=2, cell="gru", seed=99)
    assert 0.0 <= gru.predict_genomes([ok])[0] <= 1.0
    with pytest.raises(PredictorError, match="fitted on genomes with cell = gru, not 'lstm'"):
        gru.predict_genomes([Genome(prior="barabasi_albert", n_nodes=15, m=2, cell="lstm", seed=99)])
