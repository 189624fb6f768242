"""Search: a genetic algorithm over genomes on DEAP toolbox seams.

* :mod:`~nasprior.search.config`: :class:`SearchConfig` (the run's
  ``config.json``) and :class:`SearchResult`;
* :mod:`~nasprior.search.ga`: the (μ + λ) GA with the predictor's skip rule,
  resume, hall of fame and per-generation summaries (:func:`run_search`);
* :mod:`~nasprior.search.final`: the second stage, the survivors trained at
  the full budget (:func:`train_survivors`).
"""

from .config import OBJECTIVES, SearchConfig, SearchResult, check_space_search_table, final_train_options
from .final import survivors, train_survivors
from .ga import GeneticSearch, fitness_of, layered_diversity, make_toolbox, make_unique, run_search

__all__ = [
    "GeneticSearch", "OBJECTIVES", "SearchConfig", "SearchResult", "check_space_search_table", "final_train_options",
    "fitness_of",
    "layered_diversity", "make_toolbox", "make_unique", "run_search", "survivors", "train_survivors",
]
