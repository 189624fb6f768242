"""Honest scores of a tuned predictor: nested, repeated k-fold cross-validation.

:func:`tune` chooses a regressor class and its hyperparameters with optuna
(TPE) by inner cross-validated R²; :func:`nested_cv_scores` wraps that tuning
in outer folds, so every score is measured on rows the tuning never saw, for
the structural model and for the size-only baseline alike, with conformal
interval coverage and permutation importance on the held-out folds. See
:mod:`nasprior.predictors.fitting` for the protocol as a whole.

References
----------
.. [Varma2006] S. Varma, R. Simon, "Bias in error estimation when using
   cross-validation for model selection", BMC Bioinformatics 7:91, 2006.
.. [Akiba2019] T. Akiba et al., "Optuna: a next-generation hyperparameter
   optimization framework", KDD 2019.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from scipy import stats
from sklearn.inspection import permutation_importance
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, KFold, cross_val_score

from ..errors import ConfigError
from .intervals import LEVELS, conformal_half_widths, level_key
from .regressors import REGRESSORS, make_pipeline, suggest


def _splitter(n_samples: int, folds: int, seed: int, groups: np.ndarray | None = None) -> Any:
    """Shuffled k-fold splitter (whole groups per fold when ``groups`` is given), k lowered for tiny sets."""
    if groups is None:
        return KFold(n_splits=max(2, min(folds, n_samples // 2)), shuffle=True, random_state=seed)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ConfigError("all rows are in one group: cross-validation needs at least 2 groups")
    return GroupKFold(n_splits=max(2, min(folds, n_groups)), shuffle=True, random_state=seed)


def tune(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_trials: int = 20,
    folds: int = 3,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    groups: np.ndarray | None = None,
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
    groups : numpy.ndarray of shape (n_samples,), optional
        Group labels: whole groups per fold.

    Returns
    -------
    model : str
    params : dict
    cv_r2 : float
        Mean cross-validated R² of the chosen configuration.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    classes = tuple(REGRESSORS) if classes is None else tuple(classes)
    cv = _splitter(len(y), folds, seed, groups)

    def objective(trial: Any) -> float:
        model, params = suggest(trial, classes)
        scores = cross_val_score(make_pipeline(model, params, seed), X, y, cv=cv, scoring="r2", groups=groups)
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
    groups: np.ndarray | None = None,
    levels: Sequence[float] = LEVELS,
    names: Sequence[str] | None = None,
    importance_repeats: int = 5,
    log: Callable[[str], None] | None = None,
    size_X: np.ndarray | None = None,
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
        optuna trials and inner folds of each tuning (see :func:`tune`); the
        baseline gets as many trials, over the same model classes.
    folds : int
        Outer folds (lowered to ``n_samples // 2``, or the number of groups).
    repeats : int
        Outer repetitions, each with its own shuffle seed (``seed + r``).
    seed : int
    groups : numpy.ndarray of shape (n_samples,), optional
        Group labels: whole groups per outer and inner fold.
    levels : sequence of float
        Nominal coverages of the intervals whose coverage is measured.
    names : sequence of str, optional
        Column names, for the permutation importance (default ``x0, x1, ...``).
    importance_repeats : int
        Shuffles per column of the permutation importance (0 skips it).
    log : callable, optional
        Receives one progress line per outer fold.
    size_X : numpy.ndarray of shape (n_samples, n_size), optional
        The baseline's own columns, used instead of ``X[:, size_columns]``
        (when the size features are not among the model's columns).

    Returns
    -------
    dict
        ``structural`` and ``size_only``: each metric (``r2``, ``spearman``,
        ``kendall``) as ``{"mean", "std", "values"}`` over the repeats;
        ``coverage``: per level key (``"0.8"``) the share of held-out truths
        inside the interval calibrated without them, and ``half_width``, both
        as ``{"mean", "std", "values"}`` over the repeats;
        ``importance``: columns by decreasing mean permutation importance
        (``{"feature", "mean", "std"}``, R² drop on held-out folds of the
        first repeat); ``outer_models`` and ``size_only_models``: counts of
        model classes chosen in the outer folds; ``protocol``: the settings.
    """
    names = [f"x{i}" for i in range(X.shape[1])] if names is None else list(names)
    per_repeat: dict[str, list[dict[str, float]]] = {"structural": [], "size_only": []}
    coverage: dict[str, list[float]] = {level_key(lv): [] for lv in levels}
    widths: dict[str, list[float]] = {level_key(lv): [] for lv in levels}
    importances: list[np.ndarray] = []
    chosen: dict[str, int] = {}
    chosen_size: dict[str, int] = {}
    Xs = X[:, list(size_columns)] if size_X is None else size_X
    n_splits = 0
    for r in range(repeats):
        pred = np.empty_like(y)
        pred_size = np.empty_like(y)
        half = {key: np.empty_like(y) for key in coverage}
        outer = _splitter(len(y), folds, seed + r, groups)
        n_splits = outer.get_n_splits()
        for f, (tr, te) in enumerate(outer.split(X, y, groups)):
            fold_seed = seed + 1000 * (r + 1) + f
            g_tr = None if groups is None else groups[tr]
            model, params, inner = tune(X[tr], y[tr], n_trials=n_trials, folds=inner_folds, seed=fold_seed, groups=g_tr)
            pipeline = make_pipeline(model, params, fold_seed)
            widths_fold = conformal_half_widths(
                pipeline, X[tr], y[tr], _splitter(len(tr), inner_folds, fold_seed, g_tr), g_tr, levels
            )
            fitted = make_pipeline(model, params, fold_seed).fit(X[tr], y[tr])
            pred[te] = fitted.predict(X[te])
            for key, value in widths_fold.items():
                half[key][te] = value
            chosen[model] = chosen.get(model, 0) + 1
            if r == 0 and importance_repeats > 0 and len(te) >= 2:
                result = permutation_importance(
                    fitted, X[te], y[te], scoring="r2", n_repeats=importance_repeats, random_state=fold_seed
                )
                importances.append(result.importances_mean)
            model_s, params_s, inner_s = tune(
                Xs[tr], y[tr], n_trials=n_trials, folds=inner_folds, seed=fold_seed, groups=g_tr
            )
            pred_size[te] = make_pipeline(model_s, params_s, fold_seed).fit(Xs[tr], y[tr]).predict(Xs[te])
            chosen_size[model_s] = chosen_size.get(model_s, 0) + 1
            if log:
                log(
                    f"  repeat {r + 1}/{repeats} fold {f + 1}/{n_splits}: {model} (inner CV R2 {inner:.3f}); "
                    f"size-only {model_s} ({inner_s:.3f})"
                )
        per_repeat["structural"].append(_scores(y, pred))
        per_repeat["size_only"].append(_scores(y, pred_size))
        for key in coverage:
            coverage[key].append(float(np.mean(np.abs(y - pred) <= half[key])))
            widths[key].append(float(np.mean(half[key])))
    out: dict[str, Any] = {}
    for kind, rows in per_repeat.items():
        out[kind] = {metric: _summary([row[metric] for row in rows]) for metric in ("r2", "spearman", "kendall")}
    out["coverage"] = {key: _summary(values) for key, values in coverage.items()}
    out["half_width"] = {key: _summary(values) for key, values in widths.items()}
    if importances:
        stack = np.vstack(importances)  # (n_folds, n_features)
        order = np.argsort(-stack.mean(axis=0), kind="stable")
        out["importance"] = [
            {"feature": names[i], "mean": float(stack[:, i].mean()), "std": float(stack[:, i].std())} for i in order
        ]
    else:
        out["importance"] = []
    out["outer_models"] = chosen
    out["size_only_models"] = chosen_size
    out["protocol"] = {
        "cv": "nested",
        "repeats": repeats,
        "folds": n_splits,
        "inner_folds": inner_folds,
        "n_trials": n_trials,
        "n_trials_size_only": n_trials,
        "seed": seed,
        "grouped": groups is not None,
        "pooled": "metrics on the pooled out-of-fold predictions of each repeat",
        "size_only_model": "its own model class and hyperparameters, tuned on the size-only columns over the same "
        "classes with the same number of trials, in the same outer folds",
        "intervals": "conformal half-widths calibrated on the out-of-fold residuals of the outer training part "
        f"(MAPIE CrossConformalRegressor, method 'base', {inner_folds} folds); coverage = share of "
        "held-out truths inside",
        "importance": f"permutation importance (R2 drop, {importance_repeats} shuffles) on the held-out folds of "
        "the first repeat, mean and std over those folds",
    }
    return out


