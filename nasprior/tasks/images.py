"""Image-classification tasks: CIFAR-10, MNIST and scikit-learn's 8×8 digits.

Inputs are normalised with the statistics of the training split only (per
channel for colour images) and held in memory as float32 tensors of shape
(n, height, width[, channels]); the validation split is a seeded, stratified
draw from the official training set (5,000 images for CIFAR-10 and MNIST,
20% for digits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import Task, TaskData, TaskShape, register_task, split_validation
from .image_files import load_digits_dataset, load_image_dataset

#: Validation split per task: a count of images, or a fraction of the training set.
VALIDATION_SIZE = {"cifar10": 5000, "mnist": 5000, "digits": 0.2}


def _normalise(x_train: np.ndarray, *others: np.ndarray) -> list[torch.Tensor]:
    """Scale by the training split's mean and std (per channel when the last axis is 3)."""
    axes = tuple(range(x_train.ndim - 1)) if x_train.shape[-1] == 3 else None
    xf = x_train.astype(np.float32)
    mean = xf.mean(axis=axes, dtype=np.float64).astype(np.float32)
    std = xf.std(axis=axes, dtype=np.float64).astype(np.float32)
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    out = [torch.from_numpy((xf - mean) / std)]
    out += [torch.from_numpy((x.astype(np.float32) - mean) / std) for x in others]
    return out


def load_image_task(name: str, data_dir: str | Path | None = None, seed: int = 0, download: bool = False) -> TaskData:
    """Load an image task with a seeded, stratified validation split.

    Parameters
    ----------
    name : {"cifar10", "mnist", "digits"}
    data_dir : path, optional
        Data folder (not used by ``digits``).
    seed : int
        Seed of the validation split.
    download : bool
        Fetch a missing data set from its official source.

    Returns
    -------
    TaskData

    Raises
    ------
    DataError
        Missing or corrupt data set.
    """
    if name == "digits":
        x_tr, y_tr, x_te, y_te = load_digits_dataset()
    else:
        x_tr, y_tr, x_te, y_te = load_image_dataset(name, data_dir, download=download)
    idx_tr, idx_val = split_validation(y_tr, VALIDATION_SIZE[name], seed, f"the {name} data set")
    x_tr, x_val, y_tr, y_val = x_tr[idx_tr], x_tr[idx_val], y_tr[idx_tr], y_tr[idx_val]
    x_tr_t, x_val_t, x_te_t = _normalise(x_tr, x_val, x_te)
    as_long = lambda y: torch.as_tensor(np.asarray(y, dtype=np.int64))  # noqa: E731
    return TaskData(name, x_tr_t, as_long(y_tr), x_val_t, as_long(y_val), x_te_t, as_long(y_te), int(np.max(y_tr)) + 1)


for _name, _image, _text in (
    ("cifar10", (32, 32, 3), "CIFAR-10, 32x32 colour images, 10 classes"),
    ("mnist", (28, 28, 1), "MNIST, 28x28 handwritten digits"),
    ("digits", (8, 8, 1), "scikit-learn's bundled 8x8 digits (no download)"),
):
    register_task(
        Task(
            _name,
            TaskShape(_name, int(np.prod(_image)), 10, image_shape=_image),
            load=lambda data_dir, seed, download, _n=_name: load_image_task(_n, data_dir, seed, download),
            space=_name,
            description=_text,
        )
    )
