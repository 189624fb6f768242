"""Exceptions raised by nasprior: one family for user errors, one for a candidate's own failure.

Every error that a user can cause (a bad genome, an unknown prior, a missing
data set, a corrupt archive, a malformed record log, a bad predictor) is a
:class:`NaspriorError` whose message says what was wrong and what to do
instead. The command-line interface prints that message and exits with
status 2 instead of a traceback; a run stops at once.

A candidate's own failure while a search or a sample evaluates it (a NaN or
infinite training loss, a genome refused by the cost check) is a
:class:`CandidateError`: the evaluator logs a ``failed`` record and the run
goes on (:class:`nasprior.evaluation.Evaluator`). Out of memory and other
``RuntimeError``/``MemoryError`` of torch are treated the same way there.

None of these classes is a ``ValueError``: an ``except ValueError`` never
swallows a user's error.
"""

from __future__ import annotations


class NaspriorError(Exception):
    """Base class of every error nasprior raises on bad input."""


class ConfigError(NaspriorError):
    """A genome, search space, prior or option holds a value out of its range."""


class DataError(NaspriorError):
    """A data set is missing, corrupt, or fails its checksum."""


class RecordError(NaspriorError):
    """A run directory or record log cannot be read or does not match."""


class PredictorError(NaspriorError):
    """A predictor directory is missing, tampered with, of another schema, or does not fit the input."""


class CandidateError(NaspriorError):
    """One candidate failed on its own (e.g. a non-finite training loss); a search logs it as ``failed``."""


class CostError(CandidateError, ConfigError):
    """A genome is refused by the cost check (:func:`nasprior.evaluation.check_cost`): too large to build.

    A :class:`CandidateError` (a search logs the candidate as ``failed`` and
    goes on) and a :class:`ConfigError` (a genome a user gave, e.g. to
    ``nasprior predict``, is a user error).
    """


class RunDirError(RecordError):
    """A command may not create or write an output there: a user's folder, another kind of run, a run in use."""
