"""Fit, tune and score predictors from run logs (nested, repeated cross-validation).

This module turns the trained records of one or more runs
(``runs/<id>/records.jsonl``, e.g. from ``nasprior sample``) into a
scikit-learn pipeline (``StandardScaler`` + a regressor of
:mod:`~nasprior.predictors.regressors`), chooses the regressor and its
hyperparameters with optuna, and scores it honestly by nested, repeated
k-fold cross-validation next to a size-only baseline. The result is a
:class:`~nasprior.predictors.stored.Predictor` with its model card.

Features
--------
The columns are those of :data:`nasprior.evaluation.CANDIDATE_FEATURES` (the
structural features of :mod:`nasprior.features` followed by the size
features of :func:`nasprior.features.size_features`), in that order,
restricted to the ones present with a finite value in *every* trained record
used (features missing or non-finite anywhere are dropped and listed in the
card under ``features.dropped``). The size-only baseline uses
:data:`SIZE_ONLY_FEATURES` (``n_params``, ``n_edges``,
``first_layer_width``; those present).

Scoring protocol
----------------
For each of ``repeats`` seeds, the trained records are split into ``folds``
shuffled folds. For every outer fold, optuna (TPE, seeded) chooses the model
class (Bayesian ridge, random forest, gradient boosting) and its
hyperparameters by the mean R² of an inner ``inner_folds``-fold
cross-validation *on the outer training part only*; the chosen pipeline is
refitted on that part and predicts the held-out fold. The size-only baseline
is tuned the same way on the size-only columns but restricted to the model
class chosen for the structural model in that fold ("the same model class"),
with half the trials (one class to search instead of three).
R², Spearman ρ and Kendall τ are computed on the pooled out-of-fold
predictions of each repeat and reported as mean ± std over the repeats. The
shipped model is then tuned on all records with ``folds``-fold CV and
refitted on all of them.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Akiba2019] T. Akiba et al., "Optuna: a next-generation hyperparameter
   optimization framework", KDD 2019.
.. [Varma2006] S. Varma, R. Simon, "Bias in error estimation when using
   cross-validation for model selection", BMC Bioinformatics 7:91, 2006
   (why the tuning is nested inside the scoring folds).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from scipy import stats
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_score

from ..errors import ConfigError, RecordError
from ..records import CONFIG_FILE, RECORDS_FILE, RecordLog
from ..tasks import get_task
from .base import TARGET, feature_matrix, select_feature_names, trained_records
from .regressors import REGRESSORS, make_pipeline, suggest
from .stored import SCHEMA_VERSION, Predictor, versions

#: Columns of the size-only baseline (those present in the records are used).
SIZE_ONLY_FEATURES = ("n_params", "n_edges", "first_layer_width")


def read_runs(run_dirs: Sequence[str | os.PathLike]) -> tuple[list[dict], list[dict]]:
    """Records and a description of each run directory.

    Parameters
    ----------
    run_dirs : sequence of path-like
        Run directories holding ``records.jsonl`` (and usually ``config.json``).

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
        if not log_path.exists():
            raise RecordError(f"{run_dir} holds no {RECORDS_FILE}: give run directories made by 'nasprior sample' or 'nasprior search'")
        run_records = RecordLog(log_path).read()
        config = {}
        if (run_dir / CONFIG_FILE).exists():
            try:
                config = json.loads((run_dir / CONFIG_FILE).read_text(encoding="utf-8"))
            except ValueError:
                config = {}
        run_ids = sorted({str(r.get("run_id", "")) for r in run_records})
        tasks = sorted({str(r.get("task", "")) for r in run_records})
        runs.append({
            "path": str(run_dir),
            "run_id": config.get("run_id") or (run_ids[0] if len(run_ids) == 1 else ",".join(run_ids)),
            "task": config.get("task") or (tasks[0] if tasks else None),
            "n_records": len(run_records),
            "n_trained": sum(r.get("status") == "trained" for r in run_records),
            "config": config,
        })
        records.extend(run_records)
    return records, runs


