"""Tabular benchmarks: a table of trained genomes that answers a search by lookup, without training.

A tabular benchmark (NAS-Bench-101, NAS-Bench-201) trains every genome of a
discrete space once, so that search strategies can be compared over many
seeds at the cost of a dictionary lookup per candidate. ``nasprior sample
--all`` makes such a table for any discrete space
(:meth:`nasprior.space.SearchSpace.genomes`); the CIFAR-10 one ships as
``datasets/cifar10-cnn``. Here:

* :class:`Table` reads a table's records (a run directory, a shipped data
  set, or a ``records.jsonl[.gz]`` file): one trained record per genome at
  the table's own seed, the second-seed records (``sample.replicate``) beside
  them;
* :class:`TableEvaluator` is an :class:`~nasprior.evaluation.Evaluator` whose
  :meth:`~TableEvaluator.features` and :meth:`~TableEvaluator.train` return
  the table's features and accuracies; a genome outside the table (or
  outside the part of it a benchmark allows) is a candidate failure, logged
  as a ``failed`` record, as a candidate that cannot train is;
* :func:`placeholder_data` gives the task's shapes without its images, so a
  search on a table loads nothing.

References
----------
.. [Ying2019] C. Ying, A. Klein, E. Real, E. Christiansen, K. Murphy, F. Hutter,
   "NAS-Bench-101: towards reproducible neural architecture search", ICML 2019.
.. [Dong2020] X. Dong, Y. Yang, "NAS-Bench-201: extending the scope of reproducible
   neural architecture search", ICLR 2020.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from ..errors import CandidateError, ConfigError, RecordError
from ..evaluation import Evaluation, Evaluator
from ..genome import Genome
from ..priors import network_key
from .records import CONFIG_FILE, RECORDS_FILE, RecordLog, read_config
from ..tasks import TaskData, get_task
from ..training.loop import TrainConfig

#: File of a shipped data set's records.
TABLE_FILE = RECORDS_FILE + ".gz"


def table_records_path(source: str | os.PathLike) -> Path:
    """The records file of a table: ``source`` itself, or the ``records.jsonl[.gz]`` inside a directory.

    Raises
    ------
    RecordError
        If there is no records file there.
    """
    path = Path(source)
    if path.is_dir():
        for name in (RECORDS_FILE, TABLE_FILE):
            if (path / name).is_file():
                return path / name
        raise RecordError(f"{path} holds no {RECORDS_FILE} or {TABLE_FILE}: give a sample's run directory or data set")
    if not path.is_file():
        raise RecordError(f"no table at {path}: give a sample's run directory, a data set folder or a records file")
    return path


class Table:
    """The trained records of a tabular benchmark, by genome key.

    Parameters
    ----------
    records : iterable of dict
        Records of one task and one fidelity (a sample's ``records.jsonl``).
    seed : int, optional
        The table's own seed (default: the smallest seed among the records);
        records of other seeds are second seeds (:attr:`replicates`).

    Attributes
    ----------
    by_key : dict of str to dict
        The trained record of each network at ``seed``, by its genome's key:
        one per network (:func:`nasprior.priors.network_key`); a record of
        another genome that builds the same network (a table made before
        :meth:`~nasprior.space.SearchSpace.genomes` listed one genome per
        network) is counted in :attr:`n_duplicates`, and :meth:`lookup`
        answers for every genome of the network.
    replicates : dict of str to list of dict
        Trained records of the same networks at other seeds, by the key in :attr:`by_key`.
    n_failed : int
        Records at ``seed`` that failed (their genomes are not in :attr:`by_key`).
    n_duplicates : int
        Trained records at ``seed`` of a network already in :attr:`by_key`.

    Raises
    ------
    RecordError
        If the records hold several tasks or fidelities, or none is trained.
    """

    def __init__(self, records: Iterable[dict], seed: int | None = None):
        records = list(records)
        tasks = {r.get("task") for r in records}
        fidelities = {r.get("fidelity") for r in records}
        if len(tasks) > 1 or len(fidelities) > 1:
            raise RecordError(
                f"a table holds one task and one fidelity; these records hold tasks {sorted(map(str, tasks))} "
                f"and fidelities {sorted(map(str, fidelities))}: give the records of one sample"
            )
        seeds = [int(r.get("seed", 0)) for r in records]
        self.seed = min(seeds, default=0) if seed is None else seed
        self.by_key: dict[str, dict] = {}
        self.replicates: dict[str, list[dict]] = {}
        self.by_network: dict[str, str] = {}
        self.n_failed = self.n_duplicates = 0
        others = []
        for record, s in zip(records, seeds):
            if record["status"] != "trained":
                self.n_failed += s == self.seed
                continue
            if s != self.seed:
                others.append(record)
                continue
            network = record_network(record)
            if network in self.by_network:
                self.n_duplicates += self.by_network[network] != record["key"]
                continue
            self.by_network[network] = record["key"]
            self.by_key[record["key"]] = record
        for record in others:  # one record per network and seed
            key = self.by_network.get(record_network(record), record["key"])
            seeds_of = {int(r.get("seed", 0)) for r in self.replicates.get(key, [])}
            if int(record.get("seed", 0)) not in seeds_of:
                self.replicates.setdefault(key, []).append(record)
        if not self.by_key:
            raise RecordError(f"no trained record at seed {self.seed} among {len(records)}: not a table")
        self.task = str(next(iter(tasks)))
        self.fidelity = next(iter(fidelities))

    @classmethod
    def read(cls, source: str | os.PathLike, seed: int | None = None) -> Table:
        """The table of a sample's run directory, a data set folder or a ``records.jsonl[.gz]`` file.

        Raises
        ------
        RecordError
            If there is no records file, a line is unreadable, or the records are not one table.
        """
        return cls(RecordLog(table_records_path(source)).read(), seed)

    def __len__(self) -> int:
        return len(self.by_key)

    def lookup(self, genome: Genome) -> dict | None:
        """The record at the table's seed of the network ``genome`` builds (None if the table lacks it)."""
        record = self.by_key.get(genome.key)
        if record is not None:
            return record
        key = self.by_network.get(network_key(genome))
        return None if key is None else self.by_key[key]

    def values(self, metric: str = "val_acc") -> dict[str, float]:
        """``metric`` of every genome of the table at its seed, by key."""
        return {k: float(r["metrics"][metric]) for k, r in self.by_key.items() if r["metrics"].get(metric) is not None}

    def top_threshold(self, fraction: float, metric: str = "val_acc") -> float:
        """The ``metric`` a genome needs to be in the table's best ``fraction`` (at least one genome).

        Raises
        ------
        ValueError
            If ``fraction`` is not in (0, 1].
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction = {fraction!r}: use a share in (0, 1], e.g. 0.01 for the top 1%")
        ordered = sorted(self.values(metric).values(), reverse=True)
        return ordered[max(1, int(round(fraction * len(ordered)))) - 1]


def record_network(record: dict) -> str:
    """:func:`~nasprior.priors.network_key` of a record's genome (its key if the genome no longer builds)."""
    try:
        return network_key(Genome.from_dict(record["genome"]))
    except (ConfigError, KeyError, TypeError, ValueError):
        return str(record["key"])


def placeholder_data(task: str) -> TaskData:
    """A :class:`~nasprior.tasks.TaskData` with the task's shapes and one blank example per split.

    Enough for a search whose evaluator looks candidates up
    (:class:`TableEvaluator`): the network shapes and the feature
    computations see the task's input shape and classes; no data set is
    read.

    Raises
    ------
    ConfigError
        If the task is unknown.
    """
    shape = get_task(task).shape
    dims = shape.image_shape or ((4,) if shape.vocab_size else (shape.n_inputs,))  # a token sequence: any length
    x = torch.zeros((1, *dims), dtype=torch.long if shape.vocab_size else torch.float32)
    y = torch.zeros(1, dtype=torch.long)
    return TaskData(task, x, y, x.clone(), y.clone(), x.clone(), y.clone(), shape.n_classes, shape.vocab_size)


class TableEvaluator(Evaluator):
    """An :class:`~nasprior.evaluation.Evaluator` that looks candidates up in a :class:`Table`.

    :meth:`features` returns the table record's features (zero-cost proxies
    included, as they were computed when it was trained); :meth:`train`
    returns a record of this run with the table's metrics, learning curve and
    timings, and no network. A genome not in the table, or not in
    ``allowed``, raises :class:`~nasprior.errors.CandidateError` (a
    ``failed`` record in a search).

    Parameters
    ----------
    table : Table
    data : TaskData
        The task's shapes (:func:`placeholder_data`) or data.
    train_config : TrainConfig
        Written into the records (the table's own budget is what it answers with).
    run_id : str
    seed : int
    fidelity : str
    allowed : set of str, optional
        Keys a search may look up (default: every genome of the table).
    """

    def __init__(
        self,
        table: Table,
        data: TaskData,
        train_config: TrainConfig,
        run_id: str,
        seed: int,
        fidelity: str = "screen",
        allowed: set[str] | None = None,
    ):
        super().__init__(data, train_config, run_id, seed, fidelity)
        self.table = table
        self.allowed = allowed
        #: Lookups answered by :meth:`train` (the trainings a real search would have paid for).
        self.n_lookups = 0

    def _entry(self, genome: Genome) -> dict:
        record = self.table.lookup(genome)
        if record is None or (self.allowed is not None and record["key"] not in self.allowed):
            where = "in the table" if record is None else "among the genomes this benchmark allows"
            raise CandidateError(f"genome {genome.key} is not {where}")
        return record

    def features(self, genome: Genome) -> dict[str, float]:
        """The table record's features of ``genome``.

        Raises
        ------
        CandidateError
            If the genome is not in the table (or not allowed).
        """
        return dict(self._entry(genome)["features"])

    def train(self, genome: Genome, features: dict, generation: int | None = None) -> Evaluation:
        """A ``trained`` record with the table's metrics for ``genome`` (``failed`` if it is not in the table)."""
        try:
            entry = self._entry(genome)
        except CandidateError as exc:
            return self.failed(genome, features, generation, exc, time.perf_counter())
        self.n_lookups += 1
        extra: dict[str, Any] = {"table_run_id": entry.get("run_id"), "table_seed": entry.get("seed")}
        record = self.record(
            genome,
            "trained",
            features,
            dict(entry["metrics"]),
            generation,
            curve=entry.get("curve"),
            wall_time_s=entry.get("wall_time_s"),
            extra=extra,
        )
        return Evaluation(record, None)


def table_config(source: str | os.PathLike) -> dict[str, Any] | None:
    """The sample config stored beside a table's records (``config.json``), or None if there is none."""
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    return read_config(folder) if (folder / CONFIG_FILE).is_file() else None
