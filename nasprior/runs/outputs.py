"""The one checked path by which commands create what they write: run directories, run locks, output files.

nasprior never writes into or over what it did not create:

* a **run directory** (``runs/<run-id>/``) is created only if it is absent
  (or empty), or, for a command that continues runs (``search --resume``,
  ``sample``), if it holds a run of the same kind, named by the ``kind``
  marker of its ``config.json`` (:func:`run_kind`). A folder of someone's
  files, or a run of another kind, is refused before anything is written
  (:func:`check_run_dir`, then :func:`create_run_dir` once every input has
  been validated);
* a run is **locked** for the life of the process that writes it
  (:class:`RunLock`, an exclusive ``filelock`` lock on ``<run>/.lock``, with
  the holder's pid, host and command in ``<run>/.lock.holder``), so a second
  search, resume or sample on the same run stops at once with one message
  naming the holder instead of training and logging every candidate twice;
* an **output file** given with ``--out`` (a report, an ONNX export) is
  replaced only if nasprior wrote it for the same purpose (a marker in the
  file, checked by the caller's ``owned`` test); it is checked writable before
  the work starts (:func:`check_output_file`) and written atomically
  (:func:`write_output`);
* an **output directory** (a predictor's) is used only if absent, empty, or
  already of that kind (:func:`check_output_dir`).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import filelock

from ..errors import RecordError, RunDirError
from ..validation import read_json

CONFIG_FILE = "config.json"
#: The lock file of a run directory (held by :class:`RunLock`).
LOCK_FILE = ".lock"
#: Who holds the lock: pid, host, command and start time, as JSON.
HOLDER_FILE = ".lock.holder"
#: Files of a run directory that do not make it "hold something" (the lock's own files, a write probe).
HOUSEKEEPING_FILES = (LOCK_FILE, HOLDER_FILE, ".write-test")
#: Kind of a run whose config.json has no ``kind`` marker: searches written before the marker.
LEGACY_KIND = "search"


def run_kind(run_dir: str | os.PathLike) -> str | None:
    """Kind of run a directory holds (``"search"``, ``"sample"``, ``"prune-mnist"``), or None for no run.

    The kind is the ``kind`` field of ``config.json``; an older run without it
    is a ``"prune-mnist"`` run if it names an ``experiment``, else a search.
    A directory without a readable ``config.json`` object naming a ``task``, ``kind`` or ``experiment``
    holds no run.
    """
    try:
        config = json.loads((Path(run_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(config, dict) or not {"task", "kind", "experiment"} & config.keys():
        return None
    kind = config.get("kind") or config.get("experiment") or LEGACY_KIND
    return kind if isinstance(kind, str) else None


def _contents(path: Path) -> list[str]:
    """Names in a directory other than :data:`HOUSEKEEPING_FILES`."""
    return sorted(p.name for p in path.iterdir() if p.name not in HOUSEKEEPING_FILES)


def _check_writable(path: Path, subject: str, option: str) -> None:
    """Refuse ``path`` (a directory to be created or written) unless its nearest existing ancestor is writable."""
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise RunDirError(f"cannot write {subject}: {existing} is not a directory; choose another {option}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"cannot write {subject}: {existing} is not writable; choose a writable {option}")


def check_run_dir(run_dir: str | os.PathLike, kind: str, *, resume: bool = False, locked: bool = False) -> str | None:
    """Refuse a run directory this command may not create or continue; create nothing.

    Parameters
    ----------
    run_dir : path-like
    kind : str
        The kind of run the command writes (``"search"``, ``"sample"``, ``"prune-mnist"``).
    resume : bool
        Whether an existing run of the same kind may be continued (``sample``
        reruns); a new search or experiment needs an absent or empty directory.
    locked : bool
        Whether the caller holds the run's lock (:class:`RunLock`) already;
        otherwise a run locked by another process is refused, naming it.

    Returns
    -------
    str or None
        ``kind`` if the directory holds a run of that kind (to be continued), else None.

    Raises
    ------
    RunDirError
        If the path is a file, holds files that are not a run of this kind (a
        user's folder, another kind of run, a run that may not be continued),
        or cannot be created or written, or another process holds its lock;
        nothing is written.
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} is a file, not a run directory: nothing was written; choose another --run-id")
    # A run being written by another process: name its holder, whatever this command would do with it.
    if not locked and (path / LOCK_FILE).is_file():
        RunLock(path, kind).probe()
    if path.is_dir() and _contents(path):
        found = run_kind(path)
        if found is None and resume and (path / CONFIG_FILE).is_file():  # say what is wrong with the run's config
            read_json(path / CONFIG_FILE, "run config", "restore it or start a new run", RecordError)
        if found is None:
            raise RunDirError(
                f"{path} exists and is not an empty nasprior run directory: nothing was written; choose another --run-id"
            )
        if found != kind:
            advice = (
                "give a run made by 'nasprior search'" if resume and kind == "search" else "choose another --run-id"
            )
            raise RunDirError(f"{path} holds a {found} run, not a {kind} run: nothing was written; {advice}")
        if not resume:
            advice = f"resume it with --resume {path}" if kind == "search" else "remove it"
            raise RunDirError(f"{path} holds a {found} run: nothing was written; choose another --run-id, or {advice}")
        _check_writable(path, f"run directory {path}", "--runs-dir")
        return found
    _check_writable(path, f"run directory {path}", "--runs-dir")
    return None


