"""Genetic search over graph-prior genomes, with a predictor that skips poor offspring.

The search follows Stier, Darji & Granitzer (2021): a genetic algorithm
(DEAP) evolves genomes; each candidate's structural features go to a
predictor fitted on the run's trained records, and offspring predicted well
below the population (:class:`~nasprior.predictor.SkipRule`) are logged as
skipped instead of trained. Every evaluation is appended to the run's record
log, and a resumed run replays the seeded GA, reading the outcome of every
candidate already logged instead of training it again.

Algorithm (a (μ + λ) GA): generation 0 is ``population`` random individuals;
each later generation draws ``population`` parents by tournament (size 3),
applies uniform crossover (probability ``cxpb``) and bounded polynomial
mutation (probability ``mutpb``) with DEAP's operators, evaluates the
offspring, and keeps the best ``population`` of parents and offspring.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from deap import algorithms, base, tools

from .bipartite import TOPOLOGY_SCORE_NAMES, network_topology_scores
from .errors import ConfigError, RecordError
from .features import FEATURE_NAMES, structural_features
from .genome import Genome
from .networks import SIZE_FEATURE_NAMES, build_network, size_features
from .predictor import RunPredictor, SkipRule
from .priors import make_graph
from .records import RECORDS_FILE, RecordLog, make_record, read_config, write_config
from .space import GENE_ORDER, SearchSpace
from .tasks import TaskData, check_task, load_task
from .training import TrainConfig, accuracy, train

#: Columns of the run predictor: structural features and network size.
PREDICTOR_FEATURES = tuple(FEATURE_NAMES) + SIZE_FEATURE_NAMES + TOPOLOGY_SCORE_NAMES


class Fitness(base.Fitness):
    """Single objective: validation accuracy, maximised."""

    weights = (1.0,)


class Individual(list):
    """An encoded genome (floats in [0, 1], order :data:`nasprior.space.GENE_ORDER`) with a fitness."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.fitness = Fitness()


@dataclass
class SearchConfig:
    """Everything a search needs; stored as the run's ``config.json``.

    Parameters
    ----------
    task : str
        ``"cifar10"``, ``"mnist"`` or ``"digits"``.
    space : dict
        The search space tables (see :class:`~nasprior.space.SearchSpace`).
    population : int
        Individuals per generation (μ = λ), >= 2.
    generations : int
        Generations after the initial one, >= 0.
    train : dict
        :class:`~nasprior.training.TrainConfig` fields (the budget).
    skip : dict
        :class:`~nasprior.predictor.SkipRule` fields.
    cxpb, mutpb : float
        Crossover and mutation probabilities, in [0, 1].
    seed : int
        Seed of the GA, the validation split and weight initialisation.
    data_dir : str, optional
        Where the data sets live.
    download : bool
        Fetch a missing data set from its official source.
    run_id : str
    predictor : str, optional
        Directory of a stored predictor (``nasprior predictor fit``) used to
        skip offspring from the first generation on, while the run's own
        predictor is not warm or falls below ``min_r2``.
    """

    task: str
    space: dict
    population: int = 10
    generations: int = 5
    train: dict = field(default_factory=dict)
    skip: dict = field(default_factory=dict)
    cxpb: float = 0.5
    mutpb: float = 0.5
    seed: int = 0
    data_dir: str | None = None
    download: bool = False
    run_id: str = ""
    predictor: str | None = None

    def __post_init__(self) -> None:
        check_task(self.task)
        if self.population < 2:
            raise ConfigError(f"population = {self.population} is too small: use at least 2")
        if self.generations < 0:
            raise ConfigError(f"generations = {self.generations} is invalid: use 0 or more")
        for name in ("cxpb", "mutpb"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} = {getattr(self, name)} is invalid: use a probability in [0, 1]")
        # Validate eagerly so a bad option fails before any data is loaded.
        SearchSpace.from_dict(self.space)
        TrainConfig(**self.train)
        SkipRule(**self.skip)
        if self.predictor:
            from .predictors import Predictor

            fitted_on = Predictor.load(self.predictor).task["name"]
            if fitted_on != self.task:
                raise ConfigError(f"predictor {self.predictor} was fitted on task {fitted_on!r}, not {self.task!r}: "
                                  f"use one fitted on {self.task} runs, or leave out --predictor")

    def to_dict(self) -> dict:
        """JSON-able dict of the config."""
        return asdict(self)


