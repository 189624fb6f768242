"""Reproduction experiments: Stier et al.'s MNIST pruning (``nasprior prune-mnist``; CLI in :mod:`nasprior.cli.experiments`).

``nasprior prune-mnist``
    Stier, Darji & Granitzer (2021)'s MNIST pruning experiment: a dense
    784-100-10 MLP trained with SGD (lr 0.01, batch 64), then pruned to 80%
    compression with retraining, by the class-blinded, class-uniform and
    class-distributed magnitude schemes and by random pruning
    (:mod:`nasprior.sparsity.pruning`), over several seeds. Prints a table of test
    accuracies and logs every network as a record in ``runs/<id>/``.
``nasprior nnstd A B``
    Neural Network Sparse Topology Distance (Liu et al. 2020,
    :mod:`nasprior.sparsity.nnstd`) between two layered networks given as genomes
    (JSON files or inline JSON) or mask archives (``.npz``, e.g. the pruned
    masks written by ``prune-mnist``).

Schedule of ``prune-mnist`` (defaults): ``--epochs 10`` epochs of training
(the unpruned network; the weights of the best validation epoch are kept),
then ``--steps 4`` pruning steps of equal compression (to 20, 40, 60 and 80%
of the starting weights removed), each followed by ``--retrain-epochs 1``
epoch of retraining with the same optimiser settings. Every layer is pruned,
the output layer included, as Stier et al. prune all of 784-100-10 (biases
are not pruned). A dense control gets the same number of extra epochs
without pruning, so a gain from pruning is not a gain from training longer.
SGD is :func:`nasprior.training.train`'s, with momentum 0.9. The validation
split (5,000 training images) is drawn once with seed 0; the seeds vary
weight initialisation, batch order and random pruning. Test accuracy is on
the official 10,000 test images and is never used for selection.

References
----------
.. [Stier2021] J. Stier, H. Darji, M. Granitzer, "Experiments on properties
   of hidden structures of sparse neural networks", arXiv:2107.12917, 2021.
.. [Han2015] S. Han, J. Pool, J. Tran, W. J. Dally, "Learning both weights
   and connections for efficient neural networks", NeurIPS 2015.
.. [See2016] A. See, M.-T. Luong, C. D. Manning, "Compression of neural
   machine translation models via pruning", CoNLL 2016.
.. [Liu2020] S. Liu et al., "Topological insights into sparse neural
   networks", ECML-PKDD 2020.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..features import graph_features, size_features
from ..genome import Genome
from ..networks import SparseNetwork, build_network
from ..runs.outputs import RunLock, check_run_dir, create_run_dir
from ..runs.records import RECORDS_FILE, RecordLog, make_record, write_config
from ..tasks import TaskData
from ..training.loop import TrainConfig, accuracy, train
from .pruning import SCHEMES, compression_schedule, iterative_prune, masks_to_graph, network_masks, save_masks

#: Kind of the pruning experiment's runs (``config.json`` marker, :func:`nasprior.runs.outputs.run_kind`).
PRUNE_KIND = "prune-mnist"


@dataclass
class PruneExperimentConfig:
    """Settings of :func:`run_prune_experiment` (defaults: Stier et al.'s MNIST setting).

    Parameters
    ----------
    hidden : int
        Width of the single hidden layer (784-``hidden``-10).
    epochs : int
        Training epochs of the unpruned network.
    retrain_epochs : int
        Epochs of retraining after each pruning step.
    n_steps : int
        Pruning steps of equal compression (1 = one-shot).
    compression : float
        Final fraction of weights removed, in [0, 1).
    schemes : tuple of str
        Pruning schemes (:data:`nasprior.sparsity.pruning.SCHEMES`).
    include_output : bool
        Prune the output layer too.
    lr : float
        SGD learning rate.
    batch_size : int
    seeds : tuple of int
    """

    hidden: int = 100
    epochs: int = 10
    retrain_epochs: int = 1
    n_steps: int = 4
    compression: float = 0.8
    schemes: tuple[str, ...] = SCHEMES
    include_output: bool = True
    lr: float = 0.01
    batch_size: int = 64
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        unknown = [s for s in self.schemes if s not in SCHEMES]
        if unknown:
            raise ConfigError(f"unknown pruning scheme(s) {', '.join(unknown)}: use some of {', '.join(SCHEMES)}")
        if not self.seeds:
            raise ConfigError("no seeds: give at least one, e.g. --seeds 3")
        if self.hidden < 1 or self.retrain_epochs < 0:
            raise ConfigError(
                f"hidden = {self.hidden}, retrain_epochs = {self.retrain_epochs}: use hidden >= 1, retrain_epochs >= 0"
            )
        compression_schedule(self.compression, self.n_steps)  # validates both
        self.train_config(0)  # validates lr, batch size, epochs

    def train_config(self, seed: int, epochs: int | None = None) -> TrainConfig:
        """SGD settings of the experiment (no early stopping; best validation epoch kept)."""
        return TrainConfig(
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            optimizer="sgd",
            lr=self.lr,
            patience=0,
            seed=seed,
        )

    def genome(self) -> Genome:
        """Dense starting genome: the complete prior, layered mapping, one hidden layer of ``hidden`` units."""
        return Genome(prior="complete", n_nodes=2, mapping="layered", n_layers=1, width=self.hidden)

    def to_dict(self) -> dict:
        """JSON-able dict of the settings."""
        d = asdict(self)
        d["schemes"], d["seeds"] = list(self.schemes), list(self.seeds)
        return d


@dataclass
class PruneExperimentResult:
    """Test accuracies of :func:`run_prune_experiment`, one value per seed.

    Attributes
    ----------
    test_acc : dict of str to list of float
        ``"unpruned"``, ``"dense control"`` (unpruned trained for as many
        extra epochs as the retraining) and every scheme.
    test_acc_before_retrain : dict of str to list of float
        Each scheme's test accuracy right after its last pruning step.
    density : dict of str to float
        Fraction of weights kept (mean over seeds).
    wall_time_s : float
    """

    test_acc: dict[str, list[float]] = field(default_factory=dict)
    test_acc_before_retrain: dict[str, list[float]] = field(default_factory=dict)
    density: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0


def run_prune_experiment(
    data: TaskData,
    config: PruneExperimentConfig,
    run_dir: str | Path,
    *,
    run_id: str = "",
    structural: bool = True,
    log: Callable[[str], None] = print,
) -> PruneExperimentResult:
    """Train, prune and retrain a dense MLP with every scheme and seed; log records.

    Parameters
    ----------
    data : TaskData
        A feedforward classification task (MNIST for the paper's setting);
        inputs are flattened.
    config : PruneExperimentConfig
    run_dir : path
        Receives ``config.json``, ``records.jsonl`` (one record per trained
        network: unpruned, dense control, each pruned network) and
        ``masks/<scheme>-s<seed>.npz`` (the pruned topologies, loadable with
        :func:`nasprior.sparsity.pruning.load_masks`).
    run_id : str
    structural : bool
        Compute structural features of each pruned unit graph for its record
        (about 9 s each for 784-100-10 at 20% density without rustworkx),
        and of the dense starting graph once for the unpruned and control
        records (2 s for 784-100-10), so every record has the same features
        and the run feeds ``nasprior predictor fit`` whole. Without it every
        record carries size features only.
    log : callable
        Receives progress lines.

    Returns
    -------
    PruneExperimentResult

    Raises
    ------
    RunDirError
        If ``run_dir`` exists and is not empty (another run, someone's
        files: an experiment never writes into them), cannot be written, or
        is locked by another process.

    References
    ----------
    Stier et al. 2021 (experiment); Han et al. 2015 (iterative pruning);
    See et al. 2016 (scheme names).
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    run_id = run_id or run_dir.name
    check_run_dir(run_dir, PRUNE_KIND)  # a new, absent or empty directory: an experiment does not resume
    create_run_dir(run_dir)
    with RunLock(run_dir, PRUNE_KIND):
        check_run_dir(run_dir, PRUNE_KIND, locked=True)  # another process may have written it since the first check
        return _prune(data, config, run_dir, run_id, structural, log, start)


def _prune(
    data: TaskData,
    config: PruneExperimentConfig,
    run_dir: Path,
    run_id: str,
    structural: bool,
    log: Callable[[str], None],
    start: float,
) -> PruneExperimentResult:
    """The pruning experiment in a checked, locked run directory."""
    # The task's shape, as a sample's config holds it: 'nasprior predictor fit' reads it instead of the data set.
    write_config(
        run_dir,
        {
            "kind": PRUNE_KIND,
            "experiment": PRUNE_KIND,
            "task": data.name,
            "n_inputs": int(data.n_inputs),
            "n_classes": int(data.n_classes),
            "vocab_size": 0,
            **config.to_dict(),
        },
    )
    records = RecordLog(run_dir / RECORDS_FILE)
    genome = config.genome()
    result = PruneExperimentResult()
    extra_epochs = config.n_steps * config.retrain_epochs
    d = data
    densities: dict[str, list[float]] = {}

    def add(name: str, test_acc: float) -> None:
        result.test_acc.setdefault(name, []).append(test_acc)

    dense_structure: dict[str, float] = {}  # the unpruned records carry the features the pruned ones carry
    if structural:
        dense_masks = network_masks(build_network(genome, d.shape))
        dense_structure = graph_features(masks_to_graph(dense_masks))
    for seed in config.seeds:
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        dense = build_network(genome, d.shape)
        pre = config.train_config(seed)
        r = train(dense, d.x_train, d.y_train, d.x_val, d.y_val, pre, d.x_test, d.y_test)
        add("unpruned", r.test_acc)
        records.append(
            make_record(
                run_id=run_id,
                genome=genome,
                task=d.name,
                status="trained",
                features={**dense_structure, **size_features(dense)},
                metrics={"val_acc": r.val_acc, "test_acc": r.test_acc},
                seed=seed,
                train=pre.to_dict(),
                curve=r.curve,
                wall_time_s=time.perf_counter() - t0,
                extra={"method": "unpruned"},
            )
        )
        log(f"seed {seed}: unpruned test acc {r.test_acc:.4f} ({r.epochs_run} epochs, {r.train_time_s:.0f} s)")
        trained_state = copy.deepcopy(dense.state_dict())

        if extra_epochs:
            t0 = time.perf_counter()
            control_cfg = config.train_config(seed + 10_000, epochs=extra_epochs)
            rc = train(dense, d.x_train, d.y_train, d.x_val, d.y_val, control_cfg, d.x_test, d.y_test)
            add("dense control", rc.test_acc)
            records.append(
                make_record(
                    run_id=run_id,
                    genome=genome,
                    task=d.name,
                    status="trained",
                    features={**dense_structure, **size_features(dense)},
                    metrics={"val_acc": rc.val_acc, "test_acc": rc.test_acc},
                    seed=seed,
                    train=control_cfg.to_dict(),
                    curve=rc.curve,
                    wall_time_s=time.perf_counter() - t0,
                    extra={"method": "dense control", "pretrain": pre.to_dict()},
                )
            )
            log(f"seed {seed}: dense control (+{extra_epochs} epochs) test acc {rc.test_acc:.4f}")

        for scheme in config.schemes:
            t0 = time.perf_counter()
            net = build_network(genome, d.shape)
            net.load_state_dict(trained_state)
            before, curve, retrain_cfgs = [], [], []

            def retrain(network, step, seed=seed):
                before.append(
                    {
                        "step": step,
                        "val_acc": accuracy(network, d.x_val, d.y_val),
                        "test_acc": accuracy(network, d.x_test, d.y_test),
                    }
                )
                if config.retrain_epochs == 0:
                    return None
                cfg = config.train_config(seed * 100 + step, epochs=config.retrain_epochs)
                retrain_cfgs.append(cfg.to_dict())
                out = train(network, d.x_train, d.y_train, d.x_val, d.y_val, cfg)
                curve.extend({**c, "step": step} for c in out.curve)
                return out

            history = iterative_prune(
                net,
                config.compression,
                scheme,
                config.n_steps,
                retrain,
                include_output=config.include_output,
                generator=torch.Generator().manual_seed(seed),
            )
            val_acc = accuracy(net, d.x_val, d.y_val)
            test_acc = accuracy(net, d.x_test, d.y_test)
            add(scheme, test_acc)
            result.test_acc_before_retrain.setdefault(scheme, []).append(before[-1]["test_acc"])
            density = history[-1][0].n_weights / net.n_possible_weights
            densities.setdefault(scheme, []).append(density)
            (run_dir / "masks").mkdir(parents=True, exist_ok=True)
            save_masks(run_dir / "masks" / f"{scheme}-s{seed}.npz", net)
            pruning = {
                "method": scheme,
                "scheme": scheme,
                "compression": config.compression,
                "n_steps": config.n_steps,
                "schedule": compression_schedule(config.compression, config.n_steps),
                "retrain_epochs": config.retrain_epochs,
                "include_output": config.include_output,
                "steps": [s.to_dict() for s, _ in history],
                "before_retrain": before,
                "masks_file": str(Path("masks") / f"{scheme}-s{seed}.npz"),
            }
            records.append(
                pruned_record(
                    net,
                    genome,
                    run_id=run_id,
                    task=d.name,
                    metrics={"val_acc": val_acc, "test_acc": test_acc},
                    pruning=pruning,
                    seed=seed,
                    train={"pretrain": pre.to_dict(), "retrain": retrain_cfgs},
                    curve=curve,
                    wall_time_s=time.perf_counter() - t0,
                    with_structural_features=structural,
                )
            )
            log(
                f"seed {seed}: {scheme:17s} test acc {test_acc:.4f} (before last retraining {before[-1]['test_acc']:.4f}, "
                f"density {density:.3f}, {time.perf_counter() - t0:.0f} s)"
            )
    result.density = {k: float(np.mean(v)) for k, v in densities.items()}
    result.wall_time_s = time.perf_counter() - start
    return result


def format_prune_table(result: PruneExperimentResult, config: PruneExperimentConfig) -> str:
    """The experiment's table as text.

    Columns: method, weights kept, test accuracy in % (mean ± sample std over
    seeds), test accuracy right after the last pruning step (before its
    retraining), and Welch's t-test p-value against class-blinded
    (:func:`scipy.stats.ttest_ind`, ``equal_var=False``).

    Returns
    -------
    str
        One header line and one line per method.
    """
    from scipy.stats import ttest_ind

    def mean_std(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.fmean(values):6.2f} ± {100 * sd:4.2f}"

    blinded = result.test_acc.get("class-blinded")
    lines = [
        f"{'method':26s} {'weights kept':>12s}  {'test acc % (mean ± std)':>23s}  {'before retrain %':>16s}  {'p vs blinded':>12s}"
    ]
    extra = config.n_steps * config.retrain_epochs
    for name, values in result.test_acc.items():
        label = name if name != "dense control" else f"unpruned +{extra} epochs"
        kept = "100.0%" if name in ("unpruned", "dense control") else f"{100 * result.density[name]:.1f}%"
        before = result.test_acc_before_retrain.get(name)
        before_txt = f"{100 * statistics.fmean(before):6.2f}" if before else ""
        p = ""
        if blinded and name != "class-blinded" and len(values) > 1 and len(blinded) > 1:
            p = f"{ttest_ind(values, blinded, equal_var=False).pvalue:.3g}"
        lines.append(f"{label:26s} {kept:>12s}  {mean_std(values):>23s}  {before_txt:>16s}  {p:>12s}")
    return "\n".join(lines)


def pruned_record(
    network: SparseNetwork,
    genome: Any,
    *,
    run_id: str,
    task: str,
    metrics: dict[str, float | None],
    pruning: dict[str, Any],
    seed: int = 0,
    train: dict | None = None,
    curve: list[dict] | None = None,
    wall_time_s: float = 0.0,
    with_structural_features: bool = True,
) -> dict[str, Any]:
    """A run record (:func:`nasprior.runs.records.make_record`) of a pruned network.

    Parameters
    ----------
    network : SparseNetwork
        The pruned (and retrained) layered network.
    genome : Genome
        The dense starting genome; the pruning that turned it into this
        network goes into the record's ``pruning`` field.
    run_id, task : str
    metrics : dict
        ``val_acc``, ``test_acc`` after retraining.
    pruning : dict
        How the network was pruned (scheme, compression, schedule, steps).
    seed : int
    train : dict, optional
        Training configuration.
    curve : list of dict, optional
    wall_time_s : float
    with_structural_features : bool
        Compute :func:`nasprior.features.graph_features` of the pruned
        unit graph (:func:`masks_to_graph`) besides the size features.

    Returns
    -------
    dict
        Status ``"trained"``; extra fields ``pruning`` and ``masks_density``
        (per-layer densities).
    """
    masks = network_masks(network)
    features: dict[str, float] = {}
    if with_structural_features:
        features.update(graph_features(masks_to_graph(masks)))
    features.update(size_features(network))
    return make_record(
        run_id=run_id,
        genome=genome,
        task=task,
        status="trained",
        features=features,
        metrics=metrics,
        seed=seed,
        train=train,
        curve=curve,
        wall_time_s=wall_time_s,
        extra={"pruning": pruning, "masks_density": [float(m.mean()) for m in masks]},
    )
