"""Layer-wise priors of the seed papers: RadiX-Nets, expanders, Erdős–Rényi (SET) layers.

A *layer-wise* sparse network has fixed layer widths; each layer's
connectivity is a bipartite graph, held as a boolean mask of shape
``(n_out, n_in)`` (``mask[j, i]`` is True when input unit ``i`` feeds output
unit ``j``, the layout of :class:`~nasprior.networks.MaskedLinear`). This
module builds such masks and registers three priors that give them:

* ``radixnet`` -- RadiX-Net (Robinett & Kepner 2018; Alford et al. 2019):
  :func:`radix_layer`, :func:`radixnet_masks` (mixed-radix systems widened by
  Kronecker products with dense blocks), every input reaching every output by
  the same number of paths.
* ``expander`` -- random regular (expander) bipartite layers (Bourely, Boueri
  & Choromanski 2017): :func:`random_regular_mask`, every output unit with
  exactly ``d`` inputs and input degrees differing by at most one.
* ``er_set`` -- Erdős–Rényi layers with SET's ε parametrisation (Mocanu et
  al. 2018): :func:`set_density`, :func:`erdos_renyi_mask`, :func:`er_set_mask`.

The genome-level builders (:func:`genome_masks`, :func:`hidden_masks`,
:func:`hidden_graph`) back these priors, which work with the ``layered``
mapping only. Data-free scores of such masks (spectral gap, algebraic
connectivity, path counts) live in :mod:`nasprior.features.topology`.

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
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import networkx as nx
import numpy as np

from ..errors import ConfigError
from ..genes import SEED, Gene
from .base import Prior, register_prior

if TYPE_CHECKING:
    from ..genome import Genome

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



# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------

#: RadiX-Net radix of every layer; ``width`` must be a multiple of it.
RADIX = Gene("radix", "int", 4, 2, 64, doc="RadiX-Net radix")
#: Expander in-degree of every unit.
DEGREE = Gene("degree", "int", 16, 1, 4096, doc="expander in-degree")
#: SET's epsilon of the density ``eps (n_in + n_out) / (n_in n_out)``.
EPSILON = Gene("epsilon", "float", 20.0, 0.1, 1000.0, doc="SET epsilon")


def _check_radixnet(g: "Genome") -> None:
    radixnet_plan(g.width, g.n_layers, g.radix)  # raises if width is not a multiple of radix


def _check_expander(g: "Genome") -> None:
    if g.degree > g.width:
        raise ConfigError(
            f"genome field 'degree' = {g.degree} exceeds width = {g.width} for the expander prior: "
            f"choose degree in [1, {g.width}]"
        )


def _repair_radixnet(values: dict[str, Any]) -> None:
    """Width a multiple of ``radix**j``, ``j`` as large as ``n_layers`` allows."""
    r = values["radix"]
    j = max(1, min(values["n_layers"], int(math.log(max(values["width"], r)) / math.log(r) + 1e-9)))
    values["width"] = max(r, values["width"] // r**j * r**j)


def _repair_expander(values: dict[str, Any]) -> None:
    values["degree"] = min(values["degree"], values["width"])


def _hidden_edges(g: "Genome", per_unit: float) -> float:
    return (g.n_layers - 1) * g.width * per_unit


register_prior(Prior(
    "radixnet", (RADIX,), build=hidden_graph, masks=genome_masks, mappings=("layered",),
    describe=lambda g: f"radix={g.radix}", expected_edges=lambda g: _hidden_edges(g, g.radix),
    check=_check_radixnet, repair=_repair_radixnet, reference="Robinett & Kepner 2018; Alford et al. 2019",
))
register_prior(Prior(
    "expander", (DEGREE, SEED), build=hidden_graph, masks=genome_masks, mappings=("layered",),
    describe=lambda g: f"degree={g.degree}", expected_edges=lambda g: _hidden_edges(g, g.degree),
    check=_check_expander, repair=_repair_expander, reference="Bourely, Boueri & Choromanski 2017",
))
register_prior(Prior(
    "er_set", (EPSILON, SEED), build=hidden_graph, masks=genome_masks, mappings=("layered",),
    describe=lambda g: f"epsilon={g.epsilon:.1f}",
    expected_edges=lambda g: _hidden_edges(g, g.width * set_density(g.width, g.width, g.epsilon)),
    reference="Mocanu et al. 2018",
))
