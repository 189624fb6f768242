"""Subcommands of the reproduction experiments and topology tools: ``prune-mnist`` and ``nnstd``.

See :mod:`nasprior.sparsity.experiments` (the pruning experiment) and
:mod:`nasprior.sparsity.nnstd` (the sparse topology distance of Liu et al. 2020).
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
from ..networks import build_network
from ..runs.outputs import check_run_dir
from ..runs.records import RECORDS_FILE
from ..sparsity.experiments import PRUNE_KIND, PruneExperimentConfig, format_prune_table, run_prune_experiment
from ..sparsity.nnstd import nnstd_layers
from ..sparsity.pruning import load_masks, network_masks
from ..tasks import TaskShape, get_task, load_task
from .base import check_name, genomes_argument


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
