"""Zero-cost proxies: finite on small networks, known properties, training untouched, records and feature groups."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from nasprior.cli import main
from nasprior.errors import ConfigError, RecordError
from nasprior.evaluation import CANDIDATE_FEATURES, Evaluator
from nasprior.features import PROXY_FEATURE_NAMES, group_feature_names, proxy_batch, proxy_features
from nasprior.features.proxies import grad_norm, jacob_cov, naswot, snip, synflow
from nasprior.genome import Genome
from nasprior.networks import MaskedLinear
from nasprior.predictors import fit_predictor
from nasprior.tasks import TaskData, load_task
from nasprior.training import TrainConfig


def _mlp(seed: int = 0, hidden: int = 96) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 3)
    )


def _cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 3),
    )


def _batch(shape: tuple[int, ...], n: int = 16, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, *shape), generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("make, shape", [(_mlp, (12,)), (_cnn, (2, 6, 6))])
def test_every_proxy_is_finite_and_leaves_the_network_as_it_was(make, shape):
    net = make()
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    x, y = _batch(shape)
    scores = proxy_features(net, x, y)
    assert list(scores) == list(PROXY_FEATURE_NAMES)
    assert all(isinstance(v, float) and math.isfinite(v) for v in scores.values()), scores
    assert scores["proxy_synflow"] > 0 and scores["proxy_snip"] > 0 and scores["proxy_grad_norm"] > 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # incl. batch-norm statistics
    assert all(p.grad is None for p in net.parameters()) and not net.training
    assert torch.equal(rng, torch.get_rng_state())


def test_naswot_is_higher_when_the_codes_differ_across_inputs():
    x, _ = _batch((12,), n=16)
    varied = _mlp()
    constant = _mlp()
    with torch.no_grad():  # first layer blind to the input: every example gets the same codes
        constant[1].weight.zero_()
        constant[1].bias.fill_(1.0)
    assert math.isfinite(naswot(varied, x))
    assert naswot(constant, x) == -math.inf < naswot(varied, x)
    with pytest.raises(ValueError, match="ReLU"):
        naswot(nn.Sequential(nn.Linear(12, 3)), x)


def test_synflow_is_depth_times_the_path_sum_and_ignores_absent_weights():
    """For a bias-free ReLU chain, sum_theta |theta dR/dtheta| = L * R (R homogeneous of degree 1 in each layer)."""
    torch.manual_seed(0)
    mask = torch.rand(20, 12) < 0.5
    first = MaskedLinear(mask.numpy(), bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.randn(20, 12))  # absent weights non-zero: they must not count
    net = nn.Sequential(first, nn.ReLU(), nn.Linear(20, 20, bias=False), nn.ReLU(), nn.Linear(20, 3, bias=False))
    signed = first.weight.detach().clone()
    w1 = (first.weight * first.mask).abs().double()
    w2, w3 = (net[i].weight.abs().double() for i in (2, 4))
    path_sum = float((w3 @ w2 @ w1).sum().detach())
    assert synflow(net, torch.randn(4, 12)) == pytest.approx(3 * path_sum, rel=1e-9)
    assert torch.equal(first.weight, signed) and (signed < 0).any()  # signs untouched: it works on a copy


def test_snip_and_grad_norm_count_present_weights_only():
    torch.manual_seed(0)
    mask = np.zeros((3, 12), dtype=bool)
    mask[:, :4] = True
    layer = MaskedLinear(mask, bias=False)
    with torch.no_grad():
        layer.weight.normal_()  # absent weights non-zero
    x, y = _batch((12,))
    dense = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        dense.weight.copy_(layer.weight[:, :4])
    assert snip(layer, x, y) == pytest.approx(snip(dense, x[:, :4], y), rel=1e-6)
    assert grad_norm(layer, x, y) == pytest.approx(grad_norm(dense, x[:, :4], y), rel=1e-6)


def test_jacob_cov_is_lower_for_jacobians_correlated_across_inputs():
    x, _ = _batch((12,))
    linear = nn.Sequential(nn.Linear(12, 3))  # the same Jacobian for every input: correlation 1
    assert jacob_cov(linear, x) < jacob_cov(_mlp(), x)
    identical = _mlp()
    with torch.no_grad():
        identical[1].weight.zero_()  # input-independent network: zero Jacobians, undefined correlation
    assert math.isnan(jacob_cov(identical, x))
    assert proxy_features(identical, x, torch.zeros(16, dtype=torch.long))["proxy_jacob_cov"] is None


def test_proxy_batch_is_seeded_and_leaves_the_global_random_state():
    x, y = torch.arange(200.0).view(100, 2), torch.arange(100)
    rng = torch.get_rng_state()
    a, b = proxy_batch(x, y, seed=3), proxy_batch(x, y, seed=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and len(a[1]) == 64
    assert not torch.equal(proxy_batch(x, y, seed=4)[1], a[1])
    assert torch.equal(rng, torch.get_rng_state())
    assert len(proxy_batch(x[:10], y[:10], seed=0)[1]) == 10
    with pytest.raises(ValueError):
        proxy_batch(x[:0], y[:0], seed=0)


@pytest.fixture(scope="module")
def digits():
    return load_task("digits")


def test_training_is_bit_identical_with_and_without_proxies(digits):
    genome = Genome(prior="gnp", mapping="layered", n_nodes=16, p=0.3, n_layers=2, width=64, seed=0)
    config = TrainConfig(epochs=2, batch_size=64, lr=0.003, seed=0)
    runs = []
    for with_proxies in (False, True):
        evaluator = Evaluator(digits, config, "r", seed=0)
        evaluator.with_proxies = with_proxies
        torch.manual_seed(123)  # the same global state before each: the proxies must not consume any of it
        runs.append(evaluator.evaluate(genome))
    plain, proxied = runs
    assert plain.record["status"] == proxied.record["status"] == "trained"
    assert plain.record["metrics"] == proxied.record["metrics"] and plain.record["curve"] == proxied.record["curve"]
    a, b = plain.network.state_dict(), proxied.network.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not set(PROXY_FEATURE_NAMES) & set(plain.record["features"])
    assert set(PROXY_FEATURE_NAMES) <= set(proxied.record["features"])
    assert proxied.record["features"]["proxy_naswot"] is not None  # 2 x 64 ReLU units > 64 examples


def test_sequence_tasks_carry_no_proxies():
    tokens = torch.randint(1, 5, (8, 6))
    labels = torch.randint(0, 2, (8,))
    data = TaskData("seq", tokens, labels, tokens, labels, tokens, labels, n_classes=2, vocab_size=5)
    assert Evaluator(data, TrainConfig(epochs=1), "r", seed=0).proxies(Genome(seed=0)) == {}


# ------------------------------------------------------------------ records and feature groups


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxies")
    argv = ["sample", "--task", "digits", "--n", "12", "--epochs", "1", "--workers", "1", "--seed", "0"]
    assert main([*argv, "--runs-dir", str(root / "runs"), "--run-id", "s"]) == 0
    return root / "runs" / "s"


FIT = dict(n_trials=2, folds=3, inner_folds=2, repeats=1, seed=0)


def test_records_carry_the_proxy_group_and_fit_selects_groups(sampled):
    records = [json.loads(line) for line in (sampled / "records.jsonl").read_text().splitlines()]
    trained = [r for r in records if r["status"] == "trained"]
    assert len(trained) >= 10
    assert all(set(PROXY_FEATURE_NAMES) <= set(r["features"]) for r in trained)
    assert all(r["features"]["proxy_synflow"] > 0 for r in trained)
    card = fit_predictor([sampled], "p", feature_groups="proxies", **FIT).card
    assert card["features"]["groups"] == ["proxies"]
    assert set(card["features"]["names"]) <= set(PROXY_FEATURE_NAMES) and card["features"]["names"]
    assert card["features"]["size_only"] and "n_params" in card["features"]["size_only"] + ["n_params"]
    assert card["scores"]["size_only"]["r2"]["values"]  # baseline scored without size columns in the model
    default = fit_predictor([sampled], "d", **FIT).card
    assert default["features"]["groups"] == ["structural", "size", "topology", "profile", "wl"]
    assert not set(default["features"]["names"]) & set(PROXY_FEATURE_NAMES)


def test_older_records_without_proxies_still_fit(sampled, tmp_path):
    run = shutil.copytree(sampled, tmp_path / "old")
    lines = []
    for line in (run / "records.jsonl").read_text().splitlines():
        record = json.loads(line)
        record["features"] = {k: v for k, v in record["features"].items() if k not in PROXY_FEATURE_NAMES}
        lines.append(json.dumps(record) + "\n")
    (run / "records.jsonl").write_text("".join(lines))
    card = fit_predictor([run], "old", **FIT).card
    assert card["features"]["names"] and set(card["features"]["names"]) <= set(CANDIDATE_FEATURES)
    for groups in ("size,proxies", "all"):
        with pytest.raises(RecordError, match="proxies"):
            fit_predictor([run], "old", feature_groups=groups, **FIT)


def test_a_proxy_missing_in_some_record_is_dropped(sampled, tmp_path):
    run = shutil.copytree(sampled, tmp_path / "mixed")
    lines = (run / "records.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["features"]["proxy_snip"] = None  # a non-finite score is logged as null
    (run / "records.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    card = fit_predictor([run], "mixed", feature_groups="proxies", **FIT).card
    assert "proxy_snip" in card["features"]["dropped"] and "proxy_synflow" in card["features"]["names"]


def test_unknown_feature_group_is_one_clear_error(sampled, tmp_path, capsys):
    with pytest.raises(ConfigError, match="structural, size, topology, profile, wl, proxies"):
        group_feature_names("size,shape")
    code = main(
        ["predictor", "fit", str(sampled), "--name", "x", "--out", str(tmp_path), "--feature-groups", "size,colour"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "colour" in err and "proxies" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
