"""Tasks: a data set with its splits, held in memory as normalised tensors.

A task gives the training, validation and test tensors a candidate is trained
and scored on. The validation split is carved from the official training set
with a seeded, stratified draw; the official test split is kept apart and is
never used for selection. Inputs are normalised with the statistics of the
training split only (per channel for colour images).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .data import load_digits_dataset, load_image_dataset
from .errors import ConfigError

#: Feedforward classification tasks and their default validation sizes.
VALIDATION_SIZE = {"cifar10": 5000, "mnist": 5000, "digits": 0.2}
#: Sequence tasks (see :mod:`nasprior.reber`): ``reber`` is the released set of Stier et al. (2021),
#: ``reber_generated`` / ``reber_embedded`` a seeded generated set of the plain / embedded grammar.
SEQUENCE_TASKS = ("reber", "reber_generated", "reber_embedded")
TASKS = tuple(VALIDATION_SIZE) + SEQUENCE_TASKS


@dataclass
class TaskData:
    """Normalised splits of a classification task, as float32/int64 tensors.

    Attributes
    ----------
    name : str
    x_train, x_val, x_test : torch.Tensor of float32, shape (n_split, *input_shape)
    y_train, y_val, y_test : torch.Tensor of int64, shape (n_split,)
    n_classes : int
    vocab_size : int
        Token ids of a sequence task (inputs are int64 ids of shape
        (n_split, max_len), right-padded with 0); 0 for feedforward tasks.
    test_groups : dict of str to torch.Tensor of bool, shape (n_test,)
        Test subsets reported separately (``test_acc_<group>``), e.g. the
        Reber task's ``pos``, ``hard_neg``, ``soft_neg``; empty if none.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    vocab_size: int = 0
    test_groups: dict = field(default_factory=dict)

    @property
    def n_inputs(self) -> int:
        """Flattened input size (e.g. 3072 for CIFAR-10)."""
        return int(np.prod(self.x_train.shape[1:]))


def check_task(name: str) -> str:
    """Return ``name`` if it is a known task.

    Raises
    ------
    ConfigError
        If the task is unknown; the message lists the known tasks.
    """
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}: use one of {', '.join(TASKS)}")
    return name


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


def load_task(name: str, data_dir: str | Path | None = None, *, seed: int = 0, download: bool = False) -> TaskData:
    """Load a task's data with a seeded validation split.

    Parameters
    ----------
    name : {"cifar10", "mnist", "digits", "reber", "reber_generated", "reber_embedded"}
        ``digits`` is scikit-learn's bundled 8×8 handwritten digits (no
        download needed). The Reber tasks are sequence tasks built by
        :func:`nasprior.reber.load_reber_task` (``reber``: the released set
        of Stier et al. 2021 in ``<data_dir>/reber/``; ``reber_generated``:
        25,000 generated strings; ``reber_embedded``: the same, embedded
        grammar; no files needed for the generated ones).
    data_dir : path, optional
        Where the data sets live (see :func:`nasprior.data.resolve_data_dir`).
    seed : int
        Seed of the stratified validation split.
    download : bool
        Fetch a missing data set from its official source (checksum verified).

    Returns
    -------
    TaskData

    Raises
    ------
    ConfigError
        Unknown task.
    DataError
        Missing or corrupt data set.
    """
    check_task(name)
    if name in SEQUENCE_TASKS:
        from .reber import load_reber_task

        source = "released" if name == "reber" else "generated"
        return load_reber_task(source, data_dir, seed=seed, embedded=name == "reber_embedded")
    if name == "digits":
        x_tr, y_tr, x_te, y_te = load_digits_dataset()
    else:
        x_tr, y_tr, x_te, y_te = load_image_dataset(name, data_dir, download=download)
    x_tr, x_val, y_tr, y_val = train_test_split(
        x_tr, y_tr, test_size=VALIDATION_SIZE[name], random_state=seed, stratify=y_tr
    )
    x_tr_t, x_val_t, x_te_t = _normalise(x_tr, x_val, x_te)
    as_long = lambda y: torch.as_tensor(np.asarray(y, dtype=np.int64))  # noqa: E731
    return TaskData(
        name, x_tr_t, as_long(y_tr), x_val_t, as_long(y_val), x_te_t, as_long(y_te), int(np.max(y_tr)) + 1
    )
