"""The mapping registry: how a genome's graph becomes a torch network.

A :class:`Mapping` owns the genes it reads (``n_layers`` and ``width`` for
the layered mapping, ``cell`` for the recurrent one), the kind of input it
takes (flat vectors or token sequences), its builder, checks, GA repair and
description. :func:`build_network` is the one entry point: genome + task
shape -> network. Adding a mapping is one module that calls
:func:`register_mapping`, imported by :mod:`nasprior.networks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
from torch import nn

from ..errors import ConfigError
from ..genes import Gene, registered_gene
from ..registry import Registry

if TYPE_CHECKING:
    from ..genome import Genome

#: Kinds of task input a mapping can take: flat vectors (images are flattened), token
#: sequences, or images kept as (height, width[, channels]) grids.
INPUT_KINDS = ("vector", "sequence", "image")


@dataclass(frozen=True)
class Mapping:
    """A named mapping from a prior graph to a network.

    Parameters
    ----------
    name : str
        Registry name, the value of ``Genome.mapping``.
    genes : tuple of Gene
        The genes the mapping reads besides the prior's.
    inputs : {"vector", "sequence", "image"}
        The task input it takes: flat feature vectors (images are
        flattened), int64 token sequences, or images (image tasks only).
    build : callable
        ``build(genome, graph, shape) -> torch.nn.Module``; ``graph`` is the
        prior graph if already built, else None (built on demand with
        :func:`~nasprior.priors.make_graph`); ``shape`` has ``n_inputs``,
        ``n_classes`` and ``vocab_size``.
    describe : callable
        ``describe(genome) -> str``, e.g. ``"2x128"``.
    check : callable, optional
        ``check(genome)`` raising :class:`~nasprior.errors.ConfigError`.
    repair : callable, optional
        ``repair(values) -> None``: adjusts decoded gene values in place.
    reference : str
        The paper the mapping comes from.
    """

    name: str
    genes: tuple[Gene, ...]
    inputs: str
    build: Callable[[Genome, nx.Graph | None, Any], nn.Module]
    describe: Callable[[Genome], str]
    check: Callable[[Genome], None] | None = None
    repair: Callable[[dict[str, Any]], None] | None = None
    reference: str = ""

    @property
    def gene_names(self) -> tuple[str, ...]:
        """Names of :attr:`genes`, in order."""
        return tuple(g.name for g in self.genes)


#: Registry of mappings by name, in registration order.
MAPPINGS = Registry("mapping")


def register_mapping(mapping: Mapping) -> Mapping:
    """Add a mapping to :data:`MAPPINGS` and return it.

    Raises
    ------
    ConfigError
        If the name is taken, the input kind unknown, or a gene clashes with
        a registered gene of the same name.
    """
    if mapping.inputs not in INPUT_KINDS:
        raise ConfigError(f"mapping {mapping.name!r}: inputs {mapping.inputs!r} is not one of {', '.join(INPUT_KINDS)}")
    for gene in mapping.genes:
        registered_gene(gene)
    return MAPPINGS.add(mapping)


def get_mapping(name: str) -> Mapping:
    """Return the registered mapping called ``name``.

    Raises
    ------
    ConfigError
        If no mapping has that name; the message lists the known ones.
    """
    return MAPPINGS.lookup(name)


def task_input_kinds(shape: Any) -> tuple[str, ...]:
    """Input kinds a task offers: ``("sequence",)`` if ``shape.vocab_size > 0``; an image task
    (non-empty ``shape.image_shape``) offers ``("vector", "image")`` (vector mappings flatten it);
    any other task ``("vector",)``."""
    if getattr(shape, "vocab_size", 0):
        return ("sequence",)
    return ("vector", "image") if getattr(shape, "image_shape", ()) else ("vector",)


def check_task_fits(genome: Genome, shape: Any) -> None:
    """Raise :class:`ConfigError` unless the genome's mapping takes an input kind the task offers.

    See :func:`task_input_kinds`.
    """
    kinds = task_input_kinds(shape)
    mapping = get_mapping(genome.mapping)
    if mapping.inputs not in kinds:
        fitting = [m.name for m in MAPPINGS.values() if m.inputs in kinds]
        raise ConfigError(
            f"mapping {genome.mapping!r} takes {mapping.inputs} inputs but task {getattr(shape, 'name', '?')!r} has "
            f"{' or '.join(kinds)} inputs: use mapping {' or '.join(repr(m) for m in fitting)}"
        )


def build_network(genome: Genome, shape: Any, graph: nx.Graph | None = None) -> nn.Module:
    """Build the torch network of a genome for a task.

    Parameters
    ----------
    genome : Genome
    shape : TaskShape
        ``n_inputs`` (flattened input size, e.g. 3072 for CIFAR-10),
        ``n_classes`` and ``vocab_size`` (token ids of a sequence task, 0
        otherwise); see :class:`nasprior.tasks.TaskShape`.
    graph : networkx.Graph, optional
        The genome's prior graph if already built (saves rebuilding it).

    Returns
    -------
    torch.nn.Module
        A :class:`~nasprior.networks.layers.SparseNetwork`; weights drawn
        from torch's global generator (seed it first for reproducible weights).

    Raises
    ------
    ConfigError
        If the mapping does not take the task's inputs, or a layer-wise prior
        cannot fit the input size (e.g. a RadiX-Net with ``N > n_inputs``).
    """
    check_task_fits(genome, shape)
    return get_mapping(genome.mapping).build(genome, graph, shape)
