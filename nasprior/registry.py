"""One registry type for priors, mappings, tasks and regressors."""

from __future__ import annotations

from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(dict):
    """Entries by name, in registration order (a ``dict`` with checked adding and lookup).

    Parameters
    ----------
    kind : str
        What the entries are (``"prior"``, ``"mapping"``, ...), for messages.
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def add(self, entry: T) -> T:
        """Register ``entry`` under ``entry.name`` and return it.

        Raises
        ------
        ConfigError
            If the name is taken.
        """
        if entry.name in self:
            raise ConfigError(f"a {self.kind} named {entry.name!r} is already registered: choose another name")
        self[entry.name] = entry
        return entry

    def lookup(self, name: Any) -> Any:
        """The entry called ``name``.

        Raises
        ------
        ConfigError
            If there is none; the message lists the registered names.
        """
        try:
            return self[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r}: use one of {', '.join(self)}") from None
