"""Train a random sample of candidates from a search space, in parallel, as a run.

A predictor needs trained examples spread over the space, not the ones a
search happens to favour. Stier, Darji & Granitzer (2021) trained 100
Barabási–Albert and 100 Watts–Strogatz graphs per recurrent cell type and
learnt accuracy from structure; :func:`run_sample` does the same for any
task and search space:

* genomes are drawn uniformly over the encoded genes
  (:meth:`~nasprior.space.SearchSpace.random_individual` then
  :meth:`~nasprior.space.SearchSpace.decode`), either from the whole space
  or per stratum: ``n`` genomes for every combination of the given priors
  and cell types (the prior and cell genes fixed, the rest drawn);
* each is evaluated by :class:`nasprior.evaluation.Evaluator` (features, then
  training; status ``trained`` or ``failed``) as a Dask future
  (:mod:`nasprior.compute.parallel`): on a local cluster of worker processes (one
  torch thread each, the task's data loaded once per worker) or on a running
  Dask cluster given by its scheduler's address; with one worker and no
  scheduler, in this process;
* the parent process alone appends the records to ``runs/<id>/records.jsonl``
  and prints one line per candidate; the strata are trained in round-robin
  order, so a sample cut short is still balanced across them;
* with ``exhaustive`` (``nasprior sample --all``) a discrete space is not
  drawn from but listed (:meth:`~nasprior.space.SearchSpace.genomes`): every
  genome once, in a seeded random order, so that a table cut short is a
  uniform subset of the whole (a tabular benchmark, like NAS-Bench-201);
* ``replicates`` genomes, spread evenly over the order, are trained a second
  time with weight and training seeds one higher on the same data split:
  the seed noise of the budget, beside the genomes' spread;
* rerunning with the same run directory skips genomes (and replicates) already
  logged (resume after an interruption).

The draws are seeded per stratum (``random.Random(f"{seed}:{prior}:{cell}")``),
so the same options give the same genomes, and adding a prior does not change
the genomes drawn for the others.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..compute.cores import available_cores
from ..cost import check_population
from ..errors import ConfigError, RecordError
from ..evaluation import Evaluator, check_limits
from ..genome import Genome, describe
from ..networks import CELLS
from .outputs import RunLock, check_run_dir, create_run_dir
from ..compute.parallel import (
    DaskMap,
    EvaluatorSpec,
    RemoteEvaluate,
    check_scheduler_address,
    close_client,
    start_client,
)
from ..priors import PRIORS
from .records import CONFIG_FILE, RECORDS_FILE, RecordLog, read_config, status_text, write_config
from ..schema import from_mapping
from ..space import SearchSpace
from ..tasks import check_task, get_task, load_task
from ..training.loop import TrainConfig

#: Budgets a sample may be labelled with: its own, or a search's final stage (:func:`nasprior.search.final_train_options`).
SAMPLE_FIDELITIES = ("sample", "final")


@dataclass
class SampleConfig:
    """Everything a sample needs; stored as the run's ``config.json`` (``"kind": "sample"``).

    Parameters
    ----------
    task : str
        A task of :data:`nasprior.tasks.TASKS` (``"digits"``, ``"reber"``, ...).
    space : dict
        Search space tables (see :class:`~nasprior.space.SearchSpace`).
    n : int
        Genomes to draw: in all, or per stratum when ``priors`` or ``cells`` is given (>= 1). With
        ``exhaustive``, at most this many of each stratum's listed genomes (0: all of them).
    priors : list of str, optional
        Stratify by prior: ``n`` genomes per prior (any registered prior).
    cells : list of str, optional
        Fix the recurrent cell type(s): ``n`` genomes per cell (and per prior).
    train : dict
        :class:`~nasprior.training.TrainConfig` fields (the budget).
    seed : int
        Seed of the draws, the validation split and weight initialisation.
    data_dir : str, optional
    download : bool
    run_id : str
    fidelity : {"sample", "final"}
        Name of the budget in the records: ``"sample"``, or ``"final"`` when
        ``train`` is the space's final-stage budget (``nasprior sample
        --final``: labels for a fidelity study).
    exhaustive : bool
        List every genome of a discrete space (each gene a list of values) instead of drawing.
    replicates : int
        Genomes (spread evenly over the order) trained again with seeds one higher (>= 0).
    n_inputs, n_classes, vocab_size : int, optional
        Shape of the task, filled in by :func:`run_sample` (read by
        :func:`nasprior.predictors.fit_predictor`); ``vocab_size`` is 0 for
        feedforward tasks.

    Raises
    ------
    ConfigError
        If an option is out of range or names an unknown prior, cell or task.
    """

    task: str
    space: dict
    n: int
    priors: list[str] | None = None
    cells: list[str] | None = None
    train: dict = field(default_factory=dict)
    seed: int = 0
    data_dir: str | None = None
    download: bool = False
    run_id: str = ""
    kind: str = "sample"
    fidelity: str = "sample"
    exhaustive: bool = False
    replicates: int = 0
    n_inputs: int | None = None
    n_classes: int | None = None
    vocab_size: int | None = None

    def __post_init__(self) -> None:
        check_task(self.task)
        if self.n < (0 if self.exhaustive else 1):
            fix = "0 (every genome of the space) or more" if self.exhaustive else "sample at least 1 genome"
            raise ConfigError(f"n = {self.n} is invalid: {fix}")
        if self.fidelity not in SAMPLE_FIDELITIES:
            raise ConfigError(f"fidelity {self.fidelity!r} is unknown: use one of {', '.join(SAMPLE_FIDELITIES)}")
        if self.replicates < 0:
            raise ConfigError(f"replicates = {self.replicates} is invalid: use 0 or more genomes to train twice")
        strata = max(len(self.priors or []), 1) * max(len(self.cells or []), 1)
        space = SearchSpace.from_dict(self.space)
        if self.exhaustive:
            listed = len(space.genomes())  # refuses a space with ranges, naming them
            self.n = min(self.n, listed) if self.n else 0
            check_population(f"the {listed} genomes of the space", self.n or listed, "choose a smaller --n")
        else:
            check_population(f"a sample of {self.n} genomes x {strata} strata", self.n * strata, "choose a smaller --n")
        bad = [p for p in self.priors or [] if p not in PRIORS]
        if bad:
            raise ConfigError(f"unknown prior(s) {', '.join(bad)}: use some of {', '.join(PRIORS)}")
        bad = [c for c in self.cells or [] if c not in CELLS]
        if bad:
            raise ConfigError(f"unknown cell type(s) {', '.join(bad)}: use some of {', '.join(CELLS)}")
        if self.cells and "recurrent" not in space.genes.get("mapping", []):
            raise ConfigError(
                "cells are genes of the recurrent mapping, which the space does not include: "
                'add mapping = ["recurrent"] to its [genes] or leave out --cells'
            )
        from_mapping(TrainConfig, self.train, "training options")

    def to_dict(self) -> dict:
        """JSON-able dict of the config."""
        return asdict(self)

    def same_sample(self, other: dict) -> list[str]:
        """Fields that differ from a stored config and would change the sample's genomes or budget.

        Of the space, only its genes count: its ``[train]`` defaults reach the
        sample through ``train`` (compared as resolved), its ``[search]``
        table not at all.
        """
        fields = ("task", "n", "priors", "cells", "train", "seed", "exhaustive", "replicates", "fidelity")
        mine = self.to_dict()
        defaults = {"exhaustive": False, "replicates": 0, "fidelity": "sample"}  # fields earlier configs lack
        differ = [f for f in fields if mine[f] != other.get(f, defaults.get(f))]
        stored_genes = (other.get("space") or {}).get("genes")
        if mine["space"].get("genes") != stored_genes and not (self.exhaustive and grows(stored_genes, mine["space"])):
            differ.insert(1, "space genes")
        return differ


def grows(stored_genes: Any, space: dict) -> bool:
    """Whether ``space``'s genes extend ``stored_genes``: the same genes, each list of values a superset.

    A table (``--all``) whose space grew this way resumes: its logged records stay genomes of the space, and only
    the new genomes are trained.
    """
    genes = space.get("genes") or {}
    if not isinstance(stored_genes, dict) or set(stored_genes) != set(genes):
        return False

    def values(spec: Any) -> list | None:
        if isinstance(spec, list):
            return spec
        return spec.get("values") if isinstance(spec, dict) else None

    for name, spec in stored_genes.items():
        old, new = values(spec), values(genes[name])
        if spec != genes[name] and (old is None or new is None or not set(map(str, old)) <= set(map(str, new))):
            return False
    return True


@dataclass
class SampleResult:
    """Outcome of :func:`run_sample`.

    Attributes
    ----------
    run_dir : pathlib.Path
    records : list of dict
        Records of every genome of the sample and its second seeds (earlier ones read from the log), in job order.
    n_new : int
        Genomes evaluated by this call (the rest were already logged).
    wall_time_s : float
        Seconds this call took.
    """

    run_dir: Path
    records: list[dict]
    n_new: int
    wall_time_s: float

    @property
    def n_trained(self) -> int:
        """Records with status ``trained``."""
        return sum(r["status"] == "trained" for r in self.records)

    @property
    def n_failed(self) -> int:
        """Records with status ``failed``."""
        return sum(r["status"] == "failed" for r in self.records)

    def mean_by(self, gene: str = "prior", metric: str = "val_acc") -> dict[str, tuple[float, float, int]]:
        """Mean, standard deviation and count of ``metric`` over trained records, per value of ``gene``."""
        groups: dict[str, list[float]] = {}
        for r in self.records:
            if r["status"] == "trained" and r["metrics"].get(metric) is not None:
                groups.setdefault(str(r["genome"][gene]), []).append(float(r["metrics"][metric]))
        return {k: (statistics.fmean(v), statistics.pstdev(v), len(v)) for k, v in sorted(groups.items())}


def draw_genomes(
    space: SearchSpace,
    n: int,
    *,
    priors: Sequence[str] | None = None,
    cells: Sequence[str] | None = None,
    seed: int = 0,
    exhaustive: bool = False,
) -> list[tuple[str, Genome]]:
    """Draw distinct genomes uniformly over a space's encoded genes, per stratum.

    Parameters
    ----------
    space : SearchSpace
    n : int
        Genomes per stratum; the strata are the combinations of ``priors``
        and ``cells`` (one stratum, the whole space, when both are None).
    priors, cells : sequence of str, optional
        Values the ``prior`` and ``cell`` genes are fixed to, one stratum each.
    seed : int
    exhaustive : bool
        List each stratum's genomes (:meth:`~nasprior.space.SearchSpace.genomes`, a discrete space)
        in a seeded random order instead of drawing; ``n`` caps them (0: all).

    Returns
    -------
    list of (str, Genome)
        ``(stratum, genome)`` in draw order; stratum names like
        ``"barabasi_albert/gru"`` (``"all"`` without strata). Duplicate
        genomes (same key) are redrawn; a space too small to hold ``n``
        distinct genomes gives fewer.

    Raises
    ------
    ConfigError
        With ``exhaustive``, if a gene of the space is a range.
    """
    out: list[tuple[str, Genome]] = []
    seen: set[str] = set()
    for prior, cell in itertools.product(list(priors) if priors else [None], list(cells) if cells else [None]):
        genes = dict(space.to_dict()["genes"])
        if prior is not None:
            genes["prior"] = [prior]
        if cell is not None:
            genes["cell"] = [cell]
        sub = SearchSpace.from_dict({"genes": genes}, name=space.name)
        stratum = "/".join(x for x in (prior, cell) if x is not None) or "all"
        rng = random.Random(f"{seed}:{prior}:{cell}")
        if exhaustive:
            listed = [g for g in sub.genomes() if g.key not in seen]
            rng.shuffle(listed)
            listed = listed[:n] if n else listed
            seen.update(g.key for g in listed)
            out.extend((stratum, g) for g in listed)
            continue
        drawn, attempts = 0, 0
        while drawn < n and attempts < 50 * n:
            attempts += 1
            genome = sub.decode(sub.random_individual(rng))
            if genome.key in seen:
                continue
            seen.add(genome.key)
            out.append((stratum, genome))
            drawn += 1
    return out


# -- worker processes ------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _evaluate(job: tuple[int, str, dict, int]) -> tuple[int, dict]:
    """Features and training of one job ``(index, stratum, genome dict, replicate)`` in this process."""
    index, stratum, genome_dict, replicate = job
    evaluator = _WORKER["evaluators"][replicate]
    record = evaluator.evaluate(Genome.from_dict(genome_dict)).record
    record["sample"] = {"index": index, "stratum": stratum, **({"replicate": replicate} if replicate else {})}
    return index, record


def _interleave(jobs: list[tuple[int, str, dict, int]]) -> list[tuple[int, str, dict, int]]:
    """Jobs in round-robin order over the strata, so that a sample cut short stays balanced."""
    groups: dict[str, list] = {}
    for job in jobs:
        groups.setdefault(job[1], []).append(job)
    rounds = itertools.zip_longest(*groups.values())
    return [job for row in rounds for job in row if job is not None]


def sample_jobs(
    drawn: list[tuple[str, Genome]], replicates: int, logged: set[str] | frozenset = frozenset()
) -> list[tuple[int, str, dict, int]]:
    """Jobs of a sample: every genome in round-robin order over the strata, and ``replicates`` second seeds.

    The replicated genomes are every ``len / replicates``-th of that order
    (the first, then evenly spread), each job right after its genome's own, so
    a sample cut short holds replicates in proportion. Genomes whose second
    seed is already ``logged`` (keys; a table whose space grew) count first:
    only the rest of ``replicates`` is spread over the other genomes.

    Returns
    -------
    list of (int, str, dict, int)
        ``(index into drawn, stratum, genome dict, replicate)``, replicate 0 or 1.
    """
    order = _interleave([(i, stratum, g.to_dict(), 0) for i, (stratum, g) in enumerate(drawn)])
    replicates = min(replicates, len(order))
    kept = {position for position, job in enumerate(order) if drawn[job[0]][1].key in logged}
    if len(kept) >= replicates:
        chosen = set(sorted(kept)[:replicates])
    else:
        rest = [position for position in range(len(order)) if position not in kept]
        more = replicates - len(kept)
        step = len(rest) / more
        chosen = kept | {rest[int(j * step)] for j in range(more)}
    jobs = []
    for position, job in enumerate(order):
        jobs.append(job)
        if position in chosen:
            jobs.append((*job[:3], 1))
    return jobs


def run_sample(
    config: SampleConfig,
    run_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    log: Callable[[str], None] = print,
) -> SampleResult:
    """Draw, train and log a sample of candidates (resumable).

    Parameters
    ----------
    config : SampleConfig
    run_dir : path-like
        ``runs/<run-id>``. If it already holds this sample, genomes already
        logged are not evaluated again.
    workers : int, optional
        Worker processes of a local Dask cluster (default: the available
        cores). 1 evaluates in this process. Either way each evaluation uses
        one torch thread.
    scheduler : str, optional
        Address of a running Dask scheduler to evaluate on instead (not with ``workers``).
    client : distributed.Client, optional
        A Dask client to evaluate on (left open).
    log : callable
        Receives one line per candidate and a summary.

    Returns
    -------
    SampleResult

    Raises
    ------
    RecordError
        If ``run_dir`` holds another run (a different config, another kind of
        run, a user's files), or its log is unreadable; checked, with the data
        set, the limits and the space's mappings, before the run directory is
        created.
    RunDirError
        If another process holds the run's lock (the sample is running); the message names it.
    ConfigError
        If ``workers`` < 1.
    DataError
        If the task's data set is missing.
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    if workers is not None and scheduler is not None:
        raise ConfigError("give workers or a scheduler, not both: the workers of a running cluster are its own")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    workers = available_cores() if workers is None else workers
    if workers < 1:
        raise ConfigError(f"workers = {workers} is invalid: use 1 or more processes")
    existing = check_run_dir(run_dir, "sample", resume=True)  # refuses a user's folder or another kind of run
    check_limits()  # everything is validated before the run directory is created
    data = load_task(config.task, config.data_dir, seed=config.seed, download=config.download)
    SearchSpace.from_dict(config.space).check_task(data.shape)
    if existing is None:
        create_run_dir(run_dir)
    with RunLock(run_dir, "sample"):
        check_run_dir(
            run_dir, "sample", resume=True, locked=True
        )  # another process may have written it since the first check
        return _sample(config, run_dir, data, workers, scheduler, client, log, start)


def _sample(
    config: SampleConfig,
    run_dir: Path,
    data: Any,
    workers: int,
    scheduler: str | None,
    client: Any,
    log: Callable[[str], None],
    start: float,
) -> SampleResult:
    """Draw, train and log the sample in a checked, locked run directory."""
    record_log = RecordLog(run_dir / RECORDS_FILE)
    if (run_dir / CONFIG_FILE).exists():
        stored = read_config(run_dir)
        differ = config.same_sample(stored)
        if differ:
            raise RecordError(
                f"{run_dir} holds a sample with other {', '.join(differ)}: repeat its options to "
                "resume it, or choose another --run-id"
            )
        config.n_inputs, config.n_classes = stored.get("n_inputs"), stored.get("n_classes")
        config.vocab_size = stored.get("vocab_size")
        if (stored.get("space") or {}).get("genes") != config.space.get("genes"):
            log(f"{run_dir}: the space's lists of values grew; the logged records are kept and the new genomes trained")
    # Keys of migrated records (RecordLog.read): records logged before genomes were trimmed to the genes
    # their prior and mapping read still count as the same candidates.
    previous = {(r["key"], r.get("seed", config.seed)): r for r in record_log.read()}
    space = SearchSpace.from_dict(config.space)
    drawn = draw_genomes(
        space, config.n, priors=config.priors, cells=config.cells, seed=config.seed, exhaustive=config.exhaustive
    )
    logged_second = {k for (k, seed) in previous if seed == config.seed + 1}
    jobs = sample_jobs(drawn, config.replicates, logged_second)
    todo = [j for j in jobs if (drawn[j[0]][1].key, config.seed + j[3]) not in previous]
    log(
        f"sample of {len(drawn)} genomes{f' and {config.replicates} second seeds' if config.replicates else ''}: "
        f"{len(jobs) - len(todo)} already logged, {len(todo)} to train on {min(workers, max(1, len(todo)))} worker(s)"
    )
    if config.n_inputs is None:
        shape = get_task(config.task).shape
        config.n_inputs, config.n_classes, config.vocab_size = shape.n_inputs, shape.n_classes, shape.vocab_size
    write_config(run_dir, config.to_dict())

    results = dict(previous)

    def handle(done: int, index: int, record: dict) -> None:
        record_log.append(record)
        results[(record["key"], record["seed"])] = record
        genome = Genome.from_dict(record["genome"])
        second = " (second seed)" if record["sample"].get("replicate") else ""
        log(f"  [{done}/{len(todo)}] {drawn[index][0]} {describe(genome)}{second}: {status_text(record)}")

    if todo and workers == 1 and scheduler is None and client is None:
        threads = torch.get_num_threads()
        try:  # one thread, as in the workers: the same arithmetic, and no oversubscription of shared cores
            torch.set_num_threads(1)
            train = dict(config.train)
            _WORKER["evaluators"] = [
                Evaluator(
                    data,
                    TrainConfig(**{**train, "seed": int(train.get("seed", 0)) + r}),
                    config.run_id,
                    config.seed + r,
                    fidelity=config.fidelity,
                )
                for r in (0, 1)
            ]
            for done, job in enumerate(todo, start=1):
                handle(done, *_evaluate(job))
        finally:
            torch.set_num_threads(threads)
    elif todo:
        own = client is None
        if own:
            client = start_client(None if scheduler else min(workers, len(todo)), scheduler)
        spec = EvaluatorSpec.make(
            config.task,
            config.data_dir,
            config.download,
            config.seed,
            config.train,
            config.run_id,
            config.seed,
            config.fidelity,
        )
        try:
            results_as_completed = DaskMap(client, log, ordered=False)(RemoteEvaluate(spec), todo)
            for done, (index, record) in enumerate(results_as_completed, start=1):
                handle(done, index, record)
        finally:
            if own:
                close_client(client)
    order = [(drawn[j[0]][1].key, config.seed + j[3]) for j in jobs]
    records = [results[k] for k in order if k in results]
    return SampleResult(run_dir, records, len(todo), time.perf_counter() - start)
