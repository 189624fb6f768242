"""CPU seconds of each zero-cost proxy (:mod:`nasprior.features.proxies`) on default candidates.

Plain script: ``python benchmarks/bench_proxies.py [--repeat R] [--threads T ...] [--data-dir DIR]``.

Networks, built as a run builds them (:func:`nasprior.networks.build_network`, seed 0):
default CIFAR-10 CNNs (16 channels, 3 stages, gnp(p = 0.5) of 4 and 6 nodes, ops
``conv`` and ``sep_conv``) and digits MLPs (layered 2 x 128, and the 64-node
graph-as-network). Each proxy runs on the run's minibatch (:func:`proxy_batch`,
64 training examples, seed 0); a line gives, per network and thread count, the
best-of-R wall seconds and process CPU seconds (all threads) of each proxy and
of all five (:func:`proxy_features`). Thread counts other than 1 are measured
only while the 1-minute load average is below 0.5 (a quiet machine), else
skipped with a note. Writes ``benchmarks/results/bench_proxies.txt``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from nasprior.features.proxies import grad_norm, jacob_cov, naswot, proxy_batch, proxy_features, snip, synflow
from nasprior.genome import Genome
from nasprior.networks import build_network
from nasprior.tasks import load_task

RESULT = Path(__file__).resolve().parent / "results" / "bench_proxies.txt"
PROXIES = {
    "naswot": lambda net, x, y: naswot(net, x),
    "synflow": lambda net, x, y: synflow(net, x),
    "snip": snip,
    "grad_norm": grad_norm,
    "jacob_cov": lambda net, x, y: jacob_cov(net, x),
    "all five": proxy_features,
}
NETWORKS = {
    "cifar10": [
        ("cnn 4 nodes conv", dict(mapping="convolutional", n_nodes=4, op="conv")),
        ("cnn 6 nodes conv", dict(mapping="convolutional", n_nodes=6, op="conv")),
        ("cnn 6 nodes sep_conv", dict(mapping="convolutional", n_nodes=6, op="sep_conv")),
    ],
    "digits": [
        ("mlp layered 2x128", dict(mapping="layered", n_nodes=32, n_layers=2, width=128)),
        ("mlp graph 64 nodes", dict(mapping="graph", n_nodes=64)),
    ],
}


def timed(fn, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` wall and process CPU seconds of ``fn()``."""
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall, best_cpu = min(best_wall, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data-dir", default=os.environ.get("NASPRIOR_DATA", "/work/shared/data"))
    args = parser.parse_args()
    lines = [
        f"# bench_proxies: best of {args.repeat}, torch {torch.__version__}, {os.cpu_count()} CPUs; "
        "wall s / process CPU s per proxy (batch 64, seed 0)",
        f"# load average at start: {os.getloadavg()[0]:.2f}",
    ]
    print("\n".join(lines), flush=True)
    for task, networks in NETWORKS.items():
        data = load_task(task, args.data_dir, seed=0)
        x, y = proxy_batch(data.x_train, data.y_train, seed=0)
        for name, genes in networks:
            torch.manual_seed(0)
            net = build_network(Genome(prior="gnp", p=0.5, channels=16, n_stages=3, seed=0, **genes), data.shape)
            n_params = sum(p.numel() for p in net.parameters())
            for threads in args.threads:
                load = os.getloadavg()[0]
                if threads > 1 and load >= 0.5:
                    line = f"{task:8s} {name:22s} threads {threads}: skipped, load average {load:.2f} (not quiet)"
                    print(line, flush=True)
                    lines.append(line)
                    continue
                torch.set_num_threads(threads)
                cells = []
                for proxy, fn in PROXIES.items():
                    wall, cpu = timed(lambda fn=fn: fn(net, x, y), args.repeat)
                    cells.append(f"{proxy} {wall:.3f}/{cpu:.3f}")
                line = f"{task:8s} {name:22s} {n_params:>8,d} params threads {threads} (load {load:.2f}): " + ", ".join(
                    cells
                )
                print(line, flush=True)
                lines.append(line)
    lines.append(f"# load average at end: {os.getloadavg()[0]:.2f}")
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written: {RESULT}")


if __name__ == "__main__":
    main()
