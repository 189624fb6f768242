"""Seconds per training epoch, accuracy and learning curves of recurrent graph-prior networks on the released Reber set.

Three modes, each run in one process so old and new are measured side by side:

``levers`` (default)
    One epoch (training + validation, as :func:`nasprior.training.train`
    reports it) of the same initial network under each speed lever, added
    one at a time, for a Barabasi-Albert graph (n = 30, m = 3, Stier et
    al.'s n // 10 rule) and a Watts-Strogatz graph (n = 30, k = n // 5 = 6,
    p = 1) and each ``--cells`` type. ``old`` is the path before this
    work: the autograd wavefront (``recurrent_reference.wavefront_forward``), uniformly random batches
    of 128, Adam lr 1e-3 with one update per parameter tensor, gradient
    clipping 5 (Stier et al. 2021). ``--repeats N`` times each lever N
    times (a fresh network each time; the levers interleaved) and prints
    the median.
``accuracy``
    Trains the same networks for ``--epochs`` epochs with the old and with
    the new setting and prints test accuracy overall and on hard negatives.
``curves``
    Learning curves (test accuracy overall and on hard negatives after every
    epoch) of ``--n-graphs`` graphs per prior under the new setting.

Usage::

    python benchmarks/bench_reber_epoch.py --data-dir ../shared/data [--cells gru lstm] [--threads 1]
    python benchmarks/bench_reber_epoch.py --data-dir ../shared/data --mode accuracy --epochs 10
    python benchmarks/bench_reber_epoch.py --data-dir ../shared/data --mode curves --epochs 20

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
import types

import torch

from nasprior.genome import Genome
from nasprior.networks import wavefront
from nasprior.networks.recurrent import build_recurrent_network
from nasprior.networks.recurrent_reference import wavefront_forward
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, accuracy, train

OLD = {
    "fused": False,
    "loops": "python",
    "fused_optimizer": False,
    "batch_size": 128,
    "lr": 1e-3,
    "bucket_by_length": False,
}
FUSED = {**OLD, "fused": True}
SCRIPTED = {**FUSED, "loops": "torchscript"}
KERNELS = {**SCRIPTED, "fused_optimizer": True, "loops": "numba"}
NEW = {**KERNELS, "batch_size": 256, "lr": 2e-3}
#: Levers, added one by one: (label, settings). Length buckets are measured but not in ``NEW``: sorted
#: batches cost 5 points of test accuracy on the Barabasi-Albert GRU after 10 epochs (0.923 against 0.976).
LEVERS = [
    ("old (autograd wavefront, batch 128)", OLD),
    ("old + length buckets", {**OLD, "bucket_by_length": True}),
    ("fused BPTT, active rows only (Python)", FUSED),
    ("+ time loops in TorchScript", SCRIPTED),
    ("+ fused Adam", {**SCRIPTED, "fused_optimizer": True}),
    ("+ compiled time loops (Numba), batch 128", KERNELS),
    ("+ batch 256, lr 2e-3 (NEW)", NEW),
    ("NEW + batch 512, lr 4e-3", {**NEW, "batch_size": 512, "lr": 4e-3}),
    ("NEW + length buckets", {**NEW, "bucket_by_length": True}),
]


def genome_for(prior: str, cell: str, seed: int = 0, n_nodes: int = 30) -> Genome:
    """The benchmark's genome of one prior: Barabasi-Albert m = n // 10, Watts-Strogatz k = n // 5, p = 1."""
    if prior == "barabasi_albert":
        return Genome(prior=prior, n_nodes=n_nodes, m=max(1, n_nodes // 10), cell=cell, seed=seed)
    return Genome(prior=prior, n_nodes=n_nodes, k=max(2, n_nodes // 5), p=1.0, cell=cell, seed=seed)


def run(data, genome: Genome, settings: dict, epochs: int, curve: list | None = None):
    """Train a fresh network (weights seeded 0) of ``genome`` under ``settings``; returns (net, TrainResult)."""
    torch.manual_seed(0)
    net = build_recurrent_network(genome, data.vocab_size, data.n_classes)
    if not settings["fused"]:  # the autograd wavefront the network ran before its fused recurrence
        net.forward = types.MethodType(wavefront_forward, net)
    wavefront.loop_implementation = settings["loops"]
    config = TrainConfig(
        epochs=epochs,
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        grad_clip=5.0,
        patience=0,
        bucket_by_length=settings["bucket_by_length"],
        fused_optimizer=settings["fused_optimizer"],
    )
    hard = data.test_groups["hard_neg"]

    def record(model, epoch):
        curve.append(
            (epoch, accuracy(model, data.x_test, data.y_test), accuracy(model, data.x_test[hard], data.y_test[hard]))
        )

    result = train(
        net,
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        config,
        data.x_test,
        data.y_test,
        epoch_callback=record if curve is not None else None,
    )
    return net, result


def epoch_seconds(result) -> float:
    """Seconds of one epoch as :func:`train` times it: the training pass plus scoring the validation set.

    Setup and the final test scoring (once per run, not per epoch) are left out.
    """
    return result.timing["train"] + result.timing["val"]


def describe(net, genome: Genome) -> str:
    return (
        f"{genome.cell} from {genome.prior}(n={genome.n_nodes}, seed={genome.seed}): layers "
        f"{[len(l) for l in net.node_layers]}, {len(net.skip_pairs)} skip pairs, {net.n_params} parameters"
    )


def warm_up(data, cells) -> None:
    """Compile the time loops (TorchScript, Numba) of each cell before anything is timed."""
    x = torch.as_tensor(data.x_train[:8])
    for cell in cells:
        net = build_recurrent_network(genome_for("barabasi_albert", cell, n_nodes=12), data.vocab_size, data.n_classes)
        for loops in ("torchscript", "numba"):
            wavefront.loop_implementation = loops
            net(x).sum().backward()


def mode_levers(data, args) -> None:
    warm_up(data, args.cells)
    for prior in args.priors:
        for cell in args.cells:
            genome = genome_for(prior, cell)
            times: list[list[float]] = [[] for _ in LEVERS]
            val = {}
            for _ in range(args.repeats):  # levers interleaved, so a slow spell of the machine hits them all alike
                for i, (_, settings) in enumerate(LEVERS):
                    net, result = run(data, genome, settings, epochs=1)
                    times[i].append(epoch_seconds(result))
                    val[i] = result.val_acc
            print(f"\n{describe(net, genome)}")
            base = statistics.median(times[0])
            for i, (label, _) in enumerate(LEVERS):
                t = statistics.median(times[i])
                print(f"  {label:<40} {t:6.2f} s/epoch  x{base / t:4.1f}  val_acc {val[i]:.4f}", flush=True)


def new_settings(args) -> dict:
    """The new setting, ``NEW`` unless overridden on the command line."""
    return {
        **NEW,
        "batch_size": args.batch_size or NEW["batch_size"],
        "lr": args.lr or NEW["lr"],
        "bucket_by_length": NEW["bucket_by_length"] if args.buckets is None else args.buckets == "on",
    }


def mode_accuracy(data, args) -> None:
    hard = data.test_groups["hard_neg"]
    new = new_settings(args)
    print(f"old: {OLD}; new: {new}")
    for prior in args.priors:
        for cell in args.cells:
            for seed in range(args.n_graphs):
                genome = genome_for(prior, cell, seed)
                for name, settings in ((("old", OLD),) if not args.skip_old else ()) + (("new", new),):
                    start = time.perf_counter()
                    net, result = run(data, genome, settings, args.epochs)
                    print(
                        f"{describe(net, genome)}: {name} {args.epochs} epochs: test_acc {result.test_acc:.4f}, hard_neg "
                        f"{accuracy(net, data.x_test[hard], data.y_test[hard]):.4f}, val_acc {result.val_acc:.4f} "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )


def mode_curves(data, args) -> None:
    for prior in args.priors:
        for cell in args.cells:
            for seed in range(args.n_graphs):
                genome = genome_for(prior, cell, seed)
                curve: list = []
                net, result = run(data, genome, new_settings(args), args.epochs, curve)
                print(
                    f"{describe(net, genome)}; best-val weights: test_acc {result.test_acc:.4f}; {result.train_time_s:.0f} s"
                )
                print("  epoch " + " ".join(f"{e:5d}" for e, _, _ in curve))
                print("  test  " + " ".join(f"{a:.3f}" for _, a, _ in curve))
                print("  hard  " + " ".join(f"{h:.3f}" for _, _, h in curve), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("NASPRIOR_DATA", "../shared/data"))
    parser.add_argument("--mode", choices=["levers", "accuracy", "curves"], default="levers")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="levers: one-epoch runs per lever (median printed)")
    parser.add_argument("--cells", nargs="+", default=["gru", "lstm"], choices=["rnn_tanh", "rnn_relu", "gru", "lstm"])
    parser.add_argument("--priors", nargs="+", default=["barabasi_albert", "watts_strogatz"])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-graphs", type=int, default=1, help="graph seeds per prior and cell (accuracy, curves)")
    parser.add_argument("--batch-size", type=int, help="override the new setting's batch size")
    parser.add_argument("--lr", type=float, help="override the new setting's learning rate")
    parser.add_argument("--buckets", choices=["on", "off"], help="override the new setting's length bucketing")
    parser.add_argument("--skip-old", action="store_true", help="accuracy mode: train the new setting only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_task("reber", args.data_dir, seed=0)
    print(
        f"{len(data.x_train)} training strings, {len(data.x_val)} validation, {len(data.x_test)} test "
        f"({int(data.test_groups['hard_neg'].sum())} hard negatives); {args.threads} torch thread(s)"
    )
    {"levers": mode_levers, "accuracy": mode_accuracy, "curves": mode_curves}[args.mode](data, args)


if __name__ == "__main__":
    main()
