"""Masked recurrent graph-prior networks (Stier et al. 2021) and their search integration."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import torch

from nasprior.errors import ConfigError
from nasprior.features import size_features
from nasprior.genome import Genome
from nasprior.networks import SparseNetwork, wavefront
from nasprior.networks.recurrent import (
    CELL_GATES,
    CELLS,
    MaskedRecurrentLayer,
    RecurrentGraphNetwork,
    build_recurrent_network,
)
from nasprior.networks.recurrent_reference import layered_forward, wavefront_forward
from nasprior.tasks.reber import encode, generate_dataset, load_reber_task
from nasprior.training import TrainConfig, accuracy, train


def dag(edges, n=None):
    g = nx.DiGraph()
    g.add_nodes_from(range(n if n is not None else max(max(e) for e in edges) + 1))
    g.add_edges_from(edges)
    return g


def batch(n=64, seed=0):
    strings, labels = generate_dataset(n, seed=seed)
    return encode(strings), torch.as_tensor(labels)


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_gate_masks(cell):
    # layers [[0, 1], [2, 3, 4]]: 0->2, 0->3, 1->4
    net = RecurrentGraphNetwork(dag([(0, 2), (0, 3), (1, 4)]), vocab_size=28, n_outputs=2, cell=cell, embedding_dim=6)
    x, _ = batch(9)
    assert net(x).shape == (9, 2)
    assert net.node_layers == [[0, 1], [2, 3, 4]] and net.skip_pairs == []
    first, second = net.layers
    gates = CELL_GATES[cell]
    assert first.weight_ih.shape == (gates * 2, 6) and first.mask_ih.all()  # layer 0 reads the embedding densely
    assert second.weight_ih.shape == (gates * 3, 2) and second.weight_hh.shape == (gates * 3, 3)
    expected = torch.tensor([[1, 0], [1, 0], [0, 1]], dtype=torch.bool)  # rows: nodes 2, 3, 4; cols: nodes 0, 1
    for g in range(gates):  # every gate block has the same mask, and zeros where it is False
        block = slice(g * 3, (g + 1) * 3)
        assert torch.equal(second.mask_ih[block], expected)
        assert (second.weight_ih[block][~expected] == 0).all() and (second.weight_ih[block][expected] != 0).all()
    assert torch.equal(second.mask, expected)
    # output reads the sinks only: nodes 2, 3, 4 (all of the last layer)
    assert net.output_layer.mask[0].tolist() == [False, False, True, True, True]


def test_real_fan_in_initialisation():
    torch.manual_seed(0)
    mask = np.zeros((400, 50), dtype=bool)
    mask[:200] = True  # units 0-199: fan-in 50
    mask[200:, :2] = True  # units 200-399: fan-in 2
    layer = MaskedRecurrentLayer(mask, "gru")
    for g in range(3):
        block = layer.weight_ih[g * 400 : (g + 1) * 400]
        assert block[:200].std().item() == pytest.approx(1 / np.sqrt(50), rel=0.05)
        assert block[200:, :2].std().item() == pytest.approx(1 / np.sqrt(2), rel=0.1)
        assert (block[200:, 2:] == 0).all()


@pytest.mark.parametrize("cell", CELLS)
def test_absent_connections_stay_zero_through_training(cell):
    torch.manual_seed(0)
    genome = Genome(prior="barabasi_albert", n_nodes=12, m=2, cell=cell, seed=4)
    net = build_recurrent_network(genome, 28, 2, hidden_mask=True)
    x, y = batch(256, seed=1)
    train(net, x, y, x[:64], y[:64], TrainConfig(epochs=2, batch_size=32, lr=0.01, patience=0, grad_clip=5.0))
    for layer in net.recurrent_layers():
        assert (layer.weight_ih[~layer.mask_ih] == 0).all()  # every gate block
        assert (layer.weight_hh[~layer.mask_hh] == 0).all()  # identity-masked recurrence
        assert (layer.weight_ih[layer.mask_ih] != 0).all()
    # and absent weights get no gradient at all (so they do not count in clipping or Adam)
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x[:32]), y[:32]).backward()
    for layer in net.recurrent_layers():
        assert (layer.weight_ih.grad[~layer.mask_ih] == 0).all()
        assert (layer.weight_hh.grad[~layer.mask_hh] == 0).all()


def test_skip_edge_makes_an_extra_layer_summed_into_its_target():
    torch.manual_seed(0)
    with_skip = RecurrentGraphNetwork(dag([(0, 1), (1, 2), (0, 2)]), 28, 2, cell="gru", embedding_dim=4)
    assert with_skip.node_layers == [[0], [1], [2]] and with_skip.skip_pairs == [(0, 2)]
    assert len(with_skip.skip_layers) == 1 and with_skip.skip_layers[0].weight_ih.shape == (3, 1)
    without = RecurrentGraphNetwork(dag([(0, 1), (1, 2)]), 28, 2, cell="gru", embedding_dim=4)
    state = {k: v for k, v in with_skip.state_dict().items() if not k.startswith("skip_layers")}
    without.load_state_dict(state)
    x, _ = batch(16)
    assert not torch.allclose(with_skip(x), without(x), atol=1e-6)
    with torch.no_grad():  # a silent skip layer (all zero) adds exactly zero to its target
        for p in with_skip.skip_layers[0].parameters():
            p.zero_()
    torch.testing.assert_close(with_skip(x), without(x))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("hidden_mask", [False, True])
def test_wavefront_forward_equals_layered_reference(cell, hidden_mask):
    torch.manual_seed(1)
    genome = Genome(prior="barabasi_albert", n_nodes=20, m=3, cell=cell, seed=2)  # deep, many skip pairs
    net = build_recurrent_network(genome, 28, 2, hidden_mask=hidden_mask)
    assert len(net.node_layers) > 3 and len(net.skip_pairs) > 3
    x, _ = batch(40, seed=5)
    torch.testing.assert_close(net(x), layered_forward(net, x), rtol=1e-4, atol=1e-5)


def test_padding_never_changes_a_prediction():
    torch.manual_seed(0)
    net = build_recurrent_network(Genome(prior="gnp", n_nodes=15, p=0.3, cell="lstm", seed=1), 28, 2)
    net.eval()
    strings = ["BTXSE", "BPTTTTTTTVPXTTVPXVVE", "BTSSSSSSSSXXTTVVE"]
    alone = torch.cat([net(encode([s])) for s in strings])
    together = net(encode(strings, max_len=40))
    torch.testing.assert_close(alone, together)


def test_counts_by_hand():
    # layers [[0], [1, 2]]: GRU, embedding 4, vocab 28; edges 0->1, 0->2
    net = RecurrentGraphNetwork(dag([(0, 1), (0, 2)]), 28, 2, cell="gru", embedding_dim=4)
    # layer 0: ih 3*1*4 = 12, hh 3*1*1 = 3; layer 1: ih 3*2*1 = 6, hh 3*2*2 = 12; output 2 sinks * 2 classes = 4
    assert net.n_weights == 12 + 3 + 6 + 12 + 4
    biases = 2 * 3 * 1 + 2 * 3 * 2 + 2
    assert net.n_params == net.n_weights + biases + 27 * 4
    # possible: output reads all 3 units (6), layer 1's ih is dense 6 anyway
    assert net.n_possible_weights == 12 + 3 + 6 + 12 + 6
    assert net.density == pytest.approx(37 / 39)
    masked = RecurrentGraphNetwork(dag([(0, 1), (0, 2)]), 28, 2, cell="gru", embedding_dim=4, hidden_mask=True)
    assert masked.n_weights == 12 + 3 + 6 + 3 * 2 + 4  # identity per gate: 3*2 instead of 3*2*2
    assert isinstance(net, SparseNetwork)
    assert size_features(net) == {
        "n_params": float(net.n_params),
        "n_weights": 37.0,
        "network_density": pytest.approx(37 / 39),
        "first_layer_width": 1.0,
        "n_hidden_layers": 2.0,
        "n_flops": 37.0,
    }


def test_layered_mapping_is_refused():
    with pytest.raises(ConfigError, match="mapping 'recurrent'"):
        build_recurrent_network(Genome(mapping="layered", n_nodes=8, width=16), 28, 2)


def test_gru_graph_network_learns_reber():
    torch.manual_seed(0)
    data = load_reber_task("generated", n_generated=1500, seed=0, data_seed=7)
    # two layers: 8 sources, 4 sinks, half of the bipartite edges
    graph = dag([(i, 8 + j) for i in range(8) for j in range(4) if (i + j) % 2 == 0])
    net = RecurrentGraphNetwork(graph, data.vocab_size, 2, cell="gru")
    result = train(
        net,
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        TrainConfig(epochs=4, lr=0.01, patience=0, grad_clip=5.0),
        data.x_test,
        data.y_test,
    )
    assert result.val_acc > 0.75  # chance is 0.5 (measured: 0.805)
    soft = data.test_groups["soft_neg"]
    assert accuracy(net, data.x_test[soft], data.y_test[soft]) > 0.85  # measured: 0.92


def test_evaluator_trains_a_reber_candidate(tmp_path: Path):
    from nasprior.evaluation import Evaluator

    data = load_reber_task("generated", n_generated=600, seed=0)
    evaluator = Evaluator(data, TrainConfig(epochs=1, grad_clip=5.0), "t", 0)
    genome = Genome(prior="barabasi_albert", n_nodes=10, m=1, cell="rnn_tanh", seed=0)
    features = evaluator.features(genome)
    assert features["first_layer_width"] >= 1 and features["n_weights"] > 0
    evaluation = evaluator.train(genome, features, generation=0)
    record = evaluation.record
    assert record["status"] == "trained", record.get("error")
    m = record["metrics"]
    assert {"val_acc", "test_acc", "test_acc_pos", "test_acc_hard_neg", "test_acc_soft_neg"} <= set(m)
    groups = data.test_groups
    recombined = sum(m[f"test_acc_{g}"] * int(groups[g].sum()) for g in groups) / len(data.y_test)
    assert recombined == pytest.approx(m["test_acc"])
    assert evaluation.network is not None and record["fidelity"] == "screen"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("hidden_mask", [False, True])
def test_fused_forward_and_gradients_equal_the_autograd_paths(cell, hidden_mask):
    torch.manual_seed(3)
    genome = Genome(prior="watts_strogatz", n_nodes=14, k=4, p=1.0, cell=cell, seed=1)
    net = build_recurrent_network(genome, 28, 2, hidden_mask=hidden_mask)
    assert len(net.skip_pairs) > 0
    x, _ = batch(24, seed=2)
    weights = torch.randn(24, 2, generator=torch.Generator().manual_seed(0))
    results = []
    for forward in (net, lambda x: wavefront_forward(net, x), lambda x: layered_forward(net, x)):
        net.zero_grad()
        out = forward(x)
        (out * weights).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in net.parameters()]))
    (fused, fused_grads), *others = results
    for out, grads in others:
        torch.testing.assert_close(fused, out, rtol=1e-4, atol=1e-5)
        for a, b in zip(fused_grads, grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for layer in net.recurrent_layers():  # absent weights get exactly zero gradient on the fused path too
        net.zero_grad()
        net(x).sum().backward()
        assert (layer.weight_ih.grad[~layer.mask_ih] == 0).all()
    with torch.no_grad():
        torch.testing.assert_close(net(x), fused)


def outputs_and_gradients(net, x, implementation, monkeypatch):
    """Outputs and parameter gradients of ``net(x).pow(2).sum()`` with the given time-loop implementation."""
    monkeypatch.setattr(wavefront, "loop_implementation", implementation)
    net.zero_grad()
    out = net(x)
    out.pow(2).sum().backward()
    return out.detach(), [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("cell", CELLS)
def test_torchscript_and_python_time_loops_compute_the_same(cell, monkeypatch):
    """The fused path's loops run compiled by TorchScript here; the plain-Python fallback gives the same numbers."""
    assert all(
        isinstance(f, torch.jit.ScriptFunction) for f in wavefront.time_loops("torchscript")
    )  # compiled here, no fallback
    torch.manual_seed(1)
    net = build_recurrent_network(Genome(prior="barabasi_albert", n_nodes=16, m=2, cell=cell, seed=2), 28, 2)
    x, _ = batch(20, seed=3)
    (script_out, script_grads), (py_out, py_grads) = (
        outputs_and_gradients(net, x, implementation, monkeypatch) for implementation in ("torchscript", "python")
    )
    torch.testing.assert_close(script_out, py_out, rtol=0, atol=0)
    for a, b in zip(script_grads, py_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("prior", ["barabasi_albert", "watts_strogatz"])
def test_numba_kernels_compute_what_the_torchscript_loops_compute(cell, prior, monkeypatch):
    """The default compiled kernels agree with the TorchScript loops to rounding (their tanh is a rational approximation)."""
    assert wavefront.loop_implementation == "numba"
    assert wavefront.resolved_loop_implementation() == "numba"  # numba is installed here: no fallback
    torch.manual_seed(1)
    params = dict(m=2) if prior == "barabasi_albert" else dict(k=4, p=0.5)
    net = build_recurrent_network(
        Genome(prior=prior, n_nodes=16, cell=cell, seed=2, **params), 28, 2, hidden_mask=cell == "lstm"
    )
    with torch.no_grad():  # a weight that is exactly zero still gets its gradient
        net.recurrent_layers()[-1].weight_hh[0, 0] = 0.0
    x, _ = batch(20, seed=3)
    results = []
    for implementation in ("numba", "torchscript"):
        results.append(outputs_and_gradients(net, x, implementation, monkeypatch))
        with torch.no_grad():  # inference (two alternating step slots) gives the same outputs, to rounding
            torch.testing.assert_close(net(x), results[-1][0], rtol=1e-5, atol=1e-6)
    (nb_out, nb_grads), (ts_out, ts_grads) = results
    torch.testing.assert_close(nb_out, ts_out, rtol=1e-4, atol=1e-5)
    for a, b in zip(nb_grads, ts_grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        assert ((a == 0) == (b == 0)).float().mean() > 0.999  # the same weights get gradients


def test_half_precision_runs_the_tensor_loops_not_the_compiled_kernels():
    torch.manual_seed(0)
    net = build_recurrent_network(Genome(prior="barabasi_albert", n_nodes=10, m=2, cell="gru", seed=1), 28, 2)
    x, _ = batch(6, seed=1)
    reference = net(x).detach()
    net = net.to(torch.bfloat16)
    out = net(x)
    out.float().sum().backward()  # the TorchScript loops, in bfloat16
    assert out.dtype == torch.bfloat16 and torch.allclose(out.float(), reference, atol=0.1)


def test_numba_missing_falls_back_to_torchscript(monkeypatch):
    from nasprior.networks import wavefront_kernels

    monkeypatch.setattr(wavefront_kernels, "njit", None)
    monkeypatch.setattr(wavefront, "_WARNED", [])
    with pytest.warns(RuntimeWarning, match="numba is not installed"):
        assert wavefront.resolved_loop_implementation("numba") == "torchscript"
    assert wavefront.time_loops("numba") == tuple(wavefront._SCRIPTED)


def test_time_loops_fall_back_to_python_where_torchscript_fails(monkeypatch):
    def refuse(fn):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(wavefront, "_SCRIPTED", [])  # not compiled yet in this process
    monkeypatch.setattr(wavefront.torch.jit, "script", refuse)
    with pytest.warns(RuntimeWarning, match="plain Python"):
        loops = wavefront.time_loops("torchscript")
    assert loops == (wavefront._forward_steps, wavefront._backward_steps)
    with pytest.raises(ValueError, match="unknown time-loop implementation"):
        wavefront.time_loops("cuda-graphs")


def test_fused_path_handles_interleaved_forward_passes_and_one_layer_graphs():
    torch.manual_seed(0)
    net = build_recurrent_network(Genome(prior="barabasi_albert", n_nodes=12, m=2, cell="gru", seed=4), 28, 2)
    x1, _ = batch(16, seed=1)
    x2, _ = batch(8, seed=2)
    (net(x1).sum() + net(x2).sum()).backward()  # two graphs alive at once: separate buffers
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    (wavefront_forward(net, x1).sum() + wavefront_forward(net, x2).sum()).backward()
    for a, b in zip(grads, [p.grad for p in net.parameters()]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    flat = RecurrentGraphNetwork(dag([], n=3), 28, 2, cell="lstm", embedding_dim=4)  # one layer, no edges
    torch.testing.assert_close(flat(x1), layered_forward(flat, x1), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="all padding"):
        net(torch.zeros(2, 5, dtype=torch.long))


def test_pack_sub_layers_caps_inputs_when_that_is_cheaper():
    sizes = [(4, 4), (2, 4), (2, 4), (1, 1), (1, 1), (1, 1), (1, 1)]  # (units, input columns)
    place, n_blocks, in_width = wavefront.pack_sub_layers(sizes, width=4)
    # by units alone: 3 blocks padded to 8 input columns, cost 3 * (8 + 4) = 36; capped at 6 columns: 3 * (6 + 4) = 30
    assert (n_blocks, in_width) == (3, 6)
    used = {}
    for i, (k, unit, col) in place.items():
        n_h, n_in = sizes[i]
        assert unit + n_h <= 4 and col + n_in <= in_width
        for u in range(unit, unit + n_h):
            assert (k, u) not in used  # no two sub-layers share a unit
            used[(k, u)] = i
    assert len(place) == len(sizes)


def test_fused_layout_packs_sub_layers_into_few_blocks():
    """Packing: fewer blocks than sub-layers, narrower input blocks than by units alone, each weight placed once."""
    torch.manual_seed(0)
    net = build_recurrent_network(Genome(prior="barabasi_albert", n_nodes=30, m=3, cell="gru", seed=0), 28, 2)
    n_blocks, gates, width = net._pk_shape
    subs = net.recurrent_layers()
    units = sum(layer.n_hidden for layer in subs)
    assert width == max(len(nodes) for nodes in net.node_layers) and gates == 3
    assert n_blocks < len(subs) and units <= n_blocks * width
    assert n_blocks * (net._pk_in_width + width) < 15 * (18 + width)  # packing by units alone: 15 blocks, 18 columns
    w_emb, w_ih, w_hh, b_ih, b_hh = net._packed_weights()
    assert w_ih.shape == (n_blocks, gates * width, net._pk_in_width) and w_hh.shape == (n_blocks, gates * width, width)
    present = lambda t: int((t != 0).sum())  # noqa: E731  (initial weights are never exactly 0)
    assert present(w_ih) == sum(int(layer.mask_ih.sum()) for layer in net.layers[1:]) + sum(
        int(layer.mask_ih.sum()) for layer in net.skip_layers
    )
    assert present(w_hh) == sum(layer.weight_hh.numel() for layer in subs)
    assert present(w_emb) == net.layers[0].weight_ih.numel()
    rows = net._pk_out_rows[net._pk_out_rows < net._pk_rows - 1]  # unused units go to the last row
    assert len(rows) == units and set(rows.tolist()) == set(net._pk_unit_row.tolist())
