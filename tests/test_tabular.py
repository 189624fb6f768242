"""Discrete search spaces and exhaustive samples: every genome of a space once, second seeds beside them."""

from __future__ import annotations

import pytest

from nasprior.errors import ConfigError, RecordError
from nasprior.runs.records import RecordLog
from nasprior.runs.sampling import SampleConfig, draw_genomes, run_sample, sample_jobs
from nasprior.search.config import final_train_options
from nasprior.space import SearchSpace, default_space_path

#: A small discrete digits space: gnp x 2 p x 2 seeds + complete (no p, no seed) per n_nodes.
GENES = {
    "prior": ["gnp", "complete"],
    "n_nodes": {"values": [8, 12]},
    "p": {"values": [0.3, 0.6]},
    "seed": {"values": [0, 1]},
}


def _space() -> SearchSpace:
    return SearchSpace.from_dict({"genes": dict(GENES)}, name="tiny")


def test_values_genes_list_every_genome_once():
    space = _space()
    assert space.genes["n_nodes"] == [8, 12] and space.is_discrete
    genomes = space.genomes()
    # gnp: 2 n_nodes x 2 p x 2 seeds; complete reads only n_nodes: 2 (p and seed do not make new genomes)
    assert len(genomes) == 10 and len({g.key for g in genomes}) == 10
    assert sorted(g.n_nodes for g in genomes if g.prior == "complete") == [8, 12]
    assert {(g.p, g.seed) for g in genomes if g.prior == "gnp"} == {(0.3, 0), (0.3, 1), (0.6, 0), (0.6, 1)}
    # the round trip through a run's config keeps the values lists
    again = SearchSpace.from_dict(space.to_dict())
    assert [g.key for g in again.genomes()] == [g.key for g in genomes]
    # decoding an encoded individual lands on listed values only
    import random

    rng = random.Random(0)
    for _ in range(50):
        g = space.decode(space.random_individual(rng))
        assert g.n_nodes in (8, 12) and (g.prior == "complete" or g.p in (0.3, 0.6))


def test_range_genes_have_no_genome_list_and_bad_values_are_refused():
    with pytest.raises(ConfigError, match=r"seed.*ranges.*values"):
        SearchSpace.from_dict({"genes": {**GENES, "seed": [0, 5]}}).genomes()
    with pytest.raises(ConfigError, match="seed"):  # a seed left out ranges over every seed
        SearchSpace.from_dict({"genes": {k: v for k, v in GENES.items() if k != "seed"}}).genomes()
    with pytest.raises(ConfigError, match=r"values = \[v1"):
        SearchSpace.from_dict({"genes": {**GENES, "n_nodes": {"values": []}}})
    with pytest.raises(ConfigError, match=r"values = \[v1"):
        SearchSpace.from_dict({"genes": {**GENES, "n_nodes": {"low": 2}}})
    with pytest.raises(ConfigError, match="n_nodes"):
        SearchSpace.from_dict({"genes": {**GENES, "n_nodes": {"values": [1]}}})  # outside the gene's range


def test_shipped_cifar10_space_is_discrete_with_at_least_400_genomes():
    space = SearchSpace.from_toml(default_space_path("cifar10"))
    genomes = space.genomes()
    assert len(genomes) >= 400
    assert {g.prior for g in genomes} == {"gnp", "watts_strogatz", "barabasi_albert", "complete"}
    assert {g.op for g in genomes} == {"sep_conv", "conv"} and {g.channels for g in genomes} == {12, 16}


def test_exhaustive_draw_is_a_seeded_order_of_every_genome():
    space = _space()
    a = draw_genomes(space, 0, seed=0, exhaustive=True)
    b = draw_genomes(space, 0, seed=1, exhaustive=True)
    assert sorted(g.key for _, g in a) == sorted(g.key for g in space.genomes())
    assert [g.key for _, g in a] != [g.key for _, g in b]  # the order is seeded
    assert [g.key for _, g in draw_genomes(space, 4, seed=0, exhaustive=True)] == [g.key for _, g in a[:4]]
    by_prior = draw_genomes(space, 0, priors=["complete"], seed=0, exhaustive=True)
    assert len(by_prior) == 2 and {s for s, _ in by_prior} == {"complete"}


