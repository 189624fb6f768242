"""The model card model: a stored predictor's ``model_card.json``, checked on load.

The fields a predictor reads are checked; scores, importances, versions and
the other fields are kept as they are. Cards of schema 1 pass the same
check and are then migrated by :func:`nasprior.predictors.migrate_card`.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ..errors import PredictorError
from .base import OPEN, first_problem, refuse

#: Version of the predictor directory layout and model card; bumped on incompatible change.
CARD_SCHEMA_VERSION = 2
#: Card schema versions nasprior reads (older ones are migrated on read: :func:`nasprior.predictors.migrate_card`).
READABLE_CARD_SCHEMAS = (1, 2)
#: The fitted pipeline's file in a predictor directory (the card's default ``model_file``).
MODEL_FILE = "model.skops"


def _schema_version(value: Any) -> Any:
    if isinstance(value, bool) or value not in READABLE_CARD_SCHEMAS:
        raise PydanticCustomError("card_schema", "unreadable schema version")
    return value


def _level(text: str) -> str:
    try:
        ok = 0 < float(text) < 1
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not a level in (0, 1)")
    return text


Count = Annotated[int, Field(ge=0)]


class CardTask(BaseModel):
    """The task a predictor was fitted on (``GRAPH_TASK`` for graph files)."""

    model_config = OPEN
    name: str
    n_classes: int
    n_inputs: Count | None = None
    vocab_size: Count | None = Field(None, description="0 for feedforward tasks.")


class CardFeatures(BaseModel):
    """The predictor's columns, in order, with their training range."""

    model_config = OPEN
    names: list[str] = Field(description="Feature columns, in the pipeline's order.")
    min: dict[str, float] = Field(description="Smallest training value of each column.")
    max: dict[str, float] = Field(description="Largest training value of each column.")
    genes: dict[str, list[str]] | None = Field(None, description="Categorical genes read as one-hot columns.")

    @model_validator(mode="after")
    def _ranges(self) -> CardFeatures:
        missing = [n for n in self.names if n not in self.min or n not in self.max]
        if missing:
            raise refuse("features", f"lacks the training range of {', '.join(missing)}")
        return self


class CardR2(BaseModel):
    """Nested cross-validated R² of the structural model."""

    model_config = OPEN
    mean: float | None = None


class CardStructural(BaseModel):
    """Scores of the structural model."""

    model_config = OPEN
    r2: CardR2


class CardScores(BaseModel):
    """Scores of the models (structural next to the size-only baseline)."""

    model_config = OPEN
    structural: CardStructural


class CardIntervals(BaseModel):
    """Conformal prediction intervals."""

    model_config = OPEN
    half_width: dict[Annotated[str, AfterValidator(_level)], Annotated[float, Field(ge=0)]] = Field(
        description="Level such as '0.9' -> half-width of the interval."
    )


class ModelCard(BaseModel):
    """A stored predictor's ``model_card.json`` (see :mod:`nasprior.predictors.stored`).

    The fields a predictor reads are checked; every other field (scores,
    importance, versions, ...) is kept as it is.
    """

    model_config = ConfigDict(**OPEN, title="ModelCard")
    #: (path, phrase) in the order nasprior checks a card; the first bad field is the one reported.
    MESSAGES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("schema", ""),
        ("target", "is missing or not a str"),
        ("task", "is missing or not a dict"),
        ("task.name", "is missing or not a str"),
        ("task.n_classes", "is missing or not a int"),
        ("features", "is missing or not a dict"),
        ("features.names", "is missing or not a list"),
        ("features.min", "is missing or not a dict"),
        ("features.max", "is missing or not a dict"),
        ("scores", "is missing or not a dict"),
        ("scores.structural", "is missing or not a dict"),
        ("scores.structural.r2", "is missing or not a dict"),
        ("model_sha256", "is missing or not a str"),
        ("features.names[*", "must list the feature names as text, not {input!r:.40}"),
        ("features.min.*", "= {input!r:.40} is not a finite number"),
        ("features.max.*", "= {input!r:.40} is not a finite number"),
        ("features.genes*", "must map each gene to a list of its categories"),
        ("model_file", "= {input!r:.40} is not a file name in the predictor directory"),
        ("where*", "must map genes to values (text)"),
        ("source", "= {input!r:.40} is not 'runs' or 'graphs'"),
        ("name", "must be text"),
        ("task.n_inputs", "= {input!r:.40} is not a count"),
        ("task.vocab_size", "= {input!r:.40} is not a count"),
        ("scores.structural.r2.mean", "= {input!r:.40} is not a number"),
        ("intervals*", "must be a table whose 'half_width' maps levels like '0.9' to widths >= 0"),
    )

    schema_version: Annotated[int, AfterValidator(_schema_version)] = Field(
        alias="schema", json_schema_extra={"enum": list(READABLE_CARD_SCHEMAS)}
    )
    target: str = Field(description="The predicted metric (e.g. val_acc).")
    task: CardTask
    features: CardFeatures
    scores: CardScores
    model_sha256: str = Field(description="SHA-256 of the model file, verified on load.")
    model_file: str = Field(MODEL_FILE, pattern=r"^[^/.][^/]*$", description="A file in the predictor directory.")
    where: dict[str, str] | None = Field(None, description="Gene values the training records were restricted to.")
    source: typing.Literal["runs", "graphs"] = Field("runs", description="Where the training rows came from.")
    name: str = ""
    intervals: CardIntervals | None = None


def check_card(card: Any, where: Any) -> None:
    """Refuse a model card of an unreadable schema or with a missing or mistyped field (:class:`ModelCard`).

    Raises
    ------
    PredictorError
        Naming the card file and the field, and saying to refit.
    """
    fix = "refit the predictor with 'nasprior predictor fit'"
    try:
        ModelCard.model_validate(card)
    except ValidationError as exc:
        field, why = first_problem(exc.errors(include_url=False), ModelCard.MESSAGES, None)
        if field in ("schema", ""):  # unreadable version, or not a JSON object at all
            version = card.get("schema") if isinstance(card, dict) else None
            readable = ", ".join(map(str, READABLE_CARD_SCHEMAS))
            raise PredictorError(
                f"{where} has schema version {version!r}; this nasprior reads versions {readable}: {fix}"
            ) from None
        raise PredictorError(
            f"{where}: field '{field}' {why}: the card is damaged or was not written by nasprior; {fix}"
        ) from None
