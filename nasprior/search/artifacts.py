"""What a search writes beside its record log: ``best/`` (network, genome, record) and JSON summaries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..genome import Genome


def save_best(best_dir: Path, net: torch.nn.Module | None, genome: Genome, record: dict) -> None:
    """Write the best network's weights (``model.pt``), genome and record to ``best_dir``.

    ``net`` None (a candidate looked up in a table, never trained here) writes no weights.
    """
    best_dir.mkdir(parents=True, exist_ok=True)
    if net is not None:
        torch.save(net.state_dict(), best_dir / "model.pt.tmp")
        (best_dir / "model.pt.tmp").replace(best_dir / "model.pt")
    (best_dir / "genome.json").write_text(genome.to_json() + "\n", encoding="utf-8")
    (best_dir / "record.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def pareto_entry(record: dict) -> dict:
    """What ``pareto.json`` keeps of a front member: key, genome, accuracies, size."""
    f = record["features"]
    return {
        "key": record["key"],
        "genome": record["genome"],
        "val_acc": record["metrics"]["val_acc"],
        "test_acc": record["metrics"].get("test_acc"),
        "n_weights": f.get("n_weights"),
        "n_flops": f.get("n_flops"),
        "network_density": f.get("network_density"),
    }


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
