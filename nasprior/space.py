"""Search spaces: which genomes a search may visit, and their encoding for the GA.

A search space is a TOML file (shipped as package data, ``nasprior/spaces/<task>.toml``,
read with :mod:`importlib.resources`; or any file given with ``--space FILE``) with a
``[genes]`` table giving, per genome field, either a list of choices
(``prior = ["gnp", "watts_strogatz"]``), an inclusive ``[low, high]`` range
(``n_nodes = [16, 128]``) or, for a numeric gene, a short list of its values
(``n_nodes = {values = [4, 5, 6]}``), and optional ``[train]``, ``[search]`` and ``[final]`` tables
with the task's default screening budget, GA settings and the budget of the
full training of the search's survivors (``top_k`` plus any ``[train]`` key
it overrides; see :mod:`nasprior.search.final`).

For the genetic algorithm a genome is encoded as a list of floats in [0, 1],
one per gene in :data:`GENE_ORDER` (choice genes by equal bins, integer and
float genes linearly, or logarithmically where the range spans a factor of
ten or more). DEAP's bounded operators then act on every gene alike,
including the prior type. :meth:`SearchSpace.decode` repairs combinations
that a prior or mapping cannot take with their own ``repair`` hooks
(:attr:`nasprior.priors.Prior.repair`, :attr:`nasprior.networks.Mapping.repair`:
e.g. ``k`` or ``m`` below ``n_nodes``, ``n_nodes`` at most ``width`` for the
layered mapping, the layered mapping for the layer-wise priors, a RadiX-Net
width that is a multiple of the radix), and the genome keeps only the genes
its prior and mapping read.

A space whose every gene is a list (choices, or numeric ``values``; the graph
``seed`` too) is *discrete*: :meth:`SearchSpace.genomes` lists all of its
genomes, so that every one of them can be trained once (a tabular benchmark,
as NAS-Bench-201 is for its cell space; ``nasprior sample --all``).
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .genes import GENES
from .genome import Genome
from .networks import MAPPINGS
from .networks.registry import task_input_kinds
from .priors import PRIORS, network_key
from .validation import check_table, read_toml

#: Order of the first genes of an encoded individual. Genes registered later (by
#: priors or mappings added since) follow, when the space's priors or mappings read them.
GENE_ORDER = (
    "prior",
    "mapping",
    "n_nodes",
    "p",
    "k",
    "m",
    "radix",
    "degree",
    "epsilon",
    "n_layers",
    "width",
    "cell",
    "seed",
)
SEED_RANGE = (0, 999_999)
#: Choice "genes" that are not :data:`~nasprior.genes.GENES`: the registries.
REGISTRY_GENES = {"prior": PRIORS, "mapping": MAPPINGS}


@dataclass
class SearchSpace:
    """Allowed values of each gene, plus the task's default budget.

    Parameters
    ----------
    genes : dict
        Gene name to a list of choices (choice genes), a ``(low, high)``
        pair (numeric genes: a range) or ``{"values": [...]}`` (numeric genes:
        these values only; stored as a list). Genes left out keep the
        :class:`Genome` default.
    train : dict
        Default :class:`~nasprior.training.TrainConfig` fields for the task.
    search : dict
        Default search options (``population``, ``generations``, ...).
    name : str
        Where the space came from.
    final : dict
        Full training of the survivors: ``top_k`` and the training options
        that differ from ``train`` (e.g. ``epochs``).

    Raises
    ------
    ConfigError
        If a gene is unknown, a choice is not allowed, or a range lies
        outside the gene's allowed range.
    """

    genes: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Any] = field(default_factory=dict)
    name: str = "<inline>"
    final: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        genes = {}
        for gene_name, spec in self.genes.items():
            if gene_name not in REGISTRY_GENES and gene_name not in GENES:
                known = tuple(REGISTRY_GENES) + tuple(GENES)
                raise ConfigError(f"{self.name}: unknown gene {gene_name!r} in [genes]: use some of {', '.join(known)}")
            if gene_name in REGISTRY_GENES or GENES[gene_name].kind == "choice":
                allowed = tuple(REGISTRY_GENES[gene_name]) if gene_name in REGISTRY_GENES else GENES[gene_name].choices
                choices = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, (list, tuple)) else [spec]
                bad = [c for c in choices if not isinstance(c, str) or c not in allowed]
                if not choices or bad:
                    raise ConfigError(
                        f"{self.name}: gene {gene_name!r} lists {bad or 'nothing'}: choose from {', '.join(allowed)}"
                    )
                genes[gene_name] = choices
            else:
                gene = GENES[gene_name]
                if isinstance(spec, dict):
                    values = spec.get("values")
                    if set(spec) != {"values"} or not isinstance(values, list) or not values:
                        raise ConfigError(
                            f"{self.name}: gene {gene_name!r} = {spec!r}: write a range [low, high] or "
                            "{values = [v1, v2, ...]} (a non-empty list of values)"
                        )
                    checked = sorted({gene.check(v) for v in values})
                    genes[gene_name] = checked
                    continue
                if isinstance(spec, (int, float)):
                    spec = [spec, spec]
                if not (isinstance(spec, (list, tuple)) and len(spec) == 2):
                    raise ConfigError(f"{self.name}: gene {gene_name!r} needs a [low, high] range, got {spec!r}")
                low, high = (gene.check(v) for v in spec)
                if low > high:
                    raise ConfigError(f"{self.name}: gene {gene_name!r} has low {low} > high {high}")
                genes[gene_name] = (low, high)
        genes.setdefault("prior", list(PRIORS))
        self.genes = genes
        read = {g for p in genes["prior"] for g in PRIORS[p].gene_names}
        read |= {g for m in genes.get("mapping", ["graph"]) for g in MAPPINGS[m].gene_names}  # decode's default
        self.gene_order = GENE_ORDER + tuple(g for g in GENES if g not in GENE_ORDER and g in read)

    # -- loading -------------------------------------------------------
    @classmethod
    def from_toml(cls, path: str | Path) -> SearchSpace:
        """Read a search space from a TOML file.

        Raises
        ------
        ConfigError
            If the file is missing or malformed, or a gene is invalid.
        """
        path = Path(path)
        data = read_toml(path, "search space", f"give a TOML file, or a shipped space: {', '.join(shipped_spaces())}")
        return cls.from_dict(data, name=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "<inline>") -> SearchSpace:
        """Build a search space from the parsed TOML tables."""
        data = check_table(data, name, "give the tables [genes], [train], [search] and [final]")
        unknown = set(data) - {"genes", "train", "search", "final"}
        if unknown:
            raise ConfigError(
                f"{name}: unknown table(s) {', '.join(sorted(unknown))}: use [genes], [train], [search], [final]"
            )
        if "genes" not in data:
            raise ConfigError(f"{name}: a search space needs a [genes] table")
        fix = "write it as a [table] of name = value lines, as in the shipped space nasprior/spaces/digits.toml"
        tables = {t: check_table(data.get(t, {}), f"{name}: [{t}]", fix) for t in ("genes", "train", "search", "final")}
        return cls(tables["genes"], tables["train"], tables["search"], name, tables["final"])

    def to_dict(self) -> dict[str, Any]:
        """The space as TOML-shaped tables (stored in a run's config; ``final`` only when set)."""
        genes = {k: {"values": list(v)} if self._discrete_numeric(k) else list(v) for k, v in self.genes.items()}
        tables = {"genes": genes, "train": self.train, "search": self.search}
        if self.final:
            tables["final"] = self.final
        return tables

    def _discrete_numeric(self, gene: str) -> bool:
        """Whether ``gene`` is a numeric gene given as a list of values."""
        return gene not in REGISTRY_GENES and GENES[gene].kind != "choice" and isinstance(self.genes[gene], list)

    @property
    def is_discrete(self) -> bool:
        """Whether every gene its genomes read is a list (no ranges; the graph ``seed`` listed too)."""
        return not self._ranges()

    def _ranges(self) -> list[str]:
        """Genes of :attr:`gene_order` that are ranges (the unlisted ``seed`` is one)."""
        return [
            g for g in self.gene_order if not isinstance(self._spec(g), list) and self._spec(g)[0] != self._spec(g)[1]
        ]

    def genomes(self) -> list[Genome]:
        """One genome per distinct network of a discrete space, in key order.

        The product of the genes' values, each repaired as :meth:`decode`
        repairs it and trimmed to the genes its prior and mapping read, then
        deduplicated by :attr:`Genome.key` (a prior that reads no ``p``
        gives one genome for all values of ``p``) and by the network it
        builds (:func:`nasprior.priors.network_key`: a Watts–Strogatz ring
        with ``k = n - 1`` is the complete graph for every ``p`` and seed;
        of the genomes of one network the one with the fewest genes, then
        the one of the earliest values, stands for it, so that a value list
        grown at its end keeps the genomes listed before), so that a table
        trains every network once.

        Returns
        -------
        list of Genome
            Sorted by key.

        Raises
        ------
        ConfigError
            If a gene is a range (the message names them and how to list values).
        """
        ranges = self._ranges()
        if ranges:
            raise ConfigError(
                f"{self.name}: gene(s) {', '.join(ranges)} are ranges, so the space has no finite list of genomes: "
                "give each as a list of values, e.g. seed = {values = [0, 1]}"
            )
        specs = [self._spec(g) if isinstance(self._spec(g), list) else [self._spec(g)[0]] for g in self.gene_order]
        found: dict[str, tuple[tuple[int, int, int], Genome]] = {}
        for position, indices in enumerate(itertools.product(*(range(len(spec)) for spec in specs))):
            genome = self._genome({g: spec[i] for g, spec, i in zip(self.gene_order, specs, indices)})
            # the genome that stands for its network: the fewest genes, then the earliest values (a genome of
            # values listed before a list grew comes first), then the order of the product
            rank = (len(genome.genes), max(indices, default=0), position)
            if genome.key not in found or rank < found[genome.key][0]:
                found[genome.key] = (rank, genome)
        networks: dict[str, Genome] = {}
        for _, genome in sorted(found.values(), key=lambda item: item[0]):
            networks.setdefault(network_key(genome), genome)
        return sorted(networks.values(), key=lambda g: g.key)

    # -- encoding ------------------------------------------------------
    def _spec(self, gene: str) -> Any:
        if gene in self.genes:
            return self.genes[gene]
        if gene == "seed":
            return SEED_RANGE
        if gene == "mapping":
            return ["graph"]
        default = GENES[gene].default
        return [default] if isinstance(default, str) else (default, default)

    def decode(self, individual: list[float]) -> Genome:
        """Genome of an encoded individual (floats in [0, 1], order :attr:`gene_order`).

        Raises
        ------
        ConfigError
            If the individual has the wrong length.
        """
        if len(individual) != len(self.gene_order):
            raise ConfigError(
                f"an individual needs {len(self.gene_order)} genes ({', '.join(self.gene_order)}), "
                f"got {len(individual)}"
            )
        values: dict[str, Any] = {}
        for gene, u in zip(self.gene_order, individual):
            u = min(max(float(u), 0.0), 1.0)
            spec = self._spec(gene)
            if isinstance(spec, list):
                values[gene] = spec[min(int(u * len(spec)), len(spec) - 1)]
                continue
            low, high = spec
            log = low > 0 and high / low >= 10
            x = math.exp(math.log(low) + u * (math.log(high) - math.log(low))) if log else low + u * (high - low)
            kind = GENES[gene].kind if gene in GENES else "int"
            values[gene] = int(round(x)) if kind == "int" else x
        return self._genome(values)

    @staticmethod
    def _genome(values: dict[str, Any]) -> Genome:
        """The genome of decoded gene values, repaired by its prior and mapping."""
        prior = PRIORS[values["prior"]]
        if prior.mappings is not None and values["mapping"] not in prior.mappings:
            values["mapping"] = prior.mappings[0]
        mapping = MAPPINGS[values["mapping"]]
        if mapping.repair is not None:
            mapping.repair(values)
        if prior.repair is not None:
            prior.repair(values)
        return Genome.from_dict(values)

    def check_task(self, shape: Any) -> None:
        """Refuse a space whose genomes may get a mapping the task cannot take (checked before a run is created).

        The mappings a decoded genome may get are the space's ``mapping``
        choices (default ``graph``) and, for a prior limited to some mappings,
        the first of those (:meth:`decode`'s repair).

        Parameters
        ----------
        shape : TaskShape
            The task's inputs (:func:`nasprior.networks.registry.task_input_kinds`).

        Raises
        ------
        ConfigError
            Naming the space, the mapping and the mappings that fit the task.
        """
        kinds = task_input_kinds(shape)
        reachable = set()
        for name in self.genes["prior"]:
            allowed = PRIORS[name].mappings
            for mapping in self.genes.get("mapping", ["graph"]):
                reachable.add(mapping if allowed is None or mapping in allowed else allowed[0])
        bad = sorted(m for m in reachable if MAPPINGS[m].inputs not in kinds)
        if bad:
            fitting = [m.name for m in MAPPINGS.values() if m.inputs in kinds]
            raise ConfigError(
                f"{self.name}: mapping {', '.join(repr(m) for m in bad)} takes "
                f"{' or '.join(sorted({MAPPINGS[m].inputs for m in bad}))} inputs but task "
                f"{getattr(shape, 'name', '?')!r} has {' or '.join(kinds)} inputs: set mapping in [genes] to "
                f"{' or '.join(repr(m) for m in fitting)}, or give the task's own space"
            )

    def random_individual(self, rng: random.Random) -> list[float]:
        """A uniformly random encoded individual drawn from ``rng``."""
        return [rng.random() for _ in self.gene_order]


#: Folder of the shipped search spaces inside the package (package data).
SPACES_PACKAGE_DIR = "spaces"
#: Name of the folder that held the shipped spaces in a source checkout before they became package data.
LEGACY_SPACES_DIR = "search_spaces"


def shipped_spaces() -> list[str]:
    """Names of the search spaces shipped with the package (``nasprior/spaces/<name>.toml``), sorted."""
    folder = resources.files("nasprior") / SPACES_PACKAGE_DIR
    return sorted(entry.name[: -len(".toml")] for entry in folder.iterdir() if entry.name.endswith(".toml"))


def shipped_space_path(name: str) -> Path | None:
    """Path of the shipped search space ``name`` (e.g. ``"cifar10_mlp"``), or None if none is shipped by that name."""
    entry = resources.files("nasprior") / SPACES_PACKAGE_DIR / f"{name}.toml"
    return Path(str(entry)) if entry.is_file() else None


def default_space_path(task: str) -> Path:
    """Path of the search space shipped for ``task`` (package data ``nasprior/spaces/<task>.toml``).

    Raises
    ------
    ConfigError
        If no space is shipped for the task.
    """
    name = "reber" if task.startswith("reber") else task  # the generated Reber sets share the released set's space
    path = shipped_space_path(name)
    if path is None:
        raise ConfigError(f"no search space shipped for task {task!r}: pass --space FILE.toml")
    return path


def space_path(spec: str) -> Path:
    """The file of a ``--space`` argument: a TOML file, or the name of a shipped space.

    An existing file is read as given. Otherwise a plain name (``cifar10_mlp``
    or ``cifar10_mlp.toml``), or a path into the former top-level
    ``search_spaces/`` folder of a checkout (``search_spaces/cifar10_mlp.toml``),
    names a shipped space.

    Raises
    ------
    ConfigError
        If ``spec`` is neither an existing file nor a shipped space; the
        message lists the shipped spaces.
    """
    path = Path(spec)
    if path.is_file():
        return path
    if path.parent in (Path("."), Path(LEGACY_SPACES_DIR)):
        name = path.name[: -len(".toml")] if path.name.endswith(".toml") else path.name
        shipped = shipped_space_path(name)
        if shipped is not None:
            return shipped
    if path.exists():
        raise ConfigError(f"--space {spec}: is not a file: give a TOML file, or a shipped space")
    raise ConfigError(
        f"--space {spec}: no such file and no shipped space of that name: give a TOML file, "
        f"or one of the shipped spaces {', '.join(shipped_spaces())}"
    )
