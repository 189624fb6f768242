"""The fused wavefront recurrence of :class:`~nasprior.networks.recurrent.RecurrentGraphNetwork`.

All recurrent layers of a graph-derived network advance one time step
together (a wavefront); :class:`WavefrontRecurrence` runs that loop with a
hand-written backward pass through time, over only the strings still running
at each step (a batch sorted by length), with buffers reused from batch to
batch (:class:`Workspace`). It computes what the autograd wavefront
(:func:`nasprior.networks.recurrent_reference.wavefront_forward`) computes, to 1e-5.

The two time loops run, by default, as the compiled kernels of
:mod:`nasprior.networks.wavefront_kernels` (Numba: a step's gate arithmetic
is one pass per unit over the running strings, about 1.5x faster per batch
than the TorchScript loops on a 2-core CPU). :func:`_forward_steps` and
:func:`_backward_steps` are the same loops as tensor operations (some 70 per
step); :func:`time_loops` compiles them with TorchScript where Numba is
missing (its interpreter dispatches a small operation in 1.4 against
Python's 3.2 microseconds, torch 2.13, 1 thread), and runs them as plain
Python where TorchScript cannot compile them, with the same results.

References
----------
.. [Werbos1990] P. J. Werbos, "Backpropagation through time: what it does and
   how to do it", Proceedings of the IEEE 78(10), 1990.
"""

from __future__ import annotations

import math
import warnings
import weakref

import torch
from torch import nn

from . import wavefront_kernels


