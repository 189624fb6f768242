"""The GA's operators on DEAP: individuals, fitness, objectives, selection, the toolbox.

One objective (validation accuracy) uses tournament selection and keeps the
best of parents and offspring; several (accuracy with non-zero weights and/or
FLOPs) use NSGA-II (Deb et al. 2002): parents by binary tournaments on Pareto
rank and crowding distance (:func:`select_pareto_tournament`), survivors by
:func:`deap.tools.selNSGA2`.

References
----------
.. [Deb2002] K. Deb, A. Pratap, S. Agarwal and T. Meyarivan, "A fast and
   elitist multiobjective genetic algorithm: NSGA-II", IEEE Trans.
   Evolutionary Computation 6(2), 2002.
.. [Grefenstette1992] J. J. Grefenstette, "Genetic algorithms for changing
   environments", Parallel Problem Solving from Nature 2, 1992 (random immigrants).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from deap import base, tools
from deap.tools import selection

from ..errors import ConfigError
from ..evaluation import Evaluation
from ..genome import Genome
from ..space import SearchSpace
from .config import SearchConfig

_FITNESS_CLASSES: dict[tuple[float, ...], type] = {}


def fitness_class(weights: tuple[float, ...]) -> type:
    """A DEAP fitness class with the given weights (one per objective; +1 maximise, -1 minimise)."""
    if weights not in _FITNESS_CLASSES:
        _FITNESS_CLASSES[weights] = type(f"Fitness{len(weights)}", (base.Fitness,), {"weights": weights})
    return _FITNESS_CLASSES[weights]


class Individual(list):
    """An encoded genome (floats in [0, 1], order :attr:`nasprior.space.SearchSpace.gene_order`) with a fitness.

    Parameters
    ----------
    genes : iterable of float
    fitness_cls : type, optional
        DEAP fitness class (default: one maximised objective).
    """

    def __init__(self, genes: Any = (), fitness_cls: type | None = None):
        super().__init__(genes)
        self.fitness = (fitness_cls or fitness_class((1.0,)))()


def fitness_of(record: dict) -> float:
    """Fitness the GA gives a record: validation accuracy, the prediction if skipped, 0 if failed."""
    metrics = record.get("metrics", {})
    if record["status"] == "trained":
        return float(metrics["val_acc"])
    if record["status"] == "skipped":
        return float(metrics["predicted_val_acc"])
    return 0.0


#: Record feature of each size objective.
SIZE_OBJECTIVES = {"weights": "n_weights", "flops": "n_flops"}


def objective_values(record: dict, objectives: list[str]) -> tuple[float, ...]:
    """Fitness values of a record, one per objective (accuracy as :func:`fitness_of`, sizes from its features).

    A failed record (no features) gets accuracy 0 and infinite sizes.

    Raises
    ------
    ConfigError
        If a size objective's feature is missing from a record with features
        (e.g. ``flops`` for a network whose mapping does not count them).
    """
    values = [fitness_of(record)]
    for objective in objectives[1:]:
        name = SIZE_OBJECTIVES[objective]
        features = record.get("features") or {}
        if not features:
            values.append(float("inf"))
        elif features.get(name) is None:
            raise ConfigError(
                f"objective {objective!r} needs the feature {name!r}, which candidate {record['key']} "
                "lacks: drop that objective for this search space"
            )
        else:
            values.append(float(features[name]))
    return tuple(values)


def dominates(a: tuple[float, ...], b: tuple[float, ...], weights: tuple[float, ...]) -> bool:
    """Whether objective values ``a`` Pareto-dominate ``b`` under DEAP ``weights`` (+1 maximise, -1 minimise)."""
    wa = [x * w for x, w in zip(a, weights)]
    wb = [x * w for x, w in zip(b, weights)]
    return all(x >= y for x, y in zip(wa, wb)) and any(x > y for x, y in zip(wa, wb))


def select_pareto_tournament(individuals: list, k: int) -> list:
    """``k`` binary tournaments on Pareto rank, then crowding distance (NSGA-II's parent selection).

    Works for any population size (DEAP's :func:`~deap.tools.selTournamentDCD`
    needs a multiple of 4). Draws from the random stream of DEAP's selection module.

    Parameters
    ----------
    individuals : list of Individual
        With valid multi-objective fitnesses.
    k : int
        Parents to draw.

    Returns
    -------
    list of Individual
        The winners (not copies).
    """
    rank: dict[int, int] = {}
    for r, front in enumerate(tools.sortNondominated(individuals, len(individuals))):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            rank[id(ind)] = r
    chosen = []
    draw = selection.random  # DEAP's stream (the search gives DEAP's modules a seeded one of their own)
    for _ in range(k):
        a, b = draw.choice(individuals), draw.choice(individuals)
        key_a, key_b = (-rank[id(a)], a.fitness.crowding_dist), (-rank[id(b)], b.fitness.crowding_dist)
        chosen.append(a if key_a >= key_b else b)
    return chosen


def make_toolbox(
    space: SearchSpace,
    rng: random.Random,
    config: SearchConfig | None = None,
    evaluate: Callable[[tuple[Genome, dict]], Evaluation] | None = None,
) -> base.Toolbox:
    """DEAP toolbox of a search.

    Registers ``individual`` and ``population`` (uniform random individuals
    from ``rng``), ``mate`` (uniform crossover), ``mutate`` (bounded
    polynomial mutation), ``select`` (tournament of 3; with several
    objectives :func:`select_pareto_tournament`), ``replace`` (the best of
    parents and offspring; with several objectives :func:`deap.tools.selNSGA2`),
    ``map`` (the builtin ``map``) and, when given,
    ``evaluate`` (a ``(genome, features)`` pair to an
    :class:`~nasprior.evaluation.Evaluation`).
    """
    fitness_cls = fitness_class(config.weights if config is not None else (1.0,))
    several = len(fitness_cls.weights) > 1
    toolbox = base.Toolbox()
    toolbox.register("individual", lambda: Individual(space.random_individual(rng), fitness_cls))
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxUniform, indpb=0.5)
    toolbox.register("mutate", tools.mutPolynomialBounded, eta=15.0, low=0.0, up=1.0, indpb=2.0 / len(space.gene_order))
    if several:  # NSGA-II
        toolbox.register("select", select_pareto_tournament)
        toolbox.register("replace", tools.selNSGA2)
    else:
        toolbox.register("select", tools.selTournament, tournsize=3)
        toolbox.register("replace", tools.selBest)
    toolbox.register("map", map)
    if evaluate is not None:
        toolbox.register("evaluate", evaluate)
    return toolbox


def make_unique(
    offspring: list[Individual],
    toolbox: base.Toolbox,
    key: Callable[[Individual], str],
    seen: set[str],
    max_tries: int = 20,
) -> None:
    """Mutate offspring that repeat a visited genome until they are new, in place.

    An offspring whose genome was already visited by the search (or repeats
    an earlier offspring of the same generation) would only replay a known
    result; it is mutated again with ``toolbox.mutate`` up to ``max_tries``
    times, and if it still repeats one, replaced by a fresh random
    individual (``toolbox.individual``; a random immigrant, Grefenstette
    1992) up to ``max_tries`` times more, before the repeat is accepted. In a
    small discrete space (the 436 networks of the CIFAR-10 space) a converged
    population breeds mostly repeats that no mutation of one gene escapes;
    without immigrants the GA would stop training new candidates after a
    few generations. Its fitness is invalidated, so it is evaluated. Uses
    the toolbox's seeded random streams, so a resumed search replays it
    exactly.

    Parameters
    ----------
    offspring : list of Individual
    toolbox : deap.base.Toolbox
        Must provide ``mutate`` and ``individual``.
    key : callable
        Individual to the key of its genome.
    seen : set of str
        Keys visited so far; not modified.
    max_tries : int
        Mutations, then random draws, tried per offspring before a repeat is accepted.
    """
    batch: set[str] = set()
    for ind in offspring:
        tries = 0
        while key(ind) in seen or key(ind) in batch:
            if tries == 2 * max_tries:
                break
            if tries < max_tries:
                toolbox.mutate(ind)
            else:
                ind[:] = toolbox.individual()
            if ind.fitness.valid:
                del ind.fitness.values
            tries += 1
        batch.add(key(ind))
