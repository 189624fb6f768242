"""``nasprior search``: run or resume a genetic search on a task."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..errors import NaspriorError
from ..outputs import check_run_dir
from ..parallel import check_scheduler_address, close_client, start_client
from ..progress import SearchProgress
from ..records import read_config
from ..search import OBJECTIVES, STRATEGIES, SearchConfig, check_space_search_table, run_search
from ..space import SearchSpace, default_space_path, space_path
from ..tasks import TASKS, get_task
from .base import add_cluster_options, check_name, command, common_options, set_threads

#: Options that define a run; a resumed run takes them from its config.json.
RUN_OPTIONS = (
    "task",
    "space",
    "population",
    "generations",
    "epochs",
    "batch_size",
    "lr",
    "set_zeta",
    "seed",
    "runs_dir",
    "run_id",
    "no_skip",
    "skip_quantile",
    "skip_warmup",
    "skip_min_r2",
    "skip_interval",
    "predictor",
    "download",
    "device",
    "strategy",
    "objectives",
    "screen_factor",
    "final_top_k",
    "final_minutes",
    "final_epochs",
)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    p = sub.add_parser(
        "search",
        parents=[common_options()],
        help="genetic search over sparse graph-prior networks",
        description="Genetic search over sparse graph-prior networks. Defaults come from the task's "
        "shipped search space (nasprior/spaces/<task>.toml); options given here override them. A resumed run "
        "(--resume) takes every setting from its config.json; only --data-dir, --threads, --workers, "
        "--scheduler and --drop-bad-tail go with it.",
    )
    p.add_argument("--task", help=f"{', '.join(TASKS)} (not with --resume)")
    p.add_argument("--data-dir", help="directory holding the data sets (default: $NASPRIOR_DATA, else ./data)")
    p.add_argument(
        "--download", action="store_true", default=None, help="fetch a missing data set from its official source"
    )
    p.add_argument(
        "--space",
        help="search space: a TOML file, or a shipped space by name, e.g. cifar10_mlp (default: the task's shipped space)",
    )
    p.add_argument("--population", type=int, help="individuals per generation")
    p.add_argument("--generations", type=int, help="generations after the initial one")
    p.add_argument("--epochs", type=int, help="training budget per candidate, in epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument(
        "--set-zeta",
        type=float,
        help="SET (Mocanu et al. 2018): fraction of each hidden layer's weights rewired after every epoch",
    )
    p.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help="where candidates train (default auto: CUDA if present)"
    )
    p.add_argument(
        "--final-top-k",
        type=int,
        help="survivors trained fully after the screening (0: none; default: the space's [final] top_k)",
    )
    p.add_argument(
        "--final-epochs",
        type=int,
        help="epochs of the full training of each survivor (default: the space's [final] epochs)",
    )
    p.add_argument(
        "--final-minutes",
        type=float,
        help="time budget of each survivor's full training, in minutes: its first final epoch is timed and "
        "the epochs that fit (at most --final-epochs) are chosen and logged (default 0: no time budget, "
        "the [final] epochs, the same on every run)",
    )
    p.add_argument("--seed", type=int, help="seed of the GA, validation split and weights (default 0)")
    p.add_argument("--runs-dir", help="parent of run directories (default: runs)")
    p.add_argument("--run-id", help="name of the run directory (default: <task>-<time>-s<seed>)")
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run without retraining logged candidates"
    )
    p.add_argument(
        "--drop-bad-tail",
        action="store_true",
        help="with --resume: move an unreadable end of records.jsonl to records.jsonl.bad and go on",
    )
    p.add_argument("--no-skip", action="store_true", default=None, help="train every offspring (no predictor skipping)")
    p.add_argument("--skip-quantile", type=float, help="skip offspring predicted below this quantile of the population")
    p.add_argument("--skip-warmup", type=int, help="trained candidates before the predictor may skip")
    p.add_argument("--skip-min-r2", type=float, help="minimum cross-validated R2 of the predictor to skip")
    p.add_argument(
        "--skip-interval",
        type=float,
        metavar="LEVEL",
        help="skip only when the upper bound of the predictor's LEVEL conformal interval (e.g. 0.8) is "
        "below the threshold (default 0: the point prediction)",
    )
    p.add_argument(
        "--predictor",
        metavar="DIR",
        help="stored predictor (nasprior predictor fit) that skips offspring "
        "from the first generation, until the run's own predictor is usable",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="ga-skip (default): GA whose predictor skips poor offspring; ga: train every offspring; "
        "ga-screen: breed --screen-factor times more offspring, train those the predictor ranks best; "
        "random: random search at the same budget",
    )
    p.add_argument("--screen-factor", type=int, help="ga-screen: offspring bred per trained offspring (default 10)")
    p.add_argument(
        "--objectives",
        help=f"comma-separated, accuracy first: {', '.join(OBJECTIVES)} "
        "(more than one: NSGA-II and a Pareto front; default accuracy)",
    )
    add_cluster_options(p, "default: train in this process")


def resumed_config(args: argparse.Namespace) -> tuple[SearchConfig, Path]:
    """The config of the run to resume; refuses options that would change it."""
    given = [f"--{name.replace('_', '-')}" for name in RUN_OPTIONS if getattr(args, name) is not None]
    if given:
        raise NaspriorError(
            f"--resume takes its settings from the run's config.json; {', '.join(given)} cannot "
            "change it: leave them out (only --data-dir, --threads, --workers, --scheduler and --drop-bad-tail go with --resume)"
        )
    run_dir = Path(args.resume)
    check_run_dir(run_dir, "search", resume=True)  # a sample's or experiment's run is named as such
    stored = read_config(run_dir)
    if stored.get("kind") == "sample" or "experiment" in stored:
        what = "a sample run" if stored.get("kind") == "sample" else f"a {stored['experiment']} run"
        again = "rerun its 'nasprior sample' command (same --run-id)" if "kind" in stored else "start a new search"
        raise NaspriorError(f"{run_dir} is {what}, not a search: 'search --resume' cannot continue it; {again}")
    if args.data_dir:
        stored["data_dir"] = str(Path(args.data_dir).resolve())
    return SearchConfig.from_dict(stored, str(run_dir / "config.json")), run_dir


def new_config(args: argparse.Namespace) -> tuple[SearchConfig, Path]:
    """The config of a new run from the options and the task's search space."""
    if not args.task:
        raise NaspriorError(f"give --task (one of {', '.join(TASKS)}), or --resume RUN_DIR")
    task = get_task(args.task)
    space = SearchSpace.from_toml(space_path(args.space) if args.space else default_space_path(task.space))
    check_space_search_table(space)
    seed = 0 if args.seed is None else args.seed
    train = dict(space.train)
    for option in ("epochs", "batch_size", "lr", "set_zeta", "device"):
        if getattr(args, option) is not None:
            train[option] = getattr(args, option)
    train["seed"] = seed
    skip = dict(space.search.get("skip", {}))
    for option, key in (
        ("skip_quantile", "quantile"),
        ("skip_warmup", "warmup"),
        ("skip_min_r2", "min_r2"),
        ("skip_interval", "interval"),
    ):
        if getattr(args, option) is not None:
            skip[key] = getattr(args, option)
    if args.no_skip:
        skip["enabled"] = False
    run_id = (
        check_name(args.run_id, "--run-id") if args.run_id else f"{args.task}-{time.strftime('%Y%m%d-%H%M%S')}-s{seed}"
    )
    final = dict(space.final)
    for option, key in (("final_top_k", "top_k"), ("final_epochs", "epochs"), ("final_minutes", "minutes")):
        if getattr(args, option) is not None:
            final[key] = getattr(args, option)
    search = {
        k: v
        for k, v in space.search.items()
        if k in ("population", "generations", "cxpb", "mutpb", "objectives", "strategy", "screen_factor")
    }
    for option in ("population", "generations", "strategy", "screen_factor"):
        if getattr(args, option) is not None:
            search[option] = getattr(args, option)
    if args.objectives is not None:
        search["objectives"] = [o.strip() for o in args.objectives.split(",") if o.strip()]
    config = SearchConfig.from_dict(
        dict(
            task=args.task,
            space=space.to_dict(),
            train=train,
            skip=skip,
            seed=seed,
            data_dir=str(Path(args.data_dir).resolve()) if args.data_dir else None,
            download=bool(args.download),
            run_id=run_id,
            predictor=str(Path(args.predictor).resolve()) if args.predictor else None,
            final=final,
            **search,
        ),
        "options",
    )
    return config, Path(args.runs_dir or "runs") / run_id


