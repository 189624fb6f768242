"""A hand-designed CIFAR-10 network trained for a given wall time, beside a searched genome at the same time.

The reference is the airbench93-shaped network of Keller Jordan's
cifar10-airbench (2024), written here from its published description
(arXiv:2404.00498, Sec. 3; the widths 64/128/128 of its 93% configuration),
no code copied:

* a frozen 2x2 patch-whitening convolution fitted on training images
  (24 channels: 12 eigen-directions, both signs; :class:`~nasprior.networks.convolutional.PatchWhitening`
  without padding, 32x32 -> 31x31), then GELU;
* three blocks, each a 3x3 convolution to the block's width, 2x2 max
  pooling, batch norm, GELU, a second 3x3 convolution, batch norm, GELU
  (31 -> 15 -> 7 -> 3 pixels);
* 3x3 max pooling to one pixel, a linear layer without bias, logits scaled by 1/9.

Batch norms keep their scale fixed at 1 (only the bias trains) with a
running-statistics momentum of 0.4 (airbench's 0.6 in its convention); the
convolutions have no bias.

Both networks train with the same recipe (today's ``[final]`` options of
``nasprior/spaces/cifar10.toml`` plus :data:`bench_cifar10_recipe.RECIPE`, or
the baseline alone with ``--no-recipe``), the same data pipeline (the
task's 45,000 training images, the 5,000-image validation split, the
10,000 test images) and the same thread count. The wall time is met in
epochs: one epoch of each network is timed first on ``--probe-images``
training images, the epochs that fit ``--minutes`` are trained (the
schedule spans them), and the real wall time is printed. With ``--genome``
the genome trains for the same time and both test accuracies are printed
side by side with the ratio of their test errors (genome / reference; < 1:
the searched network is better). With ``--search-summary`` (the
``summary.jsonl`` that ``benchmarks/cifar10_default_search.py`` writes) the
reference trains for the mean wall time of those whole searches (screening
included) unless ``--minutes`` is given, and each search's survivor is
printed beside it with the ratio of the searches' mean test error to the
reference's: the comparison a user of the search cares about, the search's
whole run against a hand-designed network given the same time. ``--json``
writes every row and the ratios to a file (the docs render it).

Usage::

    python benchmarks/cifar10_reference.py --data-dir ../shared/data --threads 2 \\
        --search-summary benchmarks/results/cifar10_search/default/summary.jsonl \\
        --json benchmarks/results/cifar10_reference.json | tee benchmarks/results/cifar10_reference.txt

Smoke run (checks that it runs; the figures mean nothing)::

    python benchmarks/cifar10_reference.py --data-dir ../shared/data --minutes 1 --threads 1 --width 0.25 \\
        --train-subset 2000 --genome '{"prior": "gnp", "mapping": "convolutional", "n_nodes": 4, "p": 0.6, \\
        "n_stages": 3, "channels": 8, "op": "conv"}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from bench_cifar10_recipe import RECIPE, baseline_options, load_genome, space_arg
from torch import nn

from nasprior.evaluation import Evaluator
from nasprior.genome import Genome, describe
from nasprior.networks.convolutional import PatchWhitening
from nasprior.space import default_space_path
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, train

#: Block widths of airbench93 as the issue and NOTES.md give them (airbench94: 64/256/256).
WIDTHS = (64, 128, 128)


class FrozenScaleBatchNorm(nn.BatchNorm2d):
    """Batch norm whose scale stays 1 (only the bias trains), running-statistics momentum 0.4 (airbench)."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad_(False)


class ConvBlock(nn.Sequential):
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU: (b, c_in, H, W) -> (b, c_out, H//2, W//2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.MaxPool2d(2),
            FrozenScaleBatchNorm(c_out),
            nn.GELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            FrozenScaleBatchNorm(c_out),
            nn.GELU(),
        )


