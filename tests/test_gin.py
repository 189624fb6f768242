"""The GIN regressor reads a DAG's structure: it learns a target only the graph determines."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from nasprior.dag import to_dag
from nasprior.errors import PredictorError
from nasprior.predictors.gin import NODE_FEATURES, GINRegressor, dag_tensors


def _dags(n: int, seed: int) -> list[nx.DiGraph]:
    rng = np.random.default_rng(seed)
    return [
        to_dag(nx.gnp_random_graph(int(rng.integers(4, 9)), float(rng.uniform(0.2, 0.9)), seed=i)) for i in range(n)
    ]


def test_dag_tensors_pad_and_describe_nodes():
    g = nx.DiGraph([(0, 1), (1, 2), (0, 2)])
    adjacency, nodes, mask = dag_tensors([g, nx.DiGraph([(0, 1)])], max_nodes=4)
    assert adjacency.shape == (2, 4, 4) and nodes.shape == (2, 4, len(NODE_FEATURES))
    assert adjacency[0, 0, 1] == 1 and adjacency[0, 1, 0] == 0 and mask[1].tolist() == [1, 1, 0, 0]
    depth = NODE_FEATURES.index("depth")
    assert nodes[0, 2, depth] == pytest.approx(2 / 3)  # the longest path to node 2 has two edges
    with pytest.raises(PredictorError, match="cycle"):
        dag_tensors([nx.DiGraph([(0, 1), (1, 0)])])


def test_gin_learns_the_longest_path_from_the_graph_alone():
    train, test = _dags(120, 0), _dags(40, 1)
    target = lambda gs: np.array([nx.dag_longest_path_length(g) for g in gs], dtype=float)  # noqa: E731
    blank = lambda gs: np.zeros((len(gs), 1))  # noqa: E731  (no global features: structure only)
    model = GINRegressor(epochs=200, ensemble=1, seed=0).fit(train, blank(train), target(train))
    predicted = model.predict(test, blank(test))
    assert np.corrcoef(predicted, target(test))[0, 1] > 0.8
    again = GINRegressor(epochs=200, ensemble=1, seed=0).fit(train, blank(train), target(train))
    assert np.allclose(again.predict(test, blank(test)), predicted)  # seeded
    with pytest.raises(PredictorError, match="not fitted"):
        GINRegressor().predict(test, blank(test))
