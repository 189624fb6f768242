"""Dask workers with and without Dask's ``MALLOC_TRIM_THRESHOLD_``: the same torch tasks, timed in one run.

Run: ``python benchmarks/bench_dask_workers.py [--tasks 8] [--workers 2]``. Each task trains a 784-512-512-10
MLP for a fixed number of steps with one torch thread (about a second). Three ways, one after another in this
run: a ``multiprocessing`` pool, a Dask ``LocalCluster`` with Dask's default worker environment
(``MALLOC_TRIM_THRESHOLD_=65536``), and :func:`nasprior.compute.parallel.start_client`, which unsets it. Prints wall
time per way, the median seconds per task inside the workers, and the ratios.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

import torch
import torch.nn.functional as F
from distributed import Client, LocalCluster

from nasprior.compute.parallel import close_client, start_client


def torch_task(seed: int, steps: int = 60) -> tuple[float, str]:
    """Train a small MLP for ``steps`` steps; return (seconds, MALLOC_TRIM_THRESHOLD_ seen by the process)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    start = time.perf_counter()
    for _ in range(steps):
        x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start, os.environ.get("MALLOC_TRIM_THRESHOLD_", "unset")


def run_dask(n_tasks: int, workers: int, fast: bool) -> tuple[float, list[float], str]:
    if fast:
        client = start_client(workers)
    else:  # Dask's defaults
        client = Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
    try:
        client.run(torch_task, 0, 2)  # warm up: import torch in every worker
        start = time.perf_counter()
        results = client.gather(client.map(torch_task, range(n_tasks), pure=False))
        wall = time.perf_counter() - start
    finally:
        close_client(client)
    return wall, [r[0] for r in results], results[0][1]


def run_pool(n_tasks: int, workers: int) -> tuple[float, list[float], str]:
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(torch_task, range(workers), chunksize=1)  # warm up
        start = time.perf_counter()
        results = pool.map(torch_task, range(n_tasks), chunksize=1)
        wall = time.perf_counter() - start
    return wall, [r[0] for r in results], results[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    rows = [
        ("multiprocessing pool", run_pool(args.tasks, args.workers)),
        ("dask, default worker env", run_dask(args.tasks, args.workers, fast=False)),
        ("dask, nasprior.compute.parallel", run_dask(args.tasks, args.workers, fast=True)),
    ]
    base = rows[-1][1]
    print(f"{args.tasks} torch tasks on {args.workers} workers, one torch thread each")
    print(f"{'way':>26} {'wall s':>8} {'task s (median)':>16} {'task time / nasprior':>21}  MALLOC_TRIM_THRESHOLD_")
    for name, (wall, tasks, env) in rows:
        ratio = statistics.median(tasks) / statistics.median(base[1])
        print(f"{name:>26} {wall:8.2f} {statistics.median(tasks):16.3f} {ratio:21.2f}  {env}")


if __name__ == "__main__":
    main()
