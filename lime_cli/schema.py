"""The explanation schema, in one place: the dataclasses, their JSON form, the tidy
(long) table with its Parquet types, and reading explanations back.

Schema version 3 (the README's "Output schema" section describes every field).  Version 2
added ``column`` and ``spans`` to every feature; version 3 added, for images, a region's
``bbox`` and ``area`` to its feature and the image's file, ``source``, to its explanation (in
JSON only where set; in the tidy form as three last columns).  Files of versions 1 and 2 are
read too.
"""

from __future__ import annotations

import json
import math
import numbers
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import DataError

SCHEMA_VERSION = 3
#: schema versions :func:`read_explanations` reads (version 1 has no ``column`` and ``spans``,
#: version 2 no ``bbox``, ``area`` and ``source``)
READABLE_VERSIONS = (1, 2, 3)


@dataclass
class FeatureWeight:
    """One feature of an explanation: the instance's condition and its weight.

    ``column`` is the input column the feature comes from: a tabular feature's column is
    itself (the default), a word's is its text column, an image region's ``"image"``.
    ``spans`` are the character offsets ``[start, end)`` of a word's occurrences in its text
    column (for highlighting); None for tabular features.  An image region has ``bbox``, its
    bounding box ``[r0, c0, r1, c1]`` in pixels (row and column of its top-left corner, ends
    exclusive), and ``area``, its pixels; None for other features.
    """

    feature: str
    condition: str
    value: object
    weight: float
    column: str | None = None
    spans: list[list[int]] | None = None
    bbox: list[int] | None = None
    area: int | None = None

    @property
    def place(self) -> str | None:
        """An image region as a person reads it, ``region 7 [24:28, 17:21]`` (its bounding box as
        numpy slices, rows then columns); None for other features."""
        if self.bbox is None:
            return None
        r0, c0, r1, c1 = self.bbox
        return f"{self.feature} [{r0}:{r1}, {c0}:{c1}]"

    @property
    def key(self) -> str:
        """What tells this feature from the others of an explanation: a column by its name, a
        word by its column and condition (the same word in two columns, each occurrence apart
        without bow, a word and a column of the same name are different features)."""
        return self.feature if self.spans is None else f"{self.column}\0{self.condition}"

    def __post_init__(self) -> None:
        if self.column is None:
            self.column = self.feature
        elif not isinstance(self.column, str):
            raise TypeError(f"column of feature {self.feature!r} must be a string, not {self.column!r}")
        if self.spans is not None:
            self.spans = _spans(self.feature, self.spans)
        if self.bbox is not None:
            self.bbox = _bbox(self.feature, self.bbox)
        if self.area is not None:
            if not _is_int(self.area) or self.area < 0:
                raise ValueError(
                    f"area of feature {self.feature!r} must be an integer >= 0, not {self.area!r}"
                )
            self.area = int(self.area)


def has_regions(explanations) -> bool:
    """Whether any feature of ``explanations`` is an image's region (each image's own)."""
    return any(f.bbox is not None for e in explanations for f in e.features)


def _is_int(v) -> bool:
    if type(v) is int:  # the usual case, without the slow abstract-class check
        return True
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _bbox(feature: str, bbox) -> list[int]:
    """``bbox`` as ``[r0, c0, r1, c1]`` ints, checked: 0 <= r0 <= r1, 0 <= c0 <= c1."""
    ok = type(bbox) is list or isinstance(bbox, Sequence) and not isinstance(bbox, (str, bytes))
    ok = ok and len(bbox) == 4
    ok = ok and all(_is_int(i) for i in bbox)
    if not ok or not (0 <= bbox[0] <= bbox[2] and 0 <= bbox[1] <= bbox[3]):
        raise ValueError(
            f"bbox of feature {feature!r}: {bbox!r} is not [r0, c0, r1, c1], 0 <= r0 <= r1, 0 <= c0 <= c1"
        )
    return [int(i) for i in bbox]


