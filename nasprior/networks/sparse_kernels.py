"""Compiled (Numba) CSR kernels of :class:`~nasprior.networks.sparse.SparseLinear` on the CPU.

The layer works on transposed activations, (features, batch) with the batch
contiguous, so every present weight is one vectorised pass over the batch:

* forward ``y^T[o] = sum_k w_k x^T[col_k]`` over the row ``o`` of the CSR
  pattern (:func:`csr_rows_times`);
* input gradient, the same over the transposed pattern;
* weight gradient ``dw_k = <g^T[o], x^T[col_k]>`` (:func:`csr_sampled_dots`).

The values stay in slot order (see :class:`~nasprior.networks.sparse.SparseLinear`);
``order`` maps CSR positions to slots, so nothing is gathered per batch.
One thread; compiled on first use and cached on disk where writable.
:data:`AVAILABLE` is False where Numba is not installed (torch's CSR
kernels run instead).
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a dependency
    njit = None

AVAILABLE = njit is not None

if AVAILABLE:
    _jit = njit(cache=True, fastmath=True, error_model="numpy", nogil=True)

    @_jit
    def csr_rows_times(crow, col, order, values, dense_t, bias, out_t):
        """``out_t[r] = bias[r] + sum_{k in row r} values[order[k]] * dense_t[col[k]]`` for every row r of the pattern.

        ``dense_t`` (n_cols, batch) and ``out_t`` (n_rows, batch), C-contiguous;
        ``bias`` (n_rows,), or empty for none.
        """
        batch = dense_t.shape[1]
        has_bias = bias.shape[0] > 0
        for r in range(out_t.shape[0]):
            o = out_t[r]
            start = bias[r] if has_bias else 0.0
            for j in range(batch):
                o[j] = start
            for k in range(crow[r], crow[r + 1]):
                w = values[order[k]]
                a = dense_t[col[k]]
                for j in range(batch):
                    o[j] += w * a[j]

    @_jit
    def csr_sampled_dots(crow, col, order, left_t, right_t, out):
        """``out[order[k]] = <left_t[r], right_t[col[k]]>`` for every entry k (row r) of the pattern (a sampled product)."""
        batch = left_t.shape[1]
        for r in range(left_t.shape[0]):
            g = left_t[r]
            for k in range(crow[r], crow[r + 1]):
                a = right_t[col[k]]
                acc = np.float32(0.0)  # the values' precision (float64 inputs promote it)
                for j in range(batch):
                    acc += g[j] * a[j]
                out[order[k]] = acc
