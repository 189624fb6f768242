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
connectivity, path counts) live in :mod:`nasprior.features.mask_scores`.

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
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from ..errors import ConfigError
from ..genes import SEED, Gene
from .base import Prior, register_prior
from .radixnet import _positive_int, radix_layer, radixnet_layered_masks, radixnet_plan

if TYPE_CHECKING:
    from ..genome import Genome

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
    if (
        isinstance(epsilon, bool)
        or not isinstance(epsilon, (int, float, np.floating, np.integer))
        or not math.isfinite(epsilon)
        or epsilon <= 0
    ):
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


def _layer_mask(genome: Genome, layer: int, n_in: int) -> np.ndarray:
    """Mask of hidden layer ``layer`` (0 = the input layer) reading ``n_in`` units; seeded per layer."""
    rng = np.random.default_rng([genome.seed, layer])
    if genome.prior == "expander":
        return random_regular_mask(n_in, genome.width, min(genome.degree, n_in), rng)
    if genome.prior == "er_set":
        return er_set_mask(n_in, genome.width, genome.epsilon, rng)
    raise ConfigError(f"prior {genome.prior!r} is not a layer-wise prior: use one of {', '.join(LAYERED_PRIORS)}")


def genome_masks(genome: Genome, n_inputs: int) -> list[np.ndarray]:
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


def hidden_masks(genome: Genome) -> list[np.ndarray]:
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
            np.kron(
                radix_layer(n, genome.radix, genome.radix ** (layer % k)), np.ones((block, block), dtype=bool)
            ).astype(bool)
            for layer in range(1, genome.n_layers)
        ]
    return [_layer_mask(genome, layer, genome.width) for layer in range(1, genome.n_layers)]


def hidden_graph(genome: Genome) -> nx.Graph:
    """The graph of a layer-wise-prior genome: its hidden units joined by the hidden-to-hidden masks.

    Unit ``j`` of hidden layer ``l`` is node ``l * width + j`` (so the graph
    has ``n_layers * width`` nodes, not ``genome.n_nodes``, which these priors
    ignore); an undirected edge joins two units of consecutive hidden layers
    when the mask connects them. Orienting it from lower to higher index
    (:func:`nasprior.dag.to_dag`) gives the layered DAG of the hidden
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


def _check_radixnet(g: Genome) -> None:
    radixnet_plan(g.width, g.n_layers, g.radix)  # raises if width is not a multiple of radix


def _check_expander(g: Genome) -> None:
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


def _hidden_edges(g: Genome, per_unit: float) -> float:
    return (g.n_layers - 1) * g.width * per_unit


register_prior(
    Prior(
        "radixnet",
        (RADIX,),
        build=hidden_graph,
        masks=genome_masks,
        mappings=("layered",),
        describe=lambda g: f"radix={g.radix}",
        expected_edges=lambda g: _hidden_edges(g, g.radix),
        check=_check_radixnet,
        repair=_repair_radixnet,
        reference="Robinett & Kepner 2018; Alford et al. 2019",
    )
)
register_prior(
    Prior(
        "expander",
        (DEGREE, SEED),
        build=hidden_graph,
        masks=genome_masks,
        mappings=("layered",),
        describe=lambda g: f"degree={g.degree}",
        expected_edges=lambda g: _hidden_edges(g, g.degree),
        check=_check_expander,
        repair=_repair_expander,
        reference="Bourely, Boueri & Choromanski 2017",
    )
)
register_prior(
    Prior(
        "er_set",
        (EPSILON, SEED),
        build=hidden_graph,
        masks=genome_masks,
        mappings=("layered",),
        describe=lambda g: f"epsilon={g.epsilon:.1f}",
        expected_edges=lambda g: _hidden_edges(g, g.width * set_density(g.width, g.width, g.epsilon)),
        reference="Mocanu et al. 2018",
    )
)
