"""Reference forward passes of :class:`~nasprior.networks.recurrent.RecurrentGraphNetwork`, for tests and benchmarks.

The network trains with its fused wavefront recurrence (hand-written backward
pass, :mod:`nasprior.networks.wavefront`). Two slower forms of the same model
are kept here, outside the production class, to check it against:

* :func:`layered_forward`: the literal model, one packed recurrent kernel per
  graph layer and skip pair;
* :func:`wavefront_forward`: the same wavefront schedule as the fused path,
  recorded op by op by autograd (what the network ran before the fused path).

Both take a built network and a batch of token ids, shape (batch, max_len),
and return logits of shape (batch, n_outputs), equal to ``net(x)`` to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from .recurrent import CELL_GATES, RecurrentGraphNetwork


def wavefront_layout(net: RecurrentGraphNetwork, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Index tensors that lay every sub-layer out as one block of a batched state (see :func:`wavefront_forward`).

    Returns
    -------
    dict
        ``ih_idx``, ``hh_idx``, ``b_idx`` (scatter indices of the weights into the blocks), ``target``,
        ``source``, ``lag`` (per block, shape (n_blocks,)), ``unit_cols`` (shape (n_units,)), ``subs`` (the
        sub-layers in block order) and ``shape`` ``(n_blocks, gates, width)``.
    """
    layout: dict[str, Any] = {}
    subs = [(t, t - 1, layer) for t, layer in enumerate(net.layers)]
    subs += [(t, s, layer) for (s, t), layer in zip(net.skip_pairs, net.skip_layers)]
    gates = CELL_GATES[net.cell]
    widths = [len(nodes) for nodes in net.node_layers]
    width = max(widths)  # every block and layer is padded to this many units
    ih_idx, hh_idx = [], []
    for i, (t, s, layer) in enumerate(subs):
        rho = np.arange(gates * layer.n_hidden)
        gate, unit = rho // layer.n_hidden, rho % layer.n_hidden  # rows of weight_ih / weight_hh
        for target, n_cols in ((hh_idx, layer.n_hidden),) + (((ih_idx, layer.n_in),) if s >= 0 else ()):
            target.append(
                np.stack(
                    [
                        np.full(len(rho) * n_cols, i),
                        np.repeat(gate, n_cols),
                        np.repeat(unit, n_cols),
                        np.tile(np.arange(n_cols), len(rho)),
                    ]
                )
            )
    as_long = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    layout["ih_idx"] = as_long(np.concatenate(ih_idx, axis=1) if ih_idx else np.zeros((4, 0))).to(device)
    layout["hh_idx"] = as_long(np.concatenate(hh_idx, axis=1)).to(device)
    b_idx = [
        np.stack(
            [
                np.full(gates * layer.n_hidden, i),
                np.arange(gates * layer.n_hidden) // layer.n_hidden,
                np.arange(gates * layer.n_hidden) % layer.n_hidden,
            ]
        )
        for i, (_, _, layer) in enumerate(subs)
    ]
    layout["b_idx"] = as_long(np.concatenate(b_idx, axis=1)).to(device)
    layout["target"] = as_long([t for t, _, _ in subs]).to(device)  # (n_blocks,)
    layout["source"] = as_long([max(s, 0) for _, s, _ in subs]).to(device)
    layout["lag"] = as_long([t - s - 1 if s >= 0 else 0 for t, s, _ in subs]).to(device)
    unit_cols = np.concatenate([l * width + np.arange(w) for l, w in enumerate(widths)])
    layout["unit_cols"] = as_long(unit_cols).to(device)  # (n_units,) in layer-major padded order
    layout["subs"] = [layer for _, _, layer in subs]
    layout["shape"] = (len(subs), gates, width)
    return layout