def _fast_tanh(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``tanh(x)`` written to ``out`` (may be ``x`` itself) as ``2 sigmoid(2x) - 1``.

    About three times faster than :func:`torch.tanh` on a CPU (float32,
    1 thread, measured with torch 2.13); absolute error below 1e-6.
    """
    return torch.mul(x, 2.0, out=out).sigmoid_().mul_(2.0).sub_(1.0)


class Workspace:
    """Buffers of :class:`WavefrontRecurrence` reused from batch to batch (fresh large allocations are slow).

    A buffer is lent by :meth:`take` and comes back by :meth:`give` after the
    backward pass; a forward pass whose graph is dropped without a backward
    pass simply never returns its buffers.
    """

    def __init__(self) -> None:
        self.free: dict[str, torch.Tensor] = {}

    def take(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(storage, view)``: a cached flat buffer (or a new one) and its first elements viewed as ``shape``."""
        n = math.prod(shape)
        buf = self.free.pop(name, None)
        if buf is None or buf.numel() < n or buf.dtype != like.dtype or buf.device != like.device:
            buf = like.new_empty(n)
        return buf, buf[:n].view(shape)

    def give(self, storages: dict[str, torch.Tensor]) -> None:
        """Return buffers lent by :meth:`take`."""
        self.free.update(storages)


_WORKSPACES: weakref.WeakKeyDictionary[nn.Module, Workspace] = weakref.WeakKeyDictionary()


class WavefrontRecurrence(torch.autograd.Function):
    """The wavefront time loop of :meth:`RecurrentGraphNetwork.forward`, with explicit back-propagation through time.

    Layout: the batch is the innermost (contiguous) dimension everywhere.
    ``table`` (gates*width, vocabulary) holds the input gates of the
    block that holds layer 0 (``net._pk_emb_block``) for each character
    (the embedding times layer 0's input weights), ``ids`` (n_time,
    batch) the characters; ``w_ih`` (blocks, gates*width, in_width + 1) and ``w_hh``
    (blocks, gates*width, width) the masked packed weights (gate-major
    rows; see :meth:`RecurrentGraphNetwork._packed_weights`), the last
    column of ``w_ih`` the input bias (GRU: ``b_ih``; other cells
    ``b_ih + b_hh``); ``b_hh`` (blocks, gates*width, 1) GRU's hidden-side
    bias, None for other cells; ``lengths`` (batch,) the strings' lengths,
    sorted descending. Returns every unit's output at its string's last real step,
    (batch, n_units) in layer-major unit order. Internally the summed layer
    outputs of every step are kept as (max_lag + steps, rows, batch) (see
    :meth:`RecurrentGraphNetwork._build_packed`) after one row of ones
    (the source of the bias column): slot ``max_lag + tau`` holds step
    ``tau``, the first ``max_lag`` slots are zeros (the history before the
    first step).

    Every tensor a step writes (states, gates, sources, gradients) is a
    contiguous chunk of ``blocks * rows * m`` elements, ``m`` the number of
    strings still running at that step: on a CPU, torch's matmuls and
    element-wise kernels run 2-3.5x slower when they write into a slice
    ``[..., :m]`` of a wider buffer (measured with torch 2.13, 1 thread).
    """

    @staticmethod
    def forward(ctx, table, ids, w_ih, w_hh, b_hh, net, n_active, lengths):
        n_blocks, gates, width = net._pk_shape
        n_layers, lag, cell, w_in, n_rows = len(net.node_layers), net.max_lag, net.cell, w_ih.shape[2], net._pk_rows
        n_time, batch = ids.shape
        n_steps = n_time + n_layers - 1
        save = any(ctx.needs_input_grad[i] for i in (0, 2, 3, 4))
        ws = _WORKSPACES.setdefault(net, Workspace()) if save else Workspace()
        ys_store, ys_all = ws.take(
            "ys", (1 + (lag + n_steps) * n_rows, batch), w_ih
        )  # cached: fresh large buffers are slow
        ys_all.zero_()
        ys_all[0].fill_(1.0)  # the bias column's source
        steps = torch.arange(n_steps, device=ys_all.device).unsqueeze(1)
        src_rows = (
            net._pk_src_fwd.unsqueeze(0) + net._pk_src_step.unsqueeze(0) * steps
        )  # (steps, blocks*w_in) rows of ys_all
        started, out_rows = net._pk_started.to(ys_all.dtype), net._pk_out_rows
        # step tau's chunk starts at offsets[tau] * rows; without a backward pass two alternating slots suffice
        offsets = [0]
        for m in n_active if save else (batch, batch):
            offsets.append(offsets[-1] + n_blocks * m)
        store = {
            name: ws.take(name, (offsets[-1] * rows,), ys_all)[0]
            for name, rows in _step_rows(cell, width, w_in, gates).items()
        }
        empty = ys_all.new_empty(0)
        shape = [n_blocks, width, w_in, n_rows, lag, n_layers, net._pk_emb_block]
        ctx.loops = resolved_loop_implementation()
        if ctx.loops == "numba" and (w_ih.device.type != "cpu" or w_ih.dtype not in (torch.float32, torch.float64)):
            ctx.loops = resolved_loop_implementation("torchscript")  # the compiled kernels run on CPU tensors only
        forward_steps = time_loops(ctx.loops)[0]
        if ctx.loops == "numba":  # reads the table of each character's gates
            gate_input = [table, ids]
        else:  # (n_time, gates*width, batch)
            gate_input = [table.t()[ids].permute(0, 2, 1).contiguous()]
        forward_steps(
            cell,
            *gate_input,
            w_ih,
            w_hh,
            empty if b_hh is None else b_hh,
            started,
            src_rows,
            out_rows,
            list(n_active),
            offsets,
            save,
            shape,
            ys_all,
            *(store.get(k, empty) for k in STEP_BUFFERS),
        )
        ys = ys_all[1:]
        # each unit is read at its sequence's last real step: flat positions in ys, (batch, n_units)
        step = (lag + lengths - 1).unsqueeze(1) + net._pk_unit_layer.unsqueeze(0)
        read = (step * n_rows + net._pk_unit_row.unsqueeze(0)) * batch + torch.arange(
            batch, device=ys.device
        ).unsqueeze(1)
        last = ys.view(-1)[read]
        ws.give({"ys": ys_store})
        if save:
            ctx.save_for_backward(ids, w_ih, w_hh, started, out_rows, read)
            ctx.n_active, ctx.offsets, ctx.shape = list(n_active), offsets, shape
            ctx.net, ctx.n_time, ctx.store, ctx.n_vocab = net, n_time, store, table.shape[1]
        return last

    @staticmethod
    def backward(ctx, d_last):
        if ctx.store is None:
            raise RuntimeError("the fused recurrent forward pass supports one backward pass per forward pass")
        ids, w_ih, w_hh, started, out_rows, read = ctx.saved_tensors
        net, n_time, n_active, shape = ctx.net, ctx.n_time, ctx.n_active, ctx.shape
        n_blocks, width, w_in, n_rows, lag = shape[:5]
        cell, gw, batch = net.cell, w_ih.shape[1], d_last.shape[0]
        ws = _WORKSPACES.setdefault(net, Workspace())
        d_rows_store, d_rows = ws.take(
            "d_rows", ((lag + len(n_active)) * n_rows, batch), d_last
        )  # gradient of the summed outputs
        d_rows.zero_()
        d_rows.view(-1)[read] = d_last
        # weight gradients are accumulated transposed, (blocks, width, gw): torch's CPU baddbmm is 2x faster this way
        d_w_ih_t, d_w_hh_t = w_ih.new_zeros(n_blocks, w_in, gw), w_hh.new_zeros(n_blocks, width, gw)
        sum_dg = w_ih.new_zeros(n_blocks, gw) if cell == "gru" else w_ih.new_empty(0)  # GRU's b_hh gradient
        d_table = d_last.new_zeros(gw, ctx.n_vocab)
        empty = d_last.new_empty(0)
        buffers = [ctx.store.get(k, empty) for k in STEP_BUFFERS]
        backward_steps = time_loops(ctx.loops)[1]
        if ctx.loops == "numba":  # takes the weights as they are, and where they hold parameters
            backward_steps(
                cell,
                d_rows,
                w_ih,
                w_hh,
                net._pk_real_ih,
                net._pk_real_hh,
                started,
                out_rows,
                net._pk_src_base,
                n_active,
                ctx.offsets,
                shape,
                n_time,
                batch,
                *buffers,
                ids,
                d_w_ih_t,
                d_w_hh_t,
                sum_dg,
                d_table,
            )
        else:
            w_ih_t, w_hh_t = w_ih.transpose(1, 2).contiguous(), w_hh.transpose(1, 2).contiguous()
            d_emb = d_last.new_zeros(n_time, gw, batch)
            backward_steps(
                cell,
                d_rows,
                w_ih_t,
                w_hh_t,
                started,
                out_rows,
                net._pk_src_base,
                n_active,
                ctx.offsets,
                shape,
                n_time,
                batch,
                *buffers,
                d_w_ih_t,
                d_w_hh_t,
                sum_dg,
                d_emb,
            )
            d_table.t().index_add_(0, ids.reshape(-1), d_emb.permute(0, 2, 1).reshape(-1, gw))
        ws.give(ctx.store)
        ws.give({"d_rows": d_rows_store})
        ctx.store = None
        d_b_hh = sum_dg.unsqueeze(2) if cell == "gru" else None
        return d_table, None, d_w_ih_t.transpose(1, 2), d_w_hh_t.transpose(1, 2), d_b_hh, None, None, None


def pack_sub_layers(sizes: list[tuple[int, int]], width: int) -> tuple[dict[int, tuple[int, int, int]], int, int]:
    """Pack sub-layers into blocks of the fused recurrence: few blocks, few input columns per block.

    A block holds ``width`` units; its members' input columns are laid side
    by side, and every block is padded to the widest block's input count
    (``in_width``). The input-to-hidden and hidden-to-hidden matmuls of a
    step cost about ``n_blocks * (in_width + width)``, so packing by units
    alone (first-fit decreasing) can leave wide, mostly empty input blocks
    (a Barabasi-Albert graph with n = 30, m = 3: 15 blocks, 18 input
    columns). This runs first-fit decreasing (by units, then inputs) with a
    cap on each block's inputs, for caps from the widest sub-layer's inputs
    up to no cap, and keeps the cheapest (that graph: 17 blocks, 8 columns).

    Parameters
    ----------
    sizes : list of (n_hidden, n_in)
        Units and input columns of each sub-layer (``n_hidden <= width``).
    width : int
        Units per block.

    Returns
    -------
    place : dict
        Sub-layer index -> (block, first unit, first input column).
    n_blocks, in_width : int
    """
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i][0], -sizes[i][1]))
    widest, total = max([1] + [n for _, n in sizes]), max(1, sum(n for _, n in sizes))
    caps = sorted({min(total, int(round(widest * 1.25**j))) for j in range(40) if widest * 1.25 ** (j - 1) <= total})
    best = None
    for cap in caps:
        bins: list[list[int]] = []  # [units used, inputs used]
        place = {}
        for i in order:
            n_h, n_in = sizes[i]
            k = next((k for k, b in enumerate(bins) if b[0] + n_h <= width and b[1] + n_in <= cap), len(bins))
            if k == len(bins):
                bins.append([0, 0])
            place[i] = (k, bins[k][0], bins[k][1])
            bins[k][0] += n_h
            bins[k][1] += n_in
        in_width = max([1] + [b[1] for b in bins])
        cost = (len(bins) * (in_width + width), len(bins))
        if best is None or cost < best[0]:
            best = (cost, place, len(bins), in_width)
    return best[1], best[2], best[3]


