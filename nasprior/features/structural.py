"""Structural features of a prior graph, for predicting a network's performance.

The first 23 features are the graph properties studied by Stier, Darji and
Granitzer, "Experiments on properties of hidden structures of sparse neural
networks" (2021, arXiv:2107.12917). Two spectral features follow: the spectral
gap of the adjacency matrix, which Bourely, Boueri and Choromanski, "Sparse
neural networks topologies" (2017, arXiv:1706.05683) relate to how well a
sparse topology mixes information, and the algebraic connectivity (Fiedler
value). Three size/shape features close the list.

Conventions
-----------
* The input is an undirected prior graph, oriented into a DAG with
  :func:`nasprior.dag.to_dag` (lower to higher node index), or a
  :class:`networkx.DiGraph` that is already a DAG and is used as given.
* Directed features (``n_layers``, ``n_sources``, ``n_sinks``) use the DAG.
  Every other feature uses the undirected simple graph: edge directions,
  parallel edges, edge weights and self loops are dropped.
* ``diameter``, ``avg_shortest_path`` and ``eccentricity_*`` are computed on
  the largest connected component when the graph is disconnected (ties broken
  by the component holding the smallest node); they are 0 for a component of
  one node.
* ``degree_*``, ``closeness_*`` and ``betweenness_*`` are over all nodes;
  ``edge_betweenness_*`` over all edges (0 when there are none).
* Variances are population variances (``ddof=0``); ``*_std`` is their square
  root.

Exact all-pairs distances and Brandes edge betweenness come from rustworkx
when it is installed, otherwise from scipy and networkx: the values are the
same, the fallback is about 15-20 times slower at 500-1,000 nodes (see
``benchmarks/bench_features.py``). Node betweenness is derived exactly from
edge betweenness (one Brandes pass, see :func:`_betweenness`). Up to
:data:`BETWEENNESS_EXACT_MAX_WORK` (``n_nodes * n_edges``) nothing is sampled
or approximated; above it (a few hundred nodes with tens of thousands of
edges) the betweenness statistics are estimated from a fixed, seeded sample of
pivot sources (:func:`sampled_betweenness`; Brandes & Pich 2007), so that all
features of a graph of 2,000 nodes and 50,000 edges take well under a second.
Every other feature stays exact.

Why this module is long: the 28 features come from one pass over shared
intermediates (the edge index, all-pairs distances, one Brandes pass giving
node and edge betweenness, the two spectra); split, the parts would pass
those around or compute them twice.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Bourely2017] A. Bourely, J. P. Boueri, K. Choromanski, "Sparse neural
   networks topologies", arXiv:1706.05683, 2017.
.. [Brandes2001] U. Brandes, "A faster algorithm for betweenness
   centrality", J. Math. Sociology 25(2), 2001.
.. [Brandes2007] U. Brandes, C. Pich, "Centrality estimation in large
   networks", Int. J. Bifurcation and Chaos 17(7), 2007.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sps
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from ..dag import layer_index
from ..errors import CandidateError, ConfigError

try:  # optional accelerator; results are identical without it
    import rustworkx as rx
except ImportError:  # pragma: no cover - depends on the environment
    rx = None

try:  # optional (installed with scikit-learn); see _one_blas_thread
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - depends on the environment
    ThreadpoolController = None

FEATURE_NAMES: tuple[str, ...] = (
    # Stier, Darji & Granitzer 2021: 23 properties
    "n_layers",
    "n_nodes",
    "n_edges",
    "n_sources",
    "n_sinks",
    "diameter",
    "density",
    "avg_shortest_path",
    "eccentricity_mean",
    "eccentricity_var",
    "eccentricity_std",
    "degree_mean",
    "degree_var",
    "degree_std",
    "closeness_mean",
    "closeness_var",
    "closeness_std",
    "betweenness_mean",
    "betweenness_var",
    "betweenness_std",
    "edge_betweenness_mean",
    "edge_betweenness_var",
    "edge_betweenness_std",
    # spectral (Bourely, Boueri & Choromanski 2017; Fiedler 1973)
    "spectral_gap",
    "algebraic_connectivity",
    # size and shape
    "n_components",
    "fraction_in_largest_component",
    "max_degree",
)
"""Names of the features, in the fixed order used by :func:`feature_vector`."""

#: Largest graph (in nodes) whose spectrum is computed densely with
#: :func:`numpy.linalg.eigvalsh`; larger graphs use ARPACK (``eigsh``). Dense
#: ``eigvalsh`` costs about 0.5 s per matrix at 2,000 nodes, ARPACK 0.01-0.02 s.
DENSE_SPECTRUM_MAX_NODES = 500

#: Largest ``n_nodes * n_edges`` whose betweenness is computed exactly (all
#: sources, rustworkx or networkx). Above it the betweenness statistics are
#: estimated from :func:`betweenness_pivots` sources (Brandes & Pich 2007),
#: their variances debiased; exact betweenness at 2,000 nodes / 50,000 edges
#: took 2-7 s on a shared two-core machine.
BETWEENNESS_EXACT_MAX_WORK = 1.0e7
#: Work budget of the estimate, in source x edge steps: ``pivots ~ BUDGET / n_edges``.
BETWEENNESS_PIVOT_BUDGET = 4.0e6
#: Fewest pivots of the estimate.
BETWEENNESS_MIN_PIVOTS = 48

# ARPACK restarts allowed before falling back to the dense solver. Graphs with
# clustered extreme eigenvalues (long paths, rings) converge very slowly; the
# dense solver is exact and, for the few thousand nodes at stake, bounded.
_ARPACK_MAXITER = 1000


def structural_features(graph: nx.Graph | nx.DiGraph) -> dict[str, float]:
    """Structural features of a prior graph or of a layered DAG.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        An undirected prior graph with mutually comparable node labels
        (integers ``0 .. n - 1`` for every prior), oriented with
        :func:`nasprior.dag.to_dag`; or a directed acyclic graph, used as
        given for the directed features. At least one node. Memory grows as
        ``8 n**2`` bytes (the all-pairs distance matrix).

    Returns
    -------
    dict of str to float
        Keys exactly :data:`FEATURE_NAMES`, in that order; every value a finite
        Python float. Counts are whole numbers stored as floats. Distances are
        in hops; centralities are normalised as in networkx. In detail:

        * ``n_layers``: number of layers of the DAG,
          ``len(layer_nodes(dag))`` (longest path in nodes).
        * ``n_nodes``, ``n_edges``: of the undirected simple graph.
        * ``n_sources`` / ``n_sinks``: DAG nodes of in-degree / out-degree 0
          (isolated nodes count as both).
        * ``diameter``, ``avg_shortest_path``, ``eccentricity_{mean,var,std}``:
          on the largest connected component.
        * ``density``: ``2 E / (n (n - 1))``; 0 for one node.
        * ``degree_{mean,var,std}``, ``max_degree``: undirected degree.
        * ``closeness_{mean,var,std}``: :func:`networkx.closeness_centrality`
          (Wasserman-Faust scaling for disconnected graphs).
        * ``betweenness_{mean,var,std}``: normalised node betweenness,
          ``pairs through v / C(n - 1, 2)``.
        * ``edge_betweenness_{mean,var,std}``: normalised edge betweenness,
          ``pairs through e / C(n, 2)``; 0 when there are no edges.
        * ``spectral_gap``: ``lambda_1 - |lambda_2|`` of the adjacency matrix,
          where ``lambda_1`` is its largest eigenvalue and ``lambda_2`` the
          eigenvalue of second-largest absolute value once one copy of
          ``lambda_1`` is set aside (Bourely et al. 2017). It is 0 for
          bipartite graphs (``-lambda_1`` is an eigenvalue), for graphs with
          two components of the same top eigenvalue, and for one node;
          rounding below 0 is clipped.
        * ``algebraic_connectivity``: second-smallest eigenvalue of the
          unnormalised Laplacian ``D - A``; 0 when disconnected or for one
          node.
        * ``n_components``: connected components of the undirected graph.
        * ``fraction_in_largest_component``: its size divided by ``n``.

    Raises
    ------
    ConfigError
        If ``graph`` is not a networkx graph, has no node, or is directed
        with a cycle.

    Notes
    -----
    The first 23 features follow Stier, Darji & Granitzer, "Experiments on
    properties of hidden structures of sparse neural networks" (2021,
    arXiv:2107.12917); the spectral gap follows Bourely, Boueri &
    Choromanski, "Sparse neural networks topologies" (2017,
    arXiv:1706.05683). Spectra use :func:`numpy.linalg.eigvalsh` up to
    :data:`DENSE_SPECTRUM_MAX_NODES` nodes and ARPACK at machine precision
    (``tol=0``) above, falling back to the dense solver if ARPACK does not
    converge. Betweenness is exact (rustworkx, else networkx) up to
    ``n_nodes * n_edges`` = :data:`BETWEENNESS_EXACT_MAX_WORK` and estimated
    from :func:`betweenness_pivots` sources above (Brandes & Pich 2007;
    :func:`sampled_betweenness`), because exact edge betweenness dominated
    the cost (2.6 s of features at 2,000 nodes / 50,000 edges); see
    ``benchmarks/bench_features.py`` for current timings.

    Examples
    --------
    >>> import networkx as nx
    >>> f = structural_features(nx.path_graph(4))
    >>> f["n_layers"], f["diameter"], f["avg_shortest_path"]
    (4.0, 3.0, 1.6666666666666667)
    """
    return _structural_features(graph, use_rustworkx=rx is not None)


def feature_vector(features: Mapping[str, float]) -> np.ndarray:
    """Features as a vector in the fixed order of :data:`FEATURE_NAMES`.

    Parameters
    ----------
    features : Mapping of str to float
        Typically the output of :func:`structural_features` (or a record
        read back from disk). Keys not in :data:`FEATURE_NAMES` are ignored.

    Returns
    -------
    numpy.ndarray of float64, shape (len(FEATURE_NAMES),)
        ``vector[i] == features[FEATURE_NAMES[i]]``.

    Raises
    ------
    ConfigError
        If any feature of :data:`FEATURE_NAMES` is missing (all missing names
        are listed), or a value is not a finite number.
    """
    missing = [name for name in FEATURE_NAMES if name not in features]
    if missing:
        raise ConfigError(
            f"missing feature(s) {', '.join(missing)}; a feature mapping needs every "
            "name in nasprior.features.FEATURE_NAMES (compute it with structural_features)"
        )
    vector = np.empty(len(FEATURE_NAMES), dtype=np.float64)
    for i, name in enumerate(FEATURE_NAMES):
        value = features[name]
        try:
            vector[i] = float(value)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"feature {name!r} is {value!r}, not a number") from err
        if not math.isfinite(vector[i]):
            raise ConfigError(f"feature {name!r} is {value!r}; every feature must be finite")
    return vector


# --------------------------------------------------------------------------
# implementation


@dataclass(frozen=True)
class GraphArrays:
    """A graph as index arrays, shared by the feature families of :mod:`nasprior.features`.

    Attributes
    ----------
    nodes : list
        Sorted node labels; node ``i`` of every array is ``nodes[i]``.
    arcs : numpy.ndarray of int64, shape (E', 2)
        DAG arcs ``(tail, head)`` as node indices (for an undirected input,
        ``i -> j`` for ``i < j``: the orientation of :func:`nasprior.dag.to_dag`).
    pairs : numpy.ndarray of int64, shape (E, 2)
        Unique undirected edges ``(i, j)``, ``i < j``, sorted; no self loops.
    layer : numpy.ndarray of int64, shape (n,)
        Layer of each node in the DAG (:func:`nasprior.dag.layer_index`).
    directed : bool
        Whether the input was a directed graph (used as given).
    """

    nodes: list
    arcs: np.ndarray
    pairs: np.ndarray
    layer: np.ndarray
    directed: bool

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)


def graph_arrays(graph: nx.Graph | nx.DiGraph) -> GraphArrays:
    """Validate a graph and index it once for every feature family.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        As for :func:`structural_features`.

    Returns
    -------
    GraphArrays

    Raises
    ------
    ConfigError
        If ``graph`` is not a networkx graph, has no node, has node labels
        that cannot be sorted, or is directed with a cycle.
    """
    nodes, directed = _check_graph(graph)
    n = len(nodes)
    arcs = _edge_index(graph, nodes)  # (E', 2)
    pairs = _undirected_pairs(arcs, n)  # (E, 2), i < j, unique
    if directed:
        index = layer_index(graph)
        layer = np.array([index[v] for v in nodes], dtype=np.int64)
        arcs = arcs[arcs[:, 0] != arcs[:, 1]]
    else:  # to_dag orients i -> j for i < j: pairs are the DAG's arcs, index order is topological
        arcs = pairs
        layer = _layers_index_order(n, pairs)
    return GraphArrays(nodes, arcs, pairs, layer, directed)


def _structural_features(graph: nx.Graph, use_rustworkx: bool, arrays: GraphArrays | None = None) -> dict[str, float]:
    """:func:`structural_features` with the distance/betweenness backend chosen."""
    g = graph_arrays(graph) if arrays is None else arrays
    n, arcs, pairs = g.n, g.arcs, g.pairs
    n_edges = len(pairs)
    adjacency = sps.coo_array(
        (np.ones(2 * n_edges), (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
        shape=(n, n),
    ).tocsr()  # symmetric 0/1, no duplicates (pairs are unique)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()  # (n,)

    out: dict[str, float] = {}
    # directed features (DAG)
    out["n_layers"] = int(g.layer.max()) + 1
    out["n_nodes"] = n
    out["n_edges"] = n_edges
    out["n_sources"] = np.count_nonzero(np.bincount(arcs[:, 1], minlength=n) == 0)
    out["n_sinks"] = np.count_nonzero(np.bincount(arcs[:, 0], minlength=n) == 0)

    # components and distances
    n_components, labels = csgraph.connected_components(adjacency, directed=False)
    sizes = np.bincount(labels)  # (n_components,)
    largest = int(np.argmax(sizes))  # first maximal label: holds the smallest node
    in_largest = np.flatnonzero(labels == largest)
    m = len(in_largest)
    if use_rustworkx:
        rx_graph = _rustworkx_graph(n, pairs)
        dist = rx.distance_matrix(rx_graph, null_value=0.0)  # (n, n), 0 if unreachable
    else:
        rx_graph = None
        dist = csgraph.shortest_path(adjacency, unweighted=True, directed=False)
        dist[np.isinf(dist)] = 0.0
    dist_lcc = dist[np.ix_(in_largest, in_largest)]  # (m, m), all finite
    eccentricity = dist_lcc.max(axis=1) if m > 1 else np.zeros(1)

    out["diameter"] = eccentricity.max()
    out["density"] = 2.0 * n_edges / (n * (n - 1)) if n > 1 else 0.0
    out["avg_shortest_path"] = dist_lcc.sum() / (m * (m - 1)) if m > 1 else 0.0
    _put_stats(out, "eccentricity", eccentricity)
    _put_stats(out, "degree", degree)

    # closeness as networkx.closeness_centrality(wf_improved=True)
    reach = sizes[labels] - 1.0  # (n,) other nodes reachable
    total = dist.sum(axis=1)  # (n,) sum of distances to them
    with np.errstate(divide="ignore", invalid="ignore"):
        closeness = np.where(total > 0, reach / total * reach / max(n - 1, 1), 0.0)
    _put_stats(out, "closeness", closeness)

    if n * n_edges <= BETWEENNESS_EXACT_MAX_WORK:
        node_betweenness, edge_betweenness = _betweenness(n, pairs, reach, rx_graph)
        _put_stats(out, "betweenness", node_betweenness)
        _put_stats(out, "edge_betweenness", edge_betweenness)
    else:
        out.update(sampled_betweenness(n, pairs, dist, betweenness_pivots(n, n_edges)))

    with _one_blas_thread():
        gap, fiedler = _spectrum(adjacency, degree, n_components)
    out["spectral_gap"] = gap
    out["algebraic_connectivity"] = fiedler
    out["n_components"] = n_components
    out["fraction_in_largest_component"] = m / n
    out["max_degree"] = degree.max()

    result = {name: float(out[name]) for name in FEATURE_NAMES}
    bad = [name for name, value in result.items() if not math.isfinite(value)]
    if bad:  # pragma: no cover - guards against a numerical bug
        raise CandidateError(f"non-finite feature(s) {bad} for a graph with {n} nodes (a numerical failure)")
    return result


def _check_graph(graph: nx.Graph) -> tuple[list, bool]:
    """Validate the input; return its sorted node list and whether it is directed."""
    if not isinstance(graph, nx.Graph):
        raise ConfigError(f"structural_features needs a networkx Graph or DiGraph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ConfigError("structural_features needs a graph with at least one node")
    try:
        nodes = sorted(graph.nodes)
    except TypeError as err:
        raise ConfigError("graph node labels must be mutually comparable (use integers)") from err
    directed = graph.is_directed()
    if directed and not nx.is_directed_acyclic_graph(graph):
        raise ConfigError(
            "a directed input must be acyclic (a DAG); pass the undirected prior graph "
            "to have it oriented lower -> higher index"
        )
    return nodes, directed


def _edge_index(graph: nx.Graph, nodes: list) -> np.ndarray:
    """Edges as pairs of positions in ``nodes``, shape (E, 2), int64, as listed by networkx.

    Self loops and parallel edges are kept; :func:`_undirected_pairs` drops them.
    """
    edges = list(graph.edges())
    if not edges:
        return np.zeros((0, 2), dtype=np.int64)
    n = len(nodes)
    integers = all(isinstance(v, (int, np.integer)) for v in nodes)
    if integers and nodes[0] == 0 and nodes[-1] == n - 1:  # sorted, distinct: 0 .. n - 1
        return np.array(edges, dtype=np.int64).reshape(-1, 2)
    index = {node: i for i, node in enumerate(nodes)}
    return np.array([(index[u], index[v]) for u, v in edges], dtype=np.int64)


def _undirected_pairs(arcs: np.ndarray, n: int) -> np.ndarray:
    """Unique undirected edges ``(i, j)``, ``i < j``, sorted, shape (E, 2); no self loops."""
    low = np.minimum(arcs[:, 0], arcs[:, 1])
    high = np.maximum(arcs[:, 0], arcs[:, 1])
    keep = low != high
    codes = np.unique(low[keep] * n + high[keep])
    return np.stack([codes // n, codes % n], axis=1)


def _layers_index_order(n: int, pairs: np.ndarray) -> np.ndarray:
    """Layer of each node of the DAG with arcs ``i -> j`` (``i < j``), shape (n,), as in ``layer_index(to_dag(g))``.

    Index order is a topological order, so one pass computes each node's
    longest-path layer from its predecessors' layers.
    """
    layer = np.zeros(n, dtype=np.int64)
    if len(pairs) == 0:
        return layer
    order = np.lexsort((pairs[:, 0], pairs[:, 1]))  # group arcs by head
    heads = pairs[order, 1]
    tails = pairs[order, 0]
    starts = np.searchsorted(heads, np.arange(n + 1))  # (n + 1,) CSR offsets of predecessors
    for v in np.unique(heads).tolist():
        layer[v] = layer[tails[starts[v] : starts[v + 1]]].max() + 1
    return layer


def _rustworkx_graph(n: int, pairs: np.ndarray):
    """A rustworkx PyGraph on nodes ``0 .. n - 1`` with the given edges."""
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(range(n))
    graph.add_edges_from_no_data(list(map(tuple, pairs.tolist())))
    return graph


def _betweenness(n: int, pairs: np.ndarray, reach: np.ndarray, rx_graph) -> tuple[np.ndarray, np.ndarray]:
    """Normalised node betweenness, shape (n,), and edge betweenness, shape (E,).

    Parameters
    ----------
    n : int
        Number of nodes.
    pairs : numpy.ndarray of int64, shape (E, 2)
        Undirected edges ``(i, j)``, ``i < j``.
    reach : numpy.ndarray, shape (n,)
        Number of other nodes in each node's connected component.
    rx_graph : rustworkx.PyGraph or None
        The same graph (edge ``k`` is ``pairs[k]``); None selects networkx.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Node betweenness normalised as networkx does for undirected graphs,
        ``pairs {s, t}`` weighted by the fraction of their shortest paths
        through ``v``, divided by ``C(n - 1, 2)``; edge betweenness likewise
        divided by ``C(n, 2)``.

    Notes
    -----
    Only edge betweenness is computed (one Brandes pass instead of two).
    Node betweenness follows exactly from it: every shortest path crosses two
    edges at each interior node and one at each end, so, in pair units,
    ``sum of EB(e) over edges e at v = 2 B(v) + reach(v)``.
    """
    n_edges = len(pairs)
    if n_edges == 0:
        return np.zeros(n), np.zeros(0)
    if rx_graph is not None:
        # sequential: rustworkx's parallel pass (from 50 nodes by default) sums the sources' shares in
        # thread order, so the last bits changed from call to call (21 distinct results in 300 calls on a
        # 52-node graph); sequential costs about 1.4x on a 400-node graph
        edge_map = rx.edge_betweenness_centrality(rx_graph, normalized=True, parallel_threshold=sys.maxsize)
        edge = np.array([edge_map[k] for k in range(n_edges)])
    else:
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(pairs.tolist())
        edge_map = nx.edge_betweenness_centrality(graph, normalized=True)
        edge = np.array([edge_map[(i, j)] for i, j in pairs.tolist()])
    edge_pairs = edge * (n * (n - 1) / 2)  # pair units
    incident = np.bincount(pairs[:, 0], weights=edge_pairs, minlength=n)
    incident += np.bincount(pairs[:, 1], weights=edge_pairs, minlength=n)
    if n < 3:  # no pair of other nodes
        return np.zeros(n), edge
    node = np.maximum(incident - reach, 0.0) / ((n - 1) * (n - 2))  # (S - r) / 2 / C(n-1, 2)
    return node, edge


def betweenness_pivots(n: int, n_edges: int) -> np.ndarray:
    """The pivot sources of the betweenness estimate: a fixed, seeded sample of node indices.

    Parameters
    ----------
    n : int
        Number of nodes.
    n_edges : int
        Number of undirected edges.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        Sorted, distinct node indices, ``k = clip(BETWEENNESS_PIVOT_BUDGET /
        n_edges, BETWEENNESS_MIN_PIVOTS, n)`` (all nodes when ``k = n``), drawn
        with ``numpy.random.default_rng(0)``: the same graph always gets the
        same pivots, hence the same features.
    """
    k = int(min(n, max(BETWEENNESS_MIN_PIVOTS, math.ceil(BETWEENNESS_PIVOT_BUDGET / max(n_edges, 1)))))
    if k >= n:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(0).choice(n, size=k, replace=False)).astype(np.int64)


def sampled_betweenness(
    n: int, pairs: np.ndarray, dist: np.ndarray, pivots: np.ndarray, batch: int = 16
) -> dict[str, float]:
    """Betweenness statistics estimated from the shortest paths of pivot sources (Brandes & Pich 2007).

    Parameters
    ----------
    n : int
        Number of nodes.
    pairs : numpy.ndarray of int64, shape (E, 2)
        Undirected edges ``(i, j)``, ``i < j``.
    dist : numpy.ndarray, shape (n, n)
        Hop distances, 0 between nodes of different components.
    pivots : numpy.ndarray of int64, shape (k,)
        Distinct source nodes (:func:`betweenness_pivots`); all ``n`` nodes
        give the exact values.
    batch : int
        Pivots processed together (memory ``~ 40 * batch * E`` bytes).

    Returns
    -------
    dict of str to float
        ``betweenness_{mean,var,std}`` and ``edge_betweenness_{mean,var,std}``,
        normalised as :func:`structural_features` does.

    Notes
    -----
    Brandes' (2001) dependency accumulation runs from each pivot on the
    shortest-path DAG read off ``dist``; scaling the sum by ``n / k`` gives an
    unbiased estimate of each node's and edge's betweenness. Their mean is
    unbiased too; the spread of the estimates across nodes (edges) also holds
    the sampling noise, so each variance is debiased by the mean sampling
    variance of the estimates (from the spread of the pivots'
    contributions, with the finite-population correction ``1 - k / n``) and
    clipped at 0. With all nodes as pivots the values equal the exact ones.
    """
    n_edges = len(pairs)
    k = len(pivots)
    if n_edges == 0 or n < 2:
        return {f"{p}_{s}": 0.0 for p in ("betweenness", "edge_betweenness") for s in ("mean", "var", "std")}
    small = np.int16 if n < 2**15 - 1 else np.int32
    tails = np.r_[pairs[:, 0], pairs[:, 1]]  # (2E,) both orientations
    heads = np.r_[pairs[:, 1], pairs[:, 0]]
    edge_id = np.r_[np.arange(n_edges), np.arange(n_edges)]
    edge_sum, edge_sq = np.zeros(n_edges), np.zeros(n_edges)
    node_sum, node_sq = np.zeros(n), np.zeros(n)
    for start in range(0, k, batch):
        src = pivots[start : start + batch]
        b = len(src)
        d = dist[src].astype(small)  # (b, n); 0 where unreachable and at the source
        d_tail = d[:, tails]  # (b, 2E)
        si, ai = np.nonzero(d[:, heads] == d_tail + 1)  # arcs on a shortest path from the source
        level = d_tail[si, ai]
        order = np.argsort(level, kind="stable")  # radix sort on small ints
        si, ai, level = si[order], ai[order], level[order]
        t = si * n + tails[ai]  # flat (source, node) indices
        h = si * n + heads[ai]
        bounds = np.searchsorted(level, np.arange(int(level[-1]) + 2 if len(level) else 1))
        sigma = np.zeros(b * n)  # shortest-path counts
        sigma[np.arange(b) * n + src] = 1.0
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            sigma += np.bincount(h[lo:hi], weights=sigma[t[lo:hi]], minlength=b * n)
        delta = np.zeros(b * n)  # dependencies
        edge_b = np.zeros(n_edges)
        for lo, hi in zip(bounds[-2::-1], bounds[:0:-1]):
            c = sigma[t[lo:hi]] / sigma[h[lo:hi]] * (1.0 + delta[h[lo:hi]])
            delta += np.bincount(t[lo:hi], weights=c, minlength=b * n)
            # each (pivot, edge) is crossed in one direction only: per-pivot credits, squared per pivot
            per = np.bincount(si[lo:hi] * n_edges + edge_id[ai[lo:hi]], weights=c, minlength=b * n_edges)
            edge_b += per.reshape(b, n_edges).sum(axis=0)
            edge_sq += (per**2).reshape(b, n_edges).sum(axis=0)
        edge_sum += edge_b
        delta = delta.reshape(b, n)
        delta[np.arange(b), src] = 0.0
        node_sum += delta.sum(axis=0)
        node_sq += (delta**2).sum(axis=0)
    out: dict[str, float] = {}
    pair_count = {"betweenness": (n - 1) * (n - 2) / 2, "edge_betweenness": n * (n - 1) / 2}
    for prefix, total, squares in (("betweenness", node_sum, node_sq), ("edge_betweenness", edge_sum, edge_sq)):
        if prefix == "betweenness" and n < 3:
            out.update({f"{prefix}_mean": 0.0, f"{prefix}_var": 0.0, f"{prefix}_std": 0.0})
            continue
        scale = n / k / 2.0 / pair_count[prefix]  # per-pivot credit -> normalised centrality
        estimate = total * scale
        var = float(estimate.var())
        if k < n:
            spread = np.maximum(squares - total**2 / k, 0.0) / (k - 1)  # per-element variance over pivots
            noise = (k * scale) ** 2 * (1.0 - k / n) * spread / k  # sampling variance of each estimate
            var = max(0.0, var - float(noise.mean()))
        out[f"{prefix}_mean"] = float(estimate.mean())
        out[f"{prefix}_var"] = var
        out[f"{prefix}_std"] = math.sqrt(var)
    return out


def _spectrum(
    adjacency: sps.csr_array,
    degree: np.ndarray,
    n_components: int,
    dense_max_nodes: int = DENSE_SPECTRUM_MAX_NODES,
) -> tuple[float, float]:
    """Spectral gap of the adjacency and algebraic connectivity of the Laplacian.

    Parameters
    ----------
    adjacency : scipy.sparse.csr_array, shape (n, n)
        Symmetric 0/1 adjacency matrix.
    degree : numpy.ndarray, shape (n,)
        Row sums of ``adjacency``.
    n_components : int
        Number of connected components.
    dense_max_nodes : int
        Largest ``n`` solved densely; above, ARPACK.

    Returns
    -------
    (float, float)
        ``lambda_1 - |lambda_2|`` (clipped at 0) and the second-smallest
        Laplacian eigenvalue (0 when ``n_components > 1`` or ``n < 2``).
    """
    n = adjacency.shape[0]
    if n < 2 or adjacency.nnz == 0:
        return 0.0, 0.0
    laplacian = (sps.diags_array(degree) - adjacency).tocsr()
    dense = n <= dense_max_nodes

    adj_eigs = None
    if not dense:
        adj_eigs = _arpack(adjacency.astype(np.float64), "LM")
    if adj_eigs is None:
        adj_eigs = np.linalg.eigvalsh(adjacency.toarray())
    magnitudes = np.sort(np.abs(adj_eigs))[::-1]
    gap = max(0.0, float(adj_eigs.max() - magnitudes[1]))

    if n_components > 1:
        return gap, 0.0
    lap_eigs = None
    if not dense:
        lap_eigs = _arpack(laplacian.astype(np.float64), "SM")
    if lap_eigs is None:
        lap_eigs = np.linalg.eigvalsh(laplacian.toarray())
    fiedler = max(0.0, float(np.sort(lap_eigs)[1]))
    return gap, fiedler


def _arpack(matrix: sps.csr_array, which: str) -> np.ndarray | None:
    """Two extreme eigenvalues with ARPACK at machine precision, or None if it fails."""
    try:
        return spla.eigsh(matrix, k=2, which=which, tol=0, maxiter=_ARPACK_MAXITER, return_eigenvectors=False)
    except (spla.ArpackNoConvergence, spla.ArpackError):
        return None


_controller = None


def _one_blas_thread():
    """Context limiting BLAS/LAPACK to one thread, if threadpoolctl is installed.

    On a busy machine (training processes alongside), multithreaded OpenBLAS
    ``eigvalsh`` on a few hundred nodes measured 1-4 s against 0.05 s on one
    thread; on an idle two-core machine one thread costs little at n <= 2000.
    """
    global _controller
    if ThreadpoolController is None:
        return contextlib.nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def _put_stats(out: dict[str, float], prefix: str, values: np.ndarray) -> None:
    """Store mean, population variance and standard deviation (0 for no values)."""
    if values.size == 0:
        mean = var = 0.0
    else:
        mean = float(values.mean())
        var = float(values.var())
    out[f"{prefix}_mean"] = mean
    out[f"{prefix}_var"] = var
    out[f"{prefix}_std"] = math.sqrt(var)
