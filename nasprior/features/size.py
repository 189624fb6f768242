"""Size features of a network (its counts of weights, parameters, layers), from the network or from a graph alone.

The honest size-only baseline of a predictor
(:data:`nasprior.predictors.SIZE_ONLY_FEATURES`) uses the counts only:
nodes, edges, weights and parameters. ``first_layer_width`` and
``n_hidden_layers`` describe the network's shape and are structure.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from .structural import GraphArrays, graph_arrays

#: Names of the features of :func:`size_features`, in order.
SIZE_FEATURE_NAMES = ("n_params", "n_weights", "network_density", "first_layer_width", "n_hidden_layers", "n_flops")


def size_features(network: Any) -> dict[str, float]:
    """Size of a network.

    Parameters
    ----------
    network : SparseNetwork
        Any network of :mod:`nasprior.networks` (it has ``n_params``,
        ``n_weights``, ``density``, ``first_layer_width`` and
        ``n_hidden_layers``, and optionally ``n_flops``).

    Returns
    -------
    dict of str to float
        ``n_params`` (present weights + biases), ``n_weights`` (present
        weights), ``network_density`` (fraction of possible weights present),
        ``first_layer_width`` (units fed by the input), ``n_hidden_layers``,
        ``n_flops`` (multiply-accumulates of one forward pass per example:
        the network's ``n_flops`` where it has one, e.g. a convolutional
        network; else its present weights, one multiply-accumulate each, per
        time step for recurrent networks).
    """
    return {
        "n_params": float(network.n_params),
        "n_weights": float(network.n_weights),
        "network_density": float(network.density),
        "first_layer_width": float(network.first_layer_width),
        "n_hidden_layers": float(network.n_hidden_layers),
        "n_flops": float(getattr(network, "n_flops", network.n_weights)),
    }


def graph_size_features(graph: nx.Graph | nx.DiGraph, arrays: GraphArrays | None = None) -> dict[str, float]:
    """Size features of the network a graph alone defines (no task: no input or output layer).

    The graph is the network (graph-as-network, Stier et al. 2021): every node
    one unit with a bias, every edge one weight, layered as a DAG
    (:func:`nasprior.features.structural.graph_arrays`). Use it for graphs
    from other tools, whose input and output layers are unknown; the
    features of a genome (:func:`size_features`) count those layers too.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        As for :func:`nasprior.features.structural_features`.
    arrays : GraphArrays, optional
        ``graph_arrays(graph)`` if already computed.

    Returns
    -------
    dict of str to float
        Keys :data:`SIZE_FEATURE_NAMES`: ``n_params`` (edges + nodes),
        ``n_weights`` (edges), ``network_density`` (edges over the arcs a
        dense layered network of the same layer widths would have, each layer
        reading every earlier layer; 0 with one layer), ``first_layer_width``
        (nodes of layer 0), ``n_hidden_layers`` (layers) and ``n_flops``
        (multiply-accumulates per example: one per edge).

    Raises
    ------
    ConfigError
        As :func:`nasprior.features.structural.graph_arrays`.
    """
    g = graph_arrays(graph) if arrays is None else arrays
    widths = np.bincount(g.layer).astype(float)  # (n_layers,)
    possible = float(np.sum(widths[1:] * np.cumsum(widths)[:-1]))
    n_edges = float(len(g.arcs))
    return {
        "n_params": n_edges + g.n,
        "n_weights": n_edges,
        "network_density": n_edges / possible if possible > 0 else 0.0,
        "first_layer_width": float(widths[0]),
        "n_hidden_layers": float(len(widths)),
        "n_flops": n_edges,
    }
