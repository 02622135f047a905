"""Explainer files: the training statistics saved as JSON, so no training table is needed.

An explainer file holds the :class:`~lime_cli.tabular.TrainingStats` computed
from a training table: everything the sampler and the descriptions need.
:class:`~lime_cli.explainer.Explainer` given these statistics (``stats=``)
explains exactly as it does given the table itself, to the last bit.

>>> stats = fit_training_stats(train, target="label")  # or Explainer(model, train, ...).stats
>>> write_explainer_file("model.explainer.json", stats, mode="classification")
>>> explainer = Explainer(model, stats=read_explainer_file("model.explainer.json"))

Format (version 1)
------------------

A UTF-8 JSON object (strict JSON: no ``NaN`` or ``Infinity`` tokens) with:

``lime_cli_explainer``
    The format version, the integer ``1``.  A file without it is not an
    explainer file; a reader refuses versions it does not know.
``created``
    When the file was written: an ISO 8601 timestamp in UTC
    (``2025-01-31T12:00:00Z``).  Informational.
``mode``
    ``"classification"``, ``"regression"`` or null (not recorded).  Informational.
``classes``
    The model's class names as strings, or null.  Informational.
``features``
    The model's feature names, in order: the ``name`` of each entry of
    ``columns``, in the same order.
``text`` (optional; an empty list when absent)
    The model's text columns (``lime fit --text``), which ``columns`` leaves
    out: their words are the features, and they need no statistics; ``lime
    explain --explainer`` explains them as text.  ``columns`` may be empty when
    every feature is a text column.
``discretizer``
    How numeric columns were discretized: ``quartile``, ``decile``,
    ``entropy`` (numeric columns are ``binned``) or ``none`` (they are
    ``continuous``).
``columns``
    One object per feature column, in feature order, each with every field
    below (null where it does not apply to the column's kind):

    ``name`` (string)
        The column name.
    ``kind`` (string)
        ``binned`` (numeric, discretized), ``categorical`` or ``continuous``
        (numeric, not discretized).
    ``dtype`` (string)
        The column's pandas dtype as ``str(dtype)`` (``float64``, ``int64``,
        ``bool``, ``object``, ``str``, ``string``, ``Int64``, ``category``...),
        read back with ``pandas.api.types.pandas_dtype``: perturbed samples are
        handed to the model with this dtype.
    ``string_storage`` (string, only for ``str`` and ``string`` dtypes)
        ``python`` or ``pyarrow``: the storage of the pandas string dtype.
    ``dtype_categories`` (array) and ``dtype_ordered`` (boolean), only for the ``category`` dtype
        The categories of the pandas categorical dtype (values, as in
        ``categories`` below) and whether they are ordered.
    ``is_integer`` (boolean)
        The column holds integers: sampled values are rounded.
    ``freqs`` (array of numbers; binned and categorical columns)
        Training frequency of each code (bin or category): numbers >= 0
        summing to 1 (within 1e-6); the last code is "missing", whose
        frequency may be 0.
    ``edges`` (array of numbers; binned columns)
        Inner bin edges, strictly increasing: bin ``k`` is ``(edges[k-1], edges[k]]``,
        the first bin ``<= edges[0]``, the last ``> edges[-1]``.
    ``bin_mean``, ``bin_std``, ``bin_lo``, ``bin_hi`` (arrays of numbers; binned columns)
        Per bin (``len(edges) + 1`` of them, missing excluded): the training
        values' mean and standard deviation (>= 0), and the bin's lower and
        upper bounds (the training minimum and maximum for the outer bins;
        ``bin_lo`` <= ``bin_hi``).
    ``categories`` (array of values; categorical columns)
        The category values, in code order, missing excluded.  A value is a
        JSON string, integer, floating-point number (written with a decimal
        point or exponent) or boolean, and is read back as the Python
        ``str``, ``int``, ``float`` or ``bool`` it was.
    ``mean``, ``std`` (numbers)
        Mean and standard deviation (a positive number) of a continuous
        column (``0`` and ``1`` for the other kinds).

Numbers are written with Python's shortest round-tripping repr, so every
float reads back exactly.  Infinities are written as the strings ``"inf"``
and ``"-inf"``, NaN as null; since training tables holding infinities are
refused, neither appears in a file that ``lime fit`` writes.

A file is validated when it is read, and refused with one
:class:`~lime_cli.errors.DataError` naming the file, the column and the
field if it is not what a writer produces: a field of the wrong type or
length, a null where a number is required, a negative or mis-summed
frequency, a negative standard deviation, edges not strictly increasing,
``bin_lo`` above ``bin_hi``, a category listed twice, a column name used
twice, ``mode`` or ``classes`` other than described above, a ``binned``
column with ``discretizer`` ``none`` or a ``continuous`` one with another
discretizer, or a version this reader does not know.

The reader ignores fields it does not know, so later writers may add some
without changing the version.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from ..errors import DataError, ParameterError
from ..io import AtomicFile, _first_line, _read_text
from .stats import DISCRETIZERS, ColumnStats, TrainingStats

FORMAT_VERSION = 1

KINDS = ("binned", "categorical", "continuous")

_ARRAY_FIELDS = ("freqs", "edges", "bin_mean", "bin_std", "bin_lo", "bin_hi")
_BIN_FIELDS = ("bin_mean", "bin_std", "bin_lo", "bin_hi")
_INFINITIES = {"inf": math.inf, "-inf": -math.inf}
#: How far from 1 the frequencies of a column may sum (they are written to the last bit).
FREQ_TOLERANCE = 1e-6


# -- numbers and values ------------------------------------------------------------------


def _encode_float(x: float) -> float | str | None:
    x = float(x)
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return None
    return "inf" if x > 0 else "-inf"


def _decode_float(v: object) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):
        if v not in _INFINITIES:
            raise ValueError(f"{v!r} is not a number")
        return _INFINITIES[v]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{v!r} is not a number")
    return float(v)


def _encode_array(a: np.ndarray | None) -> list | None:
    if a is None:
        return None
    return [_encode_float(x) for x in np.asarray(a, dtype=np.float64).tolist()]


def _decode_array(v: object, field: str) -> np.ndarray | None:
    if v is None:
        return None
    if not isinstance(v, list):
        raise TypeError(f"{field} is not an array")
    return np.array([_decode_float(x) for x in v], dtype=np.float64)


def _encode_value(v: object, column: str) -> object:
    """A category value as JSON: str, int, float (finite) or bool."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        raise DataError(f"column {column!r}: the category {v} cannot be saved in an explainer file")
    if isinstance(v, (str, bool, int, float)):
        return v
    raise DataError(
        f"column {column!r}: category values of type {type(v).__name__} cannot be saved in an "
        "explainer file (only strings, numbers and booleans)"
    )


