"""Stored predictors: a fitted pipeline and its model card in a directory that loads without executing code.

``predictors/<name>/``
    ``model.skops``
        The fitted pipeline in the skops format (no pickle; loading checks
        every type against :data:`TRUSTED_TYPES`).
    ``model_card.json``
        Features (names, training min/max, selection), target, task, the
        source of the training rows (``runs`` or ``graphs``), training runs,
        scores (structural next to the size-only baseline), interval
        half-widths and their measured coverage, permutation importances,
        chosen model and hyperparameters, versions, schema version and the
        SHA-256 of ``model.skops`` (verified on load). The card is validated
        on load by the pydantic model :class:`nasprior.schema.ModelCard`
        (:func:`~nasprior.schema.check_card`): a card of another schema or
        with a missing or mistyped field is refused, naming the field. Cards of
        schema 1 (before intervals) are migrated on read: they load and
        predict, without intervals.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import scipy
import skops
import skops.io as sio
from sklearn.pipeline import Pipeline

from ..errors import ConfigError
from ..evaluation import candidate_features, checked_graph, graph_candidate_features
from ..networks.registry import check_task_fits
from ..runs.records import versions as run_versions
from ..schema import CARD_SCHEMA_VERSION, MODEL_FILE, READABLE_CARD_SCHEMAS, check_card
from ..tasks import TaskShape
from ..validation import read_json
from .base import PredictorError, gene_columns, gene_value
from .intervals import level_key

#: Version of the predictor directory layout and model card; bumped on incompatible change.
SCHEMA_VERSION = CARD_SCHEMA_VERSION
#: Schema versions :meth:`Predictor.load` reads (older ones are migrated on read).
READABLE_SCHEMAS = READABLE_CARD_SCHEMAS
#: The ``task`` of a predictor fitted on graph files without a task (``predictor fit --graphs``).
GRAPH_TASK = {"name": "graph", "n_inputs": 0, "n_classes": 0, "vocab_size": 0}
CARD_FILE = "model_card.json"
#: Non-default types a stored pipeline may contain (tree structures of the forests and boosters).
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


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


def versions() -> dict[str, str]:
    """Versions of the packages that shape a fitted predictor."""
    return {**run_versions(), "skops": skops.__version__, "optuna": optuna.__version__, "scipy": scipy.__version__}


def genome_features(genomes: Sequence[Any], task: Mapping[str, Any]) -> list[dict[str, float]]:
    """Features of genomes, built exactly as the search builds them (:func:`nasprior.evaluation.candidate_features`).

    Parameters
    ----------
    genomes : sequence of Genome
    task : dict
        ``name``, ``n_inputs``, ``n_classes`` and ``vocab_size`` (0 for
        feedforward tasks) of the task, as stored in a model card.

    Returns
    -------
    list of dict of str to float
        One dict per genome.

    Raises
    ------
    ConfigError
        If a genome does not suit the task or is too large to build.
    """
    shape = TaskShape(
        str(task["name"]), int(task.get("n_inputs") or 0), int(task["n_classes"]), int(task.get("vocab_size") or 0)
    )
    return [candidate_features(g, shape) for g in genomes]


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
    def source(self) -> str:
        """Where the training rows came from: ``"runs"`` (genome records of a task) or ``"graphs"`` (graph files)."""
        return str(self.card.get("source", "runs"))

    @property
    def genes(self) -> dict[str, list[str]]:
        """Categorical genes read as one-hot columns, gene -> categories (empty for most predictors)."""
        return {g: list(c) for g, c in (self.card["features"].get("genes") or {}).items()}

    @property
    def where(self) -> dict[str, str]:
        """Gene values the training records were restricted to, e.g. ``{"cell": "gru"}`` (empty: none)."""
        return dict(self.card.get("where") or {})

    def gene_columns(self, genomes: Sequence[Any]) -> list[dict[str, float]]:
        """The one-hot gene columns (:attr:`genes`) of each genome, after checking :attr:`where`.

        Raises
        ------
        PredictorError
            If a genome lies outside :attr:`where` or has a category the predictor never saw.
        """
        out = []
        for genome in genomes:
            for gene, value in self.where.items():
                if str(gene_value(genome, gene)) != value:
                    raise PredictorError(
                        f"predictor {self.card.get('name', '')!r} was fitted on genomes with {gene} = "
                        f"{value}, not {gene_value(genome, gene)!r}: use a predictor fitted on "
                        f"{gene} = {gene_value(genome, gene)} (or a pooled one)"
                    )
            out.append(gene_columns(genome, self.genes))
        return out

    @property
    def interval_levels(self) -> list[float]:
        """Nominal coverages of the stored intervals (empty for a card without intervals)."""
        intervals = self.card.get("intervals") or {}
        return sorted(float(k) for k in (intervals.get("half_width") or {}))

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
            if missing and all(n.startswith("proxy_") for n in missing):
                raise PredictorError(
                    f"features lack {', '.join(missing)}: this predictor uses zero-cost proxies, which need the "
                    "task's data; use it in a search (nasprior search --predictor), or refit it without the "
                    "proxies group (predictor fit --feature-groups)"
                )
            if missing:
                raise PredictorError(
                    f"features lack {', '.join(missing)}: the predictor was fitted by another nasprior "
                    "version; refit it with 'nasprior predictor fit'"
                )
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

    def predict_interval(
        self, features: Sequence[Mapping[str, float]], level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted target with a conformal prediction interval, each of shape (len(features),).

        Parameters
        ----------
        features : sequence of dict
            As for :meth:`predict`.
        level : float
            Nominal coverage, one of :attr:`interval_levels` (0.8 and 0.9 for
            predictors fitted by this version); the card reports the coverage
            measured on held-out folds.

        Returns
        -------
        predicted, lower, upper : numpy.ndarray
            ``predicted +/- half_width``; accuracy targets clipped to [0, 1].

        Raises
        ------
        PredictorError
            If the card has no interval at ``level`` (e.g. a predictor fitted
            before intervals existed: refit it).
        """
        half = ((self.card.get("intervals") or {}).get("half_width") or {}).get(level_key(level))
        if half is None:
            have = ", ".join(f"{lv:g}" for lv in self.interval_levels)
            raise PredictorError(
                f"predictor {self.card.get('name', '')!r} has no {level:g} interval "
                f"({'levels: ' + have if have else 'it was fitted before intervals existed'}): "
                "use a stored level, or refit with 'nasprior predictor fit'"
            )
        predicted = self.predict(features)
        lower, upper = predicted - float(half), predicted + float(half)
        if "acc" in self.target:
            lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
        return predicted, lower, upper

    def genome_features(self, genomes: Sequence[Any]) -> list[dict[str, float]]:
        """Features of genomes as this predictor reads them.

        A predictor fitted on runs builds them as the search does, for the
        task in its card (:func:`genome_features`), plus the one-hot columns of
        its :attr:`genes` (a pooled predictor); one fitted on graphs
        uses the genome's prior graph alone
        (:func:`nasprior.evaluation.graph_candidate_features` without a task).
        """
        if self.source == "graphs":
            return [graph_candidate_features(checked_graph(g)) for g in genomes]
        shape = TaskShape(
            str(self.task["name"]),
            int(self.task.get("n_inputs") or 0),
            int(self.task["n_classes"]),
            int(self.task.get("vocab_size") or 0),
        )
        for genome in genomes:  # the task first: a genome of another task gets that answer, not a gene mismatch
            try:
                check_task_fits(genome, shape)
            except ConfigError as exc:
                raise PredictorError(
                    f"predictor {self.card.get('name', '')!r} is for task {shape.name!r}, and genome "
                    f"{genome.key} does not fit it ({exc}): give a genome of a {shape.name} search space, or "
                    "use a predictor fitted on your genome's task"
                ) from None
        columns = self.gene_columns(genomes)
        return [{**f, **c} for f, c in zip(genome_features(genomes, self.task), columns)]

    def graph_features(self, graphs: Sequence[Any]) -> list[dict[str, float]]:
        """Features of networkx graphs as this predictor reads them.

        Parameters
        ----------
        graphs : sequence of networkx.Graph or networkx.DiGraph
            Undirected graphs (oriented lower -> higher node label) or DAGs
            (used as given); see :func:`nasprior.graph_io.read_graph` for files.

        Returns
        -------
        list of dict of str to float

        Raises
        ------
        ConfigError
            If a graph is invalid, or the predictor was fitted on runs of a
            sequence task (a recurrent network needs its genome's cell type).
        PredictorError
            If the predictor reads gene columns (:attr:`genes`).

        Notes
        -----
        A predictor fitted on graphs uses the graph alone
        (:func:`nasprior.evaluation.graph_candidate_features` without a
        task); one fitted on runs of a feedforward task builds the
        graph-as-network network of that task (Stier et al. 2021), which is
        what its records mean for genomes of mapping ``graph``.
        """
        if self.source == "graphs":
            return [graph_candidate_features(g) for g in graphs]
        if self.genes:
            raise PredictorError(
                f"predictor {self.card.get('name', '')!r} also reads the genes "
                f"{', '.join(self.genes)}, which a graph file does not give: predict from genomes"
            )
        shape = TaskShape(
            str(self.task["name"]),
            int(self.task.get("n_inputs") or 0),
            int(self.task["n_classes"]),
            int(self.task.get("vocab_size") or 0),
        )
        return [graph_candidate_features(g, shape) for g in graphs]

    def predict_genomes(self, genomes: Sequence[Any]) -> np.ndarray:
        """Predicted target of each genome, shape (len(genomes),) (features: :meth:`genome_features`)."""
        return self.predict(self.genome_features(genomes))

    def predict_graphs(self, graphs: Sequence[Any]) -> np.ndarray:
        """Predicted target of each networkx graph, shape (len(graphs),) (features: :meth:`graph_features`)."""
        return self.predict(self.graph_features(graphs))

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
        path = Path(path)
        if (path / CARD_FILE).exists() and not overwrite:
            raise PredictorError(
                f"{path} already holds a predictor: choose another --name, or pass --force to replace it"
            )
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
    def load(cls, path: str | os.PathLike) -> Predictor:
        """Load a predictor directory, verifying schema, checksum and the types in the model file.

        Raises
        ------
        PredictorError
            If the directory or a file is missing, the card is not valid JSON
            or has another schema version, the model file's SHA-256 differs
            from the card's, or the model file holds a type outside
            :data:`TRUSTED_TYPES`.
        """
        path = Path(path)
        card_path = path / CARD_FILE
        if not card_path.exists():
            raise PredictorError(
                f"{path} is not a predictor directory (no {CARD_FILE}): give a folder made by "
                "'nasprior predictor fit', e.g. predictors/<name>"
            )
        card = read_json(card_path, "model card", "refit the predictor", PredictorError)
        check_card(card, card_path)
        card = migrate_card(card)
        model_path = path / card.get("model_file", MODEL_FILE)
        if not model_path.exists():
            raise PredictorError(f"{model_path} is missing: copy the whole predictor directory, or refit it")
        digest = _sha256(model_path)
        if digest != card.get("model_sha256"):
            raise PredictorError(
                f"{model_path} does not match the SHA-256 in its model card (file {digest[:12]}..., "
                f"card {str(card.get('model_sha256'))[:12]}...): it was modified or corrupted; "
                "do not use it, refit the predictor"
            )
        try:
            untrusted = sio.get_untrusted_types(file=model_path)
        except Exception as exc:  # skops raises assorted errors on a malformed archive
            raise PredictorError(f"{model_path} is not a readable skops file ({exc}): refit the predictor") from None
        unexpected = [t for t in untrusted if t not in TRUSTED_TYPES]
        if unexpected:
            raise PredictorError(
                f"{model_path} holds types outside the allow list ({', '.join(unexpected)}): refusing to load it"
            )
        try:
            pipeline = sio.load(model_path, trusted=list(untrusted))
        except Exception as exc:  # skops raises assorted errors on a malformed archive
            raise PredictorError(f"{model_path} is not a readable skops file ({exc}): refit the predictor") from None
        if not isinstance(pipeline, Pipeline):
            raise PredictorError(
                f"{model_path} holds a {type(pipeline).__name__}, not a fitted scikit-learn pipeline: "
                "it was not written by 'nasprior predictor fit'; refit the predictor"
            )
        n_in = getattr(pipeline, "n_features_in_", None)
        if n_in is not None and n_in != len(card["features"]["names"]):
            raise PredictorError(
                f"{model_path} expects {n_in} features but its card names "
                f"{len(card['features']['names'])}: refit the predictor"
            )
        return cls(pipeline, card, path)


def migrate_card(card: dict) -> dict:
    """A card of an older readable schema brought to the fields of :data:`SCHEMA_VERSION`.

    Schema 1 (before intervals, importance and graph sources): ``source`` is
    ``"runs"``, ``intervals`` and ``importance`` are empty, and
    ``migrated_from_schema`` records the original version; everything else is
    kept (its size-only baseline was the older one: ``features.size_only``
    names its columns).

    Parameters
    ----------
    card : dict
        A card that passed :func:`check_card`.

    Returns
    -------
    dict
        The same card object, updated in place.
    """
    if card.get("schema") == 1:
        card.setdefault("source", "runs")
        card.setdefault("intervals", None)
        card.setdefault("importance", [])
        card["migrated_from_schema"] = 1
        card["schema"] = SCHEMA_VERSION
    return card
