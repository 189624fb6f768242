"""Sparse Evolutionary Training (SET): prune and regrow connections every epoch.

After each training epoch, every sparse hidden layer loses the fraction ζ of
its weights closest to zero (the ζ smallest positive weights and the ζ
largest negative weights, as in the paper) and regrows as many connections at
random positions that were absent, so the layer's density never changes
while its topology evolves. The output layer stays dense.

Use with :func:`nasprior.training.train` through its ``epoch_callback``::

    net = LayeredNetwork([er_set_mask(784, 1000, 20, seed=0), ...], 10)  # nasprior.bipartite
    train(net, ..., config, epoch_callback=SETCallback(zeta=0.3, seed=0))

Regrown weights are drawn from the layer's initialisation distribution,
``N(0, 2 / fan_in_j)`` with the unit's real fan-in after rewiring
(:func:`~nasprior.networks.sparse_init_`); the paper also initialises them
at random. Optimiser state (momentum, Adam moments) of regrown positions is
not reset: it has decayed while the position was absent (its gradient is
zero), except for a position removed in the same epoch, which regrowth never
picks.

The callback runs after the epoch's validation. :func:`~nasprior.training.train`
keeps the state (masks included) of the best validation epoch, so the network
it returns is a coherent (mask, weights) pair from that epoch.

References
----------
.. [Mocanu2018] D. C. Mocanu, E. Mocanu, P. Stone, P. H. Nguyen, M. Gibescu,
   A. Liotta, "Scalable training of artificial neural networks with adaptive
   sparse connectivity inspired by network science", Nature Communications
   9, 2383, 2018.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..networks import MaskedLinear, SparseLinear, SparseNetwork


def _closest_to_zero(values: torch.Tensor, zeta: float) -> torch.Tensor:
    """Indices (into ``values``) of the fraction ζ of positive and of negative values closest to zero."""
    parts = []
    for side in (values >= 0, values < 0):
        idx = torch.nonzero(side).view(-1)
        n = int(round(zeta * len(idx)))
        if n:
            order = torch.argsort(values[idx].abs(), stable=True)
            parts.append(idx[order[:n]])
    return torch.cat(parts) if parts else values.new_zeros(0, dtype=torch.long)


def _draw_absent(present: torch.Tensor, numel: int, n: int, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` distinct random flat positions in [0, numel) not in the sorted ``present`` (memory O(n + nnz))."""
    chosen = present.new_zeros(0)
    while len(chosen) < n:
        draw = torch.randint(numel, (2 * (n - len(chosen)) + 16,), generator=generator)
        draw = draw[~torch.isin(draw, present) & ~torch.isin(draw, chosen)]
        _, first = np.unique(draw.numpy(), return_index=True)  # distinct, in order of drawing
        chosen = torch.cat([chosen, draw[np.sort(first)]])
    return chosen[:n]


