"""Magnitude pruning of masked networks, and pruned masks as topologies.

Pruning removes connections by clearing entries of the boolean mask buffers
of :class:`~nasprior.networks.MaskedLinear` layers and zeroing their weights;
since every :class:`~nasprior.networks.SparseNetwork` re-applies its masks
after each optimiser step, a pruned weight stays zero through retraining.
Biases are never pruned.

Schemes (the names of See, Luong & Manning 2016, used by Stier, Darji &
Granitzer 2021 for their MNIST experiment):

``"class-blinded"``
    One global threshold on ``|w|`` over all prunable layers: the globally
    smallest magnitudes go first, whatever layer they sit in.
``"class-uniform"``
    Every layer loses the same fraction of its weights (its own magnitude
    threshold), so every layer ends at the same density relative to where it
    started.
``"class-distributed"``
    Han et al. 2015: the threshold of layer ``l`` is ``λ · std_l``, with
    ``std_l`` the standard deviation of the layer's present weights and one
    ``λ`` for the whole network, solved so that the overall compression is
    reached. Removing ``|w| < λ std_l`` is the same as removing the globally
    smallest *normalised* magnitudes ``|w| / std_l``, so ``λ`` is found
    exactly by sorting those (no bisection needed, and the count is exact).
``"random"``
    A control: present weights removed uniformly at random over all prunable
    layers.

Compression is the fraction of a *reference* count of weights removed: by
default the weights present before the call, and in :func:`iterative_prune`
the weights present before the first step, so ``compression=0.8`` keeps 20% of
the starting weights. Counts are exact: ``round((1 - c) · n_ref)`` weights stay
(class-uniform: ``round((1 - c) · n_ref_l)`` in every layer ``l``).

Whether the output layer is pruned: yes by default (``include_output=True``),
as Stier et al. prune every layer of their 784-100-10 network; pass
``include_output=False`` to keep the classifier dense.

Pruned masks are also topologies: :func:`masks_to_graph` turns them into a
layered :class:`networkx.DiGraph` of units for
:func:`nasprior.features.structural_features`; :func:`pruned_record` writes a
pruned network as a run record; :func:`save_masks` / :func:`load_masks` /
:func:`network_from_masks` store masks as ``.npz`` and rebuild a
:class:`~nasprior.networks.LayeredNetwork` on them as a fixed topology (to
retrain from scratch, to start SET from, or to compare with
:func:`nasprior.sparsity.nnstd.nnstd`).

References
----------
.. [Han2015] S. Han, J. Pool, J. Tran, W. J. Dally, "Learning both weights
   and connections for efficient neural networks", NeurIPS 2015.
.. [See2016] A. See, M.-T. Luong, C. D. Manning, "Compression of neural
   machine translation models via pruning", CoNLL 2016.
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import torch

from ..errors import ConfigError, DataError
from ..names import PRUNE_SCHEMES as SCHEMES  # defined once there, for the CLI parsers too
from ..networks import LayeredNetwork, MaskedLinear, SparseLinear, SparseNetwork, sparse_init_


@dataclass
class PruneStep:
    """Outcome of one pruning step.

    Attributes
    ----------
    scheme : str
    compression : float
        Target fraction of the reference weights removed, in [0, 1).
    achieved_compression : float
        ``1 - n_weights / n_reference`` after the step.
    n_reference : int
        Reference weight count the compression is measured against.
    n_weights : int
        Weights present in the prunable layers after the step.
    n_removed : int
        Weights removed by this step.
    layer_densities : list of float
        Present weights / possible weights of each prunable layer after the step.
    threshold : float or None
        Class-blinded: the global ``|w|`` threshold; class-distributed: ``λ``
        (thresholds are ``λ · std_l``); otherwise None. Midway between the
        largest removed and the smallest kept value.
    layer_thresholds : list of float or None
        Class-uniform: each layer's ``|w|`` threshold; class-distributed:
        ``λ · std_l`` per layer.
    """

    scheme: str
    compression: float
    achieved_compression: float
    n_reference: int
    n_weights: int
    n_removed: int
    layer_densities: list[float] = field(default_factory=list)
    threshold: float | None = None
    layer_thresholds: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the step."""
        return asdict(self)


