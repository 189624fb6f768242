"""Each lever of the fast CIFAR-10 recipe alone against today's final-stage options, in one run.

One row per lever: the same genome, the same seeds (weights, batch order,
augmentation), trained for ``--epochs`` epochs with today's ``[final]``
options of ``nasprior/spaces/cifar10.toml`` plus that one lever
(:class:`nasprior.training.TrainConfig` options; :mod:`nasprior.training.recipe`),
with validation accuracy on the 5,000-image validation split carved from
the training set, its change against the baseline row, and training seconds
per epoch. Levers are chosen on the validation split only; the test split
is scored once, for the ``recipe`` row (every lever of :data:`RECIPE`),
and only with ``--test``.

Test-time augmentation only changes scoring: its rows score the baseline
row's trained network again (no retraining), so they cost no epochs.

Usage (the real run, on a quiet machine; about levers x seeds x epochs x
1 minute on 2 threads for the 16-channel 6-node "conv" genome)::

    python benchmarks/bench_cifar10_recipe.py --data-dir ../shared/data --epochs 8 --threads 2 --seeds 0 1 \\
        --test | tee benchmarks/results/cifar10_recipe_levers.txt

A smoke run (a minute or two: checks that every part runs, says nothing about the levers)::

    python benchmarks/bench_cifar10_recipe.py --data-dir ../shared/data --epochs 1 --train-subset 5000 \\
        --threads 1 --levers baseline whiten_stem tta_flip

References
----------
K. Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv:2404.00498 (2024),
and the papers cited in :mod:`nasprior.training.recipe`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
import tomllib
from pathlib import Path

import torch

from nasprior.errors import ConfigError
from nasprior.evaluation import Evaluator
from nasprior.genome import Genome, describe
from nasprior.search.config import final_train_options
from nasprior.space import default_space_path, space_path
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, accuracy

ROOT = Path(__file__).resolve().parent.parent
#: The default genome: the shape of the default search's winner in issue 23 (gnp, 6 nodes, 16 channels, "conv").
DEFAULT_GENOME = {
    "prior": "gnp",
    "mapping": "convolutional",
    "n_nodes": 6,
    "p": 0.6,
    "n_stages": 3,
    "channels": 16,
    "op": "conv",
}
#: Levers, each applied alone on top of the baseline: name -> TrainConfig options.
LEVERS = {
    "baseline": {},
    "whiten_stem": {"whiten_stem": True},
    "dirac_init": {"dirac_init": True},
    "bn_bias_lr_x16": {"bn_bias_lr_scale": 16.0},
    "no_decay_norm_bias": {"no_decay_norm_bias": True},
    "label_smoothing_0.2": {"label_smoothing": 0.2},
    "alternating_flip": {"flip": "alternating"},
    "translate_2_reflect": {"crop_padding": 2, "pad_mode": "reflect"},
    "warmup_linear": {"schedule": "warmup_linear"},
    "ema_0.99": {"ema_decay": 0.99},
    "tta_flip": {"tta": "flip"},
    "tta_flip_translate": {"tta": "flip_translate"},
    "width_x1.5": {"width_multiplier": 1.5},
    "compile": {"compile": True},
    # Shape fidelities (issue 23): the stages at half the resolution, the channels doubled (the same
    # multiply-accumulates per node, four times the weights), and 2.5x the channels at half the resolution.
    "pooled_stem": {"stem_pool": 2},
    "pooled_stem_x2": {"stem_pool": 2, "width_multiplier": 2.0},
    "pooled_stem_x2.5": {"stem_pool": 2, "width_multiplier": 2.5},
}
#: Options that only change scoring: their rows re-score the baseline's trained network.
SCORING_ONLY = ("tta",)
#: The recipe row: the levers that paid in benchmarks/results/cifar10_recipe_levers.txt (4 epochs, 4-node
#: 16-channel candidate), the ``[final]`` options of the shipped cifar10 space. That run's recipe row was the
#: first candidate, every lever at once (dirac_init, label smoothing 0.2, warmup_linear and the EMA included;
#: its options are in its header).
RECIPE = {
    k: v
    for name, options in LEVERS.items()
    if name
    in (
        "whiten_stem",
        "bn_bias_lr_x16",
        "no_decay_norm_bias",
        "alternating_flip",
        "translate_2_reflect",
        "tta_flip_translate",
    )
    for k, v in options.items()
}


def baseline_options(space: Path) -> dict:
    """Today's final-stage options of a search space file: its ``[train]`` table updated by ``[final]``."""
    tables = tomllib.loads(space.read_text(encoding="utf-8"))
    options = final_train_options(tables.get("train", {}), tables.get("final", {}))
    return {k: v for k, v in options.items() if k in TrainConfig.__dataclass_fields__}


