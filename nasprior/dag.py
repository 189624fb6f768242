"""From an undirected prior graph to the layered structure of a network.

Two mappings, both standard in the literature (see :mod:`nasprior.networks`):

* graph-as-network (Stier et al. 2021; Xie et al. 2019): :func:`to_dag`
  orients each edge from the lower to the higher node index, and
  :func:`layer_nodes` puts each node in the layer given by the longest path
  reaching it from a source. Edges that skip layers become skip connections.
* layer-wise masks (relational graph; You, Leskovec, He, Xie, "Graph
  structure of neural networks", ICML 2020): :func:`relational_mask` expands
  the graph's adjacency (with self loops) into a bipartite mask between two
  layers of any widths.
"""

from __future__ import annotations

import networkx as nx
import numpy as np


def to_dag(graph: nx.Graph) -> nx.DiGraph:
    """Orient an undirected graph into a DAG, each edge from lower to higher index.

    Parameters
    ----------
    graph : networkx.Graph
        Nodes must be mutually comparable (integers for every prior).

    Returns
    -------
    networkx.DiGraph
        Same nodes; edge ``(u, v)`` with ``u < v`` for each undirected edge.
        Self loops are dropped.
    """
    dag = nx.DiGraph()
    dag.add_nodes_from(sorted(graph.nodes))
    dag.add_edges_from((min(u, v), max(u, v)) for u, v in graph.edges if u != v)
    return dag


def layer_index(dag: nx.DiGraph) -> dict[int, int]:
    """Layer of each node: the length of the longest path reaching it from a source.

    Returns
    -------
    dict
        ``node -> layer``; sources (in-degree 0, isolated nodes included) are
        in layer 0.
    """
    layer: dict[int, int] = {}
    for node in nx.topological_sort(dag):
        layer[node] = max((layer[u] + 1 for u in dag.predecessors(node)), default=0)
    return layer


def layer_nodes(dag: nx.DiGraph) -> list[list[int]]:
    """Nodes grouped by :func:`layer_index`, each group sorted by node label.

    Returns
    -------
    list of list of int
        ``layers[l]`` holds the nodes of layer ``l``; ``len(layers)`` is the
        depth of the DAG (longest path in nodes).
    """
    index = layer_index(dag)
    depth = max(index.values(), default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    for node in sorted(index):
        layers[index[node]].append(node)
    return layers


def relational_mask(graph: nx.Graph, n_in: int, n_out: int) -> np.ndarray:
    """Bipartite mask between two layers from a relational graph (You et al. 2020).

    The ``n`` graph nodes each own a contiguous, near-equal share of the input
    units and of the output units (unit ``i`` of a layer of width ``w`` belongs
    to node ``floor(i * n / w)``). An output unit connects to an input unit when
    their nodes are equal or adjacent in the graph.

    Parameters
    ----------
    graph : networkx.Graph
        Nodes labelled ``0 .. n - 1``.
    n_in, n_out : int
        Widths of the input and output layers (positive).

    Returns
    -------
    numpy.ndarray of bool, shape (n_out, n_in)
        ``mask[j, i]`` is True when input unit ``i`` feeds output unit ``j``.
    """
    n = graph.number_of_nodes()
    adj = nx.to_numpy_array(graph, nodelist=range(n), dtype=bool) | np.eye(n, dtype=bool)
    node_in = np.arange(n_in) * n // n_in  # (n_in,)
    node_out = np.arange(n_out) * n // n_out  # (n_out,)
    return adj[np.ix_(node_out, node_in)]
