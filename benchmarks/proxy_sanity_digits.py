"""Sanity check of the zero-cost proxies on real candidates: Spearman of each proxy, and of n_params, against val_acc.

Plain script: ``python benchmarks/proxy_sanity_digits.py RUN_DIR`` on the records of one default
digits search (``nasprior search --task digits --threads 1 --runs-dir /tmp/runs --run-id digits-proxies``).
Uses the screening records that trained; a record without proxies (a run of an older version) gets
them recomputed exactly as the run's evaluator would (:meth:`nasprior.evaluation.Evaluator.proxies`,
the run's weight seed and minibatch). Prints, per column, the number of candidates with a finite
value and Spearman's rho (with its two-sided p-value) against the validation accuracy, and writes
``benchmarks/results/proxy_sanity_digits.txt``. A check, not a test: 30-odd candidates of one run.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from scipy.stats import spearmanr

from nasprior.evaluation import Evaluator
from nasprior.features import PROXY_FEATURE_NAMES
from nasprior.genome import Genome
from nasprior.tasks import load_task
from nasprior.training import TrainConfig

RESULT = Path(__file__).resolve().parent / "results" / "proxy_sanity_digits.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args()
    config = json.loads((args.run_dir / "config.json").read_text())
    records = [json.loads(line) for line in (args.run_dir / "records.jsonl").read_text().splitlines() if line]
    trained = [
        r
        for r in records
        if r["status"] == "trained"
        and r.get("fidelity", "screen") == "screen"
        and r["metrics"].get("val_acc") is not None
    ]
    missing = [r for r in trained if not set(PROXY_FEATURE_NAMES) <= set(r["features"])]
    if missing:
        data = load_task(config["task"], seed=config["seed"])
        evaluator = Evaluator(data, TrainConfig(**config["train"]), "check", seed=config["seed"])
        for r in missing:
            r["features"].update(evaluator.proxies(Genome.from_dict(r["genome"])))
    acc = [r["metrics"]["val_acc"] for r in trained]
    lines = [
        f"# proxy_sanity_digits: run {args.run_dir.name}, task {config['task']}, seed {config['seed']}, "
        f"{len(trained)} trained screening candidates ({len(missing)} with proxies recomputed); "
        f"val_acc {min(acc):.4f}-{max(acc):.4f}",
        f"# {'column':18s} {'n':>3s} {'spearman':>9s} {'p':>8s}",
    ]
    for name in ("n_params", *PROXY_FEATURE_NAMES):
        pairs = [
            (r["features"].get(name), a)
            for r, a in zip(trained, acc)
            if isinstance(r["features"].get(name), (int, float)) and math.isfinite(r["features"][name])
        ]
        if len(pairs) < 3:
            lines.append(f"  {name:18s} {len(pairs):3d} {'-':>9s} {'-':>8s}")
            continue
        rho, p = spearmanr([v for v, _ in pairs], [a for _, a in pairs])
        lines.append(f"  {name:18s} {len(pairs):3d} {rho:9.3f} {p:8.3g}")
    print("\n".join(lines))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written: {RESULT}")


if __name__ == "__main__":
    main()
