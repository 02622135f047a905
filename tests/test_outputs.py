"""Output formats of ``lime explain``: JSON, JSON lines, CSV, Parquet, tables; --version and --help."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

import lime_cli
from lime_cli import TIDY_COLUMNS
from lime_cli.cli import app

HEADER = (
    "row,label,rank,feature,column,condition,value,weight,spans,intercept,local_prediction,model_prediction,"
    "score,fidelity_gap,low_fidelity,num_samples,stability_score,selection_frequency,weight_std,source,bbox,area"
)
TOP_KEYS = {"schema_version", "mode", "explanations"}
EXPLANATION_KEYS = {
    "row",
    "label",
    "model_prediction",
    "local_prediction",
    "intercept",
    "score",
    "features",
    "fidelity_gap",
    "low_fidelity",
    "num_samples",
    "insignificant",
    "stability",
    "note",
}
FEATURE_KEYS = ["feature", "column", "condition", "value", "weight", "spans"]  # in this order
K = 5
FAST = ["--num-samples", "300", "--num-features", str(K), "--preset", "lime"]  # lime: always K features


def invoke(args, **kwargs):
    result = CliRunner().invoke(app, [str(a) for a in args], **kwargs)
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.exception)
    assert "Error" not in result.stderr
    return result


@pytest.fixture
def cancer_args(cancer_files):
    model, data = cancer_files
    return ["explain", "-m", model, "-d", data, "-t", "target", *FAST]


@pytest.fixture(scope="module")
def diabetes_files(tmp_path_factory, diabetes):
    """(model.joblib, train.csv): a linear regressor on the diabetes data; label column `target`."""
    X, y = diabetes
    d = tmp_path_factory.mktemp("diabetes")
    joblib.dump(LinearRegression().fit(X, y), d / "linreg.joblib")
    X.assign(target=y).to_csv(d / "train.csv", index=False)
    return d / "linreg.joblib", d / "train.csv"


def check_explanation(e: dict, mode: str) -> None:
    assert set(e) == EXPLANATION_KEYS
    assert isinstance(e["row"], int)
    if mode == "classification":
        assert isinstance(e["label"], str)
    else:
        assert e["label"] is None
    for key in ("model_prediction", "local_prediction", "intercept", "score", "fidelity_gap"):
        assert isinstance(e[key], float)
    assert e["fidelity_gap"] == pytest.approx(abs(e["local_prediction"] - e["model_prediction"]))
    assert isinstance(e["low_fidelity"], bool) and isinstance(e["num_samples"], int)
    assert e["insignificant"] == 0 and e["stability"] is None  # preset lime, no --stability
    assert len(e["features"]) == K
    for f in e["features"]:
        assert list(f) == FEATURE_KEYS
        assert isinstance(f["feature"], str) and isinstance(f["condition"], str)
        assert isinstance(f["weight"], float)
        assert f["column"] == f["feature"] and f["spans"] is None  # a tabular feature
    magnitudes = [abs(f["weight"]) for f in e["features"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert len({f["feature"] for f in e["features"]}) == K


# -- JSON and JSON lines ---------------------------------------------------------------------------


def test_json_schema_classification(cancer_args):
    rows = [5, 2, 7]
    doc = json.loads(invoke([*cancer_args, *[a for r in rows for a in ("--row", r)], "-f", "json"]).stdout)
    assert set(doc) == TOP_KEYS
    assert doc["schema_version"] == 3
    assert doc["mode"] == "classification"
    assert [e["row"] for e in doc["explanations"]] == rows
    for e in doc["explanations"]:
        check_explanation(e, "classification")
        assert e["label"] in {"0", "1"}
        assert 0.0 <= e["model_prediction"] <= 1.0


def test_json_schema_regression(diabetes_files, diabetes):
    model, data = diabetes_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", *FAST, "--row", 3, "--row", 0, "-f", "json"]
    doc = json.loads(invoke(args).stdout)
    assert set(doc) == TOP_KEYS
    assert doc["schema_version"] == 3
    assert doc["mode"] == "regression"
    assert [e["row"] for e in doc["explanations"]] == [3, 0]
    X, y = diabetes
    fitted = joblib.load(model)
    for e in doc["explanations"]:
        check_explanation(e, "regression")
        expected = float(fitted.predict(X.iloc[[e["row"]]])[0])
        assert e["model_prediction"] == pytest.approx(expected, rel=1e-9)


def test_jsonl_is_one_explanation_per_line(cancer_args):
    out = invoke([*cancer_args, "--row", 4, "--row", 1, "--row", 9, "-f", "jsonl"]).stdout
    lines = out.splitlines()
    assert out.endswith("\n")
    assert len(lines) == 3
    objects = [json.loads(line) for line in lines]
    assert [o["row"] for o in objects] == [4, 1, 9]
    for o in objects:
        check_explanation(o, "classification")
    # the same explanations as in the JSON document
    doc = json.loads(invoke([*cancer_args, "--row", 4, "--row", 1, "--row", 9, "-f", "json"]).stdout)
    assert doc["explanations"] == objects


def test_json_output_file_has_the_same_bytes_as_stdout(cancer_args, tmp_path):
    args = [*cancer_args, "--row", 0, "--row", 3, "-f", "json"]
    stdout = invoke(args)
    out = tmp_path / "x.json"
    to_file = invoke([*args, "--output", out])
    assert to_file.stdout == ""
    assert out.read_bytes() == stdout.stdout_bytes
    assert len(json.loads(out.read_text())["explanations"]) == 2


def test_top_labels_two(cancer_args):
    doc = json.loads(invoke([*cancer_args, "--row", 0, "--row", 1, "--top-labels", 2, "-f", "json"]).stdout)
    exps = doc["explanations"]
    assert [e["row"] for e in exps] == [0, 0, 1, 1]
    for r in (0, 1):
        labels = [e["label"] for e in exps if e["row"] == r]
        assert sorted(labels) == ["0", "1"]
        # the most probable class comes first
        preds = [e["model_prediction"] for e in exps if e["row"] == r]
        assert preds[0] >= preds[1]
        assert preds[0] + preds[1] == pytest.approx(1.0)


def test_label_option(cancer_args):
    doc = json.loads(invoke([*cancer_args, "--row", 0, "--row", 100, "--label", "1", "-f", "json"]).stdout)
    assert [e["label"] for e in doc["explanations"]] == ["1", "1"]
    assert [e["row"] for e in doc["explanations"]] == [0, 100]


def test_rows_from_stdin(cancer_args, cancer_files):
    _, data = cancer_files
    table = pd.read_csv(data)
    csv_text = table.iloc[[10, 20]].to_csv(index=False)
    from_stdin = json.loads(invoke([*cancer_args, "--rows", "-", "-f", "json"], input=csv_text).stdout)
    assert [e["row"] for e in from_stdin["explanations"]] == [0, 1]
    check_explanation(from_stdin["explanations"][0], "classification")
    # the features of those rows are those of rows 10 and 20 of the training table
    values = {f["feature"]: f["value"] for f in from_stdin["explanations"][1]["features"]}
    for name, value in values.items():
        assert value == pytest.approx(float(table.at[20, name]))


# -- CSV and Parquet -------------------------------------------------------------------------------


def test_tidy_columns_constant():
    assert ",".join(TIDY_COLUMNS) == HEADER


def test_csv_schema(cancer_args):
    out = invoke([*cancer_args, "--row", 2, "--row", 0, "--top-labels", 2, "-f", "csv"]).stdout
    assert out.splitlines()[0] == HEADER
    assert out.splitlines()[0] == ",".join(TIDY_COLUMNS)
    frame = pd.read_csv(io.StringIO(out))
    assert len(frame) == 2 * 2 * K
    assert list(frame["row"].unique()) == [2, 0]
    for _, group in frame.groupby(["row", "label"]):
        assert list(group["rank"]) == list(range(1, K + 1))
        assert list(group["weight"].abs()) == sorted(group["weight"].abs(), reverse=True)
        for col in ("intercept", "local_prediction", "model_prediction", "score"):
            assert group[col].nunique() == 1
    assert list(frame["column"]) == list(frame["feature"])  # a tabular feature's column is itself
    assert frame["spans"].isna().all()
    assert all(line.split(",")[8] == "" for line in out.splitlines()[1:])  # no comma in these conditions


def test_parquet_schema(cancer_args, tmp_path):
    out = tmp_path / "x.parquet"
    result = invoke([*cancer_args, "--row", 1, "--row", 6, "-f", "parquet", "--output", out])
    assert result.stdout == ""
    table = pq.read_table(out)
    assert table.column_names == TIDY_COLUMNS
    types = {"row": pa.int64(), "rank": pa.int64(), "num_samples": pa.int64(), "low_fidelity": pa.bool_()}
    strings = ["label", "feature", "column", "condition", "value", "spans", "source", "bbox"]
    types |= dict.fromkeys(strings, pa.string()) | {"area": pa.int64()}
    expected = [types.get(name, pa.float64()) for name in TIDY_COLUMNS]
    assert [field.type for field in table.schema] == expected
    assert expected.count(pa.float64()) == 9  # weight, intercept, 2 predictions, score, gap, 3 of stability
    assert table.num_rows == 2 * K
    assert table.column("row").to_pylist() == [1] * K + [6] * K
    assert table.column("rank").to_pylist() == list(range(1, K + 1)) * 2
    assert table.column("column").to_pylist() == table.column("feature").to_pylist()  # tabular features
    assert table.column("spans").to_pylist() == [None] * (2 * K)


def test_csv_json_parquet_carry_the_same_weights(cancer_args, tmp_path):
    args = [*cancer_args, "--row", 3, "--row", 8, "--top-labels", 2]
    doc = json.loads(invoke([*args, "-f", "json"]).stdout)
    from_json = [
        (e["row"], e["label"], f["feature"], f["weight"]) for e in doc["explanations"] for f in e["features"]
    ]
    csv = pd.read_csv(
        io.StringIO(invoke([*args, "-f", "csv"]).stdout), dtype={"label": str}, float_precision="round_trip"
    )
    from_csv = list(zip(csv["row"], csv["label"], csv["feature"], csv["weight"], strict=True))
    out = tmp_path / "w.parquet"
    invoke([*args, "-f", "parquet", "-o", out])
    pf = pq.read_table(out).to_pydict()
    from_parquet = list(zip(pf["row"], pf["label"], pf["feature"], pf["weight"], strict=True))
    assert len(from_json) == 2 * 2 * K
    assert from_csv == from_json
    assert from_parquet == from_json


# -- tables ----------------------------------------------------------------------------------------


def conditions_of(cancer_args, rows):
    doc = json.loads(invoke([*cancer_args, *[a for r in rows for a in ("--row", r)], "-f", "json"]).stdout)
    return [f["condition"] for e in doc["explanations"] for f in e["features"]]


def test_table_on_stdout(cancer_args):
    out = invoke([*cancer_args, "--row", 0, "--row", 2], env={"COLUMNS": "160"}).stdout  # no wrapping
    assert "row 0" in out and "row 2" in out
    assert out.index("row 0") < out.index("row 2")
    for condition in conditions_of(cancer_args, [0, 2]):
        assert condition in out


def test_table_to_a_file(cancer_args, tmp_path):
    out = tmp_path / "t.txt"
    result = invoke([*cancer_args, "--row", 0, "--output", out])
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "row 0" in text
    for condition in conditions_of(cancer_args, [0]):
        assert condition in text
    assert "\x1b[" not in text  # no terminal escape codes in a file


# -- version and help ------------------------------------------------------------------------------


def test_version():
    result = invoke(["--version"])
    assert result.stdout == f"lime-cli {lime_cli.__version__}\n"


def test_explain_help():
    result = invoke(["explain", "--help"])
    assert "--num-samples" in result.stdout
    assert "Examples" in result.stdout


def test_python_m_version():
    proc = subprocess.run(
        [sys.executable, "-m", "lime_cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"lime-cli {lime_cli.__version__}"


def test_a_row_with_no_significant_feature_keeps_its_line(tmp_path):
    # a model that ignores its input: no weight can be told apart from zero
    from sklearn.dummy import DummyClassifier

    from lime_cli import Explainer, explanations_to_frame

    X = pd.DataFrame(np.random.default_rng(0).standard_normal((200, 4)), columns=list("abcd"))
    y = np.r_[np.zeros(100), np.ones(100)]
    model = DummyClassifier(strategy="prior").fit(X, y)

    class Noisy:
        classes_ = model.classes_

        def predict_proba(self, frame):  # noise that does not depend on how often it was called
            p = np.clip(0.5 + 0.01 * np.random.default_rng(len(frame)).standard_normal(len(frame)), 0, 1)
            return np.column_stack([1 - p, p])

    exps = Explainer(Noisy(), X, num_features=3, num_samples=300).explain(X.iloc[:3])
    assert all(e.features == [] and e.insignificant == 3 for e in exps)
    frame = explanations_to_frame(exps)
    assert list(frame["row"]) == [0, 1, 2]
    assert list(frame["rank"]) == [0, 0, 0]
    assert frame["feature"].isna().all() and frame["weight"].isna().all()
    path = tmp_path / "none.parquet"
    from lime_cli.io import write_explanations

    write_explanations([exps], "parquet", "classification", str(path))
    assert pq.read_table(path).column("rank").to_pylist() == [0, 0, 0]