def test_sample_jobs_spread_second_seeds_over_the_order():
    drawn = draw_genomes(_space(), 0, seed=0, exhaustive=True)
    jobs = sample_jobs(drawn, 3)
    assert len(jobs) == 13
    seconds = [i for i, job in enumerate(jobs) if job[3] == 1]
    assert len(seconds) == 3 and seconds[0] == 1  # the first genome's second seed comes right after it
    for i in seconds:
        assert jobs[i][:3] == jobs[i - 1][:3] and jobs[i - 1][3] == 0
    assert max(j[0] for j in jobs if j[3]) >= 6  # spread, not bunched at the start
    assert len(sample_jobs(drawn, 50)) == 20  # at most one second seed per genome


def test_exhaustive_sample_with_second_seeds_logs_and_resumes(tmp_path):
    space = _space()
    train = {**SearchSpace.from_toml(default_space_path("digits")).train, "epochs": 1, "score_test": False}

    def config(**kw):
        base = dict(task="digits", space=space.to_dict(), n=0, exhaustive=True, replicates=2, train=train, run_id="t")
        return SampleConfig(**{**base, **kw})

    run_dir = tmp_path / "t"
    lines: list[str] = []
    result = run_sample(config(n=3), run_dir, workers=1, log=lines.append)
    logged = RecordLog(run_dir / "records.jsonl").read()
    assert result.n_new == 5 and len(logged) == 5
    assert sum("(second seed)" in line for line in lines) == 2
    seconds = [r for r in logged if r["sample"].get("replicate")]
    firsts = {r["key"]: r for r in logged if not r["sample"].get("replicate")}
    assert len(seconds) == 2 and all(r["seed"] == 1 and r["train"]["seed"] == 1 for r in seconds)
    assert all(r["seed"] == 0 for r in firsts.values())
    for r in seconds:  # same genome, same features before training, another weight seed
        first = firsts[r["key"]]
        assert r["features"]["n_params"] == first["features"]["n_params"]
        assert r["features"]["proxy_synflow"] != first["features"]["proxy_synflow"]
    assert all(r["metrics"]["test_acc"] is None and r["metrics"]["val_acc"] is not None for r in logged)

    with pytest.raises(RecordError, match="other n"):
        run_sample(config(n=4), run_dir, workers=1, log=lambda s: None)
    with pytest.raises(RecordError, match="other replicates"):
        run_sample(config(n=3, replicates=1), run_dir, workers=1, log=lambda s: None)
    again = run_sample(config(n=3), run_dir, workers=1, log=lambda s: None)
    assert again.n_new == 0 and len(again.records) == 5


def test_exhaustive_sample_refuses_a_space_with_ranges():
    space = SearchSpace.from_toml(default_space_path("digits"))
    with pytest.raises(ConfigError, match="ranges"):
        SampleConfig(task="digits", space=space.to_dict(), n=0, exhaustive=True, run_id="x")
    with pytest.raises(ConfigError, match="at least 1"):
        SampleConfig(task="digits", space=space.to_dict(), n=0, run_id="x")


def test_final_training_scores_the_test_split_even_when_screening_does_not():
    assert "score_test" not in final_train_options({"epochs": 2, "score_test": False}, {"epochs": 9})
    assert final_train_options({"score_test": False}, {"score_test": False})["score_test"] is False


# -- searching a table by lookup ---------------------------------------------------------------
TABLE_GENES = {
    "prior": ["gnp", "watts_strogatz"],
    "n_nodes": {"values": [8, 16, 24]},
    "p": {"values": [0.2, 0.5, 0.8]},
    "k": {"values": [2, 4]},
    "seed": {"values": [0, 1]},
}


