"""nasprior: search sparse neural network structures built from graph priors.

The data flows one way: genome -> graph (prior) -> network (torch) ->
training -> record -> structural features -> predictor -> search.

The objects a user scripts with:

    from nasprior import Genome, PRIORS, build_network, load_task
    from nasprior import train, evaluate, run_search

They are imported from their submodules on first access (PEP 562), so
``import nasprior`` alone imports neither torch nor scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and the API docs
    from .evaluation import Evaluator, candidate_features
    from .features import structural_features
    from .genome import Genome
    from .networks import MAPPINGS, build_network
    from .predictors import Predictor
    from .priors import PRIORS, get_prior, make_graph, register_prior
    from .search import SearchConfig, run_search
    from .space import SearchSpace
    from .tasks import TASKS, TaskShape, load_task
    from .training.loop import TrainConfig, train

#: The submodule each public name comes from; imported on first access (PEP 562), so that
#: ``import nasprior`` (and ``nasprior --help``) does not import torch and scikit-learn.
_LAZY = {
    "Evaluator": "evaluation",
    "candidate_features": "evaluation",
    "structural_features": "features",
    "Genome": "genome",
    "MAPPINGS": "networks",
    "build_network": "networks",
    "Predictor": "predictors",
    "PRIORS": "priors",
    "get_prior": "priors",
    "make_graph": "priors",
    "register_prior": "priors",
    "SearchConfig": "search",
    "run_search": "search",
    "SearchSpace": "space",
    "TASKS": "tasks",
    "TaskShape": "tasks",
    "load_task": "tasks",
    "TrainConfig": "training",
    "train": "training",
}


def __getattr__(name: str):
    """A public name of :data:`_LAZY`, imported from its submodule on first access (PEP 562).

    Raises
    ------
    AttributeError
        If ``name`` is not a public name of the package.
    """
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # later accesses skip __getattr__
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy public ones included."""
    return sorted(set(globals()) | set(__all__))


def evaluate(genome: Genome, data, train_config: TrainConfig | None = None, *, seed: int = 0, run_id: str = ""):
    """Build, featurise and train one candidate on a task's data; return its :class:`~nasprior.evaluation.Evaluation`.

    Parameters
    ----------
    genome : Genome
    data : TaskData
        From :func:`load_task`.
    train_config : TrainConfig, optional
        The budget (default :class:`TrainConfig`'s).
    seed : int
        Seed of weight initialisation.
    run_id : str
        Written into the record.

    Returns
    -------
    Evaluation
        ``record`` (a dict, status ``trained`` or ``failed``) and the trained ``network``.
    """
    evaluator, config = __getattr__("Evaluator"), __getattr__("TrainConfig")  # the lazy names, imported here
    return evaluator(data, train_config or config(seed=seed), run_id, seed).evaluate(genome)


__all__ = [
    "Evaluator",
    "Genome",
    "MAPPINGS",
    "PRIORS",
    "Predictor",
    "SearchConfig",
    "SearchSpace",
    "TASKS",
    "TaskShape",
    "TrainConfig",
    "__version__",
    "build_network",
    "candidate_features",
    "evaluate",
    "get_prior",
    "load_task",
    "make_graph",
    "register_prior",
    "run_search",
    "structural_features",
    "train",
]
