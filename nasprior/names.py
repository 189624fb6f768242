"""The small name lists that both the command-line parsers and the modules that own them need.

Defined once here, with the standard library only, so that building the
``nasprior`` argument parser (:mod:`nasprior.cli.parsers`) imports neither
torch nor scikit-learn. Each list is re-exported by the module that owns its
meaning (for example :data:`nasprior.search.config.STRATEGIES`); the
registries stay the truth for what is registered: a test checks that the
built-in tasks of :data:`nasprior.tasks.TASKS` are :data:`TASK_NAMES`, in order.
"""

from __future__ import annotations

#: Objectives a search may optimise, with their DEAP fitness weight (+1 maximise, -1 minimise):
#: validation accuracy, non-zero weights, multiply-accumulates per example.
OBJECTIVES = {"accuracy": 1.0, "weights": -1.0, "flops": -1.0}
#: Search strategies (see :mod:`nasprior.search.ga`).
STRATEGIES = ("ga-skip", "ga", "ga-screen", "random")
#: Devices a candidate may train on; ``auto`` is CUDA where available, else the CPU.
DEVICES = ("auto", "cpu", "cuda")
#: Pruning schemes of :mod:`nasprior.sparsity.pruning` (Stier et al.'s class-blinded, -uniform, -distributed, and random).
PRUNE_SCHEMES = ("class-blinded", "class-uniform", "class-distributed", "random")
#: The built-in tasks of :data:`nasprior.tasks.TASKS`, in registration order.
TASK_NAMES = ("cifar10", "mnist", "digits", "reber", "reber_generated", "reber_embedded")
