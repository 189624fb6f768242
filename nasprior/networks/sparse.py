"""Real sparse kernels: a linear layer that stores only its present weights (CSR) and never builds the dense matrix.

:class:`~nasprior.networks.layers.MaskedLinear` multiplies a dense weight by a
mask, so a 2%-dense layer costs as much as a dense one. :class:`SparseLinear`
keeps the present weights as a dense vector parameter ``values`` (one entry
per connection) and the connectivity as compressed-sparse-row (CSR) indices;
the forward pass is a CSR product with the input, the input gradient a CSR
product with the transposed pattern, and the weight gradient a sampled
dense-dense product, so neither pass touches ``n_out * n_in`` memory. On a
CPU these run as compiled kernels (:mod:`nasprior.networks.sparse_kernels`,
Numba) on transposed activations, one vectorised pass over the batch per
connection; elsewhere (CUDA, or without Numba, or with
:data:`use_compiled_kernels` off) as torch's ``torch.sparse.mm`` and
``torch.sparse.sampled_addmm``. Measured with
``benchmarks/bench_sparse_layers.py`` on 3072->1024, batch 128, one thread
(2026-12-01, two runs): a training step 4.8-5.3x faster than masked dense
at 5% density and 13.8-15.4x at 1%, against 3.2x and 7.7-11.7x with torch's
kernels in the same runs. Memory is proportional to the
non-zeros: 4 bytes per value plus 24 bytes of int64 indices (row pattern,
transposed pattern and its permutation) per connection, plus the optimiser's
state of the values.

Because the parameter is an ordinary dense vector, every torch optimiser
works on it: SGD with momentum and Adam/AdamW keep their state per
connection (a CSR tensor *as* the parameter trains with SGD only; Adam refuses
that layout). Connections live in stable *slots* of ``values``: SET rewiring
(:func:`nasprior.sparsity.set_rewiring.set_step`) moves a removed slot's connection to
its regrown position, so the optimiser state of every kept weight stays with
it; ``order`` maps CSR positions to slots. Pruning
(:meth:`SparseLinear.remove_positions`) shrinks ``values`` to a new parameter:
create the optimiser after pruning, as :func:`nasprior.sparsity.pruning.prune_iteratively`
callers do.

When it is used: :func:`use_sparse_kernel` picks it for a layer of the
layered mapping whose density is at most :data:`SPARSE_MAX_DENSITY` and which
has at least :data:`SPARSE_MIN_WEIGHTS` possible weights; everything else
stays a masked dense layer. Both thresholds come from
``benchmarks/bench_sparse_layers.py`` (one torch thread, batch 128, a quiet
2-core machine, torch 2.13): on 3072->1024 a training step was 2.75x faster
than masked dense at 10% density, 3.45x at 5%, 10.6x at 2% and 11.9x at 1%
(2.2x, 3.7x, 6.5x and 7.8x on 1024->1024); on 256x256 it gained at most 1.7x
in training and was no faster for inference, and the masked layer keeps such
small runs (the digits task) byte-identical to earlier versions. A CSR
tensor as the parameter with ``torch.sparse.addmm`` was 10-20% faster still
in that benchmark, but trains with SGD only; ``SparseLinear`` keeps every
optimiser.

The mask is not stored: :attr:`SparseLinear.mask` builds a dense boolean
tensor on demand (for features, NNSTD and saving masks); writing to it
changes nothing.

References
----------
.. [Mocanu2018] D. C. Mocanu et al., "Scalable training of artificial neural
   networks with adaptive sparse connectivity inspired by network science",
   Nature Communications 9, 2383, 2018 (sparse storage for SET-MLPs).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import nn

from . import sparse_kernels

#: Densities at or below which a large layered-mapping layer uses :class:`SparseLinear` (measured, see module doc).
SPARSE_MAX_DENSITY = 0.1
#: Possible weights (``n_out * n_in``) from which a layer may use :class:`SparseLinear` (smaller ones stay masked).
SPARSE_MIN_WEIGHTS = 2**18

# torch prints a "beta" warning on the first CSR tensor; the kernels here are covered by nasprior's tests.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")


def use_sparse_kernel(mask: np.ndarray | torch.Tensor, mode: str | bool = "auto") -> bool:
    """Whether a layer with this mask should be a :class:`SparseLinear`.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
    mode : {"auto", True, False}
        ``"auto"``: density <= :data:`SPARSE_MAX_DENSITY` and at least
        :data:`SPARSE_MIN_WEIGHTS` possible weights; True / False force it.
    """
    if mode is True or mode is False:
        return mode
    mask = np.asarray(mask, dtype=bool)
    return mask.size >= SPARSE_MIN_WEIGHTS and mask.sum() <= SPARSE_MAX_DENSITY * mask.size


def _csr_pattern(rows: torch.Tensor, cols: torch.Tensor, n_rows: int) -> torch.Tensor:
    """CSR row pointers (n_rows + 1,) of entries sorted by row."""
    counts = torch.bincount(rows, minlength=n_rows)
    return torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])


def _compiled(x: torch.Tensor, values: torch.Tensor) -> bool:
    """Whether the Numba kernels (:mod:`nasprior.networks.sparse_kernels`) run for these tensors: CPU, float32/64."""
    return (
        sparse_kernels.AVAILABLE
        and use_compiled_kernels
        and x.device.type == "cpu"
        and x.dtype == values.dtype
        and x.dtype in (torch.float32, torch.float64)
    )


#: Whether :class:`SparseLinear` runs the compiled CPU kernels where it can (torch's CSR kernels otherwise).
use_compiled_kernels = True


class _CompiledCSRLinear(torch.autograd.Function):
    """``y = x W^T`` by the compiled CSR kernels, on transposed activations (see :mod:`~nasprior.networks.sparse_kernels`).

    Returns ``y`` as the transpose of a contiguous (n_out, batch) tensor, so
    the next sparse layer reads its input without a copy.
    """

    @staticmethod
    def forward(ctx, x, values, bias, layer):  # x: (batch, n_in), values: (nnz,) in slot order, bias: (n_out,) or None
        x_t = x.detach().t().contiguous()  # (n_in, batch): free where x is itself a transposed layer output
        y_t = x.new_empty(layer.out_features, x.shape[0])
        b = bias.detach() if bias is not None else x.new_empty(0)
        sparse_kernels.csr_rows_times(
            layer.crow_indices.numpy(),
            layer.col_indices.numpy(),
            layer.order.numpy(),
            values.detach().numpy(),
            x_t.numpy(),
            b.numpy(),
            y_t.numpy(),
        )
        ctx.layer = layer
        ctx.save_for_backward(x_t, values)
        return y_t.t()

    @staticmethod
    def backward(ctx, grad_out):  # grad_out: (batch, n_out)
        layer = ctx.layer
        x_t, values = ctx.saved_tensors
        g_t = grad_out.t().contiguous()  # (n_out, batch)
        grad_x = grad_values = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_x_t = g_t.new_empty(layer.in_features, g_t.shape[1])
            sparse_kernels.csr_rows_times(
                layer.t_crow_indices.numpy(),
                layer.t_col_indices.numpy(),
                layer.t_order.numpy(),
                values.detach().numpy(),
                g_t.numpy(),
                g_t.new_empty(0).numpy(),
                grad_x_t.numpy(),
            )
            grad_x = grad_x_t.t()
        if ctx.needs_input_grad[1]:
            grad_values = torch.empty_like(values)
            sparse_kernels.csr_sampled_dots(
                layer.crow_indices.numpy(),
                layer.col_indices.numpy(),
                layer.order.numpy(),
                g_t.numpy(),
                x_t.numpy(),
                grad_values.numpy(),
            )
        if ctx.needs_input_grad[2]:
            grad_bias = g_t.sum(dim=1)
        return grad_x, grad_values, grad_bias, None


class _CSRLinear(torch.autograd.Function):
    """``y = x W^T`` with ``W`` given by CSR indices and a values vector; gradients for ``x`` and the values."""

    @staticmethod
    def forward(ctx, x, values, layer):  # x: (batch, n_in), values: (nnz,) in slot order
        ctx.layer = layer
        ctx.save_for_backward(x, values)
        w = torch.sparse_csr_tensor(
            layer.crow_indices,
            layer.col_indices,
            values[layer.order],
            (layer.out_features, layer.in_features),
            check_invariants=False,
        )
        return torch.sparse.mm(w, x.t()).t()

    @staticmethod
    def backward(ctx, grad_out):  # grad_out: (batch, n_out)
        layer = ctx.layer
        x, values = ctx.saved_tensors
        grad_x = grad_values = None
        if ctx.needs_input_grad[0]:
            w_t = torch.sparse_csr_tensor(
                layer.t_crow_indices,
                layer.t_col_indices,
                values[layer.t_order],
                (layer.in_features, layer.out_features),
                check_invariants=False,
            )
            grad_x = torch.sparse.mm(w_t, grad_out.t()).t()
        if ctx.needs_input_grad[1]:
            pattern = torch.sparse_csr_tensor(
                layer.crow_indices,
                layer.col_indices,
                values.new_zeros(values.shape[0]),
                (layer.out_features, layer.in_features),
                check_invariants=False,
            )
            csr_grad = torch.sparse.sampled_addmm(pattern, grad_out.t(), x, beta=0.0).values()
            grad_values = torch.empty_like(values)
            grad_values[layer.order] = csr_grad
        return grad_x, grad_values, None


class SparseLinear(nn.Module):
    """Linear layer ``y = x W^T + b`` whose weight ``W`` holds only the connections of a mask (CSR kernels).

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
        ``mask[j, i]`` is True when input ``i`` feeds output ``j``.
    bias : bool
        Whether to add a bias per output unit.
    gain : float
        Initialisation gain: present weights of unit ``j`` are drawn from
        ``N(0, gain**2 / fan_in_j)`` with its real fan-in, as
        :func:`~nasprior.networks.sparse_init_` does (the draws differ from a
        masked layer's, which draws a dense matrix).
    weight : torch.Tensor of shape (n_out, n_in), optional
        Take the present weights from this dense tensor instead of drawing
        them (e.g. to convert a :class:`~nasprior.networks.MaskedLinear`).

    Attributes
    ----------
    values : torch.nn.Parameter of shape (nnz,)
        The present weights, in slot order.
    bias : torch.nn.Parameter of shape (n_out,) or None

    Raises
    ------
    ValueError
        If ``mask`` is not 2-d, or ``weight`` has another shape.

    Notes
    -----
    Input (batch, n_in) gives output (batch, n_out). CPU and CUDA tensors
    (torch's CSR kernels).
    """

    def __init__(
        self,
        mask: np.ndarray | torch.Tensor,
        bias: bool = True,
        gain: float = math.sqrt(2.0),
        weight: torch.Tensor | None = None,
    ):
        super().__init__()
        mask_t = torch.as_tensor(np.asarray(mask, dtype=bool))
        if mask_t.ndim != 2:
            raise ValueError(f"mask must be 2-d (n_out, n_in), got shape {tuple(mask_t.shape)}")
        if weight is not None and tuple(weight.shape) != tuple(mask_t.shape):
            raise ValueError(
                f"weight has shape {tuple(weight.shape)} but the mask {tuple(mask_t.shape)}: give matching shapes"
            )
        self.register_buffer("shape", torch.tensor(mask_t.shape, dtype=torch.long))
        rows, cols = torch.nonzero(mask_t, as_tuple=True)  # row-major: CSR order
        for name in ("crow_indices", "col_indices", "order", "t_crow_indices", "t_col_indices", "t_order"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.long))
        if weight is not None:
            values = weight.detach()[rows, cols].clone().float()
        else:
            fan_in = mask_t.sum(dim=1).clamp(min=1).to(torch.float32)
            values = torch.randn(len(rows)) * (gain / fan_in.sqrt())[rows]
        self.values = nn.Parameter(values)
        self.bias = nn.Parameter(torch.zeros(mask_t.shape[0])) if bias else None
        self._set_pattern(rows * mask_t.shape[1] + cols, torch.arange(len(rows)))

    # -- structure -------------------------------------------------------------------
    @property
    def in_features(self) -> int:
        """Number of inputs ``n_in``."""
        return int(self.shape[1])

    @property
    def out_features(self) -> int:
        """Number of outputs ``n_out``."""
        return int(self.shape[0])

    @torch.no_grad()
    def _set_pattern(self, slot_positions: torch.Tensor, slots: torch.Tensor) -> None:
        """Rebuild the CSR indices from the flat position of each slot (``slot_positions[i]`` holds slot ``slots[i]``)."""
        n_out, n_in = self.out_features, self.in_features
        device = self.values.device
        slot_positions, slots = slot_positions.to(device), slots.to(device)
        by_row = torch.argsort(slot_positions)
        positions = slot_positions[by_row]
        rows, cols = positions // n_in, positions % n_in
        self.crow_indices = _csr_pattern(rows, cols, n_out)
        self.col_indices = cols.contiguous()
        self.order = slots[by_row].contiguous()  # CSR position -> slot
        by_col = torch.argsort(cols * n_out + rows)
        self.t_crow_indices = _csr_pattern(cols[by_col], rows[by_col], n_in)
        self.t_col_indices = rows[by_col].contiguous()
        self.t_order = self.order[by_col].contiguous()

    def present_positions(self) -> torch.Tensor:
        """Flat positions ``row * n_in + col`` of the present weights, ascending (int64, shape (nnz,))."""
        rows = torch.repeat_interleave(
            torch.arange(self.out_features, device=self.col_indices.device), self.crow_indices.diff()
        )
        return rows * self.in_features + self.col_indices

    def present_weights(self) -> torch.Tensor:
        """The present weights in the order of :meth:`present_positions` (shape (nnz,), detached)."""
        return self.values.detach()[self.order]

    @torch.no_grad()
    def remove_positions(self, flat_positions: torch.Tensor) -> None:
        """Remove the connections at these flat positions (pruning); ``values`` becomes a new, shorter parameter."""
        positions = self.present_positions()
        keep = ~torch.isin(positions, flat_positions.to(positions.device))
        kept_values = self.values.detach()[self.order][keep].clone()
        self.values = nn.Parameter(kept_values)
        self._set_pattern(positions[keep], torch.arange(int(keep.sum()), device=positions.device))

    @torch.no_grad()
    def move_slots(self, slots: torch.Tensor, new_positions: torch.Tensor, new_values: torch.Tensor) -> None:
        """Move the connections of ``slots`` to ``new_positions`` with ``new_values`` (SET rewiring), in place.

        The number of connections and every other slot (and its optimiser
        state) are unchanged.
        """
        slot_positions = torch.empty_like(self.order)
        slot_positions[self.order] = self.present_positions()
        slot_positions[slots] = new_positions.to(slot_positions.device)
        self.values[slots] = new_values.to(self.values.dtype)
        self._set_pattern(slot_positions, torch.arange(len(slot_positions), device=slot_positions.device))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept a state with another number of connections (a pruned layer): resize before loading."""
        values = state_dict.get(prefix + "values")
        if values is not None and values.shape != self.values.shape:
            self.values = nn.Parameter(torch.empty_like(values, device=self.values.device))
        for name in ("crow_indices", "col_indices", "order", "t_crow_indices", "t_col_indices", "t_order"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name], device=self.values.device))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- the layer ------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer: (batch, n_in) -> (batch, n_out)."""
        if _compiled(x, self.values):  # the bias is added in the kernel
            return _CompiledCSRLinear.apply(x, self.values, self.bias, self)
        y = _CSRLinear.apply(x, self.values, self)
        return y + self.bias if self.bias is not None else y

    def apply_mask(self) -> None:
        """Nothing to do: absent weights are not stored (kept for the masked-layer interface)."""

    @property
    def mask(self) -> torch.Tensor:
        """Dense boolean mask (n_out, n_in), built on demand (writing to it changes nothing)."""
        mask = torch.zeros(self.out_features * self.in_features, dtype=torch.bool, device=self.values.device)
        mask[self.present_positions()] = True
        return mask.view(self.out_features, self.in_features)

    @property
    def weight(self) -> torch.Tensor:
        """Dense weight (n_out, n_in), built on demand and detached (for inspection and tests)."""
        dense = torch.zeros(self.out_features * self.in_features, dtype=self.values.dtype, device=self.values.device)
        dense[self.present_positions()] = self.present_weights()
        return dense.view(self.out_features, self.in_features)

    @property
    def n_weights(self) -> int:
        """Number of present connections."""
        return int(self.values.numel())

    def extra_repr(self) -> str:
        density = self.n_weights / max(1, self.out_features * self.in_features)
        return (
            f"in={self.in_features}, out={self.out_features}, density={density:.4f}, "
            f"bias={self.bias is not None}, kernel=csr"
        )
