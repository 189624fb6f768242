"""The regressor registry: model classes a predictor may use, with their tuning spaces.

Each :class:`Regressor` names a scikit-learn estimator, the hyperparameters
optuna draws for it (:attr:`Regressor.suggest`), and the fixed arguments it
always gets (seeds, thread count). Adding a regressor is one
:func:`register_regressor` call. :func:`make_pipeline` wraps an estimator
with a ``StandardScaler``; :func:`suggest` draws a class and its parameters
from an optuna trial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ..registry import Registry


@dataclass(frozen=True)
class Regressor:
    """A model class a predictor may choose.

    Parameters
    ----------
    name : str
        Registry name (stored in model cards).
    estimator : type
        A scikit-learn regressor class.
    suggest : callable
        ``suggest(trial) -> dict`` of keyword arguments drawn from an optuna
        trial; parameter names are prefixed to stay unique across classes.
    fixed : callable
        ``fixed(seed) -> dict`` of keyword arguments always passed
        (``random_state``, ``n_jobs``).
    """

    name: str
    estimator: type
    suggest: Callable[[Any], dict[str, Any]]
    fixed: Callable[[int], dict[str, Any]] = lambda seed: {}


#: Registry of regressors by name, in registration order.
REGRESSORS = Registry("predictor model")


def register_regressor(regressor: Regressor) -> Regressor:
    """Add a regressor to :data:`REGRESSORS` and return it.

    Raises
    ------
    ConfigError
        If the name is taken.
    """
    return REGRESSORS.add(regressor)


register_regressor(
    Regressor(
        "bayesian_ridge",
        BayesianRidge,
        suggest=lambda trial: {
            "alpha_1": trial.suggest_float("br_alpha_1", 1e-8, 1e-2, log=True),
            "lambda_1": trial.suggest_float("br_lambda_1", 1e-8, 1e-2, log=True),
        },
    )
)
register_regressor(
    Regressor(
        "random_forest",
        RandomForestRegressor,
        suggest=lambda trial: {
            "n_estimators": trial.suggest_int("rf_n_estimators", 25, 150, step=25),
            "max_depth": trial.suggest_int("rf_max_depth", 2, 16),
            "min_samples_leaf": trial.suggest_int("rf_min_samples_leaf", 1, 8),
            "max_features": trial.suggest_float("rf_max_features", 0.2, 1.0),
        },
        fixed=lambda seed: {"random_state": seed, "n_jobs": 1},
    )
)
register_regressor(
    Regressor(
        "gradient_boosting",
        GradientBoostingRegressor,
        suggest=lambda trial: {
            "n_estimators": trial.suggest_int("gb_n_estimators", 25, 200, step=25),
            "learning_rate": trial.suggest_float("gb_learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("gb_max_depth", 1, 4),
            "min_samples_leaf": trial.suggest_int("gb_min_samples_leaf", 1, 10),
            "subsample": trial.suggest_float("gb_subsample", 0.5, 1.0),
        },
        fixed=lambda seed: {"random_state": seed},
    )
)


def get_regressor(name: str) -> Regressor:
    """The registered regressor called ``name``.

    Raises
    ------
    ConfigError
        If the name is unknown; the message lists the known ones.
    """
    return REGRESSORS.lookup(name)


def make_pipeline(model: str, params: Mapping[str, Any], seed: int = 0) -> Pipeline:
    """A ``StandardScaler`` + regressor pipeline.

    Parameters
    ----------
    model : str
        A key of :data:`REGRESSORS`.
    params : dict
        Keyword arguments of the regressor.
    seed : int
        ``random_state`` of stochastic regressors.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``scale`` and ``model`` (unfitted).

    Raises
    ------
    ConfigError
        If the model name is unknown.
    """
    regressor = get_regressor(model)
    kwargs = {**dict(params), **regressor.fixed(seed)}
    return Pipeline([("scale", StandardScaler()), ("model", regressor.estimator(**kwargs))])


def suggest(trial: Any, classes: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """Draw a model class among ``classes`` and its hyperparameters from an optuna trial.

    Returns
    -------
    model : str
    params : dict
        Regressor keyword arguments.
    """
    model = trial.suggest_categorical("model", list(classes))
    return model, get_regressor(model).suggest(trial)
