"""Reading every input file with one clear message.

Every file nasprior reads goes through the reading helpers here
(:func:`read_text`, :func:`read_json`, :func:`read_toml`,
:func:`parse_json`): a missing file, a directory, unreadable bytes, text
that is not UTF-8, JSON nested past Python's recursion limit and malformed
JSON or TOML all become one :class:`~nasprior.errors.NaspriorError` that names
the file and says what to do, never an ``OSError``, ``UnicodeDecodeError``
or ``RecursionError``.

What a parsed file holds is then checked by one layer of pydantic models,
:mod:`nasprior.schema`: config tables (:func:`from_mapping`, re-exported
here), records and model cards.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, NaspriorError
from .schema import check_value, from_mapping

__all__ = ["check_table", "check_value", "from_mapping", "parse_json", "read_json", "read_text", "read_toml"]


def read_text(
    path: str | os.PathLike, what: str, fix: str, error: type[NaspriorError] = ConfigError, max_bytes: int = 1 << 30
) -> str:
    """Text of a UTF-8 file, or one message naming it.

    Parameters
    ----------
    path : path-like
    what : str
        What the file is, for messages (``"search space"``, ``"genome file"``).
    fix : str
        What the user should do instead, ending the message.
    error : NaspriorError subclass
        Class of the raised error (default :class:`~nasprior.errors.ConfigError`).
    max_bytes : int
        Largest file read (default 1 GiB); a larger one is refused unread.

    Raises
    ------
    NaspriorError
        ``error``, if the file is missing, is a directory, cannot be read,
        is larger than ``max_bytes`` or is not UTF-8 text.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_file() and size > max_bytes:
            raise error(f"{what} {path} is {size / 2**30:.1f} GiB, larger than nasprior reads: {fix}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} not found: {fix}") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory, not a file: {fix}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (bad byte at offset {exc.start}): {fix}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path} ({exc.strerror or exc}): {fix}") from None


def parse_json(text: str, where: str, fix: str, error: type[NaspriorError] = ConfigError) -> Any:
    """Parse JSON text, turning every parse failure into one message.

    Raises
    ------
    NaspriorError
        ``error``, naming ``where``, if the text is not valid JSON or is
        nested too deeply for Python's recursion limit.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{where} is nested too deeply to be read as JSON: {fix}") from None
    except ValueError as exc:  # JSONDecodeError, and the UnicodeDecodeError of bytes
        raise error(f"{where} is not valid JSON ({exc}): {fix}") from None


def read_json(
    path: str | os.PathLike, what: str, fix: str, error: type[NaspriorError] = ConfigError, kind: type | None = dict
) -> Any:
    """Parsed content of a JSON file (:func:`read_text` then :func:`parse_json`).

    Parameters
    ----------
    kind : type, optional
        Required type of the top-level value (default ``dict``, a JSON
        object); None accepts any.

    Raises
    ------
    NaspriorError
        ``error``, for every failure of :func:`read_text` and
        :func:`parse_json`, or a top-level value that is not ``kind``.
    """
    data = parse_json(read_text(path, what, fix, error), f"{what} {path}", fix, error)
    if kind is not None and not isinstance(data, kind):
        expected = "a JSON object" if kind is dict else f"a JSON {kind.__name__}"
        raise error(f"{what} {path} must hold {expected}, not {type(data).__name__}: {fix}")
    return data


def read_toml(path: str | os.PathLike, what: str, fix: str, error: type[NaspriorError] = ConfigError) -> dict:
    """Parsed tables of a TOML file (:func:`read_text`, then :mod:`tomllib`).

    Raises
    ------
    NaspriorError
        ``error``, for every failure of :func:`read_text`, malformed TOML,
        or TOML nested too deeply.
    """
    text = read_text(path, what, fix, error)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise error(f"{what} {path} is nested too deeply to be read as TOML: {fix}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML ({exc}): {fix}") from None


def check_table(data: Any, where: str, fix: str, error: type[NaspriorError] = ConfigError) -> dict:
    """Return ``data`` if it is a table (a JSON object or TOML table).

    Raises
    ------
    NaspriorError
        ``error``, naming ``where``, if it is not.
    """
    if not isinstance(data, Mapping):
        raise error(f"{where} must be a table of settings, not {type(data).__name__} {data!r:.40}: {fix}")
    return dict(data)