def _spans(feature: str, spans) -> list[list[int]]:
    """``spans`` as a list of ``[start, end]`` lists of ints, checked: 0 <= start <= end."""
    if isinstance(spans, (str, bytes)) or not isinstance(spans, Sequence):
        raise TypeError(f"spans of feature {feature!r} must be a list of [start, end] pairs, not {spans!r}")
    out = []
    for span in spans:
        ok = isinstance(span, Sequence) and not isinstance(span, (str, bytes)) and len(span) == 2
        ok = ok and all(_is_int(i) for i in span)
        if not ok or not 0 <= span[0] <= span[1]:
            raise ValueError(
                f"spans of feature {feature!r}: {span!r} is not a pair of offsets [start, end], "
                "0 <= start <= end"
            )
        out.append([int(span[0]), int(span[1])])
    return out


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
    #: why the explanation lists no feature when the instance has none (an empty document)
    note: str | None = None
    #: the file the instance came from (an image file); None for rows of a table
    source: str | None = None

    def _repr_html_(self) -> str:
        """How a notebook shows it: :func:`lime_cli.html.fragment`."""
        from .html import fragment

        return fragment([self])

    def to_dict(self) -> dict:
        """The plain-dict form (schema version 3), as Python values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Explanation:
        """From :meth:`to_dict` or the JSON form, of schema version 3, 2 or 1 (version 1's
        features have no ``column`` and ``spans``: a feature's column is itself, no spans)."""
        d = dict(d)
        d["features"] = [FeatureWeight(**f) for f in d["features"]]
        for f in d["features"]:
            f.weight = _number(f.weight, "weight")
            if not isinstance(f.feature, str) or not isinstance(f.condition, str):
                raise TypeError(f"feature {f.feature!r}: its name and condition must be strings")
        for key in ("row", "num_samples", "insignificant"):
            if key in d:
                d[key] = _integer(d[key], key)
        for key in ("model_prediction", "local_prediction", "intercept", "score", "fidelity_gap"):
            if key in d:
                d[key] = _number(d[key], key)
        if d.get("label") is not None and not isinstance(d["label"], str):
            raise TypeError(f"label must be a string or null, not {d['label']!r}")
        if d.get("source") is not None and not isinstance(d["source"], str):
            raise TypeError(f"source must be a string or null, not {d['source']!r}")
        if d.get("stability") is not None:
            d["stability"] = Stability.from_dict(d["stability"])
            d["stability"].replicates = _integer(d["stability"].replicates, "stability.replicates")
        return cls(**d)


class ExplanationList(list):
    """A list of explanations (what ``explain`` returns) that a notebook shows as a report."""

    def _repr_html_(self) -> str:
        from .html import fragment

        return fragment(self)


def _integer(v, name: str) -> int:
    if not _is_int(v):
        raise TypeError(f"{name} must be an integer, not {v!r}")
    return int(v)


def _number(v, name: str) -> float:
    """A number, NaN for null (JSON has no NaN: lime-cli writes it as null)."""
    if v is None:
        return float("nan")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a number, not {v!r}")
    return float(v)


# -- JSON -----------------------------------------------------------------------------------


def clean_number(x: float) -> float | None:
    """A JSON-safe float: None for NaN and infinities."""
    return x if math.isfinite(x) else None


#: the keys of a feature in the JSON form, in order (each always written)
FEATURE_KEYS = ("feature", "column", "condition", "value", "weight", "spans")
#: the keys an image region's feature adds after them (written only where set)
REGION_KEYS = ("bbox", "area")


def explanation_json(e: Explanation) -> dict:
    """The JSON form of ``e``: :meth:`Explanation.to_dict`, with NaN and infinities as null.

    A feature's keys are :data:`FEATURE_KEYS`, in that order (``spans`` is null for tabular
    features and image regions), then for an image region :data:`REGION_KEYS`; ``source`` is
    written only where set (an image read from a file).
    """
    d = e.to_dict()
    if d["source"] is None:
        del d["source"]
    for key in ("model_prediction", "local_prediction", "intercept", "score", "fidelity_gap"):
        d[key] = clean_number(d[key])
    features = []
    for f in d["features"]:
        f["weight"] = clean_number(f["weight"])
        if isinstance(f["value"], float):
            f["value"] = clean_number(f["value"])
        keys = FEATURE_KEYS + tuple(k for k in REGION_KEYS if f[k] is not None)
        features.append({key: f[key] for key in keys})
    d["features"] = features
    return d


def json_head(mode: str, text: dict | None = None) -> str:
    """The start of a ``--format json`` document, up to its list of explanations; ``text``: how
    text columns were explained (their columns, tokenization and the model's input path)."""
    doc = {"schema_version": SCHEMA_VERSION, "mode": mode}
    if text is not None:
        doc["text"] = text
    head = json.dumps(doc)
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
            doc = json.loads(text)
            version = doc.get("schema_version", SCHEMA_VERSION)
            if isinstance(version, bool) or version not in READABLE_VERSIONS:
                *first, last = map(str, READABLE_VERSIONS)
                readable = f"{', '.join(first)} and {last}"
                raise DataError(
                    f"{where} has schema_version {json.dumps(version)}; "
                    f"this lime-cli reads versions {readable}"
                )
            records = doc["explanations"]
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
    "column": "string",
    "condition": "string",
    "value": "string",
    "weight": "float64",
    "spans": "string",  # JSON text, [[start, end], ...]; null for tabular features
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
    "source": "string",  # the image file; null for table rows and in-memory images
    "bbox": "string",  # JSON text, [r0, c0, r1, c1]; null but for image regions
    "area": "Int64",  # pixels of an image region; null but for image regions
}
TIDY_COLUMNS = list(TIDY_TYPES)


