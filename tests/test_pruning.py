import numpy as np
import pytest
import torch

from nasprior.errors import ConfigError, DataError
from nasprior.genome import Genome
from nasprior.networks import LayeredNetwork
from nasprior.sparsity.experiments import pruned_record
from nasprior.sparsity.pruning import (
    SCHEMES,
    compression_schedule,
    iterative_prune,
    load_masks,
    masks_to_graph,
    network_from_masks,
    network_masks,
    prunable_layers,
    prune,
    save_masks,
)
from nasprior.tasks import TaskShape
from nasprior.training import TrainConfig, train


def mlp(widths=(40, 30, 20), n_outputs=10, seed=0, scale=(1.0, 1.0, 1.0)):
    """Dense LayeredNetwork with layer weights scaled by ``scale`` (different per-layer spreads)."""
    torch.manual_seed(seed)
    masks = [np.ones((o, i), bool) for i, o in zip(widths[:-1], widths[1:])]
    net = LayeredNetwork(masks, n_outputs)
    with torch.no_grad():
        for layer, s in zip(net.masked_layers(), scale):
            layer.weight.mul_(s)
    return net


def magnitudes(net):
    return [layer.weight.detach().abs().clone() for layer in net.masked_layers()]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_achieved_compression_is_exact(scheme):
    net = mlp()
    n_ref = net.n_weights  # 40*30 + 30*20 + 20*10 = 2000
    step = prune(net, 0.7, scheme, generator=torch.Generator().manual_seed(0))
    assert net.n_weights == 600 == step.n_weights
    assert step.achieved_compression == pytest.approx(0.7)
    assert step.n_removed == 1400 and step.n_reference == n_ref
    for layer in net.masked_layers():  # removed weights are zero, kept ones are not
        assert (layer.weight[~layer.mask] == 0).all()
        assert (layer.weight[layer.mask] != 0).all()


def test_class_uniform_leaves_every_layer_at_the_same_density():
    net = mlp(scale=(0.1, 1.0, 10.0))  # blinded would strip the first layer
    step = prune(net, 0.75, "class-uniform")
    assert [layer.n_weights for layer in net.masked_layers()] == [300, 150, 50]
    assert step.layer_densities == [0.25, 0.25, 0.25]
    for layer, t in zip(net.masked_layers(), step.layer_thresholds):
        w = layer.weight.detach().abs()
        assert (w[layer.mask] > t).all() and (w[~layer.mask] == 0).all()


def test_class_blinded_removes_the_globally_smallest_magnitudes():
    net = mlp(scale=(0.1, 1.0, 10.0))
    before = magnitudes(net)
    step = prune(net, 0.5, "class-blinded")
    removed = torch.cat([w[~l.mask] for w, l in zip(before, net.masked_layers())])
    kept = torch.cat([w[l.mask] for w, l in zip(before, net.masked_layers())])
    assert len(removed) == 1000
    assert removed.max() < step.threshold < kept.min()
    all_sorted = torch.sort(torch.cat([w.view(-1) for w in before])).values
    assert torch.equal(torch.sort(removed).values, all_sorted[:1000])
    # the small-weight first layer loses far more than the large-weight output layer
    densities = step.layer_densities
    assert densities[0] < 0.25 and densities[0] < densities[1] < densities[2]


def test_class_distributed_thresholds_are_proportional_to_layer_std():
    net = mlp(scale=(0.1, 1.0, 10.0))
    before = [layer.weight.detach().clone() for layer in net.masked_layers()]
    stds = [float(w.std(correction=0)) for w in before]
    step = prune(net, 0.6, "class-distributed")
    lam = step.threshold
    assert step.layer_thresholds == pytest.approx([lam * s for s in stds])
    for w, layer, s in zip(before, net.masked_layers(), stds):
        assert (w[~layer.mask].abs() < lam * s).all()
        assert (w[layer.mask].abs() > lam * s).all()
    assert net.n_weights == 800
    # std-normalised: the layers end near the same density although their scales differ 100-fold
    assert max(step.layer_densities) - min(step.layer_densities) < 0.1


