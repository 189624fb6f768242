"""Zero-cost proxies: scores of an untrained network on one minibatch.

Five scores of a network at initialisation, each from one forward (and at
most one backward) pass on one seeded minibatch (:func:`proxy_batch`); they
rank architectures without training them (Abdelfattah et al. 2021):

* :func:`naswot`: log-determinant of the Hamming kernel of the binary ReLU
  codes (Mellor et al. 2021);
* :func:`synflow`: synaptic flow on an all-ones input with absolute weights
  (Tanaka et al. 2020);
* :func:`snip`: connection sensitivity ``|dL/dtheta * theta|`` (Lee et al. 2019);
* :func:`grad_norm`: L2 norm of the loss gradient;
* :func:`jacob_cov`: score of the correlation of input Jacobians (Mellor et
  al. 2020, v1; Abdelfattah et al.'s formulation).

"Weights" are the weight tensors of the convolutional and linear layers
(parameters named ``weight`` of modules other than normalisation layers and
embeddings, and the ``values`` of a CSR :class:`~nasprior.networks.SparseLinear`),
as in Abdelfattah et al.'s ``get_layer_metric_array`` (convolution and linear
weights only: no bias, no batch-norm scale). A masked layer's absent weights
(its ``mask`` buffer False) are left out of every sum. Every function works on a
deep copy of the network inside :func:`torch.random.fork_rng`, so neither the
network (weights, gradients, batch-norm statistics, mode) nor the global random
state seen by training changes.

Functions take a batch of float inputs: image tasks ``(batch, H, W, C)`` or
``(batch, C, H, W)`` as the network expects, feedforward tasks ``(batch,
n_inputs)``. Sequence (token-id) networks have no proxies: see
:func:`nasprior.evaluation.Evaluator.proxies`.

References
----------
.. [Mellor2021] J. Mellor, J. Turner, A. Storkey, E. J. Crowley, "Neural
   Architecture Search without Training", ICML 2021 (arXiv:2006.04647; its v1,
   2020, proposed the Jacobian covariance score).
.. [Tanaka2020] H. Tanaka, D. Kunin, D. L. K. Yamins, S. Ganguli, "Pruning
   neural networks without any data by iteratively conserving synaptic flow",
   NeurIPS 2020.
.. [Lee2019] N. Lee, T. Ajanthan, P. H. S. Torr, "SNIP: Single-shot network
   pruning based on connection sensitivity", ICLR 2019.
.. [Abdelfattah2021] M. S. Abdelfattah, A. Mehrotra, L. Dudziak, N. D. Lane,
   "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (reference code:
   github.com/SamsungLabs/zero-cost-nas, ``foresight/pruners/measures``).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

#: Feature names of the proxies, in the order of :func:`proxy_features`.
PROXY_FEATURE_NAMES = ("proxy_naswot", "proxy_synflow", "proxy_snip", "proxy_grad_norm", "proxy_jacob_cov")
#: Minibatch size of the proxies (Abdelfattah et al. use 64 on CIFAR-10; Mellor et al. 128).
PROXY_BATCH_SIZE = 64
#: Eigenvalue offset of :func:`jacob_cov` (Abdelfattah et al.'s ``k``).
JACOB_COV_EPS = 1e-5
#: Module types whose ``weight`` is not a connection weight.
_NOT_WEIGHTS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.Embedding)
#: The ReLU functions :func:`naswot` reads the codes of.
_RELUS = {torch.relu, torch.relu_, F.relu, torch.Tensor.relu, torch.Tensor.relu_}


def proxy_batch(
    x: torch.Tensor, y: torch.Tensor, seed: int, size: int = PROXY_BATCH_SIZE
) -> tuple[torch.Tensor, torch.Tensor]:
    """The proxies' minibatch: ``size`` rows of ``(x, y)`` drawn without replacement by a generator seeded ``seed``.

    The global random state is not used, so the same seed gives the same
    minibatch for every candidate of a run.

    Parameters
    ----------
    x : torch.Tensor of shape (n, ...)
    y : torch.Tensor of int64, shape (n,)
    seed : int
    size : int
        Rows wanted; all ``n`` if fewer.

    Returns
    -------
    tuple of torch.Tensor
        Inputs of shape (min(size, n), ...) and labels of shape (min(size, n),).

    Raises
    ------
    ValueError
        If ``x`` is empty or ``x`` and ``y`` differ in length.
    """
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"a proxy minibatch needs matching non-empty inputs and labels, got {len(x)} and {len(y)}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(int(seed)))[: min(size, len(x))]
    return x[order], y[order]


def weights(net: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The connection weights of ``net`` and the mask of present weights of each (None: all present).

    Returns
    -------
    list of (torch.nn.Parameter, torch.Tensor of bool or None)
        Convolution and linear weights (see the module docstring) with the
        module's ``mask`` buffer where it has the weight's shape.
    """
    found = []
    for module in net.modules():
        if isinstance(module, _NOT_WEIGHTS):
            continue
        for name, param in module.named_parameters(recurse=False):
            if name in ("weight", "values"):
                mask = getattr(module, "mask", None) if name == "weight" else None
                found.append((param, mask if mask is not None and mask.shape == param.shape else None))
    return found


