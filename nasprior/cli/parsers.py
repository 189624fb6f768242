"""The ``nasprior`` argument parser: every subcommand's options, built without torch or scikit-learn.

This module imports only :mod:`argparse`, :mod:`nasprior._version` and
:mod:`nasprior.names`, so ``nasprior --help`` and ``nasprior <command> --help``
answer at once. Each subcommand names its handler in :data:`HANDLERS`;
:func:`nasprior.cli.main` imports the handler's module (and with it torch)
only when that command runs.
"""

from __future__ import annotations

import argparse

from .._version import __version__
from ..names import DEVICES, OBJECTIVES, PRUNE_SCHEMES, STRATEGIES, TASK_NAMES

#: The function that runs each subcommand, as ``"module:function"``, in ``--help`` order.
HANDLERS = {
    "search": "nasprior.cli.search:cmd_search",
    "sample": "nasprior.cli.predictor:cmd_sample",
    "predictor": "nasprior.cli.predictor:cmd_predictor",
    "predict": "nasprior.cli.predictor:cmd_predict",
    "report": "nasprior.cli.results:cmd_report",
    "export": "nasprior.cli.results:cmd_export",
    "prune-mnist": "nasprior.cli.experiments:cmd_prune_mnist",
    "nnstd": "nasprior.cli.experiments:cmd_nnstd",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``nasprior`` command, with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
        ``parse_args`` gives a namespace whose ``command`` is a key of
        :data:`HANDLERS` (``predictor_command`` too for ``predictor``).
    """
    parser = argparse.ArgumentParser(
        prog="nasprior", description="Search sparse neural network structures from graph priors."
    )
    parser.add_argument("--version", action="version", version=f"nasprior {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_search_command(sub)
    add_predictor_commands(sub)
    add_results_commands(sub)
    add_experiment_commands(sub)
    return parser


def common_options() -> argparse.ArgumentParser:
    """Parent parser of the options every training subcommand takes (``--threads``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch intra-op threads of this process (default: the cores available to it); "
        "give each of several side-by-side runs its share, e.g. --threads 1 for two runs on 2 cores",
    )
    return parent


def add_cluster_options(parser: argparse.ArgumentParser, default_help: str) -> None:
    """Add ``--workers [N]`` and ``--scheduler ADDRESS`` (Dask, :mod:`nasprior.compute.parallel`) to a subcommand."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        nargs="?",
        const=0,
        metavar="N",
        help="evaluate candidates on a local Dask cluster of N worker processes, one torch thread each "
        f"(N omitted or 0: the cores available); {default_help}",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="evaluate candidates on a running Dask cluster, e.g. tcp://10.0.0.5:8786 (dask-jobqueue, "
        "Kubernetes or 'dask scheduler' + 'dask worker'); records are written here",
    )


def add_drop_bad_tail_option(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--drop-bad-tail`` (:func:`nasprior.cli.base.drop_bad_tails`) to a subcommand that reads record logs."""
    parser.add_argument(
        "--drop-bad-tail",
        action="store_true",
        help=f"{what}: move an unreadable end of records.jsonl to records.jsonl.bad and go on",
    )


def add_search_command(sub: argparse._SubParsersAction) -> None:
    """Add ``search`` (handler :func:`nasprior.cli.search.cmd_search`)."""
    p = sub.add_parser(
        "search",
        parents=[common_options()],
        help="genetic search over sparse graph-prior networks",
        description="Genetic search over sparse graph-prior networks. Defaults come from the task's "
        "shipped search space (nasprior/spaces/<task>.toml); options given here override them. A resumed run "
        "(--resume) takes every setting from its config.json; only --data-dir, --threads, --workers, "
        "--scheduler and --drop-bad-tail go with it.",
    )
    p.add_argument("--task", help=f"{', '.join(TASK_NAMES)} (not with --resume)")
    p.add_argument("--data-dir", help="directory holding the data sets (default: $NASPRIOR_DATA, else ./data)")
    p.add_argument(
        "--download", action="store_true", default=None, help="fetch a missing data set from its official source"
    )
    p.add_argument(
        "--space",
        help="search space: a TOML file, or a shipped space by name, e.g. cifar10_mlp (default: the task's shipped space)",
    )
    p.add_argument("--population", type=int, help="individuals per generation")
    p.add_argument("--generations", type=int, help="generations after the initial one")
    p.add_argument("--epochs", type=int, help="training budget per candidate, in epochs")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument(
        "--set-zeta",
        type=float,
        help="SET (Mocanu et al. 2018): fraction of each hidden layer's weights rewired after every epoch",
    )
    p.add_argument("--device", choices=DEVICES, help="where candidates train (default auto: CUDA if present)")
    p.add_argument(
        "--final-top-k",
        type=int,
        help="survivors trained fully after the screening (0: none; default: the space's [final] top_k)",
    )
    p.add_argument(
        "--final-epochs",
        type=int,
        help="epochs of the full training of each survivor (default: the space's [final] epochs)",
    )
    p.add_argument(
        "--final-minutes",
        type=float,
        help="time budget of each survivor's full training, in minutes: its first final epoch is timed and "
        "the epochs that fit (at most --final-epochs) are chosen and logged (default 0: no time budget, "
        "the [final] epochs, the same on every run)",
    )
    p.add_argument("--seed", type=int, help="seed of the GA, validation split and weights (default 0)")
    p.add_argument("--runs-dir", help="parent of run directories (default: runs)")
    p.add_argument("--run-id", help="name of the run directory (default: <task>-<time>-s<seed>)")
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run without retraining logged candidates"
    )
    p.add_argument(
        "--drop-bad-tail",
        action="store_true",
        help="with --resume: move an unreadable end of records.jsonl to records.jsonl.bad and go on",
    )
    p.add_argument("--no-skip", action="store_true", default=None, help="train every offspring (no predictor skipping)")
    p.add_argument("--skip-quantile", type=float, help="skip offspring predicted below this quantile of the population")
    p.add_argument("--skip-warmup", type=int, help="trained candidates before the predictor may skip")
    p.add_argument("--skip-min-r2", type=float, help="minimum cross-validated R2 of the predictor to skip")
    p.add_argument(
        "--skip-interval",
        type=float,
        metavar="LEVEL",
        help="skip only when the upper bound of the predictor's LEVEL conformal interval (e.g. 0.8) is "
        "below the threshold (default 0: the point prediction)",
    )
    p.add_argument(
        "--predictor",
        metavar="DIR",
        help="stored predictor (a 'nasprior predictor fit' folder, or a shipped one by name, e.g. cifar10-cnn) that "
        "skips or ranks offspring from the first generation, until the run's own predictor beats it "
        "(default: the space's [search] predictor)",
    )
    p.add_argument(
        "--no-predictor",
        action="store_true",
        default=None,
        help="use no stored predictor, not even the space's (the run's own predictor only)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="ga-skip (default): GA whose predictor skips poor offspring; ga: train every offspring; "
        "ga-screen: breed --screen-factor times more offspring, train those the predictor ranks best; "
        "random: random search at the same budget",
    )
    p.add_argument("--screen-factor", type=int, help="ga-screen: offspring bred per trained offspring (default 10)")
    p.add_argument(
        "--initial-factor",
        type=int,
        help="ga-skip, ga-screen with a usable stored predictor: generation 0 draws this many random candidates per "
        "member and trains the population it ranks best (default 3; 1: generation 0 at random)",
    )
    p.add_argument(
        "--objectives",
        help=f"comma-separated, accuracy first: {', '.join(OBJECTIVES)} "
        "(more than one: NSGA-II and a Pareto front; default accuracy)",
    )
    add_cluster_options(p, "default: train in this process")


