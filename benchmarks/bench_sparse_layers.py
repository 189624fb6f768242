"""Sparse kernels against masked dense layers: training-step and inference ratios, and MLP epochs per CPU-hour.

Run: ``python benchmarks/bench_sparse_layers.py`` (about 3 minutes; ``--quick`` for a smoke run). One torch
thread; every variant of a row is timed in interleaved rounds in the same run and the table gives medians and
two ratios: to plain dense ``F.linear`` (the honest baseline: what a user without masks would run) and to the
project's own masked layer (which is 1.2-2.2x slower than plain dense in training), so a loaded machine shifts
the times but much less the ratios. All on one thread, while searches default to all cores.

Variants of a layer ``n_in -> n_out`` (batch 128, training step = forward + backward of ``y.sum()``):

* ``dense``: ``F.linear`` with a dense weight (no mask);
* ``masked``: ``F.linear(x, W * mask)``, :class:`nasprior.networks.MaskedLinear` (the default layer);
* ``csr mm``: the weight as a ``torch.sparse_csr_tensor`` parameter, ``torch.sparse.mm`` (trains with SGD only:
  Adam refuses that layout);
* ``csr addmm``: the same with the bias through ``torch.sparse.addmm``;
* ``bsr 16``: a block-sparse (BSR, 16x16 blocks) parameter; torch 2.13 has no CPU backward for it
  (reported as unsupported), and its forward is given for inference;
* ``SparseLinear``: :class:`nasprior.networks.SparseLinear`, the kernel nasprior uses (a values vector
  parameter; every optimiser works), on its compiled CPU kernels (:mod:`nasprior.networks.sparse_kernels`:
  CSR products on transposed activations, the batch contiguous);
* ``SparseLinear torch CSR``: the same layer on torch's CSR kernels (``torch.sparse.mm`` forward and for the
  input gradient, ``torch.sparse.sampled_addmm`` for the weight gradient), what runs where Numba is missing.

Then an *extrapolated* epoch of a 3072-1024-512-10 MLP: the median of 12 training steps (batch 256, SGD +
momentum) on random CIFAR-10-shaped tensors, times 196, plus one timed evaluation of 2,048 random images
scaled to 10,000, masked against :class:`~nasprior.networks.SparseLinear` hidden layers. It is not an epoch
on CIFAR-10 (no data loading, no real images), and two runs on a shared machine differed by up to 40%;
``epochs per CPU-hour`` = 3600 / (extrapolated seconds per epoch on one thread).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from nasprior.networks import LayeredNetwork, SparseLinear
from nasprior.networks import sparse as sparse_module

warnings.filterwarnings("ignore")
VARIANTS = ("dense", "masked", "csr mm", "csr addmm", "bsr 16", "SparseLinear torch CSR", "SparseLinear")


def _torch_csr(call):
    """``call()`` with :class:`SparseLinear` on torch's CSR kernels instead of the compiled ones."""
    sparse_module.use_compiled_kernels = False
    try:
        return call()
    finally:
        sparse_module.use_compiled_kernels = True


def layer_variants(n_in: int, n_out: int, density: float, batch: int, seed: int = 0):
    """Callables for a training step and for inference, per variant."""
    rng = np.random.default_rng(seed)
    mask_np = rng.random((n_out, n_in)) < density
    mask = torch.as_tensor(mask_np)
    torch.manual_seed(seed)
    dense_w = torch.nn.Parameter(torch.randn(n_out, n_in) * 0.01)
    masked_w = torch.nn.Parameter(dense_w.detach() * mask)
    bias = torch.nn.Parameter(torch.zeros(n_out))
    bias_col = torch.nn.Parameter(torch.zeros(n_out, 1))
    csr_w = torch.nn.Parameter(masked_w.detach().to_sparse_csr())
    layer = SparseLinear(mask_np, weight=masked_w.detach())
    x = torch.randn(batch, n_in)
    params = [dense_w, masked_w, bias, bias_col, csr_w, *layer.parameters()]
    train = {
        "dense": lambda: F.linear(x, dense_w, bias),
        "masked": lambda: F.linear(x, masked_w * mask, bias),
        "csr mm": lambda: torch.sparse.mm(csr_w, x.t()).t() + bias,
        "csr addmm": lambda: torch.sparse.addmm(bias_col, csr_w, x.t()).t(),
        "SparseLinear torch CSR": lambda: _torch_csr(lambda: layer(x)),
        "SparseLinear": lambda: layer(x),
    }
    folded = masked_w.detach().clone()
    csr = folded.to_sparse_csr()
    infer = {
        "dense": lambda: F.linear(x, folded, bias),
        "masked": lambda: F.linear(x, folded, bias),  # inference folds the mask into the weight
        "csr mm": lambda: torch.sparse.mm(csr, x.t()).t() + bias,
        "csr addmm": lambda: torch.sparse.addmm(bias_col, csr, x.t()).t(),
        "SparseLinear torch CSR": lambda: _torch_csr(lambda: layer(x)),
        "SparseLinear": lambda: layer(x),
    }
    try:
        bsr = folded.to_sparse_bsr((16, 16))
        torch.sparse.mm(bsr, x.t())
        infer["bsr 16"] = lambda: torch.sparse.mm(bsr, x.t()).t() + bias
        bsr_w = torch.nn.Parameter(bsr)
        torch.sparse.mm(bsr_w, x.t()).sum().backward()
        train["bsr 16"] = lambda: torch.sparse.mm(bsr_w, x.t()).t() + bias
        params.append(bsr_w)
    except (RuntimeError, NotImplementedError) as exc:
        train["bsr 16"] = f"unsupported ({str(exc).splitlines()[0][:60]})"
    return train, infer, params


