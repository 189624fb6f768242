"""Distributed evaluation on Dask: candidates as futures, on a local cluster or a user's cluster.

A search (:mod:`nasprior.search`) and ``nasprior sample`` (:mod:`nasprior.runs.sampling`)
send candidates to a Dask client instead of evaluating them in the process:

* ``--workers N`` starts a :class:`distributed.LocalCluster` of ``N`` worker
  processes with one thread each (default: the available cores), see
  :func:`start_client`;
* ``--scheduler ADDRESS`` connects to an existing scheduler (``tcp://host:8786``):
  a user's own deployment on many machines, on Kubernetes (dask-kubernetes)
  or on an HPC batch system (dask-jobqueue); the README says how.

Each worker process loads the task data once (cached per process and per
:class:`EvaluatorSpec`), evaluates with ``torch.set_num_threads(spec.threads)``
(1 by default), and returns the record (and network) to the client; the
client alone appends records to the run's log, in the same order as a local
run, so a distributed run gives the same records as a single-process run with
one torch thread and the same seed (timings aside).

A worker that dies mid-candidate (killed, out of memory, its machine lost)
loses only its current candidates: the scheduler runs them again on another
worker (up to ``distributed.scheduler.allowed-failures`` times; tasks that
*raise* are retried ``retries`` times). Every start of a candidate is logged
as a Dask event (topic :data:`START_TOPIC`), so the client reports each rerun
once.

Worker processes of a :class:`~distributed.LocalCluster` get Dask's
``distributed.nanny.pre-spawn-environ`` environment, whose
``MALLOC_TRIM_THRESHOLD_=65536`` was reported to make torch about 55% slower
(glibc trims the heap on frees of large tensors); :func:`start_client` unsets
it (``benchmarks/bench_dask_workers.py`` measures both; about 2% on a loaded
2-core machine).
"""

from __future__ import annotations

import collections
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import dask
import torch
from distributed import Client, LocalCluster, as_completed, get_worker
from distributed.comm.addressing import parse_address, parse_host_port

from ..errors import ConfigError
from ..evaluation import Evaluation, Evaluator
from ..genome import Genome
from ..tasks import load_task
from ..training.loop import TrainConfig
from .cores import available_cores

#: Dask event topic of candidate starts (one event per attempt).
START_TOPIC = "nasprior-start"
#: Retries of a candidate whose evaluation raised (worker deaths are rescheduled by Dask itself).
RETRIES = 2
#: Worker environment that keeps torch at full speed (None unsets the variable).
WORKER_ENVIRONMENT = {"MALLOC_TRIM_THRESHOLD_": None}


def check_scheduler_address(address: str) -> str:
    """Return ``address`` if it reads as a Dask scheduler address (``tcp://HOST:PORT``, ``tls://...``).

    Only the form is checked; whether a scheduler listens there is found
    when connecting (:func:`start_client`).

    Raises
    ------
    ConfigError
        If the address has no host or port, a port outside 1-65535, or an
        unknown scheme.
    """
    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss", "ucx"):
            host, port = parse_host_port(location)
            if not host or not 0 < int(port) < 65536:
                raise ValueError("a host and a port in 1-65535 are needed")
        elif scheme != "inproc":
            raise ValueError(f"unknown scheme {scheme!r}")
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"--scheduler {address!r} is not a Dask scheduler address ({exc}): give the address the "
            "scheduler prints, like tcp://10.0.0.5:8786"
        ) from None
    return address