def _decode_values(v: object, field: str) -> np.ndarray:
    if not isinstance(v, list):
        raise TypeError(f"{field} is not an array")
    for x in v:
        if not isinstance(x, (str, bool, int, float)):
            raise TypeError(f"{field} holds {x!r}, not a string, number or boolean")
    values = np.empty(len(v), dtype=object)
    values[:] = v
    return values


# -- dtypes ----------------------------------------------------------------------------------


def _encode_dtype(dtype: object, column: str) -> dict:
    out: dict = {"dtype": str(dtype)}
    if isinstance(dtype, pd.StringDtype):
        out["string_storage"] = dtype.storage
    elif isinstance(dtype, pd.CategoricalDtype):
        if dtype.categories is None:
            raise DataError(f"column {column!r} has a categorical dtype without categories")
        out["dtype_categories"] = [_encode_value(v, column) for v in dtype.categories.tolist()]
        out["dtype_ordered"] = bool(dtype.ordered)
    try:
        same = _decode_dtype(out) == dtype
    except (TypeError, ValueError):
        same = False
    if not same:
        raise DataError(f"column {column!r} has dtype {dtype}, which an explainer file cannot hold")
    return out


def _decode_dtype(d: dict) -> object:
    name = d["dtype"]
    if not isinstance(name, str):
        raise TypeError("dtype is not a string")
    if name in ("str", "string") and d.get("string_storage") is not None:
        na_value = np.nan if name == "str" else pd.NA
        return pd.StringDtype(d["string_storage"], na_value=na_value)
    if name == "category":
        categories = _decode_values(d["dtype_categories"], "dtype_categories")
        ordered = d["dtype_ordered"]
        if not isinstance(ordered, bool):
            raise TypeError("dtype_ordered is not a boolean")
        return pd.CategoricalDtype(categories.tolist(), ordered=ordered)
    return pandas_dtype(name)


# -- statistics <-> dict ---------------------------------------------------------------------


def _column_to_dict(c: ColumnStats) -> dict:
    d: dict = {"name": str(c.name), "kind": c.kind}
    d.update(_encode_dtype(c.dtype, c.name))
    d["is_integer"] = bool(c.is_integer)
    for f in _ARRAY_FIELDS:
        d[f] = _encode_array(getattr(c, f))
    d["categories"] = (
        None
        if c.categories is None
        else [_encode_value(v, c.name) for v in np.asarray(c.categories).tolist()]
    )
    d["mean"] = _encode_float(c.mean)
    d["std"] = _encode_float(c.std)
    return d


