"""Sparse feedforward networks whose connectivity comes from a prior graph.

Connectivity is a boolean mask buffer on each :class:`MaskedLinear` layer.
Absent connections hold weight zero from initialisation on, the forward pass
multiplies by the mask (so they get no gradient), and :meth:`MaskedLinear.apply_mask`
zeroes them again after every optimiser step (so weight decay or momentum
cannot revive them). Weights are initialised for each unit's *real* fan-in
(He et al. 2015 scaled by the number of present inputs), the point made by
Isakov & Kinsy (NeuroFabric, 2020).

Two mappings from a :class:`~nasprior.genome.Genome`:

* :class:`GraphNetwork` (``mapping="graph"``; Stier, Darji & Granitzer 2021):
  every node of the prior graph is one unit; the graph is oriented into a DAG
  (lower to higher index) and layered by longest path; each edge is a
  weight; edges that skip layers are skip connections. The input is fully
  connected to the source units (layer 0) and every sink unit is fully
  connected to the output.
* :class:`LayeredNetwork` (``mapping="layered"``): ``n_layers`` hidden layers
  of ``width`` units; the input layer and every hidden-to-hidden layer is
  masked by :func:`~nasprior.topology.relational_mask` of the prior graph
  (You et al. 2020); the output layer is dense.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .genome import Genome
from .priors import get_prior, make_graph
from .topology import layer_nodes, relational_mask, to_dag


def sparse_init_(weight: torch.Tensor, mask: torch.Tensor, gain: float = math.sqrt(2.0)) -> None:
    """Initialise a masked weight for each unit's real fan-in, in place.

    Each present weight of output unit ``j`` is drawn from
    ``N(0, gain**2 / fan_in_j)`` where ``fan_in_j`` is the number of present
    inputs of unit ``j`` (Isakov & Kinsy 2020, NeuroFabric; He et al. 2015 for
    the gain of ReLU). Absent weights are set to zero.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_in)
    mask : torch.Tensor of bool, shape (n_out, n_in)
    gain : float
        ``sqrt(2)`` for ReLU, 1 for linear or tanh.
    """
    fan_in = mask.sum(dim=1, keepdim=True).clamp(min=1).to(weight.dtype)  # (n_out, 1)
    with torch.no_grad():
        weight.normal_(0.0, 1.0).mul_(gain / fan_in.sqrt()).mul_(mask)


class MaskedLinear(nn.Module):
    """Linear layer ``y = x (W ⊙ M)^T + b`` with a fixed boolean connectivity mask.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
        ``mask[j, i]`` is True when input ``i`` feeds output ``j``.
    bias : bool
        Whether to add a bias per output unit.
    gain : float
        Initialisation gain (see :func:`sparse_init_`).

    Notes
    -----
    The mask is a buffer (saved in the state dict, moved with the module).
    Input of shape (batch, n_in) gives output of shape (batch, n_out).
    """

    def __init__(self, mask: np.ndarray | torch.Tensor, bias: bool = True, gain: float = math.sqrt(2.0)):
        super().__init__()
        mask_t = torch.as_tensor(np.asarray(mask, dtype=bool))
        if mask_t.ndim != 2:
            raise ValueError(f"mask must be 2-d (n_out, n_in), got shape {tuple(mask_t.shape)}")
        self.register_buffer("mask", mask_t)
        self.weight = nn.Parameter(torch.empty(mask_t.shape))
        self.bias = nn.Parameter(torch.zeros(mask_t.shape[0])) if bias else None
        sparse_init_(self.weight, self.mask, gain)

    @property
    def in_features(self) -> int:
        """Number of inputs ``n_in``."""
        return self.mask.shape[1]

    @property
    def out_features(self) -> int:
        """Number of outputs ``n_out``."""
        return self.mask.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer: (batch, n_in) -> (batch, n_out)."""
        return F.linear(x, self.weight * self.mask, self.bias)

    @torch.no_grad()
    def apply_mask(self) -> None:
        """Zero the weights of absent connections (call after each optimiser step)."""
        self.weight.mul_(self.mask)

    @property
    def n_weights(self) -> int:
        """Number of present connections (non-zero weights allowed by the mask)."""
        return int(self.mask.sum())

    def extra_repr(self) -> str:
        density = self.n_weights / max(1, self.mask.numel())
        return f"in={self.in_features}, out={self.out_features}, density={density:.4f}, bias={self.bias is not None}"


