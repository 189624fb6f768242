"""Command-line interface: ``nasprior <command> ...``.

Commands
--------
search
    Genetic search over graph-prior networks on a task (``--task cifar10``).

Every user error (:class:`~nasprior.errors.NaspriorError`) is printed as one
line on standard error with exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from .errors import NaspriorError

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}
#: Modules whose ``add_commands(subparsers)`` adds further subcommands.
COMMAND_MODULES: tuple[str, ...] = ("nasprior.predictor_cli", "nasprior.experiments")


def command(name: str):
    """Register a subcommand handler under ``name``."""

    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="genetic search over sparse graph-prior networks",
                       description="Genetic search over sparse graph-prior networks. Defaults come from the task's "
                       "search space (search_spaces/<task>.toml); options given here override them.")
    p.add_argument("--task", help="cifar10, mnist, digits, reber, reber_generated or reber_embedded "
                   "(not needed with --resume)")
    p.add_argument("--data-dir", help="directory holding the data sets (default: $NASPRIOR_DATA, else ./data)")
    p.add_argument("--download", action="store_true", help="fetch a missing data set from its official source")
    p.add_argument("--space", help="search space TOML file (default: search_spaces/<task>.toml)")
    p.add_argument("--population", type=int, help="individuals per generation")
    p.add_argument("--generations", type=int, help="generations after the initial one")
    p.add_argument("--epochs", type=int, help="training budget per candidate, in epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--set-zeta", type=float,
                   help="SET (Mocanu et al. 2018): fraction of each hidden layer's weights rewired after every epoch")
    p.add_argument("--seed", type=int, default=0, help="seed of the GA, validation split and weights (default 0)")
    p.add_argument("--runs-dir", default="runs", help="parent of run directories (default: runs)")
    p.add_argument("--run-id", help="name of the run directory (default: <task>-<time>-s<seed>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run without retraining logged candidates")
    p.add_argument("--drop-bad-tail", action="store_true",
                   help="with --resume: move an unreadable end of records.jsonl to records.jsonl.bad and go on")
    p.add_argument("--no-skip", action="store_true", help="train every offspring (no predictor skipping)")
    p.add_argument("--skip-quantile", type=float, help="skip offspring predicted below this quantile of the population")
    p.add_argument("--skip-warmup", type=int, help="trained candidates before the predictor may skip")
    p.add_argument("--skip-min-r2", type=float, help="minimum cross-validated R2 of the predictor to skip")
    p.add_argument("--predictor", metavar="DIR", help="stored predictor (nasprior predictor fit) that skips offspring "
                   "from the first generation, until the run's own predictor is usable")


@command("search")
def cmd_search(args: argparse.Namespace) -> int:
    """Run or resume a search and print the best candidate."""
    from .records import quarantine_bad_tail, read_config
    from .search import SearchConfig, run_search
    from .space import SearchSpace, default_space_path
    from .tasks import TASKS, check_task

    if args.resume:
        run_dir = Path(args.resume)
        stored = read_config(run_dir)
        if args.drop_bad_tail:
            moved = quarantine_bad_tail(run_dir / "records.jsonl")
            if moved:
                print(f"moved {moved} unreadable line(s) to {run_dir / 'records.jsonl.bad'}", file=sys.stderr)
        config = SearchConfig(**stored)
    else:
        if not args.task:
            raise NaspriorError(f"give --task (one of {', '.join(TASKS)}), or --resume RUN_DIR")
        check_task(args.task)
        space = SearchSpace.from_toml(args.space or default_space_path(args.task))
        train = dict(space.train)
        for option, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"), ("set_zeta", "set_zeta")):
            if getattr(args, option) is not None:
                train[key] = getattr(args, option)
        train["seed"] = args.seed
        skip = {k: v for k, v in space.search.get("skip", {}).items()}
        for option, key in (("skip_quantile", "quantile"), ("skip_warmup", "warmup"), ("skip_min_r2", "min_r2")):
            if getattr(args, option) is not None:
                skip[key] = getattr(args, option)
        if args.no_skip:
            skip["enabled"] = False
        run_id = args.run_id or f"{args.task}-{time.strftime('%Y%m%d-%H%M%S')}-s{args.seed}"
        config = SearchConfig(
            task=args.task, space=space.to_dict(),
            population=args.population if args.population is not None else space.search.get("population", 10),
            generations=args.generations if args.generations is not None else space.search.get("generations", 5),
            train=train, skip=skip, seed=args.seed,
            data_dir=str(Path(args.data_dir).resolve()) if args.data_dir else None,
            download=args.download, run_id=run_id,
            predictor=str(Path(args.predictor).resolve()) if args.predictor else None,
        )
        run_dir = Path(args.runs_dir) / run_id
    print(f"run directory: {run_dir}", flush=True)
    start = time.perf_counter()
    result = run_search(config, run_dir, resume=bool(args.resume), log=lambda line: print(line, flush=True))
    elapsed = time.perf_counter() - start
    print(f"\nsearch finished in {elapsed:.0f} s: {result.n_trained} trained, {result.n_skipped} skipped by the "
          f"predictor, {result.n_failed} failed")
    best = result.best
    if best is None:
        print("no candidate was trained successfully")
        return 1
    f, m = best["features"], best["metrics"]
    print("best candidate (highest validation accuracy):")
    print(f"  genome:           {json.dumps(best['genome'], sort_keys=True)}")
    print(f"  key:              {best['key']}")
    print(f"  val accuracy:     {m['val_acc']:.4f}")
    print(f"  test accuracy:    {m['test_acc']:.4f}")
    print(f"  non-zero weights: {int(f['n_weights'])} ({int(f['n_params'])} parameters with biases)")
    print(f"  density:          {f['network_density']:.4f}")
    print(f"  weights:          {result.run_dir / 'best' / 'model.pt'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nasprior`` command."""
    parser = argparse.ArgumentParser(prog="nasprior", description="Search sparse neural network structures from graph priors.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_search(sub)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
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