@torch.no_grad()
def _set_step_sparse(layer: SparseLinear, zeta: float, generator: torch.Generator | None, gain: float) -> int:
    """:func:`set_step` for a :class:`~nasprior.networks.SparseLinear` (no dense mask is built)."""
    present = layer.present_positions().cpu()
    weights = layer.present_weights().cpu()
    numel = layer.out_features * layer.in_features
    candidates = _closest_to_zero(weights, zeta)
    n = min(len(candidates), numel - len(present))
    if n == 0:
        return 0
    if n < len(candidates):
        order = torch.argsort(weights[candidates].abs(), stable=True)
        candidates = candidates[order[:n]]
    grown = _draw_absent(present, numel, n, generator)
    rows = grown // layer.in_features
    fan_in = torch.bincount(present // layer.in_features, minlength=layer.out_features)
    fan_in -= torch.bincount(present[candidates] // layer.in_features, minlength=layer.out_features)
    fan_in += torch.bincount(rows, minlength=layer.out_features)
    std = gain / fan_in.clamp(min=1).to(torch.float32)[rows].sqrt()
    slots = layer.order.cpu()[candidates]  # CSR position -> slot: the removed connections' slots take the grown ones
    layer.move_slots(slots, grown, torch.randn(n, generator=generator) * std)
    return n


@torch.no_grad()
def set_step(
    layer: MaskedLinear | SparseLinear,
    zeta: float,
    generator: torch.Generator | None = None,
    gain: float = math.sqrt(2.0),
) -> int:
    """One SET rewiring of a layer, in place: remove the weakest, regrow at random.

    Parameters
    ----------
    layer : MaskedLinear or SparseLinear
        Its mask and weight are changed; the number of present connections is
        unchanged. A :class:`~nasprior.networks.SparseLinear` moves the
        removed connections' slots to the regrown positions (optimiser state
        of kept weights stays with them; regrown positions are drawn by
        rejection, without a dense mask, so they differ from a masked
        layer's draws).
    zeta : float
        Fraction of the positive weights, and of the negative weights, removed
        (those closest to zero), in [0, 1]. Weights exactly 0 count as positive.
    generator : torch.Generator, optional
        Randomness of the regrown positions and their values.
    gain : float
        Initialisation gain of regrown weights (``sqrt(2)`` for ReLU units).

    Returns
    -------
    int
        Connections moved (removed and regrown). Fewer than ζ of the weights
        when there are not that many absent positions to regrow into; then
        only the weakest ones that can be replaced are removed.

    Raises
    ------
    ConfigError
        ``zeta`` outside [0, 1].

    References
    ----------
    Mocanu et al. 2018, Algorithm 1.
    """
    if not 0.0 <= zeta <= 1.0:
        raise ConfigError(f"zeta = {zeta} is invalid: use a fraction in [0, 1] (the paper uses 0.3)")
    if isinstance(layer, SparseLinear):
        return _set_step_sparse(layer, zeta, generator, gain)
    flat_mask = layer.mask.view(-1)
    flat_weight = layer.weight.data.view(-1)
    present = torch.nonzero(flat_mask).view(-1)
    absent = torch.nonzero(~flat_mask).view(-1)  # before removal: regrown positions are new
    candidates = _closest_to_zero(flat_weight[present], zeta)
    n = min(len(candidates), len(absent))
    if n == 0:
        return 0
    if n < len(candidates):  # keep the weakest n of the candidates
        order = torch.argsort(flat_weight[present[candidates]].abs(), stable=True)
        candidates = candidates[order[:n]]
    removed = present[candidates]
    grown = absent[torch.randperm(len(absent), generator=generator)[:n]]
    flat_mask[removed] = False
    flat_weight[removed] = 0.0
    flat_mask[grown] = True
    fan_in = layer.mask.sum(dim=1).clamp(min=1).to(flat_weight.dtype)  # (n_out,), after rewiring
    rows = grown // layer.mask.shape[1]
    std = gain / fan_in[rows].sqrt()
    flat_weight[grown] = torch.randn(n, generator=generator, dtype=flat_weight.dtype) * std
    return n


def hidden_layers(network: nn.Module) -> list[MaskedLinear | SparseLinear]:
    """Every :class:`MaskedLinear` and :class:`~nasprior.networks.SparseLinear` of a network except its ``output_layer``."""
    output = getattr(network, "output_layer", None)
    return [m for m in network.modules() if isinstance(m, (MaskedLinear, SparseLinear)) and m is not output]


class SETCallback:
    """Epoch callback for :func:`nasprior.training.train` that applies :func:`set_step`.

    Parameters
    ----------
    zeta : float
        Fraction rewired per epoch (0.3 in Mocanu et al. 2018).
    seed : int
        Seed of the rewiring's own generator.
    skip_last : int or None
        If given, the epoch number after which no rewiring is done (e.g. the
        final epoch, so the returned topology has been trained).

    Attributes
    ----------
    history : list of dict
        Per call: ``epoch`` and ``n_rewired`` (summed over layers).

    Notes
    -----
    Called as ``callback(model, epoch)``; rewires every hidden masked layer
    (:func:`hidden_layers`), never the output layer.
    """

    def __init__(self, zeta: float = 0.3, seed: int = 0, skip_last: int | None = None):
        self.zeta, self.seed, self.skip_last = zeta, seed, skip_last
        self.generator = torch.Generator().manual_seed(seed)
        self.history: list[dict] = []

    def __call__(self, model: nn.Module, epoch: int) -> None:
        if self.skip_last is not None and epoch >= self.skip_last:
            return
        n = sum(set_step(layer, self.zeta, self.generator) for layer in hidden_layers(model))
        self.history.append({"epoch": epoch, "n_rewired": n})
        if isinstance(model, SparseNetwork):
            model.apply_masks()
