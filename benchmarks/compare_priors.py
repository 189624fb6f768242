"""Compare layer-wise sparse priors at equal density on MNIST.

Trains ``784 -> W -> W -> 10`` ReLU networks whose two hidden layers are
sparse at one density (default 5%) and whose output layer is dense, for each
topology:

* ``er``: Erdős–Rényi masks (the static initial topology of SET; Mocanu et
  al. 2018), each connection present with probability ``density``;
* ``expander``: random regular bipartite layers, in-degree
  ``round(density * n_in)`` (Bourely, Boueri & Choromanski 2017);
* ``radixnet``: RadiX-Net with radix ``round(1 / density)`` (Robinett &
  Kepner 2018): with W = radix**2 both layers have density exactly
  ``1 / radix`` and every input reaches every second-layer unit by one path;
* ``set``: the ``er`` masks rewired by SET after every epoch but the last
  (ζ = 0.3; :class:`nasprior.sparsity.set_rewiring.SETCallback`);
* ``dense``: all-ones masks (reference).

Every network is trained with the same budget (Adam, lr 1e-3, batch 128,
``--epochs`` epochs, no early stopping; the best validation epoch's weights are
scored on the official test split) for each seed (the seed draws the masks,
the weights and the batch order). Prints one row per topology: measured
density of the sparse layers, non-zero weights of the whole network, the
data-free topology scores of the sparse layers, and test accuracy mean ± std
over seeds.

Run from the repository root::

    python benchmarks/compare_priors.py --data-dir ../shared/data

References
----------
Mocanu et al., Nature Communications 9, 2018; Bourely et al.,
arXiv:1706.05683, 2017; Robinett & Kepner, RadiX-Net, 2019; Isakov & Kinsy,
NeuroFabric, 2020 (real fan-in initialisation, used by every sparse layer).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from nasprior.features import network_topology_scores
from nasprior.networks import LayeredNetwork
from nasprior.priors.layerwise import erdos_renyi_mask, random_regular_mask
from nasprior.priors.radixnet import radixnet_layered_masks
from nasprior.sparsity.set_rewiring import SETCallback
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, train

PRIORS = ("er", "expander", "radixnet", "set", "dense")


def make_masks(prior: str, n_inputs: int, width: int, density: float, seed: int) -> list[np.ndarray]:
    """The two hidden-layer masks of one topology: (width, n_inputs) and (width, width)."""
    shapes = [(n_inputs, width), (width, width)]
    if prior in ("er", "set"):
        return [erdos_renyi_mask(n_in, n_out, density, seed=[seed, i]) for i, (n_in, n_out) in enumerate(shapes)]
    if prior == "expander":
        return [
            random_regular_mask(n_in, n_out, max(1, round(density * n_in)), seed=[seed, i])
            for i, (n_in, n_out) in enumerate(shapes)
        ]
    if prior == "radixnet":
        return radixnet_layered_masks(n_inputs, width, 2, round(1 / density))
    if prior == "dense":
        return [np.ones((n_out, n_in), dtype=bool) for n_in, n_out in shapes]
    raise ValueError(f"unknown prior {prior!r}: use one of {', '.join(PRIORS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--width", type=int, default=400, help="hidden units per layer (default 400 = 20**2)")
    parser.add_argument("--density", type=float, default=0.05, help="density of the sparse layers (default 0.05)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--priors", default=",".join(PRIORS))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    data = load_task("mnist", args.data_dir, seed=0)
    priors = args.priors.split(",")
    print(
        f"MNIST {data.n_inputs}-{args.width}-{args.width}-10, target density {args.density:.3f} on the two hidden "
        f"layers, Adam lr 1e-3, batch 128, {args.epochs} epochs, seeds 0..{args.seeds - 1}, "
        f"train/val/test {len(data.y_train)}/{len(data.y_val)}/{len(data.y_test)}"
    )
    rows = []
    start = time.perf_counter()
    for prior in priors:
        accs, times = [], []
        for seed in range(args.seeds):
            masks = make_masks(prior, data.n_inputs, args.width, args.density, seed)
            torch.manual_seed(seed)
            net = LayeredNetwork(masks, data.n_classes)
            if seed == 0:
                scores = network_topology_scores(net)
            sparse_density = sum(int(m.sum()) for m in masks) / sum(m.size for m in masks)
            n_weights = net.n_weights
            config = TrainConfig(epochs=args.epochs, batch_size=128, optimizer="adam", lr=1e-3, patience=0, seed=seed)
            callback = SETCallback(zeta=0.3, seed=seed, skip_last=args.epochs) if prior == "set" else None
            result = train(
                net,
                data.x_train,
                data.y_train,
                data.x_val,
                data.y_val,
                config,
                data.x_test,
                data.y_test,
                epoch_callback=callback,
            )
            accs.append(result.test_acc)
            times.append(result.train_time_s)
            print(
                f"  {prior:9s} seed {seed}: val {result.val_acc:.4f} test {result.test_acc:.4f} "
                f"({result.train_time_s:.1f} s)",
                flush=True,
            )
        rows.append((prior, sparse_density, n_weights, scores, accs, times))

    print()
    print(
        f"{'prior':9s} {'density':>8s} {'n_weights':>9s} {'gap_min':>8s} {'lambda2_min':>11s} {'path_cv':>8s} "
        f"{'reach':>6s}  {'test acc (mean ± std)':>22s} {'train_s':>8s}"
    )
    for prior, density, n_weights, s, accs, times in rows:
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(
            f"{prior:9s} {density:8.4f} {n_weights:9d} {s['layer_spectral_gap_min']:8.4f} "
            f"{s['layer_algebraic_connectivity_min']:11.4f} {s['path_count_cv']:8.4f} {s['path_reach']:6.3f}  "
            f"{statistics.mean(accs):13.4f} ± {std:.4f} {statistics.mean(times):8.1f}"
        )
    print(f"(scores of seed 0's initial masks; set: before rewiring)  total {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
