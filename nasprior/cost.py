"""One cost estimate for everything nasprior builds: graphs, networks, populations, mask comparisons.

Every path that builds a graph, a network or a population asks this module
first, so that an input too large for the machine fails at once with its
estimate instead of filling the memory (or running for hours) and then
crashing: a genome (:func:`nasprior.evaluation.check_cost`), a graph read
from a file, a convolutional network's activations, the offspring a
generation breeds or a sample draws, and the masks ``nnstd`` compares. The
limits are the same everywhere: ``$NASPRIOR_MAX_MEMORY_GB`` (default
:data:`DEFAULT_MAX_MEMORY_GB`) and ``$NASPRIOR_MAX_FEATURE_S`` (default
:data:`DEFAULT_MAX_FEATURE_S`).
"""

from __future__ import annotations

import os

from .errors import ConfigError, CostError

#: Default memory limit, in GiB (override with ``$NASPRIOR_MAX_MEMORY_GB``).
DEFAULT_MAX_MEMORY_GB = 8.0
#: Default limit of an estimated computation time, in s (override with ``$NASPRIOR_MAX_FEATURE_S``).
DEFAULT_MAX_FEATURE_S = 600.0
#: Bytes per edge of a networkx graph plus the feature computations on it (measured: 570 at
#: gnp(1000, 0.5), 250,000 edges; rounded up).
GRAPH_BYTES_PER_EDGE = 600
#: Bytes per node pair of the structural features' dense all-pairs distance matrix (float64, one copy).
DISTANCE_BYTES_PER_PAIR = 16
#: Seconds per squared edge of the exact structural features (measured on 2 cores: 29 s at
#: 250,000 edges; quadratic in the edges through the betweenness).
FEATURE_S_PER_EDGE2 = 4.6e-10
#: Bytes per possible weight of a masked layer in training: weight, gradient, two Adam moments, mask.
BYTES_PER_WEIGHT = 17
#: Float32 tensors kept for the backward pass per node of a convolutional stage and image (aggregated
#: input, ReLU output, convolution output(s), batch-norm output). With it, :func:`conv_bytes` of a 6-node
#: 3-stage "sep_conv" network on CIFAR-10 at batch 128 is 0.43 GiB for 16 channels and 0.87 GiB for 32;
#: one forward and backward pass raised the peak RSS by 0.24 and 0.67 GiB (measured, one thread).
ACTIVATIONS_PER_NODE = 5
#: Batch size assumed for a network's activations when none is given (the CIFAR-10 space's).
DEFAULT_BATCH = 128
#: Bytes one drawn or bred candidate holds for the life of a run: its encoding and genome (365-554 bytes,
#: measured with tracemalloc on 20,000 digits genomes) and its record with features and curve (3.4 KB per
#: line of JSON on digits, measured; more as Python objects); rounded up.
CANDIDATE_BYTES = 8192
#: Seconds per ``n_out * n_out * max(n_out, n_in)`` of a layer comparison of ``nnstd`` (the cost matrix
#: and the Hungarian matching; measured on one thread at 10% density: 0.13 s at 500 x 500 units, 0.60 s
#: at 1,000 x 1,000, 3.9 s at 2,000 x 2,000; the largest per-unit figure, rounded).
NNSTD_S_PER_UNIT3 = 1.0e-9


def limit(variable: str, default: float) -> float:
    """A positive limit from the environment variable ``variable``, else ``default``.

    Raises
    ------
    ConfigError
        If the variable is set but not a positive number.
    """
    text = os.environ.get(variable)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{variable} = {text!r} is invalid: give a positive number")
    return value


def limits() -> tuple[float, float]:
    """The memory limit (GiB) and time limit (s) in force.

    Raises
    ------
    ConfigError
        If ``$NASPRIOR_MAX_MEMORY_GB`` or ``$NASPRIOR_MAX_FEATURE_S`` is set but not a positive number.
    """
    return limit("NASPRIOR_MAX_MEMORY_GB", DEFAULT_MAX_MEMORY_GB), limit(
        "NASPRIOR_MAX_FEATURE_S", DEFAULT_MAX_FEATURE_S
    )


def graph_bytes(n_nodes: float, n_edges: float) -> float:
    """Memory of a graph and its structural features, in bytes (per edge and node, plus the distance matrix)."""
    return GRAPH_BYTES_PER_EDGE * (n_edges + n_nodes) + DISTANCE_BYTES_PER_PAIR * float(n_nodes) ** 2


def feature_seconds(n_edges: float) -> float:
    """Estimated seconds of a graph's exact structural features (quadratic in its edges)."""
    return FEATURE_S_PER_EDGE2 * float(n_edges) ** 2


