"""Masked recurrent networks whose structure comes from a prior graph.

Stier, Darji & Granitzer (2021) build recurrent classifiers from random
graphs the same way as feedforward ones (graph-as-network): the graph is
oriented into a DAG (lower to higher node index, :func:`~nasprior.dag.to_dag`)
and layered by longest path (:func:`~nasprior.dag.layer_nodes`). Here:

* every graph layer ``l`` is one recurrent layer (:class:`MaskedRecurrentLayer`)
  whose hidden units are the layer's nodes; cell type RNN-tanh, RNN-ReLU, GRU
  or LSTM (the genome's ``cell`` gene);
* layer 0 (the sources) reads the character embedding densely; layer ``l > 0``
  reads the output sequence of layer ``l - 1`` through an input-to-hidden mask
  holding the DAG edges between the two layers, the same mask repeated for
  every gate block of ``weight_ih`` (3 blocks for GRU, 4 for LSTM, 1 for RNN);
* edges that skip layers (from layer ``s`` to layer ``t > s + 1``) become one
  extra masked recurrent layer per pair ``(s, t)``, reading layer ``s``'s
  output sequence; its output sequence is summed into layer ``t``'s;
* hidden-to-hidden weights are dense, as in the paper. With
  ``hidden_mask=True`` they are masked "by the prior" instead: a layered DAG
  has no edges among the nodes of one layer, so the only recurrence the prior
  allows without inventing edges is each node's connection to itself; the
  mask is the identity (per gate block), i.e. every unit keeps its own
  memory, as in IndRNN (Li et al. 2018);
* the classifier reads the last real time step of every sink unit (nodes
  without successors; all units of the last layer among them), like the
  output layer of :class:`~nasprior.networks.GraphNetwork`.

Inputs are int64 character ids of shape (batch, max_len), right-padded with 0
(:func:`nasprior.tasks.reber.encode`). The forward pass packs the batch by true
length (:func:`torch.nn.utils.rnn.pack_padded_sequence`) and runs torch's
fused recurrent kernels on it, so padding never changes a prediction and the
time loop runs in C++, not Python.

Masks are buffers; the forward pass multiplies ``weight_ih`` (and ``weight_hh``
when masked) by its mask, so absent connections get no gradient (and do not
count in gradient clipping or Adam's moments), and :meth:`MaskedRecurrentLayer.apply_mask`
zeroes them again after each optimiser step. ``weight_ih`` is initialised for
each unit's real fan-in (:func:`~nasprior.networks.sparse_init_`, gain 1).

The network has one forward pass, the fused wavefront recurrence with the
kernels of :mod:`nasprior.networks.wavefront`; the two slower forms of the same
model that tests and benchmarks check it against (one kernel per layer, and
the autograd wavefront) live in :mod:`nasprior.networks.recurrent_reference`.

References
----------
.. [Stier2021] J. Stier, H. Darji and M. Granitzer, "Experiments on Properties
   of Hidden Structures of Sparse Neural Networks", arXiv:2107.12917, 2021.
.. [Cho2014] K. Cho et al., "Learning Phrase Representations using RNN
   Encoder-Decoder for Statistical Machine Translation", EMNLP 2014 (GRU).
.. [HS1997] S. Hochreiter and J. Schmidhuber, "Long short-term memory",
   Neural Computation 9(8):1735-1780, 1997.
.. [Li2018] S. Li, W. Li, C. Cook, C. Zhu and Y. Gao, "Independently Recurrent
   Neural Network (IndRNN)", CVPR 2018 (diagonal recurrence).
.. [Isakov2020] M. Isakov and M. A. Kinsy, "NeuroFabric: Identifying Ideal
   Topologies for Training A Priori Sparse Networks", arXiv:2002.08339, 2020.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import torch
from torch import _VF, nn

from ..dag import layer_nodes, to_dag
from ..errors import ConfigError
from ..genes import Gene
from ..priors import make_graph
from .layers import MaskedLinear, SparseNetwork, sparse_init_
from .registry import Mapping, register_mapping
from .wavefront import WavefrontRecurrence, pack_sub_layers

if TYPE_CHECKING:
    from ..genome import Genome

__all__ = ["CELLS", "CELL_GATES", "MaskedRecurrentLayer", "RecurrentGraphNetwork", "build_recurrent_network"]

#: Gate blocks stacked in ``weight_ih`` / ``weight_hh`` for each cell type.
CELL_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}
_KERNELS = {"rnn_tanh": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "gru": _VF.gru, "lstm": _VF.lstm}


class MaskedRecurrentLayer(nn.Module):
    """One recurrent layer (RNN-tanh, RNN-ReLU, GRU or LSTM) with a masked input-to-hidden weight.

    Parameters
    ----------
    mask : array-like of bool, shape (n_hidden, n_in)
        ``mask[j, i]`` is True when input ``i`` feeds hidden unit ``j``; the
        same mask applies to every gate block of ``weight_ih``.
    cell : {"rnn_tanh", "rnn_relu", "gru", "lstm"}
    hidden_mask : bool
        Mask ``weight_hh`` by the identity per gate block (each unit recurs
        only onto itself; see the module notes) instead of keeping it dense.

    Attributes
    ----------
    weight_ih : torch.nn.Parameter of shape (n_gates * n_hidden, n_in)
        Gate blocks stacked as in :class:`torch.nn.GRU` (r, z, n) and
        :class:`torch.nn.LSTM` (i, f, g, o).
    weight_hh : torch.nn.Parameter of shape (n_gates * n_hidden, n_hidden)
    bias_ih, bias_hh : torch.nn.Parameter of shape (n_gates * n_hidden,)
    mask_ih : torch.Tensor of bool, shape (n_gates * n_hidden, n_in)
        ``mask`` repeated per gate block (a buffer).
    mask_hh : torch.Tensor of bool or None
        Identity repeated per gate block when ``hidden_mask``, else None.

    Notes
    -----
    Forward takes packed data ``x`` of shape (n_steps_total, n_in) with the
    ``batch_sizes`` of a :class:`torch.nn.utils.rnn.PackedSequence` and
    returns the packed output (n_steps_total, n_hidden) and the last real
    hidden state (batch, n_hidden) of each sequence, in the packed (sorted)
    order. Weights of absent connections are zero from initialisation on.
    """

    def __init__(self, mask: np.ndarray | torch.Tensor, cell: str = "gru", hidden_mask: bool = False):
        super().__init__()
        if cell not in CELL_GATES:
            raise ConfigError(f"unknown cell {cell!r}: use one of {', '.join(CELLS)}")
        mask_t = torch.as_tensor(np.asarray(mask, dtype=bool))
        if mask_t.ndim != 2 or mask_t.shape[0] == 0:
            raise ValueError(f"mask must be 2-d (n_hidden >= 1, n_in), got shape {tuple(mask_t.shape)}")
        self.cell = cell
        n_hidden, n_in = mask_t.shape
        gates = CELL_GATES[cell]
        self.register_buffer("mask_ih", mask_t.repeat(gates, 1))  # (gates * n_hidden, n_in)
        self.register_buffer("mask_hh", torch.eye(n_hidden, dtype=torch.bool).repeat(gates, 1) if hidden_mask else None)
        self.weight_ih = nn.Parameter(torch.empty(gates * n_hidden, n_in))
        self.weight_hh = nn.Parameter(torch.empty(gates * n_hidden, n_hidden))
        self.bias_ih = nn.Parameter(torch.empty(gates * n_hidden))
        self.bias_hh = nn.Parameter(torch.empty(gates * n_hidden))
        bound = 1.0 / math.sqrt(n_hidden)  # torch's default for recurrent weights and biases
        for p in (self.weight_hh, self.bias_ih, self.bias_hh):
            nn.init.uniform_(p, -bound, bound)
        sparse_init_(self.weight_ih, self.mask_ih, gain=1.0)
        self.apply_mask()

    @property
    def mask(self) -> torch.Tensor:
        """Connectivity of one gate block, bool of shape (n_hidden, n_in) (the ``mask`` given)."""
        return self.mask_ih[: self.n_hidden]

    @property
    def n_hidden(self) -> int:
        """Hidden units of the layer."""
        return self.weight_hh.shape[1]

    @property
    def n_in(self) -> int:
        """Input features of the layer."""
        return self.weight_ih.shape[1]

    @property
    def n_gates(self) -> int:
        """Gate blocks (1 RNN, 3 GRU, 4 LSTM)."""
        return CELL_GATES[self.cell]

    def forward(self, x: torch.Tensor, batch_sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the layer on packed data.

        Parameters
        ----------
        x : torch.Tensor of shape (n_steps_total, n_in)
            ``PackedSequence.data``.
        batch_sizes : torch.Tensor of int64, shape (max_len,)
            ``PackedSequence.batch_sizes`` (on the CPU).

        Returns
        -------
        output : torch.Tensor of shape (n_steps_total, n_hidden)
        last : torch.Tensor of shape (batch, n_hidden)
            Hidden state (``h``) after each sequence's last real step.
        """
        w_hh = self.weight_hh * self.mask_hh if self.mask_hh is not None else self.weight_hh
        weights = [self.weight_ih * self.mask_ih, w_hh, self.bias_ih, self.bias_hh]
        h0 = x.new_zeros(1, int(batch_sizes[0]), self.n_hidden)  # (layers=1, batch, n_hidden)
        hx = (h0, h0) if self.cell == "lstm" else h0
        result = _KERNELS[self.cell](x, batch_sizes, hx, weights, True, 1, 0.0, self.training, False)
        return result[0], result[1][0]

    @torch.no_grad()
    def apply_mask(self) -> None:
        """Zero the weights of absent connections (call after each optimiser step)."""
        self.weight_ih.mul_(self.mask_ih)
        if self.mask_hh is not None:
            self.weight_hh.mul_(self.mask_hh)

    @property
    def n_weights(self) -> int:
        """Present weights: masked input-to-hidden (all gates) plus hidden-to-hidden."""
        hh = int(self.mask_hh.sum()) if self.mask_hh is not None else self.weight_hh.numel()
        return int(self.mask_ih.sum()) + hh

    @property
    def n_possible_weights(self) -> int:
        """Weights of the same layer with dense masks."""
        return self.weight_ih.numel() + self.weight_hh.numel()

    @property
    def n_biases(self) -> int:
        """Bias values (``bias_ih`` and ``bias_hh``)."""
        return self.bias_ih.numel() + self.bias_hh.numel()

    def extra_repr(self) -> str:
        density = int(self.mask_ih.sum()) / max(1, self.mask_ih.numel())
        return (
            f"cell={self.cell}, in={self.n_in}, hidden={self.n_hidden}, ih_density={density:.4f}, "
            f"hidden_mask={self.mask_hh is not None}"
        )


