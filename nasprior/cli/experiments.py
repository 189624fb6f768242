"""Subcommands of the reproduction experiments and topology tools: ``prune-mnist`` and ``nnstd``.

See :mod:`nasprior.experiments` (the pruning experiment) and
:mod:`nasprior.nnstd` (the sparse topology distance of Liu et al. 2020).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from ..cost import check_masks
from ..errors import ConfigError
from ..evaluation import check_cost
from ..experiments import PRUNE_KIND, PruneExperimentConfig, format_prune_table, run_prune_experiment
from ..networks import build_network
from ..nnstd import nnstd_layers
from ..outputs import check_run_dir
from ..pruning import SCHEMES, load_masks, network_masks
from ..records import RECORDS_FILE
from ..tasks import TASKS, TaskShape, get_task, load_task
from .base import check_name, command, genomes_argument


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prune-mnist`` and ``nnstd`` subcommands to the ``nasprior`` parser."""
    p = subparsers.add_parser(
        "prune-mnist",
        help="Stier et al.'s MNIST pruning experiment (class-blinded/uniform/distributed, random)",
        description="Train a dense 784-100-10 MLP on MNIST (SGD lr 0.01, batch 64), prune it to 80%% compression in "
        "steps of equal compression with retraining after each, by class-blinded, class-uniform, class-distributed "
        "and random pruning, over several seeds; print test accuracy mean ± std and log each network as a record.",
    )
    p.add_argument("--data-dir", help="directory holding the data sets (default: $NASPRIOR_DATA, else ./data)")
    p.add_argument("--download", action="store_true", help="fetch MNIST from its official source if missing")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds, 0 .. N-1 (default 3)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs before pruning (default 10)")
    p.add_argument(
        "--retrain-epochs", type=int, default=1, help="retraining epochs after each pruning step (default 1)"
    )
    p.add_argument("--steps", type=int, default=4, help="pruning steps of equal compression (default 4; 1 = one-shot)")
    p.add_argument("--compression", type=float, default=0.8, help="final fraction of weights removed (default 0.8)")
    p.add_argument(
        "--schemes", default=",".join(SCHEMES), help=f"comma-separated schemes (default {','.join(SCHEMES)})"
    )
    p.add_argument("--keep-output-dense", action="store_true", help="do not prune the output layer")
    p.add_argument("--hidden", type=int, default=100, help="hidden units (default 100)")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default 0.01)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument(
        "--no-structural-features",
        action="store_true",
        help="log size features only (structural features take ~9 s per pruned network)",
    )
    p.add_argument("--runs-dir", default="runs", help="parent of run directories (default: runs)")
    p.add_argument("--run-id", help="name of the run directory (default: prune-mnist-<time>)")

    p = subparsers.add_parser(
        "nnstd",
        help="sparse topology distance (NNSTD) between two layered networks",
        description="Neural Network Sparse Topology Distance (Liu et al. 2020) between two layered networks of equal "
        "widths, in [0, 1]: 0 for the same topology up to a renaming of hidden units. Each of A and B is a genome "
        "(a JSON file or inline JSON; mapping 'layered') or a mask archive (.npz from 'prune-mnist'). The hidden "
        "layers' masks are compared.",
    )
    p.add_argument("a", metavar="A", help="genome JSON file, inline genome JSON, or .npz mask archive")
    p.add_argument("b", metavar="B", help="genome JSON file, inline genome JSON, or .npz mask archive")
    p.add_argument("--task", help=f"take the input size from a task ({', '.join(TASKS)})")
    p.add_argument("--n-inputs", type=int, help="input features of the networks built from genomes")
    p.add_argument("--n-outputs", type=int, default=10, help="output units of networks built from genomes (default 10)")
    p.add_argument("--include-output", action="store_true", help="compare the output layer's mask too")


