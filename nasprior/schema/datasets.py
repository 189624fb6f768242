"""The JSON schema of a shipped data set (``datasets/<name>/schema.json``), from the models that check its files."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic.json_schema import models_json_schema

from .base import NoTitles
from .records import RunRecord
from .tables import config_model


def plain(text: str) -> str:
    """Docstring text without its reStructuredText markup: ``:class:`~a.B``` -> ``B``, double backquotes -> text."""
    text = re.sub(r":\w+:`~[\w.]*\.(\w+)`", r"\1", text)
    text = re.sub(r":\w+:`([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``", r"\1", text)


def _plain_descriptions(node: Any) -> Any:
    """A JSON schema with every ``description`` made :func:`plain`."""
    if isinstance(node, dict):
        return {
            k: plain(v) if k == "description" and isinstance(v, str) else _plain_descriptions(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_plain_descriptions(v) for v in node]
    return node


def dataset_schema(name: str, config: type, nested: Mapping[str, type] | None = None) -> dict[str, Any]:
    """JSON schema (draft 2020-12) of a shipped data set ``datasets/<name>/``.

    The set is described as one object with its files: ``config.json`` (the
    run's config, dataclass ``config``) and ``records.jsonl.gz`` (its
    records, one :class:`RunRecord` per line, as an array).

    Parameters
    ----------
    name : str
        The data set's folder name.
    config : dataclass type
        The config's class (:class:`~nasprior.runs.sampling.SampleConfig` for a sample).
    nested : dict of str to dataclass type, optional
        Fields of ``config`` that are tables of another config class (a
        sample's ``train``: :class:`~nasprior.training.TrainConfig`), which
        that class's own check validates.

    Returns
    -------
    dict
        JSON-able, with the models under ``$defs``; descriptions are the
        fields' docstrings without their reStructuredText markup.
    """
    nested = dict(nested or {})
    models = [RunRecord, config_model(config), *(config_model(cls) for cls in nested.values())]
    _, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/$defs/{model}", schema_generator=NoTitles
    )
    defs = top["$defs"]
    for field, cls in nested.items():
        prop = defs[config.__name__]["properties"][field]
        defs[config.__name__]["properties"][field] = {"$ref": f"#/$defs/{cls.__name__}", **prop}
        for key in ("type", "additionalProperties"):
            defs[config.__name__]["properties"][field].pop(key, None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"nasprior data set {name}",
        "description": (
            f"The files of datasets/{name}/ as one object: config.json (the run's config) and records.jsonl.gz "
            "(one record per line, here an array). Generated from nasprior.schema by scripts/write_schemas.py; "
            "nasprior checks the same models when it reads the files. Numbers are finite."
        ),
        "type": "object",
        "properties": {
            "config.json": {"$ref": f"#/$defs/{config.__name__}"},
            "records.jsonl.gz": {"type": "array", "items": {"$ref": "#/$defs/RunRecord"}},
        },
        "required": ["config.json", "records.jsonl.gz"],
        "$defs": _plain_descriptions(defs),
    }
