"""Data augmentation of image batches on tensors: random crop with padding and horizontal flip.

The standard CIFAR-10 augmentation (He et al. 2016): pad each image by 4
pixels (zeros, i.e. the mean pixel of normalised data), crop a random
window of the original size and flip it horizontally with probability 1/2.
Done on a whole batch at once with one gather, on whatever device the batch
lives, so the data can stay in memory as one tensor (no torchvision needed).

References
----------
.. [He2016] K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for
   image recognition", CVPR 2016 (Sec. 4.2: the CIFAR-10 augmentation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(images: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Randomly cropped (after zero padding) and horizontally flipped copies of a batch of images.

    Parameters
    ----------
    images : torch.Tensor of shape (batch, H, W) or (batch, H, W, C)
        Normalised images, channels last (the layout of :mod:`nasprior.tasks`).
    padding : int
        Pixels of zero padding on each side before cropping (>= 0).
    generator : torch.Generator, optional
        CPU generator of the shifts and flips (seeded for reproducible runs).

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``images``.

    Raises
    ------
    ValueError
        If ``images`` is not 3- or 4-dimensional or ``padding`` is negative.
    """
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (batch, H, W) or (batch, H, W, C), got {tuple(images.shape)}")
    if padding < 0:
        raise ValueError(f"padding = {padding} is invalid: use 0 or more")
    batch, height, width = images.shape[:3]
    x = images if images.ndim == 4 else images.unsqueeze(-1)  # (batch, H, W, C)
    padded = F.pad(x, (0, 0, padding, padding, padding, padding))  # (batch, H + 2p, W + 2p, C)
    dy = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (batch,), generator=generator).to(images.device)
    flip = (torch.rand(batch, generator=generator) < 0.5).to(images.device)
    cols = torch.arange(width, device=images.device)
    cols = torch.where(flip[:, None], width - 1 - cols, cols) + dx[:, None]  # (batch, W), flipped where drawn
    rows = torch.arange(height, device=images.device) + dy[:, None]  # (batch, H)
    out = padded[torch.arange(batch, device=images.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out if images.ndim == 4 else out.squeeze(-1)
