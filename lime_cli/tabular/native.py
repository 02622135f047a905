"""Models with native categorical support: the columns they take as pandas ``category``.

LightGBM (``pandas_categorical``) and XGBoost (``feature_types`` ``"c"``, with
``enable_categorical``) refuse a column of strings where they were fitted on a
``category`` column; a table read from CSV has strings there.  The columns such
a model takes as categories are found here, from the model alone, so that the
training statistics treat them as categorical and the samples and the explained
rows reach the model with a ``category`` dtype (the model's own categories
where it keeps them, else the sorted training values, as ``astype("category")``
gives).  scikit-learn's ``HistGradientBoosting*`` encodes strings itself and
needs nothing.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from ..errors import DataError
from .stats import TrainingStats


def model_categories(model, feature_names: list[str]) -> dict[str, list | None]:
    """The columns of ``feature_names`` that ``model`` takes as ``category``, each with the
    model's categories (None where the model does not keep them: the training values then)."""
    found = _categories(model)
    return {name: cats for name, cats in found.items() if name in set(feature_names)}


def _categories(model) -> dict[str, list | None]:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:  # a Pipeline: what its last step takes, by name
        return _categories(steps[-1][1])
    module = type(model).__module__ or ""
    if module.startswith("lightgbm"):
        return _lightgbm(getattr(model, "booster_", model))
    if module.startswith("xgboost"):
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        return _xgboost(booster)
    return {}


def _lightgbm(booster) -> dict[str, list | None]:
    cats = getattr(booster, "pandas_categorical", None)
    if not cats:
        return {}
    names = booster.feature_name()
    params = getattr(booster, "params", {}) or {}
    index = params.get("categorical_column", params.get("categorical_feature"))
    if isinstance(index, (list, tuple)) and len(index) == len(cats):
        picked = [names[int(i)] if not isinstance(i, str) else i for i in index]
        return {name: list(c) for name, c in zip(picked, cats, strict=True)}
    # the fitted frame's category columns, in order, are the ones named in the model's header
    info = _lightgbm_categorical_names(booster, names)
    if len(info) == len(cats):
        return {name: list(c) for name, c in zip(info, cats, strict=True)}
    return {}


def _lightgbm_categorical_names(booster, names: list[str]) -> list[str]:
    for line in booster.model_to_string(num_iteration=-1).splitlines():
        if line.startswith("[categorical_feature:"):
            text = line.split(":", 1)[1].strip(" ]")
            return [names[int(i)] for i in text.split(",") if i.strip()]
    return []


def _xgboost(booster) -> dict[str, list | None]:
    types = getattr(booster, "feature_types", None) or []
    names = getattr(booster, "feature_names", None) or []
    wanted = [n for n, t in zip(names, types, strict=False) if t == "c"]
    if not wanted:
        return {}
    kept: dict[str, list] = {}
    try:  # XGBoost >= 3.1 keeps the training categories
        for name, arr in booster.get_categories(export_to_arrow=True).to_arrow() or []:
            if arr is not None:
                kept[name] = arr.to_pylist()
    except Exception:  # an older XGBoost: the codes of the sorted training values
        kept = {}
    return {name: kept.get(name) for name in wanted}


def with_model_categories(stats: TrainingStats, wanted: dict[str, list | None]) -> TrainingStats:
    """``stats`` with a ``category`` dtype on the columns the model takes as categories."""
    if not wanted:
        return stats
    columns = []
    for c in stats.columns:
        if c.name in wanted:
            if c.kind != "categorical":
                raise DataError(
                    f"the model takes column {c.name!r} as categories, but the training "
                    f"statistics bin it: refit them with the model (lime fit --model)"
                )
            cats = wanted[c.name]
            dtype = pd.CategoricalDtype(_sorted(c.categories.tolist()) if cats is None else cats)
            _warn_unknown(c, dtype)
            c = dataclasses.replace(c, dtype=dtype)
        columns.append(c)
    return dataclasses.replace(stats, columns=columns)


def _sorted(values: list) -> list:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _warn_unknown(c, dtype: pd.CategoricalDtype) -> None:
    """A warning when training values are not among the model's categories (the model sees
    them as missing): a column of numbers where the model was fitted on their text, say."""
    unknown = dtype.categories.get_indexer(pd.Index(c.categories, dtype=object)) < 0
    share = float(c.freqs[:-1][unknown].sum())
    if share > 0:
        first = c.categories[np.flatnonzero(unknown)[0]]
        warnings.warn(
            f"column {c.name!r}: {share:.0%} of its training values (first {first!r}) are not "
            f"among the model's categories; the model sees them as missing",
            UserWarning,
            stacklevel=3,
        )
