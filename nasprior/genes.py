"""Genes: the typed, bounded parameters a genome is made of.

A :class:`Gene` gives one parameter's type, widest allowed range and default.
Priors (:mod:`nasprior.priors`) and mappings (:mod:`nasprior.networks`)
declare the genes they read; a :class:`~nasprior.genome.Genome` holds exactly
those. Genes shared by several priors (``n_nodes``, ``p``, ``seed``) are
defined once here so that every prior reads them with the same range.
Search spaces (``nasprior/spaces/*.toml``) narrow the ranges per task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Gene:
    """Type, allowed range and default of one genome parameter.

    Parameters
    ----------
    name : str
        Parameter name (a key of ``Genome.genes``).
    kind : {"int", "float", "choice"}
        Value type.
    default : int, float or str
        Value taken when a genome leaves the gene out.
    low, high : float, optional
        Inclusive bounds of ``int`` and ``float`` genes.
    choices : tuple of str, optional
        Allowed values of ``choice`` genes.
    doc : str
        One line saying what the gene means.
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def describe(self) -> str:
        """The allowed range as text, e.g. ``"an int in [4, 4096]"``."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return f"{'an' if self.kind == 'int' else 'a'} {self.kind} in [{self.low:g}, {self.high:g}]"

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to the gene's type.

        Raises
        ------
        ConfigError
            If the value has the wrong type, is not finite, or lies outside
            the gene's range.
        """
        bad = ConfigError(f"genome field {self.name!r} = {value!r} is invalid: use {self.describe()}")
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if isinstance(value, float) and not math.isfinite(value):
            raise bad
        if self.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise bad
            value = int(value)
        else:
            value = float(value)
        if not (self.low <= value <= self.high):
            raise bad
        return value


#: Nodes of the prior graph (graph-as-network: hidden units).
N_NODES = Gene("n_nodes", "int", 64, 2, 4096, doc="nodes of the prior graph")
#: Seed of a random prior: same genome, same graph.
SEED = Gene("seed", "int", 0, 0, 2**31 - 1, doc="seed of the graph prior")
#: Edge probability (Erdős–Rényi, random DAG) or rewiring probability (Watts–Strogatz).
P = Gene("p", "float", 0.1, 0.0, 1.0, doc="edge or rewiring probability")

#: Every gene known to nasprior by name (filled by the prior and mapping registries).
GENES: dict[str, Gene] = {}


def registered_gene(gene: Gene) -> Gene:
    """Record ``gene`` in :data:`GENES` (one definition per name) and return it.

    Raises
    ------
    ConfigError
        If another gene of the same name but a different type, range or
        default is registered already: two priors reading ``p`` must agree
        on what ``p`` is.
    """
    known = GENES.setdefault(gene.name, gene)
    if known != gene:
        raise ConfigError(
            f"gene {gene.name!r} is registered twice with different definitions "
            f"({known.describe()} vs {gene.describe()}): reuse the existing Gene object"
        )
    return known
