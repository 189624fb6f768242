"""Write the JSON schema of every shipped data set, ``datasets/<name>/schema.json``, from nasprior's models.

The schema (JSON Schema draft 2020-12) describes the set's files as one
object: ``config.json`` (a sample's :class:`~nasprior.runs.sampling.SampleConfig`,
its ``train`` table a :class:`~nasprior.training.TrainConfig`; a search's
:class:`~nasprior.search.SearchConfig` for a set made by a search) and
``records.jsonl.gz`` (one record per line, :class:`nasprior.schema.RunRecord`).
It comes from the same pydantic models nasprior checks the files with
(:func:`nasprior.schema.dataset_schema`); ``tests/test_schema.py`` checks that
the committed files are current. Only ``schema.json`` is written: the
records, config and data card are left as they are.

Usage::

    python scripts/write_schemas.py          # write datasets/*/schema.json
    python scripts/write_schemas.py --check  # exit 1, naming the stale files, instead of writing
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from nasprior.predictors import SkipRule
from nasprior.runs.records import CONFIG_FILE
from nasprior.runs.sampling import SampleConfig
from nasprior.schema import dataset_schema
from nasprior.search import SearchConfig
from nasprior.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "datasets"
SCHEMA_FILE = "schema.json"


def data_sets(root: Path = DATASETS) -> list[Path]:
    """The shipped data set folders: those under ``root`` holding a ``config.json``, sorted by name."""
    return sorted(p for p in root.iterdir() if (p / CONFIG_FILE).is_file())


def schema_for(folder: Path) -> dict[str, Any]:
    """The JSON schema of data set ``folder``, its config class chosen by the config's ``kind``.

    Returns
    -------
    dict
        JSON-able (:func:`nasprior.schema.dataset_schema`).
    """
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("kind") == "sample":
        return dataset_schema(folder.name, SampleConfig, {"train": TrainConfig})
    return dataset_schema(folder.name, SearchConfig, {"train": TrainConfig, "skip": SkipRule})


def schema_text(folder: Path) -> str:
    """``schema_for(folder)`` as the text of ``schema.json`` (2-space indent, final newline)."""
    return json.dumps(schema_for(folder), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale schema files (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = []
    for folder in data_sets():
        path = folder / SCHEMA_FILE
        text = schema_text(folder)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale) + "; run python scripts/write_schemas.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
