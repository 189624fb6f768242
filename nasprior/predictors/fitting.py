"""Fit, tune and score predictors from run logs or from graph files (nested, repeated cross-validation).

This module turns the trained records of one or more runs
(``runs/<id>/records.jsonl``, e.g. from ``nasprior sample``), or a folder of
graph files with a table of their measured targets (``predictor fit --graphs
DIR --targets FILE.csv``), into a scikit-learn pipeline (``StandardScaler`` +
a regressor of :mod:`~nasprior.predictors.regressors`), chooses the regressor
and its hyperparameters with optuna, scores it honestly by nested, repeated
k-fold cross-validation next to an honest size-only baseline, calibrates
conformal prediction intervals (:mod:`~nasprior.predictors.intervals`) and
measures their coverage, and ranks the features by permutation importance on
held-out folds. The result is a :class:`~nasprior.predictors.stored.Predictor`
with its model card.

Features
--------
Run records: the columns of the chosen feature groups
(:data:`nasprior.features.FEATURE_GROUPS`, ``feature_groups``); by default
:data:`nasprior.features.DEFAULT_FEATURE_GROUPS`, the columns of
:data:`nasprior.evaluation.CANDIDATE_FEATURES` (structural, size, topology,
profile and Weisfeiler-Lehman features), in that order, and the zero-cost
proxies (group ``proxies``) only when named; graph files: :data:`nasprior.evaluation.GRAPH_CANDIDATE_FEATURES`
(:func:`nasprior.evaluation.graph_candidate_features` without a task).
Feature selection is recorded in the card: columns missing or non-finite in
some row are dropped (``features.dropped``; records of older nasprior
versions lack the newer features), and so are columns constant over all rows
(``features.dropped_constant``: they carry no information, e.g. clustering of
strictly layered graphs). The size-only baseline uses
:data:`SIZE_ONLY_FEATURES`: counts only (nodes, edges, weights, parameters),
never a shape feature such as the first layer's width.

Scoring protocol
----------------
For each of ``repeats`` seeds, the rows are split into ``folds`` shuffled
folds (whole groups per fold when groups are given). For every outer fold,
optuna (TPE, seeded) chooses the model class (Bayesian ridge, random forest,
gradient boosting) and its hyperparameters by the mean R² of an inner
``inner_folds``-fold cross-validation *on the outer training part only*; the
chosen pipeline is refitted on that part and predicts the held-out fold. The
size-only baseline gets the same treatment on its own columns: its own model
class and hyperparameters, chosen among the same classes with the same
number of trials. Interval half-widths are calibrated on the out-of-fold
residuals of the outer training part (MAPIE, ``inner_folds`` folds) and their
coverage counted on the held-out fold. In the first repeat, permutation
importance (R² drop, :func:`sklearn.inspection.permutation_importance`) of
every column is measured on each held-out fold and averaged. R², Spearman ρ
and Kendall τ are computed on the pooled out-of-fold predictions of each
repeat and reported, like the coverage, as mean ± std over the repeats. The
shipped model is then tuned on all rows with ``folds``-fold CV, refitted on
all of them, and its intervals calibrated on its ``folds``-fold out-of-fold
residuals.

Why this module is long
-----------------------
It holds the two entry points (run logs and graph files), their readers and
the one table fit they share, each with the full docstring a user of the
API needs; splitting them would separate the readers from the only code
that calls them.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Akiba2019] T. Akiba et al., "Optuna: a next-generation hyperparameter
   optimization framework", KDD 2019.
.. [Varma2006] S. Varma, R. Simon, "Bias in error estimation when using
   cross-validation for model selection", BMC Bioinformatics 7:91, 2006
   (why the tuning is nested inside the scoring folds).
.. [Breiman2001] L. Breiman, "Random forests", Machine Learning 45, 2001
   (permutation importance).
.. [Barber2021] R. F. Barber et al., "Predictive inference with the
   jackknife+", Ann. Statist. 49(1), 2021 (cross-validated conformal intervals).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, RecordError
from ..evaluation import GRAPH_CANDIDATE_FEATURES, graph_candidate_features
from ..features import FEATURE_GROUPS, curve_features, group_feature_names, parse_feature_groups
from ..genes import GENES
from ..graph_io import read_graph
from ..runs.records import CONFIG_FILE, RECORDS_FILE, SCREEN_FIDELITY, RecordLog
from ..tasks import get_task
from .base import (
    TARGET,
    feature_matrix,
    gene_columns,
    gene_value,
    record_group,
    select_feature_names,
    trained_records,
)
from .intervals import conformal_half_widths
from .regressors import make_pipeline
from .scoring import _splitter, nested_cv_scores, tune
from .stored import GRAPH_TASK, SCHEMA_VERSION, Predictor, versions

#: Columns of the size-only baseline (those present are used): counts of nodes, edges, weights and
#: parameters. No shape feature (first-layer width, depth, sources, sinks): those are structure.
SIZE_ONLY_FEATURES = ("n_nodes", "n_edges", "n_weights", "n_params")


def read_runs(run_dirs: Sequence[str | os.PathLike]) -> tuple[list[dict], list[dict]]:
    """Records and a description of each run directory.

    Parameters
    ----------
    run_dirs : sequence of path-like
        Run directories holding ``records.jsonl`` (and usually ``config.json``), or data set
        folders holding ``records.jsonl.gz`` (e.g. ``datasets/cifar10-cnn``).

    Returns
    -------
    records : list of dict
        All records of all runs, in order.
    runs : list of dict
        Per run: ``path`` (as given), ``run_id``, ``task``, ``n_records``, ``n_trained``
        and ``config`` (the parsed ``config.json``, or ``{}``).

    Raises
    ------
    RecordError
        If a directory has no record log, or a log is unreadable.
    """
    records, runs = [], []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        log_path = run_dir / RECORDS_FILE
        if not log_path.exists() and (run_dir / (RECORDS_FILE + ".gz")).exists():
            log_path = run_dir / (RECORDS_FILE + ".gz")  # a shipped data set (datasets/<name>/records.jsonl.gz)
        if not log_path.exists():
            raise RecordError(
                f"{run_dir} holds no {RECORDS_FILE}: give run directories made by 'nasprior sample' or 'nasprior search'"
                ", or a shipped data set folder (records.jsonl.gz)"
            )
        run_records = RecordLog(log_path).read()
        config = {}
        if (run_dir / CONFIG_FILE).exists():
            try:
                config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
            except ValueError:
                config = {}
        run_ids = sorted({str(r.get("run_id", "")) for r in run_records})
        tasks = sorted({str(r.get("task", "")) for r in run_records})
        runs.append(
            {
                "path": str(run_dir),
                "run_id": config.get("run_id") or (run_ids[0] if len(run_ids) == 1 else ",".join(run_ids)),
                "task": config.get("task") or (tasks[0] if tasks else None),
                "n_records": len(run_records),
                "n_trained": sum(r.get("status") == "trained" for r in run_records),
                "config": config,
            }
        )
        records.extend(run_records)
    return records, runs


def read_graph_table(
    graph_dir: str | os.PathLike,
    targets: str | os.PathLike,
    *,
    target: str | None = None,
    graph_column: str = "graph",
    group_column: str | None = "group",
) -> tuple[list[Path], np.ndarray, np.ndarray | None, str, str | None]:
    """Graph files and their targets from a CSV table.

    Parameters
    ----------
    graph_dir : path-like
        Folder the graph file names of the table are relative to.
    targets : path-like
        CSV file with a header: a column naming each graph file
        (``graph_column``), one numeric target column, and optionally a group
        column (rows of one group, e.g. seeds of one architecture, always
        share a fold).
    target : str, optional
        The target column; default the one column that is neither the graph
        nor the group column.
    graph_column : str
    group_column : str, optional
        Used when the table has it; None ignores groups.

    Returns
    -------
    paths : list of pathlib.Path, shape (n_rows,)
    y : numpy.ndarray of float64, shape (n_rows,)
    groups : numpy.ndarray of str, shape (n_rows,), or None
    target : str
        The target column used.
    group_column : str or None
        The group column used.

    Raises
    ------
    DataError
        If a file is missing, the table lacks a column, the target column is
        ambiguous, a target is not a finite number, or a graph file is missing.
    """
    graph_dir, targets = Path(graph_dir), Path(targets)
    if not graph_dir.is_dir():
        raise DataError(f"--graphs {graph_dir} is not a directory: give the folder holding the graph files")
    if not targets.is_file():
        raise DataError(
            f"--targets {targets} does not exist: give a CSV file with a '{graph_column}' column and a target column"
        )
    try:
        with open(targets, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(
            f"--targets {targets} is not a readable UTF-8 CSV file ({exc}): give a CSV file with a "
            f"'{graph_column}' column and a target column"
        ) from None
    if graph_column not in columns:
        raise DataError(
            f"{targets} has no column {graph_column!r} (columns: {', '.join(columns) or 'none'}): "
            "name the graph-file column with --graph-column"
        )
    group_column = group_column if group_column in columns else None
    if target is None:
        rest = [c for c in columns if c not in (graph_column, group_column)]
        if len(rest) != 1:
            raise DataError(f"{targets} has target candidates {', '.join(rest) or 'none'}: choose one with --target")
        target = rest[0]
    elif target not in columns:
        raise DataError(
            f"{targets} has no column {target!r} (columns: {', '.join(columns)}): choose --target among them"
        )
    paths, ys, groups = [], [], []
    for i, row in enumerate(rows, start=2):  # line numbers, after the header
        try:
            value = float(row[target])
        except (TypeError, ValueError):
            value = float("nan")
        if not math.isfinite(value):
            raise DataError(
                f"{targets} line {i}: {target} = {row[target]!r} is not a finite number: fix or drop the row"
            )
        path = graph_dir / str(row[graph_column])
        if not path.is_file():
            raise DataError(
                f"{targets} line {i}: graph file {path} does not exist: file names are relative to --graphs"
            )
        paths.append(path)
        ys.append(value)
        groups.append(str(row[group_column]) if group_column else "")
    return paths, np.asarray(ys, dtype=np.float64), (np.asarray(groups) if group_column else None), target, group_column


def _check_options(n_trials: int, folds: int, inner_folds: int, repeats: int) -> None:
    for option, value, low in (
        ("n_trials", n_trials, 1),
        ("folds", folds, 2),
        ("inner_folds", inner_folds, 2),
        ("repeats", repeats, 1),
    ):
        if value < low:
            raise ConfigError(f"{option} = {value} is too small: use at least {low}")


def fit_predictor(
    run_dirs: Sequence[str | os.PathLike],
    name: str,
    *,
    target: str = TARGET,
    n_trials: int = 20,
    folds: int = 5,
    inner_folds: int = 3,
    repeats: int = 3,
    seed: int = 0,
    task: Mapping[str, Any] | None = None,
    where: Mapping[str, str] | None = None,
    gene_features: Sequence[str] = (),
    fidelity: str | None = None,
    feature_groups: str | Sequence[str] | None = None,
    log: Callable[[str], None] | None = None,
    curve_from: Sequence[str | os.PathLike] | None = None,
) -> Predictor:
    """Fit, score and describe a predictor from the trained records of runs (not saved).

    Parameters
    ----------
    run_dirs : sequence of path-like
        Run directories (``records.jsonl``, ``config.json``) of one task.
    name : str
        Name of the predictor (its directory name under ``predictors/``).
    target : str
        Metric to predict, a key of each record's ``metrics``.
    n_trials, folds, inner_folds, repeats, seed : int
        Tuning and scoring protocol (see :func:`nested_cv_scores`).
    task : dict, optional
        ``{"name", "n_inputs", "n_classes", "vocab_size"}``; default from the runs' config
        (``n_inputs``/``n_classes`` written by ``nasprior sample``), else
        the shape of the registered task (:class:`~nasprior.tasks.TaskShape`).
    where : dict of str to str, optional
        Keep only records whose genome has these gene values, e.g.
        ``{"cell": "gru"}`` for a per-cell predictor as in Stier et al. (2021);
        stored in the card, and a genome outside it is refused at prediction.
    gene_features : sequence of str
        Categorical genes added as one-hot columns (``"cell=gru"``, ...), e.g.
        ``["cell"]`` for one pooled predictor over all cell types. They are
        given to the size-only baseline too (they are not structure), so the
        comparison isolates the structural features.
    fidelity : str, optional
        Fit on the records of this fidelity only (``"screen"``, ``"final"``,
        ``"sample"``; records without the field count as ``"screen"``).
        Default: the runs' one fidelity; where they hold several (a search's
        screening and its final training), the screening records, and the
        others are named in the log and the card, never mixed in.
    feature_groups : str or sequence of str, optional
        Feature groups of the columns (:data:`nasprior.features.FEATURE_GROUPS`),
        e.g. ``"size,structural,proxies"``; default
        :data:`nasprior.features.DEFAULT_FEATURE_GROUPS`. Stored in the card.
        The size-only baseline uses :data:`SIZE_ONLY_FEATURES` whatever the groups.
        With the ``curve`` group each record's learning-curve features
        (:func:`nasprior.features.curve_features`) are added to its columns.
    log : callable, optional
        Receives progress lines.
    curve_from : sequence of path-like, optional
        Runs whose trained screening (or sample) records give the ``curve``
        columns instead of each record's own curve, matched by genome key: a
        final-fidelity target learnt from structure plus the screening curve
        (Baker et al. 2017). Records without a match are left out (logged).

    Returns
    -------
    Predictor
        With its model card filled in, except the checksum (set by :meth:`Predictor.save`).

    Raises
    ------
    RecordError
        If the runs are unreadable, mix tasks, or hold fewer than 10 trained records (after ``where``),
        or no column of a chosen group is present with a finite value in every record (e.g. proxies in
        records of older versions or of sequence tasks).
    ConfigError
        If an option is out of range, a feature group is unknown, or a ``where`` / ``gene_features`` gene
        is absent from every record.
    """
    _check_options(n_trials, folds, inner_folds, repeats)
    categorical = ["prior", "mapping", *sorted(n for n, g in GENES.items() if g.kind == "choice")]
    numeric = [g for g in gene_features if g in GENES and g not in categorical]  # unknown genes: refused below
    if numeric:
        raise ConfigError(
            f"--gene-features {','.join(numeric)}: one-hot columns are for categorical genes, and "
            f"{', '.join(numeric)} {'is' if len(numeric) == 1 else 'are'} not (a numeric gene's effect is in the "
            f"structural and size features already): choose among {', '.join(categorical)}"
        )
    groups = parse_feature_groups(feature_groups)
    log = log or (lambda line: None)
    start = time.perf_counter()
    records, runs = read_runs(run_dirs)
    tasks = sorted({r["task"] for r in runs if r["task"]})
    if len(tasks) != 1:
        raise RecordError(f"the runs hold tasks {tasks or 'none'}: fit a predictor on runs of one task")
    # In key order: a parallel sample logs records in completion order, which varies from run to run, and
    # the CV folds follow the row order; sorted, the same records give the same predictor and scores.
    trained = sorted(trained_records(records, target), key=lambda r: str(r.get("key", "")))
    record_fidelity = [str(r.get("fidelity") or SCREEN_FIDELITY) for r in trained]
    fidelities = sorted(set(record_fidelity))
    if fidelity is None:
        fidelity = fidelities[0] if len(fidelities) == 1 else SCREEN_FIDELITY
    left_out = len(trained) - record_fidelity.count(fidelity)
    trained = [r for r, f in zip(trained, record_fidelity) if f == fidelity]
    if left_out:
        log(
            f"fidelity {fidelity!r}: {left_out} trained record(s) of other fidelities ({', '.join(fidelities)}) left "
            "out; fit them on their own with --fidelity"
        )
    if "curve" in groups:
        if not curve_from:  # a record's own curve holds its own best val_acc: no prediction, a copy
            raise ConfigError(
                "the curve feature group needs --curve-from SCREEN_RUN (the screening curves of the genomes whose "
                "final accuracy is fitted, e.g. --fidelity final)"
            )
        trained = with_curve_features(trained, curve_from, log)
    elif curve_from:
        raise ConfigError("--curve-from gives the 'curve' feature group's columns: add curve to --feature-groups")
    where = {str(k): str(v) for k, v in (where or {}).items()}
    for gene in [*where, *gene_features]:
        if not any(gene_value(r.get("genome", {}), gene) is not None for r in trained):
            raise ConfigError(
                f"no trained record has a gene {gene!r}: choose a gene of these genomes (e.g. prior, cell)"
            )
    trained = [r for r in trained if all(str(gene_value(r.get("genome", {}), k)) == v for k, v in where.items())]
    if len(trained) < 10:
        selection = f" with {', '.join(f'{k}={v}' for k, v in where.items())}" if where else ""
        raise RecordError(
            f"{len(trained)} trained record(s){selection} with metric {target!r} in {len(runs)} run(s): a "
            "predictor needs at least 10; sample more candidates (nasprior sample --n ...)"
        )
    names, dropped = select_feature_names(trained, group_feature_names(groups))
    empty = [g for g in groups if not set(FEATURE_GROUPS[g]) & set(names)]
    if empty and feature_groups is not None:  # groups the user asked for; a default group may be absent (older records)
        raise RecordError(
            f"no feature of group(s) {', '.join(empty)} has a finite value in every trained record (records of "
            "older nasprior versions and of sequence tasks carry no proxies): choose other --feature-groups"
        )
    X, y = feature_matrix(trained, names, target)
    size_names = select_feature_names(trained, SIZE_ONLY_FEATURES)[0] if set(SIZE_ONLY_FEATURES) - set(names) else []
    size_only = (feature_matrix(trained, size_names, target)[0], size_names) if size_names else None
    genes = {g: sorted({str(gene_value(r.get("genome", {}), g)) for r in trained}) for g in gene_features}
    if genes:
        columns = [gene_columns(r.get("genome", {}), genes) for r in trained]
        gene_names = list(columns[0])
        X = np.hstack([X, np.asarray([[c[n] for n in gene_names] for c in columns], dtype=np.float64)])
        names = [*names, *gene_names]
    if task is None:
        config = runs[0]["config"]
        if "n_inputs" in config and "n_classes" in config:
            task = {
                "name": tasks[0],
                "n_inputs": config["n_inputs"],
                "n_classes": config["n_classes"],
                "vocab_size": config.get("vocab_size") or 0,
            }
        else:
            task = get_task(tasks[0]).shape.to_dict()
    training = [
        {
            **{k: v for k, v in r.items() if k != "config"},
            "train": r["config"].get("train", {}),
            "fidelity": fidelity,
            "n_other_fidelity": left_out,
        }
        for r in runs
    ]
    # Records of one network share its features: second seeds of a genome (nasprior sample --replicates) and
    # genomes that build the same network (a Watts-Strogatz ring with k = n - 1 is the complete graph for every
    # p and seed). Keep them in one fold, or the held-out folds would hold networks the model was fitted on.
    # (Records of one genome at several pruned densities are different networks: grouped only by their genome
    # and density.)
    keys = [record_group(r) for r in trained]
    key_groups = np.asarray(keys) if len(set(keys)) < len(keys) else None
    log(
        f"{len(trained)} trained records from {len(runs)} run(s)"
        + (f" with {', '.join(f'{k}={v}' for k, v in where.items())}" if where else "")
        + (
            f"; {len(keys) - len(set(keys))} records of a network already counted (second seeds, genomes of one "
            "network) kept in its cross-validation fold"
            if key_groups is not None
            else ""
        )
    )
    return fit_table(
        X,
        y,
        names,
        name,
        groups=key_groups,
        target=target,
        task=task,
        source="runs",
        training=training,
        dropped=dropped,
        genes=genes,
        where=where,
        rule=f"features of the groups {', '.join(groups)} (nasprior.features.FEATURE_GROUPS) present with a finite "
        "value in every trained record" + (f", then one-hot columns of the genes {', '.join(genes)}" if genes else ""),
        feature_groups=groups,
        size_only=size_only,
        n_trials=n_trials,
        folds=folds,
        inner_folds=inner_folds,
        repeats=repeats,
        seed=seed,
        log=log,
        start=start,
    )


def with_curve_features(
    records: list[dict], curve_from: Sequence[str | os.PathLike], log: Callable[[str], None]
) -> list[dict]:
    """Copies of trained records with learning-curve columns (:func:`nasprior.features.curve_features`) added.

    The curve is that of the trained screening or sample record of the same key in the ``curve_from`` runs
    (the best by validation accuracy where there are several); records without one are left out.

    Raises
    ------
    RecordError
        If no record has a match with a curve.
    """
    source: dict[str, dict] = {}
    for r in read_runs(curve_from)[0]:
        if r["status"] == "trained" and str(r.get("fidelity") or SCREEN_FIDELITY) in ("screen", "sample"):
            known = source.get(r["key"])
            if known is None or r["metrics"]["val_acc"] > known["metrics"]["val_acc"]:
                source[r["key"]] = r
    out = []
    for r in records:
        columns = curve_features((source.get(r["key"]) or {}).get("curve") or [])
        if columns:
            out.append({**r, "features": {**r["features"], **columns}})
    if len(out) < len(records):
        log(
            f"curve features: {len(records) - len(out)} of {len(records)} record(s) without a screening record "
            "of the same genome in --curve-from left out"
        )
    if not out:
        raise RecordError(
            "no record has a screening record with a learning curve in --curve-from: give the run that screened them"
        )
    return out


def fit_predictor_from_graphs(
    graph_dir: str | os.PathLike,
    targets: str | os.PathLike,
    name: str,
    *,
    target: str | None = None,
    graph_column: str = "graph",
    group_column: str | None = "group",
    n_trials: int = 20,
    folds: int = 5,
    inner_folds: int = 3,
    repeats: int = 3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Predictor:
    """Fit, score and describe a predictor from graph files and a table of their targets (not saved).

    The graphs may come from any tool (GraphML, GML, edge lists, node-link
    JSON; see :func:`nasprior.graph_io.read_graph`); their features are
    :func:`nasprior.evaluation.graph_candidate_features` without a task
    (the graph alone defines the network). Scoring, intervals and the card
    are exactly those of :func:`fit_predictor`.

    Parameters
    ----------
    graph_dir : path-like
        Folder of the graph files.
    targets : path-like
        CSV table (see :func:`read_graph_table`).
    name : str
        Name of the predictor.
    target, graph_column, group_column
        Columns of the table (see :func:`read_graph_table`).
    n_trials, folds, inner_folds, repeats, seed : int
        As :func:`fit_predictor`.
    log : callable, optional
        Receives progress lines.

    Returns
    -------
    Predictor

    Raises
    ------
    DataError
        If the table or a graph file is missing or unreadable, or a file is a pickle.
    ConfigError
        If a graph is invalid (e.g. a directed graph with a cycle) or an option is out of range.
    RecordError
        If fewer than 10 rows remain.
    """
    _check_options(n_trials, folds, inner_folds, repeats)
    log = log or (lambda line: None)
    start = time.perf_counter()
    paths, y, groups, target, group_column = read_graph_table(
        graph_dir, targets, target=target, graph_column=graph_column, group_column=group_column
    )
    if len(y) < 10:
        raise RecordError(f"{targets} has {len(y)} row(s): a predictor needs at least 10 graphs with targets")
    log(f"computing features of {len(paths)} graphs from {graph_dir}")
    rows = []
    for path in paths:
        try:
            rows.append(graph_candidate_features(read_graph(path)))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    records = [{"features": row} for row in rows]
    names, dropped = select_feature_names(records, GRAPH_CANDIDATE_FEATURES)
    X = np.asarray([[row[n] for n in names] for row in rows], dtype=np.float64)
    training = [
        {
            "path": str(graph_dir),
            "targets": str(targets),
            "target_column": target,
            "group_column": group_column,
            "n_records": len(y),
            "n_trained": len(y),
            "n_groups": int(len(np.unique(groups))) if groups is not None else None,
        }
    ]
    return fit_table(
        X,
        y,
        names,
        name,
        target=target,
        task=dict(GRAPH_TASK),
        source="graphs",
        training=training,
        dropped=dropped,
        groups=groups,
        rule="nasprior.evaluation.GRAPH_CANDIDATE_FEATURES (graph alone, no task) finite for every graph",
        n_trials=n_trials,
        folds=folds,
        inner_folds=inner_folds,
        repeats=repeats,
        seed=seed,
        log=log,
        start=start,
    )


def fit_table(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    name: str,
    *,
    target: str,
    task: Mapping[str, Any],
    source: str,
    training: list[dict],
    dropped: Sequence[str] = (),
    groups: np.ndarray | None = None,
    rule: str = "",
    genes: Mapping[str, Sequence[str]] | None = None,
    where: Mapping[str, str] | None = None,
    n_trials: int = 20,
    folds: int = 5,
    inner_folds: int = 3,
    repeats: int = 3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    start: float | None = None,
    feature_groups: Sequence[str] | None = None,
    size_only: tuple[np.ndarray, Sequence[str]] | None = None,
) -> Predictor:
    """Select columns, score, tune, fit and calibrate a predictor on a feature table; write its card.

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, len(names))
    y : numpy.ndarray of shape (n_samples,)
    names : sequence of str
        Column names of ``X``.
    name : str
        Name of the predictor.
    target : str
        What ``y`` is (e.g. ``val_acc``).
    task : dict
        ``{"name", "n_inputs", "n_classes", "vocab_size"}`` (``GRAPH_TASK`` for graphs without a task).
    source : {"runs", "graphs"}
        Where the rows came from; decides how features of new inputs are built.
    training : list of dict
        Description of the training data, stored in the card.
    dropped : sequence of str
        Columns already dropped (missing in some row).
    groups : numpy.ndarray of shape (n_samples,), optional
        Group labels: whole groups per fold.
    rule : str
        How the columns were chosen, for the card.
    genes : dict of str to list of str, optional
        Categorical genes whose one-hot columns (``"<gene>=<category>"``) are
        among ``names``; the size-only baseline gets them too.
    where : dict of str to str, optional
        Gene values the rows were restricted to (stored in the card).
    n_trials, folds, inner_folds, repeats, seed : int
        As :func:`nested_cv_scores`.
    log : callable, optional
    start : float, optional
        ``time.perf_counter()`` at the start of the fit (for ``fit_time_s``).
    feature_groups : sequence of str, optional
        The feature groups of ``names`` (stored in the card as ``features.groups``).
    size_only : (numpy.ndarray of shape (n_samples, k), sequence of str), optional
        The size-only baseline's columns and names where ``X`` lacks some of
        :data:`SIZE_ONLY_FEATURES`; default: those columns of ``X``.

    Returns
    -------
    Predictor

    Raises
    ------
    RecordError
        If no column varies, or no size-only column is present.
    """
    log = log or (lambda line: None)
    start = time.perf_counter() if start is None else start
    names = list(names)
    constant = [n for i, n in enumerate(names) if np.ptp(X[:, i]) == 0]
    keep = [i for i, n in enumerate(names) if n not in constant]
    if not keep:
        raise RecordError("every feature is constant over the training rows: nothing to learn from")
    X, names = X[:, keep], [names[i] for i in keep]
    genes = {g: list(c) for g, c in (genes or {}).items()}
    gene_names = [f"{g}={c}" for g, categories in genes.items() for c in categories]
    if any(n in constant for n in gene_names):  # one category only: the predictor reads the gene's columns all the same
        raise RecordError(f"a gene feature has one value in all rows ({genes}): drop it from the gene features")
    if size_only is None:
        size_names = [n for n in SIZE_ONLY_FEATURES if n in names]
        Xs = X[:, [names.index(n) for n in size_names]]
    else:
        varying = [i for i in range(len(size_only[1])) if np.ptp(size_only[0][:, i]) > 0]
        size_names, Xs = [size_only[1][i] for i in varying], size_only[0][:, varying]
    if not size_names:
        raise RecordError(f"none of the size-only features {', '.join(SIZE_ONLY_FEATURES)} is in the rows")
    size_genes = [n for n in gene_names if n in names]
    size_names += size_genes
    Xs = np.hstack([Xs, X[:, [names.index(n) for n in size_genes]]])
    log(
        f"{len(y)} rows, {len(names)} features ({len(dropped)} missing somewhere and {len(constant)} constant dropped); "
        f"scoring by nested CV ({repeats} x {folds}-fold, {n_trials} optuna trials per tuning)"
    )
    scores = nested_cv_scores(
        X,
        y,
        (),
        size_X=Xs,
        n_trials=n_trials,
        folds=folds,
        inner_folds=inner_folds,
        repeats=repeats,
        seed=seed,
        groups=groups,
        names=names,
        log=log,
    )
    importance = scores.pop("importance")
    coverage = scores.pop("coverage")
    cv_half_width = scores.pop("half_width")
    model, params, final_cv_r2 = tune(X, y, n_trials=n_trials, folds=folds, seed=seed, groups=groups)
    pipeline = make_pipeline(model, params, seed).fit(X, y)
    half_widths = conformal_half_widths(
        make_pipeline(model, params, seed), X, y, _splitter(len(y), folds, seed, groups), groups
    )
    log(f"final model: {model} {json.dumps(params, sort_keys=True)} (CV R2 of the tuning {final_cv_r2:.3f})")
    card = {
        "schema": SCHEMA_VERSION,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target": target,
        "task": dict(task),
        "source": source,
        "where": dict(where or {}),
        "features": {
            "names": names,
            "min": {n: float(v) for n, v in zip(names, X.min(axis=0))},
            "max": {n: float(v) for n, v in zip(names, X.max(axis=0))},
            "dropped": list(dropped),
            "dropped_constant": constant,
            "size_only": size_names,
            "groups": list(feature_groups or ()),
            "genes": genes,
            "rule": rule,
            "selection": "columns missing or non-finite in some row ('dropped') and columns constant over all rows "
            "('dropped_constant') are left out",
        },
        "training_runs": training,
        "n_train": int(len(y)),
        "target_summary": {
            "min": float(y.min()),
            "max": float(y.max()),
            "mean": float(y.mean()),
            "std": float(y.std()),
        },
        "scores": scores,
        "intervals": {
            "method": "split conformal, cross-validated (MAPIE CrossConformalRegressor, method 'base'): prediction "
            "+/- the conformal quantile of the absolute out-of-fold residuals",
            "half_width": half_widths,
            "calibration_folds": _splitter(len(y), folds, seed, groups).get_n_splits(),
            "coverage": coverage,
            "cv_half_width": cv_half_width,
            "coverage_protocol": scores["protocol"]["intervals"],
        },
        "importance": importance,
        "model": {
            "class": model,
            "estimator": f"{type(pipeline[-1]).__module__}.{type(pipeline[-1]).__name__}",
            "params": params,
            "tuning_cv_r2": final_cv_r2,
            "pipeline": "StandardScaler -> regressor",
            "seed": seed,
        },
        "fit_time_s": round(time.perf_counter() - start, 1),
        "versions": versions(),
    }
    return Predictor(pipeline, card)