@dataclass
class SearchResult:
    """Outcome of :func:`run_search`.

    Attributes
    ----------
    run_dir : pathlib.Path
    best : dict or None
        Record of the trained candidate with the highest validation accuracy.
    n_trained, n_skipped, n_failed : int
        Candidates evaluated in the whole run (resumed parts included).
    generations : list of dict
        Per-generation summary: ``generation``, ``best_val_acc``,
        ``median_val_acc``, ``n_trained``, ``n_skipped``, ``elapsed_s``,
        ``nnstd_diversity`` and ``n_diversity`` (:func:`layered_diversity`).
    hall_of_fame : list of dict
        Records of the best trained candidates, best first.
    """

    run_dir: Path
    best: dict | None
    n_trained: int
    n_skipped: int
    n_failed: int
    generations: list[dict]
    hall_of_fame: list[dict]


class Evaluator:
    """Turns genomes into records: features, skip decision, training.

    Parameters
    ----------
    data : TaskData
    train_config : TrainConfig
    run_id : str
    seed : int
        Seed of weight initialisation (the same for every candidate).
    best_dir : pathlib.Path
        Where the best network's weights, genome and record are written.
    """

    def __init__(self, data: TaskData, train_config: TrainConfig, run_id: str, seed: int, best_dir: Path):
        self.data, self.train_config, self.run_id, self.seed = data, train_config, run_id, seed
        self.best_dir = best_dir
        self.best_val_acc = -1.0

    def features(self, genome: Genome) -> dict[str, float]:
        """Structural features of the genome's graph, size features and data-free topology scores of its network.

        The topology scores (:func:`~nasprior.bipartite.network_topology_scores`)
        come from the network's masks, for every prior alike.
        """
        graph = make_graph(genome)
        net = self.build(genome, graph=graph)
        return {**structural_features(graph), **size_features(net), **network_topology_scores(net)}

    def build(self, genome: Genome, graph: Any = None) -> torch.nn.Module:
        """The genome's network for this task: feedforward, or recurrent for a sequence task.

        Sequence tasks (``data.vocab_size > 0``, e.g. ``reber``) get a
        :class:`~nasprior.recurrent.RecurrentGraphNetwork` whose cell is
        ``genome.cell`` (Stier et al. 2021); others :func:`~nasprior.networks.build_network`.
        """
        if self.data.vocab_size:
            from .recurrent import build_recurrent_network

            return build_recurrent_network(genome, self.data.vocab_size, self.data.n_classes, graph=graph)
        return build_network(genome, self.data.n_inputs, self.data.n_classes, graph=graph)

    def record(self, genome: Genome, status: str, features: dict, metrics: dict, generation: int, **kw: Any) -> dict:
        """Build a record of this run for ``genome``."""
        return make_record(
            run_id=self.run_id, genome=genome, task=self.data.name, status=status, features=features,
            metrics=metrics, generation=generation, seed=self.seed, train=self.train_config.to_dict(), **kw,
        )

    def train(self, genome: Genome, features: dict, generation: int) -> dict:
        """Train a candidate and return its record (status ``trained`` or ``failed``)."""
        start = time.perf_counter()
        try:
            torch.manual_seed(self.seed)
            net = self.build(genome)
            d = self.data
            result = train(net, d.x_train, d.y_train, d.x_val, d.y_val, self.train_config, d.x_test, d.y_test)
            metrics = {"val_acc": result.val_acc, "test_acc": result.test_acc}
            for group, mask in d.test_groups.items():  # e.g. Reber: test_acc_hard_neg, test_acc_pos, test_acc_soft_neg
                metrics[f"test_acc_{group}"] = accuracy(net, d.x_test[mask], d.y_test[mask])
        except (RuntimeError, ValueError, MemoryError) as exc:  # a candidate that cannot train is logged, not fatal
            return self.record(
                genome, "failed", features, {"val_acc": None, "test_acc": None}, generation,
                wall_time_s=time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
            )
        record = self.record(
            genome, "trained", features, metrics, generation,
            curve=result.curve, wall_time_s=time.perf_counter() - start,
            extra={"epochs_run": result.epochs_run, "train_time_s": round(result.train_time_s, 4)},
        )
        if result.val_acc > self.best_val_acc:
            self.best_val_acc = result.val_acc
            save_best(self.best_dir, net, genome, record)
        return record


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


def make_toolbox(space: SearchSpace, rng: random.Random) -> base.Toolbox:
    """DEAP toolbox: random individuals, uniform crossover, bounded polynomial mutation, tournament."""
    toolbox = base.Toolbox()
    toolbox.register("individual", lambda: Individual(space.random_individual(rng)))
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxUniform, indpb=0.5)
    toolbox.register("mutate", tools.mutPolynomialBounded, eta=15.0, low=0.0, up=1.0, indpb=2.0 / len(GENE_ORDER))
    toolbox.register("select", tools.selTournament, tournsize=3)
    return toolbox


