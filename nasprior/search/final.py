"""The second stage of a search: train the best screened candidates fully.

The GA screens candidates at a low fidelity (the ``[train]`` budget: few
epochs, maybe a subset of the training images). Its survivors, the ``top_k``
distinct candidates with the best screening validation accuracy, are then
trained again from scratch at the full budget (the space's ``[final]``
table: more epochs, every training image), each logged as its own record
with fidelity ``"final"`` (:data:`nasprior.runs.records.FINAL_FIDELITY`) in the
same record log; the screening record keeps its own metrics. ``best/``
then holds the fully trained survivor with the best validation accuracy.
A resumed run trains only the survivors not yet logged at the final
fidelity.

Each survivor trains from a seed of its own (:func:`final_seed`, from the
run's seed and its key; recorded as the record's ``seed`` with
``seed_from``): new initial weights and a new batch order, so that the final
run is not a replay of the screening run. Its validation accuracy is still
measured on the split that selected it (optimistic); its test accuracy is
the unbiased estimate.

The budget is a number of epochs (``[final] epochs``, ``--final-epochs``),
so the same command gives the same records. A time budget
(``--final-minutes``) is an option: each survivor's first final epoch is
timed and the epochs that fit are chosen from it (:func:`epochs_within`);
the choice is logged in the record (``final_budget``, and ``train.epochs``),
so ``--final-epochs`` with the logged number repeats it, and a resumed run
keeps every logged final record. One-cycle and cosine schedules span the
epochs chosen from the second epoch on.

The search's predictor learns from screening records only
(:func:`nasprior.runs.records.is_screening`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..evaluation import Evaluator
from ..features import curve_features
from ..genome import Genome, describe
from ..networks.convolutional import widen
from ..predictors import Predictor, predictor_path
from ..runs.records import FINAL_FIDELITY, is_screening
from ..training.loop import TrainConfig
from .config import final_train_options

if TYPE_CHECKING:
    from .ga import GeneticSearch


def survivors(records: list[dict], top_k: int, predictor: Any = None) -> list[dict]:
    """The screening records of the ``top_k`` distinct best trained candidates.

    Parameters
    ----------
    records : list of dict
        A run's records (any fidelity; only trained screening records count).
    top_k : int
    predictor : Predictor, optional
        Rank by its prediction (e.g. of the final accuracy, from structure
        and the screening curve: ``[final] survivor_predictor``; Baker et al.
        2017) instead of the screening validation accuracy. Its rows are each
        record's features plus its curve features
        (:func:`nasprior.features.curve_features`).

    Returns
    -------
    list of dict
        At most ``top_k`` records with distinct keys, highest validation
        accuracy (or prediction) first (ties: the earlier record first).

    Raises
    ------
    PredictorError
        If the predictor cannot read the records' features.
    """
    best: dict[str, dict] = {}
    for record in records:
        if record["status"] == "trained" and is_screening(record):
            known = best.get(record["key"])
            if known is None or record["metrics"]["val_acc"] > known["metrics"]["val_acc"]:
                best[record["key"]] = record
    if predictor is None or not best:
        ranked = sorted(best.values(), key=lambda r: -r["metrics"]["val_acc"])
        return ranked[:top_k]
    candidates = list(best.values())
    rows = [{**r["features"], **curve_features(r.get("curve") or [])} for r in candidates]
    predicted = predictor.predict(rows)
    order = sorted(range(len(candidates)), key=lambda i: -float(predicted[i]))
    return [{**candidates[i], "predicted_final": float(predicted[i])} for i in order[:top_k]]


#: How a survivor's final seed is derived (written into its record as ``seed_from``).
FINAL_SEED_RULE = "sha256('nasprior-final:<run seed>:<key>'), first 4 bytes big-endian, mod 2**31"


def final_seed(run_seed: int, key: str) -> int:
    """The seed of a survivor's full training, derived from the run's seed and the candidate's key.

    The screening trains every candidate from the run's seed; a survivor's
    final training draws new initial weights and a new batch order from this
    seed (:data:`FINAL_SEED_RULE`), the same for the same run seed and key on
    every machine and every resume.

    Parameters
    ----------
    run_seed : int
        The search's ``seed`` (>= 0).
    key : str
        The candidate's genome key (:attr:`nasprior.genome.Genome.key`).

    Returns
    -------
    int
        In ``[0, 2**31)``.
    """
    digest = hashlib.sha256(f"nasprior-final:{run_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def epochs_within(epoch_s: float, max_epochs: int, minutes: float) -> int:
    """Epochs of a survivor's full training that fit a time budget, from its own first final epoch.

    Parameters
    ----------
    epoch_s : float
        Seconds of the survivor's first final epoch (training and validation).
    max_epochs : int
        The most epochs (the ``[final]`` budget).
    minutes : float
        Time budget of the whole final training, in minutes (> 0).

    Returns
    -------
    int
        ``min(max_epochs, floor(60 * minutes / epoch_s))``, at least 1 (the
        first epoch has run). The test scoring at the end is not counted.
    """
    if epoch_s <= 0:
        return max_epochs
    return max(1, min(max_epochs, int(60.0 * minutes // epoch_s)))


def train_survivors(
    search: GeneticSearch, log: Callable[[str], None], save: Callable[..., None] | None = None
) -> list[dict]:
    """Train a finished search's survivors at the final budget and log their records.

    Parameters
    ----------
    search : GeneticSearch
        After :meth:`~nasprior.search.GeneticSearch.run`; its config's
        ``final`` table gives ``top_k`` and the budget
        (:func:`~nasprior.search.config.final_train_options`).
    log : callable
        Receives one line of progress text at a time.
    save : callable, optional
        ``save(best_dir, network, genome, record)``; writes the best fully
        trained survivor to ``<run_dir>/best`` (default: nothing saved).

    Returns
    -------
    list of dict
        The final records of the survivors (those logged before, in a
        resumed run, included), in screening rank order.
    """
    config = search.config
    top_k = int(config.final.get("top_k", 0))
    if top_k == 0:
        return []
    options = final_train_options(config.train, config.final)
    train_config = TrainConfig(**options)
    minutes = float(config.final.get("minutes", 0))
    done = {r["key"]: r for r in [*search.previous, *search.records] if r.get("fidelity") == FINAL_FIDELITY}
    ranker = config.final.get("survivor_predictor")
    chosen = survivors(search.records, top_k, Predictor.load(predictor_path(ranker)) if ranker else None)
    if ranker:
        log(
            f"survivors ranked by {ranker} (predicted final accuracy from structure and screening curve): "
            + ", ".join(
                f"{r['key'][:8]} {r['predicted_final']:.4f} (screen {r['metrics']['val_acc']:.4f})" for r in chosen
            )
        )
    n_images = len(search.data.x_train)
    if train_config.train_subset:
        n_images = min(n_images, train_config.train_subset)
    budget = f" (at most: as many as fit {minutes:g} minutes, timed on its first epoch)" if minutes else ""
    patience = f", patience {train_config.patience}" if train_config.patience else ""
    log(
        f"final training: the {len(chosen)} best screened candidates from new weights and batch order "
        f"(a seed of their own), {train_config.epochs} epochs{budget}{patience} on {n_images} training images each"
    )
    best_val = max((r["metrics"]["val_acc"] for r in done.values() if r["status"] == "trained"), default=-1.0)
    results = []
    for rank, screen in enumerate(chosen, start=1):
        genome = Genome.from_dict(screen["genome"])
        if screen["key"] in done:
            results.append(done[screen["key"]])
            log(f"  [final] {rank}/{len(chosen)} {describe(genome)}: already trained (logged)")
            continue
        seed = final_seed(config.seed, screen["key"])
        evaluator = Evaluator(
            search.data, TrainConfig(**{**options, "seed": seed}), config.run_id, seed, fidelity=FINAL_FIDELITY
        )
        first: list[float] = []
        if minutes:  # the epochs that fit, from the survivor's own first final epoch
            evaluator.fit_epochs = lambda s: first.append(s) or epochs_within(s, train_config.epochs, minutes)
        evaluation = evaluator.train(genome, screen["features"], None)  # no generation: not part of the GA
        record = {
            **evaluation.record,
            "screen_val_acc": screen["metrics"]["val_acc"],
            "seed_from": {"run_seed": config.seed, "key": screen["key"], "rule": FINAL_SEED_RULE},
            "n_train_images": n_images,
        }
        if minutes and first:
            epochs = epochs_within(first[0], train_config.epochs, minutes)
            record["final_budget"] = {
                "minutes": minutes,
                "max_epochs": train_config.epochs,
                "epochs": epochs,
                "first_epoch_s": round(first[0], 2),
            }
            record["train"] = {**record["train"], "epochs": epochs}  # rerun with --final-epochs N for the same run
            log(
                f"  [final] {rank}/{len(chosen)} {describe(genome)}: first epoch {first[0]:.1f} s: "
                f"{epochs} epochs fit {minutes:g} minutes"
            )
        search.record_log.append(record)
        search.records.append(record)
        results.append(record)
        if record["status"] == "trained":
            m = record["metrics"]
            log(
                f"  [final] {rank}/{len(chosen)} {describe(genome)}: val {m['val_acc']:.4f} "
                f"(screening {screen['metrics']['val_acc']:.4f}), test {m['test_acc']:.4f}, "
                f"{record['epochs_run']} epochs run, {record['wall_time_s']:.1f} s (seed {seed})"
            )
            if m["val_acc"] > best_val and save is not None:
                best_val = m["val_acc"]
                # best/genome.json describes the saved network: the genome widened as it was trained
                save(search.run_dir / "best", evaluation.network, widen(genome, train_config.width_multiplier), record)
        else:
            log(f"  [final] {rank}/{len(chosen)} {describe(genome)}: failed: {record.get('error', '').splitlines()[0]}")
    return results
