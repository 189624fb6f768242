"""The record model: one line of a record log (``records.jsonl``), checked on read.

The genome is checked and migrated by :meth:`nasprior.runs.records.Record.check`,
which calls :func:`check_record` first and needs the gene registry.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import RecordError
from .base import OPEN, first_problem, refuse

#: Record statuses: trained fully, skipped by the predictor, or failed.
STATUSES = ("trained", "skipped", "failed")


def _status(value: str) -> str:
    if value not in STATUSES:
        raise refuse("status", f"= {value!r} is not one of {', '.join(STATUSES)}")
    return value


class RunRecord(BaseModel):
    """One record: a JSON object per line of ``records.jsonl`` (see :mod:`nasprior.runs.records`).

    Only the fields below are checked; every other field (``curve``,
    ``train``, ``versions``, ``timing``, ``fidelity``, ...) is kept as it is.
    A trained record needs ``metrics.val_acc``, a skipped one
    ``metrics.predicted_val_acc``.
    """

    model_config = ConfigDict(**OPEN, title="Record")
    #: (path, phrase) in the order nasprior checks a record; the first bad field is the one reported.
    MESSAGES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("key", "must be a string, got {input!r:.60}"),
        ("status", "must be a string, got {input!r:.60}"),
        ("task", "must be a string, got {input!r:.60}"),
        ("genome", "must be a JSON object, got {input!r:.60}"),
        ("metrics", "must be a JSON object, got {input!r:.60}"),
        ("features", "must be a JSON object, got {input!r:.60}"),
        ("metrics.*", "must be a finite number or null, got {input!r:.60}"),
        ("features.*", "must be a finite number or null, got {input!r:.60}"),
        ("generation", "must be an integer or null, got {input!r:.60}"),
    )

    key: str = Field(description="The genome's key (16 hex digits of its hash).")
    status: Annotated[str, AfterValidator(_status)] = Field(
        description="Outcome of the candidate.", json_schema_extra={"enum": list(STATUSES)}
    )
    task: str = Field(description="The task the candidate was evaluated on (a name of nasprior.tasks.TASKS).")
    genome: dict[str, Any] = Field(
        description="The genome: prior, mapping and the genes they read (checked by nasprior.genome.Genome.from_dict)."
    )
    metrics: dict[str, float | None] = Field(
        description="Accuracies and the like (val_acc, test_acc, predicted_val_acc, ...): finite numbers or null."
    )
    features: dict[str, float | None] = Field(
        description="Structural, size and topology features (n_weights, ...): finite numbers or null."
    )
    generation: int | None = Field(None, description="Generation in which a search first evaluated the candidate.")

    @model_validator(mode="after")
    def _value_of_status(self) -> RunRecord:
        for status, metric in (("trained", "val_acc"), ("skipped", "predicted_val_acc")):
            if self.status == status and self.metrics.get(metric) is None:
                raise refuse(f"metrics.{metric}", f"must be a finite number for a {status} record")
        return self


def record_error(where: str, field: str, why: str) -> RecordError:
    """The message of a bad record field: file and line, field, what is wrong, what to do.

    Returns
    -------
    RecordError
    """
    return RecordError(
        f"{where}: field '{field}' {why}: this is not a record nasprior wrote; "
        "remove the line (or restore the file) and resume"
    )


def check_record(data: Any, where: str) -> dict[str, Any]:
    """Validate one record against :class:`RunRecord`.

    Parameters
    ----------
    data : object
        A parsed JSON line.
    where : str
        File and line, for messages (``"runs/x/records.jsonl, line 3"``).

    Returns
    -------
    dict
        ``data`` itself, unchanged.

    Raises
    ------
    RecordError
        Naming ``where`` and the first bad field, and what to do.
    """
    if not isinstance(data, dict):
        raise RecordError(f"{where}: a record must be a JSON object")
    try:
        RunRecord.model_validate(data)
    except ValidationError as exc:
        field, why = first_problem(exc.errors(include_url=False), RunRecord.MESSAGES, "is missing")
        raise record_error(where, field, why) from None
    return data
