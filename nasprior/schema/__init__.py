"""One validation layer: pydantic models of the config tables, the run records and the model cards.

Everything nasprior reads back from a file after parsing it goes through a
pydantic v2 model of this package, and every refusal is one line naming the file (and
line), the table and the field, what was wrong and what to do:

* config tables (:class:`~nasprior.training.TrainConfig`,
  :class:`~nasprior.search.SearchConfig`, the skip rule, a sample's config,
  ...) are dataclasses; :func:`config_model` derives a strict model from a
  dataclass's fields (its annotations, defaults and numpydoc descriptions),
  and :func:`from_mapping` checks a parsed table against it before building
  the dataclass: unknown keys (with the closest known one), values of the
  wrong type, non-finite numbers and missing required keys are refused
  (:class:`~nasprior.errors.ConfigError`); ranges are the dataclass's own
  ``__post_init__`` checks;
* :class:`RunRecord`, one line of a record log (:func:`check_record`,
  :class:`~nasprior.errors.RecordError`); the genome migration stays in
  :meth:`nasprior.runs.records.Record.check`, which needs the gene registry;
* :class:`ModelCard`, a stored predictor's ``model_card.json``
  (:func:`check_card`, :class:`~nasprior.errors.PredictorError`).

Types are strict: no bool for a number, no text for a number, only finite
floats. The models only validate: what is returned or built is always the
caller's own data, unchanged (an ``lr = 1`` stays the int 1), so records and
configs read as before. A raw :class:`pydantic.ValidationError` never leaves
this package. :func:`dataset_schema` gives the JSON schema of a shipped data
set (``datasets/<name>/schema.json``, written by ``scripts/write_schemas.py``).

Modules: :mod:`~nasprior.schema.base` (the strict configs; pydantic's errors
turned into nasprior's messages), :mod:`~nasprior.schema.tables`,
:mod:`~nasprior.schema.records`, :mod:`~nasprior.schema.cards` (the three
kinds of input) and :mod:`~nasprior.schema.datasets` (the data sets' JSON
schema).
"""

from .base import OPEN, STRICT, TABLE, field_path, first_problem, refuse
from .cards import CARD_SCHEMA_VERSION, MODEL_FILE, READABLE_CARD_SCHEMAS, ModelCard, check_card
from .datasets import dataset_schema
from .records import STATUSES, RunRecord, check_record, record_error
from .tables import check_value, config_model, field_docs, from_mapping

__all__ = [
    "CARD_SCHEMA_VERSION",
    "MODEL_FILE",
    "OPEN",
    "READABLE_CARD_SCHEMAS",
    "STATUSES",
    "STRICT",
    "TABLE",
    "ModelCard",
    "RunRecord",
    "check_card",
    "check_record",
    "check_value",
    "config_model",
    "dataset_schema",
    "field_docs",
    "field_path",
    "first_problem",
    "from_mapping",
    "record_error",
    "refuse",
]
