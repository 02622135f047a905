"""Schema versions 2 and 3: a feature's column and spans in every format (an image region's bbox
and area: tests/test_image.py); files of versions 1 and 2 read as before."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lime_cli import Explanation, FeatureWeight, read_explanations
from lime_cli.cli import app
from lime_cli.io import write_explanations
from lime_cli.schema import FEATURE_KEYS, SCHEMA_VERSION, FeatureStability, Stability, explanation_json

REVIEW = "The food was: excellent; the service slow. Still, I'd go back: the dessert was, excellent!"


def word(text: str, column: str, weight: float) -> FeatureWeight:
    """The word feature of ``text`` in ``column``: its count and the offsets of its occurrences."""
    spans, start = [], REVIEW.find(text)
    while start >= 0:
        spans.append([start, start + len(text)])
        start = REVIEW.find(text, start + 1)
    return FeatureWeight(text, f'{column} contains "{text}"', len(spans), weight, column=column, spans=spans)


def hand_built() -> list[Explanation]:
    """Two explanations mixing word features (quotes, an apostrophe, commas) and tabular ones."""
    first = Explanation(
        row=0,
        label="pos",
        model_prediction=0.91,
        local_prediction=0.8123456789012345,
        intercept=0.3,
        score=0.7,
        features=[
            word("excellent", "review", 0.21),
            FeatureWeight("age", "age > 37.00", 45.0, -0.05),
            word("I'd", "review", 1e-17),
            word("slow", "review", -0.1193825983348808),
        ],
        fidelity_gap=0.0976543210987655,
        num_samples=500,
        stability=Stability(3, 0.5, [FeatureStability("excellent", 1.0, 0.2, 0.01)]),
    )
    second = Explanation(1, "neg", 0.4, 0.45, 0.1, 0.6, [word("back", "review", 0.3)], 0.05, True, 800, 1)
    return [first, second]


def test_the_word_feature_has_its_spans():
    f = word("excellent", "review", 0.21)
    assert f.spans == [[14, 23], [80, 89]] and f.value == 2
    assert [REVIEW[a:b] for a, b in f.spans] == ["excellent", "excellent"]


def test_a_tabular_feature_is_its_own_column_and_has_no_spans():
    f = FeatureWeight("age", "age > 37.00", 45.0, -0.05)
    assert f.column == "age" and f.spans is None
    assert FeatureWeight("age", "age > 37.00", 45.0, -0.05, column="birth") == FeatureWeight(
        "age", "age > 37.00", 45.0, -0.05, "birth", None
    )


def test_spans_are_normalized_to_lists_of_ints():
    f = FeatureWeight("w", 'c contains "w"', 1, 0.1, column="c", spans=((np.int64(3), np.int32(4)),))
    assert f.spans == [[3, 4]] and all(type(i) is int for i in f.spans[0])
    assert json.dumps(explanation_json(Explanation(0, None, 0, 0, 0, 0, [f]))["features"][0]["spans"]) == (
        "[[3, 4]]"
    )


@pytest.mark.parametrize(
    "spans", ["3:4", [[3]], [[3, 4, 5]], [[4, 3]], [[-1, 2]], [[1.0, 2]], [[True, 2]], [3, 4], 7]
)
def test_bad_spans_are_refused(spans):
    with pytest.raises((TypeError, ValueError), match="spans of feature 'w'"):
        FeatureWeight("w", "c", 1, 0.1, column="c", spans=spans)


def test_a_column_that_is_not_a_string_is_refused():
    with pytest.raises(TypeError, match="column of feature 'w' must be a string"):
        FeatureWeight("w", "c", 1, 0.1, column=3)


# -- the four data formats -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_word_features_round_trip_through_json(fmt, tmp_path):
    exps = hand_built()
    path = tmp_path / f"e.{fmt}"
    assert write_explanations([exps[:1], exps[1:]], fmt, "classification", str(path)) == 2
    back = read_explanations(str(path))
    assert back == exps
    assert back[0].features[0].spans == [[14, 23], [80, 89]] and back[0].features[0].column == "review"
    assert back[0].features[1].column == "age" and back[0].features[1].spans is None
    text = path.read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schema_version"] == SCHEMA_VERSION == 3
        records = doc["explanations"]
    else:
        records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 2
    features = [r["features"] for r in records]
    assert all(list(f) == list(FEATURE_KEYS) for fs in features for f in fs)
    assert features[0][0] == {
        "feature": "excellent",
        "column": "review",
        "condition": 'review contains "excellent"',
        "value": 2,
        "weight": 0.21,
        "spans": [[14, 23], [80, 89]],
    }
    assert features[0][1] == {
        "feature": "age", "column": "age", "condition": "age > 37.00", "value": 45.0, "weight": -0.05,
        "spans": None,
    }  # fmt: skip


def tidy_expected(exps: list[Explanation]) -> list[tuple]:
    """(row, label, rank, feature, column, condition, value, weight, spans) of the tidy lines."""
    return [
        (e.row, e.label, rank, f.feature, f.column, f.condition, str(f.value), f.weight, f.spans)
        for e in exps
        for rank, f in enumerate(e.features, start=1)
    ]


def test_word_features_round_trip_through_csv(tmp_path):
    exps = hand_built()
    path = tmp_path / "e.csv"
    write_explanations([exps[:1], exps[1:]], "csv", "classification", str(path))
    frame = pd.read_csv(path, dtype={"label": str, "value": str})
    assert list(frame.columns[:9]) == [
        "row", "label", "rank", "feature", "column", "condition", "value", "weight", "spans",
    ]  # fmt: skip
    assert frame["spans"].iloc[0] == "[[14, 23], [80, 89]]"
    assert pd.isna(frame["spans"].iloc[1])  # the tabular feature: an empty cell
    spans = [None if pd.isna(s) else json.loads(s) for s in frame["spans"]]
    cols = ["row", "label", "rank", "feature", "column", "condition", "value", "weight"]
    got = [(*t, s) for t, s in zip(frame[cols].itertuples(index=False, name=None), spans, strict=True)]
    assert got == tidy_expected(exps)


def test_word_features_round_trip_through_parquet(tmp_path):
    exps = hand_built()
    path = tmp_path / "e.parquet"
    write_explanations([exps[:1], exps[1:]], "parquet", "classification", str(path))
    table = pq.read_table(path).to_pydict()
    assert table["spans"][:2] == ["[[14, 23], [80, 89]]", None]
    assert table["column"] == ["review", "age", "review", "review", "review"]
    cols = ["row", "label", "rank", "feature", "column", "condition", "value", "weight"]
    got = [
        (*(table[c][i] for c in cols), None if table["spans"][i] is None else json.loads(table["spans"][i]))
        for i in range(len(table["row"]))
    ]
    assert got == tidy_expected(exps)


# -- version 1 files -------------------------------------------------------------------------------

V1_FEATURES = [
    [("worst area", "worst area > 1084.0", 2019.0, 0.12), ("mean radius", "mean radius > 15.8", 18.0, 0.08)],
    [("worst area", "worst area <= 515.30", 300.1, -0.1), ("texture", "texture > 21.80", 25.0, 0.05)],
    [("mean radius", "mean radius > 15.8", 19.2, 0.07), ("worst area", "worst area > 1084.0", 1500.0, 0.11)],
]
V1_KEYS = ("feature", "condition", "value", "weight")


def v1_explanation(row: int, features) -> dict:
    """An explanation as schema version 1 wrote it: features without column and spans."""
    return {
        "row": row, "label": "0", "model_prediction": 0.9, "local_prediction": 0.85, "intercept": 0.3,
        "score": 0.6, "features": [dict(zip(V1_KEYS, f, strict=True)) for f in features],
        "fidelity_gap": 0.05, "low_fidelity": False, "num_samples": 5000, "insignificant": 0,
        "stability": None,
    }  # fmt: skip


def v2_of(e: dict) -> dict:
    return e | {"features": [f | {"column": f["feature"], "spans": None} for f in e["features"]]}


def summary(path, *args) -> str:
    result = CliRunner().invoke(app, ["summary", str(path), *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_a_version_1_file_reads_as_its_version_2_equivalent(tmp_path):
    v1 = [v1_explanation(r, fs) for r, fs in enumerate(V1_FEATURES)]
    assert all(tuple(f) == V1_KEYS for e in v1 for f in e["features"])
    paths = {}
    for version, exps in ((1, v1), (2, [v2_of(e) for e in v1])):
        doc = {"schema_version": version, "mode": "classification", "explanations": exps}
        paths[version] = tmp_path / f"v{version}.json"
        paths[version].write_text(json.dumps(doc))
        (tmp_path / f"v{version}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in exps))
    back = read_explanations(str(paths[1]))
    assert back == read_explanations(str(paths[2])) == read_explanations(str(tmp_path / "v1.jsonl"))
    assert [f.column for f in back[0].features] == ["worst area", "mean radius"]
    assert all(f.spans is None for e in back for f in e.features)
    for args in (["-f", "json", "--pick", "2"], ["-f", "csv"], ["--pick", "1"]):
        old = summary(paths[1], *args)
        assert old == summary(paths[2], *args) == summary(tmp_path / "v1.jsonl", *args)
    doc = json.loads(summary(paths[1], "-f", "json", "--pick", "1"))
    assert doc["schema_version"] == 3
    by_feature = {f["feature"]: f for f in doc["features"]}
    assert list(by_feature) == ["worst area", "mean radius", "texture"]  # by mean |weight|
    assert by_feature["worst area"]["mean_abs_weight"] == pytest.approx((0.12 + 0.1 + 0.11) / 3)
    assert by_feature["worst area"]["top_share"] == pytest.approx(1.0)
    picked = doc["picked"][0]["features"][0]
    assert picked["column"] == picked["feature"] and picked["spans"] is None  # written as version 3
    assert "bbox" not in picked and "area" not in picked  # only image regions have them


@pytest.mark.parametrize("version", [4, 0, "2", None, True])
def test_a_json_document_of_an_unknown_schema_version_is_refused(tmp_path, version):
    path = tmp_path / "future.json"
    doc = {"schema_version": version, "mode": "classification", "explanations": [v1_explanation(0, [])]}
    path.write_text(json.dumps(doc))
    result = CliRunner().invoke(app, ["summary", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: explanations file {path} has schema_version {json.dumps(version)}; "
        "this lime-cli reads versions 1, 2 and 3\n"
    )


def test_bad_spans_in_a_file_are_one_error_line(tmp_path):
    e = v2_of(v1_explanation(0, V1_FEATURES[0]))
    e["features"][0]["spans"] = [[23, 14]]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(e) + "\n")
    result = CliRunner().invoke(app, ["summary", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: explanations file {path} is not lime explain JSON or JSON lines")
    assert "spans of feature 'worst area': [23, 14] is not a pair of offsets" in result.stderr
    assert len(result.stderr.splitlines()) == 1
