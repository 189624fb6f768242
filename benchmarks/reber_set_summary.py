"""Summary table of the Reber benchmark set: per cell type and prior, mean accuracies next to Stier et al. (2021).

Usage::

    python benchmarks/reber_set_summary.py datasets/reber-rnn/records.jsonl.gz

Prints a Markdown table (the one in ``datasets/reber-rnn/README.md``): trained networks, mean test accuracy, mean
accuracy on the hard negatives (strings of Reber letters that break the grammar), how many reach 0.9 on them, and
the median wall time per network.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from reber_seed_noise import read_records  # benchmarks/ is on the path when run as a script

NAMES = {
    "gru": "GRU",
    "lstm": "LSTM",
    "rnn_relu": "RNN-ReLU",
    "rnn_tanh": "RNN-tanh",
    "barabasi_albert": "Barabási–Albert",
    "gnp": "Erdős–Rényi (gnp)",
    "watts_strogatz": "Watts–Strogatz",
}


def line(label: str, rows: list[dict]) -> str:
    test = [r["metrics"]["test_acc"] for r in rows]
    hard = [r["metrics"]["test_acc_hard_neg"] for r in rows]
    wall = [r["wall_time_s"] for r in rows]
    return (
        f"| {label} | {len(rows)} | {statistics.fmean(test):.3f} | {statistics.fmean(hard):.3f} | "
        f"{sum(h >= 0.9 for h in hard)} | {statistics.median(wall):.0f} s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path)
    args = parser.parse_args()
    rows = read_records(args.records)
    print("| | n | mean test accuracy | mean hard-negative accuracy | hard negatives >= 0.9 | median wall time |")
    print("| --- | --- | --- | --- | --- | --- |")
    for gene in ("cell", "prior"):
        for value in sorted({r["genome"][gene] for r in rows}):
            print(line(NAMES.get(value, value), [r for r in rows if r["genome"][gene] == value]))
    print(line("all", rows))
    print("\nGRU per prior (Stier et al. 2021, 15 epochs: 0.93 Barabási–Albert, 0.98 Watts–Strogatz):")
    for prior in sorted({r["genome"]["prior"] for r in rows}):
        sub = [r for r in rows if r["genome"]["prior"] == prior and r["genome"]["cell"] == "gru"]
        if sub:
            print(
                f"  {NAMES.get(prior, prior)}: mean test {statistics.fmean(r['metrics']['test_acc'] for r in sub):.3f} "
                f"({len(sub)} networks)"
            )


if __name__ == "__main__":
    main()
