"""Neural Network Sparse Topology Distance (NNSTD) between layered sparse networks.

Two networks with the same layer widths are compared layer by layer, input
side first. In layer ``l`` every neuron is described by the set of its input
units; the cost of pairing neuron ``a`` of the first network with neuron
``b`` of the second is the normalised edit distance of their input sets,
``|A Δ B| / |A ∪ B|`` (0 when both are empty). The optimal one-to-one pairing
is found with the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`), and the layer's distance is
the matched cost divided by the number of neurons. The pairing then renames
the second network's neurons, i.e. permutes the *input columns* of its next
layer, before that layer is compared; the inputs of the first layer are the
data features and are never permuted. The distance is the mean over layers,
in [0, 1]: 0 for the same topology up to a renaming of hidden units, 1 when
no neuron shares an input with its partner.

:func:`population_diversity` (mean pairwise NNSTD) measures how different the
topologies of a population are.

References
----------
.. [Liu2020] S. Liu, T. Van der Lee, A. Yaman, Z. Atashgahi, D. Ferraro,
   G. Sokar, M. Pechenizkiy, D. C. Mocanu, "Topological insights into sparse
   neural networks", ECML-PKDD 2020.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import ConfigError


def _as_masks(masks: Sequence[np.ndarray], name: str) -> list[np.ndarray]:
    out = [np.asarray(m, dtype=bool) for m in masks]
    if not out:
        raise ConfigError(f"{name} holds no masks: give one (n_out, n_in) boolean array per layer")
    for i, m in enumerate(out):
        if m.ndim != 2:
            raise ConfigError(f"{name}[{i}] has shape {m.shape}: each mask must be 2-d (n_out, n_in)")
        if i and m.shape[1] != out[i - 1].shape[0]:
            raise ConfigError(
                f"{name}[{i}] reads {m.shape[1]} units but {name}[{i - 1}] has {out[i - 1].shape[0]}: masks must chain"
            )
    return out


def neuron_costs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise input-set distances between the neurons of two layers.

    Parameters
    ----------
    a, b : numpy.ndarray of bool, shape (n_out, n_in)
        Rows are neurons, columns their possible inputs (same input order).

    Returns
    -------
    numpy.ndarray of float, shape (n_out_a, n_out_b)
        ``|A_i Δ B_j| / |A_i ∪ B_j|``, 0 where both sets are empty.

    References
    ----------
    Liu et al. 2020, eq. of the neuron distance.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    inter = a @ b.T  # (n_a, n_b)
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.divide(union - inter, union, out=np.zeros_like(union), where=union > 0)


def nnstd_layers(masks_a: Sequence[np.ndarray], masks_b: Sequence[np.ndarray]) -> list[float]:
    """Per-layer NNSTD (see :func:`nnstd`).

    Returns
    -------
    list of float
        Matched cost / number of neurons of each layer, each in [0, 1].
    """
    masks_a, masks_b = _as_masks(masks_a, "masks_a"), _as_masks(masks_b, "masks_b")
    if [m.shape for m in masks_a] != [m.shape for m in masks_b]:
        raise ConfigError(
            f"NNSTD compares networks of equal layer widths; got mask shapes {[m.shape for m in masks_a]} and "
            f"{[m.shape for m in masks_b]}: build both with the same widths"
        )
    distances = []
    perm = None  # matching of the previous layer: neuron i of a <-> neuron perm[i] of b
    for a, b in zip(masks_a, masks_b):
        if perm is not None:
            b = b[:, perm]  # rename b's inputs after a's previous-layer neurons
        cost = neuron_costs(a, b)
        rows, cols = linear_sum_assignment(cost)
        distances.append(float(cost[rows, cols].sum()) / a.shape[0])
        perm = np.empty(a.shape[0], dtype=np.int64)
        perm[rows] = cols
    return distances


def nnstd(masks_a: Sequence[np.ndarray], masks_b: Sequence[np.ndarray]) -> float:
    """Neural Network Sparse Topology Distance between two layered sparse networks.

    Parameters
    ----------
    masks_a, masks_b : sequence of array-like of bool
        One mask per layer, input side first, ``masks[l]`` of shape
        (n_{l+1}, n_l) with ``mask[j, i]`` True when unit ``i`` feeds unit
        ``j``; both lists of the same shapes. The first layer's inputs are
        shared (not permuted).

    Returns
    -------
    float
        Mean over layers of (optimal matched cost / number of neurons), in
        [0, 1]; 0 for identical topologies up to a renaming of hidden units.

    Raises
    ------
    ConfigError
        Empty lists, masks that are not 2-d or do not chain, or different
        layer widths.

    References
    ----------
    Liu et al. 2020, "Topological insights into sparse neural networks".
    """
    return float(np.mean(nnstd_layers(masks_a, masks_b)))


def population_diversity(population: Sequence[Sequence[np.ndarray]]) -> float:
    """Mean pairwise NNSTD of a population of layered networks.

    Parameters
    ----------
    population : sequence of mask lists
        Each entry as for :func:`nnstd`; all with the same layer widths.

    Returns
    -------
    float
        Mean of :func:`nnstd` over all unordered pairs, in [0, 1]; 0.0 for
        fewer than two networks (no pair to differ).

    References
    ----------
    Liu et al. 2020.
    """
    pairs = list(combinations(range(len(population)), 2))
    if not pairs:
        return 0.0
    return float(np.mean([nnstd(population[i], population[j]) for i, j in pairs]))
