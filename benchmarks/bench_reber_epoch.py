"""Seconds per training epoch of a recurrent graph-prior network on the released Reber set.

Trains a GRU network from a Barabasi-Albert graph (n = 30, m = 3, as
typical of Stier et al. 2021's n // 10 rule) for one epoch (Adam lr 1e-3,
batch 128, gradient clipping 5) on the 16,875 training strings of the
released set, with 1 and with 2 torch threads, and times one batch of the
wavefront forward pass (:meth:`RecurrentGraphNetwork.forward`) against the
per-layer fused-kernel reference (:meth:`RecurrentGraphNetwork.forward_layered`).

Usage::

    python benchmarks/bench_reber_epoch.py --data-dir ../shared/data [--threads 1 2] [--cell gru]

References
----------
J. Stier, H. Darji and M. Granitzer, "Experiments on Properties of Hidden
Structures of Sparse Neural Networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from nasprior.genome import Genome
from nasprior.recurrent import build_recurrent_network
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, train


def time_batch(fn, x, repeats: int = 5) -> float:
    """Median seconds of forward + backward of ``fn`` on batch ``x``."""
    fn(x).sum().backward()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x).sum().backward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("NASPRIOR_DATA", "../shared/data"))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cell", default="gru", choices=["rnn_tanh", "rnn_relu", "gru", "lstm"])
    parser.add_argument("--n-nodes", type=int, default=30)
    args = parser.parse_args()
    data = load_task("reber", args.data_dir, seed=0)
    genome = Genome(prior="barabasi_albert", n_nodes=args.n_nodes, m=max(1, args.n_nodes // 10), cell=args.cell, seed=0)
    torch.manual_seed(0)
    net = build_recurrent_network(genome, data.vocab_size, data.n_classes)
    print(f"{args.cell} network from {genome.prior}(n={genome.n_nodes}, m={genome.m}): layers "
          f"{[len(l) for l in net.node_layers]}, {len(net.skip_pairs)} skip pairs, {net.n_weights} weights, "
          f"{net.n_params} parameters; {len(data.x_train)} training strings, batch 128")
    for threads in args.threads:
        torch.set_num_threads(threads)
        xb = data.x_train[:128]
        wave, ref = time_batch(net.forward, xb), time_batch(net.forward_layered, xb)
        torch.manual_seed(0)
        net = build_recurrent_network(genome, data.vocab_size, data.n_classes)
        config = TrainConfig(epochs=1, batch_size=128, lr=1e-3, grad_clip=5.0, patience=0)
        result = train(net, data.x_train, data.y_train, data.x_val, data.y_val, config)
        print(f"threads={threads}: one epoch (train + validation) {result.train_time_s:.1f} s, val_acc "
              f"{result.val_acc:.4f}; one batch forward+backward: wavefront {wave * 1000:.1f} ms, "
              f"per-layer reference {ref * 1000:.1f} ms")


if __name__ == "__main__":
    main()