def prunable_layers(network: SparseNetwork | Sequence[MaskedLinear], include_output: bool = True) -> list[MaskedLinear]:
    """The masked layers a pruning scheme acts on.

    Parameters
    ----------
    network : SparseNetwork or sequence of MaskedLinear
        A network (all its :class:`MaskedLinear` layers, in module order) or
        an explicit list of layers (returned as given).
    include_output : bool
        Whether the network's ``output_layer`` is pruned too (default True,
        as in Stier et al. 2021). Ignored for an explicit list.

    Returns
    -------
    list of MaskedLinear
    """
    if isinstance(network, SparseNetwork):
        output = getattr(network, "output_layer", None)
        return [layer for layer in network.masked_layers() if include_output or layer is not output]
    layers = list(network)
    for layer in layers:
        if not isinstance(layer, (MaskedLinear, SparseLinear)):
            raise ConfigError(
                f"can only prune MaskedLinear layers, got {type(layer).__name__}: build the network with nasprior.networks"
            )
    return layers


def _check_compression(compression: float) -> float:
    compression = float(compression)
    if not 0.0 <= compression < 1.0:
        raise ConfigError(
            f"compression = {compression} is invalid: use a fraction of weights to remove in [0, 1), e.g. 0.8 to keep 20%"
        )
    return compression


def _smallest(values: torch.Tensor, n: int) -> tuple[torch.Tensor, float | None]:
    """Indices of the ``n`` smallest values (ties by position) and the threshold midway to the next."""
    if n <= 0:
        return values.new_zeros(0, dtype=torch.long), None
    order = torch.argsort(values, stable=True)
    removed = order[:n]
    last = float(values[order[n - 1]])
    threshold = last if n == len(values) else (last + float(values[order[n]])) / 2
    return removed, threshold


def _remove(layers: Sequence[MaskedLinear], flat_positions: list[torch.Tensor], removed: torch.Tensor) -> None:
    """Clear the mask at ``removed`` (indices into the concatenation of ``flat_positions``)."""
    sizes = [len(p) for p in flat_positions]
    offsets = np.cumsum([0] + sizes)
    with torch.no_grad():
        for layer, positions, lo, hi in zip(layers, flat_positions, offsets[:-1], offsets[1:]):
            mine = removed[(removed >= lo) & (removed < hi)] - int(lo)
            if len(mine):
                layer.remove_positions(positions[mine])
            layer.apply_mask()


@torch.no_grad()
def prune(
    network: SparseNetwork | Sequence[MaskedLinear],
    compression: float,
    scheme: str = "class-blinded",
    *,
    reference: Sequence[int] | None = None,
    include_output: bool = True,
    generator: torch.Generator | None = None,
) -> PruneStep:
    """Prune a network once (one-shot) to a target compression, in place.

    Parameters
    ----------
    network : SparseNetwork or sequence of MaskedLinear
        Its mask buffers are cleared at the pruned connections and those
        weights set to zero.
    compression : float
        Fraction of the reference weights to remove, in [0, 1). If fewer than
        ``round((1 - compression) · n_ref)`` remain already, nothing is removed.
    scheme : {"class-blinded", "class-uniform", "class-distributed", "random"}
    reference : sequence of int, optional
        Reference weight count of each prunable layer (default: the weights
        present now). :func:`iterative_prune` passes the counts before its
        first step.
    include_output : bool
        Prune the output layer too (default True; see :func:`prunable_layers`).
    generator : torch.Generator, optional
        Randomness of the ``"random"`` scheme.

    Returns
    -------
    PruneStep

    Raises
    ------
    ConfigError
        Unknown scheme, compression outside [0, 1), or a reference of the
        wrong length.

    References
    ----------
    Han et al. 2015 (class-distributed); See et al. 2016 (scheme names);
    Stier et al. 2021 (MNIST experiment).
    """
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown pruning scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    compression = _check_compression(compression)
    layers = prunable_layers(network, include_output)
    if not layers:
        raise ConfigError(
            "nothing to prune: the network has no masked layers (or only an output layer and include_output=False)"
        )
    present = [layer.n_weights for layer in layers]
    reference = list(present) if reference is None else [int(r) for r in reference]
    if len(reference) != len(layers):
        raise ConfigError(
            f"reference has {len(reference)} counts but {len(layers)} layers are pruned: give one count per layer"
        )
    n_ref = sum(reference)
    positions = [layer.present_positions() for layer in layers]  # present weights, per layer
    weights = [layer.present_weights() for layer in layers]
    magnitudes = [w.abs() for w in weights]
    threshold, layer_thresholds = None, None
    if scheme == "class-uniform":
        removed_parts, layer_thresholds, offset = [], [], 0
        for mags, ref in zip(magnitudes, reference):
            n_remove = max(0, len(mags) - int(round((1.0 - compression) * ref)))
            idx, t = _smallest(mags, n_remove)
            removed_parts.append(idx + offset)
            layer_thresholds.append(0.0 if t is None else t)
            offset += len(mags)
        removed = torch.cat(removed_parts)
    else:
        n_remove = max(0, sum(present) - int(round((1.0 - compression) * n_ref)))
        if scheme == "random":
            total = sum(present)
            removed = torch.randperm(total, generator=generator)[:n_remove]
        elif scheme == "class-blinded":
            removed, threshold = _smallest(torch.cat(magnitudes), n_remove)
        else:  # class-distributed: |w| / std_l, one λ
            stds = []
            for w in weights:
                std = float(w.std(correction=0)) if len(w) > 1 else 0.0
                stds.append(std if std > 0 else 1.0)
            scaled = torch.cat([mags / s for mags, s in zip(magnitudes, stds)])
            removed, threshold = _smallest(scaled, n_remove)
            layer_thresholds = [(threshold or 0.0) * s for s in stds]
    _remove(layers, positions, removed)
    n_weights = sum(layer.n_weights for layer in layers)
    return PruneStep(
        scheme=scheme,
        compression=compression,
        achieved_compression=1.0 - n_weights / max(1, n_ref),
        n_reference=n_ref,
        n_weights=n_weights,
        n_removed=sum(present) - n_weights,
        layer_densities=[layer.n_weights / (layer.out_features * layer.in_features) for layer in layers],
        threshold=threshold,
        layer_thresholds=layer_thresholds,
    )


