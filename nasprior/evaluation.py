"""Evaluate one candidate: genome -> graph -> network -> features -> training -> record.

This module owns the candidate pipeline and knows nothing of the genetic
algorithm: the search, ``nasprior sample``, the pruning experiments and the
predictors all call it. Features need only a :class:`~nasprior.tasks.TaskShape`
(inputs, classes, vocabulary), never the data.

Before a genome is built, :func:`check_cost` estimates the memory its graph,
features and network will take and the time its exact structural features
take, and refuses genomes above a limit (:data:`~nasprior.cost.DEFAULT_MAX_MEMORY_GB` or
``$NASPRIOR_MAX_MEMORY_GB``; :data:`~nasprior.cost.DEFAULT_MAX_FEATURE_S` or
``$NASPRIOR_MAX_FEATURE_S``), so that a genome such as ``gnp(n=4096, p=1)``
(8.4 million edges) fails at once with the estimate instead of filling the
machine's memory for hours.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import networkx as nx
import torch
from torch import nn

from .cost import (
    BYTES_PER_WEIGHT,
    DEFAULT_BATCH,
    check_estimate,
    check_graph,
    conv_bytes,
    feature_seconds,
    graph_bytes,
    limits,
)
from .dag import to_dag
from .errors import CandidateError, ConfigError
from .features import (
    CANDIDATE_FEATURES,
    GRAPH_CANDIDATE_FEATURES,
    graph_arrays,
    graph_features,
    graph_size_features,
    network_topology_scores,
    proxy_batch,
    proxy_features,
    size_features,
)
from .genome import Genome
from .networks import GraphNetwork, build_network
from .networks.convolutional import image_shape, shape_for_training, widen
from .networks.registry import check_task_fits
from .priors import get_prior, make_graph
from .runs.records import make_record
from .tasks import TaskData, TaskShape
from .training.loop import TrainConfig, accuracy, train


def check_limits() -> tuple[float, float]:
    """The limits of :func:`check_cost` from the environment: memory in GiB and feature time in s.

    Called before a run is created, so that a bad ``$NASPRIOR_MAX_MEMORY_GB``
    or ``$NASPRIOR_MAX_FEATURE_S`` stops the command before it writes anything
    (:func:`nasprior.cost.limits`).

    Raises
    ------
    ConfigError
        If either variable is set but not a positive number.
    """
    return limits()


def estimate_memory_bytes(genome: Genome, shape: TaskShape, batch_size: int = DEFAULT_BATCH) -> float:
    """Rough upper estimate of the memory one evaluation of ``genome`` takes, in bytes.

    The prior graph and its features cost :data:`~nasprior.cost.GRAPH_BYTES_PER_EDGE` per
    expected edge (:attr:`nasprior.priors.Prior.expected_edges`) plus the
    dense distance matrix (:func:`nasprior.cost.graph_bytes`); the
    network's masked layers cost :data:`~nasprior.cost.BYTES_PER_WEIGHT` per *possible*
    weight (masks are dense): for the graph-as-network and recurrent
    mappings about ``n_nodes**2 / 2`` hidden weights plus the input layer,
    for the layered mapping ``width * n_inputs + (n_layers - 1) * width**2``;
    the convolutional mapping's activations and weights for a batch of
    ``batch_size`` images (:func:`nasprior.cost.conv_bytes`).
    """
    prior = get_prior(genome.prior)
    edges = float(prior.expected_edges(genome))
    inputs = max(shape.n_inputs, 1)
    n = genome.get("n_nodes", 0)
    if genome.mapping == "convolutional":
        return graph_bytes(n, edges) + conv_bytes(n, genome.n_stages, genome.channels, image_shape(shape), batch_size)
    if genome.mapping == "layered":
        possible = genome.width * inputs + (genome.n_layers - 1) * genome.width**2 + genome.width * shape.n_classes
    else:
        possible = n * n / 2 + n * (inputs + shape.n_classes) * 4
    return graph_bytes(n, edges) + BYTES_PER_WEIGHT * possible


def check_cost(genome: Genome, shape: TaskShape, batch_size: int = DEFAULT_BATCH) -> tuple[float, float]:
    """Refuse a genome too large to build; return its estimated memory (GiB) and feature time (s).

    The one cost estimate of a genome (:func:`estimate_memory_bytes`; graph
    files, populations and masks are estimated in :mod:`nasprior.cost`).

    Raises
    ------
    CostError
        (a :class:`~nasprior.errors.ConfigError` and a
        :class:`~nasprior.errors.CandidateError`: a search logs the genome as
        ``failed``) if :func:`estimate_memory_bytes` exceeds ``$NASPRIOR_MAX_MEMORY_GB``
        (default :data:`~nasprior.cost.DEFAULT_MAX_MEMORY_GB`) or the estimated feature time
        (:data:`~nasprior.cost.FEATURE_S_PER_EDGE2` times the squared expected edges)
        exceeds ``$NASPRIOR_MAX_FEATURE_S`` (default
        :data:`~nasprior.cost.DEFAULT_MAX_FEATURE_S`); the message gives both estimates and
        how to raise the limits.
    """
    edges = float(get_prior(genome.prior).expected_edges(genome))
    gb = estimate_memory_bytes(genome, shape, batch_size) / 2**30
    fix = "choose fewer nodes, channels or a lower density"
    return check_estimate(f"genome {genome.to_json()} (about {edges:,.0f} edges)", gb, feature_seconds(edges), fix)


def checked_graph(genome: Genome) -> nx.Graph:
    """The prior graph of ``genome``, built only after its cost is checked (graph and features, no network).

    For paths that need a genome's graph alone: a predictor fitted on graph
    files, the report's drawing of the best genome.

    Raises
    ------
    ConfigError
        If the graph and its structural features are estimated too large
        (:func:`nasprior.cost.check_graph`).
    """
    edges = float(get_prior(genome.prior).expected_edges(genome))
    check_graph(f"the prior graph of genome {genome.to_json()}", genome.get("n_nodes", 0), round(edges))
    return make_graph(genome)


def candidate_features(genome: Genome, shape: TaskShape, graph: nx.Graph | None = None) -> dict[str, float]:
    """Features of a candidate: structural features of its graph, size features and topology scores of its network.

    Parameters
    ----------
    genome : Genome
    shape : TaskShape
        The task's inputs, classes and vocabulary (no data needed).
    graph : networkx.Graph, optional
        The genome's prior graph if already built.

    Returns
    -------
    dict of str to float
        Keys :data:`CANDIDATE_FEATURES`.

    Raises
    ------
    ConfigError
        If the genome does not suit the task.
    CostError
        If it is too large (:func:`check_cost`).
    """
    check_task_fits(genome, shape)
    check_cost(genome, shape)
    graph = make_graph(genome) if graph is None else graph
    net = build_network(genome, shape, graph=graph)
    return _ordered({**graph_features(graph), **size_features(net), **network_topology_scores(net)}, CANDIDATE_FEATURES)


def graph_candidate_features(graph: nx.Graph | nx.DiGraph, shape: TaskShape | None = None) -> dict[str, float]:
    """Features of a graph from any source, as a candidate of the graph-as-network mapping.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        An undirected graph with sortable node labels, oriented lower ->
        higher label (:func:`nasprior.dag.to_dag`), or a DAG used as
        given; see :func:`nasprior.graph_io.read_graph` for graphs in files.
    shape : TaskShape, optional
        A feedforward task (``n_inputs > 0``, no vocabulary): the graph
        becomes the :class:`~nasprior.networks.GraphNetwork` of that task
        (Stier et al. 2021; input fully connected to the sources, sinks to the
        output), whose size features and topology scores are added, exactly
        as for a genome of mapping ``graph``. None: the graph alone defines
        the network (:func:`nasprior.features.graph_size_features`).

    Returns
    -------
    dict of str to float
        Keys :data:`CANDIDATE_FEATURES` with a task, :data:`GRAPH_CANDIDATE_FEATURES` without.

    Raises
    ------
    ConfigError
        If the graph is invalid (see :func:`nasprior.features.graph_arrays`),
        or ``shape`` is a sequence task (a recurrent network needs its
        genome's cell type: predict from the genome instead).
    """
    n_nodes, n_edges = graph.number_of_nodes(), graph.number_of_edges()
    inputs = max(shape.n_inputs, 1) + shape.n_classes if shape is not None else 0
    check_graph("graph", n_nodes, n_edges, n_nodes * n_nodes / 2 + n_nodes * inputs * 4 if shape else 0.0)
    arrays = graph_arrays(graph)
    features = graph_features(graph)
    if shape is None:
        return _ordered({**features, **graph_size_features(graph, arrays)}, GRAPH_CANDIDATE_FEATURES)
    if shape.vocab_size or shape.n_inputs <= 0:
        raise ConfigError(
            f"task {shape.name!r} is a sequence task: a graph alone does not define its recurrent "
            "network; predict from genomes, or use a predictor fitted on graphs (predictor fit --graphs)"
        )
    dag = graph if graph.is_directed() else to_dag(graph)
    net = GraphNetwork(dag, shape.n_inputs, shape.n_classes)
    return _ordered({**features, **size_features(net), **network_topology_scores(net)}, CANDIDATE_FEATURES)


def _ordered(features: dict[str, float], names: tuple[str, ...]) -> dict[str, float]:
    """``features`` restricted to ``names``, in that order."""
    return {name: features[name] for name in names}


#: Exceptions that are a candidate's own failure, logged as a ``failed`` record (the run goes on): a
#: :class:`~nasprior.errors.CandidateError` (a non-finite loss; :class:`~nasprior.errors.CostError`, the
#: cost check's refusal), and torch's ``RuntimeError`` (CUDA out of memory is one) and ``MemoryError``.
#: A user's error (any other :class:`~nasprior.errors.NaspriorError`) is not among them: it stops the run.
CANDIDATE_FAILURES = (CandidateError, RuntimeError, MemoryError)


@dataclass
class Evaluation:
    """Outcome of :meth:`Evaluator.train`.

    Attributes
    ----------
    record : dict
        The candidate's record (status ``trained`` or ``failed``).
    network : torch.nn.Module or None
        The trained network with its best epoch's weights (None if it failed).
    """

    record: dict
    network: nn.Module | None


class Evaluator:
    """Evaluates candidates of one task at one training budget.

    Parameters
    ----------
    data : TaskData
        The task's splits, in memory.
    train_config : TrainConfig
        The budget (and device).
    run_id : str
        Written into every record.
    seed : int
        Seed of weight initialisation, the same for every candidate.
    fidelity : str
        Name of the budget written into every record (``"screen"`` while a
        search screens candidates; see :func:`nasprior.runs.records.make_record`).
    """

    def __init__(self, data: TaskData, train_config: TrainConfig, run_id: str, seed: int, fidelity: str = "screen"):
        self.data, self.train_config, self.run_id, self.seed = data, train_config, run_id, seed
        self.fidelity = fidelity
        self.shape = data.shape
        #: ``progress(epoch, epochs, val_acc)`` after each training epoch (a live display), or None.
        self.progress: Any = None
        #: ``fit_epochs(first_epoch_s) -> epochs``: a time budget (see :func:`nasprior.training.train`), or None.
        self.fit_epochs: Any = None
        #: Whether :meth:`features` adds the zero-cost proxies (:meth:`proxies`).
        self.with_proxies = True

    def features(self, genome: Genome) -> dict[str, float]:
        """:func:`candidate_features` of a genome for this task, then its zero-cost proxies (:meth:`proxies`)."""
        return {**candidate_features(genome, self.shape), **self.proxies(genome)}

    def proxies(self, genome: Genome) -> dict[str, float | None]:
        """Zero-cost proxies of the genome's network exactly as :meth:`train` initialises it.

        The network is built from :attr:`seed`, as :meth:`train` builds it,
        inside :func:`torch.random.fork_rng`, and scored on the minibatch
        :func:`~nasprior.features.proxy_batch` draws from the training split
        with the same seed (the same for every candidate of a run), on one
        torch thread whatever the process's thread count (multi-threaded
        reductions change the last digits); training is bit-identical with
        and without them.

        Returns
        -------
        dict of str to float or None
            Keys :data:`~nasprior.features.PROXY_FEATURE_NAMES`
            (:func:`~nasprior.features.proxy_features`); empty for sequence
            tasks (recurrent networks of token ids: no input Jacobian, no
            all-ones input, gated cells without ReLU codes) or when
            :attr:`with_proxies` is False.
        """
        if self.shape.vocab_size or not self.with_proxies:
            return {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = self.build(genome)
        x, y = proxy_batch(self.data.x_train, self.data.y_train, self.seed)
        threads = torch.get_num_threads()
        try:  # one thread: the same numbers in a 2-thread search, its Dask workers and a 16-core machine
            torch.set_num_threads(1)
            return proxy_features(net, x, y)
        finally:
            torch.set_num_threads(threads)

    def build(self, genome: Genome) -> nn.Module:
        """The genome's untrained network for this task, shaped by the budget's fidelity options.

        Its channels are scaled by ``width_multiplier`` and, with
        ``stem_pool`` above 1, its stem output max-pooled
        (:func:`nasprior.networks.convolutional.shape_for_training`).

        Raises
        ------
        ConfigError
            If those options do not fit the network (a feedforward network
            with ``stem_pool``, channels out of range).
        """
        return shape_for_training(
            build_network(widen(genome, self.train_config.width_multiplier), self.shape), self.train_config.stem_pool
        )

    def _width(self, net: nn.Module) -> dict:
        """``trained_channels`` and ``trained_n_params`` of a network built wider than its genome (else nothing)."""
        if self.train_config.width_multiplier == 1 or not hasattr(net, "channels"):
            return {}
        return {"trained_channels": int(net.channels), "trained_n_params": int(net.n_params)}

    def record(
        self, genome: Genome, status: str, features: dict, metrics: dict, generation: int | None, **kw: Any
    ) -> dict:
        """A record of this run and budget for ``genome`` (see :func:`nasprior.runs.records.make_record`)."""
        return make_record(
            run_id=self.run_id,
            genome=genome,
            task=self.data.name,
            status=status,
            features=features,
            metrics=metrics,
            generation=generation,
            seed=self.seed,
            train=self.train_config.to_dict(),
            fidelity=self.fidelity,
            **kw,
        )

    def failed(
        self, genome: Genome, features: dict, generation: int | None, exc: BaseException, start: float
    ) -> Evaluation:
        """A ``failed`` record for a candidate that raised ``exc``."""
        record = self.record(
            genome,
            "failed",
            features,
            {"val_acc": None, "test_acc": None},
            generation,
            wall_time_s=time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}",
        )
        return Evaluation(record, None)

    def evaluate(self, genome: Genome, generation: int | None = None) -> Evaluation:
        """Features and training of a genome; a candidate that fails on its own is logged as failed.

        Raises
        ------
        NaspriorError
            A user's error (e.g. a genome that does not suit the task, a bad
            option): it stops the run. Only :data:`CANDIDATE_FAILURES`
            become ``failed`` records.
        """
        start = time.perf_counter()
        try:
            features = self.features(genome)
        except CANDIDATE_FAILURES as exc:
            return self.failed(genome, {}, generation, exc, start)
        return self.train(genome, features, generation)

    def train(self, genome: Genome, features: dict, generation: int | None = None) -> Evaluation:
        """Train a candidate whose features are known; status ``trained``, or ``failed`` if it failed on its own.

        Weights are initialised from ``torch.manual_seed(self.seed)``; batch
        order comes from the training config's ``seed``.

        Raises
        ------
        NaspriorError
            A user's error (e.g. ``device = "cuda"`` without a GPU): it stops
            the run. Only :data:`CANDIDATE_FAILURES` (a non-finite loss, out
            of memory) become ``failed`` records.
        """
        start = time.perf_counter()
        try:
            torch.manual_seed(self.seed)
            net = self.build(genome)
            d = self.data
            result = train(
                net,
                d.x_train,
                d.y_train,
                d.x_val,
                d.y_val,
                self.train_config,
                d.x_test if self.train_config.score_test else None,
                d.y_test,
                progress=self.progress,
                fit_epochs=self.fit_epochs,
            )
            metrics = {"val_acc": result.val_acc, "test_acc": result.test_acc}
            for group, mask in (
                d.test_groups.items() if self.train_config.score_test else ()
            ):  # e.g. Reber: test_acc_hard_neg, test_acc_pos, test_acc_soft_neg
                metrics[f"test_acc_{group}"] = accuracy(net, d.x_test[mask], d.y_test[mask])
        except CANDIDATE_FAILURES as exc:  # a candidate that cannot train is logged, not fatal
            return self.failed(genome, features, generation, exc, start)
        record = self.record(
            genome,
            "trained",
            features,
            metrics,
            generation,
            curve=result.curve,
            wall_time_s=time.perf_counter() - start,
            extra={
                "epochs_run": result.epochs_run,
                "train_time_s": round(result.train_time_s, 4),
                "timing": result.timing,
                **self._width(net),
            },
        )
        return Evaluation(record, net)
