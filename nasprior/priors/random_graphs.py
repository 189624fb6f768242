"""Classic random-graph priors: Erdős–Rényi, Watts–Strogatz, Barabási–Albert, and the complete graph.

Each turns a genome into an undirected networkx graph on ``n_nodes`` nodes
labelled ``0 .. n_nodes - 1``, built with networkx's generators and seeded
with the genome's ``seed``, so the same genome gives the same graph in any
process. These are the priors of Stier, Darji & Granitzer (2021).

References
----------
.. [ER] P. Erdős and A. Rényi, "On random graphs I", 1959; E. N. Gilbert,
   "Random graphs", 1959 (prior ``gnp``).
.. [WS] D. J. Watts and S. H. Strogatz, "Collective dynamics of 'small-world'
   networks", Nature 393, 1998 (prior ``watts_strogatz``).
.. [BA] A.-L. Barabási and R. Albert, "Emergence of scaling in random
   networks", Science 286, 1999 (prior ``barabasi_albert``).
.. [Stier] J. Stier, H. Darji, M. Granitzer, "Experiments on properties of
   hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from ..errors import ConfigError
from ..genes import N_NODES, SEED, Gene, P
from .base import Prior, register_prior

if TYPE_CHECKING:
    from ..genome import Genome

#: Watts–Strogatz: ring neighbours each node starts joined to.
K = Gene("k", "int", 4, 2, 256, doc="Watts-Strogatz ring neighbours")
#: Barabási–Albert: edges attached from each new node.
M = Gene("m", "int", 2, 1, 256, doc="Barabasi-Albert edges per new node")


def repair_n_nodes(values: dict[str, Any]) -> None:
    """At least 3 nodes (smaller graphs make degenerate networks)."""
    values["n_nodes"] = max(values["n_nodes"], 3)


def _repair_ws(values: dict[str, Any]) -> None:
    """k in [2, n_nodes - 1] and even: networkx joins each node to its k // 2 nearest neighbours on either side,
    so an odd k builds the graph of k - 1, and two genomes would be one network."""
    repair_n_nodes(values)
    k = max(2, min(values["k"], values["n_nodes"] - 1))
    values["k"] = max(2, k - k % 2)


def _repair_ba(values: dict[str, Any]) -> None:
    repair_n_nodes(values)
    values["m"] = max(1, min(values["m"], values["n_nodes"] - 1))


def _check_ws(g: Genome) -> None:
    if g.k >= g.n_nodes:
        raise ConfigError(
            f"genome field 'k' = {g.k} must be below n_nodes = {g.n_nodes} for the watts_strogatz prior: "
            f"choose k in [2, {g.n_nodes - 1}]"
        )


def _check_ba(g: Genome) -> None:
    if g.m >= g.n_nodes:
        raise ConfigError(
            f"genome field 'm' = {g.m} must be below n_nodes = {g.n_nodes} for the barabasi_albert prior: "
            f"choose m in [1, {g.n_nodes - 1}]"
        )


def _pairs(g: Genome) -> float:
    return g.n_nodes * (g.n_nodes - 1) / 2


GNP = register_prior(
    Prior(
        "gnp",
        (N_NODES, P, SEED),
        build=lambda g: nx.gnp_random_graph(g.n_nodes, g.p, seed=g.seed),
        describe=lambda g: f"n={g.n_nodes} p={g.p:.3f}",
        expected_edges=lambda g: g.p * _pairs(g),
        repair=repair_n_nodes,
        reference="Erdős & Rényi 1959; Gilbert 1959",
    )
)
WATTS_STROGATZ = register_prior(
    Prior(
        "watts_strogatz",
        (N_NODES, K, P, SEED),
        build=lambda g: nx.watts_strogatz_graph(g.n_nodes, g.k, g.p, seed=g.seed),
        describe=lambda g: f"n={g.n_nodes} k={g.k} p={g.p:.2f}",
        expected_edges=lambda g: g.n_nodes * (g.k // 2),
        check=_check_ws,
        repair=_repair_ws,
        reference="Watts & Strogatz 1998",
    )
)
BARABASI_ALBERT = register_prior(
    Prior(
        "barabasi_albert",
        (N_NODES, M, SEED),
        build=lambda g: nx.barabasi_albert_graph(g.n_nodes, g.m, seed=g.seed),
        describe=lambda g: f"n={g.n_nodes} m={g.m}",
        expected_edges=lambda g: (g.n_nodes - g.m) * g.m,
        check=_check_ba,
        repair=_repair_ba,
        reference="Barabási & Albert 1999",
    )
)
COMPLETE = register_prior(
    Prior(
        "complete",
        (N_NODES,),
        build=lambda g: nx.complete_graph(g.n_nodes),
        describe=lambda g: f"n={g.n_nodes}",
        expected_edges=_pairs,
        repair=repair_n_nodes,
        fixed={"layered": {"n_nodes": 2}},  # every complete graph gives dense layers: one key per dense network
        reference="the dense baseline",
    )
)
