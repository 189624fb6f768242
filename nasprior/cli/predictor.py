"""Subcommands of the predictor workflow: ``sample``, ``predictor fit``, ``predict``.

``nasprior sample``
    Train a random (optionally prior- and cell-stratified) sample of a search
    space in parallel, as a resumable run (:mod:`nasprior.sampling`).
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
from ..outputs import check_output_dir
from ..predictors import CARD_FILE, Predictor, PredictorError, fit_predictor, fit_predictor_from_graphs, format_scores
from ..sampling import SampleConfig, run_sample
from ..space import SearchSpace, default_space_path, space_path
from ..tasks import get_task
from .base import (
    add_cluster_options,
    add_drop_bad_tail_option,
    check_name,
    command,
    common_options,
    drop_bad_tails,
    genomes_argument,
    set_threads,
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sample``, ``predictor`` and ``predict`` subcommands to the ``nasprior`` parser."""
    p = subparsers.add_parser(
        "sample",
        parents=[common_options()],
        help="train a random sample of a search space (for fitting predictors)",
        description="Draw genomes uniformly from a search space (or N per prior / cell type), train each, and log "
        "the records as a run. Rerunning with the same --run-id resumes: logged genomes are not trained again.",
    )
    p.add_argument("--task", required=True, help="task to train on (digits, mnist, cifar10, ...)")
    p.add_argument(
        "--space",
        help="search space: a TOML file, or a shipped space by name, e.g. cifar10_mlp (default: the task's shipped space)",
    )
    p.add_argument(
        "--n", type=int, required=True, help="genomes to draw: in all, or per prior (and cell) when stratified"
    )
    p.add_argument(
        "--priors", help="comma-separated priors to stratify by, N genomes each (e.g. barabasi_albert,watts_strogatz)"
    )
    p.add_argument("--cells", help="comma-separated recurrent cell types to fix (e.g. gru), N genomes each")
    p.add_argument("--epochs", type=int, help="training budget per candidate, in epochs (default: the space's)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws, validation split and weights (default 0)")
    add_cluster_options(p, "default: a local cluster of the cores available; 1: in this process")
    p.add_argument("--data-dir", help="directory holding the data sets (default: $NASPRIOR_DATA, else ./data)")
    p.add_argument("--download", action="store_true", help="fetch a missing data set from its official source")
    p.add_argument("--runs-dir", default="runs", help="parent of run directories (default: runs)")
    p.add_argument("--run-id", help="name of the run directory (default: <task>-sample-<time>-s<seed>)")
    add_drop_bad_tail_option(p, "resuming a sample (same --run-id)")

    p = subparsers.add_parser(
        "predictor",
        help="fit performance predictors from run records",
        description="Fit performance predictors from the trained records of runs.",
    )
    psub = p.add_subparsers(dest="predictor_command", required=True, metavar="SUBCOMMAND")
    f = psub.add_parser(
        "fit",
        help="fit, tune and score a predictor; store it with its model card",
        description="Fit a StandardScaler + regressor pipeline (Bayesian ridge, random forest or gradient boosting, "
        "chosen with optuna) on the trained records of RUN_DIRs, or on graph files (--graphs DIR) with a table of "
        "their targets (--targets FILE.csv), score it by nested repeated k-fold CV next to a size-only baseline "
        "(nodes, edges, weights, parameters; its own tuned model), calibrate 80%%/90%% conformal intervals and "
        "measure their coverage, rank features by permutation importance, and write <out>/<name>/model.skops and "
        "model_card.json.",
    )
    f.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories (runs/<id>) of one task")
    f.add_argument("--graphs", metavar="DIR", help="folder of graph files (GraphML, GML, edge list, node-link JSON)")
    f.add_argument(
        "--targets",
        metavar="FILE.csv",
        help="with --graphs: CSV with a column naming each graph file, one target column, optional group column",
    )
    f.add_argument("--graph-column", default="graph", help="column of --targets naming the graph files (default graph)")
    f.add_argument(
        "--group-column",
        default="group",
        help="column of --targets grouping rows that must share a fold, used if present (default group)",
    )
    f.add_argument("--name", required=True, help="predictor name (its directory under --out)")
    f.add_argument(
        "--target", help="metric to predict (default val_acc for runs; with --targets, its one target column)"
    )
    f.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="GENE=VALUE",
        help="fit on the records whose genome has this gene value only, e.g. cell=gru (repeatable)",
    )
    f.add_argument(
        "--gene-features",
        metavar="GENES",
        help="comma-separated categorical genes to add as one-hot columns, e.g. cell for one pooled "
        "predictor over cell types (the size-only baseline gets them too)",
    )
    f.add_argument(
        "--fidelity",
        help="fit on the records of this fidelity only (screen, final, sample; default: the "
        "runs' one fidelity, or 'screen' where a search also logged final trainings)",
    )
    f.add_argument(
        "--feature-groups",
        metavar="GROUPS",
        help="comma-separated feature groups of the columns: structural, size, topology, profile, wl, proxies, or "
        "all (default: all but proxies); the size-only baseline is scored whatever the groups",
    )
    f.add_argument("--out", default="predictors", help="parent directory of predictors (default: predictors)")
    f.add_argument("--n-trials", type=int, default=20, help="optuna trials per tuning (default 20)")
    f.add_argument("--folds", type=int, default=5, help="outer CV folds (default 5)")
    f.add_argument("--inner-folds", type=int, default=3, help="inner CV folds of the tuning (default 3)")
    f.add_argument("--repeats", type=int, default=3, help="repetitions of the outer CV (default 3)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--force", action="store_true", help="replace an existing predictor of that name")
    add_drop_bad_tail_option(f, "with RUN_DIRs")

    p = subparsers.add_parser(
        "predict",
        help="predict the metric of genomes or graph files with a stored predictor",
        description="Build the features of genomes (as the search does) or of graph files and print the predictor's "
        "prediction with its 80%% and 90%% conformal intervals, its cross-validated R2, and a warning for features "
        "outside the training range. --graphs prints a CSV table.",
    )
    p.add_argument("--predictor", required=True, metavar="DIR", help="predictor directory, e.g. predictors/reber-gru")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--genome", metavar="FILE_OR_JSON", help="a JSON file or inline JSON: one genome object or a list"
    )
    what.add_argument("--graph", metavar="FILE", help="one graph file (GraphML, GML, edge list, node-link JSON)")
    what.add_argument("--graphs", metavar="DIR", help="every graph file of a folder; prints CSV")
    p.add_argument("--task", help="task (default: the one in the model card; must match it)")


@command("sample")
def cmd_sample(args: argparse.Namespace) -> int:
    """Draw and train a sample; print one line per candidate and a summary."""
    set_threads(args)
    space = SearchSpace.from_toml(
        space_path(args.space) if args.space else default_space_path(get_task(args.task).space)
    )
    train = dict(space.train)
    for option in ("epochs", "batch_size", "lr"):
        if getattr(args, option) is not None:
            train[option] = getattr(args, option)
    train["seed"] = args.seed
    split = lambda text: [x.strip() for x in text.split(",") if x.strip()] if text else None  # noqa: E731
    run_id = (
        check_name(args.run_id, "--run-id")
        if args.run_id
        else f"{args.task}-sample-{time.strftime('%Y%m%d-%H%M%S')}-s{args.seed}"
    )
    config = SampleConfig(
        task=args.task,
        space=space.to_dict(),
        n=args.n,
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


@command("predictor")
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


@command("predict")
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