def conv_bytes(
    n_nodes: int, n_stages: int, channels: int, image: tuple[int, int, int], batch: int = DEFAULT_BATCH
) -> float:
    """Training memory of a randomly wired CNN (the ``convolutional`` mapping), in bytes.

    Parameters
    ----------
    n_nodes, n_stages, channels : int
        Nodes per stage, stages, channels of the first stage (doubled, and
        the resolution halved, at every later stage).
    image : tuple of int
        (height, width, channels) of an input image.
    batch : int
        Images per training step.

    Returns
    -------
    float
        Activations kept for the backward pass (:data:`ACTIVATIONS_PER_NODE`
        float32 tensors per node, ``channels * 2**s`` channels at
        ``(h / 2**s) x (w / 2**s)`` in stage ``s``, plus the stem) and the
        weights with their gradients and optimiser moments (16 bytes per
        3x3 convolution weight).
    """
    height, width, c_img = image
    per_image, weights = 2.0 * channels * height * width + c_img * height * width, 9.0 * c_img * channels
    for s in range(n_stages):
        c = channels * 2**s
        per_image += ACTIVATIONS_PER_NODE * n_nodes * c * (height * width) / 4**s
        weights += n_nodes * 9.0 * c * c
    return 4.0 * batch * per_image + 16.0 * weights


def check_estimate(what: str, gb: float, seconds: float, fix: str) -> tuple[float, float]:
    """Refuse work whose estimate exceeds the limits; return the estimate (GiB, s).

    Parameters
    ----------
    what : str
        What would be built, for the message (``"graph file g.txt (10 nodes, 5 edges)"``).
    gb, seconds : float
        Estimated memory in GiB and computation time in seconds.
    fix : str
        How to make it smaller, for the message.

    Raises
    ------
    CostError
        (a :class:`~nasprior.errors.ConfigError`) if ``gb`` exceeds ``$NASPRIOR_MAX_MEMORY_GB`` or ``seconds`` exceeds
        ``$NASPRIOR_MAX_FEATURE_S``; the message gives the estimate, the
        limits, ``fix`` and how to raise the limits.
    """
    max_gb, max_s = limits()
    if gb > max_gb or seconds > max_s:
        time_text = f" and {seconds:,.0f} s" if seconds >= 1 else ""
        raise CostError(
            f"{what} is too large: about {gb:,.1f} GiB of memory{time_text} estimated "
            f"(limits {max_gb:g} GiB, {max_s:g} s): {fix}, or raise the limits with "
            "NASPRIOR_MAX_MEMORY_GB / NASPRIOR_MAX_FEATURE_S"
        )
    return gb, seconds


def check_graph(what: str, n_nodes: int, n_edges: int, possible_weights: float = 0.0) -> tuple[float, float]:
    """Refuse a graph too large for its structural features (and its network); return the estimate.

    ``possible_weights`` is the number of possible weights of the network
    built from it (:data:`BYTES_PER_WEIGHT` each).

    Raises
    ------
    ConfigError
        See :func:`check_estimate`.
    """
    gb = (graph_bytes(n_nodes, n_edges) + BYTES_PER_WEIGHT * possible_weights) / 2**30
    return check_estimate(
        f"{what} ({n_nodes:,} nodes, {n_edges:,} edges)", gb, feature_seconds(n_edges), "use a smaller graph"
    )


def check_population(what: str, n_candidates: float, fix: str) -> float:
    """Refuse a population, offspring pool or sample too large to hold; return its estimated GiB.

    Raises
    ------
    ConfigError
        If ``n_candidates`` times :data:`CANDIDATE_BYTES` exceeds the memory limit.
    """
    gb = float(n_candidates) * CANDIDATE_BYTES / 2**30
    check_estimate(f"{what} ({n_candidates:,.0f} candidates)", gb, 0.0, fix)
    return gb


def check_masks(what: str, shapes: list[tuple[int, int]]) -> tuple[float, float]:
    """Refuse a comparison of layer masks (``nnstd``) too large to compute; return the estimate.

    Per layer of shape (n_out, n_in), the masks as float64, the (n_out,
    n_out) cost matrix with its intermediates, and the matching's cubic time.

    Raises
    ------
    ConfigError
        See :func:`check_estimate`.
    """
    gb = max((16.0 * o * i + 32.0 * o * o for o, i in shapes), default=0.0) / 2**30
    seconds = sum(NNSTD_S_PER_UNIT3 * o * o * max(o, i) for o, i in shapes)
    return check_estimate(what, gb, seconds, "compare smaller networks")
