"""Compiled (Numba) time loops of the fused wavefront recurrence.

The same two loops as :func:`nasprior.networks.wavefront._forward_steps`
and :func:`~nasprior.networks.wavefront._backward_steps`, over the same
buffers and layouts, written as explicit loops and compiled by Numba
(LLVM): every unit's gate arithmetic of a step is one pass over the
running strings instead of some fifteen tensor operations, and the
block-diagonal matmuls skip the zeros between a block's sub-layers
(weights that are exactly zero forward; padding positions, which are not
parameters, for the weight gradients). ``tanh`` and the sigmoid use a
rational approximation (:func:`fast_tanh`, absolute error below 4e-7)
that LLVM vectorises. One thread; no Python between steps.

The kernels are compiled on first use (some seconds; cached on disk in the
package's ``__pycache__`` where writable). :func:`loops` returns wrappers
with the signatures of the TorchScript loops, or None where Numba is not
installed.
"""

from __future__ import annotations

import numpy as np
import torch

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency; the TorchScript loops remain
    njit = None

#: Cell names -> the integer codes the kernels take.
CELL_CODES = {"gru": 0, "lstm": 1, "rnn_tanh": 2, "rnn_relu": 3}

if njit is not None:
    _jit = njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
    _inline = njit(inline="always", fastmath=True, error_model="numpy")

    @_inline
    def fast_tanh(x):
        """``tanh(x)`` for a float32 scalar: a [13/6] rational approximation on [-9, 9] (Eigen's), error < 4e-7."""
        x = max(min(x, np.float32(9.0)), np.float32(-9.0))
        x2 = x * x
        p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
        p = p * x2 + np.float32(-8.60467152213735e-11)
        p = p * x2 + np.float32(5.12229709037114e-08)
        p = p * x2 + np.float32(1.48572235717979e-05)
        p = p * x2 + np.float32(6.37261928875436e-04)
        p = p * x2 + np.float32(4.89352455891786e-03)
        q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
        q = q * x2 + np.float32(2.26843463243900e-03)
        q = q * x2 + np.float32(4.89352518554385e-03)
        return p * x / q

    @_inline
    def fast_sigmoid(x):
        """``1 / (1 + exp(-x))`` as ``(1 + tanh(x / 2)) / 2`` with :func:`fast_tanh`."""
        return np.float32(0.5) + np.float32(0.5) * fast_tanh(np.float32(0.5) * x)

    @_jit
    def _matvec(w, b, src, out, m, accumulate):
        """``out[g, :m] (+)= sum_c w[b, g, c] * src[c, :m]`` for the rows g of ``out`` (2-D views); zero weights skipped."""
        for g in range(out.shape[0]):
            o = out[g]
            if not accumulate:
                for j in range(m):
                    o[j] = 0.0
            for c in range(src.shape[0]):
                wv = w[b, g, c]
                if wv != 0.0:
                    a = src[c]
                    for j in range(m):
                        o[j] += wv * a[j]

    @_jit
    def _weight_grad(real, b, inputs, grads, m, out):
        """``out[b, c, g] += <inputs[c, :m], grads[g, :m]>`` where ``real[b, g, c]`` (a parameter sits there)."""
        for c in range(inputs.shape[0]):
            a = inputs[c]
            for g in range(grads.shape[0]):
                if real[b, g, c]:
                    p = grads[g]
                    acc = np.float32(0.0)
                    for j in range(m):
                        acc += a[j] * p[j]
                    out[b, c, g] += acc

    @_jit
    def forward_kernel(
        cell,
        table,
        ids,
        w_ih,
        w_hh,
        b_hh,
        started,
        src_rows,
        out_rows,
        n_active,
        offsets,
        per_step,
        n_rows,
        lag,
        n_layers,
        k0,
        ys_all,
        hs,
        srcs,
        acts,
        cand,
        outs,
        ghs,
        cs,
        tcs,
    ):
        """The forward time loop (see :func:`nasprior.networks.wavefront._forward_steps`); all arrays NumPy, flat per-step buffers.

        Every inner loop runs over a 1-D view (``row[j]``): indices like
        ``base + j`` keep Numba's negative-index checks and stop LLVM
        from vectorising (13x slower, measured).
        """
        n_blocks, gw, w_in = w_ih.shape
        width = w_hh.shape[2]
        n_time, batch = ids.shape[0], ys_all.shape[1]
        gi_buf = np.empty(gw * batch, dtype=ys_all.dtype)
        zeros = np.zeros((width, batch), dtype=ys_all.dtype)  # the state before the first step
        one = np.float32(1.0)
        m_prev = batch
        for tau in range(n_active.shape[0]):
            m = n_active[tau]
            slot = tau if per_step else tau % 2
            prev = (tau - 1 if per_step else (tau - 1) % 2) if tau > 0 else 0
            y0 = 1 + (lag + tau) * n_rows  # the step's slot in ys_all
            for r in range(n_rows):
                y = ys_all[y0 + r]
                for j in range(m):
                    y[j] = 0.0
            masked = tau < n_layers - 1
            for b in range(n_blocks):
                src = srcs[offsets[slot] * w_in + b * w_in * m :][: w_in * m].reshape((w_in, m))
                for c in range(w_in):  # gather the block's inputs from the history
                    d, a = src[c], ys_all[src_rows[tau, b * w_in + c]]
                    for j in range(m):
                        d[j] = a[j]
                gi = gi_buf[: gw * m].reshape((gw, m))
                _matvec(w_ih, b, src, gi, m, False)
                if tau < n_time and b == k0:  # layer 0's input gates: a column of the table per character
                    x = ids[tau]
                    for g in range(gw):
                        d, t = gi[g], table[g]
                        for j in range(m):
                            d[j] += t[x[j]]
                if tau > 0:  # the block's previous state
                    h_prev = hs[offsets[prev] * width + b * width * m_prev :][: width * m_prev].reshape((width, m_prev))
                else:
                    h_prev = zeros
                h_new = hs[offsets[slot] * width + b * width * m :][: width * m].reshape((width, m))
                if cell == 0:  # GRU: gh = w_hh h + b_hh, kept for the backward pass
                    gh = ghs[offsets[slot] * gw + b * gw * m :][: gw * m].reshape((gw, m))
                    for g in range(gw):
                        d, bias = gh[g], b_hh[b, g, 0]
                        for j in range(m):
                            d[j] = bias
                    if tau > 0:
                        _matvec(w_hh, b, h_prev, gh, m, True)
                    rz = acts[offsets[slot] * 2 * width + b * 2 * width * m :][: 2 * width * m].reshape((2 * width, m))
                    nn = cand[offsets[slot] * width + b * width * m :][: width * m].reshape((width, m))
                    for u in range(width):
                        keep = started[tau, b, u, 0] if masked else one
                        gi_r, gi_z, gi_n = gi[u], gi[width + u], gi[2 * width + u]
                        gh_r, gh_z, gh_n = gh[u], gh[width + u], gh[2 * width + u]
                        r_o, z_o, n_o, h_o, hp = rz[u], rz[width + u], nn[u], h_new[u], h_prev[u]
                        for j in range(m):
                            r = fast_sigmoid(gi_r[j] + gh_r[j])
                            z = fast_sigmoid(gi_z[j] + gh_z[j])
                            n = fast_tanh(gi_n[j] + r * gh_n[j])
                            r_o[j] = r
                            z_o[j] = z
                            n_o[j] = n
                            h_o[j] = (n + z * (hp[j] - n)) * keep
                else:
                    if tau > 0:
                        _matvec(w_hh, b, h_prev, gi, m, True)
                    if cell == 1:  # LSTM
                        i_f = acts[offsets[slot] * 2 * width + b * 2 * width * m :][: 2 * width * m].reshape(
                            (2 * width, m)
                        )
                        u0 = offsets[slot] * width + b * width * m
                        gg = cand[u0:][: width * m].reshape((width, m))
                        oo = outs[u0:][: width * m].reshape((width, m))
                        c_new = cs[u0:][: width * m].reshape((width, m))
                        tc = tcs[u0:][: width * m].reshape((width, m))
                        if tau > 0:
                            c_prev = cs[offsets[prev] * width + b * width * m_prev :][: width * m_prev].reshape(
                                (width, m_prev)
                            )
                        else:
                            c_prev = zeros
                        for u in range(width):
                            keep = started[tau, b, u, 0] if masked else one
                            gi_i, gi_f, gi_g, gi_o = gi[u], gi[width + u], gi[2 * width + u], gi[3 * width + u]
                            i_o, f_o, g_o, o_o = i_f[u], i_f[width + u], gg[u], oo[u]
                            c_o, tc_o, h_o, cp = c_new[u], tc[u], h_new[u], c_prev[u]
                            for j in range(m):
                                i = fast_sigmoid(gi_i[j])
                                f = fast_sigmoid(gi_f[j])
                                g_ = fast_tanh(gi_g[j])
                                o = fast_sigmoid(gi_o[j])
                                c = (f * cp[j] + i * g_) * keep
                                t = fast_tanh(c)
                                i_o[j] = i
                                f_o[j] = f
                                g_o[j] = g_
                                o_o[j] = o
                                c_o[j] = c
                                tc_o[j] = t
                                h_o[j] = o * t
                    else:
                        for u in range(width):
                            keep = started[tau, b, u, 0] if masked else one
                            a, h_o = gi[u], h_new[u]
                            if cell == 2:
                                for j in range(m):
                                    h_o[j] = fast_tanh(a[j]) * keep
                            else:
                                for j in range(m):
                                    h_o[j] = max(a[j], np.float32(0.0)) * keep
                for u in range(width):  # sum the block's units into their layers' rows of the history
                    y, h = ys_all[y0 + out_rows[b * width + u]], h_new[u]
                    for j in range(m):
                        y[j] += h[j]
            m_prev = m

    @_jit
    def backward_kernel(
        cell,
        d_rows,
        w_ih,
        w_hh,
        real_ih,
        real_hh,
        started,
        out_rows,
        src_base,
        n_active,
        offsets,
        n_rows,
        lag,
        n_layers,
        k0,
        n_time,
        batch,
        hs,
        srcs,
        acts,
        cand,
        outs,
        ghs,
        cs,
        tcs,
        ids,
        d_w_ih_t,
        d_w_hh_t,
        sum_dg,
        d_table,
    ):
        """The backward time loop (see :func:`nasprior.networks.wavefront._backward_steps`); all arrays NumPy.

        ``w_ih`` (blocks, gw, w_in) and ``w_hh`` (blocks, gw, width) are the
        weights as in the forward pass (not transposed); ``real_ih`` and
        ``real_hh`` mark the positions that hold a parameter (gradients are
        computed there only; elsewhere they stay zero).
        """
        n_blocks, gw, w_in = w_ih.shape
        width = w_hh.shape[2]
        d_h_all = np.zeros((n_blocks * width, batch), dtype=d_rows.dtype)  # columns >= m stay zero (m grows backwards)
        d_c_all = np.zeros((n_blocks * width, batch), dtype=d_rows.dtype)
        dp_buf = np.empty(gw * batch, dtype=d_rows.dtype)  # the pre-activations' gradient
        dg_buf = np.empty(gw * batch, dtype=d_rows.dtype)  # as seen by w_hh (GRU: the n part times r)
        zeros = np.zeros((width, batch), dtype=d_rows.dtype)
        zero = np.float32(0.0)
        one = np.float32(1.0)
        for tau in range(n_active.shape[0] - 1, -1, -1):
            m = n_active[tau]
            m_prev = n_active[tau - 1] if tau > 0 else batch
            masked = tau < n_layers - 1
            now = (lag + tau) * n_rows
            for b in range(n_blocks):
                d_h = d_h_all[b * width : (b + 1) * width]
                dp = dp_buf[: gw * m].reshape((gw, m))
                dg = dg_buf[: gw * m].reshape((gw, m))
                u0 = offsets[tau] * width + b * width * m
                if tau > 0:
                    h_prev = hs[offsets[tau - 1] * width + b * width * m_prev :][: width * m_prev].reshape(
                        (width, m_prev)
                    )
                else:
                    h_prev = zeros
                for u in range(width):
                    dh_row, add = d_h[u], d_rows[now + out_rows[b * width + u]]
                    for j in range(m):
                        dh_row[j] += add[j]
                if cell == 0:
                    rz = acts[offsets[tau] * 2 * width + b * 2 * width * m :][: 2 * width * m].reshape((2 * width, m))
                    nn = cand[u0:][: width * m].reshape((width, m))
                    gh = ghs[offsets[tau] * gw + b * gw * m :][: gw * m].reshape((gw, m))
                    for u in range(width):
                        keep = started[tau, b, u, 0] if masked else one
                        dh_row, r_, z_, n_, ghn, hp = d_h[u], rz[u], rz[width + u], nn[u], gh[2 * width + u], h_prev[u]
                        p_r, p_z, p_n, g_n = dp[u], dp[width + u], dp[2 * width + u], dg[2 * width + u]
                        g_r, g_z = dg[u], dg[width + u]
                        for j in range(m):
                            dh = dh_row[j] * keep
                            r = r_[j]
                            z = z_[j]
                            n = n_[j]
                            d_n = (dh - dh * z) * (one - n * n)
                            d_r = d_n * ghn[j] * r * (one - r)
                            d_z = (hp[j] - n) * dh * z * (one - z)
                            p_r[j] = d_r
                            p_z[j] = d_z
                            p_n[j] = d_n
                            g_r[j] = d_r
                            g_z[j] = d_z
                            g_n[j] = d_n * r
                            dh_row[j] = dh * z  # the direct path to the previous state
                elif cell == 1:
                    i_f = acts[offsets[tau] * 2 * width + b * 2 * width * m :][: 2 * width * m].reshape((2 * width, m))
                    gg = cand[u0:][: width * m].reshape((width, m))
                    oo = outs[u0:][: width * m].reshape((width, m))
                    tc = tcs[u0:][: width * m].reshape((width, m))
                    if tau > 0:
                        c_prev = cs[offsets[tau - 1] * width + b * width * m_prev :][: width * m_prev].reshape(
                            (width, m_prev)
                        )
                    else:
                        c_prev = zeros
                    d_c = d_c_all[b * width : (b + 1) * width]
                    for u in range(width):
                        keep = started[tau, b, u, 0] if masked else one
                        dh_row, dc_row, i_, f_, g__, o_, t_, cp = (
                            d_h[u],
                            d_c[u],
                            i_f[u],
                            i_f[width + u],
                            gg[u],
                            oo[u],
                            tc[u],
                            c_prev[u],
                        )
                        p_i, p_f, p_g, p_o = dp[u], dp[width + u], dp[2 * width + u], dp[3 * width + u]
                        for j in range(m):
                            i = i_[j]
                            f = f_[j]
                            g_ = g__[j]
                            o = o_[j]
                            t = t_[j]
                            dh = dh_row[j]
                            dc = (dc_row[j] + dh * o * (one - t * t)) * keep
                            p_i[j] = dc * g_ * i * (one - i)
                            p_f[j] = dc * cp[j] * f * (one - f)
                            p_g[j] = dc * i * (one - g_ * g_)
                            p_o[j] = dh * t * o * (one - o)
                            dc_row[j] = dc * f
                            dh_row[j] = zero
                    dg = dp
                else:
                    hh = hs[u0:][: width * m].reshape((width, m))
                    for u in range(width):
                        keep = started[tau, b, u, 0] if masked else one
                        dh_row, h_, p = d_h[u], hh[u], dp[u]
                        if cell == 2:
                            for j in range(m):
                                p[j] = dh_row[j] * keep * (one - h_[j] * h_[j])
                                dh_row[j] = zero
                        else:
                            for j in range(m):
                                p[j] = dh_row[j] * keep if h_[j] > zero else zero
                                dh_row[j] = zero
                    dg = dp
                # the state before this step: d_h (+)= w_hh^T dg
                for g in range(gw):
                    a = dg[g]
                    for u in range(width):
                        wv = w_hh[b, g, u]
                        if wv != 0.0:
                            d = d_h[u]
                            for j in range(m):
                                d[j] += wv * a[j]
                # the inputs' gradient, scattered to the history rows they were read from
                for c in range(w_in):
                    d = d_rows[tau * n_rows + src_base[b * w_in + c]]
                    for g in range(gw):
                        wv = w_ih[b, g, c]
                        if wv != 0.0:
                            a = dp[g]
                            for j in range(m):
                                d[j] += wv * a[j]
                # weight gradients (transposed, as the TorchScript loop keeps them), at parameter positions only
                src = srcs[offsets[tau] * w_in + b * w_in * m :][: w_in * m].reshape((w_in, m))
                _weight_grad(real_ih, b, src, dp, m, d_w_ih_t)
                if tau > 0:
                    _weight_grad(real_hh, b, h_prev, dg, m, d_w_hh_t)
                if cell == 0:
                    for g in range(gw):
                        p = dg[g]
                        acc = zero
                        for j in range(m):
                            acc += p[j]
                        sum_dg[b, g] += acc
                if tau < n_time and b == k0:
                    x = ids[tau]
                    for g in range(gw):
                        d, p = d_table[g], dp[g]
                        for j in range(m):
                            d[x[j]] += p[j]


