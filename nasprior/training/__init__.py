"""Training: the loop shared by every feedforward task, its data augmentation and the fast CIFAR-10 recipe.

* :mod:`~nasprior.training.loop`: :class:`TrainConfig`, :func:`train`, the
  learning-rate schedules (:func:`lr_scheduler`, torch's schedulers) and
  :func:`accuracy`;
* :mod:`~nasprior.training.augment`: random crop and flip of image batches
  on tensors;
* :mod:`~nasprior.training.recipe`: the opt-in components of the fast
  CIFAR-10 recipe (whitening stem, EMA, test-time augmentation, ...).

The loop's public names are re-exported here: ``from nasprior.training
import TrainConfig, train``.
"""

from .loop import (
    COMPILE_BACKEND,
    DEVICES,
    FLIPS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    TrainResult,
    accuracy,
    length_bucketed_batches,
    lr_scheduler,
    resolve_device,
    train,
)

__all__ = [
    "COMPILE_BACKEND",
    "DEVICES",
    "FLIPS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "length_bucketed_batches",
    "lr_scheduler",
    "resolve_device",
    "train",
]
