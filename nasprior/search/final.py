"""The second stage of a search: train the best screened candidates fully.

The GA screens candidates at a low fidelity (the ``[train]`` budget: few
epochs, maybe a subset of the training images). Its survivors, the ``top_k``
distinct candidates with the best screening validation accuracy, are then
trained again from scratch at the full budget (the space's ``[final]``
table: more epochs, every training image), each logged as its own record
with fidelity ``"final"`` (:data:`nasprior.records.FINAL_FIDELITY`) in the
same record log; the screening record keeps its own metrics. ``best/``
then holds the fully trained survivor with the best validation accuracy.
A resumed run trains only the survivors not yet logged at the final
fidelity.

A time budget (``[final] minutes``, ``--final-minutes``) cuts each
survivor's epochs to those that fit: its seconds per epoch are estimated
from its own screening record (training time per screened image, times the
images of the full training), so the choice is logged, repeatable from the
log, and a resumed run makes the same one. One-cycle and cosine schedules
then span the epochs chosen.

The search's predictor learns from screening records only
(:func:`nasprior.records.is_screening`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..evaluation import Evaluator
from ..genome import Genome, describe
from ..networks.convolutional import widen
from ..records import FINAL_FIDELITY, is_screening
from ..training import TrainConfig
from .config import final_train_options

if TYPE_CHECKING:
    from .ga import GeneticSearch


def survivors(records: list[dict], top_k: int) -> list[dict]:
    """The screening records of the ``top_k`` distinct best trained candidates.

    Parameters
    ----------
    records : list of dict
        A run's records (any fidelity; only trained screening records count).
    top_k : int

    Returns
    -------
    list of dict
        At most ``top_k`` records with distinct keys, highest validation
        accuracy first (ties: the earlier record first).
    """
    best: dict[str, dict] = {}
    for record in records:
        if record["status"] == "trained" and is_screening(record):
            known = best.get(record["key"])
            if known is None or record["metrics"]["val_acc"] > known["metrics"]["val_acc"]:
                best[record["key"]] = record
    ranked = sorted(best.values(), key=lambda r: -r["metrics"]["val_acc"])
    return ranked[:top_k]


def final_epochs(
    screen: dict, epochs: int, minutes: float, n_images: int, cost_factor: float = 1.0
) -> tuple[int, float]:
    """Epochs of a survivor's full training that fit a time budget, from its screening speed.

    Parameters
    ----------
    screen : dict
        The survivor's screening record: ``timing`` (seconds of training,
        validation and test scoring; :class:`~nasprior.training.TrainResult`),
        else ``train_time_s`` (all of them), ``epochs_run`` and
        ``train.train_subset`` (0: every training image).
    epochs : int
        The most epochs (the ``[final]`` budget).
    minutes : float
        Time budget of the full training, in minutes (0: none).
    n_images : int
        Training images of the full training.
    cost_factor : float
        Cost of one training image of the full training over one of the
        screening: ``(width / screened width) ** 2`` for a survivor trained
        wider (``width_multiplier``; convolutions cost the square of the
        channels), else 1.

    Returns
    -------
    epochs : int
        ``min(epochs, floor((60 * minutes - test_s) / seconds_per_epoch))``, at least 1.
    seconds_per_epoch : float
        The estimate: the screening's training seconds per image times
        ``n_images`` (and ``cost_factor``), plus its validation scoring per epoch (the validation
        split is the same). A record without ``timing`` (older versions)
        counts all of ``train_time_s`` as training, which errs long (fewer
        epochs). 0.0 when there is no budget or no timing.
    """
    time_s, run = float(screen.get("train_time_s") or 0.0), int(screen.get("epochs_run") or 0)
    if minutes <= 0 or time_s <= 0 or run <= 0:
        return epochs, 0.0
    screened = min(int((screen.get("train") or {}).get("train_subset") or 0) or n_images, n_images)
    timing = screen.get("timing") or {}
    if timing.get("train"):
        per_epoch = (timing["train"] / run * n_images / screened + float(timing.get("val", 0.0)) / run) * cost_factor
        budget = 60.0 * minutes - float(timing.get("test", 0.0)) * cost_factor
    else:
        per_epoch, budget = time_s / run * n_images / screened * cost_factor, 60.0 * minutes
    return max(1, min(epochs, int(budget // per_epoch))), per_epoch


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
    chosen = survivors(search.records, top_k)
    n_images = len(search.data.x_train)
    if train_config.train_subset:
        n_images = min(n_images, train_config.train_subset)
    budget = f" (at most, within {minutes:g} minutes each)" if minutes else ""
    log(
        f"final training: the {len(chosen)} best screened candidates, {train_config.epochs} epochs{budget} on "
        f"{n_images} training images each"
    )
    best_val = max((r["metrics"]["val_acc"] for r in done.values() if r["status"] == "trained"), default=-1.0)
    results = []
    for rank, screen in enumerate(chosen, start=1):
        genome = Genome.from_dict(screen["genome"])
        if screen["key"] in done:
            results.append(done[screen["key"]])
            log(f"  [final] {rank}/{len(chosen)} {describe(genome)}: already trained (logged)")
            continue
        screened_width = float((screen.get("train") or {}).get("width_multiplier", 1.0))
        cost = (train_config.width_multiplier / screened_width) ** 2
        epochs, per_epoch = final_epochs(screen, train_config.epochs, minutes, n_images, cost)
        if minutes:
            log(
                f"  [final] {rank}/{len(chosen)} {describe(genome)}: about {per_epoch:.0f} s per epoch by its "
                f"screening: {epochs} epochs fit {minutes:g} minutes"
            )
        evaluator = Evaluator(
            search.data,
            TrainConfig(**{**options, "epochs": epochs}),
            config.run_id,
            config.seed,
            fidelity=FINAL_FIDELITY,
        )
        evaluation = evaluator.train(genome, screen["features"], None)  # no generation: not part of the GA
        record = {**evaluation.record, "screen_val_acc": screen["metrics"]["val_acc"]}
        if minutes:
            record["final_budget"] = {
                "minutes": minutes,
                "max_epochs": train_config.epochs,
                "epochs": epochs,
                "estimated_epoch_s": round(per_epoch, 2),
            }
        search.record_log.append(record)
        search.records.append(record)
        results.append(record)
        if record["status"] == "trained":
            m = record["metrics"]
            log(
                f"  [final] {rank}/{len(chosen)} {describe(genome)}: val {m['val_acc']:.4f} "
                f"(screening {screen['metrics']['val_acc']:.4f}), {record['wall_time_s']:.0f} s"
            )
            if m["val_acc"] > best_val and save is not None:
                best_val = m["val_acc"]
                # best/genome.json describes the saved network: the genome widened as it was trained
                save(search.run_dir / "best", evaluation.network, widen(genome, train_config.width_multiplier), record)
        else:
            log(f"  [final] {rank}/{len(chosen)} {describe(genome)}: failed: {record.get('error', '').splitlines()[0]}")
    return results