def space_arg(text: str) -> Path:
    """``--space``: a TOML file or the name of a shipped space (:func:`nasprior.space.space_path`).

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is neither (argparse prints the message and exits 2).
    """
    try:
        return space_path(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_genome(text: str) -> Genome:
    """A genome from JSON text or a JSON file (e.g. a run's ``best/genome.json``)."""
    path = Path(text)
    return Genome.from_dict(json.loads(path.read_text(encoding="utf-8") if path.is_file() else text))


def train_row(data, genome: Genome, options: dict, seed: int, test: bool) -> tuple[dict, torch.nn.Module]:
    """Train ``genome`` once under ``options`` (weights seeded ``seed``); the row and the trained network."""
    config = TrainConfig(**{**options, "seed": seed})
    split = data if test else dataclasses.replace(data, x_test=None, y_test=None)  # no test while choosing levers
    evaluation = Evaluator(split, config, "bench_cifar10_recipe", seed, fidelity="bench").evaluate(genome)
    record = evaluation.record
    if record["status"] != "trained":
        raise SystemExit(f"training failed: {record.get('error')}")
    epochs = record["epochs_run"]
    row = {
        "val_acc": record["metrics"]["val_acc"],
        "test_acc": record["metrics"]["test_acc"],
        "s_per_epoch": record["timing"]["train"] / epochs,
        "epochs": epochs,
    }
    return row, evaluation.network


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, train every lever for every seed, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--genome", default=json.dumps(DEFAULT_GENOME), help="JSON text or a genome.json file")
    parser.add_argument(
        "--space", type=space_arg, default=default_space_path("cifar10"), help="a TOML file or a shipped space"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-subset", type=int, default=0, help="train on this many images (0: all 45,000)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--levers", nargs="+", default=[*LEVERS, "recipe"], choices=[*LEVERS, "recipe"])
    parser.add_argument("--test", action="store_true", help="score the test split once, for the recipe row")
    parser.add_argument("--jsonl", type=Path, default=None, help="also write the rows here (a new file)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    genome = load_genome(args.genome)
    base = {**baseline_options(args.space), "epochs": args.epochs, "patience": 0, "device": "cpu"}
    base["train_subset"] = args.train_subset
    data = load_task("cifar10", data_dir=args.data_dir, seed=0)
    print(f"# bench_cifar10_recipe: {describe(genome)}, {args.epochs} epochs, train_subset {args.train_subset}, ")
    print(f"# {args.threads} threads, seeds {args.seeds}, torch {torch.__version__}")
    print(f"# baseline options: {json.dumps(base, sort_keys=True)}")
    print(f"# recipe: {json.dumps(RECIPE, sort_keys=True)}")
    scoring_rows = [n for n in args.levers if n != "recipe" and set(LEVERS[n]) <= set(SCORING_ONLY) and LEVERS[n]]
    first = ["baseline"] if "baseline" in args.levers or scoring_rows else []  # scoring rows re-score it
    rows: dict[str, list[dict]] = {name: [] for name in dict.fromkeys([*first, *args.levers])}
    start = time.perf_counter()
    for seed in args.seeds:
        base_net = None
        for name in [*first, *[n for n in args.levers if n != "baseline"]]:
            options = RECIPE if name == "recipe" else LEVERS[name]
            if set(options) <= set(SCORING_ONLY) and name != "baseline":
                if base_net is None:
                    continue
                t0 = time.perf_counter()
                val = accuracy(base_net, data.x_val, data.y_val, tta=options["tta"])
                row = {**rows["baseline"][-1], "val_acc": val, "test_acc": None, "score_s": time.perf_counter() - t0}
            else:
                row, net = train_row(data, genome, {**base, **options}, seed, args.test and name == "recipe")
                if name == "baseline":
                    base_net = net
            if name in rows:
                rows[name].append({**row, "seed": seed})
                print(f"  seed {seed} {name}: val {row['val_acc']:.4f}, {row['s_per_epoch']:.1f} s/epoch", flush=True)
    print(f"\n{'lever':24s} {'val_acc':>8s} {'change':>8s} {'s/epoch':>8s}  (mean over {len(args.seeds)} seeds)")
    reference = statistics.mean(r["val_acc"] for r in rows["baseline"]) if rows.get("baseline") else None
    for name, found in rows.items():
        if not found:
            continue
        val = statistics.mean(r["val_acc"] for r in found)
        change = f"{val - reference:+.4f}" if reference is not None else "-"
        line = f"{name:24s} {val:8.4f} {change:>8s} {statistics.mean(r['s_per_epoch'] for r in found):8.1f}"
        if name == "recipe" and args.test:
            line += f"  test {statistics.mean(r['test_acc'] for r in found):.4f}"
        print(line)
    print(f"# wall {time.perf_counter() - start:.0f} s")
    if args.jsonl is not None:
        with args.jsonl.open("x", encoding="utf-8") as out:  # "x": never over an existing file
            for name, found in rows.items():
                for row in found:
                    out.write(json.dumps({"lever": name, **row}) + "\n")


if __name__ == "__main__":
    sys.exit(main())
