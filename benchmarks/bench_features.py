"""Seconds per graph of :func:`nasprior.features.structural_features` and of all graph features.

Plain script: ``python benchmarks/bench_features.py [--repeat R] [--networkx] [--sizes N ...]``.
Prints one line per graph: family, nodes, edges, best-of-R wall-clock seconds
and the process CPU seconds (all threads) of the 28 structural features, and
best-of-R wall-clock seconds of :func:`nasprior.features.graph_features` (all
structural, profile and Weisfeiler-Lehman features: what every candidate
gets), and the 1-minute load average before and after, since a busy shared
machine inflates wall time. ``--networkx`` forces the scipy/networkx fallback
instead of rustworkx.

Graphs (seeded): Erdős–Rényi G(n, p) with mean degree ~40 (capped to the
target edge counts of the brief: 20,000 edges at 512 nodes, 30,000 at 1,000,
50,000 at 2,000), Watts–Strogatz (k = n // 5 capped at 60, p = 1, as in
Stier et al.), and Barabási–Albert (m = max(1, n // 10) capped at 30).
"""

from __future__ import annotations

import argparse
import os
import time

import networkx as nx

from nasprior import features as F
from nasprior.features import structural as S

TARGET_EDGES = {64: 400, 256: 4000, 512: 20000, 1000: 30000, 2000: 50000}


def graphs(n: int):
    """The benchmark graphs of ``n`` nodes: (name, graph) pairs."""
    p = min(1.0, 2.0 * TARGET_EDGES[n] / (n * (n - 1)))
    yield "gnp", nx.gnp_random_graph(n, p, seed=n)
    yield "ws", nx.connected_watts_strogatz_graph(n, min(n // 5, 60), 1.0, seed=n)
    yield "ba", nx.barabasi_albert_graph(n, min(max(1, n // 10), 30), seed=n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of R runs (default 3)")
    parser.add_argument("--networkx", action="store_true", help="force the networkx fallback")
    parser.add_argument("--sizes", type=int, nargs="*", default=sorted(TARGET_EDGES))
    args = parser.parse_args()
    use_rx = S.rx is not None and not args.networkx
    print(f"backend: {'rustworkx ' + S.rx.__version__ if use_rx else 'scipy/networkx'}")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'graph':6s} {'nodes':>6s} {'edges':>7s} {'wall s':>8s} {'cpu s':>8s} {'all s':>8s}")
    for n in args.sizes:
        for name, graph in graphs(n):
            best, cpu = float("inf"), float("inf")
            for _ in range(args.repeat):
                start, start_cpu = time.perf_counter(), time.process_time()
                S._structural_features(graph, use_rustworkx=use_rx)
                wall = time.perf_counter() - start
                if wall < best:
                    best, cpu = wall, time.process_time() - start_cpu
            every = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                F.graph_features(graph)
                every = min(every, time.perf_counter() - start)
            print(f"{name:6s} {n:6d} {graph.number_of_edges():7d} {best:8.3f} {cpu:8.3f} {every:8.3f}", flush=True)
    print(f"load average (1 min): {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
