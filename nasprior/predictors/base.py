"""What every predictor shares: the feature matrix of records, and the predictor protocol.

A predictor maps a candidate's features (:data:`nasprior.evaluation.CANDIDATE_FEATURES`)
to a metric of its trained records (``val_acc`` by default). The run-time
predictor of a search (:class:`~nasprior.predictors.run.RunPredictor`) and a
stored, fitted one (:class:`~nasprior.predictors.stored.Predictor`) both
follow :class:`PredictorLike`, so a search can use either.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import ConfigError, PredictorError, RecordError
from ..evaluation import CANDIDATE_FEATURES
from ..genome import Genome
from ..priors import network_of

#: The metric predictors learn by default.
TARGET = "val_acc"


class PredictorLike(Protocol):
    """What the search needs of a predictor.

    Attributes
    ----------
    cv_r2_ : float
        Cross-validated R² of the predictor (the search skips nothing below
        its ``min_r2``).
    """

    cv_r2_: float

    def predict(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        """Predicted target of each feature dict, shape (len(features),)."""
        ...

    def predict_interval(
        self, features: Sequence[Mapping[str, float]], level: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction, lower and upper bound of its conformal interval at ``level``, each shape (len(features),)."""
        ...


def feature_matrix(
    records: Iterable[Mapping], names: Sequence[str], target: str = TARGET
) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix and target of the trained records.

    Parameters
    ----------
    records : iterable of dict
        Records as written by :func:`nasprior.runs.records.make_record`; only those
        with status ``"trained"`` and a finite target are used.
    names : sequence of str
        Feature names, in column order.
    target : str
        Metric to predict (a key of each record's ``metrics``).

    Returns
    -------
    X : numpy.ndarray of shape (n_trained, len(names))
    y : numpy.ndarray of shape (n_trained,)

    Raises
    ------
    RecordError
        If a trained record lacks one of the features.
    """
    rows, ys = [], []
    for record in records:
        value = record.get("metrics", {}).get(target)
        if record.get("status") != "trained" or value is None or not np.isfinite(value):
            continue
        features = record.get("features", {})
        missing = [n for n in names if n not in features]
        if missing:
            raise RecordError(
                f"record {record.get('key')} lacks feature(s) {', '.join(missing)}: it was written by another "
                "nasprior version; refit on runs made with this one"
            )
        rows.append([float(features[n]) for n in names])
        ys.append(float(value))
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(names)), np.asarray(ys, dtype=np.float64)


def trained_records(records: Iterable[Mapping], target: str = TARGET) -> list[Mapping]:
    """The records a predictor learns from: status ``trained`` with a finite ``target``.

    Parameters
    ----------
    records : iterable of dict
        Records as written by :func:`nasprior.runs.records.make_record`.
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
        :data:`nasprior.evaluation.CANDIDATE_FEATURES`.

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
    candidates = CANDIDATE_FEATURES if candidates is None else tuple(candidates)
    if not records:
        raise RecordError("no trained records to learn from: sample and train candidates first (nasprior sample)")
    names, dropped = [], []
    for name in candidates:
        ok = all(_finite(r.get("features", {}).get(name)) for r in records)
        (names if ok else dropped).append(name)
    if not names:
        raise RecordError(
            "no feature is present in every trained record: were the runs made by another nasprior version?"
        )
    return names, dropped


def gene_value(genome: Any, gene: str) -> Any:
    """Value of ``gene`` in a genome (a :class:`~nasprior.genome.Genome` or its dict), or None if it has none.

    ``prior`` and ``mapping`` count as genes here.
    """
    if isinstance(genome, Mapping):
        return genome.get(gene)
    if gene in ("prior", "mapping"):
        return getattr(genome, gene)
    return genome.genes.get(gene)


def gene_columns(genome: Any, genes: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """One-hot columns of categorical genes, e.g. ``{"cell=gru": 1.0, "cell=lstm": 0.0, ...}``.

    A pooled predictor of several cell types or priors reads them beside the
    structural features (Stier et al. 2021 fit one model per cell; the pooled
    model learns the cell's offset from these columns).

    Parameters
    ----------
    genome : Genome or dict
        The candidate's genome (a record's ``genome`` dict works too).
    genes : dict of str to list of str
        Gene name -> the categories seen in training, in column order.

    Returns
    -------
    dict of str to float
        ``"<gene>=<category>"`` -> 1.0 or 0.0, in the order of ``genes``.

    Raises
    ------
    PredictorError
        If the genome's value of a gene is not one of the trained categories
        (the model never saw it: fit a predictor on records that include it).
    """
    out = {}
    for gene, categories in genes.items():
        value = gene_value(genome, gene)
        if str(value) not in categories:
            raise PredictorError(
                f"the predictor was fitted on {gene} in {', '.join(categories)}, not {value!r}: use a "
                f"predictor fitted on records with {gene} = {value}"
            )
        for category in categories:
            out[f"{gene}={category}"] = float(str(value) == category)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def record_group(record: dict) -> str:
    """Cross-validation group of a run record: the network its genome builds (:func:`~nasprior.priors.network_key`).

    A pruned record (``nasprior prune``: its ``pruning`` entry and mask densities) is its own network: its group
    adds them. A genome that no longer builds falls back to its key.
    """
    try:
        group = network_of(Genome.from_dict(record["genome"]))
    except (ConfigError, KeyError, TypeError, ValueError):  # not a readable genome
        group = str(record.get("key", ""))
    pruned = record.get("pruning")
    if pruned:
        return f"{group}@{json.dumps([pruned, record.get('masks_density')], sort_keys=True)}"
    return group