def compression_schedule(compression: float, n_steps: int) -> list[float]:
    """Targets of iterative pruning: equal compression per step.

    Step ``i`` (1-based) of ``k`` prunes to ``compression · i / k`` of the
    starting weights, so each step removes the same number of weights
    (for 0.8 in 4 steps: 0.2, 0.4, 0.6, 0.8).

    Raises
    ------
    ConfigError
        ``n_steps < 1`` or compression outside [0, 1).
    """
    compression = _check_compression(compression)
    if int(n_steps) < 1:
        raise ConfigError(f"n_steps = {n_steps} is invalid: use 1 (one-shot) or more")
    return [compression * i / int(n_steps) for i in range(1, int(n_steps) + 1)]


def iterative_prune(
    network: SparseNetwork,
    compression: float,
    scheme: str = "class-blinded",
    n_steps: int = 4,
    retrain: Callable[[SparseNetwork, int], Any] | None = None,
    *,
    include_output: bool = True,
    generator: torch.Generator | None = None,
) -> list[tuple[PruneStep, Any]]:
    """Prune in ``n_steps`` steps of equal compression, retraining after each.

    Parameters
    ----------
    network : SparseNetwork
        Pruned in place.
    compression : float
        Final fraction of the starting weights removed, in [0, 1).
    scheme : str
        One of :data:`SCHEMES`.
    n_steps : int
        Steps (1 = one-shot); targets from :func:`compression_schedule`.
    retrain : callable, optional
        ``retrain(network, step)`` called after each step (``step`` from 1),
        e.g. ``lambda net, s: nasprior.training.train(net, ..., config)``;
        its return value is kept. Pruned weights stay zero through it, since
        :func:`nasprior.training.train` re-applies the masks after every
        optimiser step.
    include_output : bool
        Prune the output layer too (default True).
    generator : torch.Generator, optional
        Randomness of the ``"random"`` scheme.

    Returns
    -------
    list of (PruneStep, object)
        Each step and what ``retrain`` returned for it (None without retrain).

    References
    ----------
    Han et al. 2015 (iterative pruning and retraining).
    """
    targets = compression_schedule(compression, n_steps)
    reference = [layer.n_weights for layer in prunable_layers(network, include_output)]
    history = []
    for step, target in enumerate(targets, start=1):
        result = prune(network, target, scheme, reference=reference, include_output=include_output, generator=generator)
        history.append((result, retrain(network, step) if retrain is not None else None))
    return history


# --------------------------------------------------------------------------- #
# Pruned masks as topology
# --------------------------------------------------------------------------- #


def network_masks(network: SparseNetwork) -> list[np.ndarray]:
    """Masks of a layered network, input side first, output layer last.

    Returns
    -------
    list of numpy.ndarray of bool
        ``masks[i]`` of shape (width_{i+1}, width_i); for a
        :class:`~nasprior.networks.LayeredNetwork` the hidden layers then the
        output layer.

    Raises
    ------
    ConfigError
        If consecutive layers do not chain (e.g. a
        :class:`~nasprior.networks.GraphNetwork` with skip connections).
    """
    masks = [layer.mask.detach().cpu().numpy().astype(bool) for layer in network.masked_layers()]
    for i in range(1, len(masks)):
        if masks[i].shape[1] != masks[i - 1].shape[0]:
            raise ConfigError(
                f"layer {i} reads {masks[i].shape[1]} units but layer {i - 1} has {masks[i - 1].shape[0]}: "
                "only chained (layered) networks have plain mask lists; use mapping='layered'"
            )
    return masks