def add_predictor_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sample``, ``predictor fit`` and ``predict`` (handlers in :mod:`nasprior.cli.predictor`)."""
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
        "--n",
        type=int,
        help="genomes to draw: in all, or per prior (and cell) when stratified (with --all: at most this many, "
        "default all)",
    )
    p.add_argument(
        "--all",
        action="store_true",
        help="train every genome of a discrete space (each gene a list of values), in a seeded random order",
    )
    p.add_argument(
        "--replicates",
        type=int,
        default=0,
        help="genomes (spread over the order) trained a second time with seeds one higher: the seed noise (default 0)",
    )
    p.add_argument(
        "--priors", help="comma-separated priors to stratify by, N genomes each (e.g. barabasi_albert,watts_strogatz)"
    )
    p.add_argument("--cells", help="comma-separated recurrent cell types to fix (e.g. gru), N genomes each")
    p.add_argument(
        "--final",
        action="store_true",
        help="train with the space's final-stage budget ([final] over [train]; records of fidelity 'final'), e.g. "
        "labels for a fidelity study",
    )
    p.add_argument("--epochs", type=int, help="training budget per candidate, in epochs (default: the space's)")
    p.add_argument("--train-subset", type=int, help="train on a seeded subset of this many images (0: all)")
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
        help="comma-separated feature groups of the columns: structural, size, topology, profile, wl, proxies, "
        "curve (with --curve-from), or all (every group but curve; default: all but proxies); the size-only "
        "baseline is scored whatever the groups",
    )
    f.add_argument(
        "--curve-from",
        nargs="+",
        metavar="RUN_DIR",
        help="runs whose screening records give the curve group's columns, by genome key (fit a final-fidelity "
        "target from structure plus the screening learning curve, Baker et al. 2017)",
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


def add_results_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` and ``export`` (handlers in :mod:`nasprior.cli.results`)."""
    p = sub.add_parser(
        "report",
        help="write a run's HTML report with its figures",
        description="Write one self-contained HTML file (figures embedded) for a run: accuracy per "
        "generation, accuracy against size with the Pareto front, predicted against actual, skip and "
        "screen decisions, the best network's topology, feature importances, config and versions.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'nasprior search'")
    p.add_argument("--out", help="HTML file to write (default: RUN_DIR/report.html)")
    add_drop_bad_tail_option(p, "before reading the run")
    p = sub.add_parser(
        "export",
        help="export a run's network to ONNX (masks folded into the weights)",
        description="Export the best network of a run (or another trained candidate, retrained from "
        "its genome) to ONNX, checked against torch in onnxruntime.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'nasprior search'")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format (onnx)")
    p.add_argument("--key", help="candidate to export, e.g. a Pareto member (default: the best)")
    p.add_argument("--out", help="file to write (default: RUN_DIR/best/model.onnx)")
    add_drop_bad_tail_option(p, "with --key, before reading the run")


def add_experiment_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prune-mnist`` and ``nnstd`` (handlers in :mod:`nasprior.cli.experiments`)."""
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
        "--schemes",
        default=",".join(PRUNE_SCHEMES),
        help=f"comma-separated schemes (default {','.join(PRUNE_SCHEMES)})",
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
    p.add_argument("--task", help=f"take the input size from a task ({', '.join(TASK_NAMES)})")
    p.add_argument("--n-inputs", type=int, help="input features of the networks built from genomes")
    p.add_argument("--n-outputs", type=int, default=10, help="output units of networks built from genomes (default 10)")
    p.add_argument("--include-output", action="store_true", help="compare the output layer's mask too")
