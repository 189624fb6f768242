"""Genetic search over graph-prior genomes, with a predictor that skips poor offspring.

The search follows Stier, Darji & Granitzer (2021): a genetic algorithm
(DEAP) evolves genomes; each candidate's structural features go to a
predictor fitted on the run's trained records, and offspring predicted well
below the population (:class:`~nasprior.predictors.SkipRule`) are logged as
skipped instead of trained. Every evaluation is appended to the run's record
log, and a resumed run replays the seeded GA, reading the outcome of every
candidate already logged instead of training it again.

Algorithm (a (μ + λ) GA): generation 0 is ``population`` random individuals;
each later generation draws ``population`` parents by tournament (size 3),
applies uniform crossover (probability ``cxpb``) and bounded polynomial
mutation (probability ``mutpb``) with DEAP's operators, evaluates the
offspring, and keeps the best ``population`` of parents and offspring.

Seams (DEAP toolbox entries, see :func:`make_toolbox`): ``evaluate`` trains
one genome (:class:`~nasprior.evaluation.Evaluator`), ``map`` applies it to
the genomes of a generation (the builtin ``map``; a parallel map plugs in
here), ``select`` draws parents and ``replace`` keeps the survivors; the
fitness has one weight per objective of the config.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
from deap import algorithms, base, tools
from deap.tools import crossover, emo, mutation, selection

from ..evaluation import CANDIDATE_FEATURES, Evaluation, Evaluator
from ..genome import Genome, describe
from ..nnstd import population_diversity
from ..parallel import DaskMap, EvaluatorSpec, RemoteTrain
from ..predictors import Predictor, PredictorLike, RunPredictor, SkipRule
from ..records import RECORDS_FILE, RecordLog, create_run_dir, status_text, write_config
from ..space import SearchSpace
from ..tasks import TaskData, load_task
from ..training import TrainConfig
from .config import SearchConfig, SearchResult

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


def save_best(best_dir: Path, net: torch.nn.Module, genome: Genome, record: dict) -> None:
    """Write the best network's weights (``model.pt``), genome and record to ``best_dir``."""
    best_dir.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), best_dir / "model.pt.tmp")
    (best_dir / "model.pt.tmp").replace(best_dir / "model.pt")
    (best_dir / "genome.json").write_text(genome.to_json() + "\n", encoding="utf-8")
    (best_dir / "record.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def fitness_of(record: dict) -> float:
    """Fitness the GA gives a record: validation accuracy, the prediction if skipped, 0 if failed."""
    metrics = record.get("metrics", {})
    if record["status"] == "trained":
        return float(metrics["val_acc"])
    if record["status"] == "skipped":
        return float(metrics["predicted_val_acc"])
    return 0.0


def make_toolbox(space: SearchSpace, rng: random.Random, config: SearchConfig | None = None,
                 evaluate: Callable[[tuple[Genome, dict]], Evaluation] | None = None) -> base.Toolbox:
    """DEAP toolbox of a search.

    Registers ``individual`` and ``population`` (uniform random individuals
    from ``rng``), ``mate`` (uniform crossover), ``mutate`` (bounded
    polynomial mutation), ``select`` (tournament of 3), ``replace`` (the best
    of parents and offspring), ``map`` (the builtin ``map``) and, when given,
    ``evaluate`` (a ``(genome, features)`` pair to an
    :class:`~nasprior.evaluation.Evaluation`).
    """
    fitness_cls = fitness_class(config.weights if config is not None else (1.0,))
    toolbox = base.Toolbox()
    toolbox.register("individual", lambda: Individual(space.random_individual(rng), fitness_cls))
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxUniform, indpb=0.5)
    toolbox.register("mutate", tools.mutPolynomialBounded, eta=15.0, low=0.0, up=1.0,
                     indpb=2.0 / len(space.gene_order))
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("replace", tools.selBest)
    toolbox.register("map", map)
    if evaluate is not None:
        toolbox.register("evaluate", evaluate)
    return toolbox