def run_search(
    config: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    data: TaskData | None = None,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Run (or resume) a genetic search and log every candidate.

    Parameters
    ----------
    config : SearchConfig
    run_dir : path-like
        The run directory (``runs/<run-id>``); created if new.
    resume : bool
        Continue the run in ``run_dir``: candidates already in its record log
        are not evaluated again.
    data : TaskData, optional
        Preloaded task data (else loaded from ``config.data_dir``).
    log : callable
        Receives one line of progress text at a time.

    Returns
    -------
    SearchResult

    Raises
    ------
    RecordError
        If ``run_dir`` already holds a run and ``resume`` is False, or its
        record log is unreadable.
    DataError
        If the task's data set is missing or corrupt.
    """
    run_dir = Path(run_dir)
    record_log = RecordLog(run_dir / RECORDS_FILE)
    if not resume and (run_dir / RECORDS_FILE).exists():
        raise RecordError(f"{run_dir} already holds a run: resume it with --resume {run_dir}, or choose another --run-id")
    previous = record_log.read() if resume else []
    if data is None:  # before anything is written: a missing data set leaves no empty run behind
        data = load_task(config.task, config.data_dir, seed=config.seed, download=config.download)
    if not resume:
        write_config(run_dir, config.to_dict())
    cache: dict[str, dict] = {}
    for record in previous:
        cache.setdefault(record["key"], record)
    space = SearchSpace.from_dict(config.space)
    train_config = TrainConfig(**config.train)
    rule = SkipRule(**config.skip)
    evaluator = Evaluator(data, train_config, config.run_id, config.seed, run_dir / "best")
    trained_before = [r for r in previous if r["status"] == "trained"]
    if trained_before:
        evaluator.best_val_acc = max(r["metrics"]["val_acc"] for r in trained_before)
    records: list[dict] = list(previous)
    predictor = RunPredictor(PREDICTOR_FEATURES, seed=config.seed)
    stored = None
    if config.predictor:  # a fitted predictor (nasprior.predictors) skips until the run's own one is usable
        from .predictors import Predictor

        stored = Predictor.load(config.predictor)  # its task was checked by SearchConfig
        log(f"stored predictor {config.predictor}: CV R2 {stored.cv_r2_:.3f} ({stored.card['n_train']} trained records)")
    if resume:
        log(f"resuming {run_dir}: {len(previous)} candidates already logged")

    random.seed(config.seed)  # DEAP's operators draw from the global random module
    rng = random.Random(config.seed)
    toolbox = make_toolbox(space, rng)
    hall = tools.HallOfFame(5)
    start = time.perf_counter()
    summaries: list[dict] = []

    seen: set[str] = set()  # keys visited by this search so far (the same when a resumed run replays it)

    def evaluate(individuals: list[Individual], generation: int, population_fitness: list[float] | None) -> None:
        genomes = [space.decode(ind) for ind in individuals]
        seen.update(g.key for g in genomes)
        new: dict[str, Genome] = {}
        for genome in genomes:
            if genome.key not in cache and genome.key not in new:
                new[genome.key] = genome
        features = {key: evaluator.features(g) for key, g in new.items()}
        n_trained_so_far = sum(r["status"] == "trained" for r in records)
        skip_keys: dict[str, float] = {}
        source, source_name = None, "run"
        if new and population_fitness and rule.enabled and n_trained_so_far >= rule.warmup:
            predictor.fit(records)
            if predictor.cv_r2_ >= rule.min_r2:
                source = predictor
            elif stored is None:
                log(f"  predictor: CV R2 {predictor.cv_r2_:.3f} < min_r2 {rule.min_r2}: training every offspring")
        if source is None and stored is not None and new and population_fitness and rule.enabled:
            if stored.cv_r2_ >= rule.min_r2:
                source, source_name = stored, config.predictor
            else:
                log(f"  stored predictor: CV R2 {stored.cv_r2_:.3f} < min_r2 {rule.min_r2}: training every offspring")
        if source is not None:
            keys = list(new)
            predicted = source.predict([features[k] for k in keys])
            threshold = rule.threshold(population_fitness)
            skip_keys = {k: float(p) for k, p in zip(keys, predicted) if p < threshold}
            trained_on = f"{predictor.n_train_} trained" if source is predictor else f"stored {source_name}"
            log(f"  predictor: CV R2 {source.cv_r2_:.3f} on {trained_on}; "
                f"skip below {threshold:.4f}: {len(skip_keys)} of {len(keys)} offspring skipped")
        for i, (key, genome) in enumerate(new.items(), start=1):
            if key in skip_keys:
                record = evaluator.record(
                    genome, "skipped", features[key],
                    {"val_acc": None, "test_acc": None, "predicted_val_acc": skip_keys[key],
                     "predictor_cv_r2": source.cv_r2_}, generation, extra={"predictor": source_name},
                )
            else:
                record = evaluator.train(genome, features[key], generation)
            record_log.append(record)
            records.append(record)
            cache[key] = record
            log(f"  [gen {generation}] {i}/{len(new)} {describe(genome, bool(data.vocab_size))}: {status_text(record)}")
        for ind, genome in zip(individuals, genomes):
            ind.fitness.values = (fitness_of(cache[genome.key]),)

    def summarise(generation: int, population: list[Individual]) -> None:
        gen_records = [r for r in records if r.get("generation") == generation]
        fits = [ind.fitness.values[0] for ind in population]
        summary = {
            "generation": generation,
            "best_val_acc": max(fits),
            "median_val_acc": statistics.median(fits),
            "n_trained": sum(r["status"] == "trained" for r in gen_records),
            "n_skipped": sum(r["status"] == "skipped" for r in gen_records),
            "elapsed_s": round(time.perf_counter() - start, 1),
        }
        diversity, n_compared = layered_diversity([space.decode(ind) for ind in population], evaluator)
        summary.update(nnstd_diversity=diversity, n_diversity=n_compared)
        summaries.append(summary)
        text = f", NNSTD diversity {diversity:.3f} over {n_compared} layered" if n_compared else ""
        log(f"generation {generation}: best {summary['best_val_acc']:.4f}, median {summary['median_val_acc']:.4f}, "
            f"trained {summary['n_trained']}, skipped {summary['n_skipped']}{text}, elapsed {summary['elapsed_s']:.0f} s")

    population = toolbox.population(n=config.population)
    log(f"generation 0: evaluating {config.population} random candidates")
    evaluate(population, 0, None)
    hall.update([ind for ind in population if cache[space.decode(ind).key]["status"] == "trained"])
    summarise(0, population)
    for generation in range(1, config.generations + 1):
        parents = toolbox.select(population, len(population))
        offspring = algorithms.varAnd([toolbox.clone(p) for p in parents], toolbox, config.cxpb, config.mutpb)
        make_unique(offspring, toolbox, lambda ind: space.decode(ind).key, seen)
        invalid = [ind for ind in offspring if not ind.fitness.valid]
        log(f"generation {generation}: evaluating {len(invalid)} offspring")
        evaluate(invalid, generation, [ind.fitness.values[0] for ind in population])
        hall.update([ind for ind in offspring if cache[space.decode(ind).key]["status"] == "trained"])
        population = tools.selBest(population + offspring, config.population)
        summarise(generation, population)

    trained = [r for r in records if r["status"] == "trained"]
    best = max(trained, key=lambda r: r["metrics"]["val_acc"], default=None)
    fame = [cache[space.decode(ind).key] for ind in hall]
    return SearchResult(
        run_dir=run_dir, best=best, n_trained=len(trained),
        n_skipped=sum(r["status"] == "skipped" for r in records),
        n_failed=sum(r["status"] == "failed" for r in records),
        generations=summaries, hall_of_fame=fame,
    )


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
    from .nnstd import population_diversity

    groups: dict[tuple[int, int], dict[str, Genome]] = {}
    for genome in genomes:
        if genome.mapping == "layered":
            groups.setdefault((genome.n_layers, genome.width), {})[genome.key] = genome
    members = list(max(groups.values(), key=len, default={}).values())[:max_networks]
    if len(members) < 2:
        return None, 0
    masks = [[layer.mask.numpy() for layer in evaluator.build(g).layers] for g in members]
    return population_diversity(masks), len(masks)


def describe(genome: Genome, recurrent: bool = False) -> str:
    """Short text of a genome for progress lines (with its cell type when ``recurrent``)."""
    params = {"gnp": f"n={genome.n_nodes} p={genome.p:.3f}", "watts_strogatz": f"n={genome.n_nodes} k={genome.k} p={genome.p:.2f}",
              "barabasi_albert": f"n={genome.n_nodes} m={genome.m}", "complete": f"n={genome.n_nodes}",
              "radixnet": f"radix={genome.radix}", "expander": f"degree={genome.degree}",
              "er_set": f"epsilon={genome.epsilon:.1f}"}.get(genome.prior, "")
    shape = f"{genome.n_layers}x{genome.width}" if genome.mapping == "layered" else "graph"
    cell = f" {genome.cell}" if recurrent else ""
    return f"{genome.key[:8]} {genome.prior}({params}) {shape}{cell}"


def status_text(record: dict) -> str:
    """Short text of a record's outcome for progress lines.

    Shows validation accuracy only: test accuracy stays in the record and in
    the final report of the best candidate, so nobody selects on it by eye.
    """
    m = record["metrics"]
    if record["status"] == "trained":
        return (f"val {m['val_acc']:.4f}, {int(record['features']['n_weights'])} weights, "
                f"{record['wall_time_s']:.1f} s")
    if record["status"] == "skipped":
        return f"skipped (predicted val {m['predicted_val_acc']:.4f})"
    return "failed: " + (record.get("error") or "").splitlines()[0]
