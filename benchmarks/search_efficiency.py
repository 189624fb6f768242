"""Does the predictor pay? Search strategies compared over seeds on a real, cheap task.

For each strategy (``ga``, ``ga-skip``, ``ga-screen``, ``random``) and each
seed, a full search on scikit-learn's digits (the default digits space and
budget: population 10, 5 generations, 20 epochs with early stopping) is run
and its trained candidates read in training order. Reported:

* trained candidates each strategy needed to reach the plain GA's final best
  validation accuracy (same seed), as a fraction of the plain GA's trained
  candidates: median and IQR over seeds (a strategy that never reaches it
  counts as its whole budget plus one, and the number of misses is shown);
* best validation accuracy after k trained candidates (anytime curves,
  median over seeds);
* for ``ga-skip``: the fraction of skipped offspring that would have entered
  the population, found by training them afterwards with the same budget and
  seed and comparing with the worst survivor of their generation.

Two worker processes with one torch thread each. Usage::

    python benchmarks/search_efficiency.py --seeds 10 --out benchmarks/results/search_efficiency.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nasprior.evaluation import Evaluator
from nasprior.genome import Genome
from nasprior.records import RecordLog
from nasprior.search import SearchConfig, run_search
from nasprior.space import SearchSpace, default_space_path
from nasprior.tasks import load_task
from nasprior.training import TrainConfig

STRATEGIES = ("ga", "ga-skip", "ga-screen", "random")
CHECKPOINTS = (10, 20, 30, 40, 50, 60)


def one_run(job: tuple[str, int, str]) -> dict:
    """Run one search; return its trained accuracies in order, and ga-skip's counterfactuals."""
    strategy, seed, root = job
    torch.set_num_threads(1)
    space = SearchSpace.from_toml(default_space_path("digits"))
    config = SearchConfig(
        task="digits",
        space=space.to_dict(),
        population=10,
        generations=5,
        train={**space.train, "seed": seed},
        skip=dict(space.search.get("skip", {})),
        seed=seed,
        run_id=f"{strategy}-{seed}",
        strategy=strategy,
    )
    data = load_task("digits", seed=seed)
    start = time.perf_counter()
    run_dir = Path(root) / f"{strategy}-{seed}"
    result = run_search(config, run_dir, data=data, log=lambda _: None)
    records = RecordLog(run_dir / "records.jsonl").read()
    out = {
        "strategy": strategy,
        "seed": seed,
        "wall_s": time.perf_counter() - start,
        "trained": [r["metrics"]["val_acc"] for r in records if r["status"] == "trained"],
        "n_skipped": sum(r["status"] == "skipped" for r in records),
    }
    if strategy == "ga-skip" and out["n_skipped"]:
        evaluator = Evaluator(data, TrainConfig(**config.train), "counterfactual", seed)
        worst = {g["generation"]: min_survivor(g) for g in result.generations}
        entered = 0
        for r in records:
            if r["status"] == "skipped":
                actual = evaluator.evaluate(Genome.from_dict(r["genome"])).record["metrics"]["val_acc"] or 0.0
                entered += actual > worst[r["generation"]]
        out["skipped_would_enter"] = entered
    return out


def min_survivor(summary: dict) -> float:
    """Accuracy a candidate had to beat to enter the population of a generation (its worst survivor)."""
    return summary["worst_val_acc"]


def needed(trained: list[float], target: float) -> int | None:
    """Trained candidates until the running best reaches ``target`` (None if never)."""
    best = -1.0
    for i, acc in enumerate(trained, start=1):
        best = max(best, acc)
        if best >= target - 1e-12:
            return i
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="write the per-run results as JSON")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        jobs = [(s, seed, root) for seed in range(args.seeds) for s in STRATEGIES]
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.workers) as pool:
            runs = pool.map(one_run, jobs, chunksize=1)
    by = {(r["strategy"], r["seed"]): r for r in runs}
    print(f"{len(runs)} searches in {time.perf_counter() - start:.0f} s ({args.workers} workers, 1 thread each)\n")
    print("Trained candidates to reach the plain GA's final best, as a fraction of the plain GA's trained candidates")
    print(f"{'strategy':<10} {'median':>7} {'IQR':>15} {'missed':>7} {'trained (mean)':>15} {'skipped (mean)':>15}")
    table = {}
    for s in STRATEGIES:
        fractions, misses = [], 0
        for seed in range(args.seeds):
            ga = by[("ga", seed)]["trained"]
            target, n_ga = max(ga), len(ga)
            n = needed(by[(s, seed)]["trained"], target)
            if n is None:
                misses += 1
                n = len(by[(s, seed)]["trained"]) + 1
            fractions.append(n / n_ga)
        q1, med, q3 = np.percentile(fractions, [25, 50, 75])
        table[s] = {"median": med, "q1": q1, "q3": q3, "missed": misses}
        print(
            f"{s:<10} {med:7.3f} {f'[{q1:.3f}, {q3:.3f}]':>15} {misses:7d} "
            f"{statistics.fmean(len(by[(s, k)]['trained']) for k in range(args.seeds)):15.1f} "
            f"{statistics.fmean(by[(s, k)]['n_skipped'] for k in range(args.seeds)):15.1f}"
        )
    print(
        "\nBest validation accuracy after k trained candidates (median over the seeds that trained k; "
        "in brackets how many of the seeds that is where not all)"
    )
    print(f"{'strategy':<10} " + " ".join(f"{f'k={k}':>14}" for k in CHECKPOINTS))
    for s in STRATEGIES:
        row = []
        for k in CHECKPOINTS:
            vals = [
                max(by[(s, seed)]["trained"][:k]) for seed in range(args.seeds) if len(by[(s, seed)]["trained"]) >= k
            ]
            cell = f"{statistics.median(vals):.4f}" if vals else "-"
            if vals and len(vals) < args.seeds:
                cell += f" ({len(vals)}/{args.seeds})"
            row.append(f"{cell:>14}")
        print(f"{s:<10} " + " ".join(row))
    skipped = [by[("ga-skip", seed)] for seed in range(args.seeds)]
    total = sum(r["n_skipped"] for r in skipped)
    entered = sum(r.get("skipped_would_enter", 0) for r in skipped)
    print(
        f"\nga-skip: {total} offspring skipped over {args.seeds} seeds; trained afterwards, {entered} "
        f"({entered / total if total else 0:.1%}) would have entered the population (beat its worst survivor)"
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"runs": runs, "table": table}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
