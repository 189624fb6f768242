"""The task registry: what a task is, its shape, and how its data is loaded.

A :class:`Task` names a data set with its splits and says what a network for
it takes and gives (:class:`TaskShape`: flattened input size, classes, token
vocabulary), which search space it uses by default, and how its data is
loaded into memory (:class:`TaskData`). The validation split is carved from
the official training set with a seeded, stratified draw; the official test
split is kept apart and never used for selection. Adding a task is one
module that calls :func:`register_task`, imported by :mod:`nasprior.tasks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from ..errors import DataError
from ..registry import Registry


@dataclass(frozen=True)
class TaskShape:
    """What a network for a task takes and gives; all a network builder or feature needs of a task.

    Parameters
    ----------
    name : str
    n_inputs : int
        Flattened input size (3072 for CIFAR-10); for sequence tasks the
        padded length is not fixed and ``n_inputs`` is 0.
    n_classes : int
    vocab_size : int
        Token ids of a sequence task (padding and unknown included); 0 for
        feedforward tasks.
    image_shape : tuple of int
        (height, width, channels) of an image task, e.g. (32, 32, 3); empty
        for other tasks. Image tasks also suit the ``convolutional`` mapping.
    """

    name: str
    n_inputs: int
    n_classes: int
    vocab_size: int = 0
    image_shape: tuple = ()

    def to_dict(self) -> dict:
        """``{"name", "n_inputs", "n_classes", "vocab_size"}`` (as stored in a model card)."""
        return {
            "name": self.name,
            "n_inputs": self.n_inputs,
            "n_classes": self.n_classes,
            "vocab_size": self.vocab_size,
        }


@dataclass
class TaskData:
    """Normalised splits of a classification task, as float32/int64 tensors.

    Attributes
    ----------
    name : str
    x_train, x_val, x_test : torch.Tensor of float32, shape (n_split, *input_shape)
        Sequence tasks: int64 token ids of shape (n_split, max_len),
        right-padded with 0.
    y_train, y_val, y_test : torch.Tensor of int64, shape (n_split,)
    n_classes : int
    vocab_size : int
        Token ids of a sequence task; 0 for feedforward tasks.
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
        """Flattened input size (e.g. 3072 for CIFAR-10); 0 for sequence tasks."""
        return 0 if self.vocab_size else int(np.prod(self.x_train.shape[1:]))

    @property
    def shape(self) -> TaskShape:
        """The task's :class:`TaskShape`; inputs of shape (n, H, W) or (n, H, W, C) make it an image task."""
        dims = tuple(int(d) for d in self.x_train.shape[1:])
        image = (dims + (1,) if len(dims) == 2 else dims) if not self.vocab_size and len(dims) in (2, 3) else ()
        return TaskShape(self.name, self.n_inputs, int(self.n_classes), int(self.vocab_size), image)


@dataclass(frozen=True)
class Task:
    """A registered task.

    Parameters
    ----------
    name : str
        Registry name (``--task``).
    shape : TaskShape
        Known without loading the data.
    load : callable
        ``load(data_dir, seed, download) -> TaskData``.
    space : str
        Stem of the default search space, the shipped ``nasprior/spaces/<space>.toml``.
    description : str
        One line for ``--help``.
    """

    name: str
    shape: TaskShape
    load: Callable[[str | Path | None, int, bool], TaskData]
    space: str
    description: str = ""


#: Registry of tasks by name, in registration order.
TASKS = Registry("task")


def register_task(task: Task) -> Task:
    """Add a task to :data:`TASKS` and return it.

    Raises
    ------
    ConfigError
        If a task of that name is registered already.
    """
    return TASKS.add(task)


def get_task(name: str) -> Task:
    """The registered task called ``name``.

    Raises
    ------
    ConfigError
        If the task is unknown; the message lists the known tasks.
    """
    return TASKS.lookup(name)


def check_task(name: str) -> str:
    """Return ``name`` if it is a registered task.

    Raises
    ------
    ConfigError
        If the task is unknown; the message lists the known tasks.
    """
    return get_task(name).name


def load_task(name: str, data_dir: str | Path | None = None, *, seed: int = 0, download: bool = False) -> TaskData:
    """Load a task's data with a seeded validation split.

    Parameters
    ----------
    name : str
        A registered task: ``cifar10``, ``mnist``, ``digits`` (scikit-learn's
        bundled 8×8 digits, no files needed), ``reber`` (the released set of
        Stier et al. 2021 in ``<data_dir>/reber/``), ``reber_generated``,
        ``reber_embedded`` (seeded generated sets, no files needed).
    data_dir : path, optional
        Where the data sets live (see :func:`nasprior.tasks.image_files.resolve_data_dir`).
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
    return get_task(name).load(data_dir, seed, download)


def split_validation(
    labels: np.ndarray, validation_size: float | int, seed: int, where: str, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified train/validation split, or one message when the data cannot be split.

    Parameters
    ----------
    labels : numpy.ndarray, shape (n,)
        Labels of the training examples.
    validation_size : float or int
        Fraction (float) or number (int) of examples held out for validation.
    seed : int
    where : str
        The data set, for messages (``"MNIST in data/mnist"``).
    stratify : numpy.ndarray, shape (n,), optional
        Strata to keep in proportion (default: ``labels``).

    Returns
    -------
    train, validation : numpy.ndarray of int64

    Raises
    ------
    DataError
        If the examples are too few for the split (fewer than the
        validation size, or a class with fewer than two examples); the
        message gives their number and says to use the full data set.
    """
    n = len(labels)
    strata = labels if stratify is None else stratify
    try:
        train, val = train_test_split(np.arange(n), test_size=validation_size, random_state=seed, stratify=strata)
    except ValueError as exc:  # scikit-learn's message: too few examples, or a class with one member
        raise DataError(
            f"{where} has {n} training examples, too few for its stratified validation split of "
            f"{validation_size} ({exc}): use the complete data set"
        ) from None
    return train, val
