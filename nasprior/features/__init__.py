"""Features of a candidate, computed from its structure alone.

* :mod:`~nasprior.features.structural`: the structural features of a prior
  graph (Stier et al. 2021's 23, spectral gap and algebraic connectivity,
  shape features);
* :mod:`~nasprior.features.profile`: layer-width profile (Stier et al.'s
  last-layer width), skip edges, input-output paths, clustering and
  assortativity;
* :mod:`~nasprior.features.wl`: hashed Weisfeiler-Lehman label histogram
  (Shervashidze et al. 2011);
* :mod:`~nasprior.features.graph`: all of the above in one pass
  (:func:`graph_features`);
* :mod:`~nasprior.features.mask_scores`: data-free topology scores of a
  network's layer masks (Bourely et al. 2017; Robinett & Kepner 2018);
* :mod:`~nasprior.features.size`: size features of a network, or of the
  network a graph alone defines;
* :mod:`~nasprior.features.proxies`: zero-cost proxies of an untrained
  network on one minibatch (NASWOT, synflow, SNIP, grad_norm, jacob_cov;
  the only features that need data);
* :mod:`~nasprior.features.groups`: the named feature groups a predictor is
  fitted on (:data:`FEATURE_GROUPS`).
"""

from .curve import CURVE_FEATURE_NAMES, curve_features
from .graph import GRAPH_FEATURE_NAMES, graph_features
from .groups import (
    CANDIDATE_FEATURES,
    DEFAULT_FEATURE_GROUPS,
    FEATURE_GROUPS,
    GRAPH_CANDIDATE_FEATURES,
    group_feature_names,
    parse_feature_groups,
)
from .mask_scores import TOPOLOGY_SCORE_NAMES, network_topology_scores, topology_scores
from .profile import PROFILE_FEATURE_NAMES, profile_features
from .proxies import PROXY_FEATURE_NAMES, proxy_batch, proxy_features
from .size import SIZE_FEATURE_NAMES, graph_size_features, size_features
from .structural import FEATURE_NAMES, GraphArrays, feature_vector, graph_arrays, structural_features
from .wl import WL_FEATURE_NAMES, wl_histogram

__all__ = [
    "CURVE_FEATURE_NAMES",
    "curve_features",
    "CANDIDATE_FEATURES",
    "GRAPH_CANDIDATE_FEATURES",
    "DEFAULT_FEATURE_GROUPS",
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "GRAPH_FEATURE_NAMES",
    "GraphArrays",
    "PROFILE_FEATURE_NAMES",
    "PROXY_FEATURE_NAMES",
    "SIZE_FEATURE_NAMES",
    "TOPOLOGY_SCORE_NAMES",
    "WL_FEATURE_NAMES",
    "feature_vector",
    "graph_arrays",
    "graph_features",
    "graph_size_features",
    "group_feature_names",
    "network_topology_scores",
    "parse_feature_groups",
    "profile_features",
    "proxy_batch",
    "proxy_features",
    "size_features",
    "structural_features",
    "topology_scores",
    "wl_histogram",
]
