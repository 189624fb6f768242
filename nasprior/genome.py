"""The genome: a small, frozen, JSON-able description of one candidate network.

A genome names the graph prior and its parameters, the size of the graph, the
mapping from graph to network, the recurrent cell type (recurrent tasks only)
and the graph seed. Everything else about a candidate (its graph, network,
features, record) is derived from the genome, so the genome's :attr:`Genome.key`
identifies the candidate in run logs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ConfigError

#: Graph-to-network mappings (see :mod:`nasprior.networks`).
MAPPINGS = ("graph", "layered")
#: Recurrent cell types (used by recurrent tasks only).
CELLS = ("rnn_tanh", "rnn_relu", "gru", "lstm")


@dataclass(frozen=True)
class Gene:
    """Type and allowed range of one genome field.

    Parameters
    ----------
    name : str
        Field name on :class:`Genome`.
    kind : {"int", "float", "choice"}
        Value type.
    low, high : float, optional
        Inclusive bounds for ``int`` and ``float`` genes.
    choices : tuple of str, optional
        Allowed values for ``choice`` genes.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return the allowed range as text, e.g. ``"an int in [4, 4096]"``."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return f"{'an' if self.kind == 'int' else 'a'} {self.kind} in [{self.low:g}, {self.high:g}]"

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to the gene's type.

        Raises
        ------
        ConfigError
            If the value has the wrong type or lies outside the gene's range.
        """
        bad = ConfigError(f"genome field {self.name!r} = {value!r} is invalid: use {self.describe()}")
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
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


def _prior_names() -> tuple[str, ...]:
    from .priors import PRIORS  # local import: priors imports Genome for type hints only

    return tuple(PRIORS)


#: The genes of :class:`Genome` with their widest allowed ranges. Search spaces
#: (``search_spaces/*.toml``) narrow these per task.
GENES: dict[str, Gene] = {
    g.name: g
    for g in (
        Gene("n_nodes", "int", 2, 4096),
        Gene("p", "float", 0.0, 1.0),
        Gene("k", "int", 2, 256),
        Gene("m", "int", 1, 256),
        Gene("radix", "int", 2, 64),
        Gene("degree", "int", 1, 4096),
        Gene("epsilon", "float", 0.1, 1000.0),
        Gene("mapping", "choice", choices=MAPPINGS),
        Gene("n_layers", "int", 1, 16),
        Gene("width", "int", 1, 8192),
        Gene("cell", "choice", choices=CELLS),
        Gene("seed", "int", 0, 2**31 - 1),
    )
}


@dataclass(frozen=True)
class Genome:
    """One candidate: a graph prior, its parameters, and how it becomes a network.

    Parameters
    ----------
    prior : str
        Name of the graph prior, a key of :data:`nasprior.priors.PRIORS`
        (``"gnp"``, ``"watts_strogatz"``, ``"barabasi_albert"``, ``"complete"``, ...).
    n_nodes : int
        Number of nodes of the prior graph, in [2, 4096].
    p : float
        Edge probability (Erdős–Rényi ``gnp``) or rewiring probability
        (Watts–Strogatz), in [0, 1]. Ignored by other priors.
    k : int
        Watts–Strogatz: each node starts joined to its ``k`` nearest ring
        neighbours; in [2, 256] and below ``n_nodes``.
    m : int
        Barabási–Albert: edges attached from each new node; in [1, 256] and
        below ``n_nodes``.
    radix : int
        RadiX-Net (``radixnet``): radix of every layer, in [2, 64]; ``width``
        must be a multiple of it (see :func:`nasprior.bipartite.radixnet_plan`).
    degree : int
        Random regular / expander layers (``expander``): in-degree of every
        unit, in [1, 4096] and at most ``width``.
    epsilon : float
        Erdős–Rényi layers with SET's parametrisation (``er_set``): ε of the
        density ``ε (n_in + n_out) / (n_in n_out)``, in [0.1, 1000].
    mapping : {"graph", "layered"}
        ``"graph"``: graph-as-network (every node a unit; Stier et al. 2021).
        ``"layered"``: ``n_layers`` hidden layers of ``width`` units whose
        masks come from the graph (relational graph; You et al. 2020), or
        directly from the prior for the layer-wise priors ``radixnet``,
        ``expander`` and ``er_set`` (which need this mapping).
    n_layers : int
        Hidden layers of the layered mapping, in [1, 16].
    width : int
        Units per hidden layer of the layered mapping, in [1, 8192].
    cell : {"rnn_tanh", "rnn_relu", "gru", "lstm"}
        Recurrent cell type; used by recurrent tasks only.
    seed : int
        Seed of the graph prior, in [0, 2**31 - 1]. Same genome, same graph.

    Raises
    ------
    ConfigError
        On construction, if a field is out of range; the message names the
        field and its allowed range.
    """

    prior: str = "gnp"
    n_nodes: int = 64
    p: float = 0.1
    k: int = 4
    m: int = 2
    radix: int = 4
    degree: int = 16
    epsilon: float = 20.0
    mapping: str = "graph"
    n_layers: int = 2
    width: int = 128
    cell: str = "gru"
    seed: int = 0

    def __post_init__(self) -> None:
        priors = _prior_names()
        if self.prior not in priors:
            raise ConfigError(
                f"genome field 'prior' = {self.prior!r} is unknown: use one of {', '.join(priors)}"
            )
        for name, gene in GENES.items():
            object.__setattr__(self, name, gene.check(getattr(self, name)))
        from .priors import PRIORS

        PRIORS[self.prior].validate(self)
        if self.mapping == "layered" and self.width < self.n_nodes and PRIORS[self.prior].masks is None:
            raise ConfigError(
                f"genome field 'width' = {self.width} must be at least n_nodes = {self.n_nodes} for the "
                "layered mapping (every graph node owns at least one unit per layer): raise width or lower n_nodes"
            )

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the genome as a plain ``dict`` (JSON-able)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Return the canonical JSON text of the genome (sorted keys, no spaces)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Genome":
        """Build a genome from a mapping; missing fields take their defaults.

        Raises
        ------
        ConfigError
            If ``data`` is not a mapping, holds an unknown field, or a value is
            out of range.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a genome must be a JSON object, got {type(data).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ConfigError(
                f"unknown genome field(s) {', '.join(unknown)}: allowed fields are {', '.join(sorted(fields))}"
            )
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> "Genome":
        """Parse a genome from JSON text.

        Raises
        ------
        ConfigError
            If the text is not valid JSON or the genome is invalid.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"genome is not valid JSON ({exc}): give an object like {{\"prior\": \"gnp\"}}") from exc
        return cls.from_dict(data)

    @property
    def key(self) -> str:
        """Stable 16-hex-digit identifier: SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def replace(self, **changes: Any) -> "Genome":
        """Return a copy with ``changes`` applied (validated like a new genome)."""
        return dataclasses.replace(self, **changes)
