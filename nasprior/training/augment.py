"""Data augmentation of image batches on tensors: random crop with padding and horizontal flip.

Also the two variants of airbench (Jordan 2024): a smaller translation
(``padding=2``, reflection padding) and the alternating flip
(:func:`alternating_flips`), which mirrors each training image in every
other epoch instead of at random.

The standard CIFAR-10 augmentation (He et al. 2016): pad each image by 4
pixels (zeros, i.e. the mean pixel of normalised data), crop a random
window of the original size and flip it horizontally with probability 1/2.
Done on a whole batch at once with one gather, on whatever device the batch
lives, so the data can stay in memory as one tensor (no torchvision needed).

References
----------
.. [He2016] K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for
   image recognition", CVPR 2016 (Sec. 4.2: the CIFAR-10 augmentation).
.. [Jordan2024] K. Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU",
   arXiv:2404.00498 (2024), Sec. 3.6 (alternating flip).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Padding modes of :func:`random_crop_flip`: zeros (the mean pixel of normalised data) or mirrored edge pixels.
PAD_MODES = ("zeros", "reflect")


def alternating_flips(first: torch.Tensor, epoch: int) -> torch.Tensor:
    """Which images to mirror in ``epoch`` under the alternating flip (Jordan 2024, Sec. 3.6).

    Each image is mirrored in every other epoch: in odd epochs (1, 3, ...)
    where ``first`` is True, in even epochs where it is False. Over any two
    consecutive epochs the network sees every image both ways, where random
    flips repeat the same view with probability 1/2.

    Parameters
    ----------
    first : torch.Tensor of bool, shape (n,)
        Per training image, whether it is mirrored in the first epoch (drawn
        once, with probability 1/2, for the whole training).
    epoch : int
        From 1.

    Returns
    -------
    torch.Tensor of bool, shape (n,)
    """
    return first if epoch % 2 == 1 else ~first


def random_crop_flip(
    images: torch.Tensor,
    padding: int = 4,
    generator: torch.Generator | None = None,
    flip: torch.Tensor | None = None,
    pad_mode: str = "zeros",
) -> torch.Tensor:
    """Randomly cropped (after padding) and horizontally flipped copies of a batch of images.

    Parameters
    ----------
    images : torch.Tensor of shape (batch, H, W) or (batch, H, W, C)
        Normalised images, channels last (the layout of :mod:`nasprior.tasks`).
    padding : int
        Pixels of zero padding on each side before cropping (>= 0).
    generator : torch.Generator, optional
        CPU generator of the shifts and flips (seeded for reproducible runs).
    flip : torch.Tensor of bool, shape (batch,), optional
        Which images to mirror (e.g. :func:`alternating_flips`); default: each with probability 1/2.
    pad_mode : {"zeros", "reflect"}
        :data:`PAD_MODES`; airbench translates by 2 pixels with reflection padding.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``images``.

    Raises
    ------
    ValueError
        If ``images`` is not 3- or 4-dimensional, ``padding`` is negative or ``pad_mode`` unknown.
    """
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (batch, H, W) or (batch, H, W, C), got {tuple(images.shape)}")
    if padding < 0:
        raise ValueError(f"padding = {padding} is invalid: use 0 or more")
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode {pad_mode!r} is unknown: use one of {', '.join(PAD_MODES)}")
    batch, height, width = images.shape[:3]
    x = images if images.ndim == 4 else images.unsqueeze(-1)  # (batch, H, W, C)
    if pad_mode == "zeros":
        padded = F.pad(x, (0, 0, padding, padding, padding, padding))  # (batch, H + 2p, W + 2p, C)
    else:
        padded = F.pad(x.permute(0, 3, 1, 2), (padding,) * 4, mode="reflect").permute(0, 2, 3, 1)
    dy = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    drawn = torch.rand(batch, generator=generator) < 0.5  # drawn either way: the same random stream
    flip = (drawn if flip is None else flip).to(images.device)
    cols = torch.arange(width, device=images.device)
    cols = torch.where(flip[:, None], width - 1 - cols, cols) + dx[:, None]  # (batch, W), flipped where drawn
    rows = torch.arange(height, device=images.device) + dy[:, None]  # (batch, H)
    out = padded[torch.arange(batch, device=images.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out if images.ndim == 4 else out.squeeze(-1)
