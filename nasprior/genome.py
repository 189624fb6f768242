"""The genome: a small, frozen, JSON-able description of one candidate network.

A genome names the graph prior, the mapping from graph to network, and the
values of exactly the genes those two read (:attr:`Prior.genes
<nasprior.priors.Prior.genes>` and :attr:`Mapping.genes
<nasprior.networks.Mapping.genes>`): a dense layered network holds
``n_nodes``, ``n_layers`` and ``width``, not the ``p``, ``k`` or ``cell`` of
other priors and mappings. Everything else about a candidate (its graph,
network, features, record) is derived from the genome, so its :attr:`Genome.key`
(a hash of exactly those genes) identifies the network in run logs: two
genomes that build the same network have the same key.

Records written before genomes were trimmed (every gene present) still load:
:meth:`Genome.from_dict` drops the genes the prior and mapping do not read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .genes import GENES
from .networks import MAPPINGS, get_mapping
from .priors import PRIORS, get_prior
from .validation import parse_json

#: Fields of a genome that are not genes.
HEAD_FIELDS = ("prior", "mapping")


def default_mapping(prior: str, genes: Mapping[str, Any]) -> str:
    """Mapping of a genome that names none: ``recurrent`` when a ``cell`` is given, else the prior's first, else ``graph``."""
    if "cell" in genes:
        return "recurrent"
    allowed = get_prior(prior).mappings
    return allowed[0] if allowed else "graph"


class Genome:
    """One candidate: a graph prior, its parameters, and how it becomes a network.

    Parameters
    ----------
    prior : str
        Name of a registered prior (:data:`nasprior.priors.PRIORS`: ``"gnp"``,
        ``"watts_strogatz"``, ``"barabasi_albert"``, ``"complete"``,
        ``"block_model"``, ``"radixnet"``, ``"expander"``, ``"er_set"``).
    mapping : str, optional
        Name of a registered mapping (:data:`nasprior.networks.MAPPINGS`:
        ``"graph"``, ``"layered"``, ``"recurrent"``). Default:
        :func:`default_mapping`.
    **genes
        Values of the genes the prior and mapping read (see
        :data:`nasprior.genes.GENES` for every gene and its range, e.g.
        ``n_nodes``, ``p``, ``k``, ``m``, ``seed``, ``n_layers``, ``width``,
        ``cell``). Missing genes take their defaults; genes neither reads
        are dropped.

    Attributes
    ----------
    prior, mapping : str
    genes : dict of str to int, float or str
        Exactly the genes the prior and mapping read. Each is also an
        attribute: ``genome.n_nodes``.

    Raises
    ------
    ConfigError
        If the prior or mapping is unknown, a gene is unknown or out of
        range, or the combination does not suit the prior or mapping; the
        message names the field and what to choose instead.
    """

    __slots__ = ("prior", "mapping", "genes")

    def __init__(self, prior: str = "gnp", mapping: str | None = None, **genes: Any):
        if not isinstance(prior, str) or prior not in PRIORS:
            raise ConfigError(f"genome field 'prior' = {prior!r} is unknown: use one of {', '.join(PRIORS)}")
        prior_def = get_prior(prior)
        if mapping is None:
            mapping = default_mapping(prior, genes)
        if not isinstance(mapping, str) or mapping not in MAPPINGS:
            raise ConfigError(f"genome field 'mapping' = {mapping!r} is unknown: use one of {', '.join(MAPPINGS)}")
        mapping_def = get_mapping(mapping)
        unknown = sorted(set(genes) - set(GENES))
        if unknown:
            raise ConfigError(
                f"unknown genome field(s) {', '.join(unknown)}: allowed fields are "
                f"{', '.join(HEAD_FIELDS + tuple(sorted(GENES)))}"
            )
        for name, value in genes.items():  # every given gene must be valid, read or not
            GENES[name].check(value)
        values: dict[str, Any] = {}
        for gene in prior_def.genes + mapping_def.genes:
            values[gene.name] = gene.check(genes.get(gene.name, gene.default))
        values.update((prior_def.fixed or {}).get(mapping, {}))  # genes that cannot change this network
        object.__setattr__(self, "prior", prior)
        object.__setattr__(self, "mapping", mapping)
        object.__setattr__(self, "genes", dict(sorted(values.items())))
        prior_def.validate(self)
        if mapping_def.check is not None:
            mapping_def.check(self)

    def __getattr__(self, name: str) -> Any:
        genes = object.__getattribute__(self, "genes")
        if name in genes:
            return genes[name]
        if name in GENES and name not in HEAD_FIELDS:
            raise AttributeError(
                f"a {self.prior} genome with mapping {self.mapping!r} has no gene {name!r} "
                f"(its genes: {', '.join(genes)})"
            )
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Genome is frozen: use genome.replace(...) for a changed copy")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Genome) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        genes = ", ".join(f"{k}={v!r}" for k, v in self.genes.items())
        return f"Genome(prior={self.prior!r}, mapping={self.mapping!r}, {genes})"

    def __reduce__(self):  # pickling for worker processes: rebuild from the dict
        return (_from_dict, (self.to_dict(),))

    def get(self, name: str, default: Any = None) -> Any:
        """Value of gene ``name``, or ``default`` if the genome does not hold it."""
        return self.genes.get(name, default)

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The genome as a plain ``dict`` (JSON-able): prior, mapping and its genes."""
        return {"prior": self.prior, "mapping": self.mapping, **self.genes}

    def to_json(self) -> str:
        """Canonical JSON text of the genome (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Genome:
        """Build a genome from a mapping; missing genes take their defaults.

        Genes that the prior and mapping do not read are dropped, so genomes
        of records written before genomes were trimmed load unchanged
        (migration on read).

        Raises
        ------
        ConfigError
            If ``data`` is not a mapping, names an unknown field, or a value
            is out of range.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a genome must be a JSON object, got {type(data).__name__}")
        values = dict(data)
        prior = values.pop("prior", "gnp")
        mapping = values.pop("mapping", None)
        return cls(prior, mapping, **values)

    @classmethod
    def from_json(cls, text: str) -> Genome:
        """Parse a genome from JSON text.

        Raises
        ------
        ConfigError
            If the text is not valid JSON or the genome is invalid.
        """
        data = parse_json(text, "genome", 'give an object like {"prior": "gnp"}')
        return cls.from_dict(data)

    @property
    def key(self) -> str:
        """Stable 16-hex-digit identifier: SHA-256 of the canonical JSON (:meth:`to_json`)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> Genome:
        """A copy with ``changes`` applied (validated like a new genome).

        Changing ``prior`` or ``mapping`` keeps the genes both read and
        gives the others their defaults.
        """
        values = {**self.to_dict(), **changes}
        return Genome.from_dict(values)


def _from_dict(data: dict[str, Any]) -> Genome:
    return Genome.from_dict(data)


def describe(genome: Genome) -> str:
    """Short text of a genome for progress lines, e.g. ``"1a2b3c4d gnp(n=30 p=0.100) 2x128"``."""
    prior, mapping = PRIORS[genome.prior], MAPPINGS[genome.mapping]
    return f"{genome.key[:8]} {genome.prior}({prior.describe(genome)}) {mapping.describe(genome)}"
