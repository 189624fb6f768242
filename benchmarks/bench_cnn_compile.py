"""torch.compile (inductor on the CPU) for a CNN training step and oneDNN fusion for its evaluation, against eager.

Issue 23 §5. For one candidate network of the convolutional mapping
(default: the shape of the default search's winner, gnp 6 nodes, 16
channels, ``conv``) and one batch of CIFAR-sized images:

``train``
    One SGD step (forward, cross-entropy, backward, Nesterov SGD step) in
    eager mode against the same model under ``torch.compile`` (inductor;
    compiled once, warmed up, then timed).
``eval``
    A no-grad forward pass in eager mode, under ``torch.compile``, and as a
    frozen TorchScript graph (``torch.jit.freeze`` of ``torch.jit.trace``:
    convolution + batch-norm folding and oneDNN fusion), each with
    ``torch.backends.mkldnn`` enabled (torch's default).

The variants are timed interleaved (``--repeats`` rounds, each variant once
per round, median per variant), so a shared machine's load falls on all of
them alike; the printed ratios are from this one run. Compilation time is
printed apart.

Usage::

    python benchmarks/bench_cnn_compile.py --threads 1 --repeats 15 | tee benchmarks/results/cnn_compile.txt
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from nasprior.genome import Genome, describe
from nasprior.networks import build_network
from nasprior.tasks import TaskShape

DEFAULT_GENOME = {"prior": "gnp", "mapping": "convolutional", "n_nodes": 6, "p": 0.6, "n_stages": 3, "channels": 16}
SHAPE = TaskShape("cifar10", 3072, 10, image_shape=(32, 32, 3))


def make_model(genome: Genome) -> torch.nn.Module:
    """The genome's network, weights seeded 0, channels_last as the final stage trains it."""
    torch.manual_seed(0)
    return build_network(genome, SHAPE).to(memory_format=torch.channels_last)


def train_step(model, optimizer):
    """A function doing one SGD step of ``model`` on a batch."""

    def step(x, y):
        loss = F.cross_entropy(model(x), y, label_smoothing=0.2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def timed(fn, *args) -> float:
    """Seconds of one call."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    """Time every variant interleaved and print medians and ratios against eager."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--genome", default=json.dumps({**DEFAULT_GENOME, "op": "conv"}))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    genome = Genome.from_dict(json.loads(args.genome))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 32, 32, 3, generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    print(
        f"# bench_cnn_compile: {describe(genome)}, batch {args.batch}, {args.threads} threads, torch {torch.__version__}"
    )
    print(
        f"# cpu capability {torch.backends.cpu.get_cpu_capability()}, mkldnn {torch.backends.mkldnn.is_available()} (enabled {torch.backends.mkldnn.enabled})"
    )

    variants, compile_s = {}, {}
    eager = make_model(genome).train()
    variants["train eager"] = train_step(
        eager, torch.optim.SGD(eager.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    )
    compiled = make_model(genome).train()
    opt_c = torch.optim.SGD(compiled.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    step_c = train_step(torch.compile(compiled), opt_c)
    t0 = time.perf_counter()
    for _ in range(3):  # compile, then settle
        step_c(x, y)
    compile_s["train compiled"] = time.perf_counter() - t0
    variants["train compiled"] = step_c

    net = make_model(genome).eval()
    with torch.no_grad():
        variants["eval eager"] = lambda a, b: net(a)
        compiled_eval = torch.compile(make_model(genome).eval())
        t0 = time.perf_counter()
        for _ in range(3):
            compiled_eval(x)
        compile_s["eval compiled"] = time.perf_counter() - t0
        variants["eval compiled"] = lambda a, b: compiled_eval(a)
        t0 = time.perf_counter()
        frozen = torch.jit.freeze(torch.jit.trace(make_model(genome).eval(), x))
        for _ in range(3):
            frozen(x)
        compile_s["eval jit.freeze"] = time.perf_counter() - t0
        variants["eval jit.freeze"] = lambda a, b: frozen(a)
        reference = net(x)
        for name in ("eval compiled", "eval jit.freeze"):
            out = variants[name](x, y)
            print(f"# {name}: max |logit - eager| = {(out - reference).abs().max().item():.2e}")

    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(2):  # warm-up round
        for fn in variants.values():
            with torch.set_grad_enabled(True):
                fn(x, y)
    for _ in range(args.repeats):
        for name, fn in variants.items():
            if name.startswith("eval"):
                with torch.no_grad():
                    times[name].append(timed(fn, x, y))
            else:
                times[name].append(timed(fn, x, y))
    print(
        f"\n{'variant':18s} {'median ms':>10s} {'vs eager':>9s} {'compile s':>10s}  ({args.repeats} interleaved rounds)"
    )
    for name, found in times.items():
        base = statistics.median(times[f"{name.split()[0]} eager"])
        med = statistics.median(found)
        extra = f"{compile_s[name]:10.1f}" if name in compile_s else f"{'':10s}"
        print(f"{name:18s} {1000 * med:10.1f} {base / med:8.2f}x {extra}")


if __name__ == "__main__":
    sys.exit(main())
