"""A global view of many local explanations (what ``lime summary`` prints).

Two ways to read a batch of explanations as a whole:

:func:`summarize` aggregates them per (label, feature).  For the explanations of
one label (``None`` in regression), a feature's ``mean_abs_weight`` is the mean
of ``|weight|`` over *all* of them, counting 0 where the feature is not listed,
so a feature that matters strongly but rarely and one that matters a little
everywhere are put on one scale.  ``mean_weight`` is the signed mean on the same
basis (0 where absent), so ``|mean_weight| <= mean_abs_weight``.  ``top_share``
is the share of the label's explanations that list the feature among their first
``top_k`` features (features are listed by decreasing ``|weight|``; with
``top_k=None``, anywhere in the list).  ``sign_consistency`` is
``|#positive - #negative| / #present`` over the explanations listing it: 1 when
its weight always has the same sign, 0 when it is as often positive as negative.
``count`` is the number of explanations listing it.  A word of a text column is
named with its column (``review: "excellent"``, :func:`feature_key`).

:func:`submodular_pick` is SP-LIME (Ribeiro, Singh and Guestrin, "Why should I
trust you?", KDD 2016, Algorithm 2): it chooses a few explanations that,
together, show the features that matter globally.  With ``W`` the explanation
matrix (one line per explanation, one column per feature, ``|weight|`` and 0
where absent), the global importance of feature ``j`` is
``I_j = sqrt(sum_i W_ij)``, and a set ``V`` of explanations covers
``c(V) = sum_j I_j * [some i in V has W_ij > 0]``.  Coverage is submodular, so
picking greedily the explanation that adds the most coverage, ``budget`` times,
is within ``1 - 1/e`` of the best set.  All explanations are pooled, whatever
their label; to pick per class, pass the explanations of that class only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, ParameterError
from .schema import Explanation, feature_key, has_regions

#: Columns of :func:`summarize`'s frame, in order.
SUMMARY_COLUMNS = [
    "level",
    "label",
    "feature",
    "condition",
    "mean_abs_weight",
    "top_share",
    "sign_consistency",
    "mean_weight",
    "count",
]

_SUMMARY_TYPES = {
    "level": "string",
    "label": "string",
    "feature": "string",
    "condition": "string",
    "mean_abs_weight": "float64",
    "top_share": "float64",
    "sign_consistency": "float64",
    "mean_weight": "float64",
    "count": "int64",
}


LEVELS = ("column", "condition")


def summarize(
    explanations: Iterable[Explanation], top_k: int | None = None, by: str | Sequence[str] = "column"
) -> pd.DataFrame:
    """One line per (label, feature) listed at least once, and per (label, feature, condition);
    columns :data:`SUMMARY_COLUMNS`.

    ``level`` says which: ``column`` lines aggregate a feature whatever its condition;
    ``condition`` lines one condition of it (``marital_status = Married``, ``age <= 28.00``), so a
    column whose categories push opposite ways shows a consistent sign on each category, where
    the column as a whole reads as inconsistent (``condition`` is empty on ``column`` lines).
    ``by`` chooses the levels.  Lines are sorted by level, label (a missing label, i.e.
    regression, last), decreasing ``mean_abs_weight``, then feature and condition.  No
    explanation gives an empty frame with those columns.
    """
    if top_k is not None:
        _check_count("top_k", top_k)
    levels = [by] if isinstance(by, str) else list(by)
    for level in levels:
        if level not in LEVELS:
            raise ParameterError(f"{{by}} must be one of {', '.join(LEVELS)}, not {level!r}")
    explanations = list(explanations)
    _no_regions(explanations)
    groups: dict[str | None, list[Explanation]] = {}
    for e in explanations:
        groups.setdefault(e.label, []).append(e)

    parts = []
    for level in levels:
        key = (lambda f: feature_key(f)) if level == "column" else (lambda f: (feature_key(f), f.condition))
        for label, exps in groups.items():
            names, weights, present, rank = _matrix(exps, key)
            if not names:
                continue
            n = len(exps)
            listed = present.sum(axis=0)
            top = present if top_k is None else present & (rank < top_k)
            pos = (present & (weights > 0)).sum(axis=0)
            neg = (present & (weights < 0)).sum(axis=0)
            parts.append(
                pd.DataFrame(
                    {
                        "level": level,
                        "label": [label] * len(names),
                        "feature": names if level == "column" else [k[0] for k in names],
                        "condition": None if level == "column" else [k[1] for k in names],
                        "mean_abs_weight": np.abs(weights).sum(axis=0) / n,
                        "top_share": top.sum(axis=0) / n,
                        "sign_consistency": np.abs(pos - neg) / listed,
                        "mean_weight": weights.sum(axis=0) / n,
                        "count": listed,
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _SUMMARY_TYPES.items()})
    frame = pd.concat(parts, ignore_index=True).astype(_SUMMARY_TYPES)
    frame["_level"] = frame["level"].map({level: i for i, level in enumerate(LEVELS)})
    frame = frame.sort_values(
        ["_level", "label", "mean_abs_weight", "feature", "condition"],
        ascending=[True, True, False, True, True],
        na_position="last",
        kind="stable",
    )
    return frame.drop(columns="_level").reset_index(drop=True)


def _no_regions(explanations: Sequence[Explanation]) -> None:
    """Image regions are each image's own: there is no global view of them."""
    if has_regions(explanations):
        raise DataError(
            "the explanations are of images: a region is its own image's (region 7 of one image is "
            "not region 7 of another), so there is no global view or pick of them"
        )


