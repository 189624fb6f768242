"""The prior registry: what a graph prior is, and where priors are looked up.

A :class:`Prior` owns everything nasprior knows about one random-graph
model: the genes it reads (with their ranges), the generator that turns a
genome into a graph, the checks of parameter combinations it cannot take,
the repair that makes a decoded GA individual valid, a short description for
progress lines, and an estimate of its size (so that a huge genome is refused
before it is built). Adding a prior is one module that calls
:func:`register_prior`, imported by :mod:`nasprior.priors`, plus its genes in
a search-space TOML.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from ..errors import ConfigError
from ..genes import Gene, registered_gene
from ..registry import Registry

if TYPE_CHECKING:
    from ..genome import Genome


@dataclass(frozen=True)
class Prior:
    """A named random-graph model (a graph prior).

    Parameters
    ----------
    name : str
        Registry name, the value of ``Genome.prior``.
    genes : tuple of Gene
        The genes the prior reads (``n_nodes`` and ``seed`` included where
        used). A genome of this prior holds these genes plus its mapping's.
    build : callable
        ``build(genome) -> networkx.Graph``; deterministic in the genome.
    describe : callable
        ``describe(genome) -> str``: the prior's parameters as short text,
        e.g. ``"n=30 m=3"``.
    expected_edges : callable
        ``expected_edges(genome) -> float``: edges the graph will have (an
        estimate; used to refuse genomes too large to build).
    check : callable, optional
        ``check(genome)`` raising :class:`~nasprior.errors.ConfigError` for
        parameter combinations the generator cannot take.
    repair : callable, optional
        ``repair(values) -> None``: adjusts a dict of decoded gene values in
        place so that :attr:`check` passes (used by
        :meth:`nasprior.space.SearchSpace.decode`).
    masks : callable, optional
        Layer-wise priors only: ``masks(genome, n_inputs) -> list of
        numpy.ndarray of bool``, the mask of every hidden layer (the first of
        shape (width, n_inputs), the others (width, width)); ``build`` then
        returns the hidden units joined by the hidden-to-hidden masks.
    mappings : tuple of str, optional
        Mappings the prior works with (None: every graph mapping).
    fixed : dict, optional
        Mapping name to ``{gene: value}``: genes whose value cannot change the
        network under that mapping, held at one value so that genomes of the
        same network share one key (the complete graph under the layered
        mapping gives dense masks whatever its ``n_nodes``).
    reference : str
        The paper the prior comes from.
    """

    name: str
    genes: tuple[Gene, ...]
    build: Callable[[Genome], nx.Graph]
    describe: Callable[[Genome], str]
    expected_edges: Callable[[Genome], float]
    check: Callable[[Genome], None] | None = None
    repair: Callable[[dict[str, Any]], None] | None = None
    masks: Callable[[Genome, int], list[np.ndarray]] | None = None
    mappings: tuple[str, ...] | None = None
    fixed: dict[str, dict[str, Any]] | None = None
    reference: str = ""

    @property
    def gene_names(self) -> tuple[str, ...]:
        """Names of :attr:`genes`, in order."""
        return tuple(g.name for g in self.genes)

    def validate(self, genome: Genome) -> None:
        """Raise :class:`ConfigError` if the genome's parameters do not suit this prior."""
        if self.mappings is not None and genome.mapping not in self.mappings:
            raise ConfigError(
                f"the {self.name} prior needs mapping = {' or '.join(repr(m) for m in self.mappings)}, got "
                f"{genome.mapping!r}: set mapping to {self.mappings[0]!r}"
            )
        if self.check is not None:
            self.check(genome)


#: Registry of graph priors by name, in registration order.
PRIORS = Registry("prior")


def register_prior(prior: Prior) -> Prior:
    """Add a prior to :data:`PRIORS` and return it.

    Raises
    ------
    ConfigError
        If a prior of that name exists, or one of its genes clashes with an
        already registered gene of the same name (another type or range).
    """
    for gene in prior.genes:
        registered_gene(gene)
    return PRIORS.add(prior)


def get_prior(name: str) -> Prior:
    """Return the registered prior called ``name``.

    Raises
    ------
    ConfigError
        If no prior has that name; the message lists the known priors.
    """
    return PRIORS.lookup(name)


def make_graph(genome: Genome) -> nx.Graph:
    """Build the undirected prior graph of a genome.

    Parameters
    ----------
    genome : Genome
        The candidate; ``genome.prior`` selects the generator.

    Returns
    -------
    networkx.Graph
        Nodes labelled ``0 .. n - 1`` (``n = genome.n_nodes``; layer-wise
        priors: ``n_layers * width`` hidden units); deterministic in the
        genome. ``graph.graph["prior"]`` names the prior.

    Raises
    ------
    ConfigError
        If the prior is unknown.
    """
    graph = get_prior(genome.prior).build(genome)
    graph.graph["prior"] = genome.prior
    return graph


@functools.lru_cache(maxsize=65536)  # a Genome hashes and compares by its JSON
def network_key(genome: Genome) -> str:
    """Identity of the network a genome builds: equal for two genomes that build the same network.

    A hash (16 hex digits) of the mapping, the genes the prior does not read
    (the mapping's own: channels, op, cell, ...) and the prior graph's
    labelled node and edge lists (:func:`make_graph`; every mapping orients
    and wires the graph by node label, so one labelled graph is one network).
    Different genes can build one graph: a Watts–Strogatz ring with
    ``k = n - 1`` is the complete graph for every ``p`` and seed, and a
    Barabási–Albert graph on ``m + 1`` nodes is the same star for every seed.
    :meth:`nasprior.space.SearchSpace.genomes` keeps one genome per network,
    and predictor cross-validation keeps the records of one network in one
    fold.

    Raises
    ------
    ConfigError
        If the prior is unknown.
    """
    graph = make_graph(genome)
    prior_genes = {g.name for g in get_prior(genome.prior).genes}
    identity = {
        "mapping": genome.mapping,
        "genes": {k: v for k, v in genome.genes.items() if k not in prior_genes},
        "nodes": sorted(int(v) for v in graph.nodes),
        "edges": sorted(tuple(sorted((int(u), int(v)))) for u, v in graph.edges),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def network_of(genome: Genome) -> str:
    """:func:`network_key` of ``genome``, or its genome key when its graph cannot be built.

    What a search counts as one candidate and predictor cross-validation as
    one group: two genomes that build one network are one. A genome whose
    graph fails (unknown prior, parameters networkx refuses) keeps its own
    key; its training logs the failure.
    """
    try:
        return network_key(genome)
    except (ConfigError, nx.NetworkXError, KeyError, TypeError, ValueError):
        return genome.key
