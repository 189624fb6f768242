"""The configuration and result of a search (stored as the run's ``config.json``)."""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..cost import check_population
from ..errors import ConfigError
from ..names import OBJECTIVES, STRATEGIES  # defined once there, for the CLI parsers too
from ..predictors import Predictor, SkipRule, predictor_path
from ..schema import from_mapping
from ..space import SearchSpace
from ..tasks import check_task
from ..training.loop import TrainConfig, resolve_device

#: Keys of a search space's ``[search]`` table (GA settings and the skip rule).
SPACE_SEARCH_KEYS = (
    "population",
    "generations",
    "cxpb",
    "mutpb",
    "skip",
    "objectives",
    "strategy",
    "screen_factor",
    "initial_factor",
    "predictor",
)


#: Keys of a space's ``[final]`` table that are not training options.
FINAL_KEYS = ("top_k", "minutes", "survivor_predictor")


def final_train_options(train: dict, final: dict) -> dict:
    """Training options of the full training of a search's survivors.

    The screening options ``train``, without its ``train_subset`` (the
    survivors train on every training image unless ``final`` says
    otherwise) and its ``score_test`` (survivors are always scored on the
    test split), updated with the options in ``final`` (all but
    :data:`FINAL_KEYS`: ``top_k``, ``minutes``, the time budget of
    :func:`nasprior.search.final.epochs_within`, and ``survivor_predictor``, a
    predictor that ranks the survivors instead of their screening accuracy).

    Raises
    ------
    ConfigError
        If ``top_k`` is not an integer >= 0, ``minutes`` not a number >= 0, or an option is not a
        :class:`~nasprior.training.TrainConfig` field of the right type.
    """
    top_k = final.get("top_k", 0)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ConfigError(f"final option 'top_k' = {top_k!r} is invalid: use an integer >= 0 (0: no final training)")
    minutes = final.get("minutes", 0)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 <= minutes < math.inf:
        raise ConfigError(
            f"final option 'minutes' (--final-minutes) = {minutes!r} is invalid: use a finite number of "
            "minutes >= 0 (0: no time budget, the [final] epochs)"
        )
    options = {k: v for k, v in train.items() if k not in ("train_subset", "score_test")}
    options.update({k: v for k, v in final.items() if k not in FINAL_KEYS})
    from_mapping(TrainConfig, options, "final training options ([final] table)")
    return options


