"""Genetic search over graph-prior genomes, with a predictor that skips poor offspring.

The search follows Stier, Darji & Granitzer (2021): a genetic algorithm
(DEAP) evolves genomes; each candidate's structural features go to a
predictor fitted on the run's trained records, and offspring predicted well
below the population (:class:`~nasprior.predictors.SkipRule`) are logged as
skipped instead of trained. Every evaluation is appended to the run's record
log, and a resumed run replays the seeded GA, reading the outcome of every
candidate already logged instead of training it again.

Algorithm (a (μ + λ) GA): generation 0 is ``population`` random individuals
(with a usable stored predictor and a predictor strategy, the ``population``
it ranks best of ``initial_factor`` times as many random ones); each later
generation draws ``population`` parents by tournament (size 3), applies
uniform crossover (probability ``cxpb``) and bounded polynomial
mutation (probability ``mutpb``) with DEAP's operators, evaluates the
offspring, and keeps the best ``population`` of parents and offspring.

Strategies (:attr:`SearchConfig.strategy <nasprior.search.SearchConfig.strategy>`):
``ga-skip`` (above), ``ga`` (every offspring trained), ``ga-screen`` (breed
``screen_factor`` × λ offspring, train the λ the predictor ranks best; White
et al. 2021) and ``random`` (λ fresh random candidates per generation).

Several objectives (accuracy with non-zero weights and/or FLOPs) make it
NSGA-II (Deb et al. 2002): survivors by :func:`deap.tools.selNSGA2`, parents
by binary tournaments on Pareto rank and crowding distance
(:func:`select_pareto_tournament`); the trained candidates' Pareto front is
kept (:class:`deap.tools.ParetoFront`) and saved as ``pareto.json``.

Seams (DEAP toolbox entries, see :func:`make_toolbox`): ``evaluate`` trains
one genome (:class:`~nasprior.evaluation.Evaluator`), ``map`` applies it to
the genomes of a generation (the builtin ``map``; a parallel map plugs in
here), ``select`` draws parents and ``replace`` keeps the survivors; the
fitness has one weight per objective of the config.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Deb2002] K. Deb, A. Pratap, S. Agarwal and T. Meyarivan, "A fast and
   elitist multiobjective genetic algorithm: NSGA-II", IEEE Trans.
   Evolutionary Computation 6(2), 2002.
.. [White2021] C. White, A. Zela, R. Ru, Y. Liu and F. Hutter, "How powerful
   are performance predictors in neural architecture search?", NeurIPS 2021.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from deap import algorithms, tools
from deap.tools import crossover, emo, mutation, selection
from sklearn.metrics import r2_score

from ..compute.parallel import DaskMap, EvaluatorSpec, RemoteTrain
from ..compute.progress import SearchProgress
from ..evaluation import CANDIDATE_FAILURES, CANDIDATE_FEATURES, Evaluator, check_limits
from ..genome import Genome, describe
from ..predictors import LEVELS, Predictor, PredictorError, PredictorLike, RunPredictor, SkipRule
from ..priors import network_of
from ..runs.outputs import RunDirError, RunLock, check_run_dir, create_run_dir
from ..runs.records import (
    CONFIG_FILE,
    RECORDS_FILE,
    RecordLog,
    is_screening,
    quarantine_bad_tail,
    status_text,
    write_config,
)
from ..space import SearchSpace
from ..sparsity.nnstd import population_diversity
from ..tasks import TaskData, load_task
from ..training.loop import TrainConfig
from .artifacts import pareto_entry, save_best, write_json
from .config import SearchConfig, SearchResult
from .final import train_survivors
from .operators import Individual, dominates, fitness_class, make_toolbox, make_unique, objective_values


def with_gene_columns(source: PredictorLike, genomes: list[Genome], rows: list[dict]) -> list[dict]:
    """Feature rows plus a stored predictor's one-hot gene columns (:meth:`Predictor.gene_columns`).

    The run's own predictor reads the features alone; a stored per-gene or
    pooled one also checks and encodes the genomes' genes.

    Raises
    ------
    PredictorError
        If a genome lies outside the stored predictor's gene values.
    """
    if not isinstance(source, Predictor):
        return rows
    return [{**row, **columns} for row, columns in zip(rows, source.gene_columns(genomes))]


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
    progress : SearchProgress, optional
        A live display told of each candidate and each training epoch.
    client : distributed.Client, optional
        Train candidates as futures on this Dask client (:mod:`nasprior.compute.parallel`); records stay here.
    evaluator : Evaluator, optional
        Computes features and trains instead of the config's own evaluator (e.g. a
        :class:`nasprior.runs.tabular.TableEvaluator` answering by lookup).
    """

    def __init__(
        self,
        config: SearchConfig,
        run_dir: Path,
        data: TaskData,
        previous: list[dict],
        log: Callable[[str], None],
        progress: SearchProgress | None = None,
        client: Any = None,
        evaluator: Evaluator | None = None,
    ):
        self.config, self.run_dir, self.data, self.log, self.progress = config, run_dir, data, log, progress
        self.record_log = RecordLog(run_dir / RECORDS_FILE)
        self.space = SearchSpace.from_dict(config.space)
        self.rule = SkipRule(**config.skip)
        self.skipping = self.rule.enabled and config.strategy == "ga-skip"
        self.screened: list[dict] = []
        self.evaluator = evaluator or Evaluator(
            data, TrainConfig(**config.train), config.run_id, config.seed, fidelity="screen"
        )
        self.evaluator.progress = progress.epoch if progress is not None else None
        self.previous = list(previous)  # the log of a resumed run, as read
        self.records: list[dict] = []  # records known to the GA so far (a replay adds logged ones as it meets them)
        self.known: set[str] = set()
        self.cache: dict[str, dict] = {}
        for record in previous:
            if is_screening(record):
                self.cache.setdefault(record["key"], record)
        trained = [r for r in previous if r["status"] == "trained" and is_screening(r)]
        self.best_val_acc = max((r["metrics"]["val_acc"] for r in trained), default=-1.0)
        levels = LEVELS + ((self.rule.interval,) if self.rule.interval else ())
        self.predictor = RunPredictor(CANDIDATE_FEATURES, seed=config.seed, levels=levels)
        self.stored: Predictor | None = Predictor.load(config.predictor) if config.predictor else None
        self.seen: set[str] = set()  # networks visited so far, network_of (the same when a resumed run replays the GA)
        self.summaries: list[dict] = []
        self.start = time.perf_counter()
        random.seed(config.seed)  # DEAP's operators draw from the global random module, which Dask's and
        ga_random = random.Random(config.seed)  # tornado's threads draw from too: give DEAP a stream of its own
        for module in (algorithms, crossover, emo, mutation, selection):  # (the same draws as the seeded global one)
            module.random = ga_random
        self.toolbox = make_toolbox(
            self.space, random.Random(config.seed), config, lambda candidate: self.evaluator.train(*candidate)
        )
        if client is not None:  # workers load the task once each and train; the client logs
            self.toolbox.register("map", DaskMap(client, log))
            self.toolbox.register(
                "evaluate",
                RemoteTrain(
                    EvaluatorSpec.make(
                        config.task,
                        config.data_dir,
                        config.download,
                        config.seed,
                        config.train,
                        config.run_id,
                        config.seed,
                        "screen",
                    )
                ),
            )

    # -- predictor decisions -------------------------------------------------------
    def usable_predictor(self) -> tuple[PredictorLike | None, str]:
        """The predictor that decides now, and its name.

        A stored predictor (``--predictor``, or the space's ``[search]
        predictor``) decides from the first offspring on, while its CV R² is
        at least ``min_r2``. The run's own predictor, once ``warmup``
        candidates are trained, takes over when its cross-validated R² on the
        run's records reaches ``min_r2`` and beats the stored predictor's R²
        on the same records (its predictions against what the run measured);
        the progress line says which one decides and why.
        """
        screened = [r for r in self.records if is_screening(r)]  # never mix fidelities
        trained = [r for r in screened if r["status"] == "trained"]
        own: RunPredictor | None = None
        if len(trained) >= self.rule.warmup:
            self.predictor.fit(screened)
            if self.predictor.cv_r2_ >= self.rule.min_r2:
                own = self.predictor
            elif self.stored is None:
                self.log(
                    f"  predictor: CV R2 {self.predictor.cv_r2_:.3f} < min_r2 {self.rule.min_r2}: "
                    "not used this generation"
                )
        stored = self.stored if self.stored is not None and self.stored.cv_r2_ >= self.rule.min_r2 else None
        if self.stored is not None and stored is None:
            self.log(
                f"  stored predictor: CV R2 {self.stored.cv_r2_:.3f} < min_r2 {self.rule.min_r2}: "
                "not used this generation"
            )
        if own is not None and stored is not None:
            on_run = self.stored_r2_on(trained)
            if not (on_run is None or own.cv_r2_ > on_run):
                self.log(
                    f"  predictor: stored {self.config.predictor} kept (R2 {on_run:.3f} on this run's "
                    f"{len(trained)} trained; the run's own CV R2 {own.cv_r2_:.3f})"
                )
                return stored, self.config.predictor
            self.log(
                f"  predictor: the run's own takes over (CV R2 {own.cv_r2_:.3f} on {len(trained)} trained beats "
                f"stored {self.config.predictor}'s R2 {on_run:.3f} on them)"
            )
        if own is not None:
            return own, "run"
        if stored is not None:
            return stored, self.config.predictor
        return None, ""

    def stored_r2_on(self, trained: list[dict]) -> float | None:
        """R² of the stored predictor's predictions against this run's trained records (None if it cannot predict them)."""
        try:
            rows = with_gene_columns(
                self.stored, [Genome.from_dict(r["genome"]) for r in trained], [r["features"] for r in trained]
            )
            predicted = self.stored.predict(rows)
        except (PredictorError, KeyError):
            return None
        return float(r2_score([r["metrics"]["val_acc"] for r in trained], predicted))

    def decide_skips(
        self, genomes: dict[str, Genome], features: dict[str, dict], population: list[Individual] | None
    ) -> tuple[dict[str, float], PredictorLike | None, str]:
        """Keys of the new genomes to skip with their predictions, the predictor used and its name.

        One objective: skip below the population's ``quantile`` minus
        ``margin`` (:class:`~nasprior.predictors.SkipRule`). Several: skip an
        offspring whose optimistic point (predicted accuracy + ``margin``, its
        exact sizes) is dominated by a member of the population.
        """
        if not (features and population and self.skipping):
            return {}, None, ""
        source, name = self.usable_predictor()
        if source is None:
            return {}, None, name
        keys = list(features)
        rows = [features[k] for k in keys]
        try:
            rows = with_gene_columns(source, [genomes[k] for k in keys], rows)
        except PredictorError as exc:
            self.log(f"  predictor: {exc}; nothing skipped")
            return {}, None, name
        predicted = source.predict(rows)
        compared, basis = predicted, "prediction"
        if self.rule.interval:  # skip only when even the optimistic bound is below the threshold
            try:
                _, _, compared = source.predict_interval(rows, self.rule.interval)
                basis = f"upper bound of the {self.rule.interval:.0%} interval"
            except PredictorError as exc:
                self.log(f"  predictor: {exc}; comparing the point prediction")
        objectives = self.config.objectives
        if len(objectives) == 1:
            threshold = self.rule.threshold([ind.fitness.values[0] for ind in population])
            skips = {k: float(p) for k, p, c in zip(keys, predicted, compared) if c < threshold}
            rule = f"skip when the {basis} is below {threshold:.4f}"
        else:
            weights = self.config.weights
            skips = {}
            for k, p, c in zip(keys, predicted, compared):
                sizes = objective_values({"status": "failed", "key": k, "features": features[k]}, objectives)[1:]
                point = (float(c) + self.rule.margin, *sizes)
                if any(dominates(ind.fitness.values, point, weights) for ind in population):
                    skips[k] = float(p)
            rule = f"skip when the population dominates the {basis} + margin"
        trained_on = f"{self.predictor.n_train_} trained" if source is self.predictor else f"stored {name}"
        self.log(
            f"  predictor: CV R2 {source.cv_r2_:.3f} on {trained_on}; "
            f"{rule}: {len(skips)} of {len(keys)} offspring skipped"
        )
        return skips, source, name

    def screen(self, offspring: list[Individual], n_keep: int, drawn_by: str = "bred") -> list[Individual]:
        """The ``n_keep`` offspring the predictor ranks best (``ga-screen``); the first ``n_keep`` while it is unusable.

        One objective ranks by predicted accuracy; several by non-dominated
        sorting of the predicted points (predicted accuracy, exact sizes).
        """
        if len(offspring) <= n_keep:
            return offspring
        source, name = self.usable_predictor()
        if source is None:
            self.log(
                f"  screen: no usable predictor yet; training the first {n_keep} of {len(offspring)} bred offspring"
            )
            return offspring[:n_keep]
        genomes, features, ok = (
            [],
            [],
            [],
        )  # offspring whose features fail (cost check...) rank last: evaluate() logs them
        for i, ind in enumerate(offspring):
            try:
                features.append(self.evaluator.features(self.space.decode(ind)))
                genomes.append(self.space.decode(ind))
                ok.append(i)
            except CANDIDATE_FAILURES:
                pass
        offspring = [offspring[i] for i in ok] + [ind for i, ind in enumerate(offspring) if i not in set(ok)]
        if not features:
            return offspring[:n_keep]
        try:
            features = with_gene_columns(source, genomes, features)
        except PredictorError as exc:
            self.log(f"  screen: {exc}; training the first {n_keep} of {len(offspring)} bred offspring")
            return offspring[:n_keep]
        predicted = source.predict(features)
        objectives = self.config.objectives
        if len(objectives) == 1:
            order = sorted(range(len(features)), key=lambda i: -predicted[i])
        else:  # NSGA-II ranking of the predicted points
            points = []
            for i, (genome, f) in enumerate(zip(genomes, features)):
                point = Individual((), fitness_class(self.config.weights))
                sizes = objective_values({"status": "failed", "key": genome.key, "features": f}, objectives)[1:]
                point.fitness.values = (float(predicted[i]), *sizes)
                points.append(point)
            position = {id(p): i for i, p in enumerate(points)}
            ranked = [position[id(p)] for p in tools.selNSGA2(points, n_keep)]
            order = ranked + [i for i in range(len(points)) if i not in set(ranked)]
        order += list(range(len(features), len(offspring)))  # the refused, last
        chosen = order[:n_keep]
        kept = [float(predicted[i]) for i in chosen if i < len(features)]
        self.log(
            f"  screen: {drawn_by} {len(offspring)}, training the {n_keep} ranked best by {name} predictor "
            f"(CV R2 {source.cv_r2_:.3f}; predicted val {min(kept):.4f}..{max(kept):.4f})"
        )
        self.screened.append(
            {
                "n_bred": len(offspring),
                "n_trained": n_keep,
                "predicted_kept": kept,
                "predicted_rejected": [float(predicted[i]) for i in order[n_keep:] if i < len(features)],
            }
        )
        return [offspring[i] for i in sorted(chosen)]

    # -- evaluation of a generation ----------------------------------------------
    def evaluate(self, individuals: list[Individual], generation: int, population: list[Individual] | None) -> None:
        """Evaluate the new genomes of ``individuals`` (skip, train or replay from the log) and set their fitness.

        A resumed run replays the GA: a genome already in the log is read
        from it, and joins :attr:`records` (what the predictor learns from)
        at the point where the original run logged it, so every decision of
        the replay is the original's.
        """
        genomes = [self.space.decode(ind) for ind in individuals]
        self.seen.update(network_of(g) for g in genomes)
        batch: dict[str, Genome] = {}
        for genome in genomes:
            if genome.key not in self.known and genome.key not in batch:
                batch[genome.key] = genome
        new = {key: g for key, g in batch.items() if key not in self.cache}
        features, refused = {}, {}  # refused: failed records of genomes whose features failed (cost check...)
        for key, g in new.items():
            try:
                features[key] = self.evaluator.features(g)
            except CANDIDATE_FAILURES as exc:
                refused[key] = self.evaluator.failed(g, {}, generation, exc, time.perf_counter()).record
        skips, source, source_name = self.decide_skips(new, features, population)
        to_train = [(g, features[k]) for k, g in new.items() if k not in skips and k not in refused]
        trained = iter(self.toolbox.map(self.toolbox.evaluate, to_train))
        done = 0
        for key, genome in batch.items():
            if key in self.cache:  # logged before an interruption
                record = self.cache[key]
            else:
                if key in refused:
                    record = refused[key]
                elif key in skips:
                    record = self.evaluator.record(
                        genome,
                        "skipped",
                        features[key],
                        {
                            "val_acc": None,
                            "test_acc": None,
                            "predicted_val_acc": skips[key],
                            "predictor_cv_r2": source.cv_r2_,
                        },
                        generation,
                        extra={"predictor": source_name},
                    )
                else:
                    if self.progress is not None:
                        self.progress.candidate(describe(genome), self.evaluator.train_config.epochs)
                    evaluation = next(trained)
                    record = {**evaluation.record, "generation": generation}
                self.record_log.append(record)  # logged first: best/ holds only a logged candidate
                if record["status"] == "trained":
                    self.keep_if_best(genome, record, evaluation.network)
                self.cache[key] = record
                done += 1
                self.log(f"  [gen {generation}] {done}/{len(new)} {describe(genome)}: {status_text(record)}")
                if self.progress is not None:
                    self.progress.done()
            self.records.append(record)
            self.known.add(key)
        for ind, genome in zip(individuals, genomes):
            ind.fitness.values = objective_values(self.cache[genome.key], self.config.objectives)

    def restore_best(self) -> None:
        """Retrain the best logged candidate into ``best/`` if a resumed run was stopped before it was saved.

        A record is logged before its network is saved, so a run killed
        between the two resumes with a best candidate that ``best/`` lacks (and
        that the replay never trains again). Training is deterministic, so
        training it again gives the network it had; the log is not touched.
        A run whose final stage has begun is left alone: ``best/`` is then the
        final stage's (:mod:`nasprior.search.final`).
        """
        trained = [r for r in self.previous if r["status"] == "trained" and is_screening(r)]
        if not trained or any(not is_screening(r) for r in self.previous):
            return
        best = max(trained, key=lambda r: r["metrics"]["val_acc"])  # the first of equals, as keep_if_best keeps
        saved = self.run_dir / "best" / "record.json"
        try:
            key = json.loads(saved.read_text(encoding="utf-8")).get("key") if saved.is_file() else None
        except (OSError, ValueError):  # a torn write: rebuild it
            key = None
        if key == best["key"] and (saved.parent / "model.pt").is_file():
            return
        genome = Genome.from_dict(best["genome"])
        evaluation = self.evaluator.train(genome, best["features"], best.get("generation"))
        save_best(self.run_dir / "best", evaluation.network, genome, best)
        self.log(f"best/ restored: {describe(genome)} trained again (the run stopped before saving it)")

    def keep_if_best(self, genome: Genome, record: dict, network: torch.nn.Module | None) -> None:
        """Save the network to ``best/`` if it has the best validation accuracy so far."""
        if record["status"] == "trained" and record["metrics"]["val_acc"] > self.best_val_acc:
            self.best_val_acc = record["metrics"]["val_acc"]
            save_best(self.run_dir / "best", network, genome, record)

    def summarise(self, generation: int, population: list[Individual]) -> None:
        """Log and keep the summary of a generation."""
        gen_records = [r for r in self.records if r.get("generation") == generation]
        fits = [ind.fitness.values[0] for ind in population]  # accuracy is always the first objective
        summary = {
            "generation": generation,
            "best_val_acc": max(fits),
            "median_val_acc": statistics.median(fits),
            "worst_val_acc": min(fits),
            "n_trained": sum(r["status"] == "trained" for r in gen_records),
            "n_skipped": sum(r["status"] == "skipped" for r in gen_records),
            "elapsed_s": round(time.perf_counter() - self.start, 1),
        }
        diversity, n_compared = layered_diversity([self.space.decode(ind) for ind in population], self.evaluator)
        summary.update(nnstd_diversity=diversity, n_diversity=n_compared, screen=self.screened)
        self.screened = []
        self.summaries.append(summary)
        write_json(self.run_dir / "generations.json", self.summaries)
        text = f", NNSTD diversity {diversity:.3f} over {n_compared} layered" if n_compared else ""
        self.log(
            f"generation {generation}: best {summary['best_val_acc']:.4f}, median {summary['median_val_acc']:.4f}, "
            f"trained {summary['n_trained']}, skipped {summary['n_skipped']}{text}, elapsed {summary['elapsed_s']:.0f} s"
        )

    # -- the GA ------------------------------------------------------------------
    def network_id(self, ind: Individual) -> str:
        """The network an individual's genome builds (:func:`nasprior.priors.network_of`): what :attr:`seen` holds."""
        return network_of(self.space.decode(ind))

    def offspring(self, population: list[Individual]) -> list[Individual]:
        """The new individuals of a generation, by strategy (not yet evaluated)."""
        config, toolbox = self.config, self.toolbox
        key = self.network_id  # one network, one candidate
        if config.strategy == "random":
            fresh = toolbox.population(n=config.population)
            make_unique(fresh, toolbox, key, self.seen)
            return fresh
        n_breed = config.population * (config.screen_factor if config.strategy == "ga-screen" else 1)
        bred: list[Individual] = []
        while len(bred) < n_breed:
            parents = toolbox.select(population, len(population))
            bred += algorithms.varAnd([toolbox.clone(p) for p in parents], toolbox, config.cxpb, config.mutpb)
        bred = bred[:n_breed]
        make_unique(bred, toolbox, key, self.seen)
        if config.strategy == "ga-screen":
            new: dict[str, Individual] = {}  # a repeat the predictor ranked high would only replay a known result
            for ind in bred:
                new.setdefault(key(ind), ind)
            fresh = [ind for k, ind in new.items() if k not in self.seen]
            bred = fresh or bred
            for ind in bred:  # every screened offspring is a new candidate, re-evaluated if trained
                if ind.fitness.valid:
                    del ind.fitness.values
            return self.screen(bred, config.population)
        return [ind for ind in bred if not ind.fitness.valid]

    def initial_population(self) -> list[Individual]:
        """Generation 0: μ random individuals, or the μ of ``initial_factor`` × μ the stored predictor ranks best.

        The stored predictor ranks generation 0 when the strategy uses a
        predictor (``ga-skip`` with skipping on, ``ga-screen``), ``initial_factor``
        is above 1 and the stored predictor's CV R² reaches ``min_r2``: no
        record of the run exists yet, so it is the only predictor that can
        rank the first trainings. The ranked-out candidates are not trained
        or logged (as the offspring ``ga-screen`` ranks out); the generation's
        summary keeps their predictions. Drawn from the seeded GA, so a
        resumed run draws and ranks the same candidates.
        """
        config, toolbox = self.config, self.toolbox
        ranks = (self.skipping or config.strategy == "ga-screen") and config.initial_factor > 1
        if not (ranks and self.stored is not None and self.stored.cv_r2_ >= self.rule.min_r2):
            self.log(f"generation 0: evaluating {config.population} random candidates")
            population = toolbox.population(n=config.population)
            make_unique(population, toolbox, self.network_id, set())
            return population
        drawn = toolbox.population(n=config.population * config.initial_factor)
        make_unique(drawn, toolbox, self.network_id, set())
        self.log(
            f"generation 0: {len(drawn)} random candidates drawn, the {config.population} the stored predictor "
            f"{config.predictor} ranks best are evaluated"
        )
        return self.screen(drawn, config.population, drawn_by="drew")

    def run(self) -> SearchResult:
        """Run the generations and return the result (also writes ``pareto.json``)."""
        config, toolbox, space = self.config, self.toolbox, self.space
        hall = tools.HallOfFame(5)
        front = tools.ParetoFront()

        def trained(inds: list[Individual]) -> list[Individual]:
            return [ind for ind in inds if self.cache[space.decode(ind).key]["status"] == "trained"]

        self.restore_best()
        population = self.initial_population()
        self.evaluate(population, 0, None)
        hall.update(trained(population))
        front.update(trained(population))
        self.summarise(0, population)
        for generation in range(1, config.generations + 1):
            offspring = self.offspring(population)
            self.log(f"generation {generation}: evaluating {len(offspring)} offspring")
            self.evaluate(offspring, generation, population)
            hall.update(trained(offspring))
            front.update(trained(offspring))
            population = toolbox.replace(population + offspring, config.population)
            self.summarise(generation, population)
        screened = [r for r in self.records if is_screening(r)]
        done = [r for r in screened if r["status"] == "trained"]
        pareto = list(
            {self.cache[space.decode(ind).key]["key"]: self.cache[space.decode(ind).key] for ind in front}.values()
        )
        write_json(self.run_dir / "pareto.json", [pareto_entry(r) for r in pareto])
        return SearchResult(
            run_dir=self.run_dir,
            best=max(done, key=lambda r: r["metrics"]["val_acc"], default=None),
            n_trained=len(done),
            n_skipped=sum(r["status"] == "skipped" for r in screened),
            n_failed=sum(r["status"] == "failed" for r in screened),
            generations=self.summaries,
            hall_of_fame=[self.cache[space.decode(ind).key] for ind in hall],
            pareto_front=pareto,
        )


