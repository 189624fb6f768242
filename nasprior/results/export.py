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
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from ..errors import ConfigError, RecordError
from ..evaluation import Evaluator, check_cost
from ..genome import Genome
from ..networks import MaskedLinear, build_network
from ..networks.convolutional import shape_for_training
from ..runs.outputs import check_output_file, write_output
from ..runs.records import RECORDS_FILE, RecordLog, read_config
from ..search import SearchConfig
from ..tasks import get_task, load_task
from ..training.loop import TrainConfig
from ..validation import read_json, read_text

#: Largest absolute difference allowed between onnxruntime's and torch's logits.
TOLERANCE = 1e-4
#: Metadata key of the ONNX models nasprior exports (value: the candidate's key); only such a file is replaced.
EXPORT_MARKER = "nasprior_export"


def is_onnx_export(path: Path) -> bool:
    """Whether ``path`` is an ONNX model nasprior exported (metadata :data:`EXPORT_MARKER`), so it may be replaced."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - any file onnx cannot read is not an export of ours
        return False
    return any(prop.key == EXPORT_MARKER for prop in model.metadata_props)


def fold_masks(network: nn.Module) -> nn.Module:
    """A copy of ``network`` whose masked layers hold ``weight * mask`` and skip the mask at run time."""
    folded = copy.deepcopy(network).eval()
    for layer in folded.modules():
        if isinstance(layer, MaskedLinear):
            with torch.no_grad():
                layer.weight.mul_(layer.mask)
            layer.folded = True
    return folded


def _load_weights(net: nn.Module, path: Path, fix: str) -> None:
    """Load a saved state dict into ``net``, or refuse a damaged or mismatched file with one message.

    Raises
    ------
    RecordError
        If ``path`` cannot be read as a torch state dict, or its tensors do
        not fit ``net`` (a genome that no longer matches the weights).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises assorted errors (pickle, zip, EOF, OS) on a damaged file
        raise RecordError(f"{path} is not a readable torch state dict ({type(exc).__name__}): {fix}") from None
    if not isinstance(state, dict):
        raise RecordError(f"{path} holds a {type(state).__name__}, not a state dict: {fix}")
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError) as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0] if first else type(exc).__name__
        raise RecordError(f"{path} does not fit the network of best/genome.json ({detail:.200}): {fix}") from None


def export_onnx(
    run_dir: str | Path, out: str | Path | None = None, key: str | None = None, batch_size: int = 8
) -> tuple[Path, float]:
    """Export the best network of a run (or a Pareto member) to ONNX and check it in onnxruntime.

    Parameters
    ----------
    run_dir : path-like
        A run made by ``nasprior search`` (``best/model.pt``, ``best/genome.json``).
    out : path-like, optional
        The ``.onnx`` file (default ``<run_dir>/best/model.onnx``). An
        existing file is replaced only if nasprior exported it
        (:func:`is_onnx_export`); checked before any work, written atomically
        once it matches torch.
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
    RunDirError
        If ``out`` exists and is not a nasprior export (e.g. the run's
        ``config.json``), is a directory, or cannot be written; nothing is changed.
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
    out = check_output_file(out if out is not None else best / "model.onnx", is_onnx_export, "an ONNX export")
    fix = "the saved best network is damaged: restore best/ from a copy, or rerun the search"
    try:
        best_genome = genome = Genome.from_json(read_text(best / "genome.json", "best genome", fix, RecordError))
    except ConfigError as exc:
        raise RecordError(f"{best / 'genome.json'}: {exc}; {fix}") from None
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
        check_cost(genome, shape)
        saved = (
            read_json(best / "record.json", "best record", fix, RecordError) if (best / "record.json").is_file() else {}
        )
        trained = (saved.get("train") or {}) if isinstance(saved, dict) else {}
        net = shape_for_training(build_network(genome, shape), int(trained.get("stem_pool", 1)))
        if trained.get("whiten_stem") and hasattr(net, "use_whitening_stem"):
            net.use_whitening_stem(torch.randn(8, shape.n_inputs))  # the stem's layout; model.pt holds its filters
        _load_weights(net, best / "model.pt", fix)
    else:
        data = load_task(config.task, config.data_dir, seed=config.seed)
        evaluation = Evaluator(data, TrainConfig(**config.train), config.run_id, config.seed).evaluate(genome)
        if evaluation.network is None:
            raise RecordError(f"retraining {key} failed: {evaluation.record.get('error')}")
        net = evaluation.network.cpu()
    folded = fold_masks(net)
    x = torch.randn(batch_size, shape.n_inputs, generator=torch.Generator().manual_seed(0))
    diff = float("nan")

    def write(tmp: Path) -> None:  # the export, marked as nasprior's and checked in onnxruntime before it replaces out
        nonlocal diff
        torch.onnx.export(
            folded,
            (x,),
            str(tmp),
            input_names=["x"],
            output_names=["logits"],
            dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
            verbose=False,
        )
        model = onnx.load(str(tmp))
        entry = model.metadata_props.add()
        entry.key, entry.value = EXPORT_MARKER, genome.key
        onnx.save(model, str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(None, {"x": x.numpy()})[0]
        with torch.no_grad():
            want = net.eval()(x).numpy()
        diff = float(np.max(np.abs(got - want)))
        if diff > TOLERANCE:
            raise ConfigError(
                f"the ONNX export of {genome.key} differs from torch by {diff:.2e} (> {TOLERANCE:g}): "
                "nothing was written; report this with the run directory"
            )

    write_output(out, write)
    return out, diff