def start_client(workers: int | None = None, scheduler: str | None = None, fast_malloc: bool = True) -> Client:
    """A Dask client: on a new local cluster of ``workers`` processes, or connected to ``scheduler``.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a new :class:`~distributed.LocalCluster`, one
        thread each (default: the available cores). Not with ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    fast_malloc : bool
        Unset Dask's ``MALLOC_TRIM_THRESHOLD_`` for local workers, from now
        on in this process (keep True; False only to measure its cost).

    Returns
    -------
    distributed.Client
        Close it (or its ``cluster``) when done; :func:`close_client` does both.

    Raises
    ------
    ConfigError
        If both or a bad number of workers are given, or the scheduler
        cannot be reached.
    """
    if workers is not None and scheduler is not None:
        raise ConfigError("give --workers or --scheduler, not both: the workers of a running cluster are its own")
    if scheduler is not None:
        check_scheduler_address(scheduler)
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}): start one "
                "('dask scheduler' and 'dask worker ADDRESS') or check the address"
            ) from None
    workers = available_cores() if workers is None else workers
    if workers < 1:
        raise ConfigError(f"--workers {workers} is invalid: use 1 or more worker processes")
    if fast_malloc:
        # For the life of this process (a nanny restarting a lost worker reads the config again); a nanny
        # of an earlier cluster in this process also left the variable in os.environ, which workers inherit.
        dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ENVIRONMENT.items()})
        for name in WORKER_ENVIRONMENT:
            os.environ.pop(name, None)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
    )
    return Client(cluster)


def close_client(client: Client) -> None:
    """Close a client and the local cluster it started (if any)."""
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


@dataclass(frozen=True)
class EvaluatorSpec:
    """What a worker needs to build an :class:`~nasprior.evaluation.Evaluator`: small and picklable.

    Parameters
    ----------
    task, data_dir, download :
        Loaded with :func:`nasprior.tasks.load_task` once per worker process.
    data_seed : int
        Seed of the task's validation split.
    train : dict
        :class:`~nasprior.training.TrainConfig` fields.
    run_id : str
    seed : int
        Seed of weight initialisation.
    fidelity : str
    threads : int
        Torch intra-op threads of a worker while it evaluates.
    """

    task: str
    data_dir: str | None
    download: bool
    data_seed: int
    train: tuple
    run_id: str
    seed: int
    fidelity: str
    threads: int = 1

    @classmethod
    def make(
        cls,
        task: str,
        data_dir: str | None,
        download: bool,
        data_seed: int,
        train: dict,
        run_id: str,
        seed: int,
        fidelity: str,
        threads: int = 1,
    ) -> EvaluatorSpec:
        """A spec from a training dict (stored as sorted items, so the spec is hashable)."""
        return cls(task, data_dir, download, data_seed, tuple(sorted(train.items())), run_id, seed, fidelity, threads)

    def replicate(self, offset: int) -> EvaluatorSpec:
        """The same spec with weight seed and training seed (batch order, subset) ``offset`` higher; same data split."""
        if not offset:
            return self
        train = dict(self.train)
        train["seed"] = int(train.get("seed", 0)) + offset
        return replace(self, train=tuple(sorted(train.items())), seed=self.seed + offset)


_EVALUATORS: dict[EvaluatorSpec, Evaluator] = {}
_DATA: dict[tuple, Any] = {}


def worker_evaluator(spec: EvaluatorSpec) -> Evaluator:
    """The evaluator of ``spec`` in this process (task data loaded once per data set and split)."""
    if spec not in _EVALUATORS:
        where = (spec.task, spec.data_dir, spec.data_seed, spec.download)
        if where not in _DATA:
            _DATA[where] = load_task(spec.task, spec.data_dir, seed=spec.data_seed, download=spec.download)
        _EVALUATORS[spec] = Evaluator(
            _DATA[where], TrainConfig(**dict(spec.train)), spec.run_id, spec.seed, spec.fidelity
        )
    return _EVALUATORS[spec]


def _run_logged(item: Any, fn: Callable, batch: str) -> Any:
    """``fn(item)`` on a worker, after logging the start as a Dask event (topic :data:`START_TOPIC`)."""
    try:
        worker = get_worker()
    except ValueError:  # not on a Dask worker
        worker = None
    if worker is not None:
        worker.log_event(START_TOPIC, {"key": _key_of(item), "batch": batch, "worker": worker.address})
    return fn(item)