class GeneticSearch:
    """One run of the GA: its record log, resume cache, skip decisions, best network and summaries.

    Parameters
    ----------
    config : SearchConfig
    run_dir : pathlib.Path
    data : TaskData
    previous : list of dict
        Records already logged (a resumed run).
    log : callable
        Receives one line of progress text at a time.
    client : distributed.Client, optional
        Train candidates as futures on this Dask client (:mod:`nasprior.parallel`); records stay here.
    """

    def __init__(self, config: SearchConfig, run_dir: Path, data: TaskData, previous: list[dict],
                 log: Callable[[str], None], client: Any = None):
        self.config, self.run_dir, self.data, self.log = config, run_dir, data, log
        self.record_log = RecordLog(run_dir / RECORDS_FILE)
        self.space = SearchSpace.from_dict(config.space)
        self.rule = SkipRule(**config.skip)
        self.evaluator = Evaluator(data, TrainConfig(**config.train), config.run_id, config.seed, fidelity="screen")
        self.records: list[dict] = list(previous)
        self.cache: dict[str, dict] = {}
        for record in previous:
            self.cache.setdefault(record["key"], record)
        trained = [r for r in previous if r["status"] == "trained"]
        self.best_val_acc = max((r["metrics"]["val_acc"] for r in trained), default=-1.0)
        self.predictor = RunPredictor(CANDIDATE_FEATURES, seed=config.seed)
        self.stored: Predictor | None = Predictor.load(config.predictor) if config.predictor else None
        self.seen: set[str] = set()  # keys visited so far (the same when a resumed run replays the GA)
        self.summaries: list[dict] = []
        self.start = time.perf_counter()
        random.seed(config.seed)  # DEAP's operators draw from the global random module, which Dask's and
        ga_random = random.Random(config.seed)  # tornado's threads draw from too: give DEAP a stream of its own
        for module in (algorithms, crossover, emo, mutation, selection):  # (the same draws as the seeded global one)
            module.random = ga_random
        self.toolbox = make_toolbox(self.space, random.Random(config.seed), config,
                                    lambda candidate: self.evaluator.train(*candidate))
        if client is not None:  # workers load the task once each and train; the client logs
            self.toolbox.register("map", DaskMap(client, log))
            self.toolbox.register("evaluate", RemoteTrain(EvaluatorSpec.make(
                config.task, config.data_dir, config.download, config.seed, config.train, config.run_id, config.seed, "screen")))

    # -- skip decisions ------------------------------------------------------
    def skip_source(self, population_fitness: list[float] | None, generation: int | None = None
                    ) -> tuple[PredictorLike | None, str]:
        """The predictor that may skip offspring now (the run's own, else the stored one), and its name.

        The run's predictor is fitted on the records of the generations before ``generation`` only, so
        a run resumed in the middle of a generation makes the same decisions as an uninterrupted one.
        """
        if not (population_fitness and self.rule.enabled):
            return None, ""
        earlier = [r for r in self.records if generation is None or (r.get("generation") or 0) < generation]
        if sum(r["status"] == "trained" for r in earlier) >= self.rule.warmup:
            self.predictor.fit(earlier)
            if self.predictor.cv_r2_ >= self.rule.min_r2:
                return self.predictor, "run"
            if self.stored is None:
                self.log(f"  predictor: CV R2 {self.predictor.cv_r2_:.3f} < min_r2 {self.rule.min_r2}: "
                         "training every offspring")
        if self.stored is not None:
            if self.stored.cv_r2_ >= self.rule.min_r2:
                return self.stored, self.config.predictor
            self.log(f"  stored predictor: CV R2 {self.stored.cv_r2_:.3f} < min_r2 {self.rule.min_r2}: "
                     "training every offspring")
        return None, ""

    def decide_skips(self, features: dict[str, dict], population_fitness: list[float] | None,
                     generation: int | None = None) -> tuple[dict[str, float], PredictorLike | None, str]:
        """Keys of the new genomes to skip with their predictions, the predictor used and its name."""
        source, name = self.skip_source(population_fitness, generation) if features else (None, "")
        if source is None:
            return {}, None, name
        keys = list(features)
        predicted = source.predict([features[k] for k in keys])
        threshold = self.rule.threshold(population_fitness)
        skips = {k: float(p) for k, p in zip(keys, predicted) if p < threshold}
        trained_on = f"{self.predictor.n_train_} trained" if source is self.predictor else f"stored {name}"
        self.log(f"  predictor: CV R2 {source.cv_r2_:.3f} on {trained_on}; "
                 f"skip below {threshold:.4f}: {len(skips)} of {len(keys)} offspring skipped")
        return skips, source, name

    # -- evaluation of a generation ----------------------------------------------
    def evaluate(self, individuals: list[Individual], generation: int, population_fitness: list[float] | None) -> None:
        """Evaluate the new genomes of ``individuals`` (skip, train or replay from the log) and set their fitness."""
        genomes = [self.space.decode(ind) for ind in individuals]
        self.seen.update(g.key for g in genomes)
        new: dict[str, Genome] = {}
        for genome in genomes:
            if genome.key not in self.cache and genome.key not in new:
                new[genome.key] = genome
        features = {key: self.evaluator.features(g) for key, g in new.items()}
        skips, source, source_name = self.decide_skips(features, population_fitness, generation)
        to_train = [(g, features[k]) for k, g in new.items() if k not in skips]
        trained = iter(self.toolbox.map(self.toolbox.evaluate, to_train))
        for i, (key, genome) in enumerate(new.items(), start=1):
            if key in skips:
                record = self.evaluator.record(
                    genome, "skipped", features[key],
                    {"val_acc": None, "test_acc": None, "predicted_val_acc": skips[key],
                     "predictor_cv_r2": source.cv_r2_}, generation, extra={"predictor": source_name},
                )
            else:
                evaluation = next(trained)
                record = {**evaluation.record, "generation": generation}
                self.keep_if_best(genome, record, evaluation.network)
            self.record_log.append(record)
            self.records.append(record)
            self.cache[key] = record
            self.log(f"  [gen {generation}] {i}/{len(new)} {describe(genome)}: {status_text(record)}")
        for ind, genome in zip(individuals, genomes):
            ind.fitness.values = (fitness_of(self.cache[genome.key]),)

    def keep_if_best(self, genome: Genome, record: dict, network: torch.nn.Module | None) -> None:
        """Save the network to ``best/`` if it has the best validation accuracy so far."""
        if record["status"] == "trained" and record["metrics"]["val_acc"] > self.best_val_acc:
            self.best_val_acc = record["metrics"]["val_acc"]
            save_best(self.run_dir / "best", network, genome, record)

    def summarise(self, generation: int, population: list[Individual]) -> None:
        """Log and keep the summary of a generation."""
        gen_records = [r for r in self.records if r.get("generation") == generation]
        fits = [ind.fitness.values[0] for ind in population]
        summary = {
            "generation": generation,
            "best_val_acc": max(fits),
            "median_val_acc": statistics.median(fits),
            "n_trained": sum(r["status"] == "trained" for r in gen_records),
            "n_skipped": sum(r["status"] == "skipped" for r in gen_records),
            "elapsed_s": round(time.perf_counter() - self.start, 1),
        }
        diversity, n_compared = layered_diversity([self.space.decode(ind) for ind in population], self.evaluator)
        summary.update(nnstd_diversity=diversity, n_diversity=n_compared)
        self.summaries.append(summary)
        text = f", NNSTD diversity {diversity:.3f} over {n_compared} layered" if n_compared else ""
        self.log(f"generation {generation}: best {summary['best_val_acc']:.4f}, median {summary['median_val_acc']:.4f}, "
                 f"trained {summary['n_trained']}, skipped {summary['n_skipped']}{text}, elapsed {summary['elapsed_s']:.0f} s")

    # -- the GA ------------------------------------------------------------------
    def run(self) -> SearchResult:
        """Run the generations and return the result."""
        config, toolbox, space = self.config, self.toolbox, self.space
        hall = tools.HallOfFame(5)

        def trained(inds: list[Individual]) -> list[Individual]:
            return [ind for ind in inds if self.cache[space.decode(ind).key]["status"] == "trained"]

        population = toolbox.population(n=config.population)
        self.log(f"generation 0: evaluating {config.population} random candidates")
        self.evaluate(population, 0, None)
        hall.update(trained(population))
        self.summarise(0, population)
        for generation in range(1, config.generations + 1):
            parents = toolbox.select(population, len(population))
            offspring = algorithms.varAnd([toolbox.clone(p) for p in parents], toolbox, config.cxpb, config.mutpb)
            make_unique(offspring, toolbox, lambda ind: space.decode(ind).key, self.seen)
            invalid = [ind for ind in offspring if not ind.fitness.valid]
            self.log(f"generation {generation}: evaluating {len(invalid)} offspring")
            self.evaluate(invalid, generation, [ind.fitness.values[0] for ind in population])
            hall.update(trained(offspring))
            population = toolbox.replace(population + offspring, config.population)
            self.summarise(generation, population)
        done = [r for r in self.records if r["status"] == "trained"]
        return SearchResult(
            run_dir=self.run_dir, best=max(done, key=lambda r: r["metrics"]["val_acc"], default=None),
            n_trained=len(done), n_skipped=sum(r["status"] == "skipped" for r in self.records),
            n_failed=sum(r["status"] == "failed" for r in self.records),
            generations=self.summaries, hall_of_fame=[self.cache[space.decode(ind).key] for ind in hall],
        )


