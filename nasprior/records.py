"""Run records: one JSON object per evaluated candidate, in an append-only log.

A run directory ``runs/<run-id>/`` holds

* ``config.json``: everything needed to resume the run;
* ``records.jsonl``: one line per evaluated candidate (see :func:`make_record`);
* ``best/``: the best network's weights (``model.pt``), genome and record.

Every later step (predictors, reports, resume) reads these files and nothing
else. Lines are only ever appended, each with one ``write`` followed by
``fsync``, so an interrupted run loses at most the line being written. A log
whose last line is unreadable is refused with a clear message; nothing is
deleted unless the user asks (:func:`quarantine_bad_tail` moves the bad tail
to a side file).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import RecordError

RECORDS_FILE = "records.jsonl"
CONFIG_FILE = "config.json"
#: Record statuses: trained fully, skipped by the predictor, or failed.
STATUSES = ("trained", "skipped", "failed")
SCHEMA_VERSION = 1


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape a result."""
    import deap
    import networkx
    import numpy
    import sklearn
    import torch

    from . import __version__

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
        The ``.jsonl`` file; its directory is created on the first append.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as a single line and flush it to disk."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

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
        with open(self.path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "key" not in record or "status" not in record:
                    raise ValueError("not a record object")
            except ValueError as exc:
                where = "last line" if number == len(lines) else f"line {number} of {len(lines)}"
                raise RecordError(
                    f"{self.path}: the {where} is unreadable ({exc}); the {len(records)} records before it are intact. "
                    "It is most likely a write cut off by an interrupted run. Resume with --drop-bad-tail to move "
                    f"line {number} onwards to {self.path.name}.bad and keep everything else."
                ) from None
            records.append(record)
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
        except ValueError:
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
        raise RecordError(f"{run_dir} is not a run directory (no {CONFIG_FILE}): give a folder under runs/ made by 'nasprior search'")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise RecordError(f"{path} is not valid JSON ({exc}): restore it or start a new run") from None


def write_config(run_dir: str | os.PathLike, config: dict[str, Any]) -> None:
    """Write ``config.json`` of a run directory (atomically)."""
    path = Path(run_dir) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
