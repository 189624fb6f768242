"""Subcommands of the predictor workflow: ``sample``, ``predictor fit``, ``predict``.

``nasprior sample``
    Train a random (optionally prior- and cell-stratified) sample of a search
    space in parallel, as a resumable run (:mod:`nasprior.runs.sampling`).
``nasprior predictor fit RUN_DIR [RUN_DIR ...]`` or ``nasprior predictor fit --graphs DIR --targets FILE.csv``
    Fit, tune and score a predictor on runs' trained records, or on graph
    files from any tool and a table of their targets, and store it under
    ``predictors/<name>/`` with its model card (:mod:`nasprior.predictors`).
``nasprior predict --genome ... | --graph FILE | --graphs DIR``
    Predict the metric of genomes or graph files with a stored predictor,
    with conformal prediction intervals, warning about features outside the
    training range; ``--graphs`` prints a CSV table.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import ConfigError
from ..graph_io import graph_files, read_graph
from ..predictors import CARD_FILE, Predictor, PredictorError, fit_predictor, fit_predictor_from_graphs, format_scores
from ..runs.outputs import check_output_dir
from ..runs.sampling import SampleConfig, run_sample
from ..search.config import final_train_options
from ..space import SearchSpace, default_space_path, space_path
from ..tasks import get_task
from .base import (
    check_name,
    drop_bad_tails,
    genomes_argument,
    set_threads,
)


def cmd_sample(args: argparse.Namespace) -> int:
    """Draw and train a sample; print one line per candidate and a summary."""
    set_threads(args)
    space = SearchSpace.from_toml(
        space_path(args.space) if args.space else default_space_path(get_task(args.task).space)
    )
    train = final_train_options(space.train, space.final) if args.final else dict(space.train)
    for option in ("epochs", "train_subset", "batch_size", "lr"):
        if getattr(args, option) is not None:
            train[option] = getattr(args, option)
    train["seed"] = args.seed
    split = lambda text: [x.strip() for x in text.split(",") if x.strip()] if text else None  # noqa: E731
    run_id = (
        check_name(args.run_id, "--run-id")
        if args.run_id
        else f"{args.task}-sample-{time.strftime('%Y%m%d-%H%M%S')}-s{args.seed}"
    )
    if args.n is None and not args.all:
        raise ConfigError("give --n N (genomes to draw), or --all to train every genome of a discrete space")
    config = SampleConfig(
        task=args.task,
        space=space.to_dict(),
        n=args.n or 0,
        exhaustive=args.all,
        fidelity="final" if args.final else "sample",
        replicates=args.replicates,
        priors=split(args.priors),
        cells=split(args.cells),
        train=train,
        seed=args.seed,
        data_dir=str(Path(args.data_dir).resolve()) if args.data_dir else None,
        download=args.download,
        run_id=run_id,
    )
    run_dir = Path(args.runs_dir) / run_id
    drop_bad_tails([run_dir], args.drop_bad_tail)
    print(f"run directory: {run_dir}", flush=True)
    try:
        result = run_sample(
            config,
            run_dir,
            workers=args.workers or None,
            scheduler=args.scheduler,
            log=lambda line: print(line, flush=True),
        )
    except KeyboardInterrupt:
        print(f"nasprior: interrupted; rerun the same command with --run-id {run_id} to resume", file=sys.stderr)
        return 130
    print(
        f"\nsample finished in {result.wall_time_s:.0f} s ({result.n_new} trained by this call): "
        f"{result.n_trained} trained, {result.n_failed} failed in all"
    )
    for gene in ("prior", "cell") if config.cells else ("prior",):
        for value, (mean, std, count) in result.mean_by(gene).items():
            print(f"  {gene} {value}: mean val_acc {mean:.4f} +/- {std:.4f} ({count} trained)")
    return 0 if result.n_trained else 1


def cmd_predictor(args: argparse.Namespace) -> int:
    """Dispatch ``nasprior predictor <subcommand>``."""
    if args.predictor_command != "fit":  # pragma: no cover - argparse allows only 'fit'
        raise ConfigError(f"unknown predictor subcommand {args.predictor_command!r}: use fit")
    out = Path(args.out) / check_name(args.name, "--name")
    # a user's folder is never written, an existing predictor only with --force; checked writable before the fit
    check_output_dir(out, lambda path: (path / CARD_FILE).is_file(), "predictor", replace=args.force)
    options = dict(
        n_trials=args.n_trials,
        folds=args.folds,
        inner_folds=args.inner_folds,
        repeats=args.repeats,
        seed=args.seed,
        log=lambda line: print(line, flush=True),
    )
    if args.graphs or args.targets:
        if args.where or args.gene_features or args.fidelity or args.feature_groups:
            raise ConfigError(
                "--where, --gene-features, --fidelity and --feature-groups select run records: graph files have none"
            )
        if not (args.graphs and args.targets) or args.run_dirs:
            raise ConfigError("give either RUN_DIRs, or --graphs DIR with --targets FILE.csv (not both)")
        predictor = fit_predictor_from_graphs(
            args.graphs,
            args.targets,
            args.name,
            target=args.target,
            graph_column=args.graph_column,
            group_column=args.group_column,
            **options,
        )
    elif args.run_dirs:
        where = {}
        for item in args.where:
            gene, sep, value = item.partition("=")
            if not sep or not gene.strip() or not value.strip():
                raise ConfigError(f"--where {item!r} is not GENE=VALUE: write e.g. --where cell=gru")
            where[gene.strip()] = value.strip()
        genes = [g.strip() for g in (args.gene_features or "").split(",") if g.strip()]
        drop_bad_tails(args.run_dirs, args.drop_bad_tail)
        predictor = fit_predictor(
            args.run_dirs,
            args.name,
            target=args.target or "val_acc",
            where=where,
            gene_features=genes,
            fidelity=args.fidelity,
            feature_groups=args.feature_groups,
            curve_from=args.curve_from,
            **options,
        )
    else:
        raise ConfigError(
            "nothing to fit on: give run directories (runs/<id>), or --graphs DIR with --targets FILE.csv"
        )
    predictor.save(out, overwrite=args.force)
    card = predictor.card
    p = card["scores"]["protocol"]
    where = "".join(f", {k} = {v}" for k, v in (card.get("where") or {}).items())
    print(
        f"\npredictor {args.name}: {card['model']['class']} on {len(predictor.feature_names)} features, "
        f"{card['n_train']} training rows ({card['source']}{where}), target {card['target']}"
    )
    print(
        f"nested CV ({p['repeats']} x {p['folds']}-fold, {p['n_trials']} trials per tuning), mean +/- std over repeats:"
    )
    for line in format_scores(card):
        print(line)
    print(f"written: {out / 'model.skops'} and {out / 'model_card.json'} (fit took {card['fit_time_s']:.0f} s)")
    return 0


def _interval_text(predictor: Predictor, features: list[dict]) -> list[str]:
    """Per input, the stored intervals as text (empty strings for a predictor without intervals)."""
    texts = [""] * len(features)
    for level in predictor.interval_levels:
        _, lower, upper = predictor.predict_interval(features, level)
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            texts[i] += f", {level:.0%} interval [{lo:.4f}, {hi:.4f}]"
    return texts


def _warn_out_of_range(predictor: Predictor, name: str, f: dict) -> None:
    outside = predictor.out_of_range(f)
    if outside:
        lo, hi = predictor.card["features"]["min"], predictor.card["features"]["max"]
        detail = ", ".join(f"{n}={f[n]:g} (trained on [{lo[n]:g}, {hi[n]:g}])" for n in outside)
        print(
            f"warning: {name}: feature(s) outside the training range, the prediction extrapolates: {detail}",
            file=sys.stderr,
        )


def cmd_predict(args: argparse.Namespace) -> int:
    """Print the predicted metric of each genome or graph file, with its intervals."""
    predictor = Predictor.load(args.predictor)
    if args.task and args.task != predictor.task["name"]:
        raise PredictorError(
            f"predictor {args.predictor} was fitted on task {predictor.task['name']!r}, not "
            f"{args.task!r}: use a predictor fitted on {args.task} runs"
        )
    if not predictor.interval_levels:
        print(
            f"note: predictor {args.predictor} has no prediction intervals (fitted by an older nasprior): refit it "
            "with 'nasprior predictor fit' to get them",
            file=sys.stderr,
        )
    r2 = predictor.cv_r2_
    if args.graphs:
        paths = graph_files(args.graphs)
        features = predictor.graph_features([read_graph(path) for path in paths])
        predicted = predictor.predict(features)
        header = ["graph", f"predicted_{predictor.target}"]
        bounds = []
        for level in predictor.interval_levels:
            header += [f"lower_{level * 100:g}", f"upper_{level * 100:g}"]
            bounds.append(predictor.predict_interval(features, level)[1:])
        print(",".join(header))
        for i, (path, value) in enumerate(zip(paths, predicted)):
            row = [path.name, f"{value:.6f}"] + [f"{b[k][i]:.6f}" for b in bounds for k in (0, 1)]
            print(",".join(row))
            _warn_out_of_range(predictor, path.name, features[i])
        return 0
    if args.graph:
        names = [Path(args.graph).name]
        features = predictor.graph_features([read_graph(args.graph)])
    else:
        genomes = genomes_argument(args.genome, "--genome")
        names = [g.key for g in genomes]
        features = predictor.genome_features(genomes)
    predicted = predictor.predict(features)
    for name, f, value, interval in zip(names, features, predicted, _interval_text(predictor, features)):
        print(
            f"{name} predicted {predictor.target} {value:.4f}{interval} (predictor CV R2 {r2:.3f}, "
            f"task {predictor.task['name']})"
        )
        _warn_out_of_range(predictor, name, f)
    return 0