#: Per-step buffers of the time loops, in the order the loop functions take them, and their rows per block:
#: states, gathered sources, the first two gates (GRU r, z; LSTM i, f), the candidate (GRU n, LSTM g),
#: LSTM's output gate, GRU's hidden-side gates, LSTM's cell state and its tanh.
STEP_BUFFERS = ("hs", "srcs", "acts", "cand", "outs", "ghs", "cs", "tcs")


def _step_rows(cell: str, width: int, in_width: int, gates: int) -> dict[str, int]:
    """Rows per block of each per-step buffer that ``cell`` uses (see :data:`STEP_BUFFERS`)."""
    rows = {"hs": width, "srcs": in_width}
    if cell == "gru":
        rows.update(acts=2 * width, cand=width, ghs=gates * width)
    elif cell == "lstm":
        rows.update(acts=2 * width, cand=width, outs=width, cs=width, tcs=width)
    return rows


def _view(buf: torch.Tensor, n_blocks: int, rows: int, m: int, start: int) -> torch.Tensor:
    """Elements ``start .. start + n_blocks * rows * m`` of a flat buffer, viewed as (blocks, rows, m) (one operation)."""
    return buf.as_strided([n_blocks, rows, m], [rows * m, m, 1], buf.storage_offset() + start)


def _chunk(
    buf: torch.Tensor, offsets: list[int], per_step: bool, tau: int, n_blocks: int, rows: int, m: int
) -> torch.Tensor:
    """View (blocks, rows, m) of step ``tau``'s contiguous chunk of a flat per-step buffer.

    ``offsets[tau] * rows`` is where step ``tau``'s chunk starts; with
    ``per_step=False`` (no backward pass) steps alternate between two slots.
    """
    return _view(buf, n_blocks, rows, m, offsets[tau if per_step else tau % 2] * rows)