def time_interleaved(fns: dict, rounds: int, step: bool, params=()) -> dict:
    """Median ms per call of each callable, timed in interleaved rounds (the first two dropped)."""
    times = {k: [] for k, f in fns.items() if callable(f)}
    for _ in range(rounds + 2):
        for name in times:
            start = time.perf_counter()
            if step:
                fns[name]().sum().backward()
            else:
                with torch.no_grad():
                    fns[name]()
            times[name].append(time.perf_counter() - start)
            for p in params:
                p.grad = None
    return {k: statistics.median(v[2:]) * 1e3 for k, v in times.items()}


def layer_table(shapes, densities, batch: int, rounds: int) -> None:
    print(
        f"\nlayer (batch {batch}, 1 thread): median ms per call (ratio = dense / variant, masked / variant; "
        "higher is faster; dense is plain F.linear)"
    )
    header = f"{'layer':>12} {'density':>7} {'mode':>6} " + "".join(f"{n:>30}" for n in VARIANTS)
    print(header)
    for n_in, n_out in shapes:
        for density in densities:
            train, infer, params = layer_variants(n_in, n_out, density, batch)
            for mode, fns in (("train", train), ("infer", infer)):
                t = time_interleaved(fns, rounds, mode == "train", params)
                cells = []
                for name in VARIANTS:
                    if name in t:
                        cells.append(f"{t[name]:8.2f} ms ({t['dense'] / t[name]:5.2f}x, {t['masked'] / t[name]:5.2f}x)")
                    else:
                        cells.append("unsupported")
                print(
                    f"{n_in:>5}->{n_out:<5} {density:>7.0%} {mode:>6} " + "".join(f"{c:>30}" for c in cells), flush=True
                )


def mlp_epoch_seconds(sparse: bool, density: float, n_batches: int, batch: int = 256) -> float:
    """Seconds of one CIFAR-10-sized epoch (196 steps + 10k evaluation) of a 3072-1024-512-10 MLP, extrapolated."""
    rng = np.random.default_rng(0)
    masks = [rng.random((1024, 3072)) < density, rng.random((512, 1024)) < density]
    torch.manual_seed(0)
    net = LayeredNetwork(masks, 10, sparse=sparse)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, 3072), torch.randint(0, 10, (batch,))
    times = []
    for _ in range(n_batches + 2):
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        net.apply_masks()
        times.append(time.perf_counter() - start)
    step = statistics.median(times[2:])
    xe = torch.randn(2048, 3072)
    start = time.perf_counter()
    with torch.no_grad():
        net(xe)
    evaluation = (time.perf_counter() - start) * 10_000 / 2048
    return step * 196 + evaluation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run (few rounds, small layers)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.quick:
        layer_table([(512, 512)], [0.05], 32, 3)
        n_batches = 3
    else:
        layer_table([(3072, 1024), (1024, 1024), (256, 256)], [0.10, 0.05, 0.02, 0.01], 128, 15)
        n_batches = 12
    print(
        f"\n3072-1024-512-10 MLP, epoch extrapolated from {n_batches} steps of 256 on random tensors (x 196) "
        "+ 2,048 evaluations (x 10,000 / 2,048), SGD + momentum, 1 thread; not an epoch on CIFAR-10"
    )
    print(f"{'density':>7} {'masked s':>9} {'sparse s':>9} {'ratio':>6} {'masked /CPU-h':>14} {'sparse /CPU-h':>14}")
    for density in (0.05,) if args.quick else (0.10, 0.05, 0.02):
        masked = mlp_epoch_seconds(False, density, n_batches)
        sparse = mlp_epoch_seconds(True, density, n_batches)
        print(
            f"{density:>7.0%} {masked:9.2f} {sparse:9.2f} {masked / sparse:6.2f} {3600 / masked:14.0f} {3600 / sparse:14.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