def masks_to_graph(masks: Sequence[np.ndarray]) -> nx.DiGraph:
    """The unit graph of a layered network given by its masks.

    Parameters
    ----------
    masks : sequence of array-like of bool
        ``masks[i]`` of shape (n_{i+1}, n_i): layer ``i + 1`` reads layer
        ``i``; layer 0 is the input.

    Returns
    -------
    networkx.DiGraph
        One node per unit, labelled ``0 .. N - 1`` layer by layer (inputs
        first), each with attribute ``layer`` (0 = input, ``len(masks)`` =
        output); an edge ``u -> v`` for every present connection. Units left
        without connections by pruning stay as isolated nodes.

    Raises
    ------
    ConfigError
        If the masks do not chain.
    """
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if not masks:
        raise ConfigError("no masks given: pass at least one (n_out, n_in) mask")
    for i in range(1, len(masks)):
        if masks[i].shape[1] != masks[i - 1].shape[0]:
            raise ConfigError(
                f"mask {i} has {masks[i].shape[1]} inputs but mask {i - 1} has {masks[i - 1].shape[0]} outputs: masks must chain"
            )
    widths = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    offsets = np.cumsum([0] + widths)
    graph = nx.DiGraph()
    for layer, (lo, hi) in enumerate(zip(offsets[:-1], offsets[1:])):
        graph.add_nodes_from(range(int(lo), int(hi)), layer=layer)
    for i, mask in enumerate(masks):
        dst, src = np.nonzero(mask)
        graph.add_edges_from(zip((src + offsets[i]).tolist(), (dst + offsets[i + 1]).tolist()))
    return graph


def save_masks(path: str | os.PathLike, network_or_masks: SparseNetwork | Sequence[np.ndarray]) -> None:
    """Write a layered network's masks to an ``.npz`` file (a fixed topology).

    The archive holds ``mask_0 .. mask_{L-1}`` (bool, input side first; the
    last one is the output layer) and ``n_masks``. Load with
    :func:`load_masks`, rebuild with :func:`network_from_masks`.
    """
    masks = (
        network_masks(network_or_masks)
        if isinstance(network_or_masks, SparseNetwork)
        else [np.asarray(m, dtype=bool) for m in network_or_masks]
    )
    arrays = {f"mask_{i}": m for i, m in enumerate(masks)}
    np.savez_compressed(path, n_masks=np.int64(len(masks)), **arrays)


def load_masks(path: str | os.PathLike) -> list[np.ndarray]:
    """Read masks written by :func:`save_masks`.

    Returns
    -------
    list of numpy.ndarray of bool
        Input side first, output layer last.

    Raises
    ------
    DataError
        If the file is missing or is not such an archive.
    """
    try:
        with np.load(path) as archive:
            n = int(archive["n_masks"])
            return [archive[f"mask_{i}"].astype(bool) for i in range(n)]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"{path} is not a mask archive ({exc}): write one with nasprior.sparsity.pruning.save_masks or 'nasprior prune-mnist'"
        ) from None


def network_from_masks(masks: Sequence[np.ndarray], seed: int | None = None) -> LayeredNetwork:
    """A freshly initialised :class:`~nasprior.networks.LayeredNetwork` on fixed masks.

    Parameters
    ----------
    masks : sequence of array-like of bool
        As from :func:`load_masks`: hidden layers then the output layer (its
        mask may be sparse, e.g. pruned). At least two masks.
    seed : int, optional
        Seeds torch's global generator before initialising (real fan-in
        initialisation, :func:`~nasprior.networks.sparse_init_`).

    Returns
    -------
    LayeredNetwork
        Weights re-initialised (not the pruned network's trained weights):
        the pruned topology as a starting point, e.g. for retraining from
        scratch or SET.

    Raises
    ------
    ConfigError
        Fewer than two masks, or masks that do not chain.
    """
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if len(masks) < 2:
        raise ConfigError(
            f"got {len(masks)} mask(s): give the hidden layers' masks and the output layer's mask (at least two)"
        )
    masks_to_graph(masks)  # validates the chaining
    if seed is not None:
        torch.manual_seed(seed)
    net = LayeredNetwork(masks[:-1], masks[-1].shape[0])
    with torch.no_grad():
        net.output_layer.mask.copy_(torch.as_tensor(masks[-1]))
        sparse_init_(net.output_layer.weight, net.output_layer.mask, gain=1.0)
    return net
