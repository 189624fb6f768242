"""Features of a candidate, computed from its structure alone.

* :mod:`~nasprior.features.structural`: the structural features of a prior
  graph (Stier et al. 2021's 23, spectral gap and algebraic connectivity,
  shape features);
* :mod:`~nasprior.features.topology`: data-free topology scores of a
  network's layer masks (Bourely et al. 2017; Robinett & Kepner 2018);
* :mod:`~nasprior.features.size`: size features of a network (the baseline
  every structural predictor is compared with).
"""

from .size import SIZE_FEATURE_NAMES, size_features
from .structural import FEATURE_NAMES, feature_vector, structural_features
from .topology import TOPOLOGY_SCORE_NAMES, network_topology_scores, topology_scores

__all__ = [
    "FEATURE_NAMES", "SIZE_FEATURE_NAMES", "TOPOLOGY_SCORE_NAMES", "feature_vector", "network_topology_scores",
    "size_features", "structural_features", "topology_scores",
]