class RecurrentGraphNetwork(SparseNetwork):
    """Graph-as-network recurrent classifier over character sequences (Stier et al. 2021).

    Parameters
    ----------
    dag : networkx.DiGraph
        Acyclic; nodes are the hidden units, layered by
        :func:`~nasprior.dag.layer_nodes`.
    vocab_size : int
        Token ids (id 0 is padding; its embedding is fixed at zero).
    n_outputs : int
        Classes (2 for the Reber task).
    cell : {"rnn_tanh", "rnn_relu", "gru", "lstm"}
    embedding_dim : int
        Size of the character embedding read densely by layer 0.
    hidden_mask : bool
        Identity-masked instead of dense hidden-to-hidden weights (see the
        module notes).

    Attributes
    ----------
    node_layers : list of list of int
        Graph nodes of each recurrent layer.
    layers : torch.nn.ModuleList of MaskedRecurrentLayer
        ``layers[l]`` maps layer ``l - 1`` (the embedding for ``l = 0``) to layer ``l``.
    skip_layers : torch.nn.ModuleList of MaskedRecurrentLayer
        One per ``skip_pairs[i] = (s, t)``: edges from layer ``s`` into layer ``t > s + 1``.
    output_layer : MaskedLinear of shape (n_outputs, n_nodes)
        Reads the sinks' last hidden states.

    Notes
    -----
    Forward: int64 ids (batch, max_len), right-padded with 0, every row
    holding at least one id > 0 -> logits (batch, n_outputs).
    ``n_weights`` counts present recurrent and output weights; ``n_params``
    adds every bias and the embedding (the padding row excluded).
    """

    def __init__(
        self,
        dag: nx.DiGraph,
        vocab_size: int,
        n_outputs: int,
        cell: str = "gru",
        embedding_dim: int = 16,
        hidden_mask: bool = False,
    ):
        super().__init__()
        if dag.number_of_nodes() == 0:
            raise ValueError("the graph has no nodes: a recurrent network needs at least one node")
        self.cell, self.hidden_mask = cell, hidden_mask
        self.node_layers = layer_nodes(dag)
        layer_of = {node: l for l, nodes in enumerate(self.node_layers) for node in nodes}
        row = {node: i for nodes in self.node_layers for i, node in enumerate(nodes)}  # index within its layer
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        masks: dict[tuple[int, int], np.ndarray] = {}
        for u, v in dag.edges:
            s, t = layer_of[u], layer_of[v]
            mask = masks.setdefault((s, t), np.zeros((len(self.node_layers[t]), len(self.node_layers[s])), dtype=bool))
            mask[row[v], row[u]] = True
        main = [np.ones((len(self.node_layers[0]), embedding_dim), dtype=bool)]
        main += [masks[(t - 1, t)] for t in range(1, len(self.node_layers))]
        self.layers = nn.ModuleList(MaskedRecurrentLayer(m, cell, hidden_mask) for m in main)
        self.skip_pairs = sorted(pair for pair in masks if pair[1] - pair[0] > 1)
        self.skip_layers = nn.ModuleList(MaskedRecurrentLayer(masks[p], cell, hidden_mask) for p in self.skip_pairs)
        order = [node for nodes in self.node_layers for node in nodes]
        sinks = np.array([dag.out_degree(node) == 0 for node in order])
        self.output_layer = MaskedLinear(np.tile(sinks, (n_outputs, 1)), gain=1.0)
        self._build_packed()

    # -- wavefront layout ------------------------------------------------
    def _build_packed(self) -> None:
        """Layout of the fused path (:meth:`forward`): sub-layers packed into few blocks, histories without padding.

        Every sub-layer (one per graph layer and skip pair) keeps its own
        recurrent state, but several narrow ones share one block of the
        widest layer's width (:func:`~nasprior.networks.wavefront.pack_sub_layers`),
        so a step computes about as many units as the network has instead
        of ``blocks x width`` (a Barabasi-Albert graph with n = 30, m = 3:
        25 sub-layers, 113 units, 200 padded ones before packing, 136
        after, with 8 input columns per block instead of 18). A block's weights
        are block-diagonal, zero between its members (no gradient reaches
        those zeros: they are not parameters). The history of summed layer
        outputs has one row per unit, plus row 0 (always zero: the source
        of a block's unused input columns) and a last row that collects the
        blocks' unused units (always zero too); one more row of ones before
        all steps feeds the blocks' bias columns.
        """
        subs = [(t, t - 1, layer) for t, layer in enumerate(self.layers)]
        subs += [(t, s, layer) for (s, t), layer in zip(self.skip_pairs, self.skip_layers)]
        self._wf_subs = [layer for _, _, layer in subs]  # the sub-layers in block order
        self.max_lag = max([1] + [t - s for t, s, _ in subs])  # the longest skip, in layers
        gates = CELL_GATES[self.cell]
        widths = [len(nodes) for nodes in self.node_layers]
        width, n_layers, lag = max(widths), len(widths), self.max_lag
        first_row = np.concatenate([[1], 1 + np.cumsum(widths)])  # history row of each layer's first unit
        n_rows = int(first_row[-1]) + 1  # + the row that collects unused units
        place, n_blocks, in_width = pack_sub_layers([(l.n_hidden, l.n_in if s >= 0 else 0) for _, s, l in subs], width)
        src_base = np.full((n_blocks, in_width), (lag - 1) * n_rows, dtype=np.int64)  # unused columns read row 0
        out_rows = np.full((n_blocks, width), n_rows - 1, dtype=np.int64)
        started = np.zeros((max(n_layers - 1, 0), n_blocks, width, 1), dtype=np.float32)
        ih_idx, hh_idx, b_idx = [], [], []
        for i, (t, s, layer) in enumerate(subs):
            k, unit, col = place[i]
            n_h = layer.n_hidden
            rho = np.arange(gates * n_h)
            rows = (rho // n_h) * width + unit + rho % n_h  # gate-major rows of the block
            out_rows[k, unit : unit + n_h] = first_row[t] + np.arange(n_h)
            started[:, k, unit : unit + n_h] = (t <= np.arange(n_layers - 1)).reshape(-1, 1, 1)
            b_idx.append(np.stack([np.full(len(rho), k), rows]))
            hh_idx.append(
                np.stack([np.full(len(rho) * n_h, k), np.repeat(rows, n_h), np.tile(unit + np.arange(n_h), len(rho))])
            )
            if s >= 0:  # reads layer s's summed output from t - s steps before
                src_base[k, col : col + layer.n_in] = (lag - (t - s)) * n_rows + first_row[s] + np.arange(layer.n_in)
                ih_idx.append(
                    np.stack(
                        [
                            np.full(len(rho) * layer.n_in, k),
                            np.repeat(rows, layer.n_in),
                            np.tile(col + np.arange(layer.n_in), len(rho)),
                        ]
                    )
                )
        as_long = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
        # the fused path appends a bias column to every block's inputs: forward it reads the history's leading row of
        # ones (the biases fold into the input matmul, their gradients into its weight gradient); backward its
        # gradient goes to row 0, like an unused column's
        src_base = np.concatenate([src_base, np.full((n_blocks, 1), (lag - 1) * n_rows)], axis=1)
        src_step = np.full(src_base.shape, n_rows, dtype=np.int64)
        src_step[:, -1] = 0
        src_fwd = src_base + 1  # rows of the history after its leading row of ones
        src_fwd[:, -1] = 0
        self.register_buffer(
            "_pk_src_base", as_long(src_base.reshape(-1)), persistent=False
        )  # (blocks * (in_width + 1),)
        self.register_buffer("_pk_src_fwd", as_long(src_fwd.reshape(-1)), persistent=False)
        self.register_buffer("_pk_src_step", as_long(src_step.reshape(-1)), persistent=False)
        self.register_buffer("_pk_out_rows", as_long(out_rows.reshape(-1)), persistent=False)  # (blocks * width,)
        self.register_buffer(
            "_pk_started", torch.as_tensor(started), persistent=False
        )  # (layers - 1, blocks, width, 1)
        self.register_buffer("_pk_unit_layer", as_long(np.repeat(np.arange(n_layers), widths)), persistent=False)
        self.register_buffer(
            "_pk_unit_row",
            as_long(np.concatenate([first_row[l] + np.arange(w) for l, w in enumerate(widths)])),
            persistent=False,
        )
        k0, unit0, _ = place[0]  # layer 0 reads the embedding
        self._pk_emb_block = k0
        n0 = widths[0]
        rho0 = np.arange(gates * n0)
        emb_rows = (rho0 // n0) * width + unit0 + rho0 % n0
        # one gather places every parameter: positions in the masked concatenation of _packed_weights, whose
        # last element is a zero (the padding between sub-layers)
        gw = gates * width
        self._pk_sizes = [
            n_blocks * gw * in_width,
            n_blocks * gw * width,
            n_blocks * gw,
            n_blocks * gw,
            gw * subs[0][2].n_in,
        ]
        counts = [
            sum(l.weight_ih.numel() for _, _, l in subs[1:]),
            sum(l.weight_hh.numel() for _, _, l in subs),
            sum(l.bias_ih.numel() for _, _, l in subs),
            sum(l.bias_hh.numel() for _, _, l in subs),
            subs[0][2].weight_ih.numel(),
        ]
        starts, zero = np.concatenate([[0], np.cumsum(counts)]), sum(counts)
        shapes = [
            (n_blocks, gw, in_width),
            (n_blocks, gw, width),
            (n_blocks, gw),
            (n_blocks, gw),
            (gw, subs[0][2].n_in),
        ]
        emb_idx = np.stack([np.repeat(emb_rows, subs[0][2].n_in), np.tile(np.arange(subs[0][2].n_in), len(emb_rows))])
        gather = []
        for idx, shape, start, count in zip((ih_idx, hh_idx, b_idx, b_idx, [emb_idx]), shapes, starts, counts):
            g = np.full(int(np.prod(shape)), zero, dtype=np.int64)
            if count:
                g[np.ravel_multi_index(tuple(np.concatenate(idx, axis=1)), shape)] = start + np.arange(count)
            gather.append(g)
        self.register_buffer("_pk_gather", as_long(np.concatenate(gather)), persistent=False)
        # what _packed_weights keeps of the weights after the input masks: the biases, and weight_hh unless masked
        n_kept = 2 * counts[2] + (0 if self.hidden_mask else counts[1])
        self.register_buffer("_pk_ones", torch.ones(n_kept, dtype=torch.bool), persistent=False)
        not_padding = torch.ones(self.embedding.num_embeddings, 1)
        if self.embedding.padding_idx is not None:
            not_padding[self.embedding.padding_idx] = 0.0
        self.register_buffer("_pk_not_padding", not_padding, persistent=False)
        # where the packed weights hold parameters (not padding): the compiled backward computes gradients there only
        real_ih = (
            np.concatenate([gather[0].reshape(n_blocks, gw, in_width), gather[2].reshape(n_blocks, gw, 1)], axis=2)
            != zero
        )
        self.register_buffer("_pk_real_ih", torch.as_tensor(real_ih), persistent=False)  # (blocks, gw, in_width + 1)
        self.register_buffer(
            "_pk_real_hh", torch.as_tensor(gather[1].reshape(n_blocks, gw, width) != zero), persistent=False
        )
        self._pk_shape, self._pk_in_width, self._pk_rows = (n_blocks, gates, width), in_width, n_rows

    def _packed_weights(self) -> tuple[torch.Tensor, ...]:
        """Masked weights of all sub-layers in the fused path's packed blocks (see :meth:`_build_packed`).

        Returns ``w_emb`` (gates*width, embedding_dim), ``w_ih`` (blocks,
        gates*width, in_width), ``w_hh`` (blocks, gates*width, width),
        ``b_ih`` and ``b_hh`` (blocks, gates*width, 1). Every parameter is
        masked and concatenated once and placed by one gather (two dozen
        operations forward and backward instead of about two hundred).
        """
        n_blocks, gates, width = self._pk_shape
        subs, gw = self._wf_subs, gates * width
        first = subs[0]
        values = torch.cat(
            [l.weight_ih.flatten() for l in subs[1:]]
            + [l.weight_hh.flatten() for l in subs]
            + [l.bias_ih for l in subs]
            + [l.bias_hh for l in subs]
            + [first.weight_ih.flatten()]
        )
        keep = [l.mask_ih.flatten() for l in subs[1:]] + (
            [l.mask_hh.flatten() for l in subs] if self.hidden_mask else []
        )
        keep += [self._pk_ones, first.mask_ih.flatten()]
        masked = torch.cat([values * torch.cat(keep), values.new_zeros(1)])
        w_ih, w_hh, b_ih, b_hh, w_emb = masked[self._pk_gather].split(self._pk_sizes)
        return (
            w_emb.view(gw, first.n_in),
            w_ih.view(n_blocks, gw, self._pk_in_width),
            w_hh.view(n_blocks, gw, width),
            b_ih.view(n_blocks, gw, 1),
            b_hh.view(n_blocks, gw, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for token ids: the wavefront forward pass with a hand-written backward pass.

        A wavefront schedule (every layer advances one step per iteration; the
        autograd form is :func:`nasprior.networks.recurrent_reference.wavefront_forward`), run by
        :class:`WavefrontRecurrence`: a :class:`torch.autograd.Function`
        whose forward loop writes contiguous chunks of cached buffers with
        the batch as the innermost dimension, over the packed blocks of
        :meth:`_build_packed` and only the strings still running, and whose
        backward pass is explicit back-propagation through time (about 25
        tensor operations per step instead of an autograd graph of ~40
        nodes); both time loops run as compiled kernels (Numba; TorchScript
        or Python where it is missing: :func:`nasprior.networks.wavefront.time_loops`).
        Layer 0's input gates come from a per-character table, the
        embedding times its input weights. Gradients reach every
        layer's ``weight_ih``/``weight_hh``/biases (and the embedding)
        through the masked packed weights (:meth:`_packed_weights`, the
        input biases appended as a last column), so absent weights get
        exactly zero gradient.

        Parameters
        ----------
        x : torch.Tensor of int64, shape (batch, max_len)
            Right-padded with 0; every row holds at least one id > 0.

        Returns
        -------
        torch.Tensor of shape (batch, n_outputs)

        Raises
        ------
        ValueError
            If a row of ``x`` is all padding.
        """
        lengths = (x != 0).sum(dim=1)  # (batch,)
        if bool((lengths == 0).any()):
            raise ValueError("a row of the batch is all padding (id 0): every sequence needs at least one character")
        lengths, order = torch.sort(lengths, descending=True)  # longest first: step tau runs a prefix of the rows
        x = x[order, : int(lengths[0])]
        batch, n_time = x.shape
        n_layers = len(self.node_layers)
        n_steps = n_time + n_layers - 1
        n_active = (
            (lengths.unsqueeze(0) + (n_layers - 1) > torch.arange(n_steps, device=x.device).unsqueeze(1))
            .sum(dim=1)
            .tolist()
        )
        w_emb, w_ih, w_hh, b_ih, b_hh = self._packed_weights()
        emb = self.embedding.weight
        if (
            self.embedding.padding_idx is not None
        ):  # the padding row stays zero and gets no gradient, as in nn.Embedding
            emb = emb * self._pk_not_padding
        table = torch.matmul(
            w_emb, emb.t()
        )  # (gates*width, vocabulary): each character's input gates of layer 0's block
        gru = self.cell == "gru"  # outside GRU's n gate the two biases only appear summed
        w_ih = torch.cat([w_ih, b_ih if gru else b_ih + b_hh], dim=2)  # the bias as a last input column
        last = WavefrontRecurrence.apply(
            table, x.t().contiguous(), w_ih, w_hh, b_hh if gru else None, self, n_active, lengths
        )  # (batch, n_units)
        return self.output_layer(last[torch.argsort(order)])  # back to the input's row order

    def recurrent_layers(self) -> list[MaskedRecurrentLayer]:
        """Every :class:`MaskedRecurrentLayer`, main layers first."""
        return list(self.layers) + list(self.skip_layers)

    def apply_masks(self) -> None:
        """Zero every absent weight (call after each optimiser step)."""
        super().apply_masks()
        for layer in self.recurrent_layers():
            layer.apply_mask()

    @property
    def n_weights(self) -> int:
        """Present weights: recurrent (input-to-hidden per gate, hidden-to-hidden) and output."""
        return super().n_weights + sum(layer.n_weights for layer in self.recurrent_layers())

    @property
    def n_possible_weights(self) -> int:
        """Weights of the same layers with dense masks."""
        return super().n_possible_weights + sum(layer.n_possible_weights for layer in self.recurrent_layers())

    @property
    def n_params(self) -> int:
        """Trainable values in use: present weights, biases, and the embedding without its padding row."""
        biases = sum(layer.n_biases for layer in self.recurrent_layers()) + self.output_layer.bias.numel()
        embedding = (self.embedding.num_embeddings - 1) * self.embedding.embedding_dim
        return self.n_weights + biases + embedding

    @property
    def first_layer_width(self) -> int:
        """Units of layer 0 (the sources), which read the embedding."""
        return len(self.node_layers[0])

    @property
    def n_hidden_layers(self) -> int:
        """Recurrent layers on the main path (the DAG's depth); skip layers not counted."""
        return len(self.node_layers)


#: Recurrent cell types (the ``cell`` gene).
CELLS = tuple(CELL_GATES)
#: Cell type of every recurrent layer.
CELL = Gene("cell", "choice", "gru", choices=CELLS, doc="recurrent cell type")


def build_recurrent_network(
    genome: Genome,
    vocab_size: int,
    n_outputs: int,
    graph: nx.Graph | None = None,
    *,
    embedding_dim: int = 16,
    hidden_mask: bool = False,
) -> RecurrentGraphNetwork:
    """Build the recurrent network of a genome for a sequence task.

    Parameters
    ----------
    genome : Genome
        ``mapping = "recurrent"``; ``genome.cell`` picks the cell type; the
        graph comes from its prior.
    vocab_size : int
        Token ids of the task (28 for Reber, padding and unknown included).
    n_outputs : int
        Classes.
    graph : networkx.Graph, optional
        The genome's prior graph if already built.
    embedding_dim : int
    hidden_mask : bool
        See :class:`RecurrentGraphNetwork`.

    Returns
    -------
    RecurrentGraphNetwork
        Weights drawn from torch's global generator (seed it first).

    Raises
    ------
    ConfigError
        If the genome's mapping is not ``recurrent``.
    """
    if genome.mapping != "recurrent":
        raise ConfigError(
            f"recurrent networks need mapping 'recurrent', got {genome.mapping!r}: set mapping = [\"recurrent\"] in the search space"
        )
    graph = make_graph(genome) if graph is None else graph
    return RecurrentGraphNetwork(to_dag(graph), vocab_size, n_outputs, genome.cell, embedding_dim, hidden_mask)


register_mapping(
    Mapping(
        "recurrent",
        (CELL,),
        inputs="sequence",
        build=lambda genome, graph, shape: build_recurrent_network(genome, shape.vocab_size, shape.n_classes, graph),
        describe=lambda g: f"graph {g.cell}",
        reference="Stier, Darji & Granitzer 2021",
    )
)