@contextlib.contextmanager
def _scratch(net: nn.Module, train: bool = True) -> Iterator[nn.Module]:
    """A deep copy of ``net`` in train (or eval) mode, with zeroed gradients, inside a forked random state."""
    with torch.random.fork_rng(devices=[]):
        work = copy.deepcopy(net)
        work.train(train)
        work.zero_grad(set_to_none=True)
        yield work


def _present_sum(values: list[tuple[torch.Tensor, torch.Tensor | None]]) -> float:
    """Sum of each tensor over its present entries (mask True, or all), as a Python float."""
    total = 0.0
    for value, mask in values:
        total += float((value[mask] if mask is not None else value).detach().sum())
    return total


def _loss_gradients(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """Backpropagate the mean cross-entropy of ``net(x)`` against ``y``; each weight, its gradient and its mask."""
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    return [(w, w.grad if w.grad is not None else torch.zeros_like(w), mask) for w, mask in weights(net)]


class _ReluCodes(TorchFunctionMode):
    """Records the binary code ``input > 0`` (flattened per example) of every ReLU called while active."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _RELUS and args and isinstance(args[0], torch.Tensor) and args[0].ndim >= 1:
            self.codes.append((args[0].detach() > 0).flatten(1).to(torch.float64))
        return func(*args, **(kwargs or {}))


def naswot(net: nn.Module, x: torch.Tensor) -> float:
    """NASWOT score: ``log |det K_H|`` of the Hamming kernel of the network's binary ReLU codes (Mellor et al. 2021).

    Every ReLU the forward pass calls (module or function) contributes the code
    ``c = 1[input > 0]`` of each example; over all of them, ``K_H[i, j] = N_A -
    d_H(c_i, c_j)``, the number of units on which examples ``i`` and ``j``
    agree (``c_i . c_j + (1 - c_i) . (1 - c_j)``), as in the authors' code
    (hooks on the ReLU modules' inputs, ``slogdet``). Computed in train mode
    (batch statistics), in double precision.

    Parameters
    ----------
    net : torch.nn.Module
        Maps ``x`` to logits; not changed.
    x : torch.Tensor of shape (batch, ...)

    Returns
    -------
    float
        ``log |det K_H|`` (nats); ``-inf`` if ``K_H`` is singular: two
        examples with identical codes, or fewer ReLU units than examples
        (``K_H`` has rank at most ``N_A + 1``; e.g. a 32-node graph network
        on the 64-example minibatch).

    Raises
    ------
    ValueError
        If the forward pass calls no ReLU (the score is undefined).
    """
    with _scratch(net) as work, torch.no_grad():
        codes = _ReluCodes()
        with codes:
            work(x)
    if not codes.codes:
        raise ValueError("NASWOT needs ReLU activations: this network calls no ReLU")
    c = torch.cat(codes.codes, dim=1)  # (batch, N_A)
    kernel = c @ c.T + (1.0 - c) @ (1.0 - c).T
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) != 0 else -math.inf


def synflow(net: nn.Module, x: torch.Tensor) -> float:
    """Synaptic flow: ``sum |theta * dR/dtheta|`` with ``R = 1^T (prod_l |theta_l|) 1`` (Tanaka et al. 2020).

    As in Abdelfattah et al.'s ``compute_synflow_per_weight``: every entry of
    the state dict is made absolute, the network runs in double precision on
    one all-ones input of an example's shape, ``R`` is the sum of its outputs,
    and the score sums ``|theta * dR/dtheta|`` over the present connection
    weights. Batch norm runs in eval mode, so it applies its initial running
    statistics (mean 0, variance 1) and is almost the identity: it is bypassed
    as in their ``bn=False`` copy. Double precision keeps the product of
    absolute weights from overflowing. Works on a copy: the weights' signs
    are never changed in ``net``.

    Parameters
    ----------
    net : torch.nn.Module
        Not changed.
    x : torch.Tensor of shape (batch, ...)
        Only the shape of one example is used.

    Returns
    -------
    float
        The synaptic flow (units of the output, times weights); may be
        ``inf`` for very deep networks.
    """
    with _scratch(net, train=False) as work:
        work.double()
        with torch.no_grad():
            for value in work.state_dict().values():
                if value.is_floating_point():
                    value.abs_()
        work(torch.ones((1, *x.shape[1:]), dtype=torch.float64)).sum().backward()
        return _present_sum([((w * w.grad).abs(), m) for w, m in weights(work) if w.grad is not None])


def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """SNIP connection sensitivity: ``sum |dL/dtheta * theta|`` over the present weights (Lee et al. 2019).

    ``L`` is the mean cross-entropy of the minibatch, in train mode;
    Abdelfattah et al. sum the same per-weight saliency (their ``weight_mask``
    gradient) over all layers.

    Parameters
    ----------
    net : torch.nn.Module
        Maps ``x`` to logits; not changed.
    x : torch.Tensor of shape (batch, ...)
    y : torch.Tensor of int64, shape (batch,)
        Class labels.

    Returns
    -------
    float
        The summed saliency (nats of loss).
    """
    with _scratch(net) as work:
        return _present_sum([((w * g).abs(), m) for w, g, m in _loss_gradients(work, x, y)])


def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """L2 norm of the gradient of the minibatch's mean cross-entropy over all present connection weights.

    The global norm ``sqrt(sum_l ||g_l||^2)``; Abdelfattah et al.'s
    ``grad_norm`` sums the per-layer norms ``sum_l ||g_l||`` instead (same
    ranking for one layer, not in general).

    Parameters
    ----------
    net : torch.nn.Module
        Not changed.
    x : torch.Tensor of shape (batch, ...)
    y : torch.Tensor of int64, shape (batch,)

    Returns
    -------
    float
        The norm (nats of loss per unit weight).
    """
    with _scratch(net) as work:
        return math.sqrt(_present_sum([(g.double() ** 2, m) for _, g, m in _loss_gradients(work, x, y)]))


def jacob_cov(net: nn.Module, x: torch.Tensor) -> float:
    """Jacobian covariance score ``-sum_i (log(v_i + k) + 1 / (v_i + k))``, ``k = 1e-5`` (Abdelfattah et al. 2021).

    ``v`` are the eigenvalues of the correlation matrix (over examples) of the
    input Jacobians ``J_n = d(sum of outputs)/dx_n`` of the minibatch, as in
    Abdelfattah et al.'s ``compute_jacob_cov`` after Mellor et al. (2020,
    v1); the score is highest when the Jacobians are uncorrelated. Train mode.

    Parameters
    ----------
    net : torch.nn.Module
        Not changed.
    x : torch.Tensor of shape (batch, ...)
        At least two examples.

    Returns
    -------
    float
        The score (dimensionless; large and negative for correlated
        Jacobians); ``nan`` if a Jacobian is constant (its correlation is undefined).

    Raises
    ------
    ValueError
        If the batch has fewer than two examples.
    """
    if len(x) < 2:
        raise ValueError(f"jacob_cov needs at least two examples, got {len(x)}")
    with _scratch(net) as work:
        inputs = x.detach().clone().requires_grad_(True)
        out = work(inputs)
        out.backward(torch.ones_like(out))
        jacobians = inputs.grad.reshape(len(x), -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jacobians)
    if not np.all(np.isfinite(corr)):
        return math.nan
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + JACOB_COV_EPS) + 1.0 / (v + JACOB_COV_EPS)))


def proxy_features(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float | None]:
    """All five proxies of an untrained network on one minibatch (see the module docstring).

    Parameters
    ----------
    net : torch.nn.Module
        Maps float inputs ``x`` to logits of shape (batch, n_classes); not changed.
    x : torch.Tensor of shape (batch, ...)
        The minibatch (:func:`proxy_batch`), at least two examples.
    y : torch.Tensor of int64, shape (batch,)

    Returns
    -------
    dict of str to float or None
        Keys :data:`PROXY_FEATURE_NAMES`; None where a score is not finite
        (e.g. NASWOT of a singular kernel), so records stay valid JSON and
        fitting drops the column (it needs a finite value in every record).

    Raises
    ------
    ValueError
        If the batch has fewer than two examples.
    """
    try:
        codes = naswot(net, x)
    except ValueError:  # no ReLU (e.g. a graph network without hidden units): no NASWOT score
        codes = math.nan
    values = (codes, synflow(net, x), snip(net, x, y), grad_norm(net, x, y), jacob_cov(net, x))
    return {name: (v if math.isfinite(v) else None) for name, v in zip(PROXY_FEATURE_NAMES, values)}