def submodular_pick(explanations: Sequence[Explanation], budget: int) -> list[int]:
    """Indices into ``explanations`` of the ``budget`` explanations SP-LIME picks, in pick order.

    Each step takes the explanation adding the most coverage, the lowest index
    among equals.  With ``budget`` at least the number of explanations, every
    index is returned once, in that greedy order.
    """
    _check_count("budget", budget)
    exps = list(explanations)
    if not exps:
        return []
    _no_regions(exps)
    _, weights, _, _ = _matrix(exps)
    W = np.abs(weights)
    W[~np.isfinite(W)] = 0.0
    importance = np.sqrt(W.sum(axis=0))
    covers = (W > 0).astype(np.float64)
    # gains that differ only by rounding (the same features summed in another order) are ties
    tol = 1e-12 * max(float(importance.sum()), 1.0)

    uncovered = np.ones(W.shape[1], dtype=np.float64)
    available = np.ones(len(exps), dtype=bool)
    picked: list[int] = []
    for _ in range(min(budget, len(exps))):
        gain = covers @ (importance * uncovered)
        gain[~available] = -np.inf
        i = int(np.flatnonzero(gain >= gain.max() - tol)[0])
        picked.append(i)
        available[i] = False
        uncovered[covers[i] > 0] = 0.0
    return picked


def _matrix(
    exps: Sequence[Explanation], key=feature_key
) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """The features' keys (``key(f)``, in order of first appearance) and three explanations x features
    arrays.

    ``weights``: the signed weight, 0 where the feature is not listed; ``present``:
    whether it is listed; ``rank``: its 0-based position in the list (-1 if absent).
    A feature listed twice in one explanation counts once, at its first position.
    """
    column: dict = {}
    cells: list[tuple[int, int, int, float]] = []
    for i, e in enumerate(exps):
        seen: set = set()
        for r, f in enumerate(e.features):
            k = key(f)
            if k in seen:
                continue
            seen.add(k)
            j = column.setdefault(k, len(column))
            cells.append((i, j, r, float(f.weight)))
    shape = (len(exps), len(column))
    weights = np.zeros(shape)
    present = np.zeros(shape, dtype=bool)
    rank = np.full(shape, -1, dtype=np.int64)
    if cells:
        rows, cols, ranks, values = zip(*cells, strict=True)
        weights[rows, cols] = values
        present[rows, cols] = True
        rank[rows, cols] = ranks
    return list(column), weights, present, rank


def _check_count(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{{{name}}} must be an integer >= {minimum}, not {value!r}")
