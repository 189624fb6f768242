"""The fast-training recipe's components (nasprior.training.recipe, nasprior.training.augment) and their TrainConfig options."""

import json

import networkx as nx
import pytest
import torch
from torch import nn

from nasprior.dag import to_dag
from nasprior.errors import ConfigError
from nasprior.evaluation import Evaluator
from nasprior.genome import Genome
from nasprior.networks import RandWireNetwork, build_network
from nasprior.networks.convolutional import PatchWhitening, shape_for_training, widen
from nasprior.tasks import TaskShape, load_task
from nasprior.training import TrainConfig, accuracy, schedules, train
from nasprior.training import loop as training
from nasprior.training.augment import alternating_flips, random_crop_flip
from nasprior.training.recipe import (
    dirac_init_,
    ema_decay_at,
    make_ema,
    param_groups,
    tta_probabilities,
)
from nasprior.training.schedules import warmup_linear_scheduler

SHAPE = TaskShape("tiny", 8 * 8 * 3, 4, image_shape=(8, 8, 3))


def correlated_images(n: int = 64, seed: int = 0) -> torch.Tensor:
    """(n, 3, 8, 8) images with strongly correlated neighbouring pixels and channels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 9, 9, generator=g)
    x = (x[..., :-1, :-1] + x[..., 1:, :-1] + x[..., :-1, 1:]) / 3  # spatial correlation
    noise = torch.randn(n, 2, 8, 8, generator=g)
    return torch.cat([x, 0.5 * x + 0.3 * noise[:, :1], -x + 2.0 + 0.3 * noise[:, 1:]], dim=1)


def tiny_net(seed: int = 0) -> RandWireNetwork:
    torch.manual_seed(seed)
    return RandWireNetwork(to_dag(nx.path_graph(3)), (8, 8, 3), n_classes=4, n_stages=2, channels=4, op="conv")


def tiny_data(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, 8, 3, generator=g), torch.randint(0, 4, (n,), generator=g)


def test_whitening_output_is_white_on_the_images_it_was_fitted_on():
    images = correlated_images()
    layer = PatchWhitening(3, patch=2, eps=1e-8).fit(images)
    out = layer.whiten(images)  # (64, 24, 7, 7)
    assert out.shape == (64, 24, 7, 7)
    half = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()
    assert torch.allclose(half.mean(dim=0), torch.zeros(12, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(torch.cov(half.T), torch.eye(12, dtype=torch.float64), atol=1e-3)
    raw = images.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 12)
    assert torch.cov(raw.T).sub(torch.eye(12)).abs().max() > 0.3  # the input was far from white
    assert torch.allclose(out[:, 12:], -out[:, :12])  # both signs
    assert layer(images).shape == (64, 24, 8, 8)  # padded: resolution kept
    assert list(layer.parameters()) == []  # frozen: buffers only


def test_whitening_stem_replaces_the_stem_and_trains(capsys):
    net = tiny_net()
    x, y = tiny_data(32, 1)
    net.use_whitening_stem(x)
    assert isinstance(net.stem[0], PatchWhitening) and net.stem[1].in_channels == 24
    assert net(x).shape == (32, 4)
    frozen = net.stem[0].weight.clone()
    train(net, x, y, x[:8], y[:8], TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.1, patience=0))
    assert torch.equal(net.stem[0].weight, frozen)
    mlp = build_network(Genome("gnp", n_nodes=4, p=0.5), TaskShape("t", 192, 4))
    with pytest.raises(ConfigError, match="whiten_stem needs a convolutional network"):
        train(mlp, x.flatten(1), y, x[:8].flatten(1), y[:8], TrainConfig(epochs=1, whiten_stem=True))


def test_dirac_init_makes_convolutions_pass_channels_through():
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
    depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
    assert dirac_init_(nn.Sequential(conv, depthwise)) == 2
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(conv(x)[:, :3], x)  # the first min(c_out, c_in) filters are the identity
    assert conv.weight[3:].abs().sum() > 0  # the rest keep their random initialisation
    z = torch.randn(2, 4, 6, 6)
    assert torch.allclose(depthwise(z), z)


def test_param_groups_scale_batch_norm_bias_lr_and_drop_decay():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4))
    groups = param_groups(net, lr=0.1, weight_decay=5e-4, bn_bias_lr_scale=64, no_decay_norm_bias=True)
    by_ids = {tuple(id(p) for p in g["params"]): g for g in groups}
    assert by_ids[(id(net[0].weight),)] == {"params": [net[0].weight], "lr": 0.1, "weight_decay": 5e-4}
    assert by_ids[(id(net[0].bias), id(net[1].weight))]["weight_decay"] == 0.0
    assert by_ids[(id(net[1].bias),)]["lr"] == pytest.approx(6.4)
    optimizer = torch.optim.SGD(groups, lr=0.1)
    assert sorted(g["lr"] for g in optimizer.param_groups) == pytest.approx([0.1, 0.1, 6.4])


def test_warmup_linear_schedule_lr_at_steps():
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [param], "lr": 1.0}, {"params": [nn.Parameter(torch.zeros(1))], "lr": 4.0}])
    scheduler = warmup_linear_scheduler(optimizer, n_steps=10, warmup_fraction=0.2)  # 2 warm-up steps
    lrs = []
    for _ in range(10):
        lrs.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    expected = [0.2, 0.6, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]
    assert [a for a, _ in lrs] == pytest.approx(expected)
    assert [b for _, b in lrs] == pytest.approx([4 * e for e in expected])  # each group's own lr
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)  # decayed to 0 at the end


def test_alternating_flip_flips_every_other_epoch():
    first = torch.tensor([True, False, True, False, False])
    assert torch.equal(alternating_flips(first, 1), first)
    assert torch.equal(alternating_flips(first, 2), ~first)
    assert torch.equal(alternating_flips(first, 3), first)
    images = torch.randn(5, 4, 6, 3)
    out = random_crop_flip(images, padding=0, flip=alternating_flips(first, 2))
    assert torch.equal(out[~first], images[~first].flip(2)) and torch.equal(out[first], images[first])


def test_translation_by_two_with_reflection_padding():
    images = torch.arange(2 * 6 * 6, dtype=torch.float32).reshape(2, 6, 6)
    out = random_crop_flip(images, padding=2, generator=torch.Generator().manual_seed(0), pad_mode="reflect")
    assert out.shape == images.shape
    assert (out != 0).all()  # reflected edges, no zero fill (every value here is > 0 but the first)
    with pytest.raises(ValueError, match="pad_mode"):
        random_crop_flip(images, pad_mode="wrap")


def test_tta_averages_probabilities_of_the_image_and_its_mirror_image():
    net = tiny_net().eval()
    x, y = tiny_data(16, 2)
    manual = (torch.softmax(net(x), 1) + torch.softmax(net(x.flip(2)), 1)) / 2
    assert torch.allclose(tta_probabilities(net, x, "flip"), manual, atol=1e-6)
    assert torch.allclose(tta_probabilities(net, x, "none"), torch.softmax(net(x), 1), atol=1e-6)
    assert torch.allclose(tta_probabilities(net, x, "flip_translate").sum(1), torch.ones(16))
    assert accuracy(net, x, y, tta="flip") == pytest.approx((manual.argmax(1) == y).float().mean().item())
    with pytest.raises(ValueError, match="tta mode"):
        tta_probabilities(net, x, "rotate")


def test_ema_weights_differ_from_raw_weights_and_are_evaluated():
    x, y = tiny_data(64, 3)
    xv, yv = tiny_data(32, 4)
    raw = {}
    config = TrainConfig(epochs=1, batch_size=8, optimizer="sgd", lr=0.2, patience=0, ema_decay=0.9)
    net = tiny_net()
    result = train(
        net,
        x,
        y,
        xv,
        yv,
        config,
        epoch_callback=lambda m, e: raw.update({k: v.clone() for k, v in m.state_dict().items()}),
    )
    ema_state = net.state_dict()
    key = "classifier.weight"
    assert not torch.allclose(ema_state[key], raw[key])  # the model ends with the average, not the raw weights
    assert not torch.allclose(ema_state["stem.1.running_mean"], raw["stem.1.running_mean"])  # buffers averaged
    assert result.val_acc == pytest.approx(accuracy(net, xv, yv))  # validation scored the average
    plain = tiny_net()
    train(plain, x, y, xv, yv, TrainConfig(**{**config.to_dict(), "ema_decay": 0.0}))
    assert torch.allclose(plain.state_dict()[key], raw[key])  # same seeds: the raw weights are the plain run's


def test_width_multiplier_scales_channels_and_keeps_the_graph():
    genome = Genome("gnp", "convolutional", n_nodes=5, p=0.6, n_stages=3, channels=8, op="conv")
    narrow, wide = build_network(genome, SHAPE), build_network(widen(genome, 2.0), SHAPE)
    assert wide.channels == 2 * narrow.channels
    assert nx.utils.graphs_equal(wide.dag, narrow.dag)
    for s_narrow, s_wide in zip(narrow.stages, wide.stages):
        assert s_wide.order == s_narrow.order and s_wide.preds == s_narrow.preds
        for v in s_narrow.order:
            c_narrow = s_narrow.nodes[str(v)].op[1].out_channels
            assert s_wide.nodes[str(v)].op[1].out_channels == 2 * c_narrow
    assert widen(genome, 1.0) is genome and widen(Genome("gnp", n_nodes=4, p=0.5), 2.0).get("channels") is None
    with pytest.raises(ConfigError, match="width_multiplier"):
        widen(genome, 100.0)


def test_record_says_the_width_it_was_trained_at():
    digits = load_task("digits", seed=0)
    genome = Genome("gnp", "convolutional", n_nodes=3, p=0.6, n_stages=1, channels=4, op="conv")
    config = TrainConfig(epochs=1, batch_size=256, patience=0, width_multiplier=1.5)
    record = Evaluator(digits, config, "t", 0).evaluate(genome).record
    assert record["status"] == "trained"
    assert record["train"]["width_multiplier"] == 1.5 and record["trained_channels"] == 6
    assert record["genome"]["channels"] == 4  # the genome (and its key) stay the screened one


def test_pooled_stem_halves_every_stage_resolution_and_keeps_the_graph_and_weights():
    genome = Genome("gnp", "convolutional", n_nodes=5, p=0.6, n_stages=3, channels=8, op="conv")
    shape = TaskShape("cifar-sized", 32 * 32 * 3, 10, image_shape=(32, 32, 3))
    torch.manual_seed(0)
    plain = build_network(genome, shape)
    torch.manual_seed(0)
    pooled = shape_for_training(build_network(genome, shape), 2)
    assert pooled.stem_pool == 2 and nx.utils.graphs_equal(pooled.dag, plain.dag)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), pooled.state_dict().values()))
    sides = {}
    for name, net in (("plain", plain), ("pooled", pooled)):
        net.stages[0].register_forward_hook(lambda m, i, o, name=name: sides.setdefault(name, []).append(o.shape[-1]))
        net.stages[-1].register_forward_hook(lambda m, i, o, name=name: sides[name].append(o.shape[-1]))
        assert net(torch.rand(2, 32, 32, 3)).shape == (2, 10)
    assert sides == {"plain": [32, 8], "pooled": [16, 4]}
    # Twice the channels at half the resolution: each node's convolution costs what it cost before.
    wide = shape_for_training(build_network(widen(genome, 2.0), shape), 2)
    stem_and_head = 32 * 32 * 3 * 9 + 32 * 10  # the stem's and the classifier's multiply-accumulates per channel
    convolutions = plain.n_flops - 8 * stem_and_head
    assert wide.n_flops - 16 * stem_and_head == pytest.approx(convolutions, rel=0.05)  # aggregation sums halve
    assert wide.n_weights > 3.5 * plain.n_weights
    assert shape_for_training(plain, 1) is plain
    with pytest.raises(ConfigError, match="use a stem_pool of at most 8"):
        build_network(genome, shape).pool_stem(16)
    with pytest.raises(ConfigError, match="needs a convolutional network"):
        shape_for_training(build_network(Genome("gnp", n_nodes=4, p=0.5), SHAPE), 2)


def test_record_says_the_resolution_it_was_trained_at():
    digits = load_task("digits", seed=0)
    genome = Genome("gnp", "convolutional", n_nodes=3, p=0.6, n_stages=2, channels=4, op="conv")
    config = TrainConfig(epochs=1, batch_size=256, patience=0, stem_pool=2)
    evaluation = Evaluator(digits, config, "t", 0).evaluate(genome)
    assert evaluation.record["status"] == "trained" and evaluation.record["train"]["stem_pool"] == 2
    assert evaluation.network.stem_pool == 2


@pytest.mark.parametrize(
    "option, value",
    [
        ("tta", "rotate"),
        ("flip", "sometimes"),
        ("ema_decay", 1.0),
        ("width_multiplier", 0),
        ("pad_mode", "wrap"),
        ("stem_pool", 0),
        ("stem_pool", 1.5),
    ],
)
def test_recipe_options_are_checked(option, value):
    with pytest.raises(ConfigError, match=option):
        TrainConfig(**{option: value})


def test_ema_decay_warms_up_to_the_given_decay():
    assert ema_decay_at(0.99, 0) == pytest.approx(0.1)
    assert ema_decay_at(0.99, 10) == pytest.approx(11 / 20)
    assert ema_decay_at(0.99, 10_000) == 0.99
    net = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(0.0)
    ema = make_ema(net, 0.9)
    ema.update_parameters(net)  # the first update copies
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update_parameters(net)  # one update done before: d = min(0.9, 2 / 11)
    assert ema.module.weight.item() == pytest.approx(1 - 2 / 11)


def test_compiled_training_matches_eager_and_drops_the_ragged_batch(monkeypatch):
    monkeypatch.setattr(training, "COMPILE_BACKEND", "eager")  # dynamo's graph capture without inductor's C++ build
    x, y = tiny_data(40, 5)
    config = TrainConfig(epochs=1, batch_size=16, optimizer="sgd", lr=0.1, patience=0)
    compiled_config = TrainConfig(**{**config.to_dict(), "compile": True})

    def trained(n, cfg):
        net = tiny_net()
        train(net, x[:n], y[:n], x[:8], y[:8], cfg)
        return torch.cat([p.detach().flatten() for p in net.parameters()])

    assert torch.allclose(trained(32, config), trained(32, compiled_config), atol=1e-5)  # two full batches
    assert not torch.allclose(trained(40, config), trained(40, compiled_config), atol=1e-5)  # the ragged 8 dropped


@pytest.mark.parametrize("warmup_fraction", [0.0, 0.5])
def test_time_budget_rebuilds_warmup_linear_schedule_from_the_base_lr(monkeypatch, warmup_fraction):
    built = []

    def spy(optimizer, n_steps, fraction):
        built.append(warmup_linear_scheduler(optimizer, n_steps, fraction))
        return built[-1]

    monkeypatch.setattr(schedules, "warmup_linear_scheduler", spy)
    x, y = tiny_data(32, 2)
    after_first = []
    config = TrainConfig(
        epochs=4, batch_size=16, optimizer="sgd", lr=0.1, patience=0, schedule="warmup_linear",
        warmup_fraction=warmup_fraction,
    )  # fmt: skip
    train(
        tiny_net(), x, y, x[:8], y[:8], config, fit_epochs=lambda s: 2,
        progress=lambda epoch, epochs, acc: after_first.append(built[-1].optimizer.param_groups[0]["lr"]),
    )  # fmt: skip
    assert len(built) == 2  # the 8-step schedule, then the 4-step one the time budget chose
    fresh = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    reference = warmup_linear_scheduler(fresh, 4, warmup_fraction)
    for _ in range(2):  # epoch 1: two steps of 16 images
        fresh.step()
        reference.step()
    assert after_first[0] == pytest.approx(fresh.param_groups[0]["lr"])  # as if planned for 2 epochs from the start


def test_tta_scores_the_kept_weights_and_the_curve_stays_plain():
    x, y = tiny_data(64, 5)
    xv, yv = tiny_data(48, 6)
    xt, yt = tiny_data(40, 7)
    config = TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=0.2, patience=0, tta="flip_translate")
    net = tiny_net()
    result = train(net, x, y, xv, yv, config, x_test=xt, y_test=yt)
    assert result.val_acc == pytest.approx(accuracy(net, xv, yv, tta="flip_translate"))  # the record's scores: TTA
    assert result.test_acc == pytest.approx(accuracy(net, xt, yt, tta="flip_translate"))
    best = max(result.curve, key=lambda c: c["val_acc"])  # the curve and the best epoch: plain validation
    assert best["val_acc"] == pytest.approx(accuracy(net, xv, yv))


def _reference_module():
    """benchmarks/cifar10_reference.py, imported as its own directory's scripts import one another."""
    import importlib
    import sys
    from pathlib import Path

    bench = str(Path(__file__).resolve().parents[1] / "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    return importlib.import_module("cifar10_reference")


def test_reference_network_shapes_and_the_search_summary_it_compares_with(tmp_path):
    ref = _reference_module()
    torch.manual_seed(0)
    net = ref.ReferenceNet((8, 16, 16), n_classes=10)
    images = torch.rand(16, 32, 32, 3)
    net.use_whitening_stem(images)
    assert net(images[:3]).shape == (3, 10)
    assert not any(m.weight.requires_grad for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    genome = {"prior": "gnp", "mapping": "convolutional", "n_nodes": 4, "p": 0.5, "n_stages": 3, "channels": 8}
    row = {"label": "default", "seed": 1, "genome": genome, "final_epochs": 8, "wall_min": 30.5}
    summary = tmp_path / "summary.jsonl"
    failed = {**row, "seed": 2, "test_acc": None}
    summary.write_text("\n".join(json.dumps(r) for r in [{**row, "val_acc": 0.8, "test_acc": 0.79}, failed]) + "\n")
    (searched,) = ref.search_rows(str(summary))
    assert searched["wall_s"] == 1830.0 and searched["test_acc"] == 0.79 and "gnp" in searched["network"]
    summary.write_text(json.dumps(row)[:40] + "\n")  # a truncated line
    with pytest.raises(SystemExit, match="summary.jsonl:1: not a summary row"):
        ref.search_rows(str(summary))
    with pytest.raises(SystemExit, match="cannot read the search summary"):
        ref.search_rows(str(tmp_path / "missing.jsonl"))
