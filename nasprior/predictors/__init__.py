"""Predictors (surrogates): from a candidate's features to its expected performance.

* :mod:`~nasprior.predictors.base`: the feature matrix of records and the
  :class:`PredictorLike` protocol a search uses;
* :mod:`~nasprior.predictors.regressors`: the registry of model classes and
  their tuning spaces;
* :mod:`~nasprior.predictors.run`: the run-time predictor of a search and
  its skip rule;
* :mod:`~nasprior.predictors.stored`: fitted predictors with model cards,
  saved and loaded safely (skops, SHA-256);
* :mod:`~nasprior.predictors.intervals`: conformal prediction intervals
  calibrated on out-of-fold residuals (MAPIE);
* :mod:`~nasprior.predictors.fitting`: fitting and nested cross-validated
  scoring from run logs or graph files (``nasprior predictor fit``), next to
  an honest size-only baseline, with interval coverage and permutation
  importance.
"""

from .base import (
    TARGET,
    PredictorError,
    PredictorLike,
    feature_matrix,
    gene_columns,
    gene_value,
    select_feature_names,
    trained_records,
)
from .fitting import (
    SIZE_ONLY_FEATURES,
    fit_predictor,
    fit_predictor_from_graphs,
    fit_table,
    read_graph_table,
    read_runs,
)
from .intervals import LEVELS, conformal_half_widths, cross_conformal
from .regressors import REGRESSORS, Regressor, make_pipeline, register_regressor, suggest
from .run import RunPredictor, SkipRule
from .scoring import format_scores, nested_cv_scores, tune
from .shipped import predictor_path, shipped_predictors
from .stored import (
    CARD_FILE,
    GRAPH_TASK,
    MODEL_FILE,
    SCHEMA_VERSION,
    TRUSTED_TYPES,
    Predictor,
    check_card,
    genome_features,
    migrate_card,
)

__all__ = [
    "predictor_path",
    "shipped_predictors",
    "CARD_FILE",
    "GRAPH_TASK",
    "LEVELS",
    "MODEL_FILE",
    "Predictor",
    "PredictorError",
    "PredictorLike",
    "REGRESSORS",
    "Regressor",
    "RunPredictor",
    "SCHEMA_VERSION",
    "SIZE_ONLY_FEATURES",
    "SkipRule",
    "TARGET",
    "TRUSTED_TYPES",
    "check_card",
    "conformal_half_widths",
    "cross_conformal",
    "feature_matrix",
    "fit_predictor",
    "fit_predictor_from_graphs",
    "fit_table",
    "format_scores",
    "gene_columns",
    "gene_value",
    "genome_features",
    "make_pipeline",
    "migrate_card",
    "nested_cv_scores",
    "read_graph_table",
    "read_runs",
    "register_regressor",
    "select_feature_names",
    "suggest",
    "trained_records",
    "tune",
]