def tune(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_trials: int = 20,
    folds: int = 3,
    seed: int = 0,
    classes: Sequence[str] | None = None,
) -> tuple[str, dict[str, Any], float]:
    """Choose a model class and hyperparameters by k-fold cross-validated R² (optuna TPE).

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, n_features)
    y : numpy.ndarray of shape (n_samples,)
    n_trials : int
        optuna trials (>= 1).
    folds : int
        Folds of the cross-validation scoring each trial (lowered to
        ``n_samples // 2`` for tiny sets, at least 2).
    seed : int
        Seed of the TPE sampler, the folds and the regressors.
    classes : sequence of str
        Model classes to choose from (keys of
        :data:`~nasprior.predictors.regressors.REGRESSORS`; default all).

    Returns
    -------
    model : str
    params : dict
    cv_r2 : float
        Mean cross-validated R² of the chosen configuration.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    classes = tuple(REGRESSORS) if classes is None else tuple(classes)
    n_splits = max(2, min(folds, len(y) // 2))
    cv = KFold(n_splits=n_splits, shuffle=True, random_state=seed)

    def objective(trial: Any) -> float:
        model, params = suggest(trial, classes)
        scores = cross_val_score(make_pipeline(model, params, seed), X, y, cv=cv, scoring="r2")
        value = float(np.mean(scores))
        return value if math.isfinite(value) else -1e9

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    model, params = suggest(optuna.trial.FixedTrial(study.best_params), classes)
    return model, params, float(study.best_value)


def _scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    constant = np.ptp(predicted) == 0 or np.ptp(y) == 0
    return {
        "r2": float(r2_score(y, predicted)),
        "spearman": float("nan") if constant else float(stats.spearmanr(y, predicted).statistic),
        "kendall": float("nan") if constant else float(stats.kendalltau(y, predicted).statistic),
    }


def _summary(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=float)
    finite = arr[np.isfinite(arr)]
    return {
        "mean": float(np.mean(finite)) if len(finite) else float("nan"),
        "std": float(np.std(finite)) if len(finite) else float("nan"),
        "values": [float(v) for v in arr],
    }


def nested_cv_scores(
    X: np.ndarray,
    y: np.ndarray,
    size_columns: Sequence[int],
    *,
    n_trials: int = 20,
    folds: int = 5,
    inner_folds: int = 3,
    repeats: int = 3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Honest (nested) repeated k-fold scores of the tuned structural model and the size-only baseline.

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, n_features)
        All feature columns.
    y : numpy.ndarray of shape (n_samples,)
    size_columns : sequence of int
        Column indices of the size-only baseline in ``X``.
    n_trials, inner_folds : int
        optuna trials and inner folds of each tuning (see :func:`tune`).
    folds : int
        Outer folds (lowered to ``n_samples // 2`` for tiny sets).
    repeats : int
        Outer repetitions, each with its own shuffle seed (``seed + r``).
    seed : int
    log : callable, optional
        Receives one progress line per outer fold.

    Returns
    -------
    dict
        ``structural`` and ``size_only``: each metric (``r2``, ``spearman``,
        ``kendall``) as ``{"mean", "std", "values"}`` over the repeats;
        ``outer_models``: count of model classes chosen in the outer folds;
        ``protocol``: the settings.
    """
    n_splits = max(2, min(folds, len(y) // 2))
    size_trials = max(1, n_trials // 2)
    per_repeat: dict[str, list[dict[str, float]]] = {"structural": [], "size_only": []}
    chosen: dict[str, int] = {}
    Xs = X[:, list(size_columns)]
    for r in range(repeats):
        pred = np.empty_like(y)
        pred_size = np.empty_like(y)
        outer = KFold(n_splits=n_splits, shuffle=True, random_state=seed + r)
        for f, (tr, te) in enumerate(outer.split(X)):
            fold_seed = seed + 1000 * (r + 1) + f
            model, params, inner = tune(X[tr], y[tr], n_trials=n_trials, folds=inner_folds, seed=fold_seed)
            pred[te] = make_pipeline(model, params, fold_seed).fit(X[tr], y[tr]).predict(X[te])
            chosen[model] = chosen.get(model, 0) + 1
            model_s, params_s, inner_s = tune(Xs[tr], y[tr], n_trials=size_trials, folds=inner_folds, seed=fold_seed,
                                              classes=[model])
            pred_size[te] = make_pipeline(model_s, params_s, fold_seed).fit(Xs[tr], y[tr]).predict(Xs[te])
            if log:
                log(f"  repeat {r + 1}/{repeats} fold {f + 1}/{n_splits}: {model} (inner CV R2 {inner:.3f}; "
                    f"size-only {inner_s:.3f})")
        per_repeat["structural"].append(_scores(y, pred))
        per_repeat["size_only"].append(_scores(y, pred_size))
    out: dict[str, Any] = {}
    for kind, rows in per_repeat.items():
        out[kind] = {metric: _summary([row[metric] for row in rows]) for metric in ("r2", "spearman", "kendall")}
    out["outer_models"] = chosen
    out["protocol"] = {
        "cv": "nested", "repeats": repeats, "folds": n_splits, "inner_folds": inner_folds, "n_trials": n_trials,
        "n_trials_size_only": size_trials, "seed": seed, "pooled": "metrics on the pooled out-of-fold predictions of each repeat",
        "size_only_model": "same model class as the structural model of each outer fold, its hyperparameters "
                           "tuned on the size-only columns (half the trials: one class instead of three)",
    }
    return out


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
    log: Callable[[str], None] | None = None,
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
    log : callable, optional
        Receives progress lines.

    Returns
    -------
    Predictor
        With its model card filled in, except the checksum (set by :meth:`Predictor.save`).

    Raises
    ------
    RecordError
        If the runs are unreadable, mix tasks, or hold fewer than 10 trained records.
    ConfigError
        If an option is out of range.
    """
    for option, value, low in (("n_trials", n_trials, 1), ("folds", folds, 2), ("inner_folds", inner_folds, 2),
                               ("repeats", repeats, 1)):
        if value < low:
            raise ConfigError(f"{option} = {value} is too small: use at least {low}")
    log = log or (lambda line: None)
    start = time.perf_counter()
    records, runs = read_runs(run_dirs)
    tasks = sorted({r["task"] for r in runs if r["task"]})
    if len(tasks) != 1:
        raise RecordError(f"the runs hold tasks {tasks or 'none'}: fit a predictor on runs of one task")
    # In key order: a parallel sample logs records in completion order, which varies from run to run, and
    # the CV folds follow the row order; sorted, the same records give the same predictor and scores.
    trained = sorted(trained_records(records, target), key=lambda r: str(r.get("key", "")))
    if len(trained) < 10:
        raise RecordError(f"{len(trained)} trained record(s) with metric {target!r} in {len(runs)} run(s): a predictor "
                          "needs at least 10; sample more candidates (nasprior sample --n ...)")
    names, dropped = select_feature_names(trained)
    size_names = [n for n in SIZE_ONLY_FEATURES if n in names]
    if not size_names:
        raise RecordError(f"none of the size-only features {', '.join(SIZE_ONLY_FEATURES)} is in the records")
    X, y = feature_matrix(trained, names, target)
    if task is None:
        config = runs[0]["config"]
        if "n_inputs" in config and "n_classes" in config:
            task = {"name": tasks[0], "n_inputs": config["n_inputs"], "n_classes": config["n_classes"],
                    "vocab_size": config.get("vocab_size") or 0}
        else:
            task = get_task(tasks[0]).shape.to_dict()
    log(f"{len(trained)} trained records from {len(runs)} run(s), {len(names)} features; "
        f"scoring by nested CV ({repeats} x {folds}-fold, {n_trials} optuna trials per fold)")
    scores = nested_cv_scores(X, y, [names.index(n) for n in size_names], n_trials=n_trials, folds=folds,
                              inner_folds=inner_folds, repeats=repeats, seed=seed, log=log)
    model, params, final_cv_r2 = tune(X, y, n_trials=n_trials, folds=folds, seed=seed)
    pipeline = make_pipeline(model, params, seed).fit(X, y)
    log(f"final model: {model} {json.dumps(params, sort_keys=True)} (CV R2 of the tuning {final_cv_r2:.3f})")
    card = {
        "schema": SCHEMA_VERSION,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "target": target,
        "task": dict(task),
        "features": {
            "names": names,
            "min": {n: float(v) for n, v in zip(names, X.min(axis=0))},
            "max": {n: float(v) for n, v in zip(names, X.max(axis=0))},
            "dropped": dropped,
            "size_only": size_names,
            "rule": "nasprior.evaluation.CANDIDATE_FEATURES present with a finite value in every trained record",
        },
        # The budget is part of what the target means (val_acc after how many epochs, at which lr).
        "training_runs": [{**{k: v for k, v in r.items() if k != "config"}, "train": r["config"].get("train", {})}
                          for r in runs],
        "n_train": int(len(y)),
        "target_summary": {"min": float(y.min()), "max": float(y.max()), "mean": float(y.mean())},
        "scores": scores,
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


def format_scores(card: Mapping[str, Any]) -> list[str]:
    """Lines of text giving a model card's scores, structural next to size-only."""
    def fmt(value: Any) -> str:
        return "nan" if value is None else f"{value:.3f}"

    lines = []
    s = card["scores"]
    for metric, label in (("r2", "R2"), ("spearman", "Spearman rho"), ("kendall", "Kendall tau")):
        a, b = s["structural"][metric], s["size_only"][metric]
        lines.append(f"  {label:<13} structural {fmt(a['mean'])} +/- {fmt(a['std'])}   "
                     f"size-only {fmt(b['mean'])} +/- {fmt(b['std'])}")
    return lines
