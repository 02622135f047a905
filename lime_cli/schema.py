"""The explanation schema, in one place: the dataclasses, their JSON form, the tidy
(long) table with its Parquet types, and reading explanations back.

Schema version 1 (the README's "Output schema" section describes every field).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DataError

SCHEMA_VERSION = 1


@dataclass
class FeatureWeight:
    """One feature of an explanation: the instance's condition and its weight."""

    feature: str
    condition: str
    value: object
    weight: float
    column: str | None = None  # TEMPORARY until schema v2 lands
    spans: list | None = None


@dataclass
class FeatureStability:
    """How one feature of an explanation holds under other seeds."""

    feature: str
    frequency: float  # share of the replicates listing it (variable stability)
    weight_mean: float  # its weight over the replicates, 0 where absent (coefficient stability)
    weight_std: float


@dataclass
class Stability:
    """How R re-explanations under other seeds agree with an explanation."""

    replicates: int
    score: float  # mean Jaccard overlap of their feature sets with the explanation's
    features: list[FeatureStability] = field(default_factory=list)

    def feature(self, name: str) -> FeatureStability | None:
        return next((f for f in self.features if f.feature == name), None)

    @classmethod
    def from_dict(cls, d: dict) -> Stability:
        return cls(d["replicates"], d["score"], [FeatureStability(**f) for f in d["features"]])


@dataclass
class Explanation:
    """The explanation of one instance for one label (``label`` is None in regression)."""

    row: int
    label: str | None
    model_prediction: float
    local_prediction: float
    intercept: float
    score: float
    features: list[FeatureWeight] = field(default_factory=list)
    fidelity_gap: float = 0.0
    low_fidelity: bool = False
    num_samples: int = 0
    insignificant: int = 0
    stability: Stability | None = None

    def to_dict(self) -> dict:
        """The plain-dict form (schema version 1), as Python values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Explanation:
        d = dict(d)
        d["features"] = [FeatureWeight(**f) for f in d["features"]]
        for f in d["features"]:
            f.weight = float(f.weight)
        if d.get("stability") is not None:
            d["stability"] = Stability.from_dict(d["stability"])
        return cls(**d)


# -- JSON -----------------------------------------------------------------------------------


def clean_number(x: float) -> float | None:
    """A JSON-safe float: None for NaN and infinities."""
    return x if math.isfinite(x) else None


def explanation_json(e: Explanation) -> dict:
    """The JSON form of ``e``: :meth:`Explanation.to_dict`, with NaN and infinities as null."""
    d = e.to_dict()
    for key in ("model_prediction", "local_prediction", "intercept", "score", "fidelity_gap"):
        d[key] = clean_number(d[key])
    for f in d["features"]:
        f["weight"] = clean_number(f["weight"])
        if isinstance(f["value"], float):
            f["value"] = clean_number(f["value"])
    return d


def json_head(mode: str) -> str:
    """The start of a ``--format json`` document, up to its list of explanations."""
    head = json.dumps({"schema_version": SCHEMA_VERSION, "mode": mode})
    return head[:-1] + ', "explanations": ['


def read_explanations(path: str) -> list[Explanation]:
    """Explanations written by `lime explain --format json` or `jsonl` (``-``: stdin)."""
    from .io import _check_readable, _first_line

    where = "standard input" if path == "-" else f"explanations file {path}"
    try:
        if path == "-":
            if sys.stdin is None:
                raise DataError("standard input is closed")
            text = sys.stdin.read()
        else:
            _check_readable(Path(path), "explanations", DataError)
            text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text") from None
    try:
        stripped = text.lstrip()
        if stripped.startswith("{") and '"explanations"' in stripped[:200]:
            records = json.loads(text)["explanations"]
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        out = [Explanation.from_dict(r) for r in records]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{where} is not lime explain JSON or JSON lines ({_first_line(exc)})") from None
    if not out:
        raise DataError(f"{where} holds no explanation")
    return out


# -- the tidy (long) form -------------------------------------------------------------------

#: Columns of the tidy form, in order, and their types (pandas names).
TIDY_TYPES = {
    "row": "int64",
    "label": "string",
    "rank": "int64",
    "feature": "string",
    "condition": "string",
    "value": "string",
    "weight": "float64",
    "intercept": "float64",
    "local_prediction": "float64",
    "model_prediction": "float64",
    "score": "float64",
    "fidelity_gap": "float64",
    "low_fidelity": "bool",
    "num_samples": "int64",
    "stability_score": "float64",
    "selection_frequency": "float64",
    "weight_std": "float64",
}
TIDY_COLUMNS = list(TIDY_TYPES)


def explanations_to_frame(explanations: Sequence[Explanation]):
    """Tidy long form, a DataFrame: one line per (row, label, feature), columns :data:`TIDY_COLUMNS`.

    An explanation that lists no feature (no selected weight could be told
    apart from zero) is one line of rank 0 with no feature, so that every
    explained row is in the table.
    """
    import pandas as pd

    records = []
    nan = float("nan")
    none = FeatureWeight(None, None, None, nan)
    for e in explanations:
        stab = e.stability
        ranked = enumerate(e.features, start=1) if e.features else [(0, none)]
        for rank, f in ranked:
            fs = stab.feature(f.feature) if stab is not None else None
            records.append(
                (
                    e.row,
                    e.label,
                    rank,
                    f.feature,
                    f.condition,
                    None if f.value is None else str(f.value),
                    f.weight,
                    e.intercept,
                    e.local_prediction,
                    e.model_prediction,
                    e.score,
                    e.fidelity_gap,
                    e.low_fidelity,
                    e.num_samples,
                    nan if stab is None else stab.score,
                    nan if fs is None else fs.frequency,
                    nan if fs is None else fs.weight_std,
                )
            )
    frame = pd.DataFrame.from_records(records, columns=TIDY_COLUMNS)
    return frame.astype(TIDY_TYPES)


def parquet_schema():
    """The Parquet (pyarrow) schema of the tidy form."""
    import pyarrow as pa

    kinds = {"int64": pa.int64(), "string": pa.string(), "float64": pa.float64(), "bool": pa.bool_()}
    return pa.schema([pa.field(c, kinds[t]) for c, t in TIDY_TYPES.items()])
