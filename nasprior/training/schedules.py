"""Learning-rate schedules of the training loop, each one of torch's own schedulers.

:func:`lr_scheduler` builds the scheduler of a :class:`~nasprior.training.TrainConfig`'s
``schedule`` (:data:`SCHEDULES`): ``constant``; ``cosine``
(:class:`~torch.optim.lr_scheduler.CosineAnnealingLR`, Loshchilov & Hutter 2017);
``onecycle`` (:class:`~torch.optim.lr_scheduler.OneCycleLR`, Smith & Topin 2019);
``warmup_linear`` (:func:`warmup_linear_scheduler`: :class:`~torch.optim.lr_scheduler.LinearLR`
warm-up and decay in a :class:`~torch.optim.lr_scheduler.SequentialLR`, Goyal et al. 2017, as
in airbench). Each is stepped once after every optimiser step.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LinearLR, SequentialLR

#: Learning-rate schedules, per optimiser step, each one of torch's schedulers (:func:`lr_scheduler`):
#: constant; cosine decay to 0; one-cycle (linear rise from lr / 25 over the first 25% of steps, then
#: linear decay to 0); warm-up then linear decay (:func:`warmup_linear_scheduler`).
SCHEDULES = ("constant", "cosine", "onecycle", "warmup_linear")

#: Learning-rate factor at the first step of the warm-up of :func:`warmup_linear_scheduler` (airbench: 0.2).
WARMUP_START = 0.2


def warmup_linear_scheduler(
    optimizer: torch.optim.Optimizer, n_steps: int, warmup_fraction: float = 0.2
) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up from :data:`WARMUP_START` times each group's lr to 1 times it, then linear decay to 0.

    Built from torch's :class:`~torch.optim.lr_scheduler.LinearLR` and
    :class:`~torch.optim.lr_scheduler.SequentialLR`; step it once per optimiser
    step. The warm-up takes ``round(warmup_fraction * n_steps)`` steps (Goyal
    et al. 2017; airbench's schedule warms up from 0.2 and decays linearly to 0).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    n_steps : int
        Optimiser steps of the whole training (>= 1).
    warmup_fraction : float
        In [0, 1).

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler
        After ``s`` calls of ``step()``, the factor is ``0.2 + 0.8 s / w`` for ``s < w`` (``w`` warm-up steps)
        and ``(n_steps - s) / (n_steps - w)`` after.
    """
    warm = min(n_steps - 1, round(warmup_fraction * n_steps))
    decay = LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=n_steps - warm)
    if warm <= 0:
        return decay
    rise = LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=warm)
    return SequentialLR(optimizer, [rise, decay], milestones=[warm])


def lr_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, n_steps: int, warmup_fraction: float = 0.2
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Torch's scheduler of ``schedule`` over ``n_steps`` optimiser steps (``None`` for ``constant``).

    Step it once after each optimiser step; after ``s`` steps each group's
    learning rate is its base lr (the group's lr when the scheduler is built)
    times:

    * ``cosine``: ``(1 + cos(pi s / n_steps)) / 2``, torch's
      :class:`~torch.optim.lr_scheduler.CosineAnnealingLR` with ``T_max = n_steps``
      (Loshchilov & Hutter 2017, no restarts);
    * ``onecycle``: linear from 1/25 to 1 until ``s = n_steps / 4``, then linear
      towards 0 at ``s = n_steps`` (Smith & Topin 2019), torch's
      :class:`~torch.optim.lr_scheduler.OneCycleLR` (linear annealing, momentum
      not cycled). OneCycleLR reaches its end at its last step; here the decay
      ends one step after the last optimiser step (which keeps a small
      non-zero rate), so it is built for ``n_steps + 1`` steps with its peak
      placed at step ``n_steps / 4``;
    * ``warmup_linear``: :func:`nasprior.training.recipe.warmup_linear_scheduler`.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its groups' current learning rates are the base rates.
    schedule : {"constant", "cosine", "onecycle", "warmup_linear"}
    n_steps : int
        Optimiser steps of the whole training (>= 1).
    warmup_fraction : float
        Warm-up share of ``warmup_linear`` (ignored by the others).

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler or None

    Raises
    ------
    ValueError
        For a schedule not in :data:`SCHEDULES` (configs are checked before training).
    """
    n_steps = max(1, n_steps)
    if schedule == "constant":
        return None
    if schedule == "warmup_linear":
        return warmup_linear_scheduler(optimizer, n_steps, warmup_fraction)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps, eta_min=0.0)
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=n_steps + 1,
            pct_start=(n_steps / 4 + 1) / (n_steps + 1),
            anneal_strategy="linear",
            cycle_momentum=False,
            div_factor=25.0,
            final_div_factor=math.inf,
        )
    raise ValueError(f"unknown schedule {schedule!r}: use one of {', '.join(SCHEDULES)}")
