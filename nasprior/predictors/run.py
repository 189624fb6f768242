"""The run-time predictor of a search, and the rule that skips offspring with it.

Stier, Darji & Granitzer (2021) predict a network's performance from
structural features of its graph; a search can then skip candidates predicted
to be poor and train only the rest. :class:`RunPredictor` fits a random
forest on the trained records of the run itself; :class:`SkipRule` decides
which offspring to skip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

from ..errors import ConfigError, PredictorError, RecordError
from .base import feature_matrix
from .intervals import LEVELS, cross_conformal, interval_half_widths


@dataclass(frozen=True)
class SkipRule:
    """When the search skips an offspring instead of training it.

    An offspring is skipped when (1) at least ``warmup`` candidates of the run
    have been trained, (2) the run's predictor reaches a cross-validated R²
    of at least ``min_r2`` on them, and (3) its predicted validation accuracy
    lies below the ``quantile`` of the current population's fitness minus
    ``margin``. With ``interval`` set, the predicted value compared is the
    *upper* bound of the predictor's conformal interval at that level: an
    offspring is skipped only when even the optimistic prediction is below
    the threshold. Skipped offspring are logged with their (point)
    prediction and take it as their fitness.

    Parameters
    ----------
    warmup : int
        Trained candidates needed before anything is skipped (>= 5).
    quantile : float
        In [0, 1]; 0.25 skips offspring predicted below the population's
        lower quartile. 0 skips only offspring predicted below the worst.
    margin : float
        Accuracy (fraction) subtracted from the threshold; larger is more
        cautious. The default 0.01 keeps a converged population (whose lower
        quartile is close to its best) from skipping every offspring
        predicted a hair below it.
    min_r2 : float
        Minimum cross-validated R² of the predictor; below it nothing is skipped.
    interval : float
        0 (default) compares the point prediction; a level in (0, 1), e.g.
        0.8, compares the upper bound of that conformal prediction interval
        (:meth:`RunPredictor.predict_interval`,
        :meth:`~nasprior.predictors.Predictor.predict_interval`). A stored
        predictor without that level falls back to the point prediction.
    enabled : bool
        False turns skipping off (every offspring is trained).

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """

    warmup: int = 10
    quantile: float = 0.25
    margin: float = 0.01
    min_r2: float = 0.2
    interval: float = 0.0
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.warmup < 5:
            raise ConfigError(f"skip rule 'warmup' = {self.warmup} is too small: use at least 5 trained candidates")
        if not 0.0 <= self.quantile <= 1.0:
            raise ConfigError(f"skip rule 'quantile' = {self.quantile} is invalid: use a value in [0, 1]")
        if self.margin < 0:
            raise ConfigError(f"skip rule 'margin' = {self.margin} is invalid: use a value >= 0")
        if not 0.0 <= self.interval < 1.0:
            raise ConfigError(
                f"skip rule 'interval' = {self.interval} is invalid: use 0 (point prediction) or a "
                "coverage level in (0, 1) such as 0.8"
            )

    def threshold(self, population_fitness: Sequence[float]) -> float:
        """Predicted accuracy below which an offspring is skipped."""
        return float(np.quantile(np.asarray(population_fitness, dtype=float), self.quantile)) - self.margin

    def to_dict(self) -> dict:
        """The rule as a JSON-able dict."""
        return asdict(self)


class RunPredictor:
    """Random-forest predictor refitted on a run's own trained records, with conformal intervals.

    Fitted through MAPIE's cross-conformal regressor
    (:func:`~nasprior.predictors.intervals.cross_conformal`): one forest per
    fold of a 5-fold split scores the held-out records (the out-of-fold
    residuals give both the cross-validated R² and the intervals), and one
    forest on all records gives the predictions; the same intervals as a
    stored predictor's.

    Parameters
    ----------
    names : sequence of str
        Feature names used as columns.
    seed : int
        ``random_state`` of the forest and of the cross-validation folds.
    levels : sequence of float
        Coverage levels in (0, 1) the intervals are calibrated for (default
        :data:`~nasprior.predictors.intervals.LEVELS`, 0.8 and 0.9; a search
        adds its skip rule's ``interval``).

    Attributes
    ----------
    cv_r2_ : float
        R² of the 5-fold cross-validated (out-of-fold) predictions of the
        last fit (nan before).
    n_train_ : int
        Trained records used in the last fit.
    abs_residuals_ : numpy.ndarray of shape (n_train_,)
        Absolute out-of-fold residuals of the last fit (MAPIE's conformity scores).
    half_widths_ : dict of float to float
        Interval half-width per level (accuracy, fraction) of the last fit.
    """

    def __init__(self, names: Sequence[str], seed: int = 0, levels: Sequence[float] = LEVELS):
        self.names = tuple(names)
        self.seed = seed
        self.levels = tuple(sorted({float(level) for level in levels}))
        self.model_ = None
        self.cv_r2_ = float("nan")
        self.n_train_ = 0
        self.abs_residuals_ = np.empty(0)
        self.half_widths_: dict[float, float] = {}

    def fit(self, records: Iterable[Mapping]) -> RunPredictor:
        """Fit on the trained records and estimate R² by 5-fold cross-validation (see ``cv_r2_``)."""
        X, y = feature_matrix(records, self.names)
        self.n_train_ = len(y)
        if len(y) < 5:
            self.model_, self.cv_r2_, self.half_widths_ = None, float("nan"), {}
            return self
        model = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=self.seed, n_jobs=1)
        folds = KFold(n_splits=5, shuffle=True, random_state=self.seed)
        mapie = cross_conformal(model, X, y, folds, levels=self.levels)
        self.abs_residuals_ = np.asarray(mapie.conformity_scores, dtype=float)
        # R² of the pooled out-of-fold predictions (it depends on the residuals' squares only, so y minus
        # the absolute residual stands in for the prediction): stable on the few records of a young run,
        # where the mean of per-fold R² over folds of two records swings by orders of magnitude.
        self.cv_r2_ = float(r2_score(y, y - self.abs_residuals_))
        self.half_widths_ = dict(zip(self.levels, (float(h) for h in interval_half_widths(mapie, X[:1], self.levels))))
        self.model_ = mapie
        return self

    def _matrix(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        if self.model_ is None:
            raise RecordError("the run predictor has not been fitted: it needs at least 5 trained records")
        return np.asarray([[float(f[n]) for n in self.names] for f in features], dtype=np.float64)

    def predict(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Predicted target for each feature dict (the forest fitted on all records); shape (len(features),).

        Raises
        ------
        RecordError
            If called before a successful fit.
        """
        X = self._matrix(features)
        if len(X) == 0:
            return np.empty(0)
        return np.asarray(self.model_.predict(X, aggregate_point_predictions=None), dtype=float)

    def predict_interval(
        self, features: Sequence[Mapping[str, float]], level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction with its cross-conformal interval at ``level`` (MAPIE, from the last fit).

        Parameters
        ----------
        features : sequence of dict
        level : float
            One of the coverage levels the predictor was built with (``levels``).

        Returns
        -------
        predicted, lower, upper : numpy.ndarray of shape (len(features),)
            ``predicted +/- half_widths_[level]``.

        Raises
        ------
        RecordError
            If called before a successful fit.
        PredictorError
            If ``level`` is not one of the calibrated levels.
        """
        predicted = self.predict(features)
        if float(level) not in self.half_widths_:
            raise PredictorError(
                f"the run predictor has no {level:g} interval: it is calibrated at "
                f"{', '.join(f'{lv:g}' for lv in self.levels)}; build it with levels=[..., {level:g}]"
            )
        half = self.half_widths_[float(level)]
        return predicted, predicted - half, predicted + half
