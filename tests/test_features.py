"""Tests of nasprior.features: hand-computed values on small graphs, conventions,
agreement with networkx, and the rustworkx / dense / sparse code paths."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sps

from nasprior.dag import layer_nodes, to_dag
from nasprior.errors import ConfigError
from nasprior.features import FEATURE_NAMES, feature_vector, structural_features
from nasprior.features import structural as F

BACKENDS = [
    pytest.param(True, id="rustworkx", marks=pytest.mark.skipif(F.rx is None, reason="no rustworkx")),
    pytest.param(False, id="networkx"),
]


def stats(values):
    values = np.asarray(values, dtype=float)
    return values.mean(), values.var(), values.std()


def assert_stats(f, prefix, values):
    mean, var, std = stats(values)
    assert f[f"{prefix}_mean"] == pytest.approx(mean, abs=1e-12)
    assert f[f"{prefix}_var"] == pytest.approx(var, abs=1e-12)
    assert f[f"{prefix}_std"] == pytest.approx(std, abs=1e-12)


# ---------------------------------------------------------------- names, types


def test_feature_names_fixed():
    assert len(FEATURE_NAMES) == 28 == len(set(FEATURE_NAMES))
    assert FEATURE_NAMES[:8] == (
        "n_layers",
        "n_nodes",
        "n_edges",
        "n_sources",
        "n_sinks",
        "diameter",
        "density",
        "avg_shortest_path",
    )
    assert FEATURE_NAMES[-5:] == (
        "spectral_gap",
        "algebraic_connectivity",
        "n_components",
        "fraction_in_largest_component",
        "max_degree",
    )
    for prefix in ("eccentricity", "degree", "closeness", "betweenness", "edge_betweenness"):
        i = FEATURE_NAMES.index(f"{prefix}_mean")
        assert FEATURE_NAMES[i : i + 3] == (f"{prefix}_mean", f"{prefix}_var", f"{prefix}_std")


@pytest.mark.parametrize(
    "graph",
    [
        nx.path_graph(4),
        nx.empty_graph(1),
        nx.empty_graph(5),
        nx.Graph([(0, 1), (2, 3)]),
        nx.gnp_random_graph(30, 0.2, seed=1),
        to_dag(nx.barabasi_albert_graph(20, 2, seed=0)),
    ],
    ids=["P4", "K1", "E5", "2K2", "gnp", "dag"],
)
def test_keys_order_and_finite(graph):
    f = structural_features(graph)
    assert tuple(f) == FEATURE_NAMES
    assert all(type(v) is float and math.isfinite(v) for v in f.values())
    assert structural_features(graph) == f  # deterministic


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize("use_rx", BACKENDS)
def test_path_p4(use_rx):
    f = F._structural_features(nx.path_graph(4), use_rustworkx=use_rx)
    assert f["n_layers"] == 4 and f["n_nodes"] == 4 and f["n_edges"] == 3
    assert f["n_sources"] == 1 and f["n_sinks"] == 1
    assert f["diameter"] == 3
    assert f["density"] == pytest.approx(0.5)
    assert f["avg_shortest_path"] == pytest.approx(10 / 6)
    assert f["degree_mean"] == pytest.approx(1.5)
    assert f["degree_var"] == pytest.approx(0.25)
    assert f["degree_std"] == pytest.approx(0.5)
    assert_stats(f, "eccentricity", [3, 2, 2, 3])
    assert f["eccentricity_mean"] == pytest.approx(2.5)
    assert_stats(f, "betweenness", [0, 2 / 3, 2 / 3, 0])
    # closeness (n-1)/sum d: [3/6, 3/4, 3/4, 3/6]
    assert_stats(f, "closeness", [0.5, 0.75, 0.75, 0.5])
    # pairs through each edge / C(4,2): 3/6, 4/6, 3/6
    assert_stats(f, "edge_betweenness", [0.5, 2 / 3, 0.5])
    # P4 is bipartite: -lambda_1 is an eigenvalue
    assert f["spectral_gap"] == pytest.approx(0.0, abs=1e-12)
    assert f["algebraic_connectivity"] == pytest.approx(2 - math.sqrt(2))
    assert f["n_components"] == 1 and f["fraction_in_largest_component"] == 1
    assert f["max_degree"] == 2


@pytest.mark.parametrize("use_rx", BACKENDS)
def test_star_k13(use_rx):
    f = F._structural_features(nx.star_graph(3), use_rustworkx=use_rx)  # centre 0
    assert f["n_layers"] == 2 and f["n_sources"] == 1 and f["n_sinks"] == 3
    assert f["diameter"] == 2 and f["density"] == pytest.approx(0.5)
    assert f["avg_shortest_path"] == pytest.approx(9 / 6)
    assert_stats(f, "degree", [3, 1, 1, 1])
    assert_stats(f, "eccentricity", [1, 2, 2, 2])
    assert_stats(f, "betweenness", [1, 0, 0, 0])
    assert_stats(f, "edge_betweenness", [0.5, 0.5, 0.5])
    # adjacency eigenvalues +-sqrt(3), 0, 0: sqrt(3) - |-sqrt(3)| = 0
    assert f["spectral_gap"] == pytest.approx(0.0, abs=1e-12)
    assert f["algebraic_connectivity"] == pytest.approx(1.0)
    assert f["max_degree"] == 3


@pytest.mark.parametrize("use_rx", BACKENDS)
def test_complete_k4(use_rx):
    f = F._structural_features(nx.complete_graph(4), use_rustworkx=use_rx)
    assert f["algebraic_connectivity"] == pytest.approx(4.0)
    assert f["density"] == pytest.approx(1.0)
    assert f["n_layers"] == 4 and f["n_sources"] == 1 and f["n_sinks"] == 1
    assert f["diameter"] == 1 and f["avg_shortest_path"] == pytest.approx(1.0)
    # adjacency eigenvalues 3, -1, -1, -1
    assert f["spectral_gap"] == pytest.approx(2.0)
    assert_stats(f, "betweenness", [0, 0, 0, 0])
    assert_stats(f, "closeness", [1, 1, 1, 1])
    assert_stats(f, "edge_betweenness", [1 / 6] * 6)


@pytest.mark.parametrize("use_rx", BACKENDS)
def test_disconnected_two_edges(use_rx):
    f = F._structural_features(nx.Graph([(0, 1), (2, 3)]), use_rustworkx=use_rx)
    assert f["n_components"] == 2
    assert f["fraction_in_largest_component"] == pytest.approx(0.5)
    assert f["algebraic_connectivity"] == 0.0
    assert f["spectral_gap"] == pytest.approx(0.0, abs=1e-12)  # eigenvalues 1, 1, -1, -1
    assert f["n_layers"] == 2 and f["n_sources"] == 2 and f["n_sinks"] == 2
    # largest component (ties: the one holding node 0) is one edge
    assert f["diameter"] == 1 and f["avg_shortest_path"] == 1
    assert_stats(f, "eccentricity", [1, 1])
    assert f["density"] == pytest.approx(2 / 6)
    # closeness with Wasserman-Faust scaling: (1/1) * (1/3) for every node
    assert_stats(f, "closeness", [1 / 3] * 4)
    assert_stats(f, "edge_betweenness", [1 / 6, 1 / 6])


def test_largest_component_used_for_distances():
    graph = nx.path_graph(5)  # 0-1-2-3-4 plus a triangle 5-6-7 and an isolated 8
    graph.add_edges_from([(5, 6), (6, 7), (5, 7)])
    graph.add_node(8)
    f = structural_features(graph)
    assert f["n_components"] == 3
    assert f["fraction_in_largest_component"] == pytest.approx(5 / 9)
    assert f["diameter"] == 4
    assert f["avg_shortest_path"] == pytest.approx(nx.average_shortest_path_length(nx.path_graph(5)))
    assert_stats(f, "eccentricity", [4, 3, 2, 3, 4])
    assert_stats(f, "degree", [d for _, d in graph.degree()])
    assert f["algebraic_connectivity"] == 0.0


@pytest.mark.parametrize("n", [1, 2, 6])
def test_no_edges(n):
    f = structural_features(nx.empty_graph(n))
    assert f["n_nodes"] == n and f["n_edges"] == 0
    assert f["n_layers"] == 1 and f["n_sources"] == n and f["n_sinks"] == n
    assert f["n_components"] == n and f["fraction_in_largest_component"] == pytest.approx(1 / n)
    for name in FEATURE_NAMES:
        if name not in ("n_layers", "n_nodes", "n_sources", "n_sinks", "n_components", "fraction_in_largest_component"):
            assert f[name] == 0.0, name


def test_single_edge():
    f = structural_features(nx.path_graph(2))
    assert f["n_layers"] == 2 and f["density"] == 1.0 and f["diameter"] == 1
    assert f["algebraic_connectivity"] == pytest.approx(2.0)
    assert f["spectral_gap"] == pytest.approx(0.0, abs=1e-12)  # eigenvalues +-1
    assert_stats(f, "betweenness", [0, 0])
    assert_stats(f, "edge_betweenness", [1.0])


def test_self_loops_and_multiedges_ignored():
    simple = nx.cycle_graph(5)
    noisy = nx.MultiGraph(simple)
    noisy.add_edges_from([(0, 1), (2, 2), (3, 3)])
    assert structural_features(noisy) == structural_features(simple)


# ---------------------------------------------------------------- directed input


def test_digraph_used_as_given():
    # 0 -> 1 -> 2 and 3 -> 2: as an undirected graph this is the path
    # 0-1-2-3 (a path); to_dag would orient 2-3 as 2 -> 3, giving 4 layers,
    # but the given DAG has 3 layers, sources {0, 3}, sink {2}.
    dag = nx.DiGraph([(0, 1), (1, 2), (3, 2)])
    f = structural_features(dag)
    assert f["n_layers"] == 3 == len(layer_nodes(dag))
    assert f["n_sources"] == 2 and f["n_sinks"] == 1
    undirected = structural_features(nx.path_graph(4))
    assert undirected["n_layers"] == 4
    for name in FEATURE_NAMES:
        if name not in ("n_layers", "n_sources", "n_sinks"):
            assert f[name] == pytest.approx(undirected[name], abs=1e-12), name


def test_to_dag_input_matches_undirected():
    graph = nx.barabasi_albert_graph(30, 3, seed=4)
    assert structural_features(to_dag(graph)) == pytest.approx(structural_features(graph), abs=1e-12)


def test_cyclic_digraph_rejected():
    with pytest.raises(ConfigError, match="acyclic"):
        structural_features(nx.DiGraph([(0, 1), (1, 2), (2, 0)]))


def test_bad_inputs_rejected():
    with pytest.raises(ConfigError, match="at least one node"):
        structural_features(nx.Graph())
    with pytest.raises(ConfigError, match="networkx"):
        structural_features([(0, 1)])
    with pytest.raises(ConfigError, match="comparable"):
        structural_features(nx.Graph([(0, "a")]))


# ---------------------------------------------------------------- against networkx


def reference(graph: nx.Graph) -> dict[str, float]:
    """The features computed with plain networkx/numpy, straight from the definitions."""
    dag = to_dag(graph)
    n = graph.number_of_nodes()
    lcc = graph.subgraph(min(nx.connected_components(graph), key=lambda c: (-len(c), min(c))))
    ecc = list(nx.eccentricity(lcc).values()) if len(lcc) > 1 else [0]
    adj = nx.to_numpy_array(graph, nodelist=sorted(graph))
    lam = np.linalg.eigvalsh(adj)
    mags = np.sort(np.abs(lam))[::-1]
    ref = {
        "n_layers": len(layer_nodes(dag)),
        "n_nodes": n,
        "n_edges": graph.number_of_edges(),
        "n_sources": sum(1 for _, d in dag.in_degree() if d == 0),
        "n_sinks": sum(1 for _, d in dag.out_degree() if d == 0),
        "diameter": max(ecc),
        "density": nx.density(graph),
        "avg_shortest_path": nx.average_shortest_path_length(lcc) if len(lcc) > 1 else 0.0,
        "spectral_gap": max(0.0, lam[-1] - mags[1]),
        "algebraic_connectivity": nx.algebraic_connectivity(graph, method="lanczos", tol=1e-12)
        if nx.is_connected(graph)
        else 0.0,
        "n_components": nx.number_connected_components(graph),
        "fraction_in_largest_component": len(lcc) / n,
        "max_degree": max(d for _, d in graph.degree()),
    }
    for prefix, values in [
        ("eccentricity", ecc),
        ("degree", [d for _, d in graph.degree()]),
        ("closeness", list(nx.closeness_centrality(graph).values())),
        ("betweenness", list(nx.betweenness_centrality(graph, normalized=True).values())),
        ("edge_betweenness", list(nx.edge_betweenness_centrality(graph, normalized=True).values())),
    ]:
        ref[f"{prefix}_mean"], ref[f"{prefix}_var"], ref[f"{prefix}_std"] = stats(values)
    return ref


@pytest.mark.parametrize("use_rx", BACKENDS)
@pytest.mark.parametrize(
    "graph",
    [
        nx.gnp_random_graph(40, 0.15, seed=0),
        nx.gnp_random_graph(50, 0.03, seed=1),  # disconnected
        nx.connected_watts_strogatz_graph(40, 8, 1.0, seed=2),
        nx.barabasi_albert_graph(45, 4, seed=3),
        nx.random_regular_graph(3, 30, seed=4),
    ],
    ids=["gnp", "gnp-sparse", "ws", "ba", "regular"],
)
def test_matches_networkx_reference(graph, use_rx):
    f = F._structural_features(graph, use_rustworkx=use_rx)
    ref = reference(graph)
    assert set(ref) == set(FEATURE_NAMES)
    for name in FEATURE_NAMES:
        assert f[name] == pytest.approx(ref[name], rel=1e-9, abs=1e-9), name


@pytest.mark.skipif(F.rx is None, reason="no rustworkx")
def test_rustworkx_and_networkx_backends_agree():
    for seed in range(5):
        graph = nx.gnp_random_graph(60, 0.08, seed=seed)
        fast = F._structural_features(graph, use_rustworkx=True)
        slow = F._structural_features(graph, use_rustworkx=False)
        for name in FEATURE_NAMES:
            assert fast[name] == pytest.approx(slow[name], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("use_rx", BACKENDS)
def test_node_betweenness_from_edge_betweenness(use_rx):
    # node betweenness is derived from edge betweenness; check it directly,
    # on a disconnected graph with leaves and isolated nodes
    graph = nx.disjoint_union(nx.barabasi_albert_graph(80, 2, seed=8), nx.path_graph(7))
    graph.add_nodes_from([87, 88])
    n = len(graph)
    pairs = np.array(sorted((min(e), max(e)) for e in graph.edges), dtype=np.int64)
    reach = np.array([len(nx.node_connected_component(graph, v)) - 1 for v in range(n)], float)
    rx_graph = F._rustworkx_graph(n, pairs) if use_rx else None
    node, edge = F._betweenness(n, pairs, reach, rx_graph)
    expected = nx.betweenness_centrality(graph, normalized=True)
    assert node == pytest.approx([expected[v] for v in range(n)], abs=1e-12)
    expected_edge = nx.edge_betweenness_centrality(graph, normalized=True)
    assert edge == pytest.approx([expected_edge[tuple(p)] for p in pairs.tolist()], abs=1e-12)


@pytest.mark.parametrize(
    "graph",
    [
        nx.gnp_random_graph(120, 0.08, seed=5),
        nx.connected_watts_strogatz_graph(100, 6, 0.3, seed=6),
        nx.complete_bipartite_graph(20, 30),
        nx.disjoint_union(nx.cycle_graph(40), nx.cycle_graph(50)),
    ],
    ids=["gnp", "ws", "bipartite", "two-cycles"],
)
def test_sparse_spectrum_matches_dense(graph):
    adjacency = sps.csr_array(nx.to_scipy_sparse_array(graph, nodelist=range(len(graph)), dtype=float))
    degree = adjacency.sum(axis=1)
    n_components = nx.number_connected_components(graph)
    dense = F._spectrum(adjacency, degree, n_components)
    sparse = F._spectrum(adjacency, degree, n_components, dense_max_nodes=0)
    assert sparse == pytest.approx(dense, abs=1e-9)


# ---------------------------------------------------------------- feature_vector


def test_feature_vector_order():
    f = structural_features(nx.path_graph(4))
    v = feature_vector(f)
    assert v.shape == (len(FEATURE_NAMES),) and v.dtype == np.float64
    assert list(v) == [f[name] for name in FEATURE_NAMES]
    shuffled = dict(reversed(list(f.items())))
    shuffled["extra"] = 7.0
    assert np.array_equal(feature_vector(shuffled), v)


def test_feature_vector_missing_named():
    f = structural_features(nx.path_graph(4))
    del f["spectral_gap"], f["n_layers"]
    with pytest.raises(ConfigError, match="n_layers, spectral_gap"):
        feature_vector(f)


def test_feature_vector_bad_values():
    f = structural_features(nx.path_graph(4))
    with pytest.raises(ConfigError, match="diameter"):
        feature_vector({**f, "diameter": "x"})
    with pytest.raises(ConfigError, match="finite"):
        feature_vector({**f, "density": float("nan")})


# ---------------------------------------------------------------- smoke


def test_gnp_400_runs():
    graph = nx.gnp_random_graph(400, 0.05, seed=7)
    f = structural_features(graph)
    assert f["n_nodes"] == 400 and f["n_edges"] == graph.number_of_edges()
    assert np.isfinite(feature_vector(f)).all()
