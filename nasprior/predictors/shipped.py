"""Predictors shipped with the package (``nasprior/pretrained/<name>/``), found by name.

A search space's ``[search]`` table may name one (``predictor = "cifar10-cnn"``)
so that the default search of its task ranks or skips offspring from the
first generation; ``nasprior search --predictor NAME`` names one too. The
folders are package data, so a non-editable install has them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import PredictorError

#: Folder of the shipped predictors inside the package.
PRETRAINED_DIR = "pretrained"


def shipped_predictors() -> list[str]:
    """Names of the predictors shipped with the package, sorted."""
    folder = resources.files("nasprior") / PRETRAINED_DIR
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if (entry / "model_card.json").is_file())


def predictor_path(spec: str | None) -> str | None:
    """The absolute folder of a ``--predictor`` argument: a predictor folder, or a shipped predictor's name.

    Parameters
    ----------
    spec : str or None
        A folder written by ``nasprior predictor fit``, or a name of
        :func:`shipped_predictors`; None gives None.

    Raises
    ------
    PredictorError
        If ``spec`` is neither an existing folder nor a shipped name (the message lists the shipped ones).
    """
    if spec is None:
        return None
    path = Path(spec)
    if path.is_dir():
        return str(path.resolve())
    entry = resources.files("nasprior") / PRETRAINED_DIR / spec
    if "/" not in spec and (entry / "model_card.json").is_file():
        return str(Path(str(entry)).resolve())
    shipped = ", ".join(shipped_predictors()) or "none"
    raise PredictorError(
        f"--predictor {spec}: no such folder and no shipped predictor of that name: give a folder made by "
        f"'nasprior predictor fit', or one of the shipped predictors ({shipped})"
    )
