"""What every subcommand shares: the command registry, common options, name checks, threads."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from ..cores import available_cores
from ..errors import ConfigError, RecordError
from ..genome import Genome
from ..records import CONFIG_FILE, RECORDS_FILE, quarantine_bad_tail, read_config
from ..validation import parse_json, read_text

#: Subcommand handlers by name (filled by :func:`command`).
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
#: A run or predictor name: a plain directory name.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def command(name: str):
    """Register a subcommand handler under ``name``."""

    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


def common_options() -> argparse.ArgumentParser:
    """Parent parser of the options every training subcommand takes (``--threads``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch intra-op threads of this process (default: the cores available to it); "
        "give each of several side-by-side runs its share, e.g. --threads 1 for two runs on 2 cores",
    )
    return parent


def add_cluster_options(parser: argparse.ArgumentParser, default_help: str) -> None:
    """Add ``--workers [N]`` and ``--scheduler ADDRESS`` (Dask, :mod:`nasprior.parallel`) to a subcommand."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        nargs="?",
        const=0,
        metavar="N",
        help="evaluate candidates on a local Dask cluster of N worker processes, one torch thread each "
        f"(N omitted or 0: the cores available); {default_help}",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="evaluate candidates on a running Dask cluster, e.g. tcp://10.0.0.5:8786 (dask-jobqueue, "
        "Kubernetes or 'dask scheduler' + 'dask worker'); records are written here",
    )


def set_threads(args: argparse.Namespace) -> int:
    """Set torch's intra-op thread count from ``--threads`` (default: the available cores); return it.

    Raises
    ------
    ConfigError
        If ``--threads`` is below 1.
    """
    threads = getattr(args, "threads", None)
    threads = available_cores() if threads is None else threads
    if threads < 1:
        raise ConfigError(f"--threads {threads} is invalid: use 1 or more")
    torch.set_num_threads(threads)
    return threads


def check_name(value: str, option: str) -> str:
    """Return ``value`` if it is a plain directory name (no path, no ``..``).

    Raises
    ------
    ConfigError
        If it contains a path separator, starts with a dot, or is empty; the
        message says which option sets the parent directory.
    """
    if not NAME_PATTERN.fullmatch(value or "") or Path(value).name != value:
        parent = "--out" if option == "--name" else "--runs-dir"
        raise ConfigError(
            f"{option} {value!r} is not a plain name: use letters, digits and . _ + - only "
            f"(no '/', no leading '.'); choose the parent directory with {parent}"
        )
    return value


def genomes_argument(text: str, option: str) -> list[Genome]:
    """Genomes given on the command line: a JSON file or inline JSON, one genome object or a non-empty list.

    Raises
    ------
    ConfigError
        If the text is neither an existing file nor JSON, the file cannot be
        read, the JSON is malformed or nested too deeply, the list is empty,
        or a genome is invalid; the message names ``option``.
    """
    example = '\'{"prior": "gnp", "n_nodes": 32}\''
    if not text.lstrip().startswith(("{", "[")):
        try:
            exists = Path(text).exists()
        except (OSError, ValueError):  # a name too long, or a NUL byte: no such file
            exists = False
        if not exists:
            raise ConfigError(
                f"{option} {text!r:.80} is neither a file nor a JSON object: give a path or inline JSON like {example}"
            )
        text = read_text(text, f"{option} file", f"give a JSON file holding a genome like {example}")
    data = parse_json(text, option, f"give one genome object like {example}, or a list of them")
    items = data if isinstance(data, list) else [data]
    if not items:
        raise ConfigError(f"{option} holds an empty list: give at least one genome, like {example}")
    return [Genome.from_dict(item) for item in items]


def add_drop_bad_tail_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--drop-bad-tail`` (:func:`drop_bad_tails`) to a subcommand that reads record logs."""
    parser.add_argument(
        "--drop-bad-tail",
        action="store_true",
        help=f"{what}: move an unreadable end of records.jsonl to records.jsonl.bad and go on",
    )


def drop_bad_tails(run_dirs: list[str | os.PathLike], enabled: bool) -> None:
    """With ``--drop-bad-tail``, move the unreadable tail of each run's record log to ``records.jsonl.bad``.

    The search's mechanism (:func:`nasprior.records.quarantine_bad_tail`),
    shared by every command that reads record logs. Only folders holding a
    nasprior run (a readable ``config.json``) are touched; nothing is lost.

    Raises
    ------
    RecordError
        If a folder holding a record log is not a nasprior run.
    """
    if not enabled:
        return
    for run_dir in map(Path, run_dirs):
        if not (run_dir / RECORDS_FILE).is_file():
            continue
        if not (run_dir / CONFIG_FILE).is_file():
            raise RecordError(f"{run_dir} holds {RECORDS_FILE} but no {CONFIG_FILE}: it is not a nasprior run")
        read_config(run_dir)
        moved = quarantine_bad_tail(run_dir / RECORDS_FILE)
        if moved:
            print(f"moved {moved} unreadable line(s) to {run_dir / (RECORDS_FILE + '.bad')}", file=sys.stderr)