@command("prune-mnist")
def cmd_prune_mnist(args: argparse.Namespace) -> int:
    """Run the MNIST pruning experiment and print its table."""
    torch.set_num_threads(1)
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} is invalid: use 1 or more")
    config = PruneExperimentConfig(
        hidden=args.hidden,
        epochs=args.epochs,
        retrain_epochs=args.retrain_epochs,
        n_steps=args.steps,
        compression=args.compression,
        schemes=tuple(s.strip() for s in args.schemes.split(",") if s.strip()),
        include_output=not args.keep_output_dense,
        lr=args.lr,
        batch_size=args.batch_size,
        seeds=tuple(range(args.seeds)),
    )
    run_id = check_name(args.run_id, "--run-id") if args.run_id else f"prune-mnist-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(args.runs_dir) / run_id
    check_run_dir(run_dir, PRUNE_KIND)  # before the data set loads; the experiment checks again
    data = load_task("mnist", args.data_dir, seed=0, download=args.download)
    print(f"run directory: {run_dir}", flush=True)
    result = run_prune_experiment(
        data,
        config,
        run_dir,
        run_id=run_id,
        structural=not args.no_structural_features,
        log=lambda line: print(line, flush=True),
    )
    print(
        f"\nMNIST 784-{config.hidden}-10, SGD lr {config.lr} batch {config.batch_size}, {config.epochs} epochs, then "
        f"{config.n_steps} pruning steps to {100 * config.compression:.0f}% compression with {config.retrain_epochs} "
        f"retraining epoch(s) each; output layer {'pruned' if config.include_output else 'dense'}; "
        f"{len(config.seeds)} seeds; {result.wall_time_s:.0f} s"
    )
    print(format_prune_table(result, config))
    print(f"records: {run_dir / RECORDS_FILE}; pruned masks: {run_dir / 'masks'}")
    return 0


def _masks_from_argument(text: str, n_inputs: int | None, n_outputs: int) -> list[np.ndarray]:
    """All masks (output layer last) of a genome (file or inline JSON) or a mask archive."""
    path = Path(text)
    if text.endswith(".npz"):
        masks = load_masks(path)
        check_masks(f"the masks of {path}", [m.shape for m in masks if m.ndim == 2])
        return masks
    try:
        is_dir = path.is_dir()
    except (OSError, ValueError):  # a name too long, or a NUL byte: not a folder
        is_dir = False
    if is_dir:
        raise ConfigError(
            f"{text} is a directory: give a genome JSON file, inline genome JSON, or an .npz mask archive"
        )
    genomes = genomes_argument(text, "genome")
    if len(genomes) != 1:
        raise ConfigError(f"{text!r} holds {len(genomes)} genomes: NNSTD compares one network with one other")
    genome = genomes[0]
    if n_inputs is None:
        raise ConfigError("networks built from genomes need an input size: give --n-inputs N or --task NAME")
    if genome.mapping != "layered":
        raise ConfigError(
            f"genome {text!r} uses mapping {genome.mapping!r} (layers of varying width with skip connections): "
            "NNSTD compares layered networks, use mapping 'layered'"
        )
    shape = TaskShape("nnstd", n_inputs, n_outputs)
    check_cost(genome, shape)
    return network_masks(build_network(genome, shape))


@command("nnstd")
def cmd_nnstd(args: argparse.Namespace) -> int:
    """Print the NNSTD between two networks and its per-layer values."""
    n_inputs = args.n_inputs
    if args.task is not None:
        n_inputs = get_task(args.task).shape.n_inputs
        if not n_inputs:
            raise ConfigError(f"--task {args.task!r} has no fixed input size (a sequence task): use --n-inputs")
    masks = [_masks_from_argument(t, n_inputs, args.n_outputs) for t in (args.a, args.b)]
    if not args.include_output:
        masks = [m[:-1] for m in masks]
    if any(len(m) == 0 for m in masks):
        raise ConfigError("a network has no hidden layer to compare: use --include-output")
    per_layer = nnstd_layers(*masks)
    print("per layer: " + ", ".join(f"{d:.4f}" for d in per_layer))
    print(f"NNSTD: {float(np.mean(per_layer)):.4f}")
    return 0
