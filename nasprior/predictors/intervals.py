"""Prediction intervals: conformal half-widths calibrated on out-of-fold residuals.

A point prediction cannot support a decision to skip training; an interval
with a known coverage can. nasprior's intervals are split-conformal in the
cross-validation form ("CV" / jackknife-base method of Barber et al. 2021, as
implemented by MAPIE's :class:`mapie.regression.CrossConformalRegressor`
with ``method="base"``): the pipeline is fitted on k - 1 folds and scored on
the k-th, the absolute out-of-fold residuals are the conformity scores, and
the interval at level ``1 - alpha`` is the full model's prediction plus or
minus their ``ceil((n + 1)(1 - alpha)) / n`` empirical quantile. The
half-width is a constant per level, so a stored predictor keeps it as a
number in its model card and needs no extra object in its model file.

Coverage is measured honestly: :func:`nasprior.predictors.nested_cv_scores`
calibrates the half-widths on the outer training part only and counts how
often the held-out truths fall inside.

References
----------
.. [Vovk2005] V. Vovk, A. Gammerman, G. Shafer, "Algorithmic learning in a
   random world", Springer, 2005.
.. [Barber2021] R. F. Barber, E. J. Candès, A. Ramdas, R. J. Tibshirani,
   "Predictive inference with the jackknife+", Ann. Statist. 49(1), 2021.
.. [Taquet2022] V. Taquet et al., "MAPIE: an open-source library for
   distribution-free uncertainty quantification", arXiv:2207.12274, 2022.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from mapie.regression import CrossConformalRegressor

#: Nominal coverage levels of every predictor's intervals.
LEVELS: tuple[float, ...] = (0.8, 0.9)


def level_key(level: float) -> str:
    """The key of a level in a model card, e.g. ``"0.8"``."""
    return f"{float(level):g}"


def cross_conformal(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    cv: Any,
    groups: np.ndarray | None = None,
    levels: Sequence[float] = LEVELS,
) -> CrossConformalRegressor:
    """MAPIE's cross-conformal regressor of ``estimator``, fitted and conformalised on ``(X, y)``.

    The "CV" method of Barber et al. (2021) (``method="base"``, absolute
    residuals): a clone of ``estimator`` is fitted on each training part of
    ``cv`` and scored on its held-out part (the out-of-fold conformity scores,
    ``.conformity_scores``, shape (n_samples,)), and one clone on all of
    ``(X, y)`` gives the point predictions
    (``.predict(X, aggregate_point_predictions=None)``). The same fold fits as
    :func:`sklearn.model_selection.cross_val_predict` with the same ``cv``.

    Parameters
    ----------
    estimator : sklearn regressor or pipeline
        Unfitted; cloned for each fold and for the full fit.
    X : numpy.ndarray of shape (n_samples, n_features)
    y : numpy.ndarray of shape (n_samples,)
    cv : int or sklearn splitter
        Folds of the out-of-fold residuals.
    groups : numpy.ndarray of shape (n_samples,), optional
        Group labels for a group splitter.
    levels : sequence of float
        Nominal coverages in (0, 1) its intervals are calibrated for.

    Returns
    -------
    mapie.regression.CrossConformalRegressor
    """
    mapie = CrossConformalRegressor(
        estimator, confidence_level=list(levels), method="base", cv=cv, conformity_score="absolute"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie.fit_conformalize(X, y, groups=groups)
    return mapie


def interval_half_widths(mapie: CrossConformalRegressor, X_row: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Half-width of each calibrated level's interval of a fitted :func:`cross_conformal` regressor.

    Parameters
    ----------
    mapie : mapie.regression.CrossConformalRegressor
        Fitted by :func:`cross_conformal`.
    X_row : numpy.ndarray of shape (1, n_features)
        Any one row (with absolute residuals the half-width is the same for every row).
    levels : sequence of float
        The levels ``mapie`` was built with, in that order.

    Returns
    -------
    numpy.ndarray of shape (n_levels,)
        In the order of the levels ``mapie`` was built with: each the
        ``ceil((n + 1) * level)``-th smallest of the ``n`` out-of-fold
        residuals (MAPIE's finite-sample correction). When MAPIE refuses
        because there are too few residuals for a level (fewer than about
        ``1 / (1 - level)``: the guarantee then does not hold, see the model
        card's measured coverage), every level gets the largest residual.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, bounds = mapie.predict_interval(X_row, aggregate_point_predictions=None)  # (1, 2, n_levels)
            return (bounds[0, 1, :] - bounds[0, 0, :]) / 2.0
        except ValueError:  # too few residuals for a level: the largest one, for every level
            scores = np.asarray(mapie.conformity_scores, dtype=float)
            scores = scores[np.isfinite(scores)]
            largest = float(scores.max()) if len(scores) else 0.0
            return np.full(len(levels), largest)


def conformal_half_widths(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    cv: Any,
    groups: np.ndarray | None = None,
    levels: Sequence[float] = LEVELS,
) -> dict[str, float]:
    """Half-widths of conformal intervals of an unfitted estimator, calibrated by cross-validation (MAPIE).

    :func:`cross_conformal` then :func:`interval_half_widths`.

    Parameters
    ----------
    estimator : sklearn regressor or pipeline
        Unfitted; cloned for each fold.
    X : numpy.ndarray of shape (n_samples, n_features)
    y : numpy.ndarray of shape (n_samples,)
    cv : int or sklearn splitter
        Folds of the out-of-fold residuals.
    groups : numpy.ndarray of shape (n_samples,), optional
        Group labels for a group splitter.
    levels : sequence of float
        Nominal coverages in (0, 1).

    Returns
    -------
    dict of str to float
        ``{level_key(level): half_width}``.
    """
    levels = list(levels)
    half = interval_half_widths(cross_conformal(estimator, X, y, cv, groups, levels), X[:1], levels)
    return {level_key(level): float(value) for level, value in zip(levels, half)}
