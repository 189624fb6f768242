"""Label noise of the Reber benchmark set: the same genome retrained with other seeds, and the R² it allows.

A predictor sees a genome's structure, never the weight initialisation or
the order of the training batches, so the spread of a genome's accuracy over
seeds is noise no structural predictor can explain. For each cell type this
script picks ``--per-cell`` genomes of the set (of ``--cells``, default all;
at evenly spaced quantiles of the cell's accuracy, lowest to highest), retrains each with
``--seeds`` other seeds (weight initialisation and batch order; data split
unchanged) at the set's own budget, and reports

* per genome: the metric over the seeds (the set's seed-0 record included),
  its standard deviation and range;
* per cell: the pooled within-genome variance of the metric, the metric's
  variance over the whole set, and the ceiling ``1 - within / total`` on the
  R² any predictor of structure can reach (Stier, Darji & Granitzer 2021
  report structural R² up to 0.81 on their Reber set).

Every retraining is appended to ``--out`` (JSON lines) as it ends, so an
interrupted run resumes where it stopped; the chosen genomes are kept beside
it (``<out>.selection.json``) so that a resumed run retrains the same ones
while the set grows.

Usage::

    python benchmarks/reber_seed_noise.py --records runs/reber-paper-budget/records.jsonl \
        --data-dir ../shared/data --out benchmarks/results/reber_seed_noise.jsonl
    # 10 genomes each of the two cells the paper's R² targets name
    python benchmarks/reber_seed_noise.py --records datasets/reber-rnn/records.jsonl.gz --data-dir ../shared/data \
        --per-cell 10 --cells gru lstm --out benchmarks/results/reber_seed_noise_gru_lstm.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from pathlib import Path

import torch

from nasprior.evaluation import Evaluator
from nasprior.genome import Genome
from nasprior.tasks import load_task
from nasprior.training import TrainConfig

METRICS = ("val_acc", "test_acc", "test_acc_hard_neg")
CELLS = ("rnn_tanh", "rnn_relu", "gru", "lstm")


def read_records(path: Path) -> list[dict]:
    """Trained records of a JSON-lines file (gzip if the name ends in .gz); unreadable lines are skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("status") == "trained":
                out.append(record)
    return out


