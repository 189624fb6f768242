"""The real sparse (CSR) layer: same function and gradients as the masked layer, optimisers, SET, pruning."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nasprior.networks import LayeredNetwork, MaskedLinear, SparseLinear, use_sparse_kernel
from nasprior.networks.sparse import SPARSE_MAX_DENSITY, SPARSE_MIN_WEIGHTS
from nasprior.sparsity.pruning import prune
from nasprior.sparsity.set_rewiring import SETCallback, set_step
from nasprior.training import TrainConfig, train


def pair(n_out=40, n_in=60, density=0.1, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_out, n_in)) < density
    torch.manual_seed(seed)
    masked = MaskedLinear(mask)
    sparse = SparseLinear(mask, weight=masked.weight)
    with torch.no_grad():
        sparse.bias.copy_(torch.randn(n_out))
        masked.bias.copy_(sparse.bias)
    return masked, sparse


def test_forward_and_gradients_match_the_masked_layer():
    masked, sparse = pair()
    assert torch.equal(sparse.mask, masked.mask) and torch.allclose(sparse.weight, masked.weight)
    x = torch.randn(7, 60, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    torch.testing.assert_close(sparse(x2), masked(x))
    (masked(x) ** 2).sum().backward()
    (sparse(x2) ** 2).sum().backward()
    torch.testing.assert_close(x2.grad, x.grad)
    torch.testing.assert_close(
        sparse.values.grad[sparse.order], masked.weight.grad.view(-1)[masked.present_positions()]
    )
    torch.testing.assert_close(sparse.bias.grad, masked.bias.grad)
    assert sparse.n_weights == masked.n_weights and sparse.values.numel() == masked.n_weights  # memory ~ non-zeros


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_compiled_kernels_compute_what_torch_csr_computes(dtype, monkeypatch):
    """The default compiled CPU kernels against torch's CSR kernels: outputs and both gradients, after SET moves too."""
    from nasprior.networks import sparse as sparse_module

    assert sparse_module.sparse_kernels.AVAILABLE  # numba is a dependency: the compiled kernels run here
    _, layer = pair(n_out=70, n_in=90, density=0.08, seed=5)
    set_step(layer, 0.3, torch.Generator().manual_seed(1))  # slots no longer in CSR order
    layer = layer.to(dtype)
    x = torch.randn(33, 90, dtype=dtype)
    results = []
    for compiled in (True, False):
        monkeypatch.setattr(sparse_module, "use_compiled_kernels", compiled)
        layer.zero_grad()
        x_ = x.clone().requires_grad_(True)
        out = torch.relu(layer(x_))
        (out * torch.linspace(-1, 1, 70, dtype=dtype)).sum().backward()
        results.append((out.detach(), x_.grad, layer.values.grad.clone()))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, **tol)
    assert (results[0][2] != 0).sum() > 0.5 * layer.n_weights


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_optimisers_train_it_like_the_masked_layer(optimizer):
    masked, sparse = pair(seed=1)
    make = (
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))
        if optimizer == "sgd"
        else (lambda p: torch.optim.Adam(p, lr=0.01))
    )
    opt_m, opt_s = make(masked.parameters()), make(sparse.parameters())
    x, y = torch.randn(16, 60), torch.randn(16, 40)
    for _ in range(5):
        for layer, opt in ((masked, opt_m), (sparse, opt_s)):
            opt.zero_grad()
            ((layer(x) - y) ** 2).mean().backward()
            opt.step()
            layer.apply_mask()
    torch.testing.assert_close(sparse.weight, masked.weight, atol=1e-5, rtol=1e-4)


def test_set_rewiring_keeps_count_moves_slots_and_trains():
    _, sparse = pair(n_out=50, n_in=80, density=0.05, seed=2)
    before_mask, before = sparse.mask.clone(), sparse.present_weights().clone()
    gen = torch.Generator().manual_seed(0)
    moved = set_step(sparse, 0.3, gen)
    assert moved > 0 and sparse.n_weights == int(before_mask.sum()) == int(sparse.mask.sum())
    assert int((sparse.mask & ~before_mask).sum()) == moved  # regrown at positions that were absent
    kept = before_mask & sparse.mask
    torch.testing.assert_close(
        sparse.weight[kept],
        before_mask.float().new_zeros(before_mask.shape).index_put(tuple(torch.nonzero(before_mask).t()), before)[kept],
    )
    # a layered network with sparse layers trains with SET through train()
    torch.manual_seed(0)
    masks = [np.random.default_rng(3).random((64, 32)) < 0.2, np.random.default_rng(4).random((64, 64)) < 0.2]
    net = LayeredNetwork(masks, 3, sparse=True)
    assert all(isinstance(layer, SparseLinear) for layer in net.layers)
    x, y = torch.randn(200, 32), torch.randint(0, 3, (200,))
    callback = SETCallback(zeta=0.3, seed=0)
    result = train(
        net,
        x,
        y,
        x,
        y,
        TrainConfig(epochs=3, batch_size=50, optimizer="sgd", lr=0.05, seed=0, patience=0),
        epoch_callback=callback,
    )
    assert result.epochs_run == 3 and all(h["n_rewired"] > 0 for h in callback.history)
    assert sum(layer.n_weights for layer in net.layers) == sum(int(m.sum()) for m in masks)


def test_pruning_and_state_dict_of_a_sparse_layer():
    masks = [np.random.default_rng(5).random((64, 32)) < 0.3]
    torch.manual_seed(0)
    net = LayeredNetwork(masks, 3, sparse=True)
    n0 = net.layers[0].n_weights
    state = copy.deepcopy(net.state_dict())
    step = prune(net, 0.5, "class-blinded", include_output=False)
    assert net.layers[0].n_weights == round(n0 * 0.5) and step.achieved_compression == pytest.approx(0.5, abs=0.01)
    x = torch.randn(4, 32)
    net(x).sum().backward()  # still trains after pruning
    net.load_state_dict(state)  # a state with another number of connections
    assert net.layers[0].n_weights == n0


def test_auto_switch_thresholds():
    big = np.zeros((1024, 1024), dtype=bool)
    big[:, :50] = True  # ~4.9% dense
    assert use_sparse_kernel(big) and not use_sparse_kernel(np.ones((1024, 1024), dtype=bool))
    assert not use_sparse_kernel(np.zeros((256, 256), dtype=bool))  # too small to gain: digits stays masked
    assert use_sparse_kernel(np.ones((4, 4), dtype=bool), True) and not use_sparse_kernel(big, False)
    assert SPARSE_MAX_DENSITY == 0.1 and SPARSE_MIN_WEIGHTS == 2**18
