"""Which screening fidelity ranks candidates as the final training does, per CPU-second?

Reads one run of final-fidelity labels (``nasprior sample --final``: the
space's ``[final]`` budget) and any number of screening runs (``nasprior
sample`` at candidate screening budgets, ideally with ``--replicates`` so
that each has second seeds) and prints, per screening run, over the genomes
it shares with the final run:

* Spearman rho and Kendall tau between the screening validation accuracy and
  the final test (and validation) accuracy;
* the screening's seed noise: the sd of one seed's accuracy, from the genomes
  trained twice (sd of the two seeds' difference / sqrt 2), and the Spearman
  between its two seeds;
* its cost: worker seconds per candidate (each worker one torch thread) and
  seconds per candidate on 2 cores (two workers), from the records'
  ``wall_time_s``.

The screening settings (epochs, subset, width, batch) are read from each
run's ``config.json``. Usage::

    python benchmarks/fidelity_study.py --final runs/cifar10-fidelity-final \\
        --screen runs/cifar10-cnn runs/cifar10-fidelity-e6 | tee benchmarks/results/cifar10_fidelity.txt
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np
from scipy import stats

from nasprior.genome import Genome
from nasprior.runs.tabular import Table, table_config

SETTINGS = ("epochs", "train_subset", "batch_size", "width_multiplier", "stem_pool", "lr", "schedule")


def correlations(a: list[float], b: list[float]) -> dict[str, float]:
    """Spearman rho and Kendall tau of two paired lists (NaN when fewer than 3 pairs)."""
    if len(a) < 3:
        return {"spearman": float("nan"), "kendall": float("nan"), "n": len(a)}
    return {
        "spearman": float(stats.spearmanr(a, b).statistic),
        "kendall": float(stats.kendalltau(a, b).statistic),
        "n": len(a),
    }


def study(final: Table, screen: Table, workers: int) -> dict:
    """Rank agreement of one screening table with the final labels, its seed noise and its cost."""
    # pairs by network (Table.lookup): a final label of a genome that builds a network the screening table
    # holds under another genome is that network's label
    pairs_by_key = {}
    for key, record in sorted(final.by_key.items()):
        found = screen.lookup(Genome.from_dict(record["genome"]))
        if found is not None:
            pairs_by_key[key] = found
    shared = sorted(pairs_by_key)
    s_val = [float(pairs_by_key[k]["metrics"]["val_acc"]) for k in shared]
    out = {
        "vs_final_test": correlations(s_val, [float(final.by_key[k]["metrics"]["test_acc"]) for k in shared]),
        "vs_final_val": correlations(s_val, [float(final.by_key[k]["metrics"]["val_acc"]) for k in shared]),
    }
    pairs = [(screen.by_key[k], reps[0]) for k, reps in screen.replicates.items() if k in screen.by_key]
    if pairs:
        a = np.array([float(p[0]["metrics"]["val_acc"]) for p in pairs])
        b = np.array([float(p[1]["metrics"]["val_acc"]) for p in pairs])
        out["seed_sd"] = float(np.std(a - b, ddof=1) / 2**0.5) if len(pairs) > 1 else float("nan")
        out["seed_to_seed"] = correlations(list(a), list(b))
    out["n_seed_pairs"] = len(pairs)
    # cost over the genomes compared (a table's mean over its whole space would weigh other genomes)
    walls = [float(pairs_by_key[k].get("wall_time_s") or 0.0) for k in shared]
    out["worker_s"] = statistics.fmean(walls)
    out["s_per_candidate_2_cores"] = out["worker_s"] / workers
    out["spread_sd"] = float(np.std([float(r["metrics"]["val_acc"]) for r in screen.by_key.values()]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--final", required=True, help="run of final-fidelity labels (nasprior sample --final)")
    parser.add_argument("--screen", nargs="+", required=True, help="screening runs (nasprior sample)")
    parser.add_argument("--workers", type=int, default=2, help="workers (cores) the cost is spread over (default 2)")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args()
    final = Table.read(args.final)
    test = [float(r["metrics"]["test_acc"]) for r in final.by_key.values()]
    print(
        f"final labels {args.final}: {len(final)} genomes, test accuracy {min(test):.4f}..{max(test):.4f}, "
        f"{statistics.fmean(float(r.get('wall_time_s') or 0) for r in final.by_key.values()) / 60:.1f} worker-min each"
    )
    header = (
        f"{'screening run':<34} {'settings':<34} {'n':>3} {'rho test':>8} {'tau test':>8} {'rho val':>8} "
        f"{'seed sd':>8} {'pairs':>5} {'rho s-s':>8} {'s/cand':>7}"
    )
    print(header)
    results = {}
    for run in args.screen:
        config = table_config(run) or {}
        train = config.get("train", {})
        settings = " ".join(f"{k}={train[k]}" for k in SETTINGS if k in train)
        res = study(final, Table.read(run), args.workers)
        results[run] = {**res, "settings": {k: train[k] for k in SETTINGS if k in train}}
        s2s = res.get("seed_to_seed", {}).get("spearman", float("nan"))
        print(
            f"{Path(run).name:<34} {settings[:34]:<34} {res['vs_final_test']['n']:>3} "
            f"{res['vs_final_test']['spearman']:8.3f} {res['vs_final_test']['kendall']:8.3f} "
            f"{res['vs_final_val']['spearman']:8.3f} {res.get('seed_sd', float('nan')):8.4f} {res['n_seed_pairs']:>5} "
            f"{s2s:8.3f} "
            f"{res['s_per_candidate_2_cores']:7.1f}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