def explanations_to_frame(explanations: Sequence[Explanation]):
    """Tidy long form, a DataFrame: one line per (row, label, feature), columns :data:`TIDY_COLUMNS`.

    An explanation that lists no feature (no selected weight could be told
    apart from zero) is one line of rank 0 with no feature, so that every
    explained row is in the table.  ``spans`` is JSON text (``[[14, 23], [80, 89]]``),
    null for tabular features; ``bbox`` JSON text too (``[3, 0, 9, 7]``), null but for image
    regions, as is ``area``.
    """
    import pandas as pd

    records = []
    nan = float("nan")
    none = FeatureWeight(None, None, None, nan)
    for e in explanations:
        stab = e.stability
        ranked = enumerate(e.features, start=1) if e.features else [(0, none)]
        for rank, f in ranked:
            fs = _stability_of(stab, e, rank - 1) if stab is not None else None
            records.append(
                (
                    e.row,
                    e.label,
                    rank,
                    f.feature,
                    f.column,
                    f.condition,
                    None if f.value is None else str(f.value),
                    f.weight,
                    None if f.spans is None else json.dumps(f.spans),
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
                    e.source,
                    None if f.bbox is None else json.dumps(f.bbox),
                    f.area,
                )
            )
    frame = pd.DataFrame.from_records(records, columns=TIDY_COLUMNS)
    return frame.astype(TIDY_TYPES)


def parquet_schema():
    """The Parquet (pyarrow) schema of the tidy form."""
    import pyarrow as pa

    kinds = {"int64": pa.int64(), "Int64": pa.int64(), "string": pa.string(), "float64": pa.float64(),
             "bool": pa.bool_()}  # fmt: skip
    return pa.schema([pa.field(c, kinds[t]) for c, t in TIDY_TYPES.items()])


def _stability_of(stab: Stability, e: Explanation, i: int) -> FeatureStability | None:
    """The stability of ``e``'s feature ``i``: they are listed in the same order."""
    if 0 <= i < len(stab.features) and len(stab.features) == len(e.features):
        return stab.features[i]
    return stab.feature(e.features[i].feature) if 0 <= i < len(e.features) else None


def feature_key(f) -> str:
    """How a feature is named in a summary: a column by its name, a word by its column and itself
    (``review: "excellent"``), so that a word never merges with a column or the same word of
    another text column."""
    return f.feature if f.spans is None else f'{f.column}: "{f.feature}"'
