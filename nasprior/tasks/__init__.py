"""Tasks: data sets with their splits and shapes, in a registry.

* :mod:`~nasprior.tasks.base`: :class:`Task`, :class:`TaskShape`,
  :class:`TaskData`, the registry and :func:`load_task`;
* :mod:`~nasprior.tasks.images`: ``cifar10``, ``mnist``, ``digits``
  (readers for every distribution format in :mod:`~nasprior.tasks.image_files`);
* :mod:`~nasprior.tasks.reber`: ``reber``, ``reber_generated``,
  ``reber_embedded`` (the grammar, its negatives and the released set).

To add a task, write a module that calls :func:`register_task` and import it here.
"""

# Each module registers its tasks on import; the order is the registry's order.
from . import images  # noqa: F401  isort: skip
from . import reber  # noqa: F401  isort: skip
from .base import TASKS, Task, TaskData, TaskShape, check_task, get_task, load_task, register_task

__all__ = ["TASKS", "Task", "TaskData", "TaskShape", "check_task", "get_task", "load_task", "register_task"]
