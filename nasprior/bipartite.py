"""Layer-wise sparse topologies from the seed papers, and data-free scores of them.

A *layer-wise* sparse network has fixed layer widths; each layer's
connectivity is a bipartite graph, held as a boolean mask of shape
``(n_out, n_in)`` (``mask[j, i]`` is True when input unit ``i`` feeds output
unit ``j``, the layout of :class:`~nasprior.networks.MaskedLinear`). This
module builds such masks from three priors and scores them without data:

* RadiX-Net (Robinett & Kepner 2018; Alford et al. 2019):
  :func:`radix_layer`, :func:`radixnet_masks` (mixed-radix systems widened by
  Kronecker products with dense blocks), every input reaching every output by
  the same number of paths.
* Random regular (expander) bipartite layers (Bourely, Boueri & Choromanski
  2017): :func:`random_regular_mask`, every output unit with exactly ``d``
  inputs and input degrees differing by at most one.
* Erdős–Rényi layers with SET's ε parametrisation (Mocanu et al. 2018):
  :func:`set_density`, :func:`erdos_renyi_mask`, :func:`er_set_mask`.

Data-free scores (:func:`topology_scores`, :func:`network_topology_scores`):
per-layer spectral gap of the biadjacency matrix and algebraic connectivity of
the bipartite graph (Bourely et al. 2017), and the uniformity of the
input-to-output path counts (RadiX-Nets are perfectly uniform).

The genome-level builders (:func:`genome_masks`, :func:`hidden_masks`,
:func:`hidden_graph`) back the priors ``radixnet``, ``expander`` and
``er_set`` of :data:`nasprior.priors.PRIORS`, which only work with the
``layered`` mapping.

:func:`dense_fan_in_init_` initialises a masked weight as if the layer were
dense, the mistake that Isakov & Kinsy (2020) warn against; it exists to
compare with :func:`nasprior.networks.sparse_init_`.

References
----------
.. [Robinett2018] R. A. Robinett and J. Kepner, "RadiX-Net: Structured sparse
   matrices for deep neural networks", arXiv:1905.00416 (IPDPSW 2019).
.. [Alford2019] S. Alford, R. Robinett, L. Milechin and J. Kepner, "Training
   behavior of sparse neural network topologies", IEEE HPEC 2019,
   arXiv:1810.00299.
.. [Bourely2017] A. Bourely, J. P. Boueri and K. Choromanski, "Sparse neural
   networks topologies", arXiv:1706.05683, 2017.
.. [Mocanu2018] D. C. Mocanu, E. Mocanu, P. Stone, P. H. Nguyen, M. Gibescu
   and A. Liotta, "Scalable training of artificial neural networks with
   adaptive sparse connectivity inspired by network science", Nature
   Communications 9, 2383, 2018.
.. [Isakov2020] M. Isakov and M. A. Kinsy, "NeuroFabric: Identifying ideal
   topologies for training a priori sparse networks", arXiv:2002.08339, 2020.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackError, LinearOperator, eigsh, splu, svds

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

    from .genome import Genome

#: Names of the scores of :func:`topology_scores`, in order.
TOPOLOGY_SCORE_NAMES = (
    "layer_spectral_gap_mean",
    "layer_spectral_gap_min",
    "layer_algebraic_connectivity_mean",
    "layer_algebraic_connectivity_min",
    "path_count_cv",
    "path_reach",
)

#: Largest matrix side (singular values) or node count (Laplacian) handled
#: with dense LAPACK; bigger ones go to ARPACK with a tight tolerance.
DENSE_LIMIT = 300
#: ARPACK tolerance. A loose one (1e-4) returned wrong Laplacian eigenvalues
#: (shared NOTES); 1e-10 matched dense ``eigvalsh`` to 1e-12 on 3,584 nodes.
ARPACK_TOL = 1e-10


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
        raise ConfigError(f"radix lists {radix_lists!r} are invalid: give a non-empty list of lists, e.g. [[2, 2], [4]]")
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
    :func:`nasprior.topology.relational_mask`) and hidden unit ``o`` of the
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


# ---------------------------------------------------------------------------
# Random regular (expander) and Erdős–Rényi layers
# ---------------------------------------------------------------------------


def random_regular_mask(n_in: int, n_out: int, degree: int, seed: Any = None) -> np.ndarray:
    """Random bipartite mask: every output has exactly ``degree`` inputs, input degrees differ by at most 1.

    The ``n_out * degree`` edges are spread over the inputs as evenly as
    possible (``floor`` or ``ceil`` of ``n_out * degree / n_in`` each, the
    larger quotas on a random subset), so the graph is biregular when
    ``n_in`` divides ``n_out * degree``. Output units take their inputs in
    turn, each choosing the ``degree`` inputs with the largest remaining
    quota, ties broken at random (the Gale–Ryser greedy construction, which
    always succeeds for these degrees). The result is a union of random
    matchings, a standard model of random regular (expander) graphs.

    Parameters
    ----------
    n_in, n_out : int
        Widths of the input and output layers, >= 1.
    degree : int
        In-degree ``d`` of every output unit, in [1, n_in].
    seed : int, sequence of int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray of bool, shape (n_out, n_in)
        Density ``degree / n_in``.

    Raises
    ------
    ConfigError
        If a width is not a positive integer or ``degree`` is outside
        ``[1, n_in]``.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017 (random regular / expander
       bipartite layers).
    .. [2] D. Gale, "A theorem on flows in networks", 1957; H. J. Ryser,
       "Combinatorial properties of matrices of zeros and ones", 1957.
    """
    n_in = _positive_int(n_in, "n_in")
    n_out = _positive_int(n_out, "n_out")
    degree = _positive_int(degree, "degree")
    if degree > n_in:
        raise ConfigError(f"degree = {degree} exceeds n_in = {n_in}: choose a degree in [1, {n_in}]")
    rng = np.random.default_rng(seed)
    n_edges = n_out * degree
    quota = np.full(n_in, n_edges // n_in, dtype=np.int64)
    quota[rng.permutation(n_in)[: n_edges % n_in]] += 1
    mask = np.zeros((n_out, n_in), dtype=bool)
    for row in rng.permutation(n_out):
        key = quota + rng.random(n_in)  # integer quota first, random tie-break within a quota
        chosen = np.argpartition(-key, degree - 1)[:degree]
        mask[row, chosen] = True
        quota[chosen] -= 1
    if quota.any():  # cannot happen (Gale–Ryser); guards against a silent wrong degree
        raise RuntimeError("random_regular_mask: degree sequence not realised")
    return mask


def set_density(n_in: int, n_out: int, epsilon: float) -> float:
    """SET's Erdős–Rényi density ``epsilon * (n_in + n_out) / (n_in * n_out)``, capped at 1.

    Parameters
    ----------
    n_in, n_out : int
        Layer widths, >= 1.
    epsilon : float
        SET's sparsity parameter ε, finite and > 0 (Mocanu et al. use 20).

    Returns
    -------
    float
        Connection probability, in (0, 1].

    Raises
    ------
    ConfigError
        If ε is not a finite positive number or a width is not a positive integer.

    References
    ----------
    .. [1] Mocanu et al. 2018, Nature Communications 9, 2383, Eq. (1).
    """
    n_in = _positive_int(n_in, "n_in")
    n_out = _positive_int(n_out, "n_out")
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating, np.integer)) \
            or not math.isfinite(epsilon) or epsilon <= 0:
        raise ConfigError(f"SET epsilon = {epsilon!r} is out of range: use a finite number > 0 (SET uses 20)")
    return min(1.0, float(epsilon) * (n_in + n_out) / (n_in * n_out))


def erdos_renyi_mask(n_in: int, n_out: int, density: float, seed: Any = None) -> np.ndarray:
    """Erdős–Rényi bipartite mask: each connection present independently with probability ``density``.

    Parameters
    ----------
    n_in, n_out : int
        Layer widths, >= 1.
    density : float
        Connection probability, in [0, 1].
    seed : int, sequence of int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray of bool, shape (n_out, n_in)

    Raises
    ------
    ConfigError
        If ``density`` is outside [0, 1] or a width is not a positive integer.

    References
    ----------
    .. [1] E. N. Gilbert, "Random graphs", 1959; Mocanu et al. 2018 (as the
       initial SET topology).
    """
    n_in = _positive_int(n_in, "n_in")
    n_out = _positive_int(n_out, "n_out")
    if not (isinstance(density, (int, float, np.floating)) and 0.0 <= density <= 1.0):
        raise ConfigError(f"density = {density!r} is out of range: use a probability in [0, 1]")
    return np.random.default_rng(seed).random((n_out, n_in)) < density


def er_set_mask(n_in: int, n_out: int, epsilon: float, seed: Any = None) -> np.ndarray:
    """Erdős–Rényi mask with SET's density :func:`set_density` ``(n_in, n_out, epsilon)``.

    Parameters
    ----------
    n_in, n_out : int
        Layer widths, >= 1.
    epsilon : float
        SET's ε, finite and > 0.
    seed : int, sequence of int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray of bool, shape (n_out, n_in)

    Raises
    ------
    ConfigError
        If ε is out of range.

    References
    ----------
    .. [1] Mocanu et al. 2018, Nature Communications 9, 2383.
    """
    return erdos_renyi_mask(n_in, n_out, set_density(n_in, n_out, epsilon), seed)


# ---------------------------------------------------------------------------
# Data-free topology scores
# ---------------------------------------------------------------------------


def _as_bool(mask: Any) -> np.ndarray:
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-d (n_out, n_in), got shape {mask.shape}")
    return mask


def singular_values(mask: Any, k: int = 2) -> np.ndarray:
    """The ``k`` largest singular values of a mask's biadjacency matrix, largest first.

    Dense LAPACK for small masks (``min(shape) <= DENSE_LIMIT``), ARPACK
    (:func:`scipy.sparse.linalg.svds`, tolerance :data:`ARPACK_TOL`) otherwise,
    falling back to dense LAPACK when ARPACK fails (it does on the highly
    repeated singular values of RadiX-Net layers).

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
    k : int
        Number of values; missing ones (rank-deficient small shapes) are 0.

    Returns
    -------
    numpy.ndarray of float64, shape (k,)
    """
    m = _as_bool(mask)
    if min(m.shape) <= max(DENSE_LIMIT, k):
        s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    else:
        v0 = np.random.default_rng(0).standard_normal(min(m.shape))
        try:
            s = svds(sp.csr_array(m, dtype=np.float64), k=k, tol=ARPACK_TOL, v0=v0, return_singular_vectors=False)
        except ArpackError:  # highly repeated singular values (RadiX-Net layers): exact dense answer
            s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    s = np.sort(np.abs(s))[::-1][:k]
    return np.pad(s, (0, k - len(s)))


def spectral_gap(mask: Any, normalized: bool = True) -> float:
    """Spectral gap of a bipartite layer: ``sigma_1 - sigma_2`` of its biadjacency matrix.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
    normalized : bool
        Divide by ``sigma_1`` (default), giving a scale-free value in [0, 1]
        that compares layers of different widths and degrees: 0 for a
        disconnected layer of two equal blocks, 1 for a dense (rank-one)
        layer. This normalised value is what :func:`topology_scores` reports.

    Returns
    -------
    float
        0.0 for an empty mask.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017, Sec. 3 (expansion measured by
       the gap between the two largest singular values).
    """
    s1, s2 = singular_values(mask, 2)
    if s1 <= 0:
        return 0.0
    gap = s1 - s2
    return float(gap / s1) if normalized else float(gap)


def bipartite_laplacian(mask: Any) -> sp.csr_array:
    """Laplacian ``D - A`` of the bipartite graph of a mask.

    Nodes ``0 .. n_in - 1`` are the inputs and ``n_in .. n_in + n_out - 1``
    the outputs; ``A = [[0, M^T], [M, 0]]``.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)

    Returns
    -------
    scipy.sparse.csr_array of float64, shape (n_in + n_out, n_in + n_out)
    """
    m = sp.csr_array(_as_bool(mask), dtype=np.float64)
    adj = sp.bmat([[None, m.T], [m, None]], format="csr")
    degree = np.asarray(adj.sum(axis=1)).ravel()
    return (sp.diags_array(degree) - adj).tocsr()


def algebraic_connectivity(mask: Any) -> float:
    """Algebraic connectivity of a layer's bipartite graph: the second-smallest Laplacian eigenvalue.

    0 when the graph (all inputs and outputs of the layer, isolated units
    included) is disconnected, checked with
    :func:`scipy.sparse.csgraph.connected_components` first. Dense masks use
    the closed form of the complete bipartite graph ``K_{n_in, n_out}``
    (``min(n_in, n_out)``, or 2 for ``K_{1,1}``); graphs of at most
    :data:`DENSE_LIMIT` nodes use dense :func:`numpy.linalg.eigvalsh`; larger
    ones shift-invert ARPACK around -1 with a tight tolerance
    :data:`ARPACK_TOL` (a loose one returns wrong values; plain
    ``which="SM"``, networkx's "lanczos" method, returned a wrong value on a
    RadiX-Net layer). Matches dense ``eigvalsh`` to ~1e-12.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)

    Returns
    -------
    float
        >= 0.

    References
    ----------
    .. [1] M. Fiedler, "Algebraic connectivity of graphs", Czechoslovak
       Mathematical Journal 23, 1973.
    .. [2] Bourely, Boueri & Choromanski 2017 (connectivity of sparse layers).
    """
    m = _as_bool(mask)
    n_out, n_in = m.shape
    if m.all():
        return 2.0 if n_in == n_out == 1 else float(min(n_in, n_out))
    lap = bipartite_laplacian(m)
    n_components, _ = connected_components(lap, directed=False)
    if n_components > 1:
        return 0.0
    n = lap.shape[0]
    if n <= DENSE_LIMIT:
        values = np.linalg.eigvalsh(lap.toarray())
    else:
        v0 = np.random.default_rng(0).standard_normal(n)
        # Shift-invert Lanczos around -1: L + I is positive definite, its sparse LU with a
        # symmetric minimum-degree ordering stays sparse (COLAMD filled 26x more on an
        # expander layer), and the two smallest eigenvalues of L become the best
        # separated ones. Plain which="SM" returned a wrong value (0.415 for 0.104) on a
        # RadiX-Net layer whose low spectrum is clustered.
        lap = lap.tocsc()
        lu = splu((lap + sp.identity(n, format="csc")).tocsc(), permc_spec="MMD_AT_PLUS_A")
        op = LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
        values = np.sort(
            eigsh(lap, k=2, sigma=-1.0, which="LM", OPinv=op, tol=ARPACK_TOL, v0=v0, return_eigenvectors=False)
        )
    return float(max(values[1], 0.0))


def path_counts(masks: Sequence[Any], *, cumulative: bool = False) -> np.ndarray:
    """Input-to-unit path counts through a stack of masks, up to a common scale factor.

    Parameters
    ----------
    masks : sequence of array-like of bool
        Non-cumulative: a chain, ``masks[l]`` of shape
        ``(n_{l+1}, n_l)``; the result is ``masks[-1] @ ... @ masks[0]``.
        Cumulative (the layout of :class:`~nasprior.networks.GraphNetwork`):
        ``masks[0]`` of shape ``(n_0, n_inputs)`` reads the inputs and
        ``masks[l]`` (l >= 1) reads the concatenated units of layers
        ``0 .. l-1``; the result stacks the path counts of all units.
    cumulative : bool

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(n_last, n_inputs)`` (chain) or ``(sum n_l, n_inputs)``
        (cumulative). Counts are computed in float64 and divided by a common
        factor after every layer so they cannot overflow; ratios between
        entries are exact up to float64 rounding.
    """
    mats = [_as_bool(m) for m in masks]
    if not mats:
        raise ValueError("path_counts needs at least one mask")
    counts = mats[0].astype(np.float64)
    for i, m in enumerate(mats[1:], start=1):
        if m.shape[1] != counts.shape[0]:
            raise ValueError(f"mask {i} reads {m.shape[1]} units, but {counts.shape[0]} precede it")
        new = m.astype(np.float64) @ counts
        counts = np.vstack([counts, new]) if cumulative else new
        top = counts.max()
        if top > 0:
            counts /= top
    return counts


def topology_scores(
    masks: Sequence[Any], *, cumulative: bool = False, output_units: Any = None, score_layers: Sequence[int] | None = None
) -> dict[str, float]:
    """Data-free topology scores of a stack of bipartite layer masks.

    Parameters
    ----------
    masks : sequence of array-like of bool
        The network's masked layers from the input to the units that feed the
        output layer, ``masks[l]`` of shape ``(n_out_l, n_in_l)``; a chain, or
        cumulative (see :func:`path_counts`).
    cumulative : bool
        Layers read the concatenation of all earlier layers (graph-as-network).
        The per-layer bipartite graph then keeps only the columns the layer
        actually reads (units feeding other layers through skips are not its
        inputs).
    output_units : array-like of bool, optional
        Over the rows of :func:`path_counts`: the units whose path counts are
        scored (the units feeding the output). Default: all rows.
    score_layers : sequence of int, optional
        Indices of the masks that enter the per-layer scores (default all).

    Returns
    -------
    dict of str to float
        Keys :data:`TOPOLOGY_SCORE_NAMES`:

        * ``layer_spectral_gap_mean``, ``layer_spectral_gap_min``: mean and
          minimum over layers of the normalised spectral gap
          ``(sigma_1 - sigma_2) / sigma_1`` (:func:`spectral_gap`);
        * ``layer_algebraic_connectivity_mean``, ``..._min``: mean and
          minimum of :func:`algebraic_connectivity`;
        * ``path_count_cv``: coefficient of variation (std / mean) of the
          input-to-output path-count matrix; 0 when every input reaches every
          output unit by the same number of paths (RadiX-Nets). When no input
          reaches any output unit it is ``sqrt(n_entries - 1)``, the largest
          value a non-negative matrix can have;
        * ``path_reach``: fraction of (input, output unit) pairs joined by at
          least one path.

        Per-layer scores over no layer are 0.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017 (spectral gap, connectivity).
    .. [2] Robinett & Kepner 2018 (uniform path counts of RadiX-Nets).
    """
    mats = [_as_bool(m) for m in masks]
    indices = range(len(mats)) if score_layers is None else score_layers
    gaps, conns = _layer_scores([mats[i] for i in indices], cumulative)
    counts = path_counts(mats, cumulative=cumulative)
    if output_units is not None:
        counts = counts[np.asarray(output_units, dtype=bool).ravel()]
    mean = counts.mean() if counts.size else 0.0
    cv = float(counts.std() / mean) if mean > 0 else math.sqrt(max(counts.size - 1, 0))
    return {
        **_summarise(gaps, conns),
        "path_count_cv": cv,
        "path_reach": float((counts > 0).mean()) if counts.size else 0.0,
    }


def _layer_scores(mats: Sequence[np.ndarray], cumulative: bool) -> tuple[list[float], list[float]]:
    """Normalised spectral gap and algebraic connectivity of each mask."""
    gaps, conns = [], []
    for m in mats:
        if cumulative:
            m = m[:, m.any(axis=0)]  # only the units this layer reads
        if m.size == 0:
            gaps.append(0.0)
            conns.append(0.0)
            continue
        gaps.append(spectral_gap(m))
        conns.append(algebraic_connectivity(m))
    return gaps, conns


def _summarise(gaps: Sequence[float], conns: Sequence[float]) -> dict[str, float]:
    """Mean and minimum of the per-layer scores (0 over no layer)."""
    return {
        "layer_spectral_gap_mean": float(np.mean(gaps)) if gaps else 0.0,
        "layer_spectral_gap_min": float(np.min(gaps)) if gaps else 0.0,
        "layer_algebraic_connectivity_mean": float(np.mean(conns)) if conns else 0.0,
        "layer_algebraic_connectivity_min": float(np.min(conns)) if conns else 0.0,
    }


def network_topology_scores(network: Any) -> dict[str, float]:
    """:func:`topology_scores` of a network's masked layers, from the input to the units feeding the output.

    * :class:`~nasprior.networks.GraphNetwork`: the dense ``input_layer`` and
      every hidden ``layers[l]`` (cumulative: each reads all earlier units);
      path counts are scored on the sink units (those feeding the output).
    * any other network with a ``layers`` list of masked layers
      (:class:`~nasprior.networks.LayeredNetwork`): those masks as a chain;
      the dense output layer is left out (it is the same for every prior).
    * otherwise (e.g. a network whose layers do not chain): per-layer scores
      over all its masked layers but ``output_layer``;
      ``path_count_cv = 0`` and ``path_reach = 1`` (not measured).

    Parameters
    ----------
    network : SparseNetwork

    Returns
    -------
    dict of str to float
        Keys :data:`TOPOLOGY_SCORE_NAMES`.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017; Robinett & Kepner 2018.
    """
    import torch

    from .networks import GraphNetwork  # local import: networks -> priors -> bipartite

    if isinstance(network, GraphNetwork):
        masks = [network.input_layer.mask] + [layer.mask for layer in network.layers]
        return topology_scores(masks, cumulative=True, output_units=network.output_layer.mask[0].cpu().numpy())
    layers = list(getattr(network, "layers", []))
    masks = [layer.mask for layer in layers if hasattr(layer, "mask")]
    if masks and len(masks) == len(layers) and all(b.shape[1] == a.shape[0] for a, b in zip(masks, masks[1:])):
        return topology_scores(masks)
    output = getattr(network, "output_layer", None)
    modules = network.modules() if hasattr(network, "modules") else []
    all_masks = [m.mask for m in modules if m is not output and isinstance(getattr(m, "mask", None), torch.Tensor)]
    gaps, conns = _layer_scores([_as_bool(m) for m in all_masks], cumulative=False)
    return {**_summarise(gaps, conns), "path_count_cv": 0.0, "path_reach": 1.0}


# ---------------------------------------------------------------------------
# Initialisation for the dense fan-in (for comparison only)
# ---------------------------------------------------------------------------


def dense_fan_in_init_(weight: "torch.Tensor", mask: "torch.Tensor", gain: float = math.sqrt(2.0)) -> None:
    """Initialise a masked weight as if the layer were dense, in place (the mistake, for comparison).

    Present weights are drawn from ``N(0, gain**2 / n_in)`` with ``n_in`` the
    layer's full input width, not the unit's real fan-in; absent ones are
    zeroed. With density ``rho`` every layer scales the activation variance
    by about ``rho``, so activations vanish geometrically with depth; use
    :func:`nasprior.networks.sparse_init_` instead.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_in)
    mask : torch.Tensor of bool, shape (n_out, n_in)
    gain : float
        ``sqrt(2)`` for ReLU.

    References
    ----------
    .. [1] Isakov & Kinsy 2020, NeuroFabric, Sec. on sparse initialisation.
    .. [2] K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers",
       ICCV 2015.
    """
    import torch

    with torch.no_grad():
        weight.normal_(0.0, gain / math.sqrt(weight.shape[1])).mul_(mask)


# ---------------------------------------------------------------------------
# Genome-level builders (priors radixnet, expander, er_set)
# ---------------------------------------------------------------------------

#: Priors built here; they produce masks per layer and need ``mapping="layered"``.
LAYERED_PRIORS = ("radixnet", "expander", "er_set")


def _layer_mask(genome: "Genome", layer: int, n_in: int) -> np.ndarray:
    """Mask of hidden layer ``layer`` (0 = the input layer) reading ``n_in`` units; seeded per layer."""
    rng = np.random.default_rng([genome.seed, layer])
    if genome.prior == "expander":
        return random_regular_mask(n_in, genome.width, min(genome.degree, n_in), rng)
    if genome.prior == "er_set":
        return er_set_mask(n_in, genome.width, genome.epsilon, rng)
    raise ConfigError(f"prior {genome.prior!r} is not a layer-wise prior: use one of {', '.join(LAYERED_PRIORS)}")


def genome_masks(genome: "Genome", n_inputs: int) -> list[np.ndarray]:
    """All sparse layer masks of a layer-wise-prior genome: ``n_inputs -> width -> ... -> width``.

    * ``radixnet``: :func:`radixnet_layered_masks` ``(n_inputs, width,
      n_layers, radix)``;
    * ``expander``: :func:`random_regular_mask` with in-degree
      ``min(degree, n_in)`` (``degree`` is capped at the input width for
      the first layer);
    * ``er_set``: :func:`er_set_mask` with SET's ε = ``epsilon``.

    Random layers are seeded with ``(genome.seed, layer)``, so the
    hidden-to-hidden masks do not depend on ``n_inputs``.

    Parameters
    ----------
    genome : Genome
        ``mapping == "layered"`` and ``prior`` one of :data:`LAYERED_PRIORS`.
    n_inputs : int
        Flattened input size.

    Returns
    -------
    list of numpy.ndarray of bool
        ``genome.n_layers`` masks; the first of shape (width, n_inputs), the
        others (width, width).

    Raises
    ------
    ConfigError
        If the prior is not layer-wise, or the RadiX-Net does not fit (see
        :func:`radixnet_layered_masks`).

    References
    ----------
    .. [1] Robinett & Kepner 2018; Bourely et al. 2017; Mocanu et al. 2018.
    """
    if genome.prior == "radixnet":
        return radixnet_layered_masks(n_inputs, genome.width, genome.n_layers, genome.radix)
    return [_layer_mask(genome, layer, n_inputs if layer == 0 else genome.width) for layer in range(genome.n_layers)]


def hidden_masks(genome: "Genome") -> list[np.ndarray]:
    """The ``n_layers - 1`` hidden-to-hidden masks of a layer-wise-prior genome, each (width, width).

    Equal to ``genome_masks(genome, n_inputs)[1:]`` for any valid
    ``n_inputs``; they do not depend on the input size.

    Raises
    ------
    ConfigError
        As :func:`genome_masks`.
    """
    if genome.prior == "radixnet":
        n, k = radixnet_plan(genome.width, genome.n_layers, genome.radix)
        block = genome.width // n
        return [
            np.kron(radix_layer(n, genome.radix, genome.radix ** (layer % k)), np.ones((block, block), dtype=bool)).astype(bool)
            for layer in range(1, genome.n_layers)
        ]
    return [_layer_mask(genome, layer, genome.width) for layer in range(1, genome.n_layers)]


def hidden_graph(genome: "Genome") -> nx.Graph:
    """The graph of a layer-wise-prior genome: its hidden units joined by the hidden-to-hidden masks.

    Unit ``j`` of hidden layer ``l`` is node ``l * width + j`` (so the graph
    has ``n_layers * width`` nodes, not ``genome.n_nodes``, which these priors
    ignore); an undirected edge joins two units of consecutive hidden layers
    when the mask connects them. Orienting it from lower to higher index
    (:func:`nasprior.topology.to_dag`) gives the layered DAG of the hidden
    units. The input layer is left out (it depends on the task); with
    ``n_layers = 1`` the graph has no edges.

    Parameters
    ----------
    genome : Genome

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ConfigError
        As :func:`genome_masks`.
    """
    width = genome.width
    graph = nx.Graph()
    graph.add_nodes_from(range(genome.n_layers * width))
    for layer, mask in enumerate(hidden_masks(genome), start=1):
        rows, cols = np.nonzero(mask)
        graph.add_edges_from(zip(((layer - 1) * width + cols).tolist(), (layer * width + rows).tolist()))
    return graph
