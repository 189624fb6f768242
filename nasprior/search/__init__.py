"""Search: a genetic algorithm over genomes on DEAP toolbox seams.

* :mod:`~nasprior.search.config`: :class:`SearchConfig` (the run's
  ``config.json``) and :class:`SearchResult`;
* :mod:`~nasprior.search.ga`: the (μ + λ) GA with the predictor's skip rule,
  resume, hall of fame and per-generation summaries (:func:`run_search`);
* :mod:`~nasprior.search.final`: the second stage, the survivors trained at
  the full budget (:func:`train_survivors`).
"""

from .config import OBJECTIVES, STRATEGIES, SearchConfig, SearchResult, check_space_search_table, final_train_options
from .final import epochs_within, final_seed, survivors, train_survivors
from .ga import GeneticSearch, layered_diversity, run_search
from .operators import fitness_of, make_toolbox, make_unique, objective_values, select_pareto_tournament

__all__ = [
    "GeneticSearch",
    "OBJECTIVES",
    "STRATEGIES",
    "SearchConfig",
    "SearchResult",
    "check_space_search_table",
    "epochs_within",
    "final_seed",
    "final_train_options",
    "fitness_of",
    "layered_diversity",
    "make_toolbox",
    "make_unique",
    "objective_values",
    "run_search",
    "select_pareto_tournament",
    "survivors",
    "train_survivors",
]
