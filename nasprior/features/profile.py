"""Shape features of a graph's network: layer-width profile, skip edges, input-output paths, clustering, assortativity.

These complement the structural features of :mod:`nasprior.features.structural`
with what later work found predictive of a sparse network's performance:

* the layer-width profile of the DAG. Stier, Darji & Granitzer (2021) call the
  width of the last layer (the units feeding the output) ``sink_nodes``; on
  their RNN-ReLU networks it carries most of the signal. The width of the
  first layer is ``n_sources`` (every source is in layer 0 and layer 0
  holds only sources) and the depth is ``n_layers``;
* skip edges, i.e. arcs that jump over layers (their share and span), which
  Xie et al. (2019) and Stier et al. (2021) map to skip connections;
* input-output paths: every source reads the input and every sink feeds the
  output in the graph-as-network mapping, so the source-to-sink paths of the
  DAG are the network's input-output paths. Their number (log10) and length
  distribution follow the path-based measures of Robinett & Kepner (2019,
  RadiX-Net path counts) and You et al. (2020, average path length of the
  relational graph);
* clustering (Watts & Strogatz 1998; You et al. 2020 found the clustering
  coefficient and the average path length jointly predictive of accuracy)
  and degree assortativity (Newman 2002) of the undirected graph.

All are exact, computed from :class:`~nasprior.features.structural.GraphArrays`
in vectorised passes: about 0.05-0.2 s at 2,000 nodes / 50,000 edges.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Xie2019] S. Xie, A. Kirillov, R. Girshick, K. He, "Exploring randomly
   wired neural networks for image recognition", ICCV 2019.
.. [You2020] J. You, J. Leskovec, K. He, S. Xie, "Graph structure of neural
   networks", ICML 2020.
.. [Robinett2019] R. A. Robinett, J. Kepner, "RadiX-Net: structured sparse
   matrices for deep neural networks", IPDPSW 2019.
.. [Watts1998] D. J. Watts, S. H. Strogatz, "Collective dynamics of
   'small-world' networks", Nature 393, 1998.
.. [Newman2002] M. E. J. Newman, "Assortative mixing in networks",
   Phys. Rev. Lett. 89, 2002.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import scipy.sparse as sps

from ..errors import CandidateError
from .structural import GraphArrays, graph_arrays

#: Names of the features of :func:`profile_features`, in order.
PROFILE_FEATURE_NAMES: tuple[str, ...] = (
    # layer-width profile (Stier et al. 2021: sink_nodes = last_layer_width)
    "last_layer_width",
    "max_layer_width",
    "mean_layer_width",
    "layer_width_cv",
    # skip edges (Xie et al. 2019; Stier et al. 2021)
    "skip_edge_fraction",
    "edge_span_mean",
    "edge_span_max",
    # input-output paths (Robinett & Kepner 2019; You et al. 2020)
    "log10_io_paths",
    "io_path_length_mean",
    "io_path_length_std",
    "io_path_length_min",
    # clustering and assortativity (Watts & Strogatz 1998; You et al. 2020; Newman 2002)
    "clustering_mean",
    "transitivity",
    "degree_assortativity",
)


def profile_features(graph: nx.Graph | nx.DiGraph, arrays: GraphArrays | None = None) -> dict[str, float]:
    """Layer-width profile, skip-edge, path, clustering and assortativity features of a graph.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        As for :func:`nasprior.features.structural_features`: an undirected
        graph is oriented lower -> higher node label, a DAG is used as given.
    arrays : GraphArrays, optional
        ``graph_arrays(graph)`` if already computed.

    Returns
    -------
    dict of str to float
        Keys exactly :data:`PROFILE_FEATURE_NAMES`, every value finite:

        * ``last_layer_width``: nodes in the DAG's last layer (Stier et al.'s
          ``sink_nodes``); ``max_layer_width``, ``mean_layer_width``
          (``n / n_layers``) and ``layer_width_cv`` (std / mean of the widths).
        * ``skip_edge_fraction``: share of arcs whose span (head layer minus
          tail layer) exceeds 1; ``edge_span_mean``, ``edge_span_max`` over
          all arcs (0 without arcs).
        * ``log10_io_paths``: log10 of the number of source-to-sink paths
          (an isolated node is one path of length 0);
          ``io_path_length_{mean,std}``: length in arcs over all those paths,
          each path counted once; ``io_path_length_min``: the shortest one.
        * ``clustering_mean``: mean local clustering coefficient of the
          undirected graph (0 for degree < 2, as networkx); ``transitivity``:
          3 x triangles / connected triples; ``degree_assortativity``: Pearson
          correlation of the degrees at the two ends of an edge (0 when
          undefined: no edges or all degrees equal).

    Raises
    ------
    ConfigError
        As :func:`nasprior.features.structural.graph_arrays`.

    Examples
    --------
    >>> import networkx as nx
    >>> f = profile_features(nx.Graph([(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)]))
    >>> f["last_layer_width"], f["skip_edge_fraction"], f["log10_io_paths"]
    (1.0, 0.2, 0.47712125471966244)
    """
    g = graph_arrays(graph) if arrays is None else arrays
    out: dict[str, float] = {}
    out.update(_width_profile(g))
    out.update(_skip_edges(g))
    out.update(_io_paths(g))
    out.update(_clustering(g))
    result = {name: float(out[name]) for name in PROFILE_FEATURE_NAMES}
    bad = [name for name, value in result.items() if not math.isfinite(value)]
    if bad:  # pragma: no cover - guards against a numerical bug
        raise CandidateError(f"non-finite profile feature(s) {bad} for a graph with {g.n} nodes (a numerical failure)")
    return result


def _width_profile(g: GraphArrays) -> dict[str, float]:
    widths = np.bincount(g.layer)  # (n_layers,)
    mean = widths.mean()
    return {
        "last_layer_width": widths[-1],
        "max_layer_width": widths.max(),
        "mean_layer_width": mean,
        "layer_width_cv": widths.std() / mean,
    }


def _skip_edges(g: GraphArrays) -> dict[str, float]:
    if len(g.arcs) == 0:
        return {"skip_edge_fraction": 0.0, "edge_span_mean": 0.0, "edge_span_max": 0.0}
    span = g.layer[g.arcs[:, 1]] - g.layer[g.arcs[:, 0]]  # (E',) >= 1
    return {"skip_edge_fraction": np.mean(span > 1), "edge_span_mean": span.mean(), "edge_span_max": span.max()}


def _io_paths(g: GraphArrays) -> dict[str, float]:
    """Count and length moments of all source-to-sink paths, by one pass over the layers.

    Per node ``v``: ``log c[v]`` (natural log of the number of paths from any
    source to ``v``), ``m[v]`` and ``q[v]``, the mean and mean square of their
    lengths, and ``s[v]`` the shortest. Layer by layer, ``c[v] = sum c[u]``
    over predecessors ``u`` (log-sum-exp with a per-node shift, so counts far
    beyond float range stay exact in log form), and the moments are averages
    weighted by ``c[u]``.
    """
    n, arcs = g.n, g.arcs
    log_c = np.zeros(n)
    m = np.zeros(n)
    q = np.zeros(n)
    shortest = np.zeros(n)
    if len(arcs):
        head_layer = g.layer[arcs[:, 1]]
        order = np.lexsort((arcs[:, 1], head_layer))  # by layer of the head, then head: groups contiguous
        tails, heads, head_layer = arcs[order, 0], arcs[order, 1], head_layer[order]
        layer_bounds = np.searchsorted(head_layer, np.arange(1, int(head_layer[-1]) + 2))
        for lo, hi in zip(layer_bounds[:-1], layer_bounds[1:]):
            if lo == hi:
                continue
            t, h = tails[lo:hi], heads[lo:hi]
            starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])  # (groups,) first arc of each head
            v = h[starts]
            shift = np.maximum.reduceat(log_c[t], starts)  # (groups,)
            w = np.exp(log_c[t] - np.repeat(shift, np.diff(np.r_[starts, len(h)])))
            total = np.add.reduceat(w, starts)
            log_c[v] = shift + np.log(total)
            m[v] = np.add.reduceat(w * (m[t] + 1.0), starts) / total
            q[v] = np.add.reduceat(w * (q[t] + 2.0 * m[t] + 1.0), starts) / total
            shortest[v] = np.minimum.reduceat(shortest[t], starts) + 1.0
    sinks = np.bincount(arcs[:, 0], minlength=n) == 0 if len(arcs) else np.ones(n, dtype=bool)
    ls = log_c[sinks]
    top = ls.max()
    w = np.exp(ls - top)
    log_total = top + math.log(w.sum())
    mean = float(np.sum(w * m[sinks]) / w.sum())
    second = float(np.sum(w * q[sinks]) / w.sum())
    return {
        "log10_io_paths": log_total / math.log(10.0),
        "io_path_length_mean": mean,
        "io_path_length_std": math.sqrt(max(0.0, second - mean * mean)),
        "io_path_length_min": shortest[sinks].min(),
    }


def _clustering(g: GraphArrays) -> dict[str, float]:
    n, pairs = g.n, g.pairs
    if len(pairs) == 0:
        return {"clustering_mean": 0.0, "transitivity": 0.0, "degree_assortativity": 0.0}
    rows = np.r_[pairs[:, 0], pairs[:, 1]]
    cols = np.r_[pairs[:, 1], pairs[:, 0]]
    adjacency = sps.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    closed = np.asarray((adjacency @ adjacency).multiply(adjacency).sum(axis=1)).ravel()  # 2 x triangles at v
    triples = degree * (degree - 1.0)  # 2 x connected triples centred at v
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(triples > 0, closed / triples, 0.0)
    x, y = degree[rows], degree[cols]
    sx, sy = x.std(), y.std()
    assortativity = float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy)) if sx > 0 and sy > 0 else 0.0
    return {
        "clustering_mean": local.mean(),
        "transitivity": closed.sum() / triples.sum() if triples.sum() > 0 else 0.0,
        "degree_assortativity": assortativity,
    }