@pytest.fixture(scope="module")
def digits_table(tmp_path_factory):
    """Every genome (54) of a small discrete digits space, trained 1 epoch: a tabular benchmark."""
    space = SearchSpace.from_dict({"genes": TABLE_GENES}, name="table")
    train = {**SearchSpace.from_toml(default_space_path("digits")).train, "epochs": 1}
    run_dir = tmp_path_factory.mktemp("table") / "digits-table"
    config = SampleConfig(task="digits", space=space.to_dict(), n=0, exhaustive=True, train=train, run_id="tbl")
    run_sample(config, run_dir, workers=1, log=lambda s: None)
    return run_dir


def test_table_reads_a_sample_and_ranks_its_top(digits_table):
    from nasprior.runs.tabular import Table

    table = Table.read(digits_table)
    assert len(table) + table.n_failed == 54 and table.task == "digits" and table.fidelity == "sample"
    values = sorted(table.values().values(), reverse=True)
    assert table.top_threshold(0.01) == values[0]  # at least one genome
    assert table.top_threshold(0.1) == values[4]
    with pytest.raises(ValueError, match="share"):
        table.top_threshold(0)


def test_search_on_a_table_looks_up_and_never_trains(digits_table, tmp_path, monkeypatch):
    import nasprior.evaluation
    from nasprior.runs.records import RecordLog
    from nasprior.runs.tabular import Table, TableEvaluator, placeholder_data
    from nasprior.search import SearchConfig, run_search
    from nasprior.training import TrainConfig

    def no_training(*args, **kwargs):
        raise AssertionError("a table search trained a network")

    monkeypatch.setattr(nasprior.evaluation, "train", no_training)
    table = Table.read(digits_table)
    stored = json_config(digits_table)
    config = SearchConfig(
        task="digits",
        space=stored["space"],
        population=4,
        generations=3,
        train=stored["train"],
        seed=3,
        run_id="lookup",
        strategy="ga",
    )
    allowed = set(list(table.by_key)[: len(table) // 2])
    evaluator = TableEvaluator(
        table, placeholder_data("digits"), TrainConfig(**config.train), "lookup", 3, allowed=allowed
    )
    run_search(config, tmp_path / "lookup", evaluator=evaluator, log=lambda s: None)
    records = RecordLog(tmp_path / "lookup" / "records.jsonl").read()
    trained = [r for r in records if r["status"] == "trained"]
    assert trained and evaluator.n_lookups == len(trained)
    for r in trained:  # the table's own accuracy, and only genomes the benchmark allows
        assert r["key"] in allowed
        assert r["metrics"]["val_acc"] == table.by_key[r["key"]]["metrics"]["val_acc"]
        assert r["features"] == table.by_key[r["key"]]["features"]
    assert all("not among the genomes" in r["error"] for r in records if r["status"] == "failed")
    assert (tmp_path / "lookup" / "best" / "genome.json").is_file()
    assert not (tmp_path / "lookup" / "best" / "model.pt").exists()  # no weights: nothing was trained


def json_config(run_dir):
    import json

    return json.loads((run_dir / "config.json").read_text())


def test_sample_final_trains_with_the_final_budget_and_labels_it(tmp_path):
    from nasprior.cli import main

    space = tmp_path / "tiny.toml"
    space.write_text(
        '[genes]\nprior = ["gnp"]\nn_nodes = { values = [8, 12] }\np = { values = [0.5] }\nseed = { values = [0] }\n'
        '[train]\nepochs = 1\noptimizer = "adam"\ntrain_subset = 200\nscore_test = false\n'
        "[final]\nepochs = 2\n",
        encoding="utf-8",
    )
    args = ["sample", "--task", "digits", "--space", str(space), "--all", "--workers", "1", "--runs-dir", str(tmp_path)]
    assert main([*args, "--final", "--run-id", "f"]) == 0
    records = RecordLog(tmp_path / "f" / "records.jsonl").read()
    assert len(records) == 2 and {r["fidelity"] for r in records} == {"final"}
    for r in records:  # [final] over [train]: all images, 2 epochs, the test split scored
        assert r["train"]["epochs"] == 2 and r["train"]["train_subset"] == 0 and r["metrics"]["test_acc"] is not None
    assert main([*args, "--run-id", "f"]) == 2  # the same run id without --final is another sample
    assert main(["sample", "--task", "digits", "--run-id", "x", "--runs-dir", str(tmp_path)]) == 2  # no --n, no --all


def test_predictor_fit_keeps_a_genome_and_its_second_seed_in_one_fold(tmp_path):
    from nasprior.predictors import fit_predictor

    space = SearchSpace.from_dict({"genes": TABLE_GENES}, name="table")
    train = {**SearchSpace.from_toml(default_space_path("digits")).train, "epochs": 1}
    config = SampleConfig(task="digits", space=space.to_dict(), n=14, exhaustive=True, replicates=6, train=train)
    run_sample(config, tmp_path / "r", workers=1, log=lambda s: None)
    lines: list[str] = []
    fit_predictor([tmp_path / "r"], "t", n_trials=2, folds=3, repeats=1, log=lines.append)
    assert any("6 records of a network already counted" in line for line in lines)


def test_genomes_of_one_network_have_one_network_key_and_are_listed_once():
    """A Watts-Strogatz ring with k = n - 1 is the complete graph for every p and seed: one network, one genome."""
    from nasprior.genome import Genome
    from nasprior.predictors.base import record_group
    from nasprior.priors import make_graph, network_key

    conv = {"mapping": "convolutional", "n_nodes": 5, "channels": 12, "op": "conv"}
    ring = [Genome("watts_strogatz", k=4, p=p, seed=s, **conv) for p in (0.25, 0.75) for s in (0, 1)]
    complete = Genome("complete", **conv)
    assert {network_key(g) for g in ring} == {network_key(complete)}
    assert all(set(make_graph(g).edges) == set(make_graph(complete).edges) for g in ring)
    assert network_key(complete.replace(op="sep_conv")) != network_key(complete)  # a mapping gene: another network
    assert network_key(Genome("watts_strogatz", k=2, p=0.5, seed=0, **conv)) != network_key(complete)
    space = SearchSpace.from_dict(
        {
            "genes": {
                "prior": ["watts_strogatz", "complete"],
                "mapping": ["convolutional"],
                "n_nodes": {"values": [5]},
                "k": {"values": [4]},
                "p": {"values": [0.25, 0.75]},
                "seed": {"values": [0, 1]},
                "channels": {"values": [12]},
                "op": ["conv"],
            }
        },
        name="k-n",
    )
    assert [g.key for g in space.genomes()] == [complete.key]  # the fewest genes stands for the network
    records = [{"key": g.key, "genome": g.to_dict()} for g in (*ring, complete)]
    assert len({record_group(r) for r in records}) == 1  # one cross-validation fold for all of them


def test_a_table_answers_for_every_genome_of_a_network_it_holds():
    """A table made before genomes were listed per network: one record per network, found from any of its genomes."""
    from nasprior.genome import Genome
    from nasprior.runs.tabular import Table

    conv = {"mapping": "convolutional", "n_nodes": 5, "channels": 12, "op": "conv"}
    ring = [Genome("watts_strogatz", k=4, p=0.25, seed=s, **conv) for s in (0, 1, 2)]
    other = Genome("watts_strogatz", k=2, p=0.5, seed=0, **conv)

    def record(genome, seed, acc):
        return {
            "key": genome.key,
            "genome": genome.to_dict(),
            "seed": seed,
            "status": "trained",
            "task": "cifar10",
            "fidelity": "sample",
            "metrics": {"val_acc": acc},
        }

    table = Table(
        [
            record(ring[0], 0, 0.35),
            record(ring[1], 0, 0.35),
            record(other, 0, 0.3),
            record(ring[1], 1, 0.36),
            record(ring[2], 1, 0.36),
        ]
    )
    assert len(table) == 2 and table.n_duplicates == 1
    assert table.lookup(ring[2]) is table.by_key[ring[0].key]  # a genome of the network the table holds
    assert table.lookup(Genome("complete", **conv)) is table.by_key[ring[0].key]
    assert table.lookup(Genome("watts_strogatz", k=2, p=0.5, seed=3, **conv)) is None
    assert [r["key"] for r in table.replicates[ring[0].key]] == [ring[1].key]  # one second seed per network


def test_a_grown_space_resumes_its_table_and_keeps_logged_second_seeds(tmp_path):
    from nasprior.runs.sampling import sample_jobs

    small = {**GENES, "seed": {"values": [0]}}
    space = SearchSpace.from_dict({"genes": small}, name="tiny")
    train = {**SearchSpace.from_toml(default_space_path("digits")).train, "epochs": 1}
    config = SampleConfig(task="digits", space=space.to_dict(), n=0, exhaustive=True, replicates=2, train=train)
    first = run_sample(config, tmp_path / "r", workers=1, log=lambda s: None)
    seconds = {r["key"] for r in first.records if r["seed"] == 1}
    grown = SearchSpace.from_dict({"genes": GENES}, name="tiny")  # seed [0] -> [0, 1]
    lines: list[str] = []
    config = SampleConfig(task="digits", space=grown.to_dict(), n=0, exhaustive=True, replicates=2, train=train)
    again = run_sample(config, tmp_path / "r", workers=1, log=lines.append)
    assert any("grew" in line for line in lines)
    assert again.n_new == len(grown.genomes()) - len(space.genomes())  # only the new genomes; no second seed again
    assert {r["key"] for r in again.records if r["seed"] == 1} == seconds
    shrunk = SampleConfig(
        task="digits",
        space={"genes": {**GENES, "p": {"values": [0.3]}}},
        n=0,
        exhaustive=True,
        replicates=2,
        train=train,
    )
    with pytest.raises(RecordError, match="space genes"):
        run_sample(shrunk, tmp_path / "r", workers=1, log=lambda s: None)
    drawn = [("all", g) for g in grown.genomes()]
    logged = {drawn[-1][1].key}
    jobs = sample_jobs(drawn, 2, logged)
    assert {drawn[j[0]][1].key for j in jobs if j[3] == 1} >= logged and sum(j[3] == 1 for j in jobs) == 2


def test_final_accuracy_from_structure_and_screening_curve_ranks_survivors(tmp_path):
    """Baker et al. 2017: fit the final-fidelity accuracy on size + the screening curve, rank survivors by it."""
    from nasprior.features import parse_feature_groups
    from nasprior.predictors import fit_predictor
    from nasprior.search.final import survivors

    space = SearchSpace.from_dict({"genes": TABLE_GENES}, name="table")
    train = {**SearchSpace.from_toml(default_space_path("digits")).train, "epochs": 2}
    for run_id, budget, fidelity in (("screen", 2, "sample"), ("final", 4, "final")):
        config = SampleConfig(
            task="digits",
            space=space.to_dict(),
            n=14,
            exhaustive=True,
            train={**train, "epochs": budget},
            fidelity=fidelity,
            run_id=run_id,
        )
        run_sample(config, tmp_path / run_id, workers=1, log=lambda s: None)
    assert "curve" not in parse_feature_groups("all")  # a record's own curve holds its own accuracy
    with pytest.raises(ConfigError, match="curve-from"):
        fit_predictor([tmp_path / "final"], "x", fidelity="final", feature_groups="size,curve", n_trials=1)
    lines: list[str] = []
    predictor = fit_predictor(
        [tmp_path / "final"],
        "baker",
        fidelity="final",
        feature_groups="size,curve",
        curve_from=[tmp_path / "screen"],
        n_trials=2,
        folds=3,
        repeats=1,
        log=lines.append,
    )
    assert "curve_val_acc_last" in predictor.feature_names and "n_params" in predictor.feature_names
    screened = [{**r, "fidelity": "screen"} for r in RecordLog(tmp_path / "screen" / "records.jsonl").read()]
    chosen = survivors(screened, 3, predictor)
    assert len(chosen) == 3 and all("predicted_final" in r for r in chosen)
    assert [r["predicted_final"] for r in chosen] == sorted((r["predicted_final"] for r in chosen), reverse=True)
    assert survivors(screened, 3)[0]["metrics"]["val_acc"] == max(r["metrics"]["val_acc"] for r in screened)
