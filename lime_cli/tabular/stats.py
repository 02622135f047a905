"""Training statistics: how each column is perturbed and described.

A :class:`TrainingStats` is computed once from the training table.  It holds,
per feature column, what the sampler needs (bin edges and per-bin statistics,
category frequencies, mean and standard deviation) and what the explanation
needs to describe a feature (``age <= 28.00``, ``sex = Female``).  It keeps
the column's pandas dtype so that perturbed samples are handed to the model
in the user's own column space.

Every discrete column (a binned numeric column or a categorical one) has a
last code reserved for "missing", whose training frequency may be zero.
"""

from __future__ import annotations

import math
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_integer_dtype,
    is_numeric_dtype,
)

from ..errors import DataError, ParameterError

DISCRETIZERS = ("quartile", "decile", "entropy", "none")

_PERCENTILES = {"quartile": [25, 50, 75], "decile": list(range(10, 100, 10))}


@dataclass
class ColumnStats:
    """Statistics of one feature column.

    ``kind`` is ``"binned"`` (numeric, discretized), ``"categorical"`` or
    ``"continuous"`` (numeric, not discretized).
    """

    name: str
    kind: str
    dtype: object
    is_integer: bool = False
    # discrete columns (binned and categorical): code frequencies, last = missing
    freqs: np.ndarray | None = None
    # binned columns
    edges: np.ndarray | None = None
    bin_mean: np.ndarray | None = None
    bin_std: np.ndarray | None = None
    bin_lo: np.ndarray | None = None
    bin_hi: np.ndarray | None = None
    # categorical columns: the category values, missing excluded
    categories: np.ndarray | None = None
    _category_index: dict = field(default_factory=dict, repr=False)
    # continuous columns
    mean: float = 0.0
    std: float = 1.0

    @property
    def is_discrete(self) -> bool:
        return self.kind != "continuous"

    @property
    def n_codes(self) -> int:
        return 0 if self.freqs is None else len(self.freqs)

    @property
    def missing_code(self) -> int:
        return self.n_codes - 1

    # -- encoding -----------------------------------------------------------------

    def encode(self, values: pd.Series) -> np.ndarray:
        """Codes of ``values`` (discrete columns); -1 for a category unseen in training."""
        if self.kind == "binned":
            return self.encode_numeric(_as_float(values, self.name))
        codes = np.full(len(values), -1, dtype=np.int64)
        for i, v in enumerate(values.tolist()):
            if _is_missing(v):
                codes[i] = self.missing_code
            else:
                codes[i] = self._category_index.get(_category_key(v), -1)
        return codes

    def encode_numeric(self, x: np.ndarray) -> np.ndarray:
        """Bin codes of float values (binned columns); NaN gets the missing code."""
        codes = np.searchsorted(self.edges, x, side="left")
        codes[np.isnan(x)] = self.missing_code
        return codes

    def numeric(self, values: pd.Series) -> np.ndarray:
        """Float values of a numeric column (NaN for missing)."""
        return _as_float(values, self.name)

    # -- description ----------------------------------------------------------------

    def condition(self, code: int, value: object) -> str:
        """The lime-style condition describing the instance's bin or category."""
        if self.kind == "continuous":
            return self.name
        if code == self.missing_code:
            return f"{self.name} is missing"
        if self.kind == "categorical":
            return f"{self.name} = {_format_value(value)}"
        if self.bin_std[code] == 0 and self.freqs[code] > 0:  # one training value: say which
            return f"{self.name} = {self.bin_mean[code]:g}"
        e = [_edge(x) for x in self.edges]
        if code == 0:
            return f"{self.name} <= {e[0]}"
        if code == len(e):
            return f"{self.name} > {e[-1]}"
        return f"{e[code - 1]} < {self.name} <= {e[code]}"


@dataclass
class TrainingStats:
    """Per-column statistics of the training table, in feature order."""

    columns: list[ColumnStats]
    discretizer: str
    #: the model's text columns, which these statistics leave out (their words are features)
    text: list[str] = field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        *,
        categorical: tuple[str, ...] | list[str] = (),
        discretizer: str = "quartile",
        labels: np.ndarray | None = None,
        regression: bool = False,
        seed: int = 0,
        allow_empty: bool = False,
    ) -> TrainingStats:
        if discretizer not in DISCRETIZERS:
            raise ParameterError(
                f"{{discretizer}} must be one of {', '.join(DISCRETIZERS)}, not {discretizer!r}"
            )
        if len(data) == 0:
            raise DataError("the training table has no rows")
        if data.shape[1] == 0 and not allow_empty:
            raise DataError("the training table has no feature columns")
        unknown = [c for c in categorical if c not in data.columns]
        if unknown:
            raise DataError(f"{{categorical}} column {unknown[0]!r} is not a column of the data")
        if discretizer == "entropy" and labels is None:
            raise ParameterError("{discretizer} entropy needs the training labels ({target})")
        check_single_values(data)
        columns = []
        for name in data.columns:
            series = data[name]
            if name in categorical or _is_categorical_dtype(series.dtype):
                columns.append(_categorical_stats(str(name), series))
                if name not in categorical and not (
                    is_bool_dtype(series.dtype) or isinstance(series.dtype, pd.CategoricalDtype)
                ):
                    _warn_if_numbers(str(name), series)
            elif discretizer == "none":
                columns.append(_continuous_stats(str(name), series))
            else:
                columns.append(_binned_stats(str(name), series, discretizer, labels, regression, seed))
        return cls(columns=columns, discretizer=discretizer)


