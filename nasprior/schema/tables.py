"""Config tables: a strict pydantic model derived from each config dataclass, checked before the dataclass is built.

The configs (:class:`~nasprior.training.TrainConfig`,
:class:`~nasprior.search.SearchConfig`, the skip rule, a sample's config,
...) stay dataclasses (attribute access, defaults, ``dataclasses.replace``
and ``asdict``); :func:`config_model` derives the model from a dataclass's
fields, and :func:`from_mapping` refuses, in one message naming the file,
the table and the key: an unknown key (with the closest known one), a value
of the wrong type, a non-finite number, a missing required key. The table
is then passed to the dataclass as given (an ``lr = 1`` stays the int 1),
whose ``__post_init__`` checks the ranges.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError, create_model

from ..errors import ConfigError
from .base import TABLE

T = TypeVar("T")


def _type_text(annotation: Any) -> str:
    """A field's annotation as the message shows it: ``"str | None"`` -> ``"str or None"``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return text.replace(" | ", " or ")


def field_docs(cls: type) -> dict[str, str]:
    """Descriptions of a class's fields, from its numpydoc ``Parameters`` or ``Attributes`` section.

    Returns
    -------
    dict of str to str
        Field name -> its description as one line (``"cxpb, mutpb : float"``
        gives both names the same text); empty without such a section.
    """
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    docs: dict[str, list[str]] = {}
    names: list[str] = []
    section = ""
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) == {"-"}:
            section, names = line.strip(), []
        elif section not in ("Parameters", "Attributes") or set(line.strip()) == {"-"}:
            continue
        elif line and not line[0].isspace():
            names = [name.strip() for name in line.split(":")[0].split(",")]
            for name in names:
                docs.setdefault(name, [])
        elif line.strip():
            for name in names:
                docs[name].append(line.strip())
    return {name: " ".join(text) for name, text in docs.items()}


@functools.cache
def config_model(cls: type) -> type[BaseModel]:
    """The strict pydantic model of dataclass ``cls``'s init fields (what :func:`from_mapping` checks).

    Field types come from the dataclass's annotations, defaults from its
    defaults (a default factory's value, so that the JSON schema shows it),
    descriptions from its numpydoc docstring; unknown keys are refused.

    Parameters
    ----------
    cls : dataclass type

    Returns
    -------
    pydantic.BaseModel subclass
        Named after ``cls``; cached per class.
    """
    try:
        hints = typing.get_type_hints(cls)
    except NameError:  # an annotation naming what only a type checker imports: that field accepts anything
        hints = {}
    docs = field_docs(cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ...
        fields[f.name] = (hints.get(f.name, Any), Field(default, description=docs.get(f.name) or None))
    summary = inspect.cleandoc(cls.__doc__ or cls.__name__).split("\n\n")[0].replace("\n", " ")
    return create_model(cls.__name__, __config__=TABLE, __doc__=summary, **fields)


def _config_message(error: dict, data: Mapping, texts: dict[str, str], where: str) -> str:
    """The one-line message of a config table's first bad key."""
    key = error["loc"][0] if error["loc"] else None
    if error["type"] in ("extra_forbidden", "invalid_key"):
        close = difflib.get_close_matches(str(key), list(texts), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{where}: unknown key '{key}': {hint}known keys are {', '.join(texts)}"
    if error["type"] == "missing":
        return f"{where}: required key '{key}' is missing: add it (it must be {texts[key]})"
    value = data.get(key)
    if error["type"] == "finite_number":
        return f"{where}: '{key}' = {value!r} is not a finite number: give a finite value"
    return f"{where}: '{key}' = {value!r} has the wrong type: it must be {texts[key]}"


def _check_table(model: type[BaseModel], data: Mapping, texts: dict[str, str], where: str) -> None:
    """Validate ``data`` against ``model``; the first bad key in the table's order becomes a ConfigError."""
    probe = {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}  # tuples as lists
    try:
        model.model_validate(probe)
    except ValidationError as exc:
        order = {key: i for i, key in enumerate(data)}
        errors = exc.errors(include_url=False)
        first = min(errors, key=lambda e: order.get(e["loc"][0], len(order)) if e["loc"] else -1)
        raise ConfigError(_config_message(first, data, texts, where)) from None


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from ``data``, checking keys and value types first (:func:`config_model`).

    Parameters
    ----------
    cls : dataclass type
    data : dict
        Field values; fields left out take their defaults. They are passed
        to ``cls`` as given (not converted).
    where : str
        What ``data`` came from, for messages (``"runs/x/config.json"``,
        ``"digits.toml [train]"``).

    Returns
    -------
    cls instance

    Raises
    ------
    ConfigError
        If ``data`` is not a mapping, has an unknown key (the message
        suggests the closest known one), a value of the wrong type, a
        non-finite number, lacks a required key, or holds a value the class
        itself refuses; the message names ``where`` and the key.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
    texts = {f.name: _type_text(f.type) for f in dataclasses.fields(cls) if f.init}
    _check_table(config_model(cls), data, texts, where)
    try:
        return cls(**dict(data))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


#: Types of the names an annotation given as text may use (:func:`check_value`); any other name accepts anything.
_NAMES = {"int": int, "float": float, "str": str, "bool": bool, "dict": dict, "list": list, "tuple": list, "None": None}


@functools.cache
def _value_model(annotation: Any) -> type[BaseModel]:
    """A one-field strict model of ``annotation``: a type, or its text (``"str | None"``; ``list[str]`` is a list)."""
    hint = annotation
    if isinstance(annotation, str):
        types = tuple(_NAMES.get(part.strip().split("[")[0], Any) for part in annotation.split("|"))
        hint = Any if Any in types else typing.Union[types]  # noqa: UP007 - a union built at run time
    return create_model("Value", __config__=TABLE, value=(hint, ...))


def check_value(name: str, value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` if it suits the annotation (``"int"``, ``"float"``, ``"str | None"``, or a type).

    Booleans are not accepted as numbers, floats must be finite, and a
    tuple is accepted as a list.

    Raises
    ------
    ConfigError
        Naming ``where`` and the field.
    """
    probe = list(value) if isinstance(value, tuple) else value
    try:
        _value_model(annotation).model_validate({"value": probe})
    except ValidationError as exc:
        error = {**exc.errors(include_url=False)[0], "loc": (name,)}
        raise ConfigError(_config_message(error, {name: value}, {name: _type_text(annotation)}, where)) from None
    return value
