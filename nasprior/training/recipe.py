"""Components of a fast CIFAR-10 training recipe, each an opt-in option of :class:`~nasprior.training.TrainConfig`.

The tricks of Keller Jordan's cifar10-airbench (2024), which trains a small
VGG-like network to 94% CIFAR-10 test accuracy in under 10 epochs, most of
them from David Page's "How to train your ResNet" (2018) and hlb-cifar10:

* the patch-whitening stem (:class:`nasprior.networks.convolutional.PatchWhitening`, which
  lives with the networks it is a layer of): a frozen first convolution whose filters whiten 2x2 image patches, fitted on training images (Page 2018; airbench);
* :func:`dirac_init_`: identity initialisation of convolutions (airbench's
  ``main2_dirac``; Zagoruyko & Komodakis 2017, DiracNets);
* :func:`param_groups`: a scaled learning rate for batch-norm biases and no
  weight decay on norm/bias parameters (airbench scales BN bias lr by 64;
  Goyal et al. 2017 apply no decay to BN parameters);
* the warm-up then linear decay schedule (``schedule = "warmup_linear"``,
  :func:`nasprior.training.schedules.warmup_linear_scheduler`, with torch's own schedulers);
* :func:`make_ema`: an exponential moving average of the weights and batch
  norm buffers, evaluated in place of the raw weights (Polyak & Juditsky
  1992; the EMA form used by hlb-cifar10 and airbench's Lookahead-EMA);
* :func:`tta_probabilities`: test-time augmentation, the mean class
  probabilities of an image and its mirror image (and 1-pixel translations).

The alternating flip and the 2-pixel translation are in :mod:`nasprior.training.augment`.

References
----------
.. [Jordan2024] K. Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU",
   arXiv:2404.00498 (2024); code: github.com/KellerJordan/cifar10-airbench.
.. [Page2018] D. Page, "How to train your ResNet" (blog series, Myrtle.ai, 2018).
.. [Goyal2017] P. Goyal et al., "Accurate, large minibatch SGD: training
   ImageNet in 1 hour", arXiv:1706.02677 (2017).
.. [Polyak1992] B. T. Polyak and A. B. Juditsky, "Acceleration of stochastic
   approximation by averaging", SIAM J. Control Optim. 30(4), 1992.
.. [Zagoruyko2017] S. Zagoruyko and N. Komodakis, "DiracNets: training very
   deep neural networks without skip-connections", arXiv:1706.00388 (2017).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

#: Test-time augmentations of :func:`tta_probabilities`: none; the image and its mirror image; those two and
#: both translated by one pixel up-left and down-right (airbench's level-2 TTA, here equally weighted).
TTA_MODES = ("none", "flip", "flip_translate")


@torch.no_grad()
def dirac_init_(model: nn.Module) -> int:
    """Identity-initialise the convolutions of ``model`` in place, on the part of each weight that fits.

    For a dense convolution with ``c_out`` filters over ``c_in`` channels,
    the first ``min(c_out, c_in)`` filters pass channel ``i`` through
    (:func:`torch.nn.init.dirac_` on ``weight[:m, :m]``); the other filters
    keep their random initialisation, as airbench does (Jordan 2024,
    ``main2_dirac``; Zagoruyko & Komodakis 2017). A depthwise convolution
    (``groups == c_in == c_out``) becomes the identity per channel. Other
    grouped convolutions and frozen weights are left alone.

    Returns
    -------
    int
        The convolutions initialised.
    """
    count = 0
    for module in model.modules():
        if not isinstance(module, nn.Conv2d) or not module.weight.requires_grad:
            continue
        weight = module.weight
        if module.groups == 1:
            m = min(weight.shape[0], weight.shape[1])
            nn.init.dirac_(weight[:m, :m])
        elif module.groups == module.in_channels == module.out_channels:
            nn.init.dirac_(weight, groups=module.groups)
        else:
            continue
        count += 1
    return count


def param_groups(
    model: nn.Module, lr: float, weight_decay: float, bn_bias_lr_scale: float = 1.0, no_decay_norm_bias: bool = False
) -> list[dict]:
    """Optimiser parameter groups with a scaled batch-norm bias learning rate and optional no decay on norm/bias.

    Parameters
    ----------
    model : torch.nn.Module
    lr, weight_decay : float
        The base learning rate and L2 penalty.
    bn_bias_lr_scale : float
        Learning-rate multiplier of the biases of batch-norm layers (airbench: 64, with its batch-norm scales
        frozen; Jordan 2024 ``main3_scalebias``).
    no_decay_norm_bias : bool
        No weight decay on the parameters of normalisation layers and on every bias (Goyal et al. 2017, Sec. 5.1
        apply none to BN's gamma and beta).

    Returns
    -------
    list of dict
        ``params``, ``lr``, ``weight_decay`` per group; groups that would be empty are left out. Parameters with
        ``requires_grad = False`` are left out.
    """
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)
    bn_bias, norm_or_bias, other = [], [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            if isinstance(module, norm_types) and name == "bias":
                bn_bias.append(param)
            elif isinstance(module, norm_types) or name == "bias":
                norm_or_bias.append(param)
            else:
                other.append(param)
    nb_decay = 0.0 if no_decay_norm_bias else weight_decay
    groups = [
        {"params": other, "lr": lr, "weight_decay": weight_decay},
        {"params": norm_or_bias, "lr": lr, "weight_decay": nb_decay},
        {"params": bn_bias, "lr": lr * bn_bias_lr_scale, "weight_decay": nb_decay},
    ]
    return [g for g in groups if g["params"]]


def ema_decay_at(decay: float, n_averaged: int) -> float:
    """Decay of the EMA update after ``n_averaged`` updates: ``min(decay, (1 + n) / (10 + n))``.

    The warm-up of TensorFlow's ``ExponentialMovingAverage(num_updates=...)``:
    early updates move the average fast, so a short training is not averaged
    with its random initial weights (with a fixed 0.99, 40 steps keep 67% of
    the first step's weights and scored chance accuracy in a 1-epoch smoke run).
    """
    return min(decay, (1.0 + n_averaged) / (10.0 + n_averaged))


def make_ema(model: nn.Module, decay: float) -> AveragedModel:
    """An exponential moving average of the weights and buffers of ``model``.

    After each :meth:`~torch.optim.swa_utils.AveragedModel.update_parameters`,
    ``ema = d * ema + (1 - d) * weights`` for every parameter and buffer
    (batch-norm running statistics included: ``use_buffers=True``), so the
    average can be evaluated directly (Polyak & Juditsky 1992), with
    ``d = ema_decay_at(decay, updates so far)`` (:func:`ema_decay_at`) and
    the update itself torch's :func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`.

    Parameters
    ----------
    model : torch.nn.Module
    decay : float
        In (0, 1).

    Returns
    -------
    torch.optim.swa_utils.AveragedModel
        Its ``module`` is a copy of ``model`` holding the average.
    """

    def update(ema_params: list, params: list, n_averaged: torch.Tensor) -> None:
        get_ema_multi_avg_fn(ema_decay_at(decay, int(n_averaged)))(ema_params, params, n_averaged)

    return AveragedModel(model, multi_avg_fn=update, use_buffers=True)


def _translate(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Images (batch, H, W[, C]) shifted by ``dy`` rows and ``dx`` columns, edges filled by reflection."""
    x = images if images.ndim == 4 else images.unsqueeze(-1)
    p = max(abs(dy), abs(dx))
    padded = F.pad(x.permute(0, 3, 1, 2), (p, p, p, p), mode="reflect").permute(0, 2, 3, 1)
    h, w = x.shape[1], x.shape[2]
    out = padded[:, p - dy : p - dy + h, p - dx : p - dx + w]
    return out if images.ndim == 4 else out.squeeze(-1)


@torch.no_grad()
def tta_probabilities(model: nn.Module, images: torch.Tensor, mode: str = "flip") -> torch.Tensor:
    """Class probabilities averaged over test-time augmentations of a batch of images.

    Parameters
    ----------
    model : torch.nn.Module
        Maps images to logits (batch, n_classes).
    images : torch.Tensor of shape (batch, H, W) or (batch, H, W, C)
        Channels last, as the tasks give them.
    mode : {"none", "flip", "flip_translate"}
        :data:`TTA_MODES`: the mean softmax over the image alone; over it and
        its horizontal mirror image; or over those two and both of them
        translated by one pixel up-left and down-right (6 views; Jordan 2024).

    Returns
    -------
    torch.Tensor of shape (batch, n_classes)
        Rows sum to 1.

    Raises
    ------
    ValueError
        If ``mode`` is unknown or the images are not 3- or 4-dimensional.
    """
    if mode not in TTA_MODES:
        raise ValueError(f"tta mode {mode!r} is unknown: use one of {', '.join(TTA_MODES)}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (batch, H, W) or (batch, H, W, C), got {tuple(images.shape)}")
    views = [images]
    if mode != "none":
        views.append(images.flip(2))
    if mode == "flip_translate":
        views += [_translate(v, d, d) for d in (-1, 1) for v in views[:2]]
    return torch.stack([torch.softmax(model(v).float(), dim=1) for v in views]).mean(dim=0)