def create_run_dir(run_dir: str | os.PathLike) -> Path:
    """Create a run directory (and its parents) after :func:`check_run_dir`, and prove it writable.

    Raises
    ------
    RunDirError
        If the directory cannot be created or written (permissions, a
        read-only file system, a full disk).
    """
    path = Path(run_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(
            f"cannot write to run directory {path} ({exc.strerror or exc}): choose a writable --runs-dir"
        ) from None
    return path


class RunLock:
    """Exclusive lock of a run directory for the life of the process that writes it.

    An ``flock`` (``filelock.FileLock``) on ``<run_dir>/.lock``, taken without
    waiting; the holder writes its pid, host, command and start time to
    ``<run_dir>/.lock.holder`` so that a second process can name it. The
    operating system releases the lock when the holder exits, even if it is
    killed, so a stale holder file never blocks a run.

    Parameters
    ----------
    run_dir : path-like
        An existing run directory.
    command : str
        What holds the lock (e.g. ``"search"``), for the second process's message.

    Raises
    ------
    RunDirError
        On entering, if another process holds the lock (message: its pid,
        host, command and start time; exit status 2 at the command line), or
        the lock file cannot be created.
    """

    def __init__(self, run_dir: str | os.PathLike, command: str):
        self.run_dir = Path(run_dir)
        self.command = command
        self._lock = filelock.FileLock(self.run_dir / LOCK_FILE, timeout=0, thread_local=False)

    def holder(self) -> str:
        """Who holds the lock, as text (from the holder file; ``"another process"`` if unreadable)."""
        try:
            info = json.loads((self.run_dir / HOLDER_FILE).read_text(encoding="utf-8"))
            return f"pid {info['pid']} on {info['host']} ('nasprior {info['command']}', since {info['since']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def probe(self) -> None:
        """Raise :class:`RunDirError` naming the holder if another process holds the lock; take nothing.

        Raises
        ------
        RunDirError
            If the lock is held.
        """
        with self._acquired():
            pass

    def _acquired(self) -> Any:
        try:
            return self._lock.acquire()
        except filelock.Timeout:
            raise RunDirError(
                f"{self.run_dir} is in use by {self.holder()}: wait until it finishes (or stop it), "
                "then run again; or choose another --run-id"
            ) from None
        except OSError as exc:
            raise RunDirError(
                f"cannot lock run directory {self.run_dir} ({exc.strerror or exc}): choose a writable --runs-dir"
            ) from None

    def __enter__(self) -> RunLock:
        self._acquired()
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "argv": sys.argv[1:],
        }
        try:
            (self.run_dir / HOLDER_FILE).write_text(json.dumps(info) + "\n", encoding="utf-8")
        except OSError:
            pass  # the lock holds without its label; a second process then names "another process"
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            (self.run_dir / HOLDER_FILE).unlink(missing_ok=True)
        except OSError:
            pass
        self._lock.release()


def check_output_file(path: str | os.PathLike, owned: Callable[[Path], bool], what: str) -> Path:
    """Refuse an output file that exists and was not written by nasprior for this purpose; create nothing.

    Parameters
    ----------
    path : path-like
        The file to write (e.g. ``--out``).
    owned : callable
        ``owned(path) -> bool``: whether an existing file is one nasprior
        wrote for this purpose (e.g. carries the report's marker), so it may
        be replaced.
    what : str
        What the file is, with its article (``"a report"``, ``"an ONNX export"``), for the message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    RunDirError
        If ``path`` is a directory, exists and is not ``owned``, or its
        directory cannot be created or written; the file is left unchanged.
    """
    path = Path(path)
    if path.is_dir():
        raise RunDirError(f"--out {path} is a directory: give a file name")
    if path.exists() and not owned(path):
        raise RunDirError(
            f"--out {path} exists and is not {what} written by nasprior: it was left unchanged; "
            "give another --out, or remove the file first"
        )
    _check_writable(path.parent, str(path), "--out")
    return path


def write_output(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Write an output file atomically: ``write(tmp)`` fills a temporary file beside it, then it replaces ``path``.

    Call :func:`check_output_file` first. A failed write leaves ``path`` as it was.

    Raises
    ------
    RunDirError
        If the directory cannot be created or the file cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")  # same suffix: writers may read it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise RunDirError(f"cannot write {path} ({exc.strerror or exc}): choose a writable --out") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_output_dir(path: str | os.PathLike, owned: Callable[[Path], bool], what: str, *, replace: bool) -> Path:
    """Refuse an output directory that holds files other than a ``what`` nasprior wrote; create nothing.

    Parameters
    ----------
    path : path-like
    owned : callable
        ``owned(path) -> bool``: whether the directory holds a ``what`` nasprior wrote.
    what : str
        E.g. ``"predictor"``.
    replace : bool
        Whether an existing ``what`` may be replaced (``--force``).

    Raises
    ------
    RunDirError
        If ``path`` is a file, holds a ``what`` and ``replace`` is False, holds
        other files, or cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path} is a file, not a {what} directory: nothing was written; choose another --name")
    if path.is_dir() and _contents(path):
        if not owned(path):
            raise RunDirError(
                f"{path} exists and does not hold a {what}: nothing was written; choose another --name or --out"
            )
        if not replace:
            raise RunDirError(f"{path} already holds a {what}: choose another --name, or pass --force to replace it")
    _check_writable(path, f"{what} directory {path}", "--out")
    return path