@dataclass
class SearchConfig:
    """Everything a search needs; stored as the run's ``config.json``.

    Parameters
    ----------
    task : str
        A registered task (:data:`nasprior.tasks.TASKS`).
    space : dict
        The search space tables (see :class:`~nasprior.space.SearchSpace`).
    population : int
        Individuals per generation (μ = λ), >= 2.
    generations : int
        Generations after the initial one, >= 0.
    train : dict
        :class:`~nasprior.training.TrainConfig` fields (the budget).
    skip : dict
        :class:`~nasprior.predictors.SkipRule` fields.
    cxpb, mutpb : float
        Crossover and mutation probabilities, in [0, 1].
    seed : int
        Seed of the GA, the validation split and weight initialisation, >= 0.
    data_dir : str, optional
        Where the data sets live.
    download : bool
        Fetch a missing data set from its official source.
    run_id : str
    predictor : str, optional
        Directory of a stored predictor (``nasprior predictor fit``) used to
        skip offspring from the first generation on, while the run's own
        predictor is not warm or falls below ``min_r2``.
    objectives : list of str
        What the GA optimises, keys of :data:`OBJECTIVES`: ``accuracy``
        (validation accuracy, maximised; always first), ``weights``
        (non-zero weights, minimised), ``flops`` (multiply-accumulates per
        example, minimised). The number of objectives and their weights set
        the DEAP fitness; with more than one, selection is NSGA-II (Deb et
        al. 2002).
    strategy : {"ga-skip", "ga", "ga-screen", "random"}
        ``ga-skip``: the (μ + λ) GA whose predictor skips offspring predicted
        poor (the default); ``ga``: the same GA training every offspring;
        ``ga-screen``: each generation breeds ``screen_factor`` × λ offspring
        and trains the λ ranked best by the predictor (BANANAS-style; White et
        al. 2021); ``random``: λ new random candidates per generation (the
        field's baseline at the same budget).
    screen_factor : int
        Offspring bred per trained offspring with ``ga-screen`` (>= 1).
    initial_factor : int
        Generation 0 with a stored predictor (``predictor``) whose CV R² is
        at least ``min_r2``, for the predictor strategies (``ga-skip`` with
        skipping on, ``ga-screen``): ``initial_factor`` × μ distinct random
        candidates are drawn and the μ the stored predictor ranks best are
        trained, so the predictor pays from the first trainings on (>= 1;
        1, or no usable stored predictor: μ random candidates, as ``ga`` and
        ``random`` always draw).
    final : dict
        The second stage (:mod:`nasprior.search.final`): ``top_k`` distinct
        best screened candidates are trained again with the options of
        :func:`final_train_options` (``final`` overrides ``train``). Empty
        or ``top_k = 0``: no final training.

    Raises
    ------
    ConfigError
        If a value is out of range, or a device is asked for that torch
        does not see (``cuda`` without a GPU); checked before any data is
        loaded or any run directory is created.
    """

    task: str
    space: dict
    population: int = 10
    generations: int = 5
    train: dict = field(default_factory=dict)
    skip: dict = field(default_factory=dict)
    cxpb: float = 0.5
    mutpb: float = 0.5
    seed: int = 0
    data_dir: str | None = None
    download: bool = False
    run_id: str = ""
    predictor: str | None = None
    objectives: list = field(default_factory=lambda: ["accuracy"])
    strategy: str = "ga-skip"
    screen_factor: int = 10
    initial_factor: int = 3
    final: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_task(self.task)
        if self.population < 2:
            raise ConfigError(f"population = {self.population} is too small: use at least 2")
        if self.generations < 0:
            raise ConfigError(f"generations = {self.generations} is invalid: use 0 or more")
        if self.seed < 0:
            raise ConfigError(f"seed = {self.seed} is invalid: use an integer >= 0")
        for name in ("cxpb", "mutpb"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} = {getattr(self, name)} is invalid: use a probability in [0, 1]")
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if (
            not self.objectives
            or unknown
            or self.objectives[0] != "accuracy"
            or len(set(self.objectives)) < len(self.objectives)
        ):
            raise ConfigError(
                f"objectives {','.join(map(str, self.objectives))} are invalid: give 'accuracy' first, then "
                f"any of {', '.join(o for o in OBJECTIVES if o != 'accuracy')}, each once"
            )
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy {self.strategy!r} is unknown: use one of {', '.join(STRATEGIES)}")
        if self.screen_factor < 1:
            raise ConfigError(f"screen_factor = {self.screen_factor} is invalid: use 1 or more")
        if isinstance(self.initial_factor, bool) or not isinstance(self.initial_factor, int) or self.initial_factor < 1:
            raise ConfigError(
                f"initial_factor = {self.initial_factor!r} is invalid: use an integer >= 1 (1: generation 0 is "
                "drawn at random)"
            )
        bred = self.population * (self.screen_factor if self.strategy == "ga-screen" else 1)
        check_population(
            f"a generation of population {self.population} x screen_factor {self.screen_factor}"
            if self.strategy == "ga-screen"
            else f"a population of {self.population}",
            (
                bred * (self.generations + 1)
                if self.strategy != "ga-screen"
                else bred + self.population * self.generations
            )
            + self.population * (self.initial_factor - 1),
            "choose a smaller population or screen_factor",
        )
        # Validate eagerly so a bad option fails before any data is loaded.
        SearchSpace.from_dict(self.space)
        from_mapping(TrainConfig, self.train, "training options")
        from_mapping(SkipRule, self.skip, "skip rule")
        final = final_train_options(self.train, self.final)
        for options in (self.train, final):  # a GPU asked for on a machine without one: stop before anything runs
            resolve_device(options.get("device", "auto"))
        ranker = self.final.get("survivor_predictor")
        if ranker is not None:
            if not isinstance(ranker, str):
                raise ConfigError(
                    f"final option 'survivor_predictor' = {ranker!r} is invalid: give a predictor folder or a "
                    "shipped predictor's name"
                )
            ranked_on = Predictor.load(predictor_path(ranker)).task["name"]
            if ranked_on != self.task:
                raise ConfigError(
                    f"[final] survivor_predictor {ranker} was fitted on task {ranked_on!r}, not {self.task!r}"
                )
        if self.predictor:
            fitted_on = Predictor.load(self.predictor).task["name"]
            if fitted_on != self.task:
                raise ConfigError(
                    f"predictor {self.predictor} was fitted on task {fitted_on!r}, not {self.task!r}: "
                    f"use one fitted on {self.task} runs, or leave out --predictor"
                )

    @property
    def weights(self) -> tuple[float, ...]:
        """DEAP fitness weights, one per objective."""
        return tuple(OBJECTIVES[o] for o in self.objectives)

    def to_dict(self) -> dict:
        """JSON-able dict of the config."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, where: str = "search config") -> SearchConfig:
        """A config from a parsed ``config.json``, its keys and value types checked.

        Raises
        ------
        ConfigError
            Naming ``where`` and the bad field.
        """
        return from_mapping(cls, data, where)


def check_space_search_table(space: SearchSpace) -> None:
    """Refuse unknown keys in a space's ``[search]`` and ``[search.skip]`` tables, and bad ``[train]`` keys.

    Raises
    ------
    ConfigError
        Naming the space file, the table and the key.
    """
    for key in space.search:
        if key not in SPACE_SEARCH_KEYS:
            close = difflib.get_close_matches(key, SPACE_SEARCH_KEYS, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"{space.name} [search]: unknown key '{key}': {hint}known keys are {', '.join(SPACE_SEARCH_KEYS)}"
            )
    from_mapping(SkipRule, space.search.get("skip", {}), f"{space.name} [search.skip]")
    from_mapping(TrainConfig, space.train, f"{space.name} [train]")
    final_train_options(space.train, space.final)


@dataclass
class SearchResult:
    """Outcome of :func:`~nasprior.search.run_search`.

    Attributes
    ----------
    run_dir : pathlib.Path
    best : dict or None
        Record of the trained candidate with the highest validation accuracy.
    n_trained, n_skipped, n_failed : int
        Candidates evaluated in the whole run (resumed parts included).
    generations : list of dict
        Per-generation summary: ``generation``, ``best_val_acc``,
        ``median_val_acc``, ``n_trained``, ``n_skipped``, ``elapsed_s``,
        ``nnstd_diversity`` and ``n_diversity``.
    hall_of_fame : list of dict
        Records of the best trained candidates, best first.
    pareto_front : list of dict
        Records of the trained candidates no other trained candidate
        dominates in the search's objectives (one objective: the best).
    final : list of dict
        Records of the fully trained survivors (fidelity ``"final"``), in
        the order of their screening rank; empty without a final stage.
    """

    run_dir: Path
    best: dict | None
    n_trained: int
    n_skipped: int
    n_failed: int
    generations: list[dict]
    hall_of_fame: list[dict]
    pareto_front: list[dict] = field(default_factory=list)
    final: list[dict] = field(default_factory=list)
