"""nasprior: search sparse neural network structures built from graph priors.

The data flows one way: genome -> graph (prior) -> network (torch) ->
training -> record -> structural features -> predictor -> search.

The objects a user scripts with::

    from nasprior import Genome, PRIORS, build_network, load_task, train, evaluate, run_search
"""

from ._version import __version__
from .evaluation import Evaluator, candidate_features
from .features import structural_features
from .genome import Genome
from .networks import MAPPINGS, build_network
from .predictors import Predictor
from .priors import PRIORS, get_prior, make_graph, register_prior
from .search import SearchConfig, run_search
from .space import SearchSpace
from .tasks import TASKS, TaskShape, load_task
from .training import TrainConfig, train


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
    return Evaluator(data, train_config or TrainConfig(seed=seed), run_id, seed).evaluate(genome)


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
