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

import math
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


def conformal_quantile(abs_residuals: Sequence[float], level: float) -> float:
    """Half-width of the conformal interval at ``level`` from absolute out-of-fold residuals.

    Parameters
    ----------
    abs_residuals : sequence of float, shape (n,)
        ``|y - out-of-fold prediction|``.
    level : float
        Nominal coverage in (0, 1).

    Returns
    -------
    float
        The ``ceil((n + 1) * level)``-th smallest residual; the largest one
        when that rank exceeds ``n`` (too few residuals for the level: the
        finite-sample guarantee then does not hold, see the model card's
        measured coverage). 0 for no residuals.
    """
    r = np.sort(np.abs(np.asarray(abs_residuals, dtype=float)))
    if len(r) == 0:
        return 0.0
    rank = math.ceil((len(r) + 1) * level)
    return float(r[min(rank, len(r)) - 1])


def conformal_half_widths(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    cv: Any,
    groups: np.ndarray | None = None,
    levels: Sequence[float] = LEVELS,
) -> dict[str, float]:
    """Half-widths of conformal intervals of an unfitted estimator, calibrated by cross-validation (MAPIE).

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
        ``{level_key(level): half_width}``; an infinite bound (too few
        samples for the level) is replaced by the largest residual's bound.
    """
    levels = list(levels)
    mapie = CrossConformalRegressor(
        estimator, confidence_level=levels, method="base", cv=cv, conformity_score="absolute"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie.fit_conformalize(X, y, groups=groups)
        try:
            _, bounds = mapie.predict_interval(X[:1])  # (1, 2, n_levels)
            half = (bounds[0, 1, :] - bounds[0, 0, :]) / 2.0
        except ValueError:  # fewer residuals than a level needs: the largest residual (see conformal_quantile)
            scores = np.asarray(mapie.conformity_scores, dtype=float)
            half = [conformal_quantile(scores[np.isfinite(scores)], level) for level in levels]
    return {level_key(level): float(value) for level, value in zip(levels, half)}
