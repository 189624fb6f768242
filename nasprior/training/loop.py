"""The training loop shared by every feedforward task.

One loop: mini-batches from tensors in memory, Adam or SGD, a budget in
epochs, early stopping on validation accuracy, the best epoch's weights
restored at the end, masks re-applied after every optimiser step.

What a CNN on CIFAR-10 needs is switched on by :class:`TrainConfig` fields
whose defaults keep the plain loop: random crop and flip
(:func:`nasprior.training.augment.random_crop_flip`), SGD with Nesterov momentum, a
cosine or one-cycle learning-rate schedule (Loshchilov & Hutter 2017; Smith
& Topin 2019), label smoothing (Szegedy et al. 2016), ``channels_last``
memory, bfloat16 autocast on a GPU, and a seeded subset of the training
images (a low screening fidelity). The fast-training recipe of airbench
(Jordan 2024; :mod:`nasprior.training.recipe`) adds, each opt-in: a frozen
patch-whitening stem, identity initialisation, a scaled batch-norm bias
learning rate, warm-up then linear decay, the alternating flip and a
2-pixel translation, an EMA of the weights and test-time augmentation.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CandidateError, ConfigError
from ..names import DEVICES  # defined once there, for the CLI parsers too
from ..sparsity.set_rewiring import SETCallback
from .augment import PAD_MODES, alternating_flips, random_crop_flip
from .recipe import TTA_MODES, dirac_init_, make_ema, param_groups, tta_probabilities
from .schedules import SCHEDULES, lr_scheduler

OPTIMIZERS = ("adam", "sgd")
#: Horizontal flips of ``augment``: each image with probability 1/2, or every other epoch (airbench).
FLIPS = ("random", "alternating")
#: Training images the patch-whitening stem is fitted on (airbench: 5,000).
WHITEN_IMAGES = 5000
#: Backend of ``TrainConfig.compile`` (:func:`torch.compile`; inductor generates C++/OpenMP kernels on a CPU).
COMPILE_BACKEND = "inductor"


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run.

    Parameters
    ----------
    epochs : int
        Budget: maximum passes over the training split (>= 1).
    batch_size : int
        Examples per optimiser step (>= 1).
    optimizer : {"adam", "sgd"}
        SGD uses momentum 0.9.
    lr : float
        Learning rate (> 0).
    weight_decay : float
        L2 penalty (>= 0).
    patience : int
        Stop after this many epochs without a better validation accuracy
        (0 disables early stopping).
    seed : int
        Seed of weight initialisation and batch order.
    grad_clip : float
        Clip the gradient's global L2 norm to this value before each step
        (:func:`torch.nn.utils.clip_grad_norm_`; Pascanu et al. 2013, used
        with 5 for recurrent nets by Stier et al. 2021); 0 disables clipping.
    set_zeta : float
        Sparse Evolutionary Training (Mocanu et al. 2018): after each epoch,
        every hidden masked layer loses the fraction ``set_zeta`` of its
        weights closest to zero and regrows as many at random
        (:class:`~nasprior.sparsity.set_rewiring.SETCallback`, seeded by ``seed``);
        density stays fixed. 0 (the default) keeps the masks static. The
        record's features describe the initial topology.
    bucket_by_length : bool
        For right-padded id sequences (2-d integer inputs, padding id 0):
        draw each epoch's batches from strings of similar length
        (:func:`length_bucketed_batches`), so a recurrent network computes
        few padded steps. False (the default) draws uniformly random batches.
    device : {"auto", "cpu", "cuda"}
        Where to train (see :func:`resolve_device`).
    augment : bool
        Random crop (4 pixels of padding) and horizontal flip of every
        training batch of images (:func:`nasprior.training.augment.random_crop_flip`);
        ignored for inputs that are not images.
    nesterov : bool
        Nesterov momentum for ``optimizer="sgd"``.
    schedule : {"constant", "cosine", "onecycle", "warmup_linear"}
        Learning rate per step (:data:`SCHEDULES`); the budget is ``epochs``.
    label_smoothing : float
        In [0, 1): cross-entropy against smoothed targets (0.1 is usual).
    channels_last : bool
        Keep 4-d weights in ``torch.channels_last`` memory (faster convolutions;
        the image batches are channels-last already).
    amp : bool
        bfloat16 autocast on a GPU (ignored on the CPU).
    train_subset : int
        Train on a seeded subset of this many training images (0: all); a
        low fidelity for screening.
    fused_optimizer : bool
        Use torch's fused Adam/SGD kernel (``fused=True``: one kernel for
        all parameters; the same update to rounding, 2e-7 after 100 Adam
        steps) instead of one update per parameter tensor. A recurrent
        graph network has about a hundred small parameter tensors: one Adam
        step took 0.7 ms fused against 6.7 ms (torch 2.13, 1 thread).
    warmup_fraction : float
        In [0, 1): share of the steps the ``warmup_linear`` schedule warms up
        (:func:`nasprior.training.schedules.warmup_linear_scheduler`; Goyal et al. 2017).
    crop_padding : int
        Pixels of padding of the ``augment`` random crop (>= 0): 4 is the
        usual CIFAR-10 crop, 2 airbench's translation (Jordan 2024).
    pad_mode : {"zeros", "reflect"}
        Padding of the crop (:data:`nasprior.training.augment.PAD_MODES`).
    flip : {"random", "alternating"}
        Flips of ``augment``: random, or each image mirrored every other
        epoch (:func:`nasprior.training.augment.alternating_flips`; Jordan 2024).
    whiten_stem : bool
        Replace the network's stem by a frozen 2x2 patch-whitening layer
        fitted on the first :data:`WHITEN_IMAGES` training images
        (:class:`nasprior.training.recipe.PatchWhitening`; Page 2018, Jordan 2024).
        Needs a network with a ``use_whitening_stem`` method (the
        convolutional mapping).
    dirac_init : bool
        Identity-initialise the convolutions before training
        (:func:`nasprior.training.recipe.dirac_init_`).
    bn_bias_lr_scale : float
        Learning-rate multiplier of batch-norm biases (> 0; airbench: 64).
    no_decay_norm_bias : bool
        No weight decay on norm-layer parameters and biases
        (:func:`nasprior.training.recipe.param_groups`).
    ema_decay : float
        In [0, 1): evaluate (and keep) an exponential moving average of the
        weights and batch-norm buffers, updated after every step
        (:func:`nasprior.training.recipe.make_ema`; Polyak & Juditsky 1992); 0: the raw weights.
    tta : {"none", "flip", "flip_translate"}
        Test-time augmentation of the kept weights' validation and test scores
        (:func:`nasprior.training.recipe.tta_probabilities`); the per-epoch
        validation of the curve and of the best-epoch choice is scored without
        it (it costs 2 or 6 forward passes per image: with ``flip_translate``
        about a fifth of a CIFAR-10 epoch each time).
    width_multiplier : float
        Channels of a convolutional network scaled by this factor, the graph
        unchanged (> 0; applied when the network is built,
        :func:`nasprior.networks.convolutional.widen`): a cheap screening at
        1 and a wider final training.
    stem_pool : int
        Max-pool a convolutional network's stem output by this window before
        the first stage (>= 1; 1: none; applied when the network is built,
        :meth:`nasprior.networks.convolutional.RandWireNetwork.pool_stem`):
        every stage at half the resolution for 2, so a doubled width costs
        the multiply-accumulates of the screened network.
    score_test : bool
        Score the test split after training (``test_acc``; the training
        loop never sees it). A screening may leave it out: it chooses on
        validation accuracy alone, and scoring 10,000 CIFAR-10 test images
        costs about half an epoch of 5,000 training images.
    compile : bool
        Run the training forward and backward through :func:`torch.compile`
        (:data:`COMPILE_BACKEND`); scoring stays eager. An epoch's last,
        smaller batch is dropped (each new batch shape would compile again).
        One SGD step of the 16-channel 6-node ``conv`` candidate took 1.27x
        less time compiled, after 423 s of compiling, on a loaded machine
        (``benchmarks/results/cnn_compile.txt``): it pays after about 800
        steps (2.3 epochs of 45,000 images), so for a final training, not a
        screening.
    """

    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 2
    seed: int = 0
    grad_clip: float = 0.0
    set_zeta: float = 0.0
    device: str = "auto"
    bucket_by_length: bool = False
    augment: bool = False
    nesterov: bool = False
    schedule: str = "constant"
    label_smoothing: float = 0.0
    channels_last: bool = False
    amp: bool = False
    train_subset: int = 0
    fused_optimizer: bool = True
    warmup_fraction: float = 0.2
    crop_padding: int = 4
    pad_mode: str = "zeros"
    flip: str = "random"
    whiten_stem: bool = False
    dirac_init: bool = False
    bn_bias_lr_scale: float = 1.0
    no_decay_norm_bias: bool = False
    ema_decay: float = 0.0
    tta: str = "none"
    width_multiplier: float = 1.0
    stem_pool: int = 1
    compile: bool = False
    score_test: bool = True

    def __post_init__(self) -> None:
        bools = ("augment", "nesterov", "channels_last", "amp", "fused_optimizer", "whiten_stem", "dirac_init")
        for name in (*bools, "no_decay_norm_bias", "compile", "score_test"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"training option {name!r} = {getattr(self, name)!r} is invalid: use true or false")
        numbers = ("lr", "weight_decay", "grad_clip", "set_zeta", "label_smoothing", "warmup_fraction")
        for name in (*numbers, "bn_bias_lr_scale", "ema_decay", "width_multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"training option {name!r} = {value!r} is invalid: use a finite number")
        for name in ("epochs", "batch_size", "patience", "seed", "train_subset", "crop_padding", "stem_pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"training option {name!r} = {value!r} is invalid: use an integer")
        checks = {  # field: (valid?, what to use instead)
            "epochs": (self.epochs >= 1, "an integer >= 1"),
            "seed": (self.seed >= 0, "an integer >= 0"),
            "device": (self.device in DEVICES, f"one of {', '.join(DEVICES)}"),
            "batch_size": (self.batch_size >= 1, "an integer >= 1"),
            "optimizer": (self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
            "lr": (self.lr > 0, "a value > 0"),
            "weight_decay": (self.weight_decay >= 0, "a value >= 0"),
            "patience": (self.patience >= 0, "an integer >= 0 (0 disables early stopping)"),
            "grad_clip": (self.grad_clip >= 0, "a value >= 0 (0 disables clipping)"),
            "set_zeta": (0 <= self.set_zeta <= 1, "a fraction in [0, 1] (0.3 in Mocanu et al. 2018)"),
            "schedule": (self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
            "label_smoothing": (0 <= self.label_smoothing < 1, "a value in [0, 1) (0.1 is usual)"),
            "train_subset": (self.train_subset >= 0, "an integer >= 0 (0: every training image)"),
            "warmup_fraction": (0 <= self.warmup_fraction < 1, "a fraction in [0, 1) (0.2 is airbench's)"),
            "crop_padding": (self.crop_padding >= 0, "an integer >= 0 (4 is usual, 2 airbench's)"),
            "pad_mode": (self.pad_mode in PAD_MODES, f"one of {', '.join(PAD_MODES)}"),
            "flip": (self.flip in FLIPS, f"one of {', '.join(FLIPS)}"),
            "bn_bias_lr_scale": (self.bn_bias_lr_scale > 0, "a value > 0 (1: no scaling; 64 in airbench)"),
            "ema_decay": (0 <= self.ema_decay < 1, "a value in [0, 1) (0: no averaging; e.g. 0.99)"),
            "tta": (self.tta in TTA_MODES, f"one of {', '.join(TTA_MODES)}"),
            "width_multiplier": (self.width_multiplier > 0, "a value > 0 (1: the genome's channels)"),
            "stem_pool": (self.stem_pool >= 1, "an integer >= 1 (1: no pooling; 2 halves every stage's resolution)"),
            "nesterov": (
                not self.nesterov or self.optimizer == "sgd",
                "false with optimizer 'adam' (Nesterov is SGD's)",
            ),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ConfigError(f"training option {name!r} = {getattr(self, name)!r} is invalid: use {allowed}")

    def to_dict(self) -> dict:
        """Return the config as a JSON-able dict."""
        return asdict(self)


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    val_acc : float
        Best validation accuracy over the epochs run, in [0, 1].
    test_acc : float or None
        Test accuracy of the best epoch's weights, if a test split was given.
    curve : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_acc``.
    epochs_run : int
    train_time_s : float
        Wall time of training and evaluation, in seconds.
    timing : dict of str to float
        Where ``train_time_s`` went, in seconds over all epochs: ``train``
        (the training passes), ``val`` (validation scoring), ``test`` (test
        scoring).
    """

    val_acc: float
    test_acc: float | None
    curve: list[dict] = field(default_factory=list)
    epochs_run: int = 0
    train_time_s: float = 0.0
    timing: dict = field(default_factory=dict)


def resolve_device(device: str) -> torch.device:
    """The torch device of a :attr:`TrainConfig.device` setting.

    Raises
    ------
    ConfigError
        If ``cuda`` is asked for and no GPU is available to this torch build.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device 'cuda' was asked for but torch sees no GPU (a CPU build, or no driver): use --device cpu or auto"
        )
    return torch.device(device)


def _autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast on a GPU when ``enabled``, else a no-op context."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def length_bucketed_batches(lengths: torch.Tensor, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches of example indices, each holding examples of similar length.

    Shuffles the examples, sorts them by length (stably, so examples of one
    length stay in random order), cuts the sorted order into batches of
    ``batch_size`` and shuffles the order of the batches. Every example is
    used once per epoch, as with uniformly random batches; a batch of
    strings padded only to its own longest string costs a recurrent network
    few padded time steps ("bucketing", e.g. Khomenko et al. 2016).

    Parameters
    ----------
    lengths : torch.Tensor of int, shape (n,)
        Length of each example.
    batch_size : int
        Examples per batch (>= 1); the last batch of the sorted order may be smaller.
    generator : torch.Generator
        Source of both shuffles.

    Returns
    -------
    list of torch.Tensor of int64
        Index batches covering ``range(n)`` exactly once.
    """
    order = torch.randperm(len(lengths), generator=generator)
    order = order[torch.sort(lengths[order], stable=True).indices]
    batches = list(torch.split(order, batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


#: Evaluation batch of image tensors (batch, channels, H, W). Convolutional activations of large batches
#: leave the CPU caches: a randomly wired 16-channel CNN scored 0.24 ms per image at batch 128 and 1.53 ms
#: at batch 2048 (2 threads, torch 2.13).
IMAGE_EVAL_BATCH = 128
#: Evaluation batch of flat or sequence inputs (MLPs, recurrent networks: larger is faster there).
EVAL_BATCH = 2048


@torch.no_grad()
def accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None, tta: str = "none"
) -> float:
    """Fraction of examples whose arg-max logit (or test-time-augmented probability) equals the label.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (batch, ...) to logits (batch, n_classes).
    x : torch.Tensor of shape (n, ...)
    y : torch.Tensor of int64, shape (n,)
    batch_size : int, optional
        Examples per forward pass; default :data:`IMAGE_EVAL_BATCH` for
        image tensors (4-D ``x``), else :data:`EVAL_BATCH`.
    tta : {"none", "flip", "flip_translate"}
        Test-time augmentation of image inputs (3- or 4-d ``x``;
        :func:`nasprior.training.recipe.tta_probabilities`); ignored for other inputs.
    """
    model.eval()
    device = next(model.parameters()).device
    batch_size = batch_size or (IMAGE_EVAL_BATCH if x.dim() == 4 else EVAL_BATCH)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device)
            logits = tta_probabilities(model, xb, tta) if tta != "none" and x.ndim in (3, 4) else model(xb)
            correct += int((logits.argmax(dim=1).cpu() == y[i : i + batch_size]).sum())
    return correct / max(1, len(x))


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    config: TrainConfig,
    x_test: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    epoch_callback: Callable[[nn.Module, int], None] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    fit_epochs: Callable[[float], int] | None = None,
) -> TrainResult:
    """Train a classifier with early stopping on validation accuracy.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (batch, ...) to logits (batch, n_classes). If it has an
        ``apply_masks()`` method (every :class:`~nasprior.networks.SparseNetwork`),
        it is called after each optimiser step.
    x_train, y_train, x_val, y_val : torch.Tensor
        Inputs of shape (n, ...) and int64 labels of shape (n,).
    config : TrainConfig
    x_test, y_test : torch.Tensor, optional
        Scored once, with the best epoch's weights; never used for stopping.
    epoch_callback : callable, optional
        ``epoch_callback(model, epoch)`` after each epoch's validation (epoch
        from 1), unless training stops there; e.g.
        :class:`nasprior.sparsity.set_rewiring.SETCallback` (SET rewiring).
    progress : callable, optional
        ``progress(epoch, epochs, val_acc)`` after each epoch's validation,
        for a live display (:mod:`nasprior.compute.progress`).
    fit_epochs : callable, optional
        A time budget: ``fit_epochs(seconds)`` is called once, after the
        first epoch, with that epoch's seconds (training and validation),
        and returns the epochs to run in all (1 to ``config.epochs``); the
        learning-rate schedule spans those from the second epoch on
        (:func:`nasprior.search.final.epochs_within`). None: ``config.epochs``.

    Returns
    -------
    TrainResult
        With ``ema_decay`` set, validation scores the average and ``model``
        ends holding the best epoch's average (the weights evaluated).

    Raises
    ------
    CandidateError
        If a batch's training loss is not finite (the candidate diverged, e.g.
        at a learning rate far too high); a search logs it as ``failed``.
    ConfigError
        If ``config.device`` is ``cuda`` and no GPU is available, ``whiten_stem``
        is set for a network without a stem, or ``bucket_by_length`` for inputs
        that are not id sequences.
    """
    start = time.perf_counter()
    device = resolve_device(config.device)
    generator = torch.Generator().manual_seed(config.seed)
    if config.train_subset and config.train_subset < len(x_train):
        keep = torch.randperm(len(x_train), generator=generator)[: config.train_subset]
        x_train, y_train = x_train[keep], y_train[keep]
    if config.whiten_stem:
        if not hasattr(model, "use_whitening_stem"):
            raise ConfigError(
                f"whiten_stem needs a convolutional network; {type(model).__name__} has no stem: set whiten_stem = false"
            )
        model.use_whitening_stem(x_train[:WHITEN_IMAGES])
    if config.dirac_init:
        dirac_init_(model)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    if device.type == "cuda":  # the data fits: index batches on the GPU
        x_train, y_train = x_train.to(device), y_train.to(device)
        torch.backends.cudnn.benchmark = True
    fused = True if config.fused_optimizer else None  # None: torch's default per-tensor (or foreach) update
    params = model.parameters()
    if config.bn_bias_lr_scale != 1 or config.no_decay_norm_bias:
        params = param_groups(model, config.lr, config.weight_decay, config.bn_bias_lr_scale, config.no_decay_norm_bias)
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    else:
        optimizer = torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=0.9,
            weight_decay=config.weight_decay,
            nesterov=config.nesterov,
            fused=fused,
        )
    apply_masks = getattr(model, "apply_masks", lambda: None)
    callbacks = [epoch_callback] if epoch_callback is not None else []
    if config.set_zeta > 0:
        callbacks.append(SETCallback(config.set_zeta, seed=config.seed))
    augment = config.augment and x_train.ndim in (3, 4)
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    n_steps, step = config.epochs * steps_per_epoch, 0
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    scheduler = lr_scheduler(optimizer, config.schedule, n_steps, config.warmup_fraction)  # sets the first lr
    first_flips = (
        torch.rand(len(x_train), generator=generator) < 0.5 if augment and config.flip == "alternating" else None
    )
    ema = make_ema(model, config.ema_decay) if config.ema_decay > 0 else None
    scored = model if ema is None else ema.module  # the weights validation (and the test) score
    forward = torch.compile(model, backend=COMPILE_BACKEND) if config.compile else model
    best_acc, best_state, since_best = -1.0, None, 0
    curve = []
    if config.bucket_by_length:
        if x_train.ndim != 2 or x_train.is_floating_point():
            raise ConfigError(
                "bucket_by_length needs right-padded id sequences (2-d integer inputs): "
                f"got {x_train.ndim}-d {x_train.dtype} inputs; set bucket_by_length = false"
            )
        lengths = (x_train != 0).sum(dim=1)
    timing = {"train": 0.0, "val": 0.0, "test": 0.0}
    epochs = config.epochs
    for epoch in range(1, config.epochs + 1):
        if epoch > epochs:
            break
        epoch_start = time.perf_counter()
        model.train()
        if config.bucket_by_length:
            batches = length_bucketed_batches(lengths, config.batch_size, generator)
        else:
            batches = torch.randperm(len(x_train), generator=generator).to(x_train.device).split(config.batch_size)
        if config.compile and len(batches) > 1 and len(batches[-1]) < len(batches[0]):
            batches = batches[:-1]  # one batch shape: one compilation
        total_loss, seen = 0.0, 0
        for idx in batches:
            xb = x_train[idx]
            if augment:
                flip = None if first_flips is None else alternating_flips(first_flips, epoch)[idx.cpu()]
                xb = random_crop_flip(xb, config.crop_padding, generator, flip=flip, pad_mode=config.pad_mode)
            with _autocast(device, config.amp):
                logits = forward(xb.to(device))
            loss = F.cross_entropy(logits.float(), y_train[idx].to(device), label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            apply_masks()
            batch_loss = loss.item()
            if not math.isfinite(batch_loss):  # the candidate diverged: weights are NaN/inf from here on
                raise CandidateError(
                    f"training loss is {batch_loss} at epoch {epoch}, step {step + 1}: the candidate diverged "
                    f"(learning rate {config.lr:g}; a lower one, or grad_clip, may train it)"
                )
            if scheduler is not None:
                scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            total_loss += batch_loss * len(idx)
            seen += len(idx)
            step += 1
        val_start = time.perf_counter()
        timing["train"] += val_start - epoch_start
        with _autocast(device, config.amp):  # per epoch without test-time augmentation (6x the cost)
            val_acc = accuracy(scored, x_val, y_val)
        timing["val"] += time.perf_counter() - val_start
        if epoch == 1 and fit_epochs is not None:
            epochs = max(1, min(config.epochs, int(fit_epochs(time.perf_counter() - epoch_start))))
            n_steps = epochs * steps_per_epoch
            if scheduler is not None:  # the schedule spans the epochs chosen: rebuilt, then moved to this step
                for group, base in zip(optimizer.param_groups, base_lrs):
                    group["lr"] = base  # schedulers scale the current lr: rebuilt from the base, not the decayed one
                scheduler = lr_scheduler(optimizer, config.schedule, n_steps, config.warmup_fraction)
                for _ in range(step):
                    scheduler.step()
        curve.append({"epoch": epoch, "train_loss": total_loss / max(1, seen), "val_acc": val_acc})
        if progress is not None:
            progress(epoch, epochs, val_acc)
        if val_acc > best_acc:
            best_acc, best_state, since_best = val_acc, copy.deepcopy(scored.state_dict()), 0
        else:
            since_best += 1
            if config.patience and since_best >= config.patience:
                break
        for callback in callbacks:
            callback(model, epoch)
    model.load_state_dict(best_state)
    if config.tta != "none":  # the kept weights' validation score with test-time augmentation, as the test's
        val_start = time.perf_counter()
        with _autocast(device, config.amp):
            best_acc = accuracy(model, x_val, y_val, tta=config.tta)
        timing["val"] += time.perf_counter() - val_start
    test_start = time.perf_counter()
    with _autocast(device, config.amp):
        test_acc = accuracy(model, x_test, y_test, tta=config.tta) if x_test is not None else None
    timing["test"] = time.perf_counter() - test_start
    return TrainResult(
        best_acc, test_acc, curve, len(curve), time.perf_counter() - start, {k: round(v, 4) for k, v in timing.items()}
    )