def _np(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor (no copy where it is contiguous)."""
    return t.detach().contiguous().numpy()


def _forward_steps(
    cell: str,
    table: torch.Tensor,
    ids: torch.Tensor,
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
    """:func:`forward_kernel` on tensors (writes in place).

    The arguments of :func:`nasprior.networks.wavefront._forward_steps`,
    except that layer 0's input gates come as ``table`` (gates*width,
    vocabulary), the gates of each character, and ``ids`` (n_time, batch),
    the characters, instead of the (n_time, gates*width, batch) gates
    themselves (which would be a large fresh tensor every batch).
    """
    _, _, _, n_rows, lag, n_layers, k0 = shape
    gw = w_ih.shape[1]
    if b_hh.numel() == 0:
        b_hh = w_ih.new_zeros(w_ih.shape[0], gw, 1)
    bufs = [_np(t) for t in (hs, srcs, acts, cand, outs, ghs, cs, tcs)]
    forward_kernel(
        CELL_CODES[cell],
        _np(table),
        _np(ids),
        _np(w_ih),
        _np(w_hh),
        _np(b_hh),
        _np(started),
        _np(src_rows),
        _np(out_rows),
        np.asarray(n_active, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        per_step,
        n_rows,
        lag,
        n_layers,
        k0,
        ys_all.numpy(),
        *bufs,
    )


def _backward_steps(
    cell: str,
    d_rows: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    real_ih: torch.Tensor,
    real_hh: torch.Tensor,
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
    ids: torch.Tensor,
    d_w_ih_t: torch.Tensor,
    d_w_hh_t: torch.Tensor,
    sum_dg: torch.Tensor,
    d_table: torch.Tensor,
) -> None:
    """:func:`backward_kernel` on tensors (accumulates into ``d_rows``, ``d_w_ih_t``, ``d_w_hh_t``, ``sum_dg``, ``d_table``).

    ``w_ih``/``w_hh`` are not transposed here (unlike the TorchScript
    loop's ``w_ih_t``/``w_hh_t``); ``ids`` and ``d_table`` (gates*width,
    vocabulary) as in :func:`_forward_steps`.
    """
    _, _, _, n_rows, lag, n_layers, k0 = shape
    if sum_dg.numel() == 0:
        sum_dg = w_ih.new_zeros(w_ih.shape[0], w_ih.shape[1])
    bufs = [_np(t) for t in (hs, srcs, acts, cand, outs, ghs, cs, tcs)]
    backward_kernel(
        CELL_CODES[cell],
        d_rows.numpy(),
        _np(w_ih),
        _np(w_hh),
        _np(real_ih),
        _np(real_hh),
        _np(started),
        _np(out_rows),
        _np(src_base),
        np.asarray(n_active, dtype=np.int64),
        np.asarray(offsets, dtype=np.int64),
        n_rows,
        lag,
        n_layers,
        k0,
        n_time,
        batch,
        *bufs,
        _np(ids),
        d_w_ih_t.numpy(),
        d_w_hh_t.numpy(),
        sum_dg.numpy(),
        d_table.numpy(),
    )


def loops() -> tuple | None:
    """``(forward, backward)`` wrappers of the Numba kernels, or None where Numba is not installed."""
    if njit is None:
        return None
    return _forward_steps, _backward_steps
