"""Search strategies and several objectives: NSGA-II, ga-screen, random search, resume."""

from __future__ import annotations

import random

import pytest
from deap import algorithms, tools
from test_search import small_config

from nasprior.errors import ConfigError
from nasprior.runs.records import RecordLog
from nasprior.search import run_search
from nasprior.search.operators import Individual, dominates, fitness_class, make_toolbox, select_pareto_tournament
from nasprior.space import SearchSpace
from nasprior.tasks import load_task


@pytest.fixture(scope="module")
def digits():
    return load_task("digits", seed=0)


def test_nsga2_recovers_a_known_front():
    """Maximise x0, minimise x0 + g with g = mean(x[1:]): the Pareto front is g = 0, x0 in [0, 1]."""
    random.seed(1)
    weights = (1.0, -1.0)
    fitness = fitness_class(weights)

    def evaluate(ind):
        g = sum(ind[1:]) / (len(ind) - 1)
        return ind[0], ind[0] + g

    toolbox = make_toolbox(SearchSpace.from_dict({"genes": {"prior": ["gnp"]}}), random.Random(1))
    toolbox.register("select", select_pareto_tournament)
    toolbox.register("replace", tools.selNSGA2)
    population = [Individual([random.random() for _ in range(5)], fitness) for _ in range(24)]
    for ind in population:
        ind.fitness.values = evaluate(ind)
    for _ in range(60):
        offspring = algorithms.varAnd([toolbox.clone(p) for p in toolbox.select(population, 24)], toolbox, 0.7, 0.5)
        for ind in offspring:
            ind[:] = [min(max(x, 0.0), 1.0) for x in ind]
            ind.fitness.values = evaluate(ind)
        population = toolbox.replace(population + offspring, 24)
    front = tools.sortNondominated(population, len(population), first_front_only=True)[0]
    assert len(front) >= 10
    assert max(sum(ind[1:]) / 4 for ind in front) < 0.05  # on the true front
    x0 = sorted(ind[0] for ind in front)
    assert x0[0] < 0.2 and x0[-1] > 0.8  # and spread along it
    assert dominates((0.9, 1.0), (0.8, 1.0), weights) and not dominates((0.9, 2.0), (0.8, 1.0), weights)


def test_multi_objective_search_saves_a_pareto_front(tmp_path, digits):
    result = run_search(
        small_config(objectives=["accuracy", "weights"]), tmp_path / "run", data=digits, log=lambda _: None
    )
    front = result.pareto_front
    assert front and (tmp_path / "run" / "pareto.json").exists()
    points = [(r["metrics"]["val_acc"], r["features"]["n_weights"]) for r in front]
    trained = [
        (r["metrics"]["val_acc"], r["features"]["n_weights"])
        for r in RecordLog(tmp_path / "run" / "records.jsonl").read()
        if r["status"] == "trained"
    ]
    for p in points:  # no trained candidate dominates a front member
        assert not any(dominates(q, p, (1.0, -1.0)) for q in trained)


def test_ga_screen_trains_exactly_lambda_per_generation(tmp_path, digits):
    lines = []
    run_search(
        small_config(strategy="ga-screen", screen_factor=3, skip={"warmup": 5, "min_r2": -100.0}),
        tmp_path / "run",
        data=digits,
        log=lines.append,
    )
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    for generation in (0, 1, 2):
        assert sum(r["generation"] == generation and r["status"] == "trained" for r in records) == 4
    assert not any(r["status"] == "skipped" for r in records)
    assert any("screen: bred 12, training the 4 ranked best" in line for line in lines)


@pytest.mark.parametrize("strategy", ["ga-screen", "random"])
def test_strategies_resume_like_the_default(tmp_path, digits, strategy):
    config = small_config(strategy=strategy, skip={"warmup": 5, "min_r2": -100.0})
    run_search(config, tmp_path / "full", data=digits, log=lambda _: None)
    full = RecordLog(tmp_path / "full" / "records.jsonl").read()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "config.json").write_text((tmp_path / "full" / "config.json").read_text())
    lines = (tmp_path / "full" / "records.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "cut" / "records.jsonl").write_text("".join(lines[:6]))
    run_search(config, tmp_path / "cut", resume=True, data=digits, log=lambda _: None)
    resumed = RecordLog(tmp_path / "cut" / "records.jsonl").read()
    assert [r["key"] for r in resumed] == [r["key"] for r in full]
    assert [r["metrics"] for r in resumed] == [r["metrics"] for r in full]


def test_random_strategy_draws_fresh_candidates(tmp_path, digits):
    run_search(small_config(strategy="random"), tmp_path / "run", data=digits, log=lambda _: None)
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    assert len(records) == 12 and len({r["key"] for r in records}) == 12


def test_bad_objectives_and_strategies_are_refused():
    with pytest.raises(ConfigError, match="accuracy' first"):
        small_config(objectives=["weights"])
    with pytest.raises(ConfigError, match="strategy 'hill'"):
        small_config(strategy="hill")


def test_repeats_no_mutation_escapes_are_replaced_by_random_immigrants():
    """A converged population in a small discrete space: repeats become fresh random genomes, not replays."""
    from deap import base

    from nasprior.search.operators import make_unique

    draws = iter([0.1, 0.2, 0.2, 0.3, 0.4, 0.5])
    toolbox = base.Toolbox()
    toolbox.register("mutate", lambda ind: (ind,))  # no mutation changes the genome
    toolbox.register("individual", lambda: Individual([next(draws)]))
    key = lambda ind: f"{ind[0]:.1f}"  # noqa: E731
    offspring = [Individual([0.9]), Individual([0.9]), Individual([0.8])]
    for ind in offspring:
        ind.fitness.values = (1.0,)
    make_unique(offspring, toolbox, key, seen={"0.9", "0.1"}, max_tries=3)
    # 0.9 was visited: after 3 idle mutations, immigrants 0.1 (visited) and 0.2 are drawn; the second 0.9 gets 0.2
    # (already in this batch), then 0.3; 0.8 is new and is kept with its fitness
    assert [key(ind) for ind in offspring] == ["0.2", "0.3", "0.8"]
    assert not offspring[0].fitness.valid and not offspring[1].fitness.valid and offspring[2].fitness.valid


def test_genomes_that_build_one_network_are_one_candidate():
    """In the CIFAR-10 space a Watts-Strogatz ring with k = n - 1 is the complete graph: drawn once, not twice."""
    from nasprior.genome import Genome
    from nasprior.priors import network_of
    from nasprior.search.operators import make_unique
    from nasprior.space import default_space_path

    ring = Genome.from_dict(
        {"prior": "watts_strogatz", "mapping": "convolutional", "n_nodes": 5, "k": 4, "p": 0.25, "seed": 3,
         "n_stages": 3, "channels": 12, "op": "conv"}
    )  # fmt: skip
    complete = Genome.from_dict(
        {"prior": "complete", "mapping": "convolutional", "n_nodes": 5, "n_stages": 3, "channels": 12, "op": "conv"}
    )
    assert ring.key != complete.key and network_of(ring) == network_of(complete)
    space = SearchSpace.from_toml(default_space_path("cifar10"))
    toolbox = make_toolbox(space, random.Random(0))
    population = toolbox.population(n=200)  # more draws than the space's complete-graph networks: repeats certain
    key = lambda ind: network_of(space.decode(ind))  # noqa: E731
    assert len({key(ind) for ind in population}) < 200
    make_unique(population, toolbox, key, seen=set())
    assert len({key(ind) for ind in population}) == 200  # 200 distinct networks of the 436
