import numpy as np
import pytest
import torch

from nasprior.errors import ConfigError
from nasprior.networks import LayeredNetwork, MaskedLinear
from nasprior.priors.layerwise import er_set_mask
from nasprior.sparsity.set_rewiring import SETCallback, hidden_layers, set_step
from nasprior.training import TrainConfig, train


def sparse_layer(seed=0, shape=(60, 80), density=0.2):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    return MaskedLinear(torch.rand(shape, generator=g) < density)


def test_set_step_keeps_density_and_regrows_new_positions():
    layer = sparse_layer()
    mask0, w0 = layer.mask.clone(), layer.weight.detach().clone()
    n_pos, n_neg = int((w0[mask0] >= 0).sum()), int((w0[mask0] < 0).sum())
    n = set_step(layer, 0.3, torch.Generator().manual_seed(1))
    assert n == round(0.3 * n_pos) + round(0.3 * n_neg)
    assert int(layer.mask.sum()) == int(mask0.sum())  # density exactly fixed
    removed, grown = mask0 & ~layer.mask, layer.mask & ~mask0
    assert int(removed.sum()) == int(grown.sum()) == n
    assert not (grown & mask0).any()  # regrown positions were absent before the step
    assert (layer.weight[removed] == 0).all() and (layer.weight[~layer.mask] == 0).all()
    assert (layer.weight[grown] != 0).all()
    # removed: the smallest positive and the largest negative weights (closest to zero on each side)
    kept = mask0 & layer.mask
    pos_removed, pos_kept = w0[removed & (w0 >= 0)], w0[kept & (w0 >= 0)]
    neg_removed, neg_kept = w0[removed & (w0 < 0)], w0[kept & (w0 < 0)]
    assert pos_removed.max() <= pos_kept.min() and neg_removed.min() >= neg_kept.max()
    # untouched weights unchanged
    assert torch.equal(layer.weight[kept], w0[kept])


def test_regrown_weights_follow_the_init_distribution():
    layer = MaskedLinear(torch.rand(400, 400, generator=torch.Generator().manual_seed(0)) < 0.05)
    mask0 = layer.mask.clone()
    set_step(layer, 0.5, torch.Generator().manual_seed(0))
    grown = layer.mask & ~mask0
    fan_in = float(layer.mask.sum(1).float().mean())
    assert layer.weight[grown].std().item() == pytest.approx(np.sqrt(2 / fan_in), rel=0.15)


def test_set_step_when_few_absent_positions():
    layer = MaskedLinear(torch.ones(4, 5, dtype=torch.bool))
    layer.mask[0, 0] = False  # one absent position only
    layer.apply_mask()
    assert set_step(layer, 0.5, torch.Generator().manual_seed(0)) == 1
    assert int(layer.mask.sum()) == 19 and layer.mask[0, 0]
    with pytest.raises(ConfigError, match="zeta"):
        set_step(layer, 1.5)


def test_set_callback_in_training_rewires_hidden_layers_only():
    torch.manual_seed(0)
    net = LayeredNetwork([er_set_mask(20, 32, 3, seed=0), er_set_mask(32, 32, 3, seed=1)], 4)
    assert hidden_layers(net) == list(net.layers)
    masks0 = [layer.mask.clone() for layer in net.layers]
    counts0 = [int(m.sum()) for m in masks0]
    x, y = torch.randn(256, 20), torch.randint(0, 4, (256,))
    callback = SETCallback(zeta=0.3, seed=0)
    seen, evolved = [], []

    def spy(model, epoch):
        callback(model, epoch)
        seen.append([int(layer.mask.sum()) for layer in model.layers])
        evolved.append(any(not torch.equal(m0, layer.mask) for m0, layer in zip(masks0, model.layers)))
        assert all((layer.weight[~layer.mask] == 0).all() for layer in model.masked_layers())

    train(net, x, y, x[:64], y[:64], TrainConfig(epochs=3, batch_size=32, patience=0), epoch_callback=spy)
    assert [h["epoch"] for h in callback.history] == [1, 2, 3]
    assert all(h["n_rewired"] > 0 for h in callback.history)
    assert seen == [counts0] * 3  # density fixed every epoch
    assert net.output_layer.mask.all()
    assert all(evolved)  # the topology moved away from the initial one
    # train() restores the best epoch's state, masks included: still a coherent sparse network
    assert [int(layer.mask.sum()) for layer in net.layers] == counts0
    assert all((layer.weight[~layer.mask] == 0).all() for layer in net.masked_layers())