def test_random_pruning_is_seeded_and_not_by_magnitude():
    a, b, c = mlp(), mlp(), mlp()
    prune(a, 0.5, "random", generator=torch.Generator().manual_seed(1))
    prune(b, 0.5, "random", generator=torch.Generator().manual_seed(1))
    prune(c, 0.5, "random", generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(x.mask, y.mask) for x, y in zip(a.masked_layers(), b.masked_layers()))
    assert not all(torch.equal(x.mask, y.mask) for x, y in zip(a.masked_layers(), c.masked_layers()))
    before = magnitudes(mlp())
    kept = torch.cat([w[l.mask] for w, l in zip(before, a.masked_layers())])
    removed = torch.cat([w[~l.mask] for w, l in zip(before, a.masked_layers())])
    assert removed.max() > kept.min()  # not a magnitude cut


def test_output_layer_can_be_kept_dense():
    net = mlp()
    assert len(prunable_layers(net, include_output=False)) == 2
    prune(net, 0.5, "class-blinded", include_output=False)
    assert net.output_layer.mask.all()
    assert sum(layer.n_weights for layer in net.layers) == 900


def test_iterative_schedule_and_pruned_weights_stay_zero_through_retraining():
    assert compression_schedule(0.8, 4) == pytest.approx([0.2, 0.4, 0.6, 0.8])
    torch.manual_seed(0)
    x, y = torch.randn(512, 40), torch.randint(0, 10, (512,))
    net = mlp()
    config = TrainConfig(epochs=2, batch_size=32, optimizer="sgd", lr=0.01, weight_decay=1e-3, patience=0)
    masks_after_step = []

    def retrain(network, step):
        masks_after_step.append([layer.mask.clone() for layer in network.masked_layers()])
        before = [layer.weight.detach().clone() for layer in network.masked_layers()]
        result = train(network, x, y, x[:64], y[:64], config)
        for layer, w0, m0 in zip(network.masked_layers(), before, masks_after_step[-1]):
            assert torch.equal(layer.mask, m0)  # training never changes the mask
            assert (layer.weight[~layer.mask] == 0).all()  # pruned weights stay zero (momentum, decay)
            assert not torch.equal(layer.weight[layer.mask], w0[layer.mask])  # the rest trained
        return result

    history = iterative_prune(net, 0.8, "class-distributed", n_steps=4, retrain=retrain)
    assert [round(s.achieved_compression, 6) for s, _ in history] == [0.2, 0.4, 0.6, 0.8]
    assert [s.n_weights for s, _ in history] == [1600, 1200, 800, 400]
    assert all(r.epochs_run == 2 for _, r in history)


def test_invalid_options():
    with pytest.raises(ConfigError, match="class-blinded"):
        prune(mlp(), 0.5, "smallest")
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        prune(mlp(), 1.0)
    with pytest.raises(ConfigError, match="n_steps"):
        compression_schedule(0.5, 0)


