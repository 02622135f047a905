"""Explainer files: the training statistics survive JSON exactly, and bad files are refused."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lime_cli.cli import app
from lime_cli.errors import DataError, StorageError
from lime_cli.explainer import Explainer
from lime_cli.tabular import TrainingStats
from lime_cli.tabular.explainer_file import (
    FORMAT_VERSION,
    read_explainer_file,
    stats_from_dict,
    stats_to_dict,
    write_explainer_file,
)

ARRAYS = ("freqs", "edges", "bin_mean", "bin_std", "bin_lo", "bin_hi")


def assert_stats_equal(a: TrainingStats, b: TrainingStats) -> None:
    assert b.discretizer == a.discretizer
    assert [c.name for c in b.columns] == [c.name for c in a.columns]
    for ca, cb in zip(a.columns, b.columns, strict=True):
        where = ca.name
        assert cb.kind == ca.kind, where
        assert cb.dtype == ca.dtype and type(cb.dtype) is type(ca.dtype), where
        assert cb.is_integer is ca.is_integer, where
        for f in ARRAYS:
            va, vb = getattr(ca, f), getattr(cb, f)
            if va is None:
                assert vb is None, (where, f)
            else:
                assert vb.dtype == va.dtype, (where, f)
                np.testing.assert_array_equal(vb, va, err_msg=f"{where}.{f}", strict=True)  # NaN = NaN
        if ca.categories is None:
            assert cb.categories is None, where
        else:
            assert cb.categories.dtype == ca.categories.dtype, where
            assert [(type(v), v) for v in cb.categories] == [(type(v), v) for v in ca.categories], where
        assert cb._category_index == ca._category_index, where
        assert [type(k) for k in cb._category_index] == [type(k) for k in ca._category_index], where
        np.testing.assert_array_equal([cb.mean, cb.std], [ca.mean, ca.std], err_msg=where, strict=True)


def json_round_trip(stats: TrainingStats) -> TrainingStats:
    return stats_from_dict(json.loads(json.dumps(stats_to_dict(stats), allow_nan=False)))


@pytest.mark.parametrize("discretizer", ["quartile", "decile", "none"])
def test_round_trip_cancer_explains_identically(cancer, discretizer):
    model, X, _ = cancer
    direct = Explainer(model, X, discretizer=discretizer, num_samples=500, seed=3)
    loaded = json_round_trip(direct.stats)
    assert_stats_equal(direct.stats, loaded)
    from_file = Explainer(model, stats=loaded, num_samples=500, seed=3)
    rows = X.iloc[:5]
    expected = direct.explain(rows)
    assert len(expected) == 5
    assert from_file.explain(rows) == expected


def test_mixed_pipeline_through_a_file(mixed, tmp_path):
    model, frame = mixed
    direct = Explainer(model, frame, target="progression", num_samples=500, seed=3)
    assert {str(c.dtype) for c in direct.stats.columns} >= {"str", "int64", "float64"}
    path = tmp_path / "mixed.explainer.json"
    write_explainer_file(
        path,
        direct.stats,
        model_features=direct.feature_names,
        mode=direct.mode,
        classes=direct.classes,
    )
    text = path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    doc = json.loads(text)
    assert doc["lime_cli_explainer"] == FORMAT_VERSION
    assert doc["features"] == direct.feature_names
    assert doc["mode"] == "classification" and doc["classes"] == ["high", "low"]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind

    loaded = read_explainer_file(path)
    assert_stats_equal(direct.stats, loaded)
    # rows with holes in numeric and string columns, and the first rows
    holes = [frame.index[frame[c].isna()][:2].tolist() for c in ("sex", "bp", "s3")]
    rows = frame.loc[frame.index[:3].tolist() + sum(holes, [])]
    assert len(rows) == 9 and rows.iloc[3:][["sex", "bp", "s3"]].isna().any(axis=1).all()
    from_file = Explainer(model, stats=loaded, num_samples=500, seed=3)
    expected = direct.explain(rows)
    assert from_file.explain(rows) == expected


def test_category_values_keep_their_python_type():
    frame = pd.DataFrame(
        {
            "flag": [True, False, True, None],  # object column of booleans with a hole
            "code": [3, 1, 3, 2],  # integers treated as categorical
            "level": [0.5, 1.0, 0.5, np.nan],
            "mixed": ["a", 1, 2.5, True],
            "b": np.array([True, False, False, True]),
            "cat": pd.Categorical(["x", "y", "x", None], categories=["y", "x", "z"], ordered=True),
            "s": pd.array(["u", None, "v", "u"], dtype=pd.StringDtype("python", na_value=np.nan)),
        }
    )
    stats = TrainingStats.from_frame(frame, categorical=["code", "level", "mixed"])
    loaded = json_round_trip(stats)
    assert_stats_equal(stats, loaded)
    cols = {c.name: c for c in loaded.columns}
    assert cols["code"].categories.tolist() == [1, 2, 3]
    assert type(cols["level"].categories[1]) is float  # 1.0 stays a float, not the int 1
    assert cols["s"].dtype.storage == "python"
    assert cols["cat"].dtype.ordered and list(cols["cat"].dtype.categories) == ["y", "x", "z"]


def test_training_data_with_infinities_is_refused():
    frame = pd.DataFrame({"a": [1.0, np.inf, 2.0, 3.0, 4.0, np.nan], "b": [1.0, 2, 3, 2, 3, 4]})
    for discretizer in ("quartile", "none"):
        with pytest.raises(DataError, match="column 'a' of the training data has infinite values"):
            TrainingStats.from_frame(frame, discretizer=discretizer)


def test_unsavable_category_values_are_refused():
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    stats = TrainingStats.from_frame(frame)
    with pytest.raises(DataError, match="'when'"):
        stats_to_dict(stats)


@pytest.fixture(scope="module")
def good_doc(cancer):
    model, X, _ = cancer
    stats = TrainingStats.from_frame(X.iloc[:, :4])
    return {"lime_cli_explainer": FORMAT_VERSION, **stats_to_dict(stats)}


def truncated(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    del doc["columns"][1]["edges"]
    return doc


def wrong_length(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["columns"][0]["bin_mean"].pop()
    return doc


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("empty-object.json", lambda d: "{}", "not a lime-cli explainer file"),
        ("list.json", lambda d: "[1, 2]", "not a lime-cli explainer file"),
        ("notjson.json", lambda d: "age,sex\n1,2\n", "not JSON"),
        ("empty.json", lambda d: "", "not JSON"),
        ("binary.json", lambda d: b"\xff\xfe\x00garbage", "not JSON"),
        ("version.json", lambda d: json.dumps({**d, "lime_cli_explainer": 2}), "version 2"),
        ("version-str.json", lambda d: json.dumps({**d, "lime_cli_explainer": "1"}), "version"),
        (
            "truncated.json",
            lambda d: json.dumps(truncated(d)),
            re.escape("column 1 ('mean texture'): field 'edges' is missing"),
        ),
        ("no-columns.json", lambda d: json.dumps({"lime_cli_explainer": 1}), "malformed"),
        ("bad-column.json", lambda d: json.dumps({**d, "columns": [1]}), "malformed"),
        (
            "bad-length.json",
            lambda d: json.dumps(wrong_length(d)),
            re.escape("column 0 ('mean radius'): bin_mean needs 4 values (one per bin)"),
        ),
        (
            "bad-dtype.json",
            lambda d: json.dumps({**d, "columns": [{**d["columns"][0], "dtype": "nope"}]}),
            "malformed",
        ),
    ],
)
def test_bad_files_raise_data_error_naming_the_file(tmp_path, good_doc, name, content, match):
    path = tmp_path / name
    data = content(good_doc)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    with pytest.raises(DataError, match=match) as info:
        read_explainer_file(path)
    message = str(info.value)
    assert name in message and "\n" not in message


def test_missing_file_and_good_file(tmp_path, good_doc):
    missing = tmp_path / "absent.explainer.json"
    with pytest.raises(DataError, match="absent.explainer.json does not exist"):
        read_explainer_file(missing)
    with pytest.raises(DataError, match="is a directory"):
        read_explainer_file(tmp_path)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(good_doc), encoding="utf-8")
    assert read_explainer_file(good).feature_names == [c["name"] for c in good_doc["columns"]]


def test_write_checks_features_and_destination(tmp_path, cancer):
    _, X, _ = cancer
    stats = TrainingStats.from_frame(X.iloc[:, :3])
    with pytest.raises(ValueError, match="features"):
        write_explainer_file(tmp_path / "x.json", stats, model_features=["a", "b", "c"])
    with pytest.raises(StorageError, match="nowhere"):
        write_explainer_file(tmp_path / "nowhere" / "x.json", stats)
    assert list(tmp_path.iterdir()) == []


# -- files that `lime fit` would never write: refused when read, through the CLI ------------------


def invoke(args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, cancer_files, mixed_files):
    """kind -> (model, rows, explainer file doc) for files written by `lime fit`."""
    d = tmp_path_factory.mktemp("fitted")
    cancer_model, cancer_data = cancer_files
    mixed_model, mixed_data = mixed_files
    out = {}
    for kind, model, data, target, extra in [
        ("binned", cancer_model, cancer_data, "target", []),
        ("continuous", cancer_model, cancer_data, "target", ["--discretizer", "none"]),
        ("mixed", mixed_model, mixed_data, "progression", []),
    ]:
        path = d / f"{kind}.json"
        result = invoke(["fit", "-d", data, "-t", target, "-m", model, "-o", path, *extra])
        assert result.exit_code == 0, result.stderr
        out[kind] = model, data, json.loads(path.read_text(encoding="utf-8"))
    return out


def column(doc: dict, name: str | None = None, kind: str | None = None) -> dict:
    return next(c for c in doc["columns"] if c["name"] == name or c["kind"] == kind)


def set_field(kind, field, value, *, name=None, col_kind="binned"):
    def corrupt(doc):
        c = column(doc, name, None if name else col_kind)
        if isinstance(field, tuple):
            c[field[0]][field[1]] = value(c[field[0]]) if callable(value) else value
        else:
            c[field] = value
        return doc

    return kind, corrupt


def shift_freqs(delta):
    def corrupt(doc):
        c = column(doc, "mean radius")
        c["freqs"][1] += delta
        return doc

    return "binned", corrupt


def swap_edges(doc):
    c = column(doc, "mean area")
    c["edges"][0], c["edges"][1] = c["edges"][1], c["edges"][0]
    return doc


def repeat_edge(doc):
    c = column(doc, "mean area")
    c["edges"][2] = c["edges"][1]
    return doc


def lo_above_hi(doc):
    c = column(doc, "mean area")
    c["bin_lo"][2] = c["bin_hi"][2] + 1
    return doc


def negative_freq(doc):
    c = column(doc, "mean radius")
    c["freqs"][1] += c["freqs"][0] + 0.5
    c["freqs"][0] = -0.5
    return doc


def twice_the_name(doc):
    doc["columns"][1]["name"] = doc["features"][1] = doc["columns"][0]["name"]
    return doc


def duplicate_category(doc):
    c = column(doc, "sex")
    c["categories"] = [c["categories"][0]] * len(c["categories"])
    return doc


def top(field, value):
    return lambda doc: {**doc, field: value}


CORRUPTIONS = {
    "negative-freq": ("binned", negative_freq, "column 0 ('mean radius'): freqs[0] is negative (-0.5)"),
    "freqs-sum": (*shift_freqs(0.01), "column 0 ('mean radius'): freqs sum to 1.01, not 1"),
    "freqs-null": (
        *set_field("binned", ("freqs", 2), None, name="mean radius"),
        "column 0 ('mean radius'): freqs[2] is null, not a number",
    ),
    "categorical-negative-freq": (
        *set_field("mixed", ("freqs", 0), lambda f: -f[0], name="sex"),
        "('sex'): freqs[0] is negative",
    ),
    "categorical-freqs-sum": (
        *set_field("mixed", ("freqs", 0), lambda f: f[0] + 0.2, name="sex"),
        "('sex'): freqs sum to 1.2, not 1",
    ),
    "bin-std-negative": (
        *set_field("binned", ("bin_std", 1), -1.5, name="mean texture"),
        "column 1 ('mean texture'): bin_std[1] is -1.5, not a standard deviation (a number >= 0)",
    ),
    "bin-std-null": (
        *set_field("binned", ("bin_std", 0), None, name="mean texture"),
        "column 1 ('mean texture'): bin_std[0] is null, not a number",
    ),
    "bin-mean-null": (
        *set_field("binned", ("bin_mean", 3), None, name="mean texture"),
        "column 1 ('mean texture'): bin_mean[3] is null, not a number",
    ),
    "edges-unsorted": ("binned", swap_edges, "column 3 ('mean area'): edges are not strictly increasing"),
    "edges-repeated": ("binned", repeat_edge, "column 3 ('mean area'): edges are not strictly increasing"),
    "edges-null": (
        *set_field("binned", ("edges", 1), None, name="mean area"),
        "column 3 ('mean area'): edges[1] is null, not a number",
    ),
    "lo-above-hi": ("binned", lo_above_hi, "column 3 ('mean area'): bin 2: bin_lo"),
    "counts": (
        *set_field("binned", "bin_hi", [1.0, 2.0], name="mean area"),
        "column 3 ('mean area'): bin_hi needs 4 values (one per bin)",
    ),
    "std-negative": (
        *set_field("continuous", "std", -2.0, name="mean radius"),
        "column 0 ('mean radius'): std is -2.0, not a standard deviation (a positive number)",
    ),
    "std-zero": (
        *set_field("continuous", "std", 0, name="mean radius"),
        "column 0 ('mean radius'): std is 0.0, not a standard deviation",
    ),
    "std-null": (
        *set_field("continuous", "std", None, name="mean radius"),
        "column 0 ('mean radius'): std is null, not a number",
    ),
    "mean-null": (
        *set_field("continuous", "mean", None, name="mean radius"),
        "column 0 ('mean radius'): mean is null, not a number",
    ),
    "duplicate-category": ("mixed", duplicate_category, "('sex'): categories hold \"female\" twice"),
    "duplicate-name": (
        "binned",
        twice_the_name,
        "column 1 ('mean radius'): the name 'mean radius' is also the name of an earlier column",
    ),
    "mode": (
        "binned",
        top("mode", "clasification"),
        'mode must be "classification", "regression" or null, not "clasification"',
    ),
    "mode-number": ("binned", top("mode", 1), 'mode must be "classification", "regression" or null, not 1'),
    "classes-string": (
        "binned",
        top("classes", "0,1"),
        'classes must be null or a list of strings, not "0,1"',
    ),
    "classes-numbers": (
        "mixed",
        top("classes", [0, 1]),
        "classes must be null or a list of strings, not [0, 1]",
    ),
    "discretizer-none-binned": (
        "binned",
        top("discretizer", "none"),
        "column 0 ('mean radius'): kind binned does not go with discretizer none",
    ),
    "discretizer-quartile-continuous": (
        "continuous",
        top("discretizer", "quartile"),
        "column 0 ('mean radius'): kind continuous does not go with discretizer quartile",
    ),
    "version": (
        "binned",
        top("lime_cli_explainer", 3),
        "has format version 3; this lime-cli reads version 1",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupted_explainer_file_is_one_error_line(fitted, tmp_path, case):
    kind, corrupt, expected = CORRUPTIONS[case]
    model, rows, doc = fitted[kind]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(corrupt(json.loads(json.dumps(doc)))), encoding="utf-8")
    output = tmp_path / "out.json"
    result = invoke(
        ["explain", "-m", model, "--explainer", bad, "--rows", rows, "--row", 0, "-n", 300, "-f", "json"]
        + ["--output", output]
    )
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: explainer file {bad} "), line
    assert expected in line, (expected, line)
    if case != "version":
        assert line.startswith(f"Error: explainer file {bad} is malformed: "), line
    assert not output.exists()


@pytest.mark.parametrize("kind", ["binned", "continuous", "mixed"])
def test_files_from_lime_fit_are_read(fitted, tmp_path, kind):
    # the corruptions above start from these files: untouched (or within the tolerance) they work
    model, rows, doc = fitted[kind]
    good = json.loads(json.dumps(doc))
    c = next(c for c in good["columns"] if c["kind"] != "continuous") if kind != "continuous" else None
    if c is not None:
        c["freqs"][0] += 1e-9  # a frequency sum off by far less than the tolerance is fine
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    result = invoke(
        ["explain", "-m", model, "--explainer", path, "--rows", rows, "--row", 0, "-n", 300, "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert [e["row"] for e in json.loads(result.stdout)["explanations"]] == [0]