class SparseNetwork(nn.Module):
    """Base class of masked networks: parameter counts and mask upkeep.

    Subclasses hold their masked layers in ``self.layers`` (an
    :class:`torch.nn.ModuleList` of :class:`MaskedLinear`).
    """

    layers: nn.ModuleList

    def masked_layers(self) -> Iterator[MaskedLinear]:
        """Yield every :class:`MaskedLinear` of the network."""
        for module in self.modules():
            if isinstance(module, MaskedLinear):
                yield module

    def apply_masks(self) -> None:
        """Zero every absent weight (call after each optimiser step)."""
        for layer in self.masked_layers():
            layer.apply_mask()

    @property
    def n_weights(self) -> int:
        """Present connection weights (the non-zero weights of the network)."""
        return sum(layer.n_weights for layer in self.masked_layers())

    @property
    def n_possible_weights(self) -> int:
        """Weights a network with the same layers and dense masks would have."""
        return sum(layer.mask.numel() for layer in self.masked_layers())

    @property
    def n_params(self) -> int:
        """Trainable values actually in use: present weights plus biases."""
        biases = sum(layer.bias.numel() for layer in self.masked_layers() if layer.bias is not None)
        return self.n_weights + biases

    @property
    def density(self) -> float:
        """Fraction of possible connections present, over all masked layers."""
        return self.n_weights / max(1, self.n_possible_weights)


class GraphNetwork(SparseNetwork):
    """Graph-as-network: every node of a DAG is one ReLU unit (Stier et al. 2021).

    Parameters
    ----------
    dag : networkx.DiGraph
        Acyclic; nodes are the hidden units. Layered by
        :func:`~nasprior.topology.layer_nodes`.
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

    Notes
    -----
    ReLU hidden units. Forward: (batch, ...) -> (batch, n_outputs).
    """

    def __init__(self, masks: Sequence[np.ndarray], n_outputs: int):
        super().__init__()
        for i in range(1, len(masks)):
            if masks[i].shape[1] != masks[i - 1].shape[0]:
                raise ValueError(f"mask {i} has {masks[i].shape[1]} inputs but layer {i - 1} has {masks[i - 1].shape[0]} units")
        self.layers = nn.ModuleList(MaskedLinear(mask) for mask in masks)
        self.output_layer = MaskedLinear(np.ones((n_outputs, masks[-1].shape[0]), dtype=bool), gain=1.0)

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


def build_network(genome: Genome, n_inputs: int, n_outputs: int, graph: nx.Graph | None = None) -> SparseNetwork:
    """Build the torch network of a genome for a feedforward task.

    Parameters
    ----------
    genome : Genome
    n_inputs : int
        Flattened input size (3072 for CIFAR-10, 784 for MNIST, 64 for digits).
    n_outputs : int
        Number of classes.
    graph : networkx.Graph, optional
        The genome's prior graph if already built (saves rebuilding it).
        Not used by layer-wise priors (``radixnet``, ``expander``,
        ``er_set``), whose masks come from :attr:`~nasprior.priors.Prior.masks`.

    Returns
    -------
    SparseNetwork
        A :class:`GraphNetwork` or :class:`LayeredNetwork`; weights seeded by
        torch's global generator (seed it first for reproducible weights).

    Raises
    ------
    ConfigError
        If a layer-wise prior cannot fit the input size (e.g. a RadiX-Net
        with ``N > n_inputs``).
    """
    prior = get_prior(genome.prior)
    if prior.masks is not None:  # layer-wise priors: masks per layer (nasprior.bipartite)
        return LayeredNetwork(prior.masks(genome, n_inputs), n_outputs)
    graph = make_graph(genome) if graph is None else graph
    if genome.mapping == "graph":
        return GraphNetwork(to_dag(graph), n_inputs, n_outputs)
    return LayeredNetwork(layered_masks(graph, n_inputs, genome.n_layers, genome.width), n_outputs)


#: Names of the size features of :func:`size_features`, in order.
SIZE_FEATURE_NAMES = ("n_params", "n_weights", "network_density", "first_layer_width", "n_hidden_layers")


def size_features(network: SparseNetwork) -> dict[str, float]:
    """Size of a network: the baseline features every structural predictor is compared with.

    Returns
    -------
    dict of str to float
        ``n_params`` (present weights + biases), ``n_weights`` (present
        weights), ``network_density`` (fraction of possible weights present),
        ``first_layer_width`` (units fed by the input), ``n_hidden_layers``.
    """
    if hasattr(network, "first_layer_width"):  # e.g. nasprior.recurrent.RecurrentGraphNetwork
        first, n_hidden = network.first_layer_width, network.n_hidden_layers
    elif isinstance(network, GraphNetwork):
        first, n_hidden = network.input_layer.out_features, len(network.node_layers)
    else:
        first, n_hidden = network.layers[0].out_features, len(network.layers)
    return {
        "n_params": float(network.n_params),
        "n_weights": float(network.n_weights),
        "network_density": float(network.density),
        "first_layer_width": float(first),
        "n_hidden_layers": float(n_hidden),
    }
