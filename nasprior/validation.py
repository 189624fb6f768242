"""Typed construction of configuration dataclasses from parsed JSON or TOML.

Configs (:class:`~nasprior.training.TrainConfig`,
:class:`~nasprior.search.SearchConfig`, the skip rule, a sample's config)
are dataclasses; :func:`from_mapping` builds one from a dict read from a
file or the command line, refusing unknown keys and values of the wrong type
with one message that names the file, the table and the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list, tuple),
    "tuple": (list, tuple),
    "None": (type(None),),
}


def _allowed(annotation: Any) -> tuple[tuple[type, ...], str]:
    """Python types accepted for a field annotation (given as text), and the annotation as text."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    types: tuple[type, ...] = ()
    for part in text.split("|"):
        base = part.strip().split("[")[0]
        types += _TYPES.get(base, (object,))
    return types, text


def check_value(name: str, value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` if it suits the annotation (``"int"``, ``"float"``, ``"str | None"``, ...).

    Booleans are not accepted as numbers, and floats must be finite.

    Raises
    ------
    ConfigError
        Naming ``where`` and the field.
    """
    types, text = _allowed(annotation)
    ok = isinstance(value, types)
    if isinstance(value, bool) and bool not in types:
        ok = False
    if ok and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: '{name}' = {value!r} is not a finite number: give a finite value")
    if not ok:
        raise ConfigError(f"{where}: '{name}' = {value!r} has the wrong type: it must be {text.replace(' | ', ' or ')}")
    return value


def from_mapping(cls: type[T], data: Any, where: str) -> T:
    """Build dataclass ``cls`` from ``data``, checking keys and value types first.

    Parameters
    ----------
    cls : dataclass type
    data : dict
        Field values; fields left out take their defaults.
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
        suggests the closest known one), a value of the wrong type, or one
        the class itself refuses.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: unknown key '{key}': {hint}known keys are {', '.join(fields)}")
        check_value(key, data[key], fields[key].type, where)
    try:
        return cls(**dict(data))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
