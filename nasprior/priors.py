"""Graph priors: random-graph models that generate candidate topologies.

Each prior is a :class:`Prior` registered in :data:`PRIORS` under its name.
A prior turns a :class:`~nasprior.genome.Genome` into an undirected networkx
graph on ``genome.n_nodes`` nodes labelled ``0 .. n_nodes - 1``. Graphs are
built with networkx's generators and seeded with ``genome.seed``, so the same
genome gives the same graph in any process.

The layer-wise priors ``radixnet``, ``expander`` and ``er_set``
(:mod:`nasprior.bipartite`) work with ``mapping="layered"`` only: they give
the mask of every layer (:attr:`Prior.masks`), and their graph is the
``n_layers * width`` hidden units joined by the hidden-to-hidden masks.

References
----------
.. [ER] P. Erdős and A. Rényi, "On random graphs I", 1959; E. N. Gilbert,
   "Random graphs", 1959.
.. [WS] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
   networks", Nature 393, 1998.
.. [BA] A.-L. Barabási and R. Albert, "Emergence of scaling in random
   networks", Science 286, 1999.
.. [Stier] J. Stier, H. Darji, M. Granitzer, "Experiments on properties of
   hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [RadiX] R. A. Robinett and J. Kepner, "RadiX-Net: Structured sparse
   matrices for deep neural networks", 2019 (prior ``radixnet``).
.. [Bourely] A. Bourely, J. P. Boueri, K. Choromanski, "Sparse neural networks
   topologies", arXiv:1706.05683, 2017 (prior ``expander``).
.. [SET] D. C. Mocanu et al., "Scalable training of artificial neural networks
   with adaptive sparse connectivity inspired by network science", Nature
   Communications 9, 2018 (prior ``er_set``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import networkx as nx
import numpy as np

from .bipartite import genome_masks, hidden_graph, radixnet_plan
from .errors import ConfigError

if TYPE_CHECKING:
    from .genome import Genome


@dataclass(frozen=True)
class Prior:
    """A named random-graph model.

    Parameters
    ----------
    name : str
        Registry name, the value of ``Genome.prior``.
    genes : tuple of str
        Genome fields the prior reads besides ``n_nodes`` and ``seed``
        (mutation of the other fields does not change the graph).
    build : callable
        ``build(genome) -> networkx.Graph`` on ``genome.n_nodes`` nodes.
    check : callable, optional
        ``check(genome)`` raising :class:`ConfigError` for parameter
        combinations the generator cannot take.
    masks : callable, optional
        ``masks(genome, n_inputs) -> list of numpy.ndarray of bool``: for
        layer-wise priors (``radixnet``, ``expander``, ``er_set``; see
        :mod:`nasprior.bipartite`), the mask of every hidden layer, the first
        of shape (width, n_inputs), the others (width, width).
        :func:`nasprior.networks.build_network` uses it instead of the graph;
        ``build`` then returns the hidden units joined by the hidden-to-hidden
        masks (:func:`nasprior.bipartite.hidden_graph`), for the structural
        features. Such priors need ``mapping="layered"``.
    seeded : bool
        Whether ``genome.seed`` changes the result (False for deterministic
        constructions such as ``complete`` and ``radixnet``).
    """

    name: str
    genes: tuple[str, ...]
    build: Callable[["Genome"], nx.Graph]
    check: Callable[["Genome"], None] | None = None
    masks: Callable[["Genome", int], list[np.ndarray]] | None = None
    seeded: bool = True

    def validate(self, genome: "Genome") -> None:
        """Raise :class:`ConfigError` if the genome's parameters do not suit this prior."""
        if self.check is not None:
            self.check(genome)


def _check_ws(g: "Genome") -> None:
    if g.k >= g.n_nodes:
        raise ConfigError(
            f"genome field 'k' = {g.k} must be below n_nodes = {g.n_nodes} for the watts_strogatz prior: "
            f"choose k in [2, {g.n_nodes - 1}]"
        )


def _check_ba(g: "Genome") -> None:
    if g.m >= g.n_nodes:
        raise ConfigError(
            f"genome field 'm' = {g.m} must be below n_nodes = {g.n_nodes} for the barabasi_albert prior: "
            f"choose m in [1, {g.n_nodes - 1}]"
        )


def _check_layer_wise(g: "Genome") -> None:
    if g.mapping != "layered":
        raise ConfigError(
            f"the {g.prior} prior builds layer-wise masks and needs mapping = 'layered', got {g.mapping!r}: "
            "set mapping to 'layered'"
        )
    if g.prior == "radixnet":
        radixnet_plan(g.width, g.n_layers, g.radix)  # raises if width is not a multiple of radix
    if g.prior == "expander" and g.degree > g.width:
        raise ConfigError(
            f"genome field 'degree' = {g.degree} exceeds width = {g.width} for the expander prior: "
            f"choose degree in [1, {g.width}]"
        )


def _gnp(g: "Genome") -> nx.Graph:
    return nx.gnp_random_graph(g.n_nodes, g.p, seed=g.seed)


def _ws(g: "Genome") -> nx.Graph:
    return nx.watts_strogatz_graph(g.n_nodes, g.k, g.p, seed=g.seed)


def _ba(g: "Genome") -> nx.Graph:
    return nx.barabasi_albert_graph(g.n_nodes, g.m, seed=g.seed)


def _complete(g: "Genome") -> nx.Graph:
    return nx.complete_graph(g.n_nodes)


#: Registry of graph priors by name.
PRIORS: dict[str, Prior] = {
    p.name: p
    for p in (
        Prior("gnp", ("p",), _gnp),
        Prior("watts_strogatz", ("k", "p"), _ws, _check_ws),
        Prior("barabasi_albert", ("m",), _ba, _check_ba),
        Prior("complete", (), _complete, seeded=False),
        Prior("radixnet", ("radix", "n_layers", "width"), hidden_graph, _check_layer_wise, genome_masks, seeded=False),
        Prior("expander", ("degree", "n_layers", "width"), hidden_graph, _check_layer_wise, genome_masks),
        Prior("er_set", ("epsilon", "n_layers", "width"), hidden_graph, _check_layer_wise, genome_masks),
    )
}


def get_prior(name: str) -> Prior:
    """Return the registered prior called ``name``.

    Raises
    ------
    ConfigError
        If no prior has that name; the message lists the known priors.
    """
    try:
        return PRIORS[name]
    except KeyError:
        raise ConfigError(f"unknown prior {name!r}: use one of {', '.join(PRIORS)}") from None


def make_graph(genome: "Genome") -> nx.Graph:
    """Build the undirected prior graph of a genome.

    Parameters
    ----------
    genome : Genome
        The candidate; ``genome.prior`` selects the generator.

    Returns
    -------
    networkx.Graph
        ``genome.n_nodes`` nodes labelled ``0 .. n_nodes - 1`` (layer-wise
        priors: ``n_layers * width`` hidden units); deterministic
        in the genome.
    """
    graph = get_prior(genome.prior).build(genome)
    graph.graph["prior"] = genome.prior
    return graph
