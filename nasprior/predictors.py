"""Fitted performance predictors as a product: fit, tune, score, save, load, predict.

Stier, Darji & Granitzer (2021) predict a sparse network's performance from
structural features of its graph. This module turns the trained records of
one or more runs (``runs/<id>/records.jsonl``, e.g. from ``nasprior sample``)
into a scikit-learn pipeline (``StandardScaler`` + regressor), chooses the
regressor and its hyperparameters with optuna, scores it honestly by nested,
repeated k-fold cross-validation next to a size-only baseline, and stores it
in a directory that loads without executing code:

``predictors/<name>/``
    ``model.skops``
        The fitted pipeline in the skops format (no pickle; loading checks
        every type against :data:`TRUSTED_TYPES`).
    ``model_card.json``
        Features (names, training min/max), target, task, training runs,
        scores, chosen model and hyperparameters, versions, schema version
        and the SHA-256 of ``model.skops`` (verified on load).

Features
--------
The columns are those of :data:`nasprior.search.PREDICTOR_FEATURES` (the
structural features of :mod:`nasprior.features` followed by the size
features of :func:`nasprior.networks.size_features`), in that order,
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

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .errors import ConfigError, NaspriorError, RecordError
from .predictor import TARGET, feature_matrix

#: Version of the predictor directory layout and model card; bumped on incompatible change.
SCHEMA_VERSION = 1
MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
#: Columns of the size-only baseline (those present in the records are used).
SIZE_ONLY_FEATURES = ("n_params", "n_edges", "first_layer_width")
#: Regressors optuna chooses from, by name.
MODEL_CLASSES = {
    "bayesian_ridge": BayesianRidge,
    "random_forest": RandomForestRegressor,
    "gradient_boosting": GradientBoostingRegressor,
}
#: Non-default types a stored pipeline may contain (tree structures of the forests and boosters).
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class PredictorError(NaspriorError):
    """A predictor directory is missing, tampered with, of another schema, or does not fit the input."""


# -- feature matrix ------------------------------------------------------------
def _candidate_names() -> tuple[str, ...]:
    from .search import PREDICTOR_FEATURES  # local: search imports torch and the GA

    return tuple(PREDICTOR_FEATURES)


def trained_records(records: Iterable[Mapping], target: str = TARGET) -> list[Mapping]:
    """The records a predictor learns from: status ``trained`` with a finite ``target``.

    Parameters
    ----------
    records : iterable of dict
        Records as written by :func:`nasprior.records.make_record`.
    target : str
        Key of ``record["metrics"]``.

    Returns
    -------
    list of dict
        Failed and skipped records (and trained ones without the target) are left out.
    """
    out = []
    for record in records:
        value = record.get("metrics", {}).get(target)
        if record.get("status") == "trained" and isinstance(value, (int, float)) and math.isfinite(value):
            out.append(record)
    return out


def select_feature_names(
    records: Sequence[Mapping], candidates: Sequence[str] | None = None
) -> tuple[list[str], list[str]]:
    """Columns usable for a set of trained records.

    Parameters
    ----------
    records : sequence of dict
        Trained records (see :func:`trained_records`).
    candidates : sequence of str, optional
        Feature names in column order; default
        :data:`nasprior.search.PREDICTOR_FEATURES`.

    Returns
    -------
    names : list of str
        The candidates present with a finite value in every record, in candidate order.
    dropped : list of str
        The candidates left out.

    Raises
    ------
    RecordError
        If there are no records or no candidate survives.
    """
    candidates = _candidate_names() if candidates is None else tuple(candidates)
    if not records:
        raise RecordError("no trained records to learn from: sample and train candidates first (nasprior sample)")
    names, dropped = [], []
    for name in candidates:
        ok = all(_finite(r.get("features", {}).get(name)) for r in records)
        (names if ok else dropped).append(name)
    if not names:
        raise RecordError("no feature is present in every trained record: were the runs made by another nasprior version?")
    return names, dropped


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
    from .records import CONFIG_FILE, RECORDS_FILE, RecordLog

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


# -- models and tuning ---------------------------------------------------------
def make_pipeline(model: str, params: Mapping[str, Any], seed: int = 0) -> Pipeline:
    """A ``StandardScaler`` + regressor pipeline.

    Parameters
    ----------
    model : {"bayesian_ridge", "random_forest", "gradient_boosting"}
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
    if model not in MODEL_CLASSES:
        raise ConfigError(f"unknown predictor model {model!r}: use one of {', '.join(MODEL_CLASSES)}")
    kwargs = dict(params)
    if model == "random_forest":
        kwargs.update(random_state=seed, n_jobs=1)
    elif model == "gradient_boosting":
        kwargs.update(random_state=seed)
    return Pipeline([("scale", StandardScaler()), ("model", MODEL_CLASSES[model](**kwargs))])


