import networkx as nx
import numpy as np
import pytest
import torch

from nasprior.dag import layer_nodes, relational_mask, to_dag
from nasprior.features import size_features
from nasprior.genome import Genome
from nasprior.networks import GraphNetwork, LayeredNetwork, MaskedLinear, build_network
from nasprior.tasks import TaskShape
from nasprior.training import TrainConfig, train


def small_dag():
    # 0 -> 1 -> 2 with a skip edge 0 -> 2, and 3 isolated (a source and a sink)
    g = nx.Graph([(0, 1), (1, 2), (0, 2)])
    g.add_node(3)
    return to_dag(g)


def test_dag_orientation_and_layers():
    dag = to_dag(nx.Graph([(2, 0), (1, 2), (3, 1)]))
    assert sorted(dag.edges) == [(0, 2), (1, 2), (1, 3)]
    assert layer_nodes(small_dag()) == [[0, 3], [1], [2]]


def test_graph_network_masks_and_skip_connections():
    net = GraphNetwork(small_dag(), n_inputs=5, n_outputs=4)
    # units in layer order: 0, 3 | 1 | 2
    assert net.input_layer.mask.shape == (2, 5) and net.input_layer.mask.all()
    assert net.layers[0].mask.tolist() == [[True, False]]  # 1 <- 0
    assert net.layers[1].mask.tolist() == [[True, False, True]]  # 2 <- 0 (skip), 2 <- 1
    # sinks: 3 and 2 (0 and 1 have successors)
    assert net.output_layer.mask.tolist() == [[False, True, False, True]] * 4
    assert net.n_weights == 10 + 1 + 2 + 8
    assert net.n_params == net.n_weights + 2 + 1 + 1 + 4
    assert net(torch.randn(7, 5)).shape == (7, 4)
    assert size_features(net)["first_layer_width"] == 2.0
    assert size_features(net)["n_hidden_layers"] == 3.0


def test_relational_mask_by_hand():
    path = nx.path_graph(3)  # 0-1-2
    mask = relational_mask(path, 6, 3)  # input units 0,1 -> node 0; 2,3 -> node 1; 4,5 -> node 2
    expected = np.array(
        [
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1],
            [0, 0, 1, 1, 1, 1],
        ],
        dtype=bool,
    )
    assert (mask == expected).all()


def test_layered_network_shapes():
    g = Genome(prior="gnp", n_nodes=16, p=0.2, mapping="layered", n_layers=3, width=64)
    net = build_network(g, TaskShape("t", 100, 10))
    assert isinstance(net, LayeredNetwork)
    assert [tuple(layer.mask.shape) for layer in net.layers] == [(64, 100), (64, 64), (64, 64)]
    assert net.output_layer.mask.all()
    assert 0 < net.density < 1
    assert net(torch.randn(3, 100)).shape == (3, 10)


def test_init_uses_real_fan_in():
    mask = torch.zeros(200, 1000, dtype=torch.bool)
    mask[:100, :10] = True  # fan-in 10
    mask[100:, :] = True  # fan-in 1000
    torch.manual_seed(0)
    layer = MaskedLinear(mask)
    w = layer.weight.detach()
    assert (w[~mask] == 0).all()
    assert w[:100, :10].std().item() == pytest.approx(np.sqrt(2 / 10), rel=0.1)
    assert w[100:].std().item() == pytest.approx(np.sqrt(2 / 1000), rel=0.1)


@pytest.mark.parametrize("mapping", ["graph", "layered"])
def test_absent_weights_stay_zero_through_training(mapping):
    g = Genome(prior="gnp", n_nodes=24, p=0.2, mapping=mapping, n_layers=2, width=48, seed=1)
    torch.manual_seed(0)
    net = build_network(g, TaskShape("t", 20, 3))
    x, y = torch.randn(256, 20), torch.randint(0, 3, (256,))
    config = TrainConfig(epochs=3, batch_size=32, lr=0.01, weight_decay=0.01, patience=0)
    before = [layer.weight.detach().clone() for layer in net.masked_layers()]
    train(net, x, y, x[:64], y[:64], config)
    for layer, w0 in zip(net.masked_layers(), before):
        assert (layer.weight[~layer.mask] == 0).all()
        if layer.mask.any():
            assert not torch.equal(layer.weight[layer.mask], w0[layer.mask])  # present weights did train
