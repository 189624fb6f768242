"""Every feature of a graph alone, computed once per graph: structural, profile and WL features.

:func:`graph_features` indexes the graph once
(:func:`~nasprior.features.structural.graph_arrays`) and returns the
structural features (:mod:`~nasprior.features.structural`; Stier et al. 2021,
Bourely et al. 2017), the layer-width profile, skip-edge, path, clustering and
assortativity features (:mod:`~nasprior.features.profile`) and the hashed
Weisfeiler-Lehman histogram (:mod:`~nasprior.features.wl`). At 2,000 nodes and
50,000 edges all of them take about 0.5 s (``benchmarks/bench_features.py``).
"""

from __future__ import annotations

import networkx as nx

from .profile import PROFILE_FEATURE_NAMES, profile_features
from .structural import FEATURE_NAMES, _structural_features, graph_arrays, rx
from .wl import WL_FEATURE_NAMES, wl_histogram

#: Names of the features of :func:`graph_features`, in order.
GRAPH_FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_NAMES) + PROFILE_FEATURE_NAMES + WL_FEATURE_NAMES


def graph_features(graph: nx.Graph | nx.DiGraph) -> dict[str, float]:
    """All features of a graph: structural, profile and Weisfeiler-Lehman.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        An undirected graph with sortable node labels (oriented lower ->
        higher label, as :func:`nasprior.dag.to_dag` does) or a DAG
        (used as given). See :func:`nasprior.features.structural_features`.

    Returns
    -------
    dict of str to float
        Keys exactly :data:`GRAPH_FEATURE_NAMES`, every value finite.

    Raises
    ------
    ConfigError
        If ``graph`` is not a networkx graph, has no node, has node labels
        that cannot be sorted, or is directed with a cycle.
    """
    arrays = graph_arrays(graph)
    return {
        **_structural_features(graph, use_rustworkx=rx is not None, arrays=arrays),
        **profile_features(graph, arrays),
        **wl_histogram(graph, arrays),
    }