def suggest(trial: Any, classes: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """Draw a model class and its hyperparameters from an optuna trial.

    Returns
    -------
    model : str
    params : dict
        Regressor keyword arguments.
    """
    model = trial.suggest_categorical("model", list(classes))
    if model == "bayesian_ridge":
        params = {
            "alpha_1": trial.suggest_float("br_alpha_1", 1e-8, 1e-2, log=True),
            "lambda_1": trial.suggest_float("br_lambda_1", 1e-8, 1e-2, log=True),
        }
    elif model == "random_forest":
        params = {
            "n_estimators": trial.suggest_int("rf_n_estimators", 25, 150, step=25),
            "max_depth": trial.suggest_int("rf_max_depth", 2, 16),
            "min_samples_leaf": trial.suggest_int("rf_min_samples_leaf", 1, 8),
            "max_features": trial.suggest_float("rf_max_features", 0.2, 1.0),
        }
    else:
        params = {
            "n_estimators": trial.suggest_int("gb_n_estimators", 25, 200, step=25),
            "learning_rate": trial.suggest_float("gb_learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("gb_max_depth", 1, 4),
            "min_samples_leaf": trial.suggest_int("gb_min_samples_leaf", 1, 10),
            "subsample": trial.suggest_float("gb_subsample", 0.5, 1.0),
        }
    return model, params


def tune(
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_trials: int = 20,
    folds: int = 3,
    seed: int = 0,
    classes: Sequence[str] = tuple(MODEL_CLASSES),
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
        Model classes to choose from (keys of :data:`MODEL_CLASSES`).

    Returns
    -------
    model : str
    params : dict
    cv_r2 : float
        Mean cross-validated R² of the chosen configuration.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
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


# -- the product ---------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by None (strict JSON)."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _versions() -> dict[str, str]:
    import optuna
    import scipy
    import skops

    from .records import versions

    return {**versions(), "skops": skops.__version__, "optuna": optuna.__version__, "scipy": scipy.__version__}


def genome_features(genomes: Sequence[Any], task: Mapping[str, Any]) -> list[dict[str, float]]:
    """Features of genomes, built exactly as the search builds them.

    Parameters
    ----------
    genomes : sequence of Genome
    task : dict
        ``name``, ``n_inputs``, ``n_classes`` and ``vocab_size`` (0 for
        feedforward tasks) of the task, as stored in a model card.

    Returns
    -------
    list of dict of str to float
        One dict per genome (:meth:`nasprior.search.Evaluator.features`).
    """
    from .search import Evaluator
    from .training import TrainConfig

    # Evaluator.features reads only the task's name and shape: no data needs loading.
    data = SimpleNamespace(**{"vocab_size": 0, "test_groups": {}, **dict(task)})
    evaluator = Evaluator(data, TrainConfig(), run_id="", seed=0, best_dir=Path(os.devnull))
    return [evaluator.features(g) for g in genomes]


def task_shape(task: str, data_dir: str | None = None) -> dict[str, Any]:
    """``{"name", "n_inputs", "n_classes", "vocab_size"}`` of a task, loading its data once.

    Raises
    ------
    ConfigError, DataError
        Unknown task, or its data set is missing.
    """
    from .tasks import load_task

    data = load_task(task, data_dir)
    return {"name": task, "n_inputs": int(data.n_inputs), "n_classes": int(data.n_classes),
            "vocab_size": int(getattr(data, "vocab_size", 0))}


@dataclass
class Predictor:
    """A fitted predictor with its model card.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted ``StandardScaler`` + regressor on :attr:`feature_names`.
    card : dict
        The model card (see the module docstring); ``card["features"]["names"]``
        gives the column order.
    path : pathlib.Path, optional
        Directory it was loaded from or saved to.
    """

    pipeline: Pipeline
    card: dict
    path: Path | None = None

    # -- properties ----------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        """Column names, in order."""
        return list(self.card["features"]["names"])

    @property
    def target(self) -> str:
        """The predicted metric (e.g. ``val_acc``)."""
        return self.card["target"]

    @property
    def task(self) -> dict:
        """``{"name", "n_inputs", "n_classes", "vocab_size"}`` of the task the predictor was fitted on."""
        return self.card["task"]

    @property
    def cv_r2_(self) -> float:
        """Mean nested cross-validated R² of the structural model (what the search compares with ``min_r2``)."""
        value = self.card["scores"]["structural"]["r2"]["mean"]
        return float("nan") if value is None else float(value)

    # -- prediction ----------------------------------------------------
    def matrix(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Feature matrix of shape (len(features), n_features) in the predictor's column order.

        Raises
        ------
        PredictorError
            If a feature dict lacks one of the predictor's features.
        """
        rows = []
        for f in features:
            missing = [n for n in self.feature_names if n not in f]
            if missing:
                raise PredictorError(f"features lack {', '.join(missing)}: the predictor was fitted by another nasprior "
                                     "version; refit it with 'nasprior predictor fit'")
            rows.append([float(f[n]) for n in self.feature_names])
        return np.asarray(rows, dtype=np.float64).reshape(-1, len(self.feature_names))

    def predict(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Predicted target of each feature dict, shape (len(features),).

        Same call as :meth:`nasprior.predictor.RunPredictor.predict`, so the
        search can use either. An accuracy target (a name containing
        ``"acc"``, a fraction) is clipped to [0, 1]: a linear model
        extrapolating beyond the training range (see :meth:`out_of_range`)
        would otherwise predict impossible accuracies such as 1.18.
        """
        if len(features) == 0:
            return np.empty(0)
        predicted = self.pipeline.predict(self.matrix(features))
        return np.clip(predicted, 0.0, 1.0) if "acc" in self.target else predicted

    def predict_genomes(self, genomes: Sequence[Any]) -> np.ndarray:
        """Predicted target of each genome, shape (len(genomes),).

        The features are built as the search builds them, for the task in the
        model card (:func:`genome_features`).
        """
        return self.predict(genome_features(genomes, self.task))

    def out_of_range(self, features: Mapping[str, float]) -> list[str]:
        """Names of the features that lie outside the range seen in training (extrapolation)."""
        lo, hi = self.card["features"]["min"], self.card["features"]["max"]
        return [n for n in self.feature_names if not (lo[n] <= float(features[n]) <= hi[n])]

    # -- persistence ---------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``model.skops`` and ``model_card.json`` (with the model's SHA-256) to ``path``.

        Raises
        ------
        PredictorError
            If ``path`` already holds a predictor and ``overwrite`` is False.
        """
        import skops.io as sio

        path = Path(path)
        if (path / CARD_FILE).exists() and not overwrite:
            raise PredictorError(f"{path} already holds a predictor: choose another --name, or pass --force to replace it")
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / (MODEL_FILE + ".tmp")
        sio.dump(self.pipeline, tmp)
        os.replace(tmp, path / MODEL_FILE)
        self.card["model_file"] = MODEL_FILE
        self.card["model_sha256"] = _sha256(path / MODEL_FILE)
        self.card["schema"] = SCHEMA_VERSION
        tmp = path / (CARD_FILE + ".tmp")
        text = json.dumps(_jsonable(self.card), indent=2, sort_keys=True, allow_nan=False)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path / CARD_FILE)
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Predictor":
        """Load a predictor directory, verifying schema, checksum and the types in the model file.

        Raises
        ------
        PredictorError
            If the directory or a file is missing, the card is not valid JSON
            or has another schema version, the model file's SHA-256 differs
            from the card's, or the model file holds a type outside
            :data:`TRUSTED_TYPES`.
        """
        import skops.io as sio

        path = Path(path)
        card_path = path / CARD_FILE
        if not card_path.exists():
            raise PredictorError(f"{path} is not a predictor directory (no {CARD_FILE}): give a folder made by "
                                 "'nasprior predictor fit', e.g. predictors/<name>")
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise PredictorError(f"{card_path} is not valid JSON ({exc}): refit the predictor") from None
        schema = card.get("schema") if isinstance(card, dict) else None
        if schema != SCHEMA_VERSION:
            raise PredictorError(f"{card_path} has schema version {schema!r}; this nasprior reads version "
                                 f"{SCHEMA_VERSION}: refit the predictor with 'nasprior predictor fit'")
        model_path = path / card.get("model_file", MODEL_FILE)
        if not model_path.exists():
            raise PredictorError(f"{model_path} is missing: copy the whole predictor directory, or refit it")
        digest = _sha256(model_path)
        if digest != card.get("model_sha256"):
            raise PredictorError(f"{model_path} does not match the SHA-256 in its model card (file {digest[:12]}..., "
                                 f"card {str(card.get('model_sha256'))[:12]}...): it was modified or corrupted; "
                                 "do not use it, refit the predictor")
        try:
            untrusted = sio.get_untrusted_types(file=model_path)
        except Exception as exc:  # skops raises assorted errors on a malformed archive
            raise PredictorError(f"{model_path} is not a readable skops file ({exc}): refit the predictor") from None
        unexpected = [t for t in untrusted if t not in TRUSTED_TYPES]
        if unexpected:
            raise PredictorError(f"{model_path} holds types outside the allow list ({', '.join(unexpected)}): "
                                 "refusing to load it")
        pipeline = sio.load(model_path, trusted=list(untrusted))
        n_in = getattr(pipeline, "n_features_in_", None)
        if n_in is not None and n_in != len(card["features"]["names"]):
            raise PredictorError(f"{model_path} expects {n_in} features but its card names "
                                 f"{len(card['features']['names'])}: refit the predictor")
        return cls(pipeline, card, path)


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
        by loading the task's data with :func:`task_shape`.
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
            task = task_shape(tasks[0], config.get("data_dir"))
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
            "rule": "nasprior.search.PREDICTOR_FEATURES present with a finite value in every trained record",
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
        "versions": _versions(),
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