def run_search(
    config: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    data: TaskData | None = None,
    log: Callable[[str], None] = print,
    client: Any = None,
) -> SearchResult:
    """Run (or resume) a genetic search and log every candidate.

    Parameters
    ----------
    config : SearchConfig
    run_dir : path-like
        The run directory (``runs/<run-id>``); created if new. A new run
        refuses a directory that exists and is not empty.
    resume : bool
        Continue the run in ``run_dir``: candidates already in its record log
        are not evaluated again.
    data : TaskData, optional
        Preloaded task data (else loaded from ``config.data_dir``).
    log : callable
        Receives one line of progress text at a time.
    client : distributed.Client, optional
        Evaluate candidates on this Dask client (:func:`nasprior.parallel.start_client`);
        the records equal a single-process run with one torch thread.

    Returns
    -------
    SearchResult

    Raises
    ------
    RecordError
        If ``run_dir`` already holds files and ``resume`` is False, cannot be
        written, or its record log is unreadable.
    DataError
        If the task's data set is missing or corrupt.
    """
    run_dir = Path(run_dir)
    if resume:
        previous = RecordLog(run_dir / RECORDS_FILE).read()
    else:
        create_run_dir(run_dir)  # refuses a non-empty directory before any data is loaded
        previous = []
    if data is None:
        data = load_task(config.task, config.data_dir, seed=config.seed, download=config.download)
    if not resume:
        write_config(run_dir, config.to_dict())
    search = GeneticSearch(config, run_dir, data, previous, log, client)
    if search.stored is not None:
        log(f"stored predictor {config.predictor}: CV R2 {search.stored.cv_r2_:.3f} "
            f"({search.stored.card['n_train']} trained records)")
    if resume:
        log(f"resuming {run_dir}: {len(previous)} candidates already logged")
    return search.run()


