"""Randomly wired convolutional networks: the ``convolutional`` mapping (Xie et al. 2019).

A :class:`RandWireNetwork` is a stem, ``n_stages`` stages and a classifier
head. Every stage is wired by the genome's prior graph, oriented into a DAG
by node index (:func:`~nasprior.dag.to_dag`, as in the graph-as-network
mapping), so the structural features of the prior graph describe every stage.
Each node of a stage is one operation (:class:`NodeOp`):

* aggregation of its inputs by a weighted sum with learnable positive
  weights ``sigmoid(w_i)`` (one per in-edge; nodes with one input take it
  as it is);
* ReLU -> 3x3 depthwise-separable convolution -> batch norm (gene ``op =
  "sep_conv"``, Xie et al.'s operation), or ReLU -> 3x3 convolution -> batch
  norm (``op = "conv"``: more weights per memory-bound batch-norm pass, which
  pays on a CPU).

A stage's sources (in-degree 0) read the previous stage's output (the stem's
for the first stage) and, from the second stage on, convolve with stride 2
and double the channels: the downsampling between stages. The stage's output
is the unweighted mean of its sinks (out-degree 0). The stem is a 3x3
convolution with batch norm at full resolution (CIFAR-sized images are small
already); the head is ReLU, global average pooling and a linear classifier.
Training may replace the stem by a frozen patch-whitening layer fitted on
the training images (:meth:`RandWireNetwork.use_whitening_stem`), and a
final training may widen every stage (:func:`widen`) and max-pool the stem's
output so every stage runs at half the resolution
(:meth:`RandWireNetwork.pool_stem`): with twice the channels, the same
multiply-accumulates per node buy four times the weights.

Xie et al. draw an independent graph per stage; here every stage uses the
same graph, so a candidate's record describes its network exactly. Nothing is
masked: ``n_params`` counts real parameters, ``density`` is the stage DAG's
edges over the ``n (n - 1) / 2`` a complete DAG would have, and
:attr:`RandWireNetwork.n_flops` counts multiply-accumulates per image.

References
----------
.. [Xie2019] S. Xie, A. Kirillov, R. Girshick and K. He, "Exploring randomly
   wired neural networks for image recognition", ICCV 2019, arXiv:1904.01569.
.. [Chollet2017] F. Chollet, "Xception: deep learning with depthwise
   separable convolutions", CVPR 2017.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..dag import layer_nodes, to_dag
from ..errors import ConfigError
from ..genes import Gene
from ..priors import make_graph
from .registry import Mapping, register_mapping

if TYPE_CHECKING:
    from ..genome import Genome

#: Stages of the convolutional mapping (each after the first halves the resolution).
N_STAGES = Gene("n_stages", "int", 3, 1, 5, doc="stages of a randomly wired CNN (convolutional mapping)")
#: Channels of the first stage (doubled at every later stage).
CHANNELS = Gene("channels", "int", 16, 4, 512, doc="channels of the first stage (convolutional mapping)")
#: Operation of every node: depthwise-separable (Xie et al. 2019) or full 3x3 convolution.
OP = Gene(
    "op",
    "choice",
    "sep_conv",
    choices=("sep_conv", "conv"),
    doc="node operation of a randomly wired CNN: ReLU-conv-BN with a separable or a full 3x3 convolution",
)


def widen(genome: Genome, multiplier: float) -> Genome:
    """The genome with its ``channels`` gene scaled by ``multiplier`` (rounded, at least 1), all else the same.

    The prior graph, and so every stage DAG, depends on the other genes
    only, so the widened network has the same graph with ``multiplier``
    times the channels: width as a fidelity (a narrow screening, a wider
    final training). A genome without a ``channels`` gene, or a multiplier
    of 1, is returned as it is.

    Raises
    ------
    ConfigError
        If the widened channels leave the gene's range (:data:`CHANNELS`, 4 to 512).
    """
    channels = genome.get("channels")
    if multiplier == 1 or channels is None:
        return genome
    wide = max(1, round(channels * multiplier))
    if not CHANNELS.low <= wide <= CHANNELS.high:
        raise ConfigError(
            f"width_multiplier {multiplier:g} makes {wide} channels from {channels}: "
            f"choose a multiplier that keeps them in [{CHANNELS.low}, {CHANNELS.high}]"
        )
    return genome.replace(channels=wide)


def shape_for_training(net: nn.Module, stem_pool: int = 1) -> nn.Module:
    """``net`` with its stem output max-pooled by ``stem_pool`` (:meth:`RandWireNetwork.pool_stem`); returns it.

    Parameters
    ----------
    net : torch.nn.Module
        A freshly built network.
    stem_pool : int
        1 returns ``net`` as it is, whatever its kind.

    Raises
    ------
    ConfigError
        If ``stem_pool`` is above 1 and ``net`` is not a convolutional
        network, or does not fit its images (see :meth:`RandWireNetwork.pool_stem`).
    """
    if stem_pool == 1:
        return net
    if not isinstance(net, RandWireNetwork):
        raise ConfigError(
            f"stem_pool = {stem_pool} needs a convolutional network (mapping 'convolutional'); "
            f"{type(net).__name__} has no stem: set stem_pool = 1"
        )
    return net.pool_stem(stem_pool)


def image_shape(shape: Any) -> tuple[int, int, int]:
    """Height, width and channels of a task's images.

    Parameters
    ----------
    shape : TaskShape
        Its ``image_shape`` (height, width, channels) if set, else inferred
        from ``n_inputs``: a square grey image (``n_inputs = s*s``) or a
        square RGB image (``n_inputs = 3*s*s``).

    Raises
    ------
    ConfigError
        If neither is possible (not an image task).
    """
    given = tuple(getattr(shape, "image_shape", ()) or ())
    if len(given) == 3:
        return int(given[0]), int(given[1]), int(given[2])
    n = int(getattr(shape, "n_inputs", 0) or 0)
    for channels in (1, 3):
        side = math.isqrt(n // channels) if n % channels == 0 else 0
        if side > 0 and side * side * channels == n:
            return side, side, channels
    raise ConfigError(
        f"task {getattr(shape, 'name', '?')!r} has no image shape (n_inputs = {n}): "
        "the convolutional mapping needs an image task such as cifar10, mnist or digits"
    )


class PatchWhitening(nn.Module):
    """A frozen convolution that whitens ``patch x patch`` image patches, fitted on training images.

    The filters are the eigenvectors ``v_i`` of the covariance of the
    training images' patches, scaled by ``1 / sqrt(lambda_i + eps)``, each
    with both signs (so a following ReLU/GELU keeps both halves), and the
    bias centres the fitted patches: on the images it was fitted on, the
    first ``c_in * patch**2`` output channels have covariance
    ``diag(lambda / (lambda + eps))``, about the identity (Page 2018;
    airbench's first layer, Jordan 2024).

    Parameters
    ----------
    c_in : int
        Channels of the input images.
    patch : int
        Side of the patches (airbench: 2).
    eps : float
        Added to the eigenvalues (airbench: 5e-4), which bounds the gain of
        the noisiest directions.

    Notes
    -----
    (batch, c_in, H, W) -> (batch, 2 * c_in * patch**2, H, W): the input is
    zero padded by ``patch - 1`` pixels at the right and bottom so the
    resolution is kept. The weight and bias are buffers (never trained).
    """

    def __init__(self, c_in: int, patch: int = 2, eps: float = 5e-4):
        super().__init__()
        self.patch, self.eps = patch, eps
        self.out_channels = 2 * c_in * patch * patch
        self.register_buffer("weight", torch.zeros(self.out_channels, c_in, patch, patch))
        self.register_buffer("bias", torch.zeros(self.out_channels))

    @torch.no_grad()
    def fit(self, images: torch.Tensor) -> PatchWhitening:
        """Set the filters from the patch covariance of ``images`` (batch, c_in, H, W); returns self.

        Raises
        ------
        ValueError
            If ``images`` has the wrong number of channels or fewer patches than patch dimensions.
        """
        c_in, p = self.weight.shape[1], self.patch
        if images.ndim != 4 or images.shape[1] != c_in:
            raise ValueError(f"images must have shape (batch, {c_in}, H, W), got {tuple(images.shape)}")
        patches = images.float().unfold(2, p, 1).unfold(3, p, 1)  # (batch, c, H-p+1, W-p+1, p, p)
        patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c_in * p * p).double()
        if len(patches) <= patches.shape[1]:
            raise ValueError(f"{len(patches)} patches cannot fit a {patches.shape[1]}-d whitening: give more images")
        mean = patches.mean(dim=0)
        eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(patches.T))
        filters = eigenvectors.T / torch.sqrt(eigenvalues.clamp_min(0) + self.eps)[:, None]  # (d, d), rows
        filters = torch.cat([filters, -filters])  # both signs
        self.weight.copy_(filters.reshape(self.weight.shape).to(self.weight.dtype))
        self.bias.copy_((-(filters @ mean)).to(self.bias.dtype))
        return self

    def whiten(self, x: torch.Tensor) -> torch.Tensor:
        """The whitened patches without padding: (batch, c_in, H, W) -> (batch, out, H-patch+1, W-patch+1)."""
        return F.conv2d(x, self.weight, self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, c_in, H, W) -> (batch, 2 * c_in * patch**2, H, W)."""
        return self.whiten(F.pad(x, (0, self.patch - 1, 0, self.patch - 1)))


class SeparableConv(nn.Sequential):
    """ReLU -> 3x3 depthwise convolution -> 1x1 pointwise convolution -> batch norm.

    Parameters
    ----------
    c_in, c_out : int
        Channels in and out.
    stride : int
        1, or 2 to halve the resolution.

    Notes
    -----
    (batch, c_in, H, W) -> (batch, c_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False),  # depthwise
            nn.Conv2d(c_in, c_out, 1, bias=False),  # pointwise
            nn.BatchNorm2d(c_out),
        )


class PlainConv(nn.Sequential):
    """ReLU -> 3x3 convolution -> batch norm; shapes as :class:`SeparableConv`."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )


#: Node operations by the value of gene ``op``.
NODE_OPS = {"sep_conv": SeparableConv, "conv": PlainConv}


class NodeOp(nn.Module):
    """One node of a stage: positive weighted sum of its inputs, then :class:`SeparableConv`.

    Parameters
    ----------
    n_inputs : int
        In-edges of the node (1 for a source, which reads the stage input).
    c_in, c_out : int
        Channels of its inputs and of its output.
    stride : int
    op : {"sep_conv", "conv"}
        The operation (:data:`NODE_OPS`).

    Attributes
    ----------
    aggregation_logits : torch.nn.Parameter of shape (n_inputs,) or None
        The aggregation weights are ``sigmoid(aggregation_logits)`` (in (0, 1),
        initially 0.5; Xie et al. 2019); None for a single input.
    """

    def __init__(self, n_inputs: int, c_in: int, c_out: int, stride: int = 1, op: str = "sep_conv"):
        super().__init__()
        self.aggregation_logits = nn.Parameter(torch.zeros(n_inputs)) if n_inputs > 1 else None
        self.op = NODE_OPS[op](c_in, c_out, stride)

    @property
    def aggregation_weights(self) -> torch.Tensor:
        """The positive weights of the inputs, shape (n_inputs,) (a single input: ``[1.0]``)."""
        if self.aggregation_logits is None:
            return torch.ones(1)
        return torch.sigmoid(self.aggregation_logits)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """(batch, c_in, H, W) each -> (batch, c_out, H / stride, W / stride)."""
        if self.aggregation_logits is None:
            return self.op(inputs[0])
        weights = torch.sigmoid(self.aggregation_logits)
        x = inputs[0] * weights[0]
        for w, h in zip(weights[1:], inputs[1:]):
            x = x + w * h
        return self.op(x)


class Stage(nn.Module):
    """One stage: a DAG of :class:`NodeOp`, sources reading the stage input, sinks averaged.

    Parameters
    ----------
    dag : networkx.DiGraph
        Acyclic, nodes sortable; an edge ``u -> v`` feeds ``u``'s output to ``v``.
    c_in, c_out : int
        Channels of the stage input and of every node.
    stride : int
        Stride of the source nodes (2 downsamples).
    op : {"sep_conv", "conv"}
        Operation of every node.

    Notes
    -----
    (batch, c_in, H, W) -> (batch, c_out, H / stride, W / stride).
    """

    def __init__(self, dag: nx.DiGraph, c_in: int, c_out: int, stride: int, op: str = "sep_conv"):
        super().__init__()
        self.order = list(nx.lexicographical_topological_sort(dag))
        self.preds = {v: sorted(dag.predecessors(v)) for v in self.order}
        self.sinks = [v for v in self.order if dag.out_degree(v) == 0]
        self.nodes = nn.ModuleDict(
            {
                str(v): NodeOp(
                    max(1, len(self.preds[v])),
                    c_out if self.preds[v] else c_in,
                    c_out,
                    1 if self.preds[v] else stride,
                    op,
                )
                for v in self.order
            }
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, c_in, H, W) -> (batch, c_out, H / stride, W / stride)."""
        out: dict[Any, torch.Tensor] = {}
        for v in self.order:
            inputs = [out[u] for u in self.preds[v]] if self.preds[v] else [x]
            out[v] = self.nodes[str(v)](inputs)
        y = out[self.sinks[0]]
        for v in self.sinks[1:]:
            y = y + out[v]
        return y / len(self.sinks)


class RandWireNetwork(nn.Module):
    """Randomly wired CNN: stem, stages wired by one DAG, classifier head (Xie et al. 2019).

    Parameters
    ----------
    dag : networkx.DiGraph
        The stage DAG (every stage uses it).
    image_shape : tuple of int
        (height, width, channels) of one input image.
    n_classes : int
    n_stages : int
        Stages; stage ``s`` has ``channels * 2**s`` channels and, for
        ``s >= 1``, halves the resolution.
    channels : int
        Channels of the stem and the first stage.
    op : {"sep_conv", "conv"}
        Operation of every node (:data:`NODE_OPS`).

    Notes
    -----
    Forward: images of shape (batch, H, W, C), (batch, H, W) or flattened
    (batch, H*W*C) -> logits (batch, n_classes). An (N, H, W, C) batch
    permuted to (N, C, H, W) is already ``channels_last`` in memory.
    """

    def __init__(
        self,
        dag: nx.DiGraph,
        image_shape: tuple[int, int, int],
        n_classes: int,
        n_stages: int = 3,
        channels: int = 16,
        op: str = "sep_conv",
    ):
        super().__init__()
        if dag.number_of_nodes() == 0:
            raise ConfigError("the stage graph has no nodes: choose n_nodes >= 1")
        self.dag = dag
        self.image_shape = tuple(int(v) for v in image_shape)
        height, width, c_img = self.image_shape
        self.stem = nn.Sequential(nn.Conv2d(c_img, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        widths = [channels * 2**s for s in range(n_stages)]
        self.stages = nn.ModuleList(
            Stage(dag, widths[s - 1] if s else channels, widths[s], 2 if s else 1, op) for s in range(n_stages)
        )
        self.classifier = nn.Linear(widths[-1], n_classes)
        self.n_stages, self.channels, self.op = n_stages, channels, op
        self.stem_pool = 1
        self.n_flops = self._count_flops()

    def _count_flops(self) -> int:
        """Multiply-accumulates of one forward pass of one image (convolutions, aggregation, classifier)."""
        height, width, c_img = self.image_shape
        widths = [self.channels * 2**s for s in range(self.n_stages)]
        n_classes = self.classifier.out_features
        flops = height * width * c_img * self.channels * 9  # stem
        h, w = height // self.stem_pool, width // self.stem_pool
        for s, stage in enumerate(self.stages):
            c_out = widths[s]
            c_in = widths[s - 1] if s else self.channels
            if s:
                h, w = (h + 1) // 2, (w + 1) // 2
            for v in stage.order:
                c = c_out if stage.preds[v] else c_in
                if self.op == "conv":
                    flops += h * w * c * c_out * 9
                else:
                    flops += h * w * c * 9 + h * w * c * c_out  # depthwise + pointwise
                flops += h * w * c * max(0, len(stage.preds[v]) - 1)  # weighted sum
        return int(flops + widths[-1] * n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of images (batch, H, W[, C]) or (batch, H*W*C)."""
        height, width, c_img = self.image_shape
        x = x.reshape(x.shape[0], height, width, c_img).permute(0, 3, 1, 2)  # (batch, C, H, W), channels_last
        h = self.stem(x)
        if self.stem_pool > 1:
            h = F.max_pool2d(h, self.stem_pool)
        for stage in self.stages:
            h = stage(h)
        h = torch.relu(h).mean(dim=(2, 3))  # global average pooling: (batch, channels)
        return self.classifier(h)

    def use_whitening_stem(self, images: torch.Tensor, patch: int = 2, eps: float = 5e-4) -> None:
        """Replace the stem by a frozen patch whitening fitted on ``images``, a 3x3 convolution and batch norm.

        The new stem is :class:`PatchWhitening` (``2 * C *
        patch**2`` channels of whitened patches, both signs; Page 2018,
        Jordan 2024), then a trainable 3x3 convolution to ``channels`` and
        batch norm, as airbench's first block reads its whitened input. The
        resolution is kept. :attr:`n_flops` keeps counting the original stem.

        Parameters
        ----------
        images : torch.Tensor
            Training images in the layout :meth:`forward` takes, e.g. (n, H, W, C).
        patch, eps : int, float
            See :class:`PatchWhitening`.
        """
        height, width, c_img = self.image_shape
        x = images.reshape(images.shape[0], height, width, c_img).permute(0, 3, 1, 2)
        device = self.classifier.weight.device
        whitening = PatchWhitening(c_img, patch, eps).fit(x.to(device)).to(device)
        conv = nn.Conv2d(whitening.out_channels, self.channels, 3, padding=1, bias=False).to(device)
        self.stem = nn.Sequential(whitening, conv, nn.BatchNorm2d(self.channels).to(device))

    def pool_stem(self, size: int) -> RandWireNetwork:
        """Max-pool the stem's output by ``size x size`` before the first stage; returns self.

        Every stage then runs at ``1 / size`` of the resolution (32x32 CIFAR-10
        images: stages at 16x16, 8x8 and 4x4 for ``size = 2``), the graph and
        the weights unchanged. As in airbench (Jordan 2024), whose first block
        convolves at full resolution and pools at once, most of the compute
        then goes to wide channels at low resolution: with the channels doubled
        (:func:`widen`) a node costs the multiply-accumulates it cost before
        and holds four times the weights. A fidelity, like width: screening
        at full resolution, the final training pooled (``[final] stem_pool``).
        :attr:`n_flops` is recounted.

        Parameters
        ----------
        size : int
            Pooling window and stride (1: no pooling).

        Raises
        ------
        ConfigError
            If ``size`` is below 1, or leaves the last stage with no pixels
            (``size * 2**(n_stages - 1)`` above the image side).
        """
        height, width, _ = self.image_shape
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"stem_pool = {size!r} is invalid: use an integer >= 1 (1: no pooling)")
        if size * 2 ** (self.n_stages - 1) > min(height, width):
            raise ConfigError(
                f"stem_pool {size} leaves {self.n_stages} stages of {height}x{width} images without pixels: "
                f"use a stem_pool of at most {max(1, min(height, width) // 2 ** (self.n_stages - 1))}"
            )
        self.stem_pool = size
        self.n_flops = self._count_flops()
        return self

    # -- size, as every network of nasprior reports it ------------------------------
    @property
    def n_params(self) -> int:
        """Trainable values: convolution, batch-norm, aggregation and classifier parameters."""
        return sum(p.numel() for p in self.parameters())

    @property
    def n_weights(self) -> int:
        """Convolution and classifier weights (no biases, batch-norm or aggregation values)."""
        return sum(m.weight.numel() for m in self.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))

    @property
    def density(self) -> float:
        """Edges of the stage DAG over the ``n (n - 1) / 2`` of a complete DAG (1 for a single node)."""
        n = self.dag.number_of_nodes()
        return self.dag.number_of_edges() / (n * (n - 1) / 2) if n > 1 else 1.0

    @property
    def first_layer_width(self) -> int:
        """Nodes of a stage that read the stage input (the DAG's sources)."""
        return sum(1 for v in self.dag if self.dag.in_degree(v) == 0)

    @property
    def n_hidden_layers(self) -> int:
        """Operations on the longest path through the network: stages times the DAG's depth."""
        return self.n_stages * len(layer_nodes(self.dag))

    @property
    def topology_masks(self) -> dict[str, Any]:
        """The stage DAG as the cumulative masks of :func:`nasprior.features.mask_scores_scores`.

        Returns
        -------
        dict
            ``masks``: a list whose first mask, of shape (n_sources, 1), reads
            the stage input and whose mask ``l`` reads the nodes of DAG layers
            ``< l``; ``output_units``: bool over the nodes in layer order, True
            for the sinks; ``cumulative``: True.
        """
        layers = layer_nodes(self.dag)
        order = [v for layer in layers for v in layer]
        position = {v: i for i, v in enumerate(order)}
        masks = [np.ones((len(layers[0]), 1), dtype=bool)]
        n_before = len(layers[0])
        for nodes in layers[1:]:
            mask = np.zeros((len(nodes), n_before), dtype=bool)
            for row, v in enumerate(nodes):
                for u in self.dag.predecessors(v):
                    mask[row, position[u]] = True
            masks.append(mask)
            n_before += len(nodes)
        sinks = np.array([self.dag.out_degree(v) == 0 for v in order])
        return {"masks": masks, "output_units": sinks, "cumulative": True}


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def _build_convolutional(genome: Genome, graph: nx.Graph | None, shape: Any) -> RandWireNetwork:
    graph = make_graph(genome) if graph is None else graph
    return RandWireNetwork(
        to_dag(graph), image_shape(shape), shape.n_classes, genome.n_stages, genome.channels, genome.op
    )


register_mapping(
    Mapping(
        "convolutional",
        (N_STAGES, CHANNELS, OP),
        inputs="image",
        build=_build_convolutional,
        describe=lambda g: f"cnn {g.n_stages}x{g.channels} {g.op}",
        reference="Xie, Kirillov, Girshick & He 2019 (randomly wired networks)",
    )
)