def _forward_steps(
    cell: str,
    emb_gates: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    started: torch.Tensor,
    src_rows: torch.Tensor,
    out_rows: torch.Tensor,
    n_active: list[int],
    offsets: list[int],
    per_step: bool,
    shape: list[int],
    ys_all: torch.Tensor,
    hs: torch.Tensor,
    srcs: torch.Tensor,
    acts: torch.Tensor,
    cand: torch.Tensor,
    outs: torch.Tensor,
    ghs: torch.Tensor,
    cs: torch.Tensor,
    tcs: torch.Tensor,
) -> None:
    """The forward time loop of :class:`WavefrontRecurrence`: fills the history ``ys_all`` and the per-step buffers.

    ``ys_all`` is (1 + (lag + steps) * rows, batch): the row of ones, then
    the slots; ``shape`` is ``[n_blocks, width, w_in, n_rows, lag, n_layers, k0]``;
    the per-step buffers are those of :data:`STEP_BUFFERS` (empty where
    the cell uses none). Every tensor written is contiguous (see
    :class:`WavefrontRecurrence`). TorchScript-compatible (see
    :func:`time_loops`).
    """
    n_blocks, width, w_in, n_rows, lag, n_layers, k0 = (
        shape[0],
        shape[1],
        shape[2],
        shape[3],
        shape[4],
        shape[5],
        shape[6],
    )
    n_time, gw, batch = emb_gates.shape[0], emb_gates.shape[1], emb_gates.shape[2]
    w2 = 2 * width
    ys = ys_all.narrow(0, 1, ys_all.shape[0] - 1).view(-1, n_rows, batch)
    zero_state = ys.new_zeros([n_blocks, width, batch])  # the state before the first step
    gi_buf = ys.new_empty([n_blocks * gw * batch])  # per-step scratch (fresh large temporaries are slow)
    tmp_buf = ys.new_empty([n_blocks * width * batch])
    y_buf = ys.new_empty([n_rows * batch])
    m_prev = batch
    for tau in range(len(n_active)):
        m = n_active[tau]  # rows are sorted by length: the first m still run
        if tau == 0:
            h = zero_state.narrow(2, 0, m)
        else:
            h = _chunk(hs, offsets, per_step, tau - 1, n_blocks, width, m_prev).narrow(2, 0, m)
        h_new = _chunk(hs, offsets, per_step, tau, n_blocks, width, m)
        gi = _view(gi_buf, n_blocks, gw, m, 0)
        tmp = _view(tmp_buf, n_blocks, width, m, 0)
        src = _chunk(srcs, offsets, per_step, tau, n_blocks, w_in, m)
        torch.index_select(ys_all.narrow(1, 0, m), 0, src_rows[tau], out=src.view(-1, m))
        torch.bmm(w_ih, src, out=gi)  # (blocks, gw, m), the input bias included
        if tau < n_time:
            gi[k0].add_(emb_gates[tau].narrow(1, 0, m))
        if cell == "gru":
            gh = torch.bmm(w_hh, h, out=_chunk(ghs, offsets, per_step, tau, n_blocks, gw, m)).add_(b_hh)
            rz = torch.add(
                gi.narrow(1, 0, w2), gh.narrow(1, 0, w2), out=_chunk(acts, offsets, per_step, tau, n_blocks, w2, m)
            )
            rz.sigmoid_()
            r, z = rz.narrow(1, 0, width), rz.narrow(1, width, width)
            n = _chunk(cand, offsets, per_step, tau, n_blocks, width, m)
            _fast_tanh(torch.addcmul(gi.narrow(1, w2, width), r, gh.narrow(1, w2, width), out=n), n)
            torch.addcmul(n, z, torch.sub(h, n, out=tmp), out=h_new)
        elif cell == "lstm":
            gi.baddbmm_(w_hh, h)
            i_f = torch.sigmoid(gi.narrow(1, 0, w2), out=_chunk(acts, offsets, per_step, tau, n_blocks, w2, m))
            g = _fast_tanh(gi.narrow(1, w2, width), _chunk(cand, offsets, per_step, tau, n_blocks, width, m))
            o = torch.sigmoid(
                gi.narrow(1, 3 * width, width), out=_chunk(outs, offsets, per_step, tau, n_blocks, width, m)
            )
            if tau == 0:
                c = zero_state.narrow(2, 0, m)
            else:
                c = _chunk(cs, offsets, per_step, tau - 1, n_blocks, width, m_prev).narrow(2, 0, m)
            c_new = _chunk(cs, offsets, per_step, tau, n_blocks, width, m)
            torch.addcmul(torch.mul(i_f.narrow(1, width, width), c, out=tmp), i_f.narrow(1, 0, width), g, out=c_new)
            if tau < n_layers - 1:
                c_new.mul_(started[tau])
            torch.mul(o, _fast_tanh(c_new, _chunk(tcs, offsets, per_step, tau, n_blocks, width, m)), out=h_new)
        else:
            gi.baddbmm_(w_hh, h)
            if cell == "rnn_tanh":
                _fast_tanh(gi, h_new)
            else:
                torch.clamp(gi, min=0.0, out=h_new)
        if tau < n_layers - 1 and cell != "lstm":
            h_new.mul_(started[tau])
        y = (
            y_buf.narrow(0, 0, n_rows * m).view(n_rows, m).zero_()
        )  # summed per layer in a contiguous buffer, then stored
        ys[lag + tau].narrow(1, 0, m).copy_(y.index_add_(0, out_rows, h_new.view(-1, m)))
        m_prev = m


