"""Exceptions raised by nasprior.

Every error that a user can cause (a bad genome, an unknown prior, a missing
data set, a corrupt archive, a malformed record log) is a :class:`NaspriorError`
whose message says what was wrong and what to do instead. The command-line
interface prints that message and exits with a non-zero status instead of a
traceback.
"""

from __future__ import annotations


class NaspriorError(Exception):
    """Base class of every error nasprior raises on bad input."""


class ConfigError(NaspriorError, ValueError):
    """A genome, search space, prior or option holds a value out of its range."""


class DataError(NaspriorError):
    """A data set is missing, corrupt, or fails its checksum."""


class RecordError(NaspriorError):
    """A run directory or record log cannot be read or does not match."""


class RunDirError(RecordError):
    """A command may not create or write an output there: a user's folder, another kind of run, a run in use."""
