"""What the subcommand handlers share: name checks, genome arguments, threads, bad record tails.

The options themselves are defined in :mod:`nasprior.cli.parsers` (no torch there).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import torch

from ..compute.cores import available_cores
from ..errors import ConfigError, RecordError
from ..genome import Genome
from ..runs.records import CONFIG_FILE, RECORDS_FILE, quarantine_bad_tail, read_config
from ..validation import parse_json, read_text

#: A run or predictor name: a plain directory name.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


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


def drop_bad_tails(run_dirs: list[str | os.PathLike], enabled: bool) -> None:
    """With ``--drop-bad-tail``, move the unreadable tail of each run's record log to ``records.jsonl.bad``.

    The search's mechanism (:func:`nasprior.runs.records.quarantine_bad_tail`),
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
