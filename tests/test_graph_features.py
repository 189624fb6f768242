"""Profile, Weisfeiler-Lehman and graph-size features; sampled betweenness; graph files from other tools."""

from __future__ import annotations

import json
import pickle

import networkx as nx
import numpy as np
import pytest
import rustworkx as rx

from nasprior.errors import ConfigError, DataError
from nasprior.evaluation import (
    CANDIDATE_FEATURES,
    GRAPH_CANDIDATE_FEATURES,
    candidate_features,
    graph_candidate_features,
)
from nasprior.features import (
    FEATURE_NAMES,
    GRAPH_FEATURE_NAMES,
    PROFILE_FEATURE_NAMES,
    WL_FEATURE_NAMES,
    graph_features,
    graph_size_features,
    profile_features,
    structural_features,
    wl_histogram,
)
from nasprior.features import structural as S
from nasprior.genome import Genome
from nasprior.graph_io import graph_files, read_graph
from nasprior.priors import make_graph
from nasprior.tasks import TaskShape


def test_names_keep_old_columns_first():
    assert CANDIDATE_FEATURES[: len(FEATURE_NAMES)] == FEATURE_NAMES  # old names and order kept
    assert len(set(CANDIDATE_FEATURES)) == len(CANDIDATE_FEATURES)
    assert set(PROFILE_FEATURE_NAMES) | set(WL_FEATURE_NAMES) <= set(CANDIDATE_FEATURES)
    f = graph_features(nx.gnp_random_graph(25, 0.2, seed=3))
    assert tuple(f) == GRAPH_FEATURE_NAMES and all(np.isfinite(list(f.values())))


def test_last_layer_width_of_a_hand_built_dag():
    # layers: {0, 1} -> {2, 3, 4} -> {5, 6}; node 7 hangs off 0 (layer 1, a sink but not in the last layer)
    dag = nx.DiGraph([(0, 2), (0, 3), (1, 4), (2, 5), (3, 5), (4, 6), (0, 7), (1, 6)])
    f = profile_features(dag)
    assert f["last_layer_width"] == 2.0  # Stier et al.'s sink_nodes: nodes 5 and 6
    assert structural_features(dag)["n_sinks"] == 3.0  # out-degree 0: 5, 6 and 7
    assert f["max_layer_width"] == 4.0 and f["mean_layer_width"] == pytest.approx(8 / 3)
    assert f["skip_edge_fraction"] == pytest.approx(1 / 8) and f["edge_span_max"] == 2.0  # 1 -> 6 skips a layer
    # source -> sink paths: 0-2-5, 0-3-5, 1-4-6, 1-6, 0-7
    assert f["log10_io_paths"] == pytest.approx(np.log10(5))
    assert f["io_path_length_mean"] == pytest.approx(8 / 5) and f["io_path_length_min"] == 1.0


def _brute_force_paths(graph):
    dag = nx.DiGraph((min(e), max(e)) for e in graph.edges)
    dag.add_nodes_from(graph)
    lengths = []
    for s in (v for v in dag if dag.in_degree(v) == 0):
        for t in (v for v in dag if dag.out_degree(v) == 0):
            lengths += [0] if s == t else [len(p) - 1 for p in nx.all_simple_paths(dag, s, t)]
    return np.array(lengths)


@pytest.mark.parametrize("seed", range(3))
def test_paths_clustering_assortativity_match_brute_force_and_networkx(seed):
    graph = nx.gnp_random_graph(14, 0.3, seed=seed)
    f = profile_features(graph)
    lengths = _brute_force_paths(graph)
    assert f["log10_io_paths"] == pytest.approx(np.log10(len(lengths)))
    assert f["io_path_length_mean"] == pytest.approx(lengths.mean())
    assert f["io_path_length_std"] == pytest.approx(lengths.std())
    assert f["clustering_mean"] == pytest.approx(nx.average_clustering(graph))
    assert f["transitivity"] == pytest.approx(nx.transitivity(graph))
    assert f["degree_assortativity"] == pytest.approx(nx.degree_assortativity_coefficient(graph))


def test_path_counts_beyond_float_range_stay_finite():
    # 1,100 layers of two nodes, consecutive layers fully connected: 2**1100 (about 1e331) input-output paths
    graph = nx.DiGraph((2 * i + a, 2 * i + 2 + b) for i in range(1099) for a in (0, 1) for b in (0, 1))
    f = profile_features(graph)
    assert f["log10_io_paths"] == pytest.approx(1100 * np.log10(2))
    assert f["io_path_length_mean"] == 1099.0 and f["io_path_length_std"] == 0.0


def test_wl_histogram_is_isomorphism_invariant_and_separates_a_known_pair():
    graph = nx.gnp_random_graph(30, 0.2, seed=1)
    perm = np.random.default_rng(0).permutation(30)
    relabelled = nx.relabel_nodes(graph, dict(enumerate(perm.tolist())))
    assert wl_histogram(graph) == wl_histogram(relabelled)
    oriented = nx.DiGraph((min(e), max(e)) for e in graph.edges)
    oriented.add_nodes_from(graph)
    assert wl_histogram(oriented) == wl_histogram(graph)  # directions do not matter
    # same degree sequence (1, 1, 1, 2, 2, 3), not isomorphic: the branch hangs off the 2nd or the 3rd node
    a = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (1, 5)])
    b = nx.Graph([(0, 1), (1, 2), (2, 3), (3, 4), (2, 5)])
    assert sorted(d for _, d in a.degree()) == sorted(d for _, d in b.degree())
    assert wl_histogram(a) != wl_histogram(b)
    assert sum(wl_histogram(a).values()) == pytest.approx(1.0)


