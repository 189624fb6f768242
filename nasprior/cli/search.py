"""``nasprior search``: run or resume a genetic search on a task."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..compute.parallel import check_scheduler_address, close_client, start_client
from ..compute.progress import SearchProgress
from ..errors import NaspriorError
from ..predictors.shipped import predictor_path
from ..runs.outputs import check_run_dir
from ..runs.records import read_config
from ..search import SearchConfig, check_space_search_table, run_search
from ..space import SearchSpace, default_space_path, space_path
from ..tasks import TASKS, get_task
from .base import check_name, set_threads

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
    "initial_factor",
    "final_top_k",
    "final_minutes",
    "final_epochs",
)


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
    ga_keys = (
        "population",
        "generations",
        "cxpb",
        "mutpb",
        "objectives",
        "strategy",
        "screen_factor",
        "initial_factor",
    )
    search = {k: v for k, v in space.search.items() if k in ga_keys}
    for option in ("population", "generations", "strategy", "screen_factor", "initial_factor"):
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
            predictor=None if args.no_predictor else predictor_path(args.predictor or space.search.get("predictor")),
            final=final,
            **search,
        ),
        "options",
    )
    return config, Path(args.runs_dir or "runs") / run_id


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
    if m.get("test_acc") is not None:  # a screening with score_test = false scores validation only
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