def run_search(
    config: SearchConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    data: TaskData | None = None,
    log: Callable[[str], None] = print,
    progress: SearchProgress | None = None,
    client: Any = None,
    drop_bad_tail: bool = False,
    evaluator: Evaluator | None = None,
) -> SearchResult:
    """Run (or resume) a genetic search and log every candidate.

    The data set, the limits of ``$NASPRIOR_MAX_MEMORY_GB`` /
    ``$NASPRIOR_MAX_FEATURE_S``, the space's mappings against the task and a
    stored predictor are checked before a new run directory is created; the
    run directory is locked (:class:`nasprior.runs.outputs.RunLock`) while the
    search runs.

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
    progress : SearchProgress, optional
        A live display (:mod:`nasprior.compute.progress`).
    client : distributed.Client, optional
        Evaluate candidates on this Dask client (:func:`nasprior.compute.parallel.start_client`);
        the records equal a single-process run with one torch thread.
    drop_bad_tail : bool
        With ``resume``: move an unreadable end of the record log to
        ``records.jsonl.bad`` (:func:`nasprior.runs.records.quarantine_bad_tail`) first.
    evaluator : Evaluator, optional
        Evaluates candidates instead of an :class:`~nasprior.evaluation.Evaluator` of the
        config's budget; its data stands for ``data`` (a search on a tabular benchmark:
        :class:`nasprior.runs.tabular.TableEvaluator` and :func:`nasprior.runs.tabular.placeholder_data`).

    Returns
    -------
    SearchResult
        With ``final``: the records of the survivors trained fully after the
        GA (:func:`nasprior.search.final.train_survivors`; none when the
        config's ``final`` table has no ``top_k``).

    Raises
    ------
    RecordError
        If ``run_dir`` already holds files and ``resume`` is False, holds no
        search and ``resume`` is True, cannot be written, or its record log is
        unreadable.
    RunDirError
        If another process holds the run's lock (the message names it).
    ConfigError
        If a limit variable is invalid, or the space gives a mapping the task cannot take.
    DataError
        If the task's data set is missing or corrupt.
    """
    run_dir = Path(run_dir)
    if evaluator is not None:
        data = evaluator.data
    if check_run_dir(run_dir, "search", resume=resume) is None and resume:
        raise RunDirError(
            f"{run_dir} holds no search to resume (no {CONFIG_FILE}): give a run made by 'nasprior search'"
        )
    if not resume:  # everything is validated before the run directory is created
        search = _validated_search(config, run_dir, data, [], log, progress, client, evaluator)
        create_run_dir(run_dir)
    with RunLock(run_dir, "search --resume" if resume else "search"):
        if resume:
            moved = quarantine_bad_tail(run_dir / RECORDS_FILE) if drop_bad_tail else 0
            if moved:
                log(f"moved {moved} unreadable line(s) to {run_dir / (RECORDS_FILE + '.bad')}")
            previous = RecordLog(run_dir / RECORDS_FILE).read()
            search = _validated_search(config, run_dir, data, previous, log, progress, client, evaluator)
        else:
            check_run_dir(run_dir, "search", locked=True)  # another process may have written it since the first check
            write_config(run_dir, config.to_dict())
        if search.stored is not None:
            log(
                f"stored predictor {config.predictor}: CV R2 {search.stored.cv_r2_:.3f} "
                f"({search.stored.card['n_train']} trained records)"
            )
        if resume:
            log(f"resuming {run_dir}: {len(previous)} candidates already logged")
        result = search.run()
        result.final = train_survivors(search, log, save_best)  # second stage: survivors trained fully
        return result


def _validated_search(config: SearchConfig, run_dir: Path, data: TaskData | None, *args: Any) -> GeneticSearch:
    """The search of a run (``args``: those of :class:`GeneticSearch` after ``data``), once the limits, the
    data set, the space's mappings against the task and the stored predictor check out."""
    check_limits()
    if data is None:
        data = load_task(config.task, config.data_dir, seed=config.seed, download=config.download)
    SearchSpace.from_dict(config.space).check_task(data.shape)
    return GeneticSearch(config, run_dir, data, *args)


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
