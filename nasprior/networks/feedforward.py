"""Sparse feedforward networks whose connectivity comes from a prior graph.

Every layer is a :class:`~nasprior.networks.layers.MaskedLinear`. Two
mappings from a :class:`~nasprior.genome.Genome`:

* :class:`GraphNetwork` (``mapping="graph"``; Stier, Darji & Granitzer 2021):
  every node of the prior graph is one unit; the graph is oriented into a DAG
  (lower to higher index) and layered by longest path; each edge is a
  weight; edges that skip layers are skip connections. The input is fully
  connected to the source units (layer 0) and every sink unit is fully
  connected to the output.
* :class:`LayeredNetwork` (``mapping="layered"``): ``n_layers`` hidden layers
  of ``width`` units; the input layer and every hidden-to-hidden layer is
  masked by :func:`~nasprior.dag.relational_mask` of the prior graph
  (You et al. 2020); the output layer is dense. Large, sparse hidden layers
  use the real sparse kernel :class:`~nasprior.networks.sparse.SparseLinear`
  (see :func:`~nasprior.networks.sparse.use_sparse_kernel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import torch
from torch import nn

from ..dag import layer_nodes, relational_mask, to_dag
from ..errors import ConfigError
from ..genes import Gene
from ..priors import get_prior, make_graph
from .layers import MaskedLinear, SparseNetwork
from .registry import Mapping, register_mapping
from .sparse import SparseLinear, use_sparse_kernel

if TYPE_CHECKING:
    from ..genome import Genome


class GraphNetwork(SparseNetwork):
    """Graph-as-network: every node of a DAG is one ReLU unit (Stier et al. 2021).

    Parameters
    ----------
    dag : networkx.DiGraph
        Acyclic; nodes are the hidden units. Layered by
        :func:`~nasprior.dag.layer_nodes`.
    n_inputs : int
        Input features (the input is flattened).
    n_outputs : int
        Output units (class logits).

    Notes
    -----
    Layer ``l`` reads the concatenation of the input layer's units and all
    units of layers ``0 .. l-1``; its mask holds the DAG's edges, so edges
    that skip layers are skip connections. The input is fully connected to
    layer 0 (the sources) and every sink is fully connected to the output.
    Forward: (batch, ...) -> (batch, n_outputs).
    """

    #: Each hidden layer reads all earlier units (see :func:`nasprior.features.mask_scores.network_topology_scores`).
    cumulative = True

    def __init__(self, dag: nx.DiGraph, n_inputs: int, n_outputs: int):
        super().__init__()
        self.node_layers = layer_nodes(dag)
        order = [node for layer in self.node_layers for node in layer]
        position = {node: i for i, node in enumerate(order)}  # column of each unit in the running concatenation
        self.input_layer = MaskedLinear(np.ones((len(self.node_layers[0]), n_inputs), dtype=bool))
        hidden = []
        n_before = len(self.node_layers[0])
        for nodes in self.node_layers[1:]:
            mask = np.zeros((len(nodes), n_before), dtype=bool)  # (n_l, units in layers < l)
            for row, node in enumerate(nodes):
                for pred in dag.predecessors(node):
                    mask[row, position[pred]] = True
            hidden.append(MaskedLinear(mask))
            n_before += len(nodes)
        self.layers = nn.ModuleList(hidden)
        sinks = np.array([dag.out_degree(node) == 0 for node in order])
        self.output_layer = MaskedLinear(np.tile(sinks, (n_outputs, 1)), gain=1.0)

    @property
    def first_layer_width(self) -> int:
        """Units fed by the input (the DAG's sources)."""
        return self.input_layer.out_features

    @property
    def n_hidden_layers(self) -> int:
        """Layers of the DAG (its longest path in nodes)."""
        return len(self.node_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, n_outputs) for input of shape (batch, ...)."""
        h = torch.relu(self.input_layer(x.flatten(1)))  # (batch, n_sources)
        for layer in self.layers:
            h = torch.cat([h, torch.relu(layer(h))], dim=1)  # (batch, units so far)
        return self.output_layer(h)


class LayeredNetwork(SparseNetwork):
    """Fixed-width MLP whose layers are masked by bipartite graphs.

    Parameters
    ----------
    masks : sequence of array-like of bool
        ``masks[i]`` of shape (width_{i+1}, width_i) with ``width_0`` the
        number of inputs; one per hidden layer.
    n_outputs : int
        Output units; the output layer is dense.
    sparse : {"auto", True, False}
        Hidden layers as :class:`~nasprior.networks.sparse.SparseLinear`
        (CSR kernels): ``"auto"`` for layers that are large and sparse
        enough to gain (:func:`~nasprior.networks.sparse.use_sparse_kernel`),
        True for all, False for none (masked dense layers).

    Raises
    ------
    ValueError
        If consecutive masks do not chain.

    Notes
    -----
    ReLU hidden units. Forward: (batch, ...) -> (batch, n_outputs).
    """

    def __init__(self, masks: Sequence[np.ndarray], n_outputs: int, sparse: str | bool = "auto"):
        super().__init__()
        for i in range(1, len(masks)):
            if masks[i].shape[1] != masks[i - 1].shape[0]:
                raise ValueError(
                    f"mask {i} has {masks[i].shape[1]} inputs but layer {i - 1} has {masks[i - 1].shape[0]} units"
                )
        self.layers = nn.ModuleList(
            SparseLinear(mask) if use_sparse_kernel(mask, sparse) else MaskedLinear(mask) for mask in masks
        )
        self.output_layer = MaskedLinear(np.ones((n_outputs, masks[-1].shape[0]), dtype=bool), gain=1.0)

    @property
    def first_layer_width(self) -> int:
        """Units fed by the input."""
        return self.layers[0].out_features

    @property
    def n_hidden_layers(self) -> int:
        """Hidden layers."""
        return len(self.layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape (batch, n_outputs) for input of shape (batch, ...)."""
        h = x.flatten(1)
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.output_layer(h)


def layered_masks(graph: nx.Graph, n_inputs: int, n_layers: int, width: int) -> list[np.ndarray]:
    """Masks of a layered network from one relational graph (You et al. 2020).

    Returns
    -------
    list of numpy.ndarray of bool
        ``n_layers`` masks; the first of shape (width, n_inputs), the others
        (width, width).
    """
    masks = [relational_mask(graph, n_inputs, width)]
    masks += [relational_mask(graph, width, width) for _ in range(n_layers - 1)]
    return masks


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------

#: Hidden layers of the layered mapping.
N_LAYERS = Gene("n_layers", "int", 2, 1, 16, doc="hidden layers (layered mapping)")
#: Units per hidden layer of the layered mapping.
WIDTH = Gene("width", "int", 128, 1, 8192, doc="units per hidden layer (layered mapping)")


def _build_graph(genome: Genome, graph: nx.Graph | None, shape: Any) -> GraphNetwork:
    graph = make_graph(genome) if graph is None else graph
    return GraphNetwork(to_dag(graph), shape.n_inputs, shape.n_classes)


def _build_layered(genome: Genome, graph: nx.Graph | None, shape: Any) -> LayeredNetwork:
    prior = get_prior(genome.prior)
    if prior.masks is not None:  # layer-wise priors: masks per layer (nasprior.priors.layerwise)
        return LayeredNetwork(prior.masks(genome, shape.n_inputs), shape.n_classes)
    graph = make_graph(genome) if graph is None else graph
    return LayeredNetwork(layered_masks(graph, shape.n_inputs, genome.n_layers, genome.width), shape.n_classes)


def _check_layered(genome: Genome) -> None:
    if get_prior(genome.prior).masks is None and genome.width < genome.n_nodes:
        raise ConfigError(
            f"genome field 'width' = {genome.width} must be at least n_nodes = {genome.n_nodes} for the "
            "layered mapping (every graph node owns at least one unit per layer): raise width or lower n_nodes"
        )


def _repair_layered(values: dict[str, Any]) -> None:
    if "n_nodes" in values:
        values["n_nodes"] = min(values["n_nodes"], values["width"])


register_mapping(
    Mapping(
        "graph",
        (),
        inputs="vector",
        build=_build_graph,
        describe=lambda g: "graph",
        reference="Stier, Darji & Granitzer 2021",
    )
)
register_mapping(
    Mapping(
        "layered",
        (N_LAYERS, WIDTH),
        inputs="vector",
        build=_build_layered,
        describe=lambda g: f"{g.n_layers}x{g.width}",
        check=_check_layered,
        repair=_repair_layered,
        reference="You et al. 2020 (relational graphs); layer-wise priors of the seed papers",
    )
)