def pick(records: list[dict], per_cell: int, metric: str, cells: list[str] | None = None) -> list[dict]:
    """``per_cell`` records of each cell type (of ``cells``; default all) at evenly spaced quantiles of ``metric``."""
    chosen = []
    for cell in sorted({r["genome"]["cell"] for r in records} & set(cells or CELLS)):
        rows = sorted(
            (r for r in records if r["genome"]["cell"] == cell), key=lambda r: (r["metrics"][metric], r["key"])
        )
        if per_cell == 1:
            idx = [len(rows) // 2]
        else:
            idx = sorted({round(i * (len(rows) - 1) / (per_cell - 1)) for i in range(per_cell)})
        chosen += [rows[i] for i in idx]
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=Path, required=True, help="records of the set (records.jsonl or .jsonl.gz)")
    parser.add_argument("--data-dir", default=os.environ.get("NASPRIOR_DATA", "../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/reber_seed_noise.jsonl"))
    parser.add_argument("--per-cell", type=int, default=3, help="genomes per cell type (default 3: 12 in all)")
    parser.add_argument("--cells", nargs="+", choices=CELLS, help="cell types to pick genomes of (default all)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 2], help="seeds besides the set's own (default 1 2)"
    )
    parser.add_argument("--metric", default="val_acc", choices=METRICS, help="metric of the ceiling (default val_acc)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = read_records(args.records)
    if not records:
        parser.error(f"{args.records} holds no trained record")
    selection = args.out.with_suffix(".selection.json")  # the genomes, fixed at the first call (the set may grow)
    if selection.exists():
        keys = json.loads(selection.read_text(encoding="utf-8"))
        by_key = {r["key"]: r for r in records}
        missing = [k for k in keys if k not in by_key]
        if missing:
            parser.error(
                f"{args.records} lacks genome(s) {', '.join(missing)} chosen in {selection}: give the records "
                "the selection was made from, or delete the selection to start over"
            )
        chosen = [by_key[k] for k in keys]
    else:
        chosen = pick(records, args.per_cell, args.metric, args.cells)
        selection.parent.mkdir(parents=True, exist_ok=True)
        selection.write_text(json.dumps([r["key"] for r in chosen], indent=1) + "\n", encoding="utf-8")
    done = {}
    if args.out.exists():
        for line in args.out.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                done[(row["key"], row["seed"])] = row
            except (ValueError, KeyError):
                continue  # a torn last line of an interrupted run: that training is redone
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = load_task("reber", args.data_dir, seed=0)
    todo = [(r, s) for r in chosen for s in args.seeds if (r["key"], s) not in done]
    print(
        f"{len(records)} trained records; {len(chosen)} genomes x {len(args.seeds)} seeds; {len(todo)} to train "
        f"({len(done)} already in {args.out}); {args.threads} torch thread(s)",
        flush=True,
    )
    for i, (record, seed) in enumerate(todo, 1):
        train = {**record["train"], "seed": seed}
        evaluator = Evaluator(data, TrainConfig(**train), "seed-noise", seed, fidelity="sample")
        genome = Genome.from_dict(record["genome"])
        start = time.perf_counter()
        result = evaluator.train(genome, record["features"]).record
        row = {
            "key": record["key"],
            "seed": seed,
            "genome": record["genome"],
            "status": result["status"],
            "metrics": result["metrics"],
            "wall_time_s": round(time.perf_counter() - start, 1),
        }
        with args.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()
            os.fsync(f.fileno())
        done[(record["key"], seed)] = row
        print(
            f"  [{i}/{len(todo)}] {record['key'][:8]} {genome.cell} seed {seed}: "
            + ", ".join(f"{m} {row['metrics'].get(m, float('nan')):.4f}" for m in METRICS)
            + f" ({row['wall_time_s']:.0f} s)",
            flush=True,
        )
    report(records, chosen, done, args.seeds, args.metric)


def report(records: list[dict], chosen: list[dict], done: dict, seeds: list[int], metric: str) -> None:
    """Print the per-genome spread and the per-cell R² ceiling."""
    print(f"\nper genome ({metric}: seed 0 from the set, then seeds {' '.join(map(str, seeds))}):")
    within: dict[str, list[float]] = {}
    for record in chosen:
        values = [record["metrics"][metric]] + [
            done[(record["key"], s)]["metrics"][metric]
            for s in seeds
            if (record["key"], s) in done and done[(record["key"], s)]["status"] == "trained"
        ]
        if len(values) < 2:
            continue
        g = record["genome"]
        sd = statistics.stdev(values)
        within.setdefault(g["cell"], []).append(statistics.variance(values))
        print(
            f"  {g['cell']:<8} {g['prior']:<16} n={g['n_nodes']:<3} "
            + " ".join(f"{v:.4f}" for v in values)
            + f"  sd {sd:.4f}  range {max(values) - min(values):.4f}"
        )
    print(f"\nR2 ceiling per cell: 1 - (mean within-genome variance) / (variance of {metric} over the set)")
    print(f"  {'cell':<8} {'genomes':>7} {'within sd':>9} {'set sd':>8} {'n set':>6} {'ceiling':>8}")
    pooled = []
    for cell, variances in sorted(within.items()):
        values = [r["metrics"][metric] for r in records if r["genome"]["cell"] == cell]
        total = statistics.variance(values)
        noise = statistics.fmean(variances)
        pooled += variances
        print(
            f"  {cell:<8} {len(variances):>7} {noise**0.5:>9.4f} {total**0.5:>8.4f} {len(values):>6} "
            f"{1 - noise / total:>8.3f}"
        )
    if pooled:  # over the records of the studied cells only
        values = [r["metrics"][metric] for r in records if r["genome"]["cell"] in within]
        total = statistics.variance(values)
        noise = statistics.fmean(pooled)
        print(
            f"  {'pooled':<8} {len(pooled):>7} {noise**0.5:>9.4f} {total**0.5:>8.4f} {len(values):>6} "
            f"{1 - noise / total:>8.3f}"
        )


if __name__ == "__main__":
    main()