def _column_from_dict(d: dict) -> ColumnStats:
    if not isinstance(d, dict):
        raise TypeError("a column entry is not an object")
    name, kind, is_integer = d["name"], d["kind"], d["is_integer"]
    if not isinstance(name, str):
        raise TypeError("name is not a string")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(is_integer, bool):
        raise TypeError("is_integer is not a boolean")
    arrays = {f: _decode_array(d[f], f) for f in _ARRAY_FIELDS}
    categories = None if d["categories"] is None else _decode_values(d["categories"], "categories")
    mean, std = _decode_float(d["mean"]), _decode_float(d["std"])
    freqs = arrays["freqs"]
    if kind != "continuous" and (freqs is None or len(freqs) == 0):
        raise ValueError(f"a {kind} column needs freqs")
    if kind == "binned":
        edges = arrays["edges"]
        if edges is None or len(edges) == 0:
            raise ValueError("a binned column needs edges")
        if len(freqs) != len(edges) + 2:
            raise ValueError(f"{len(freqs)} freqs for {len(edges)} edges (needs {len(edges) + 2})")
        for f in _BIN_FIELDS:
            if arrays[f] is None or len(arrays[f]) != len(edges) + 1:
                raise ValueError(f"{f} needs {len(edges) + 1} values (one per bin)")
    elif kind == "categorical":
        if categories is None:
            raise ValueError("a categorical column needs categories")
        if len(freqs) != len(categories) + 1:
            raise ValueError(
                f"{len(freqs)} freqs for {len(categories)} categories (needs {len(categories) + 1})"
            )
        seen: set = set()
        for v in categories.tolist():
            if (type(v), v) in seen:
                raise ValueError(f"categories hold {json.dumps(v)} twice")
            seen.add((type(v), v))
    _check_numbers(kind, arrays, mean, std)
    return ColumnStats(
        name=name,
        kind=kind,
        dtype=_decode_dtype(d),
        is_integer=is_integer,
        categories=categories,
        _category_index={} if categories is None else {k: i for i, k in enumerate(categories.tolist())},
        mean=mean,
        std=std,
        **arrays,
    )


def _check_numbers(kind: str, arrays: dict, mean: float, std: float) -> None:
    """Refuse statistics no training table gives: the sampler would draw nonsense from them."""
    for f in _ARRAY_FIELDS:
        a = arrays[f]
        if a is not None and np.isnan(a).any():
            raise ValueError(f"{f}[{int(np.argmax(np.isnan(a)))}] is null, not a number")
    if kind != "continuous":
        freqs = arrays["freqs"]
        if (freqs < 0).any():
            k = int(np.argmax(freqs < 0))
            raise ValueError(f"freqs[{k}] is negative ({_num(freqs[k])})")
        total = float(freqs.sum())
        if not abs(total - 1.0) <= FREQ_TOLERANCE:
            raise ValueError(f"freqs sum to {total:.12g}, not 1")
    if kind == "binned":
        edges, lo, hi, bin_std = arrays["edges"], arrays["bin_lo"], arrays["bin_hi"], arrays["bin_std"]
        steps = np.diff(edges) <= 0
        if steps.any():
            k = int(np.argmax(steps)) + 1
            raise ValueError(
                "edges are not strictly increasing "
                f"(edges[{k}] = {_num(edges[k])} after {_num(edges[k - 1])})"
            )
        if not np.isfinite(bin_std).all() or (bin_std < 0).any():
            k = int(np.argmax(~np.isfinite(bin_std) | (bin_std < 0)))
            raise ValueError(f"bin_std[{k}] is {_num(bin_std[k])}, not a standard deviation (a number >= 0)")
        if (lo > hi).any():
            k = int(np.argmax(lo > hi))
            raise ValueError(f"bin {k}: bin_lo {_num(lo[k])} is above bin_hi {_num(hi[k])}")
    for f, v in (("mean", mean), ("std", std)):
        if math.isnan(v):
            raise ValueError(f"{f} is null, not a number")
    if kind == "continuous" and not math.isfinite(mean):
        raise ValueError(f"mean is {_num(mean)}, not a finite number")
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"std is {_num(std)}, not a standard deviation (a positive number)")


def _num(x: float) -> str:
    """A number of the file as written there (shortest repr)."""
    return repr(float(x))