def block_weights(layout: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    """Masked weights of all sub-layers, zero-padded into per-block stacks for batched matmuls."""
    n_blocks, gates, width = layout["shape"]
    subs = layout["subs"]
    w = subs[0].weight_ih
    w_ih = w.new_zeros(n_blocks, gates, width, width)
    if layout["ih_idx"].shape[1]:
        values = torch.cat([(layer.weight_ih * layer.mask_ih).flatten() for layer in subs[1:]])
        w_ih = w_ih.index_put(tuple(layout["ih_idx"]), values)
    hh = [
        (layer.weight_hh * layer.mask_hh if layer.mask_hh is not None else layer.weight_hh).flatten() for layer in subs
    ]
    w_hh = w.new_zeros(n_blocks, gates, width, width).index_put(tuple(layout["hh_idx"]), torch.cat(hh))
    b_ih = w.new_zeros(n_blocks, gates, width).index_put(tuple(layout["b_idx"]), torch.cat([l.bias_ih for l in subs]))
    b_hh = w.new_zeros(n_blocks, gates, width).index_put(tuple(layout["b_idx"]), torch.cat([l.bias_hh for l in subs]))
    first = subs[0]  # layer 0 reads the embedding: its weight_ih, padded to width rows per gate
    n0 = first.n_hidden
    w_emb = w.new_zeros(gates, width, first.n_in)
    w_emb = w_emb.index_put(
        (torch.arange(gates * n0, device=w.device) // n0, torch.arange(gates * n0, device=w.device) % n0),
        first.weight_ih * first.mask_ih,
    )
    flat = lambda m: m.reshape(n_blocks, gates * width, width).transpose(1, 2)  # noqa: E731  (blocks, in, gates*width)
    return (
        w_emb.reshape(gates * width, first.n_in),
        flat(w_ih),
        flat(w_hh),
        b_ih.reshape(n_blocks, 1, gates * width),
        b_hh.reshape(n_blocks, 1, gates * width),
    )


def wavefront_forward(net: RecurrentGraphNetwork, x: torch.Tensor) -> torch.Tensor:
    """Wavefront forward pass recorded op by op by autograd (the implementation before the fused one).

    Computes exactly what :func:`layered_forward` computes, in another
    order (a wavefront). Every sub-layer (one per graph layer and one per
    skip pair) is a block of one batched state, zero-padded to the widest
    layer; at step ``tau`` the blocks of layer ``l`` process time
    ``tau - l``, reading layer ``l - 1``'s summed output from step
    ``tau - 1`` (a skip source ``s`` from step ``tau - (l - s)``). One
    step of ~15 batched tensor operations thus advances every layer,
    ``max_len + depth - 1`` steps in all, instead of a kernel call per
    layer and skip pair. Blocks of layers that have not started are held
    at zero (padded units stay zero by construction); each unit is read
    at its own sequence's last real step.
    """
    layout = wavefront_layout(net, x.device)
    n_blocks, gates, width = layout["shape"]
    lengths = (x != 0).sum(dim=1)  # (batch,)
    if bool((lengths == 0).any()):
        raise ValueError("a row of the batch is all padding (id 0): every sequence needs at least one character")
    x = x[:, : int(lengths.max())]  # columns that are padding in every row change nothing
    batch, n_time = x.shape
    n_layers = len(net.node_layers)
    w_emb, w_ih, w_hh, b_ih, b_hh = block_weights(layout)
    emb_gates = torch.nn.functional.linear(net.embedding(x), w_emb).transpose(0, 1)  # (n_time, batch, gates*width)
    first_block = (torch.arange(n_blocks, device=x.device) == 0).to(emb_gates.dtype).view(n_blocks, 1, 1)
    zero_y = emb_gates.new_zeros(n_layers, batch, width)
    history = [zero_y] * net.max_lag  # summed layer outputs (layers, batch, width), newest first
    h = emb_gates.new_zeros(n_blocks, batch, width)
    c = h if net.cell == "lstm" else None
    outputs = []
    for tau in range(n_time + n_layers - 1):
        stacked = torch.stack(history) if net.max_lag > 1 else history[0].unsqueeze(0)  # (lags, layers, batch, width)
        src = stacked[layout["lag"], layout["source"]]  # (blocks, batch, width): each block's input
        gi = torch.baddbmm(b_ih, src, w_ih)  # (blocks, batch, gates*width)
        if tau < n_time:
            gi = gi + first_block * emb_gates[tau]
        gh = torch.baddbmm(b_hh, h, w_hh)
        if net.cell == "gru":
            i_r, i_z, i_n = gi.chunk(3, dim=2)
            h_r, h_z, h_n = gh.chunk(3, dim=2)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            h_new = n + z * (h - n)
        elif net.cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, dim=2)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c)
        else:
            pre = gi + gh
            h_new = torch.tanh(pre) if net.cell == "rnn_tanh" else torch.relu(pre)
        if tau < n_layers - 1:  # blocks of layers that start later stay at zero
            started = (layout["target"] <= tau).to(h_new.dtype).view(n_blocks, 1, 1)
            h_new = h_new * started
            if c is not None:
                c = c * started
        h = h_new
        y = zero_y.index_add(0, layout["target"], h)  # (layers, batch, width): sub-layer outputs summed per layer
        history = [y] + history[:-1]
        outputs.append(y)
    ys = torch.stack(outputs)  # (steps, layers, batch, width)
    steps = (lengths - 1).unsqueeze(0) + torch.arange(n_layers, device=x.device).unsqueeze(1)  # (layers, batch)
    last = ys[steps, torch.arange(n_layers, device=x.device).unsqueeze(1), torch.arange(batch, device=x.device)]
    last = last.transpose(0, 1).reshape(batch, n_layers * width)[:, layout["unit_cols"]]  # (batch, n_units)
    return net.output_layer(last)


def layered_forward(net: RecurrentGraphNetwork, x: torch.Tensor) -> torch.Tensor:
    """Reference forward pass: one fused kernel call per recurrent layer and skip pair.

    Same inputs and result as :meth:`RecurrentGraphNetwork.forward` (to rounding); the batch is
    packed by length and each :class:`MaskedRecurrentLayer` runs on the
    packed sequence in turn. Slower on a CPU for deep graphs; kept as the
    literal form of the model and to check :meth:`forward` against.
    """
    lengths = (x != 0).sum(dim=1).cpu()  # (batch,)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    batch_sizes = packed.batch_sizes
    inputs = net.embedding(packed.data)  # (n_steps_total, embedding_dim)
    outputs: list[torch.Tensor] = []  # packed output of each layer, (n_steps_total, n_l)
    lasts: list[torch.Tensor] = []  # last real step of each layer, (batch, n_l), sorted order
    skips_into: dict[int, list[int]] = {}
    for i, (_, t) in enumerate(net.skip_pairs):
        skips_into.setdefault(t, []).append(i)
    for t, layer in enumerate(net.layers):
        out, last = layer(inputs if t == 0 else outputs[t - 1], batch_sizes)
        for i in skips_into.get(t, []):
            skip_out, skip_last = net.skip_layers[i](outputs[net.skip_pairs[i][0]], batch_sizes)
            out, last = out + skip_out, last + skip_last
        outputs.append(out)
        lasts.append(last)
    h = torch.cat(lasts, dim=1)[packed.unsorted_indices]  # (batch, n_nodes), original order
    return net.output_layer(h)