def test_masks_to_graph_layers_and_edges():
    net = mlp(widths=(6, 4, 3), n_outputs=2)
    prune(net, 0.5, "class-blinded")
    g = masks_to_graph(network_masks(net))
    assert g.number_of_nodes() == 6 + 4 + 3 + 2
    assert [g.nodes[n]["layer"] for n in (0, 5, 6, 9, 10, 12, 13, 14)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert g.number_of_edges() == net.n_weights
    m0 = net.layers[0].mask.numpy()
    assert all(g.has_edge(i, 6 + j) == bool(m0[j, i]) for i in range(6) for j in range(4))


def test_masks_round_trip_to_a_fixed_topology(tmp_path):
    net = mlp()
    prune(net, 0.8, "class-uniform")
    path = tmp_path / "masks.npz"
    save_masks(path, net)
    masks = load_masks(path)
    assert [m.shape for m in masks] == [(30, 40), (20, 30), (10, 20)]
    seeded = network_from_masks(masks, seed=3)
    assert all(torch.equal(a.mask, b.mask) for a, b in zip(net.masked_layers(), seeded.masked_layers()))
    assert seeded.n_weights == net.n_weights and not seeded.output_layer.mask.all()
    assert (seeded.output_layer.weight[~seeded.output_layer.mask] == 0).all()
    assert seeded(torch.randn(5, 40)).shape == (5, 10)
    with pytest.raises(DataError, match="not a mask archive"):
        load_masks(tmp_path / "missing.npz")


def test_pruned_record_has_structural_features():
    net = mlp(widths=(12, 8, 6), n_outputs=3)
    prune(net, 0.5, "class-blinded")
    genome = Genome(prior="complete", n_nodes=2, mapping="layered", n_layers=2, width=8)
    record = pruned_record(
        net,
        genome,
        run_id="r",
        task="digits",
        metrics={"val_acc": 0.5, "test_acc": 0.4},
        pruning={"scheme": "class-blinded", "compression": 0.5},
    )
    assert record["status"] == "trained" and record["pruning"]["scheme"] == "class-blinded"
    assert record["features"]["n_weights"] == net.n_weights
    from nasprior.features import FEATURE_NAMES

    assert set(FEATURE_NAMES) <= set(record["features"])


def test_prune_experiment_on_digits(tmp_path, monkeypatch):
    from nasprior.runs.records import RecordLog
    from nasprior.sparsity.experiments import PruneExperimentConfig, format_prune_table, run_prune_experiment
    from nasprior.tasks import load_task

    data = load_task("digits", seed=0)
    config = PruneExperimentConfig(hidden=32, epochs=3, retrain_epochs=1, n_steps=2, compression=0.5, seeds=(0, 1))
    result = run_prune_experiment(data, config, tmp_path / "run", structural=True, log=lambda line: None)
    assert set(result.test_acc) == {"unpruned", "dense control", *config.schemes}
    assert all(len(v) == 2 for v in result.test_acc.values())
    assert result.density == pytest.approx(
        {s: (0.5 * (64 * 32 + 32 * 10)) / (64 * 32 + 32 * 10) for s in config.schemes}, abs=1e-3
    )
    records = RecordLog(tmp_path / "run" / "records.jsonl").read()
    assert len(records) == 2 * (2 + 4)
    pruned = [r for r in records if "pruning" in r]
    assert {r["pruning"]["scheme"] for r in pruned} == set(config.schemes)
    for r in pruned:
        assert [round(s["achieved_compression"], 6) for s in r["pruning"]["steps"]] == [0.25, 0.5]
        assert r["features"]["n_weights"] == round(0.5 * (64 * 32 + 32 * 10))
        masks = load_masks(tmp_path / "run" / r["pruning"]["masks_file"])
        assert sum(int(m.sum()) for m in masks) == r["features"]["n_weights"]
    table = format_prune_table(result, config)
    assert table.count("\n") == 6 and "class-blinded" in table and "±" in table
    # the pruned topologies are predictor data like any run's; the run's config gives the task's shape
    import nasprior.predictors as predictors

    monkeypatch.setattr(predictors.fitting, "get_task", lambda *a, **k: pytest.fail("the config's shape was not used"))
    predictor = predictors.fit_predictor([tmp_path / "run"], "pruned", n_trials=2, folds=3, inner_folds=2, repeats=1)
    assert predictor.task == {"name": "digits", "n_inputs": 64, "n_classes": 10, "vocab_size": 0}
    assert predictor.card["n_train"] == len(records)
    assert {"n_edges", "degree_mean", "n_weights"} <= set(predictor.feature_names)  # dense records have them too


def test_prunes_graph_networks_too():
    genome = Genome(prior="gnp", n_nodes=24, p=0.3, mapping="graph", seed=2)
    torch.manual_seed(0)
    from nasprior.networks import build_network

    net = build_network(genome, TaskShape("t", 10, 3))
    n0 = net.n_weights
    step = prune(net, 0.5, "class-distributed")
    assert net.n_weights == round(0.5 * n0) == step.n_weights
    assert all((layer.weight[~layer.mask] == 0).all() for layer in net.masked_layers())
    with pytest.raises(ConfigError, match="layered"):
        network_masks(net)