def stats_to_dict(stats: TrainingStats) -> dict:
    """The JSON-serializable form of ``stats``: ``{"discretizer": ..., "columns": [...]}``.

    Each column is an object with the fields described in this module's
    docstring.  Raises :class:`DataError` for a column that cannot be saved
    (category values other than strings, numbers and booleans; a dtype that
    does not survive ``str`` and ``pandas_dtype``).
    """
    return {
        "discretizer": stats.discretizer,
        "columns": [_column_to_dict(c) for c in stats.columns],
        "text": list(stats.text),
    }


def stats_from_dict(d: dict) -> TrainingStats:
    """The :class:`TrainingStats` of a :func:`stats_to_dict` form.

    Raises KeyError, TypeError or ValueError if ``d`` is malformed; the
    message names the column at fault.
    """
    discretizer = d["discretizer"]
    if discretizer not in DISCRETIZERS:
        raise ValueError(f"discretizer {discretizer!r} is not one of {', '.join(DISCRETIZERS)}")
    text = d.get("text") or []
    if not isinstance(text, list) or not all(isinstance(t, str) for t in text) or len(set(text)) < len(text):
        raise ValueError(f"text must be a list of distinct column names, not {json.dumps(text)}")
    entries = d["columns"]
    if not isinstance(entries, list) or not (entries or text):
        raise ValueError("columns is not a non-empty array")
    columns = []
    for i, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"column {i}" + (f" ({name!r})" if isinstance(name, str) else "")
        try:
            column = _column_from_dict(entry)
            if column.name in {c.name for c in columns}:
                raise ValueError(f"the name {column.name!r} is also the name of an earlier column")
            if column.name in text:
                raise ValueError(f"{column.name!r} is also one of the text columns")
            if column.kind == ("binned" if discretizer == "none" else "continuous"):
                raise ValueError(
                    f"kind {column.kind} does not go with discretizer {discretizer} (continuous columns go "
                    "with discretizer none, binned ones with quartile, decile or entropy)"
                )
        except KeyError as exc:
            raise KeyError(f"{where}: field {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        columns.append(column)
    return TrainingStats(columns=columns, discretizer=discretizer, text=list(text))


# -- files --------------------------------------------------------------------------------------


def write_explainer_file(
    path: str | os.PathLike,
    stats: TrainingStats,
    *,
    model_features: list[str] | None = None,
    mode: str | None = None,
    classes: list[str] | None = None,
) -> None:
    """Write ``stats`` (and the model's mode and classes) as an explainer file, atomically.

    ``model_features``, if given, must be the statistics' columns, in order.
    """
    p = Path(path)
    features = stats.feature_names
    if model_features is not None and [str(f) for f in model_features] != features:
        raise ParameterError("the model's features are not the columns of the training statistics")
    body = stats_to_dict(stats)
    doc = {
        "lime_cli_explainer": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode,
        "classes": None if classes is None else [str(c) for c in classes],
        "features": features,
        "columns": body["columns"],
        "discretizer": body["discretizer"],
        "text": body["text"],
    }
    text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
    with AtomicFile(p) as handle:  # an error of the operating system is a StorageError naming p
        handle.write(text)


def read_explainer_file(path: str | os.PathLike) -> TrainingStats:
    """The training statistics of an explainer file; a one-line :class:`DataError` naming it if bad."""
    p = Path(path)
    text = _read_text(p, "explainer", not_text="is not JSON (not UTF-8 text)")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"explainer file {p} is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise DataError(f"explainer file {p} is not JSON (nested too deeply)") from None
    if not isinstance(doc, dict) or "lime_cli_explainer" not in doc:
        raise DataError(
            f"explainer file {p} is not a lime-cli explainer file (no lime_cli_explainer version)"
        )
    version = doc["lime_cli_explainer"]
    if version != FORMAT_VERSION or isinstance(version, bool) or not isinstance(version, int):
        raise DataError(
            f"explainer file {p} has format version {json.dumps(version)}; "
            f"this lime-cli reads version {FORMAT_VERSION}"
        )
    try:
        mode, classes = doc.get("mode"), doc.get("classes")
        if mode not in (None, "classification", "regression"):
            raise ValueError(f'mode must be "classification", "regression" or null, not {json.dumps(mode)}')
        if classes is not None and (
            not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
        ):
            raise ValueError(f"classes must be null or a list of strings, not {json.dumps(classes)}")
        stats = stats_from_dict(doc)
        features = doc.get("features")
        if features is not None and features != stats.feature_names:
            raise ValueError("features are not the names of the columns")
    except KeyError as exc:
        detail = (
            exc.args[0] if exc.args and str(exc.args[0]).startswith("column ") else f"field {exc} is missing"
        )
        raise DataError(f"explainer file {p} is malformed: {_first_line(detail)}") from None
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataError(f"explainer file {p} is malformed: {_first_line(exc)}") from None
    return stats
