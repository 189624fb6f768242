"""Learning-curve features of a trained record: what its first epochs say about its final accuracy.

Baker, Gupta, Raskar & Naik (2017) predict a network's final accuracy from its
architecture, its hyperparameters and the first epochs of its learning curve
(the accuracies and their first and second differences), with a ν-SVR, to stop
poor trainings early. Here a screening record's curve (``record["curve"]``: per
epoch ``train_loss`` and ``val_acc``) gives the columns of the feature group
``curve`` (:data:`CURVE_FEATURE_NAMES`), so that ``nasprior predictor fit
--feature-groups structural,size,curve --fidelity final --curve-from SCREEN_RUN``
learns the final-fidelity accuracy from structure plus the screening curve, and
a search may rank its survivors by it (``[final] survivor_predictor``).

References
----------
.. [Baker2017] B. Baker, O. Gupta, R. Raskar and N. Naik, "Accelerating neural
   architecture search using performance prediction", ICLR 2018 workshop,
   arXiv:1705.10823.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: Columns of :func:`curve_features`, in order.
CURVE_FEATURE_NAMES = (
    "curve_val_acc_first",
    "curve_val_acc_last",
    "curve_val_acc_best",
    "curve_val_acc_gain",
    "curve_val_acc_last_step",
    "curve_val_acc_curvature",
    "curve_train_loss_first",
    "curve_train_loss_last",
    "curve_epochs",
)


def curve_features(curve: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Learning-curve features of one training (Baker et al. 2017).

    Parameters
    ----------
    curve : sequence of dict
        One entry per epoch with ``val_acc`` (a fraction) and ``train_loss``
        (mean cross-entropy), as in a record's ``curve``.

    Returns
    -------
    dict of str to float
        Keys :data:`CURVE_FEATURE_NAMES`: the first, last and best validation
        accuracy, the gain from first to last, the last epoch's step (first
        difference) and the change of step (second difference; 0 with fewer
        than 3 epochs), the first and last training loss, the number of epochs.
        Empty for an empty curve or one without validation accuracies.
    """
    acc = [float(e["val_acc"]) for e in curve if e.get("val_acc") is not None]
    loss = [float(e["train_loss"]) for e in curve if e.get("train_loss") is not None]
    if not acc or not loss:
        return {}
    step = acc[-1] - acc[-2] if len(acc) > 1 else 0.0
    previous = acc[-2] - acc[-3] if len(acc) > 2 else step
    return {
        "curve_val_acc_first": acc[0],
        "curve_val_acc_last": acc[-1],
        "curve_val_acc_best": max(acc),
        "curve_val_acc_gain": acc[-1] - acc[0],
        "curve_val_acc_last_step": step,
        "curve_val_acc_curvature": step - previous,
        "curve_train_loss_first": loss[0],
        "curve_train_loss_last": loss[-1],
        "curve_epochs": float(len(acc)),
    }