def _backward_steps(
    cell: str,
    d_rows: torch.Tensor,
    w_ih_t: torch.Tensor,
    w_hh_t: torch.Tensor,
    started: torch.Tensor,
    out_rows: torch.Tensor,
    src_base: torch.Tensor,
    n_active: list[int],
    offsets: list[int],
    shape: list[int],
    n_time: int,
    batch: int,
    hs: torch.Tensor,
    srcs: torch.Tensor,
    acts: torch.Tensor,
    cand: torch.Tensor,
    outs: torch.Tensor,
    ghs: torch.Tensor,
    cs: torch.Tensor,
    tcs: torch.Tensor,
    d_w_ih_t: torch.Tensor,
    d_w_hh_t: torch.Tensor,
    sum_dg: torch.Tensor,
    d_emb: torch.Tensor,
) -> None:
    """The backward time loop of :class:`WavefrontRecurrence` (back-propagation through time).

    Reads the per-step buffers of :func:`_forward_steps` and ``d_rows``
    (the gradient of the summed layer outputs, (lag + steps) * rows by
    batch, updated in place); accumulates the transposed weight gradients
    ``d_w_ih_t`` (blocks, w_in, gw; its last row the input bias's) and
    ``d_w_hh_t`` (blocks, width, gw), GRU's hidden-side bias gradient
    ``sum_dg`` (blocks, gw) and the embedding gates' gradient ``d_emb``
    (n_time, gw, batch). Each gate's gradient is computed into its own contiguous
    buffer and the gates are concatenated once. TorchScript-compatible
    (see :func:`time_loops`).
    """
    n_blocks, width, w_in, n_rows, lag, n_layers, k0 = (
        shape[0],
        shape[1],
        shape[2],
        shape[3],
        shape[4],
        shape[5],
        shape[6],
    )
    gw = w_ih_t.shape[2]
    w2 = 2 * width
    is_gru, is_lstm = cell == "gru", cell == "lstm"
    unit_size = n_blocks * width * batch
    dh_bufs = [d_rows.new_empty([unit_size]), d_rows.new_empty([unit_size])]
    t1_buf = d_rows.new_empty([unit_size])
    gate_bufs = [d_rows.new_empty([unit_size if is_gru or is_lstm else 0]) for _ in range(4)]
    d_src_buf = d_rows.new_empty([n_blocks * w_in * batch])
    dp_buf = d_rows.new_empty([n_blocks * gw * batch])
    dg_buf = (
        d_rows.new_empty([n_blocks * gw * batch]) if is_gru else dp_buf
    )  # as seen by weight_hh (GRU: n-part times r)
    dc_bufs = [d_rows.new_empty([unit_size if is_lstm else 0]), d_rows.new_empty([unit_size if is_lstm else 0])]
    win_buf = d_rows.new_empty([lag * n_rows * batch])
    m_next = n_active[-1]
    cur, c_cur = 0, 0  # d_h lives in dh_bufs[cur], d_c in dc_bufs[c_cur]
    d_h = _view(dh_bufs[0], n_blocks, width, m_next, 0).zero_()  # gradient w.r.t. the state after step tau
    d_c = _view(dc_bufs[0], n_blocks, width if is_lstm else 0, m_next, 0).zero_()
    for tau in range(len(n_active) - 1, -1, -1):
        m = n_active[tau]  # rows running at step tau (non-increasing in tau)
        if m != m_next:  # rows that start to run (backwards) get no gradient from later steps
            wide = _view(dh_bufs[1 - cur], n_blocks, width, m, 0).zero_()
            wide.narrow(2, 0, m_next).copy_(d_h)
            d_h, cur = wide, 1 - cur
            if is_lstm:
                wide_c = _view(dc_bufs[1 - c_cur], n_blocks, width, m, 0).zero_()
                wide_c.narrow(2, 0, m_next).copy_(d_c)
                d_c, c_cur = wide_c, 1 - c_cur
        m_prev = n_active[tau - 1] if tau > 0 else batch
        d_h_next = _view(dh_bufs[1 - cur], n_blocks, width, m, 0)
        t1, d_src = _view(t1_buf, n_blocks, width, m, 0), _view(d_src_buf, n_blocks, w_in, m, 0)
        dp, dg = _view(dp_buf, n_blocks, gw, m, 0), _view(dg_buf, n_blocks, gw, m, 0)
        rows_now = d_rows.narrow(0, (lag + tau) * n_rows, n_rows).narrow(1, 0, m)
        d_h.add_(torch.index_select(rows_now, 0, out_rows, out=t1.view(-1, m)).view_as(d_h))
        masked = tau < n_layers - 1
        if tau > 0:
            h_prev = _chunk(hs, offsets, True, tau - 1, n_blocks, width, m_prev).narrow(2, 0, m)
        else:
            h_prev = t1  # unused: the state before the first step is zero
        if is_gru:
            if masked:
                d_h.mul_(started[tau])
            rz = _chunk(acts, offsets, True, tau, n_blocks, w2, m)
            r, z = rz.narrow(1, 0, width), rz.narrow(1, width, width)
            n = _chunk(cand, offsets, True, tau, n_blocks, width, m)
            d_r, d_z, d_n = (
                _view(gate_bufs[0], n_blocks, width, m, 0),
                _view(gate_bufs[1], n_blocks, width, m, 0),
                _view(gate_bufs[2], n_blocks, width, m, 0),
            )
            torch.ops.aten.tanh_backward(torch.addcmul(d_h, d_h, z, value=-1.0, out=t1), n, grad_input=d_n)
            gh_n = _chunk(ghs, offsets, True, tau, n_blocks, gw, m).narrow(1, w2, width)
            torch.ops.aten.sigmoid_backward(torch.mul(d_n, gh_n, out=t1), r, grad_input=d_r)
            z_grad = torch.sub(h_prev, n, out=t1) if tau > 0 else torch.neg(n, out=t1)
            torch.ops.aten.sigmoid_backward(z_grad.mul_(d_h), z, grad_input=d_z)
            torch.cat([d_r, d_z, d_n], 1, out=dp)
            torch.cat([d_r, d_z, torch.mul(d_n, r, out=t1)], 1, out=dg)
            torch.mul(d_h, z, out=d_h_next).baddbmm_(w_hh_t, dg)
            sum_dg.add_(dg.sum(dim=2))
        else:
            if is_lstm:
                i_f = _chunk(acts, offsets, True, tau, n_blocks, w2, m)
                i, f = i_f.narrow(1, 0, width), i_f.narrow(1, width, width)
                g = _chunk(cand, offsets, True, tau, n_blocks, width, m)
                o = _chunk(outs, offsets, True, tau, n_blocks, width, m)
                tc = _chunk(tcs, offsets, True, tau, n_blocks, width, m)
                d_i, d_f = _view(gate_bufs[0], n_blocks, width, m, 0), _view(gate_bufs[1], n_blocks, width, m, 0)
                d_g, d_o = _view(gate_bufs[2], n_blocks, width, m, 0), _view(gate_bufs[3], n_blocks, width, m, 0)
                d_c.add_(torch.ops.aten.tanh_backward(torch.mul(d_h, o, out=t1), tc, grad_input=t1))
                if masked:
                    d_c.mul_(started[tau])
                torch.ops.aten.sigmoid_backward(torch.mul(d_c, g, out=t1), i, grad_input=d_i)
                if tau > 0:
                    c_prev = _chunk(cs, offsets, True, tau - 1, n_blocks, width, m_prev).narrow(2, 0, m)
                    torch.ops.aten.sigmoid_backward(torch.mul(d_c, c_prev, out=t1), f, grad_input=d_f)
                else:
                    d_f.zero_()
                torch.ops.aten.tanh_backward(torch.mul(d_c, i, out=t1), g, grad_input=d_g)
                torch.ops.aten.sigmoid_backward(torch.mul(d_h, tc, out=t1), o, grad_input=d_o)
                torch.cat([d_i, d_f, d_g, d_o], 1, out=dp)
                d_c.mul_(f)
            else:
                if masked:
                    d_h.mul_(started[tau])
                h_now = _chunk(hs, offsets, True, tau, n_blocks, width, m)
                if cell == "rnn_tanh":
                    torch.ops.aten.tanh_backward(d_h, h_now, grad_input=dp)
                else:
                    torch.ops.aten.threshold_backward(d_h, h_now, 0.0, grad_input=dp)
            torch.bmm(w_hh_t, dp, out=d_h_next)
        window = (
            win_buf.narrow(0, 0, lag * n_rows * m).view(lag * n_rows, m).zero_()
        )  # contiguous: index_add_ is slow on slices
        window.index_add_(0, src_base, torch.bmm(w_ih_t, dp, out=d_src).view(-1, m))
        d_rows.narrow(0, tau * n_rows, lag * n_rows).narrow(1, 0, m).add_(window)
        d_w_ih_t.baddbmm_(_chunk(srcs, offsets, True, tau, n_blocks, w_in, m), dp.transpose(1, 2))
        if tau > 0:  # the state before the first step is zero
            d_w_hh_t.baddbmm_(h_prev, dg.transpose(1, 2))
        if tau < n_time:
            d_emb[tau].narrow(1, 0, m).copy_(dp[k0])
        d_h, cur, m_next = d_h_next, 1 - cur, m  # d_h_next becomes the next (earlier) step's d_h


