"""Command-line interface: ``nasprior <command> ...``.

* :mod:`~nasprior.cli.parsers`: every command's options (argparse only, no
  torch), and :data:`~nasprior.cli.parsers.HANDLERS`, the function that runs
  each command;
* :mod:`~nasprior.cli.search`: ``search``;
* :mod:`~nasprior.cli.predictor`: ``sample``, ``predictor fit``, ``predict``;
* :mod:`~nasprior.cli.results`: ``report``, ``export``;
* :mod:`~nasprior.cli.experiments`: ``prune-mnist``, ``nnstd``.

:func:`main` parses the command line first and imports the module of the
command's handler (and with it torch, scikit-learn...) only then, so
``--help`` and ``--version`` answer without them. Every user error
(:class:`~nasprior.errors.NaspriorError`, also one raised while the handler's
module is imported) is printed as one line on standard error with exit status
2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from ..errors import NaspriorError
from .parsers import HANDLERS, build_parser

__all__ = ["build_parser", "handler", "main"]


def handler(command: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs ``command``, importing its module on the way.

    Parameters
    ----------
    command : str
        A key of :data:`~nasprior.cli.parsers.HANDLERS` (``args.command``).

    Returns
    -------
    callable
        Takes the parsed namespace, returns the exit status.

    Raises
    ------
    KeyError
        If ``command`` has no handler (a parser without an entry in ``HANDLERS``).
    """
    module, _, function = HANDLERS[command].partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nasprior`` console script; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``nasprior`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for a user error (its message on standard error), 130
        when interrupted; ``--help``, ``--version`` and argument errors exit
        through argparse (:class:`SystemExit`, status 0 or 2).
    """
    args = build_parser().parse_args(argv)
    try:
        return handler(args.command)(args)
    except NaspriorError as exc:
        print(f"nasprior: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasprior: interrupted; resume with --resume RUN_DIR", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
