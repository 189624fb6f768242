"""Command-line interface: ``nasprior <command> ...``, one module per command group.

* :mod:`~nasprior.cli.search`: ``search``;
* :mod:`~nasprior.cli.predictor`: ``sample``, ``predictor fit``, ``predict``;
* :mod:`~nasprior.cli.results`: ``report``, ``export``;
* :mod:`~nasprior.cli.experiments`: ``prune-mnist``, ``nnstd``.

Every user error (:class:`~nasprior.errors.NaspriorError`) is printed as one
line on standard error with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import NaspriorError
from . import experiments, predictor, results, search
from .base import COMMANDS

#: Modules whose ``add_commands(subparsers)`` adds subcommands, in ``--help`` order.
COMMAND_MODULES = (search, predictor, results, experiments)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nasprior`` command."""
    parser = argparse.ArgumentParser(
        prog="nasprior", description="Search sparse neural network structures from graph priors."
    )
    parser.add_argument("--version", action="version", version=f"nasprior {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nasprior`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except NaspriorError as exc:
        print(f"nasprior: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasprior: interrupted; resume with --resume RUN_DIR", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
