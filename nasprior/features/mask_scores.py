"""Data-free topology scores of layer masks (Bourely et al. 2017; Robinett & Kepner 2018).

Per-layer spectral gap of the biadjacency matrix and algebraic connectivity
of the bipartite graph (Bourely, Boueri & Choromanski 2017), and the
uniformity of the input-to-output path counts (RadiX-Nets are perfectly
uniform), computed from a network's masks without any data
(:func:`topology_scores`, :func:`network_topology_scores`).

References
----------
.. [Bourely2017] A. Bourely, J. P. Boueri and K. Choromanski, "Sparse neural
   networks topologies", arXiv:1706.05683, 2017.
.. [Robinett2018] R. A. Robinett and J. Kepner, "RadiX-Net: Structured sparse
   matrices for deep neural networks", arXiv:1905.00416 (IPDPSW 2019).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackError, LinearOperator, eigsh, splu, svds

#: Names of the scores of :func:`topology_scores`, in order.
TOPOLOGY_SCORE_NAMES = (
    "layer_spectral_gap_mean",
    "layer_spectral_gap_min",
    "layer_algebraic_connectivity_mean",
    "layer_algebraic_connectivity_min",
    "path_count_cv",
    "path_reach",
)

#: Largest matrix side (singular values) or node count (Laplacian) handled
#: with dense LAPACK; bigger ones go to ARPACK with a tight tolerance.
DENSE_LIMIT = 300
#: ARPACK tolerance. A loose one (1e-4) returned wrong Laplacian eigenvalues
#: (shared NOTES); 1e-10 matched dense ``eigvalsh`` to 1e-12 on 3,584 nodes.
ARPACK_TOL = 1e-10

# ---------------------------------------------------------------------------
# Data-free topology scores
# ---------------------------------------------------------------------------


def _as_bool(mask: Any) -> np.ndarray:
    if hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-d (n_out, n_in), got shape {mask.shape}")
    return mask


def singular_values(mask: Any, k: int = 2) -> np.ndarray:
    """The ``k`` largest singular values of a mask's biadjacency matrix, largest first.

    Dense LAPACK for small masks (``min(shape) <= DENSE_LIMIT``), ARPACK
    (:func:`scipy.sparse.linalg.svds`, tolerance :data:`ARPACK_TOL`) otherwise,
    falling back to dense LAPACK when ARPACK fails (it does on the highly
    repeated singular values of RadiX-Net layers).

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
    k : int
        Number of values; missing ones (rank-deficient small shapes) are 0.

    Returns
    -------
    numpy.ndarray of float64, shape (k,)
    """
    m = _as_bool(mask)
    if min(m.shape) <= max(DENSE_LIMIT, k):
        s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    else:
        v0 = np.random.default_rng(0).standard_normal(min(m.shape))
        try:
            s = svds(sp.csr_array(m, dtype=np.float64), k=k, tol=ARPACK_TOL, v0=v0, return_singular_vectors=False)
        except ArpackError:  # highly repeated singular values (RadiX-Net layers): exact dense answer
            s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    s = np.sort(np.abs(s))[::-1][:k]
    return np.pad(s, (0, k - len(s)))


def spectral_gap(mask: Any, normalized: bool = True) -> float:
    """Spectral gap of a bipartite layer: ``sigma_1 - sigma_2`` of its biadjacency matrix.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)
    normalized : bool
        Divide by ``sigma_1`` (default), giving a scale-free value in [0, 1]
        that compares layers of different widths and degrees: 0 for a
        disconnected layer of two equal blocks, 1 for a dense (rank-one)
        layer. This normalised value is what :func:`topology_scores` reports.

    Returns
    -------
    float
        0.0 for an empty mask.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017, Sec. 3 (expansion measured by
       the gap between the two largest singular values).
    """
    s1, s2 = singular_values(mask, 2)
    if s1 <= 0:
        return 0.0
    gap = s1 - s2
    return float(gap / s1) if normalized else float(gap)


def bipartite_laplacian(mask: Any) -> sp.csr_array:
    """Laplacian ``D - A`` of the bipartite graph of a mask.

    Nodes ``0 .. n_in - 1`` are the inputs and ``n_in .. n_in + n_out - 1``
    the outputs; ``A = [[0, M^T], [M, 0]]``.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)

    Returns
    -------
    scipy.sparse.csr_array of float64, shape (n_in + n_out, n_in + n_out)
    """
    m = sp.csr_array(_as_bool(mask), dtype=np.float64)
    adj = sp.bmat([[None, m.T], [m, None]], format="csr")
    degree = np.asarray(adj.sum(axis=1)).ravel()
    return (sp.diags_array(degree) - adj).tocsr()


def algebraic_connectivity(mask: Any) -> float:
    """Algebraic connectivity of a layer's bipartite graph: the second-smallest Laplacian eigenvalue.

    0 when the graph (all inputs and outputs of the layer, isolated units
    included) is disconnected, checked with
    :func:`scipy.sparse.csgraph.connected_components` first. Dense masks use
    the closed form of the complete bipartite graph ``K_{n_in, n_out}``
    (``min(n_in, n_out)``, or 2 for ``K_{1,1}``); graphs of at most
    :data:`DENSE_LIMIT` nodes use dense :func:`numpy.linalg.eigvalsh`; larger
    ones shift-invert ARPACK around -1 with a tight tolerance
    :data:`ARPACK_TOL` (a loose one returns wrong values; plain
    ``which="SM"``, networkx's "lanczos" method, returned a wrong value on a
    RadiX-Net layer). Matches dense ``eigvalsh`` to ~1e-12.

    Parameters
    ----------
    mask : array-like of bool, shape (n_out, n_in)

    Returns
    -------
    float
        >= 0.

    References
    ----------
    .. [1] M. Fiedler, "Algebraic connectivity of graphs", Czechoslovak
       Mathematical Journal 23, 1973.
    .. [2] Bourely, Boueri & Choromanski 2017 (connectivity of sparse layers).
    """
    m = _as_bool(mask)
    n_out, n_in = m.shape
    if m.all():
        return 2.0 if n_in == n_out == 1 else float(min(n_in, n_out))
    lap = bipartite_laplacian(m)
    n_components, _ = connected_components(lap, directed=False)
    if n_components > 1:
        return 0.0
    n = lap.shape[0]
    if n <= DENSE_LIMIT:
        values = np.linalg.eigvalsh(lap.toarray())
    else:
        v0 = np.random.default_rng(0).standard_normal(n)
        # Shift-invert Lanczos around -1: L + I is positive definite, its sparse LU with a
        # symmetric minimum-degree ordering stays sparse (COLAMD filled 26x more on an
        # expander layer), and the two smallest eigenvalues of L become the best
        # separated ones. Plain which="SM" returned a wrong value (0.415 for 0.104) on a
        # RadiX-Net layer whose low spectrum is clustered.
        lap = lap.tocsc()
        lu = splu((lap + sp.identity(n, format="csc")).tocsc(), permc_spec="MMD_AT_PLUS_A")
        op = LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
        values = np.sort(
            eigsh(lap, k=2, sigma=-1.0, which="LM", OPinv=op, tol=ARPACK_TOL, v0=v0, return_eigenvectors=False)
        )
    return float(max(values[1], 0.0))


def path_counts(masks: Sequence[Any], *, cumulative: bool = False) -> np.ndarray:
    """Input-to-unit path counts through a stack of masks, up to a common scale factor.

    Parameters
    ----------
    masks : sequence of array-like of bool
        Non-cumulative: a chain, ``masks[l]`` of shape
        ``(n_{l+1}, n_l)``; the result is ``masks[-1] @ ... @ masks[0]``.
        Cumulative (the layout of :class:`~nasprior.networks.GraphNetwork`):
        ``masks[0]`` of shape ``(n_0, n_inputs)`` reads the inputs and
        ``masks[l]`` (l >= 1) reads the concatenated units of layers
        ``0 .. l-1``; the result stacks the path counts of all units.
    cumulative : bool

    Returns
    -------
    numpy.ndarray of float64
        Shape ``(n_last, n_inputs)`` (chain) or ``(sum n_l, n_inputs)``
        (cumulative). Counts are computed in float64 and divided by a common
        factor after every layer so they cannot overflow; ratios between
        entries are exact up to float64 rounding.
    """
    mats = [_as_bool(m) for m in masks]
    if not mats:
        raise ValueError("path_counts needs at least one mask")
    counts = mats[0].astype(np.float64)
    for i, m in enumerate(mats[1:], start=1):
        if m.shape[1] != counts.shape[0]:
            raise ValueError(f"mask {i} reads {m.shape[1]} units, but {counts.shape[0]} precede it")
        new = m.astype(np.float64) @ counts
        counts = np.vstack([counts, new]) if cumulative else new
        top = counts.max()
        if top > 0:
            counts /= top
    return counts


def topology_scores(
    masks: Sequence[Any],
    *,
    cumulative: bool = False,
    output_units: Any = None,
    score_layers: Sequence[int] | None = None,
) -> dict[str, float]:
    """Data-free topology scores of a stack of bipartite layer masks.

    Parameters
    ----------
    masks : sequence of array-like of bool
        The network's masked layers from the input to the units that feed the
        output layer, ``masks[l]`` of shape ``(n_out_l, n_in_l)``; a chain, or
        cumulative (see :func:`path_counts`).
    cumulative : bool
        Layers read the concatenation of all earlier layers (graph-as-network).
        The per-layer bipartite graph then keeps only the columns the layer
        actually reads (units feeding other layers through skips are not its
        inputs).
    output_units : array-like of bool, optional
        Over the rows of :func:`path_counts`: the units whose path counts are
        scored (the units feeding the output). Default: all rows.
    score_layers : sequence of int, optional
        Indices of the masks that enter the per-layer scores (default all).

    Returns
    -------
    dict of str to float
        Keys :data:`TOPOLOGY_SCORE_NAMES`:

        * ``layer_spectral_gap_mean``, ``layer_spectral_gap_min``: mean and
          minimum over layers of the normalised spectral gap
          ``(sigma_1 - sigma_2) / sigma_1`` (:func:`spectral_gap`);
        * ``layer_algebraic_connectivity_mean``, ``..._min``: mean and
          minimum of :func:`algebraic_connectivity`;
        * ``path_count_cv``: coefficient of variation (std / mean) of the
          input-to-output path-count matrix; 0 when every input reaches every
          output unit by the same number of paths (RadiX-Nets). When no input
          reaches any output unit it is ``sqrt(n_entries - 1)``, the largest
          value a non-negative matrix can have;
        * ``path_reach``: fraction of (input, output unit) pairs joined by at
          least one path.

        Per-layer scores over no layer are 0.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017 (spectral gap, connectivity).
    .. [2] Robinett & Kepner 2018 (uniform path counts of RadiX-Nets).
    """
    mats = [_as_bool(m) for m in masks]
    indices = range(len(mats)) if score_layers is None else score_layers
    gaps, conns = _layer_scores([mats[i] for i in indices], cumulative)
    counts = path_counts(mats, cumulative=cumulative)
    if output_units is not None:
        counts = counts[np.asarray(output_units, dtype=bool).ravel()]
    mean = counts.mean() if counts.size else 0.0
    cv = float(counts.std() / mean) if mean > 0 else math.sqrt(max(counts.size - 1, 0))
    return {
        **_summarise(gaps, conns),
        "path_count_cv": cv,
        "path_reach": float((counts > 0).mean()) if counts.size else 0.0,
    }


def _layer_scores(mats: Sequence[np.ndarray], cumulative: bool) -> tuple[list[float], list[float]]:
    """Normalised spectral gap and algebraic connectivity of each mask."""
    gaps, conns = [], []
    for m in mats:
        if cumulative:
            m = m[:, m.any(axis=0)]  # only the units this layer reads
        if m.size == 0:
            gaps.append(0.0)
            conns.append(0.0)
            continue
        gaps.append(spectral_gap(m))
        conns.append(algebraic_connectivity(m))
    return gaps, conns


def _summarise(gaps: Sequence[float], conns: Sequence[float]) -> dict[str, float]:
    """Mean and minimum of the per-layer scores (0 over no layer)."""
    return {
        "layer_spectral_gap_mean": float(np.mean(gaps)) if gaps else 0.0,
        "layer_spectral_gap_min": float(np.min(gaps)) if gaps else 0.0,
        "layer_algebraic_connectivity_mean": float(np.mean(conns)) if conns else 0.0,
        "layer_algebraic_connectivity_min": float(np.min(conns)) if conns else 0.0,
    }


def network_topology_scores(network: Any) -> dict[str, float]:
    """:func:`topology_scores` of a network's masked layers, from the input to the units feeding the output.

    * a network with ``topology_masks`` (a dict with ``masks``,
      ``output_units`` and ``cumulative``; the convolutional mapping's stage
      DAG): those masks;
    * :class:`~nasprior.networks.GraphNetwork`: the dense ``input_layer`` and
      every hidden ``layers[l]`` (cumulative: each reads all earlier units);
      path counts are scored on the sink units (those feeding the output).
    * any other network with a ``layers`` list of masked layers
      (:class:`~nasprior.networks.LayeredNetwork`): those masks as a chain;
      the dense output layer is left out (it is the same for every prior).
    * otherwise (e.g. a network whose layers do not chain): per-layer scores
      over all its masked layers but ``output_layer``;
      ``path_count_cv = 0`` and ``path_reach = 1`` (not measured).

    Parameters
    ----------
    network : SparseNetwork

    Returns
    -------
    dict of str to float
        Keys :data:`TOPOLOGY_SCORE_NAMES`.

    References
    ----------
    .. [1] Bourely, Boueri & Choromanski 2017; Robinett & Kepner 2018.
    """
    spec = getattr(network, "topology_masks", None)
    if spec is not None:  # convolutional mapping: the wiring of its stage DAG
        return topology_scores(spec["masks"], cumulative=spec["cumulative"], output_units=spec["output_units"])
    if getattr(network, "cumulative", False):  # GraphNetwork: each layer reads all earlier units
        masks = [network.input_layer.mask] + [layer.mask for layer in network.layers]
        return topology_scores(masks, cumulative=True, output_units=network.output_layer.mask[0].cpu().numpy())
    layers = list(getattr(network, "layers", []))
    masks = [layer.mask for layer in layers if hasattr(layer, "mask")]
    if masks and len(masks) == len(layers) and all(b.shape[1] == a.shape[0] for a, b in zip(masks, masks[1:])):
        return topology_scores(masks)
    output = getattr(network, "output_layer", None)
    modules = network.modules() if hasattr(network, "modules") else []
    all_masks = [m.mask for m in modules if m is not output and isinstance(getattr(m, "mask", None), torch.Tensor)]
    gaps, conns = _layer_scores([_as_bool(m) for m in all_masks], cumulative=False)
    return {**_summarise(gaps, conns), "path_count_cv": 0.0, "path_reach": 1.0}