class ReferenceNet(nn.Module):
    """The airbench93-shaped CNN (see the module docstring).

    Parameters
    ----------
    widths : tuple of int
        Channels of the three blocks.
    n_classes : int

    Notes
    -----
    Forward: images (batch, 32, 32, 3), channels last as the tasks give
    them -> logits (batch, n_classes). :meth:`use_whitening_stem` must be
    called (``TrainConfig.whiten_stem``) before the whitening does anything:
    until then its filters are zero.
    """

    def __init__(self, widths: tuple[int, ...] = WIDTHS, n_classes: int = 10):
        super().__init__()
        self.whitening = PatchWhitening(3, patch=2, eps=5e-4)
        channels = [self.whitening.out_channels, *widths]
        self.blocks = nn.Sequential(*(ConvBlock(a, b) for a, b in zip(channels, channels[1:])))
        self.head = nn.Linear(widths[-1], n_classes, bias=False)

    def use_whitening_stem(self, images: torch.Tensor) -> None:
        """Fit the whitening filters on training images (n, 32, 32, 3)."""
        self.whitening.fit(images.permute(0, 3, 1, 2).to(self.head.weight.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, 32, 32, 3) -> (batch, n_classes)."""
        h = F.gelu(self.whitening.whiten(x.permute(0, 3, 1, 2)))  # (batch, 24, 31, 31)
        h = self.blocks(h)  # (batch, widths[-1], 3, 3)
        h = F.max_pool2d(h, 3).flatten(1)
        return self.head(h) / 9.0

    @property
    def n_params(self) -> int:
        """Trainable values."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def epochs_for(build, data, options: dict, minutes: float, probe_images: int) -> tuple[int, float]:
    """Epochs of a full training that fit ``minutes``, from one timed epoch on ``probe_images`` images.

    Returns the epochs (at least 1) and the estimated seconds per full epoch (training plus validation scoring).
    """
    n_train = options.get("train_subset") or len(data.x_train)
    probe = {**options, "epochs": 1, "train_subset": min(probe_images, n_train), "ema_decay": 0.0}
    torch.manual_seed(0)
    result = train(build(), data.x_train, data.y_train, data.x_val, data.y_val, TrainConfig(**probe))
    per_epoch = result.timing["train"] * n_train / probe["train_subset"] + result.timing["val"]
    return max(1, int(60.0 * minutes // per_epoch)), per_epoch


def run_reference(data, options: dict, minutes: float, probe_images: int, widths) -> dict:
    """Train the reference for the epochs that fit ``minutes``; its test accuracy, epochs and wall time."""
    start = time.perf_counter()
    options = {**options, "whiten_stem": True}  # the whitening layer is part of the reference architecture

    def build():
        return ReferenceNet(widths, data.n_classes)

    epochs, per_epoch = epochs_for(build, data, options, minutes, probe_images)
    torch.manual_seed(options.get("seed", 0))
    net = build()
    config = TrainConfig(**{**options, "epochs": epochs})
    result = train(net, data.x_train, data.y_train, data.x_val, data.y_val, config, data.x_test, data.y_test)
    return {
        "network": f"reference {'/'.join(map(str, widths))}",
        "n_params": net.n_params,
        "epochs": epochs,
        "estimated_epoch_s": round(per_epoch, 1),
        "val_acc": result.val_acc,
        "test_acc": result.test_acc,
        "wall_s": round(time.perf_counter() - start, 1),
    }


def run_genome(data, genome: Genome, options: dict, minutes: float, probe_images: int) -> dict:
    """Train ``genome`` (as the search's final stage does) for the epochs that fit ``minutes``."""
    start = time.perf_counter()
    probe_eval = Evaluator(data, TrainConfig(**options), "cifar10_reference", 0, fidelity="bench")
    epochs, per_epoch = epochs_for(lambda: probe_eval.build(genome), data, options, minutes, probe_images)
    config = TrainConfig(**{**options, "epochs": epochs})
    evaluation = Evaluator(data, config, "cifar10_reference", options.get("seed", 0), fidelity="bench").evaluate(genome)
    record = evaluation.record
    if record["status"] != "trained":
        raise SystemExit(f"the genome failed to train: {record.get('error')}")
    return {
        "network": describe(genome),
        "n_params": sum(p.numel() for p in evaluation.network.parameters() if p.requires_grad),
        "epochs": epochs,
        "estimated_epoch_s": round(per_epoch, 1),
        "val_acc": record["metrics"]["val_acc"],
        "test_acc": record["metrics"]["test_acc"],
        "wall_s": round(time.perf_counter() - start, 1),
    }


def search_rows(path: str) -> list[dict]:
    """The rows of a ``cifar10_default_search.py`` summary with a test accuracy, as comparison rows.

    Raises
    ------
    SystemExit
        When the file is missing, holds a malformed line, or no row with a test accuracy.
    """
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SystemExit(
            f"cannot read the search summary {path}: {exc}; run benchmarks/cifar10_default_search.py"
        ) from None
    for number, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
            if r.get("test_acc") is None:
                continue
            rows.append(
                {
                    "network": f"search {r['label']} seed {r['seed']}: {describe(Genome.from_dict(r['genome']))}",
                    "seed": r["seed"],
                    "epochs": r["final_epochs"],
                    "wall_s": round(60.0 * r["wall_min"], 1),
                    "val_acc": r["val_acc"],
                    "test_acc": r["test_acc"],
                    "commit": r.get("commit"),
                }
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{number}: not a summary row ({exc}); rerun the default-search script") from None
    if not rows:
        raise SystemExit(f"{path} holds no finished search with a test accuracy")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, train the reference (and the genome), print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--minutes", type=float, default=None, help="wall time of each network's training (default: the searches' mean)"
    )
    parser.add_argument("--search-summary", default=None, help="summary.jsonl of cifar10_default_search.py runs")
    parser.add_argument("--json", default=None, help="write the rows and ratios to this JSON file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--genome", default=None, help="JSON text or a genome.json file to train beside it")
    parser.add_argument(
        "--space", type=space_arg, default=default_space_path("cifar10"), help="a TOML file or a shipped space"
    )
    parser.add_argument("--no-recipe", action="store_true", help="today's final options only, without RECIPE")
    parser.add_argument("--width", type=float, default=1.0, help="scale the reference's widths (smoke runs)")
    parser.add_argument("--train-subset", type=int, default=0)
    parser.add_argument("--probe-images", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    searches = search_rows(args.search_summary) if args.search_summary else []
    if args.minutes is None:
        if not searches:
            parser.error("give --minutes, or --search-summary to train for the searches' mean wall time")
        args.minutes = round(sum(r["wall_s"] for r in searches) / len(searches) / 60.0, 2)
    if args.json and not os.access(Path(args.json).resolve().parent, os.W_OK):
        parser.error(f"cannot write {args.json}: its folder is missing or not writable")  # before the work
    torch.set_num_threads(args.threads)
    options = {**baseline_options(args.space), "patience": 0, "device": "cpu", "seed": args.seed}
    options = {**options, "train_subset": args.train_subset, **({} if args.no_recipe else RECIPE)}
    widths = tuple(max(4, round(w * args.width)) for w in WIDTHS)
    data = load_task("cifar10", data_dir=args.data_dir, seed=0)
    data = dataclasses.replace(data)  # the same splits for both networks
    print(f"# cifar10_reference: {args.minutes:g} minutes each, {args.threads} threads, torch {torch.__version__}")
    print(f"# options: {json.dumps(options, sort_keys=True)}")
    rows = [run_reference(data, options, args.minutes, args.probe_images, widths)]
    print(json.dumps(rows[0]), flush=True)
    if args.genome:
        rows.append(run_genome(data, load_genome(args.genome), options, args.minutes, args.probe_images))
        print(json.dumps(rows[1]), flush=True)
    print(f"\n{'network':60s} {'params':>9s} {'epochs':>6s} {'wall_s':>7s} {'val_acc':>8s} {'test_acc':>8s}")
    for row in rows + searches:
        params = f"{row['n_params']:9d}" if "n_params" in row else f"{'':9s}"
        print(
            f"{row['network'][:60]:60s} {params} {row['epochs']:6d} {row['wall_s']:7.0f} "
            f"{row['val_acc']:8.4f} {row['test_acc']:8.4f}"
        )
    error = max(1e-9, 1 - rows[0]["test_acc"])
    ratios = {}
    if len(rows) == 2:
        ratios["genome"] = round((1 - rows[1]["test_acc"]) / error, 4)
        print(f"test error ratio genome / reference: {ratios['genome']:.3f} (< 1: the searched network is better)")
    if searches:
        mean_test = sum(r["test_acc"] for r in searches) / len(searches)
        ratios["search"] = round((1 - mean_test) / error, 4)
        print(
            f"test error ratio search ({len(searches)} runs, mean test {mean_test:.4f}) / reference: "
            f"{ratios['search']:.3f} (< 1: the search pays)"
        )
    if args.json:
        result = {"minutes": args.minutes, "threads": args.threads, "torch": torch.__version__, "options": options}
        result.update({"rows": rows, "searches": searches, "error_ratios": ratios})
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
