"""RadiX-Net masks (Robinett & Kepner 2018; Alford, Robinett, Milechin & Kepner 2019).

Mixed-radix layers ``W = sum_{j < r} roll(I_N, j * p)`` (:func:`radix_layer`),
stacked from radix systems whose products equal ``N`` (:func:`radixnet_masks`)
and widened by Kronecker products with dense blocks; every input reaches every
output by the same number of paths. :func:`radixnet_layered_masks` fits a
RadiX-Net to a task's input size and a hidden width, as the ``radixnet`` prior
(:mod:`nasprior.priors.layerwise`) uses it.

References
----------
.. [Robinett2018] R. A. Robinett and J. Kepner, "RadiX-Net: Structured sparse
   matrices for deep neural networks", arXiv:1905.00416 (IPDPSW 2019).
.. [Alford2019] S. Alford, R. Robinett, L. Milechin and J. Kepner, "Training
   behavior of sparse neural network topologies", IEEE HPEC 2019,
   arXiv:1810.00299.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError

# ---------------------------------------------------------------------------
# RadiX-Net
# ---------------------------------------------------------------------------


def _positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{what} = {value!r} is invalid: use an integer >= {minimum}")
    return int(value)


def check_radix_lists(radix_lists: Sequence[Sequence[int]]) -> tuple[tuple[tuple[int, ...], ...], int]:
    """Validate the mixed-radix systems of a RadiX-Net and return them with ``N``.

    Parameters
    ----------
    radix_lists : sequence of sequence of int
        ``M`` mixed-radix systems, e.g. ``[[2, 2, 2], [4, 2], [2]]``. Every
        radix is an integer >= 1.

    Returns
    -------
    radix_lists : tuple of tuple of int
    n : int
        ``N``, the product of the radices of the first system.

    Raises
    ------
    ConfigError
        If the lists are empty, a radix is not a positive integer, a system
        other than the last does not multiply to ``N``, or the last system's
        product does not divide ``N``; the message names the offending system
        and the product it needs.

    References
    ----------
    .. [1] Robinett & Kepner 2018, Definition of a RadiX-Net: all systems but
       the last multiply to ``N``; the last one's product divides ``N``.
    """
    if isinstance(radix_lists, (str, bytes)) or not isinstance(radix_lists, Sequence) or not radix_lists:
        raise ConfigError(
            f"radix lists {radix_lists!r} are invalid: give a non-empty list of lists, e.g. [[2, 2], [4]]"
        )
    lists = []
    for m, radices in enumerate(radix_lists):
        if isinstance(radices, (str, bytes)) or not isinstance(radices, Sequence) or not radices:
            raise ConfigError(f"radix system {m} = {radices!r} is invalid: give a non-empty list of integers >= 1")
        lists.append(tuple(_positive_int(r, f"radix {j} of system {m}") for j, r in enumerate(radices)))
    n = math.prod(lists[0])
    for m, radices in enumerate(lists[:-1]):
        if math.prod(radices) != n:
            raise ConfigError(
                f"radix system {m} {list(radices)} multiplies to {math.prod(radices)}, but every system except the "
                f"last must multiply to N = {n} (the product of system 0): change its radices so that their product is {n}"
            )
    last = math.prod(lists[-1])
    if n % last:
        raise ConfigError(
            f"the last radix system {list(lists[-1])} multiplies to {last}, which does not divide N = {n}: "
            f"choose radices whose product divides {n}"
        )
    return tuple(lists), n


def radix_layer(n: int, radix: int, place_value: int = 1) -> np.ndarray:
    """One RadiX-Net layer: ``W = sum_{j < radix} roll(I_n, j * place_value)``.

    Parameters
    ----------
    n : int
        Number of units on each side (``N`` of the radix system), >= 1.
    radix : int
        Connections per unit, in [1, n].
    place_value : int
        Product of the radices before this one in its system (1 for the
        first layer of a system); ``radix * place_value`` must not exceed
        ``n`` so that the ``radix`` shifts are distinct.

    Returns
    -------
    numpy.ndarray of bool, shape (n, n)
        ``W[o, i]`` is True when ``o = i + j * place_value (mod n)`` for some
        ``j < radix``; every row and column has exactly ``radix`` entries, so
        the density is ``radix / n``.

    Raises
    ------
    ConfigError
        If an argument is not a positive integer or ``radix * place_value > n``.

    References
    ----------
    .. [1] Robinett & Kepner 2018; Alford et al. 2019.
    """
    n = _positive_int(n, "n")
    radix = _positive_int(radix, "radix")
    place_value = _positive_int(place_value, "place_value")
    if radix * place_value > n:
        raise ConfigError(
            f"radix {radix} with place value {place_value} needs N >= {radix * place_value}, got N = {n}: "
            "use radices whose running product does not exceed N"
        )
    rows = (np.arange(n)[None, :] + place_value * np.arange(radix)[:, None]) % n  # (radix, n): output of input i
    mask = np.zeros((n, n), dtype=bool)
    mask[rows, np.broadcast_to(np.arange(n), rows.shape)] = True
    return mask


def radixnet_masks(radix_lists: Sequence[Sequence[int]], blocks: Sequence[int] | None = None) -> list[np.ndarray]:
    """Masks of a RadiX-Net: mixed-radix layers, optionally widened by dense blocks.

    Layer ``l`` (counting through all systems in order) is
    :func:`radix_layer` ``(N, r_l, p_l)`` with ``p_l`` the product of the
    radices before ``r_l`` in its system, widened to
    ``kron(W_l, ones(blocks[l + 1], blocks[l]))``, so layer widths are
    ``N * blocks[l]``.

    Parameters
    ----------
    radix_lists : sequence of sequence of int
        Mixed-radix systems (see :func:`check_radix_lists`).
    blocks : sequence of int, optional
        Kronecker block sizes ``B_0 .. B_L`` (``L`` = total number of
        radices, i.e. of layers), each >= 1. Default: all 1.

    Returns
    -------
    list of numpy.ndarray of bool
        ``L`` masks; mask ``l`` of shape ``(N * B_{l+1}, N * B_l)`` and
        density ``r_l / N``. The product of the masks as integer matrices
        (last @ ... @ first) is a constant matrix: every input reaches every
        output by the same number of paths.

    Raises
    ------
    ConfigError
        If the radix lists are invalid or ``blocks`` has the wrong length or a
        non-positive entry.

    References
    ----------
    .. [1] Robinett & Kepner 2018, RadiX-Net; Alford et al. 2019 (Kronecker
       widening with dense blocks).
    """
    lists, n = check_radix_lists(radix_lists)
    layers = []
    for radices in lists:
        place = 1
        for r in radices:
            layers.append(radix_layer(n, r, place))
            place *= r
    if blocks is None:
        blocks = [1] * (len(layers) + 1)
    if isinstance(blocks, (str, bytes)) or len(blocks) != len(layers) + 1:
        raise ConfigError(
            f"blocks {blocks!r} is invalid: give {len(layers) + 1} Kronecker block sizes (one per layer width) "
            f"for {len(layers)} radix layers"
        )
    b = [_positive_int(x, f"block size {i}") for i, x in enumerate(blocks)]
    return [np.kron(w, np.ones((b[i + 1], b[i]), dtype=bool)).astype(bool) for i, w in enumerate(layers)]


def _radix_power(width: int, radix: int) -> int:
    """Largest ``j`` with ``radix**j`` dividing ``width``."""
    j = 0
    while width % radix == 0:
        width //= radix
        j += 1
    return j


def radixnet_plan(width: int, n_layers: int, radix: int) -> tuple[int, int]:
    """The RadiX-Net that the ``radixnet`` prior builds for a layered genome.

    ``N = radix**k`` with ``k = min(n_layers, j)`` where ``radix**j`` is the
    largest power of the radix dividing ``width``: the radix system
    ``[radix] * k`` is repeated over the ``n_layers`` sparse layers (the last
    repetition possibly cut short), so at least one complete system fits and
    every input reaches every unit of the last hidden layer by the same number
    of paths. Hidden layers are widened by dense blocks of ``width // N``
    units.

    Parameters
    ----------
    width : int
        Units per hidden layer.
    n_layers : int
        Hidden layers (= sparse layers, the input layer included).
    radix : int
        >= 2.

    Returns
    -------
    n : int
        ``N = radix**k``.
    k : int
        Layers per complete radix system. ``k = 1`` gives dense layers (a
        single layer can connect every input to every output only densely).

    Raises
    ------
    ConfigError
        If ``width`` is not a multiple of ``radix``.

    References
    ----------
    .. [1] Robinett & Kepner 2018; Alford et al. 2019.
    """
    radix = _positive_int(radix, "radix", 2)
    width = _positive_int(width, "width")
    n_layers = _positive_int(n_layers, "n_layers")
    j = _radix_power(width, radix)
    if j == 0:
        low = max(radix, width // radix * radix)
        raise ConfigError(
            f"the radixnet prior needs width = {width} to be a multiple of radix = {radix}: use width {low} or "
            f"{low + radix}, or another radix"
        )
    k = min(n_layers, j)
    return radix**k, k


def radixnet_layered_masks(n_inputs: int, width: int, n_layers: int, radix: int) -> list[np.ndarray]:
    """Masks of the RadiX-Net ``n_inputs -> width -> ... -> width`` (``n_layers`` hidden layers).

    See :func:`radixnet_plan` for ``N`` and the radix systems. Hidden-to-hidden
    layers are ``kron(W_l, ones(B, B))`` with ``B = width // N``. The input
    layer cannot use an exact Kronecker block when ``N`` does not divide
    ``n_inputs`` (784 for MNIST): input unit ``i`` joins group
    ``floor(i * N / n_inputs)`` (contiguous, near-equal groups, as in
    :func:`nasprior.dag.relational_mask`) and hidden unit ``o`` of the
    first layer reads the groups that ``W_0`` connects to its block
    ``o // B``. Each input belongs to exactly one group, so path counts from
    any input to any last-layer unit stay equal; the first layer's fan-in
    varies by at most ``radix`` between units.

    Parameters
    ----------
    n_inputs : int
        Input features, >= ``N``.
    width, n_layers, radix : int
        As in :func:`radixnet_plan`.

    Returns
    -------
    list of numpy.ndarray of bool
        ``n_layers`` masks, the first of shape (width, n_inputs), the others
        (width, width); hidden-to-hidden density ``radix / N``.

    Raises
    ------
    ConfigError
        If ``width`` is not a multiple of ``radix`` or ``n_inputs < N``.

    References
    ----------
    .. [1] Robinett & Kepner 2018; Alford et al. 2019.
    """
    n, k = radixnet_plan(width, n_layers, radix)
    n_inputs = _positive_int(n_inputs, "n_inputs")
    if n_inputs < n:
        raise ConfigError(
            f"the radixnet prior with width {width}, radix {radix} and {n_layers} layers has N = {n} > "
            f"n_inputs = {n_inputs}: lower the radix or n_layers, or use a width with fewer factors of the radix"
        )
    block = width // n
    masks = []
    for layer in range(n_layers):
        w = radix_layer(n, radix, radix ** (layer % k))
        if layer == 0:
            group = np.arange(n_inputs) * n // n_inputs  # (n_inputs,) group of each input
            masks.append(w[np.ix_(np.arange(width) // block, group)])
        else:
            masks.append(np.kron(w, np.ones((block, block), dtype=bool)).astype(bool))
    return masks
