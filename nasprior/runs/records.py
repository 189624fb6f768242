"""Run records: one JSON object per evaluated candidate, in an append-only log.

Records are read through :class:`Record`, which checks every field's type
against the record model of :mod:`nasprior.schema` (:class:`~nasprior.schema.RunRecord`)
and migrates records of older versions (genomes holding every gene, the
recurrent mapping called ``graph``); a wrong-schema line is refused with
the file, line and field named.

A run directory ``runs/<run-id>/`` holds

* ``config.json``: everything needed to resume the run;
* ``records.jsonl``: one line per evaluated candidate (see :func:`make_record`);
* ``best/``: the best network's weights (``model.pt``), genome and record;
* ``.lock``, ``.lock.holder``: the lock of the process writing the run (:class:`nasprior.runs.outputs.RunLock`).

Run directories are created and locked through :mod:`nasprior.runs.outputs` only.

Every later step (predictors, reports, resume) reads these files and nothing
else. Lines are only ever appended, each with one ``write`` followed by
``fsync``, so an interrupted run loses at most the line being written. A log
whose last line is unreadable is refused with a clear message; nothing is
deleted unless the user asks (:func:`quarantine_bad_tail` moves the bad tail
to a side file).
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import deap
import networkx
import numpy
import sklearn
import torch

from .._version import __version__
from ..errors import NaspriorError, RecordError
from ..genome import Genome
from .outputs import CONFIG_FILE
from ..schema import STATUSES, check_record, record_error
from ..validation import read_json

RECORDS_FILE = "records.jsonl"
SCHEMA_VERSION = 1
#: Fidelity of a search's screening records (records without the field are screening records too).
SCREEN_FIDELITY = "screen"
#: Fidelity of the records of a search's full training of its survivors.
FINAL_FIDELITY = "final"


def is_screening(record: dict) -> bool:
    """Whether a record's metrics come from a search's screening budget.

    True for ``fidelity`` ``"screen"`` and for records without the field
    (written before fidelities were recorded); False for ``"final"``,
    ``"sample"`` and any other fidelity. A search's predictor learns only
    from screening records, so it never mixes fidelities.
    """
    return record.get("fidelity") in (None, SCREEN_FIDELITY)


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a result."""
    return {
        "nasprior": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "networkx": networkx.__version__,
        "sklearn": sklearn.__version__,
        "deap": deap.__version__,
    }


def make_record(
    *,
    run_id: str,
    genome: Any,
    task: str,
    status: str,
    features: dict[str, float],
    metrics: dict[str, float | None],
    generation: int | None = None,
    seed: int = 0,
    train: dict | None = None,
    curve: list[dict] | None = None,
    wall_time_s: float = 0.0,
    error: str | None = None,
    fidelity: str | None = None,
    extra: dict | None = None,
) -> dict[str, Any]:
    """Build one record (a JSON-able dict) for an evaluated candidate.

    Parameters
    ----------
    run_id : str
    genome : Genome
        The candidate; stored as a dict with its ``key``.
    task : str
    status : {"trained", "skipped", "failed"}
    features : dict of str to float
        Structural and size features (see :mod:`nasprior.features`).
    metrics : dict
        ``val_acc``, ``test_acc`` (trained), ``predicted_val_acc`` (skipped).
    generation : int, optional
        Generation in which the candidate was first evaluated.
    seed : int
        Seed of weight initialisation and batch order.
    train : dict, optional
        Training configuration (the budget).
    curve : list of dict, optional
        Learning curve, one dict per epoch.
    wall_time_s : float
        Seconds spent on the candidate (building, features, training).
    error : str, optional
        Why a failed candidate failed.
    fidelity : str, optional
        The budget the metrics come from: ``"screen"`` (a search's screening
        budget, ``train``), ``"final"`` (its full training of survivors) or
        ``"sample"``; predictors never mix fidelities.
    extra : dict, optional
        Further fields merged into the record.

    Raises
    ------
    RecordError
        If ``status`` is not one of :data:`STATUSES`.
    """
    if status not in STATUSES:
        raise RecordError(f"record status {status!r} is invalid: use one of {', '.join(STATUSES)}")
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "key": genome.key,
        "genome": genome.to_dict(),
        "task": task,
        "generation": generation,
        "seed": seed,
        "status": status,
        "value_source": "trained" if status == "trained" else ("predicted" if status == "skipped" else None),
        "features": features,
        "metrics": metrics,
        "train": train or {},
        "curve": curve or [],
        "wall_time_s": round(wall_time_s, 4),
        "error": error,
        "fidelity": fidelity,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
    }
    record.update(extra or {})
    return record


