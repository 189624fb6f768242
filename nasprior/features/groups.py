"""Named feature groups: the columns a predictor is fitted on, chosen by group (``predictor fit --feature-groups``).

The groups, in column order:

``structural``
    Structural features of the prior graph (:data:`~nasprior.features.FEATURE_NAMES`:
    Stier et al.'s 23, spectral and shape features).
``size``
    Size features of the network (:data:`~nasprior.features.SIZE_FEATURE_NAMES`).
``topology``
    Data-free topology scores of the network's masks (:data:`~nasprior.features.TOPOLOGY_SCORE_NAMES`).
``profile``
    Width profile, skips, paths, clustering, assortativity (:data:`~nasprior.features.PROFILE_FEATURE_NAMES`).
``wl``
    Hashed Weisfeiler-Lehman histogram (:data:`~nasprior.features.WL_FEATURE_NAMES`).
``curve``
    Learning-curve features of a trained record (:data:`~nasprior.features.CURVE_FEATURE_NAMES`,
    Baker et al. 2017): known only after a training, so neither a default nor part of ``all``; taken from
    the screening record of the same genome (``predictor fit --curve-from RUN``), it lets a predictor learn
    the final accuracy from structure plus the screening curve.
``proxies``
    Zero-cost proxies at initialisation (:data:`~nasprior.features.PROXY_FEATURE_NAMES`); the only
    group that needs the task's data, so not among the defaults: a predictor fitted on it predicts
    only where the proxies can be computed (in a search, whose evaluator holds the data).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError
from .curve import CURVE_FEATURE_NAMES
from .graph import GRAPH_FEATURE_NAMES
from .mask_scores import TOPOLOGY_SCORE_NAMES
from .profile import PROFILE_FEATURE_NAMES
from .proxies import PROXY_FEATURE_NAMES
from .size import SIZE_FEATURE_NAMES
from .structural import FEATURE_NAMES
from .wl import WL_FEATURE_NAMES

#: Feature names of each group, groups in column order.
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "structural": tuple(FEATURE_NAMES),
    "size": tuple(SIZE_FEATURE_NAMES),
    "topology": tuple(TOPOLOGY_SCORE_NAMES),
    "profile": tuple(PROFILE_FEATURE_NAMES),
    "wl": tuple(WL_FEATURE_NAMES),
    "proxies": tuple(PROXY_FEATURE_NAMES),
    "curve": tuple(CURVE_FEATURE_NAMES),
}
#: Groups used when none are named: every group but the proxies (the columns of
#: :data:`nasprior.evaluation.CANDIDATE_FEATURES`, as before the proxies existed).
DEFAULT_FEATURE_GROUPS = ("structural", "size", "topology", "profile", "wl")


def parse_feature_groups(groups: str | Sequence[str] | None) -> tuple[str, ...]:
    """Group names from ``"size,structural"`` or a sequence, in the column order of :data:`FEATURE_GROUPS`.

    Parameters
    ----------
    groups : str or sequence of str or None
        Comma-separated names or a sequence of names; None: :data:`DEFAULT_FEATURE_GROUPS`.
        ``"all"`` names every group but ``curve``. Repeats are ignored.

    Returns
    -------
    tuple of str

    Raises
    ------
    ConfigError
        If a name is not a group, or none is given.
    """
    if groups is None:
        return DEFAULT_FEATURE_GROUPS
    items = groups.split(",") if isinstance(groups, str) else list(groups)
    names = {str(g).strip() for g in items if str(g).strip()}
    if "all" in names:  # every group a record has before training: not the curve (see its entry above)
        names = (names - {"all"}) | (set(FEATURE_GROUPS) - {"curve"})
    unknown = sorted(names - set(FEATURE_GROUPS))
    if unknown or not names:
        what = f"unknown feature group(s) {', '.join(unknown)}" if unknown else "no feature group given"
        raise ConfigError(f"{what}: choose among {', '.join(FEATURE_GROUPS)} (or all), comma-separated")
    return tuple(g for g in FEATURE_GROUPS if g in names)


def group_feature_names(groups: str | Sequence[str] | None) -> tuple[str, ...]:
    """Feature names of the groups ``groups`` (see :func:`parse_feature_groups`), in column order.

    Raises
    ------
    ConfigError
        If a name is not a group, or none is given.
    """
    return tuple(name for group in parse_feature_groups(groups) for name in FEATURE_GROUPS[group])


#: Feature columns of every candidate built for a task, in order (the default groups): structural features of
#: the graph, size features and data-free topology scores of the network, then the graph's profile and
#: Weisfeiler-Lehman features (added later: records of older versions lack them, and fitting drops columns
#: missing in some record). The one list of them: the evaluator, the run's predictor and fitting read it.
CANDIDATE_FEATURES: tuple[str, ...] = group_feature_names(DEFAULT_FEATURE_GROUPS)
#: Feature columns of a graph without a task (:func:`nasprior.evaluation.graph_candidate_features` with
#: ``shape=None``): the graph's own features (:data:`~nasprior.features.GRAPH_FEATURE_NAMES`) and its size.
GRAPH_CANDIDATE_FEATURES: tuple[str, ...] = tuple(GRAPH_FEATURE_NAMES) + SIZE_FEATURE_NAMES
