"""Export a run's network to ONNX with its masks folded into the weights (``nasprior export``).

The native format stays the state dict and genome in ``best/``; ONNX is for
serving the network elsewhere. The network is rebuilt from its genome,
loaded with the saved weights, and every masked layer's weight is multiplied
by its mask once (:func:`fold_masks`), so the exported graph holds plain
matrix products with the absent weights as zeros and no mask operations.
The export is checked by running it in onnxruntime against torch on a batch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from torch import nn

from .errors import ConfigError, RecordError
from .evaluation import Evaluator
from .genome import Genome
from .networks import MaskedLinear, build_network
from .records import RECORDS_FILE, RecordLog, read_config
from .search import SearchConfig
from .tasks import get_task, load_task
from .training import TrainConfig

#: Largest absolute difference allowed between onnxruntime's and torch's logits.
TOLERANCE = 1e-4


def fold_masks(network: nn.Module) -> nn.Module:
    """A copy of ``network`` whose masked layers hold ``weight * mask`` and skip the mask at run time."""
    folded = copy.deepcopy(network).eval()
    for layer in folded.modules():
        if isinstance(layer, MaskedLinear):
            with torch.no_grad():
                layer.weight.mul_(layer.mask)
            layer.folded = True
    return folded


def export_onnx(
    run_dir: str | Path, out: str | Path | None = None, key: str | None = None, batch_size: int = 8
) -> tuple[Path, float]:
    """Export the best network of a run (or a Pareto member) to ONNX and check it in onnxruntime.

    Parameters
    ----------
    run_dir : path-like
        A run made by ``nasprior search`` (``best/model.pt``, ``best/genome.json``).
    out : path-like, optional
        The ``.onnx`` file (default ``<run_dir>/best/model.onnx``).
    key : str, optional
        Export this trained candidate (e.g. a member of ``pareto.json``)
        instead of the best one. Only the best network's weights are saved,
        so another candidate is retrained from its genome with the run's
        budget and seed (the search's own weights, up to floating-point
        reduction order) after loading the task's data.
    batch_size : int
        Size of the random check batch.

    Returns
    -------
    path : pathlib.Path
    max_abs_diff : float
        Largest difference between onnxruntime's and torch's logits on the batch.

    Raises
    ------
    RecordError
        If the run has no saved best network, or ``key`` names no trained
        candidate of the run.
    ConfigError
        If the network's mapping cannot be exported (recurrent networks), or
        the export differs from torch by more than :data:`TOLERANCE`.
    """
    run_dir = Path(run_dir)
    best = run_dir / "best"
    if not (best / "model.pt").exists() or not (best / "genome.json").exists():
        raise RecordError(
            f"{run_dir} has no saved best network (best/model.pt, best/genome.json): "
            "give a run made by 'nasprior search' that trained a candidate"
        )
    best_genome = genome = Genome.from_json((best / "genome.json").read_text(encoding="utf-8"))
    config = SearchConfig.from_dict(read_config(run_dir), str(run_dir / "config.json"))
    if key is not None and key != genome.key:
        records = {r["key"]: r for r in RecordLog(run_dir / RECORDS_FILE).read() if r["status"] == "trained"}
        if key not in records:
            raise RecordError(f"{run_dir} has no trained candidate {key}: give a key from records.jsonl or pareto.json")
        genome = Genome.from_dict(records[key]["genome"])
    if genome.mapping == "recurrent":
        raise ConfigError(
            "ONNX export supports feedforward networks (mappings graph and layered); "
            "a recurrent network's state dict and genome in best/ are its native format"
        )
    shape = get_task(config.task).shape
    if genome == best_genome:
        net = build_network(genome, shape)
        saved = (
            json.loads((best / "record.json").read_text(encoding="utf-8")) if (best / "record.json").is_file() else {}
        )
        if saved.get("train", {}).get("whiten_stem") and hasattr(net, "use_whitening_stem"):
            net.use_whitening_stem(torch.randn(8, shape.n_inputs))  # the stem's layout; model.pt holds its filters
        net.load_state_dict(torch.load(best / "model.pt", map_location="cpu", weights_only=True))
    else:
        data = load_task(config.task, config.data_dir, seed=config.seed)
        evaluation = Evaluator(data, TrainConfig(**config.train), config.run_id, config.seed).evaluate(genome)
        if evaluation.network is None:
            raise RecordError(f"retraining {key} failed: {evaluation.record.get('error')}")
        net = evaluation.network.cpu()
    folded = fold_masks(net)
    x = torch.randn(batch_size, shape.n_inputs, generator=torch.Generator().manual_seed(0))
    out = Path(out) if out is not None else best / "model.onnx"
    torch.onnx.export(
        folded,
        (x,),
        str(out),
        input_names=["x"],
        output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        verbose=False,
    )
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        want = net.eval()(x).numpy()
    diff = float(np.max(np.abs(got - want)))
    if diff > TOLERANCE:
        raise ConfigError(
            f"the ONNX export of {genome.key} differs from torch by {diff:.2e} (> {TOLERANCE:g}): "
            "report this with the run directory"
        )
    return out, diff