def _script(fn):
    """``torch.jit.script(fn)``, or None (with a warning) where TorchScript cannot compile it."""
    try:
        with warnings.catch_warnings():  # torch 2.13 marks TorchScript deprecated; the Python fallback stays exact
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            return torch.jit.script(fn)
    except Exception as error:  # noqa: BLE001  (TorchScript raises many types; plain Python computes the same)
        warnings.warn(
            f"TorchScript unavailable for {fn.__name__} ({type(error).__name__}: {error}); "
            "the fused recurrence runs as plain Python (same results, slower)",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


#: Which implementation of the time loops runs (see :func:`time_loops`); may be set, e.g. by a benchmark.
loop_implementation = "numba"
_SCRIPTED: list = []  # the TorchScript loops, compiled on first use (about a second), or [None, None]
_WARNED: list = []  # whether the missing-Numba warning was given
IMPLEMENTATIONS = ("numba", "torchscript", "python")


def resolved_loop_implementation(implementation: str | None = None) -> str:
    """The implementation :func:`time_loops` runs for ``implementation`` (default :data:`loop_implementation`).

    ``"numba"`` where Numba is missing resolves to ``"torchscript"``, and
    ``"torchscript"`` where TorchScript cannot compile the loops to
    ``"python"`` (each with a warning, once).

    Raises
    ------
    ValueError
        For a name not in :data:`IMPLEMENTATIONS`.
    """
    name = implementation or loop_implementation
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"unknown time-loop implementation {name!r}: use one of {', '.join(IMPLEMENTATIONS)}")
    if name == "numba":
        if wavefront_kernels.loops() is not None:
            return name
        if not _WARNED:
            _WARNED.append(True)
            warnings.warn(
                "numba is not installed: the fused recurrence runs its TorchScript loops (same results, "
                "slower); `pip install numba` for the compiled kernels",
                RuntimeWarning,
                stacklevel=2,
            )
        name = "torchscript"
    if name == "torchscript":
        if not _SCRIPTED:
            _SCRIPTED.extend([_script(_forward_steps), _script(_backward_steps)])
        if None not in _SCRIPTED:
            return name
    return "python"


def time_loops(implementation: str | None = None) -> tuple:
    """The ``(forward, backward)`` time loops of :class:`WavefrontRecurrence`.

    Parameters
    ----------
    implementation : {"numba", "torchscript", "python"}, optional
        Default :data:`loop_implementation`. ``"numba"`` runs the compiled
        kernels of :mod:`nasprior.networks.wavefront_kernels` (whose backward
        loop takes the untransposed weights and the parameter positions);
        ``"torchscript"`` compiles :func:`_forward_steps` and
        :func:`_backward_steps` on first use; ``"python"`` runs them as
        plain Python. Where one is unavailable the next runs, with a
        warning (:func:`resolved_loop_implementation`). TorchScript and
        Python compute the same numbers; Numba's agree to about 1e-6.

    Raises
    ------
    ValueError
        For another implementation name.
    """
    name = resolved_loop_implementation(implementation)
    if name == "numba":
        return wavefront_kernels.loops()
    if name == "torchscript":
        return tuple(_SCRIPTED)
    return _forward_steps, _backward_steps