def make_unique(offspring: list[Individual], toolbox: base.Toolbox, key: Callable[[Individual], str],
                seen: set[str], max_tries: int = 20) -> None:
    """Mutate offspring that repeat a visited genome until they are new, in place.

    An offspring whose genome was already visited by the search (or repeats
    an earlier offspring of the same generation) would only replay a known
    result; it is mutated again with ``toolbox.mutate`` up to ``max_tries``
    times. Its fitness is invalidated, so it is evaluated. Uses DEAP's
    (seeded) global random state, so a resumed search replays it exactly.

    Parameters
    ----------
    offspring : list of Individual
    toolbox : deap.base.Toolbox
        Must provide ``mutate``.
    key : callable
        Individual to the key of its genome.
    seen : set of str
        Keys visited so far; not modified.
    max_tries : int
        Mutations tried per offspring before a repeat is accepted.
    """
    batch: set[str] = set()
    for ind in offspring:
        tries = 0
        while key(ind) in seen or key(ind) in batch:
            if tries == max_tries:
                break
            toolbox.mutate(ind)
            del ind.fitness.values
            tries += 1
        batch.add(key(ind))


def layered_diversity(genomes: list[Genome], evaluator: Evaluator, max_networks: int = 8) -> tuple[float | None, int]:
    """Topological diversity of a population: mean pairwise NNSTD (Liu et al. 2020).

    NNSTD compares networks of equal layer widths, so the measure is taken
    over the distinct layered genomes of the population's commonest shape
    (``n_layers``, ``width``), at most ``max_networks`` of them, on the masks
    of their hidden layers.

    Returns
    -------
    diversity : float or None
        In [0, 1]: 0 when the networks are equal up to a permutation of
        hidden units, 1 when no two matched units share an input; None when
        fewer than two layered networks share a shape.
    n_networks : int
        Networks compared (0 when none).
    """
    groups: dict[tuple[int, int], dict[str, Genome]] = {}
    for genome in genomes:
        if genome.mapping == "layered":
            groups.setdefault((genome.n_layers, genome.width), {})[genome.key] = genome
    members = list(max(groups.values(), key=len, default={}).values())[:max_networks]
    if len(members) < 2:
        return None, 0
    masks = [[layer.mask.numpy() for layer in evaluator.build(g).layers] for g in members]
    return population_diversity(masks), len(masks)