class RemoteTrain:
    """Picklable ``(genome, features) -> Evaluation`` for the toolbox's ``evaluate`` seam, run on workers.

    Parameters
    ----------
    spec : EvaluatorSpec
    """

    def __init__(self, spec: EvaluatorSpec):
        self.spec = spec

    def __call__(self, candidate: tuple[Genome, dict]) -> Evaluation:
        genome, features = candidate
        torch.set_num_threads(self.spec.threads)
        return worker_evaluator(self.spec).train(genome, features)


class RemoteEvaluate:
    """Picklable ``sample job -> (index, record)`` (features and training) for ``nasprior sample``, run on workers.

    A job is ``(index, stratum, genome dict, replicate)``; ``replicate`` 0 trains
    with the spec's seeds, ``r > 0`` with both seeds ``r`` higher
    (:meth:`EvaluatorSpec.replicate`).

    Parameters
    ----------
    spec : EvaluatorSpec
    """

    def __init__(self, spec: EvaluatorSpec):
        self.spec = spec

    def __call__(self, job: tuple[int, str, dict, int]) -> tuple[int, dict]:
        index, stratum, genome_dict, replicate = job
        genome = Genome.from_dict(genome_dict)
        torch.set_num_threads(self.spec.threads)
        record = worker_evaluator(self.spec.replicate(replicate)).evaluate(genome).record
        record["sample"] = {"index": index, "stratum": stratum, **({"replicate": replicate} if replicate else {})}
        return index, record


def _key_of(item: Any) -> str:
    """Candidate key of a map item: a (genome, features) pair or a sample job (index, stratum, genome dict)."""
    if isinstance(item, tuple) and item and isinstance(item[0], Genome):
        return item[0].key
    return Genome.from_dict(item[2]).key


class DaskMap:
    """``map(fn, items)`` on a Dask client, for the DEAP toolbox's ``map`` seam.

    Submits every item as a future at once and yields the results in input
    order (so the client appends records as a local run does). Reruns of a
    candidate after a worker was lost are logged once each.

    Parameters
    ----------
    client : distributed.Client
    log : callable
        Receives one line per rerun candidate.
    retries : int
        Retries of an item whose function raised.
    ordered : bool
        Yield in input order (True) or as completed (False).
    """

    def __init__(
        self, client: Client, log: Callable[[str], None] = print, retries: int = RETRIES, ordered: bool = True
    ):
        self.client, self.log, self.retries, self.ordered = client, log, retries, ordered
        self.n_reruns = 0

    def __call__(self, fn: Callable, items: Iterable) -> Iterator:
        items = list(items)
        if not items:
            return
        batch = uuid.uuid4().hex
        keys = [_key_of(item) for item in items]
        futures = self.client.map(
            _run_logged,
            items,
            fn=fn,
            batch=batch,
            key=[f"nasprior-{batch}-{i}" for i in range(len(items))],
            retries=self.retries,
        )
        try:
            done = futures if self.ordered else as_completed(futures)
            for i, future in enumerate(done, start=1):
                result = future.result()
                if i == len(futures):  # before the last yield: a caller that stops there still sees the report
                    self.report_reruns(batch, set(keys))
                yield result
        finally:
            for future in futures:
                future.release()

    def report_reruns(self, batch: str, keys: set[str]) -> None:
        """Log each candidate of ``batch`` that was started more than once (a worker was lost or it raised)."""
        starts = collections.Counter()
        workers: dict[str, list[str]] = collections.defaultdict(list)
        for _, event in self.client.get_events(START_TOPIC):
            if isinstance(event, dict) and event.get("batch") == batch and event.get("key") in keys:
                starts[event["key"]] += 1
                workers[event["key"]].append(event.get("worker", "?"))
        for key, n in starts.items():
            if n > 1:
                self.n_reruns += 1
                self.log(
                    f"  candidate {key} was started {n} times (on {', '.join(workers[key])}): "
                    "a worker was lost or the evaluation raised; the last run's result is kept"
                )
