"""Stochastic block model prior: graphs with community structure.

The ``n_nodes`` nodes are split into ``n_blocks`` blocks of (nearly) equal
size, in node order; two nodes are joined with probability ``p`` inside a
block and ``p_out`` between blocks (:func:`networkx.stochastic_block_model`).
Oriented by node index (as every graph mapping does), the blocks become
groups of consecutive units that talk mostly among themselves: modular
networks, which none of the classic priors produce. Added through the prior
registry alone (this module and one import in :mod:`nasprior.priors`), as the
example of extending nasprior.

References
----------
.. [Holland1983] P. W. Holland, K. B. Laskey and S. Leinhardt, "Stochastic
   blockmodels: first steps", Social Networks 5(2):109-137, 1983.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from ..errors import ConfigError
from ..genes import N_NODES, SEED, Gene, P
from .base import Prior, register_prior
from .random_graphs import repair_n_nodes

if TYPE_CHECKING:
    from ..genome import Genome

#: Number of blocks (communities).
N_BLOCKS = Gene("n_blocks", "int", 4, 1, 64, doc="stochastic block model: blocks")
#: Edge probability between blocks (``p`` is the probability inside a block).
P_OUT = Gene("p_out", "float", 0.01, 0.0, 1.0, doc="stochastic block model: edge probability between blocks")


def block_sizes(n_nodes: int, n_blocks: int) -> list[int]:
    """Sizes of ``n_blocks`` consecutive blocks of ``n_nodes`` nodes, differing by at most one.

    Raises
    ------
    ConfigError
        If there are more blocks than nodes.
    """
    if n_blocks > n_nodes:
        raise ConfigError(
            f"genome field 'n_blocks' = {n_blocks} exceeds n_nodes = {n_nodes} for the "
            f"block_model prior: choose n_blocks in [1, {n_nodes}]"
        )
    return [n_nodes // n_blocks + (i < n_nodes % n_blocks) for i in range(n_blocks)]


def _build(g: Genome) -> nx.Graph:
    sizes = block_sizes(g.n_nodes, g.n_blocks)
    probs = [[g.p if i == j else g.p_out for j in range(len(sizes))] for i in range(len(sizes))]
    graph = nx.Graph(nx.stochastic_block_model(sizes, probs, seed=g.seed, sparse=True))
    graph.graph.pop("partition", None)
    return graph


def _expected_edges(g: Genome) -> float:
    sizes = [g.n_nodes / g.n_blocks] * g.n_blocks
    inside = sum(s * (s - 1) / 2 for s in sizes)
    return g.p * inside + g.p_out * (g.n_nodes * (g.n_nodes - 1) / 2 - inside)


def _repair(values: dict[str, Any]) -> None:
    repair_n_nodes(values)
    values["n_blocks"] = min(values["n_blocks"], values["n_nodes"])


BLOCK_MODEL = register_prior(
    Prior(
        "block_model",
        (N_NODES, N_BLOCKS, P, P_OUT, SEED),
        build=_build,
        describe=lambda g: f"n={g.n_nodes} blocks={g.n_blocks} p={g.p:.3f} p_out={g.p_out:.3f}",
        expected_edges=_expected_edges,
        check=lambda g: block_sizes(g.n_nodes, g.n_blocks) and None,
        repair=_repair,
        reference="Holland, Laskey & Leinhardt 1983",
    )
)