def fit_training_stats(
    data: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    target: str | None = None,
    categorical: Sequence[str] = (),
    discretizer: str = "quartile",
    regression: bool = False,
    seed: int = 0,
    allow_empty: bool = False,
) -> TrainingStats:
    """The training statistics of ``data``: no model needed (what ``lime fit`` saves).

    ``features`` are the columns to describe (default: every column but
    ``target``); ``target`` holds the labels, which ``discretizer="entropy"``
    needs (a regression tree when ``regression``); ``categorical`` names
    numeric columns to treat as categories.  No column to describe is an error,
    unless ``allow_empty`` (a table whose only features are text columns).
    """
    if target is not None and target not in data.columns:
        raise DataError(f"{{target}} column {target!r} is not a column of the data")
    unknown = [c for c in categorical if c not in data.columns]
    if unknown:
        raise DataError(f"{{categorical}} column {unknown[0]!r} is not a column of the data")
    features = [str(c) for c in data.columns if c != target] if features is None else list(features)
    labels = data[target].to_numpy() if target is not None else None
    return TrainingStats.from_frame(
        data[features],
        categorical=[c for c in categorical if c in features],
        discretizer=discretizer,
        labels=labels,
        regression=regression,
        seed=seed,
        allow_empty=allow_empty,
    )


# -- helpers ---------------------------------------------------------------------------


#: what pandas' infer_dtype calls a column of single values (anything else may hold lists)
_SCALAR_KINDS = frozenset(
    {
        "empty",
        "string",
        "bytes",
        "floating",
        "integer",
        "mixed-integer-float",
        "decimal",
        "complex",
        "categorical",
        "boolean",
        "datetime64",
        "datetime",
        "date",
        "timedelta64",
        "timedelta",
        "time",
        "period",
        "interval",
    }
)


def check_single_values(frame: pd.DataFrame) -> None:
    """A DataError naming the first column that holds lists, dicts or arrays (nested values:
    Parquet list, struct and map columns, JSON arrays and objects), which cannot be binned or
    counted as categories."""
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in _SCALAR_KINDS:
            continue
        for label, v in values.items():
            if pd.api.types.is_list_like(v):
                kind = "dicts" if isinstance(v, Mapping) else "lists"
                raise DataError(
                    f"column {str(name)!r} holds {kind}, not single values (first in row {label})"
                )


def _is_categorical_dtype(dtype) -> bool:
    return is_bool_dtype(dtype) or not is_numeric_dtype(dtype)


def _as_float(values: pd.Series, name: str) -> np.ndarray:
    try:
        return pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise DataError(f"column {name!r} has non-numeric values ({exc})") from None


def _training_float(values: pd.Series, name: str) -> np.ndarray:
    x = _as_float(values, name)
    if np.isinf(x).any():
        raise DataError(f"column {name!r} of the training data has infinite values")
    return x


