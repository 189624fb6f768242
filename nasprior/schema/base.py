"""What the models of :mod:`nasprior.schema` share: strict configs, and pydantic errors turned into nasprior's phrases.

Each model lists its fields' phrases in a table, ``MESSAGES``: pairs of a
field path and what is wrong with a bad value (``"must be a string, got
{input!r:.60}"``), in the order nasprior checks them. Of all of pydantic's
errors, :func:`first_problem` reports the one whose field comes first in
that table.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

#: Strict types (no bool for a number, no text for a number), finite floats; shared by every model.
STRICT = ConfigDict(strict=True, allow_inf_nan=False, protected_namespaces=())
#: A config table: strict, and no key the dataclass does not have.
TABLE = ConfigDict(**STRICT, extra="forbid")
#: A record or a card: strict on the fields it names, every other field kept as it is.
OPEN = ConfigDict(**STRICT, extra="allow")


def refuse(field: str, why: str) -> PydanticCustomError:
    """An error a model's own check raises, for the messages of :mod:`nasprior.schema`.

    Parameters
    ----------
    field : str
        Dotted path of the field (``"metrics.val_acc"``).
    why : str
        What is wrong with it, a phrase after the field's name.

    Returns
    -------
    pydantic_core.PydanticCustomError
        Of type ``"nasprior"``; :func:`~nasprior.schema.check_record` and
        :func:`~nasprior.schema.check_card`
        turn it into their one-line message.
    """
    return PydanticCustomError("nasprior", "{why}", {"field": field, "why": why})


def field_path(loc: tuple) -> str:
    """Dotted path of a pydantic error location: ``("features", "names", 3)`` -> ``"features.names[3]"``.

    Dictionary keys are path parts; list indices are bracketed; the
    ``[key]`` marker of an invalid dictionary key is left out.
    """
    parts: list[str] = []
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int) and parts:
            parts[-1] += f"[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts)


def _problem(error: dict) -> tuple[str, Any]:
    """The field path and the offending value of one pydantic error (a model's own check names its field)."""
    if error["type"] == "nasprior":
        return error["ctx"]["field"], error["input"]
    return field_path(error["loc"]), error.get("input")


def _lookup(table: tuple[tuple[str, str], ...], path: str) -> tuple[int, str, str | None]:
    """Index, reported field and phrase of the first entry of ``table`` matching ``path``.

    An entry ``"a.b"`` matches that field; ``"a.*"`` (``"a[*"``) any entry
    of table (list) ``a``, reported by its own path (``"a.x"``, ``"a[3]"``);
    ``"a*"`` ``a`` and anything inside it, reported as ``"a"`` (the phrase
    describes the whole table).
    """
    for index, (pattern, why) in enumerate(table):
        if path == pattern or (pattern.endswith((".*", "[*")) and path.startswith(pattern[:-1])):
            return index, path, why
        if pattern.endswith("*") and path.startswith(pattern[:-1]):
            return index, pattern[:-1], why
    return len(table), path, None


def _inside(error: dict, field: str, path: str, value: Any) -> str:
    """Where inside a reported table the error lies, e.g. ``" (half_width.1.5 = 0.1)"``; empty for the field itself."""
    if path == field:
        return ""
    rest = path[len(field) :].lstrip(".")
    if error["type"] == "missing":
        return f" ({rest} is missing)"
    if "[key]" in error["loc"]:
        return f" (key {value!r:.40})"
    return f" ({rest} = {value!r:.40})"


def first_problem(errors: list[dict], table: tuple[tuple[str, str], ...], missing: str | None) -> tuple[str, str]:
    """Field path and phrase of the error nasprior reports: the first in the table's order (the order it checks in).

    Errors of the same table entry keep pydantic's order (a table's keys in file order).
    """
    ranked = [(rank, i, field, why) for i, (rank, field, why) in enumerate(_why(e, table, missing) for e in errors)]
    _, _, field, why = min(ranked)
    return field, why


def _why(error: dict, table: tuple[tuple[str, str], ...], missing: str | None) -> tuple[int, str, str]:
    """Rank (index of the table entry), field path and phrase of one error."""
    path, value = _problem(error)
    rank, field, why = _lookup(table, path)
    if error["type"] == "nasprior":
        why = error["ctx"]["why"]
    elif error["type"] == "missing" and missing is not None:
        why = missing
    elif why is None:  # a field the table does not name: pydantic's own words, never its exception
        why = f"= {value!r:.60} is invalid ({error['msg'][:1].lower()}{error['msg'][1:]})"
    else:
        why = why.format(input=value) + _inside(error, field, path, value)
    return rank, field, why


class NoTitles(GenerateJsonSchema):
    """JSON schema without the per-field ``title`` pydantic derives from each name (the name says it)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False