class RecordLog:
    """Append-only JSON-lines log of records (``runs/<run-id>/records.jsonl``).

    Parameters
    ----------
    path : path-like
        The ``.jsonl`` file; its directory is created on the first append. A
        ``.jsonl.gz`` file (a shipped data set) can be read, not appended to.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as a single line and flush it to disk (``fsync``).

        Raises
        ------
        RecordError
            If the log cannot be written (permissions, full disk); the
            message names the candidate that was not logged.
        """
        line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise RecordError(
                f"cannot append to {self.path} ({exc.strerror or exc}): candidate {record.get('key')} "
                "was evaluated but not logged; make the run directory writable and resume the run"
            ) from None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.read())

    def read(self) -> list[dict[str, Any]]:
        """All records, in order.

        Returns
        -------
        list of dict
            Empty if the file does not exist.

        Raises
        ------
        RecordError
            If a line cannot be parsed; the message gives the file, the line
            number, how many records before it are intact, and how to go on.
        """
        if not self.path.exists():
            return []
        records = []
        opener = gzip.open if self.path.suffix == ".gz" else open  # a shipped data set's compressed records
        try:
            with opener(self.path, "rt", encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except (OSError, EOFError) as exc:  # a directory, no permission, a truncated or corrupt .gz
            raise RecordError(
                f"cannot read the record log {self.path} ({getattr(exc, 'strerror', None) or exc}): it must be the file of "
                "JSON lines nasprior wrote; restore it, or start a new run"
            ) from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "key" not in record or "status" not in record:
                    raise ValueError("not a record object")
            except (ValueError, RecursionError) as exc:  # a torn or garbled line: most likely an interrupted write
                where = "last line" if number == len(lines) else f"line {number} of {len(lines)}"
                raise RecordError(
                    f"{self.path}: the {where} is unreadable ({exc}); the {len(records)} records before it are intact. "
                    "It is most likely a write cut off by an interrupted run. Rerun the command with --drop-bad-tail "
                    "(a search: --resume RUN_DIR --drop-bad-tail) to move "
                    f"line {number} onwards to {self.path.name}.bad and keep everything else."
                ) from None
            records.append(Record.check(record, f"{self.path}, line {number}"))
        return records


def quarantine_bad_tail(path: str | os.PathLike) -> int:
    """Move the first unreadable line of a record log, and all after it, to ``<name>.bad``.

    Nothing is lost: the bad lines are appended to the side file.

    Returns
    -------
    int
        Number of lines moved (0 if the log reads cleanly).
    """
    path = Path(path)
    if not path.exists():
        return 0
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.readlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if isinstance(record, dict) and "key" in record and "status" in record:
                continue
        except (ValueError, RecursionError):
            pass
        with open(path.with_name(path.name + ".bad"), "a", encoding="utf-8") as bad:
            bad.writelines(lines[i:])
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(lines[:i]), encoding="utf-8")
        os.replace(tmp, path)
        return len(lines) - i
    return 0


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """Read ``config.json`` of a run directory.

    Raises
    ------
    RecordError
        If the directory or its config is missing or is not valid JSON.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise RecordError(
            f"{run_dir} is not a run directory (no {CONFIG_FILE}): give a folder under runs/ made by 'nasprior search'"
        )
    return read_json(path, "run config", "restore it or start a new run", RecordError)


def write_config(run_dir: str | os.PathLike, config: dict[str, Any]) -> None:
    """Write ``config.json`` of a run directory (atomically)."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(CONFIG_FILE + ".tmp")
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise RecordError(f"cannot write {path} ({exc.strerror or exc}): choose a writable --runs-dir") from None


#: Sequence tasks, whose old records name the recurrent mapping ``graph``.
_SEQUENCE_TASKS = ("reber", "reber_generated", "reber_embedded")


class Record:
    """The schema of a record, checked on read (:meth:`check`).

    A record is a JSON object with at least ``key`` (str), ``status`` (one of
    :data:`STATUSES`), ``genome`` (a valid genome), ``task`` (str),
    ``metrics`` (str to finite number or null) and ``features`` (str to
    finite number or null); ``generation`` is an int or null; a trained
    record has a ``metrics.val_acc``, a skipped one a
    ``metrics.predicted_val_acc``. Other fields (curve, versions, timings,
    ...) are kept as they are. The fields are checked by the pydantic model
    :class:`nasprior.schema.RunRecord`; the genome by
    :meth:`nasprior.genome.Genome.from_dict`.

    Records of earlier versions are migrated on read: the genome keeps only
    the genes its prior and mapping read (:meth:`nasprior.genome.Genome.from_dict`),
    a sequence task's ``graph`` mapping becomes ``recurrent``, and ``key`` is
    recomputed (the old key is kept as ``legacy_key``).
    """

    @staticmethod
    def check(data: Any, where: str) -> dict[str, Any]:
        """Validate (and migrate) one record.

        Parameters
        ----------
        data : object
            A parsed JSON line.
        where : str
            File and line, for messages.

        Returns
        -------
        dict
            The record, migrated to the current genome layout.

        Raises
        ------
        RecordError
            Naming ``where`` and the first bad field, and what to do.
        """
        data = check_record(data, where)
        genome_data = dict(data["genome"])
        if data["task"] in _SEQUENCE_TASKS and genome_data.get("mapping", "graph") == "graph":
            genome_data["mapping"] = "recurrent"  # before mappings had a registry, recurrent nets were 'graph'
        try:
            genome = Genome.from_dict(genome_data)
        except NaspriorError as exc:
            raise record_error(where, "genome", f"is invalid ({exc})") from None
        if genome.to_dict() != data["genome"] or genome.key != data["key"]:
            data = {**data, "genome": genome.to_dict(), "key": genome.key, "legacy_key": data["key"]}
        return data


def status_text(record: dict) -> str:
    """Short text of a record's outcome for progress lines.

    Shows validation accuracy only: test accuracy stays in the record and in
    the final report of the best candidate, so nobody selects on it by eye.
    """
    m = record["metrics"]
    if record["status"] == "trained":
        return f"val {m['val_acc']:.4f}, {int(record['features']['n_weights'])} weights, {record['wall_time_s']:.1f} s"
    if record["status"] == "skipped":
        return f"skipped (predicted val {m['predicted_val_acc']:.4f})"
    return "failed: " + (record.get("error") or "").splitlines()[0]