def _is_missing(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _category_key(v: object) -> object:
    # numpy scalars and Python scalars of equal value must find the same category
    return v.item() if isinstance(v, np.generic) else v


def _edge(x: float) -> str:
    """A bin edge in a condition: two decimals (as lime writes them), or three significant
    digits below 1, where two decimals would say ``-0.00 < s5 <= 0.03``."""
    return f"{x:.2f}" if abs(x) >= 1 or x == 0 or not math.isfinite(x) else f"{x:.3g}"


def _format_value(v: object) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


def not_numbers(values: pd.Series) -> np.ndarray:
    """Mask of the values that are present but do not read as numbers."""
    return (pd.to_numeric(values, errors="coerce").isna() & values.notna()).to_numpy()


def _warn_if_numbers(name: str, series: pd.Series) -> None:
    """Warn when a text column of the training data is numbers but for one or two words (a
    stray word, or a placeholder such as '?' for missing values): it is treated as categorical."""
    values = series.dropna()
    uniques = pd.Series(values.unique())
    words = uniques[not_numbers(uniques.astype(str))]
    if not 1 <= len(words) <= 2 or len(uniques) - len(words) < 20:
        return  # no words, several, or few distinct numbers: a categorical column
    bad = values.isin(set(words.tolist())).to_numpy()
    first = int(np.argmax(bad))
    warnings.warn(
        f"column {name!r} of the training data is treated as categorical: {int(bad.sum())} of its "
        f"{len(values)} values {'is' if bad.sum() == 1 else 'are'} not a number (first "
        f"{values.iloc[first]!r}, row {values.index[first]}); if the column is numeric, fix them "
        f"(leave missing values empty), or pass --categorical {shlex.quote(name)}",
        UserWarning,
        stacklevel=4,
    )


def _categorical_stats(name: str, series: pd.Series) -> ColumnStats:
    missing = series.isna().to_numpy()
    counts = series[~missing].value_counts(sort=False)
    keys = [_category_key(k) for k in counts.index.tolist()]
    try:
        order = sorted(range(len(keys)), key=lambda i: keys[i])
    except TypeError:
        order = sorted(range(len(keys)), key=lambda i: str(keys[i]))
    categories = np.empty(len(keys), dtype=object)
    categories[:] = [keys[i] for i in order]
    freqs = np.append(counts.to_numpy(dtype=np.float64)[order], missing.sum())
    freqs = freqs / freqs.sum()
    return ColumnStats(
        name=name,
        kind="categorical",
        dtype=series.dtype,
        freqs=freqs,
        categories=categories,
        _category_index={k: i for i, k in enumerate(categories.tolist())},
    )


def _continuous_stats(name: str, series: pd.Series) -> ColumnStats:
    x = _training_float(series, name)
    ok = ~np.isnan(x)
    if not ok.any():
        mean, std = 0.0, 1.0
    else:
        mean = float(x[ok].mean())
        std = float(x[ok].std())
    return ColumnStats(
        name=name,
        kind="continuous",
        dtype=series.dtype,
        is_integer=is_integer_dtype(series.dtype),
        mean=mean,
        std=std if std > 0 else 1.0,
    )


#: A value holding at least this share of a column makes a bin of its own when it collapses the
#: column's quantiles (a capital gain that is 0 in 90% of the rows).
MASS_SHARE = 0.25


def _bin_edges(x: np.ndarray, discretizer: str, labels, regression: bool, seed: int):
    """(edges, mass): the inner bin edges, and (value, share) when a value holding a large share
    of the column made a bin of its own (None otherwise)."""
    if discretizer in _PERCENTILES:
        percentiles = _PERCENTILES[discretizer]
        edges = np.unique(np.percentile(x, percentiles))
        if len(edges) == len(percentiles):
            return edges, None
        values, counts = np.unique(x, return_counts=True)
        top = int(np.argmax(counts))
        v, share = float(values[top]), counts[top] / len(x)
        if share < MASS_SHARE or len(values) < 3:
            return edges, None  # few distinct values, or no large mass: the quantiles as they are
        # the value alone in its bin, the quantiles of the values on either side of it around it
        below, above = x[x < v], x[x > v]
        parts = [np.percentile(below, percentiles), [below.max()]] if below.size else []
        parts += [[v]] + ([np.percentile(above, percentiles)] if above.size else [])
        return np.unique(np.concatenate(parts)), (v, share)
    # entropy: the split points of a depth-3 tree fitted on the labels (as lime does)
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    tree_cls = DecisionTreeRegressor if regression else DecisionTreeClassifier
    kwargs = {} if regression else {"criterion": "entropy"}
    tree = tree_cls(max_depth=3, random_state=seed, **kwargs)
    if pd.isna(pd.Series(labels)).any():
        raise DataError(
            "{discretizer} entropy needs a label for every row: the {target} column has missing values"
        )
    try:
        tree.fit(x.reshape(-1, 1), labels)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{{discretizer}} entropy cannot use the {{target}} column ({exc})") from None
    edges = tree.tree_.threshold[tree.tree_.children_left > -1]
    if edges.size == 0:
        edges = np.array([np.median(x)])
    return np.unique(edges), None


def _binned_stats(name, series, discretizer, labels, regression, seed) -> ColumnStats:
    x_all = _training_float(series, name)
    missing = np.isnan(x_all)
    x = x_all[~missing]
    is_int = is_integer_dtype(series.dtype)
    if x.size == 0:
        edges = np.array([0.0])
    else:
        lab = None if labels is None else np.asarray(labels)[~missing]
        edges, mass = _bin_edges(x, discretizer, lab, regression, seed)
        if mass is not None:
            v, share = mass
            warnings.warn(
                f"column {name!r}: {share:.0%} of its training values are {v:g}, which collapses its "
                f"{discretizer}s; it is binned as '{name} = {v:g}' and the {discretizer}s of the others",
                UserWarning,
                stacklevel=4,
            )
    n_bins = len(edges) + 1
    codes = np.searchsorted(edges, x, side="left")
    counts = np.bincount(codes, minlength=n_bins).astype(np.float64)
    sums = np.bincount(codes, weights=x, minlength=n_bins)
    sq = np.bincount(codes, weights=x * x, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        var = np.where(counts > 0, sq / np.maximum(counts, 1) - mean**2, 0.0)
    std = np.sqrt(np.maximum(var, 0.0))
    lo_all = float(x.min()) if x.size else 0.0
    hi_all = float(x.max()) if x.size else 0.0
    lo = np.concatenate([[lo_all], edges])
    hi = np.concatenate([edges, [hi_all]])
    freqs = np.append(counts, missing.sum())
    freqs = freqs / freqs.sum()
    return ColumnStats(
        name=name,
        kind="binned",
        dtype=series.dtype,
        is_integer=is_int,
        freqs=freqs,
        edges=edges,
        bin_mean=mean,
        bin_std=std,
        bin_lo=lo,
        bin_hi=hi,
    )