@command("search")
def cmd_search(args: argparse.Namespace) -> int:
    """Run or resume a search and print the best candidate."""
    set_threads(args)
    config, run_dir = resumed_config(args) if args.resume else new_config(args)
    if args.scheduler:
        check_scheduler_address(args.scheduler)
    check_run_dir(run_dir, "search", resume=bool(args.resume))  # before a Dask cluster starts; run_search checks again
    print(f"run directory: {run_dir}", flush=True)
    start = time.perf_counter()
    client = None
    if args.workers is not None or args.scheduler:
        client = start_client(args.workers or None, args.scheduler)
        print(f"Dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}", flush=True)
    try:
        with SearchProgress(config.population * (config.generations + 1)) as progress:
            result = run_search(
                config,
                run_dir,
                resume=bool(args.resume),
                log=progress.log,
                progress=progress,
                client=client,
                drop_bad_tail=bool(args.drop_bad_tail),
            )
    finally:
        if client is not None:
            close_client(client)
    elapsed = time.perf_counter() - start
    print(
        f"\nsearch finished in {elapsed:.1f} s; screening: {result.n_trained} trained, {result.n_skipped} skipped "
        f"by the predictor, {result.n_failed} failed; final: {sum(r['status'] == 'trained' for r in result.final)} "
        f"of {len(result.final)} survivors trained"
    )
    best = result.best
    if best is None:
        print("no candidate was trained successfully")
        return 1
    f, m = best["features"], best["metrics"]
    print("best candidate at the screening budget (highest validation accuracy):")
    print(f"  genome:           {json.dumps(best['genome'], sort_keys=True)}")
    print(f"  key:              {best['key']}")
    print(f"  val accuracy:     {m['val_acc']:.4f}")
    print(f"  test accuracy:    {m['test_acc']:.4f}")
    print(f"  non-zero weights: {int(f['n_weights'])} ({int(f['n_params'])} parameters with biases)")
    print(f"  density:          {f['network_density']:.4f}")
    final = [r for r in result.final if r["status"] == "trained"]
    if result.final:
        epochs = final[0]["train"].get("epochs") if final else "?"
        print(
            f"\nfully trained survivors ({len(final)} of {len(result.final)} trained, budget {epochs} epochs, "
            "each from a seed of its own; screening rank order). The validation accuracy is measured on the split "
            "that selected the candidate (optimistic); the test accuracy is the unbiased estimate:"
        )
        print(
            f"  {'key':16}  {'val':>6}  {'test':>6}  {'screen val':>10}  {'epochs':>6}  {'seconds':>7}  "
            f"{'params':>9}  {'MFLOPs':>8}  genome"
        )
        for r in result.final:
            if r["status"] != "trained":
                print(f"  {r['key']:16}  failed")
                continue
            fm, ff = r["metrics"], r["features"]
            print(
                f"  {r['key']:16}  {fm['val_acc']:6.4f}  {fm['test_acc']:6.4f}  {r.get('screen_val_acc', float('nan')):10.4f}  "
                f"{r.get('epochs_run', 0):6d}  {r.get('wall_time_s', 0.0):7.1f}  "
                f"{int(ff['n_params']):9d}  {ff.get('n_flops', float('nan')) / 1e6:8.2f}  {json.dumps(r['genome'], sort_keys=True)}"
            )
    if final:
        top = max(final, key=lambda r: r["metrics"]["val_acc"])
        print(f"best fully trained (by validation): {top['key']}, test accuracy {top['metrics']['test_acc']:.4f}")
    print(f"  weights:          {result.run_dir / 'best' / 'model.pt'}")
    if len(config.objectives) > 1:
        print(
            f"Pareto front ({', '.join(config.objectives)}; {len(result.pareto_front)} trained candidates, "
            f"saved to {result.run_dir / 'pareto.json'}):"
        )
        for r in sorted(result.pareto_front, key=lambda r: -r["metrics"]["val_acc"]):
            f = r["features"]
            flops = f", {int(f['n_flops'])} FLOPs" if f.get("n_flops") is not None else ""
            print(
                f"  {r['key']} val {r['metrics']['val_acc']:.4f}, {int(f['n_weights'])} weights, "
                f"density {f['network_density']:.4f}{flops}"
            )
    return 0