#: Features listed in the printed summary of a fit (the card keeps all of them).
TOP_FEATURES = 10


def format_scores(card: Mapping[str, Any], top: int = TOP_FEATURES) -> list[str]:
    """Lines of text giving a model card's scores: structural next to size-only, interval coverage, top features.

    Parameters
    ----------
    card : dict
        A model card (schema 1 cards have no coverage or importance: those lines are left out).
    top : int
        Features listed by importance.

    Returns
    -------
    list of str
    """

    def fmt(value: Any) -> str:
        return "nan" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.3f}"

    lines = []
    s = card["scores"]
    size_names = ", ".join(card.get("features", {}).get("size_only", []))
    lines.append(f"  {'':<13} structural          size-only ({size_names})")
    for metric, label in (("r2", "R2"), ("spearman", "Spearman rho"), ("kendall", "Kendall tau")):
        a, b = s["structural"][metric], s["size_only"][metric]
        lines.append(f"  {label:<13} {fmt(a['mean'])} +/- {fmt(a['std'])}   {fmt(b['mean'])} +/- {fmt(b['std'])}")
    intervals = card.get("intervals") or {}
    for key, cov in (intervals.get("coverage") or {}).items():
        width = intervals.get("half_width", {}).get(key)
        lines.append(
            f"  {float(key):.0%} interval: held-out coverage {fmt(cov['mean'])} +/- {fmt(cov['std'])}, "
            f"half-width of the shipped model {fmt(width)}"
        )
    importance = card.get("importance") or []
    if importance:
        lines.append("  top features (permutation importance, R2 drop on held-out folds):")
        for item in importance[:top]:
            lines.append(f"    {item['feature']:<34} {fmt(item['mean'])} +/- {fmt(item['std'])}")
    return lines