def test_sampled_betweenness_is_exact_with_every_pivot_and_close_with_some():
    graph = nx.disjoint_union(nx.barabasi_albert_graph(80, 3, seed=8), nx.path_graph(7))
    n = len(graph)
    pairs = np.array(sorted((min(e), max(e)) for e in graph.edges), dtype=np.int64)
    dist = rx.distance_matrix(S._rustworkx_graph(n, pairs), null_value=0.0)
    exact = structural_features(graph)
    every = S.sampled_betweenness(n, pairs, dist, np.arange(n))
    for name, value in every.items():
        assert value == pytest.approx(exact[name], rel=1e-9, abs=1e-15), name
    some = S.sampled_betweenness(n, pairs, dist, S.betweenness_pivots(n, 10**6))  # budget -> 48 pivots
    assert some["betweenness_mean"] == pytest.approx(exact["betweenness_mean"], rel=0.15)
    assert some["edge_betweenness_mean"] == pytest.approx(exact["edge_betweenness_mean"], rel=0.15)
    assert some["betweenness_std"] == pytest.approx(exact["betweenness_std"], rel=0.3)


def test_large_graphs_use_pivots_deterministically(monkeypatch):
    monkeypatch.setattr(S, "BETWEENNESS_EXACT_MAX_WORK", 100.0)
    graph = nx.gnp_random_graph(120, 0.1, seed=2)
    f = structural_features(graph)
    assert f == structural_features(graph)  # seeded pivots: same graph, same features
    monkeypatch.setattr(S, "BETWEENNESS_EXACT_MAX_WORK", 1e12)
    exact = structural_features(graph)
    assert f["edge_betweenness_mean"] == pytest.approx(exact["edge_betweenness_mean"], rel=0.1)


def test_graph_size_features_count_the_graph_alone():
    dag = nx.DiGraph([(0, 2), (1, 2), (2, 3)])  # widths 2, 1, 1
    f = graph_size_features(dag)
    assert f == {
        "n_params": 7.0,
        "n_weights": 3.0,
        "network_density": 3 / (2 * 1 + 1 * 3),
        "first_layer_width": 2.0,
        "n_hidden_layers": 3.0,
        "n_flops": 3.0,
    }


def test_graph_candidate_features_equal_genome_features_with_a_task():
    genome = Genome(prior="gnp", n_nodes=20, p=0.3, seed=5)
    shape = TaskShape("digits", 64, 10)
    from_genome = candidate_features(genome, shape)
    assert tuple(from_genome) == CANDIDATE_FEATURES
    assert graph_candidate_features(make_graph(genome), shape) == from_genome
    alone = graph_candidate_features(make_graph(genome))
    assert tuple(alone) == GRAPH_CANDIDATE_FEATURES
    with pytest.raises(ConfigError, match="sequence task"):
        graph_candidate_features(make_graph(genome), TaskShape("reber", 0, 2, 9))


# ------------------------------------------------------------------ graph files


def test_graph_files_in_every_format_read_the_same(tmp_path):
    graph = nx.watts_strogatz_graph(12, 4, 0.3, seed=1)
    nx.write_graphml(graph, tmp_path / "g.graphml")
    nx.write_gml(graph, tmp_path / "g.gml")
    nx.write_edgelist(graph, tmp_path / "g.edgelist", data=False)
    (tmp_path / "g.json").write_text(json.dumps(nx.node_link_data(graph, edges="links")))
    expected = graph_features(graph)
    for path in graph_files(tmp_path):
        read = read_graph(path)
        assert sorted(read.nodes) == list(range(12)), path
        assert graph_features(read) == expected, path


def test_string_labels_are_numbered_in_file_order_and_dags_keep_direction(tmp_path):
    dag = nx.DiGraph([("out", "a"), ("a", "b")])  # out -> a -> b: not in label order
    nx.write_graphml(dag, tmp_path / "d.graphml")
    read = read_graph(tmp_path / "d.graphml")
    assert read.is_directed() and list(read.edges) == [(0, 1), (1, 2)]
    cyclic = nx.DiGraph([(0, 1), (1, 2), (2, 0)])
    nx.write_graphml(cyclic, tmp_path / "c.graphml")
    with pytest.raises(ConfigError, match="acyclic"):
        graph_features(read_graph(tmp_path / "c.graphml"))


def test_a_pickle_is_refused_with_a_clear_message(tmp_path):
    graph = nx.path_graph(4)
    (tmp_path / "g.pkl").write_bytes(pickle.dumps(graph))
    with pytest.raises(DataError, match="pickle file, which nasprior never loads"):
        read_graph(tmp_path / "g.pkl")
    (tmp_path / "disguised.graphml").write_bytes(pickle.dumps(graph))  # a pickle under another name
    with pytest.raises(DataError, match="pickle"):
        read_graph(tmp_path / "disguised.graphml")
    with pytest.raises(DataError, match="unknown graph format"):
        read_graph(tmp_path.joinpath("g.xyz").write_text("x") and tmp_path / "g.xyz")


def test_betweenness_is_the_same_on_every_call_of_a_graph_past_rustworkx_parallel_threshold():
    # rustworkx sums betweenness in parallel from 50 nodes on, in thread order: the last bits varied from
    # call to call (21 distinct results in 300 calls on this graph), and with them the records of a run
    graph = nx.gnp_random_graph(52, 0.062, seed=680588)
    first = graph_features(graph)
    for _ in range(60):
        again = graph_features(graph)
        assert all(again[k] == first[k] for k in first if "betweenness" in k)
