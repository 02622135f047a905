"""Tables as the user wrote them.

Every supported format (CSV and JSON lines, plain or compressed; Parquet) gives the same
explanations as the plain CSV; a column name written twice, a column of lists or dicts that the
model uses, an unreadable compressed file or an unknown extension is one ``Error:`` line naming
the file (and the column or line), exit code 2, nothing written.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from test_cli_errors import check_error, invoke

from lime_cli import load_table
from lime_cli.io import TABLE_SUFFIXES

FAST = ["--num-samples", "300"]
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, ".zst": zstandard.compress}


def fails(tmp_path, args, *expected: str, **kwargs) -> str:
    """``check_error`` in a folder of its own: one test may check several failures."""
    return check_error(Path(tempfile.mkdtemp(dir=tmp_path)), args, *expected, **kwargs)


def compressed(data: bytes, path) -> bytes:
    """``data`` compressed as the suffix of ``path`` says (unchanged without one)."""
    suffix = path.suffix
    return COMPRESS[suffix](data) if suffix in COMPRESS else data


def jsonl_bytes(frame: pd.DataFrame) -> bytes:
    """One JSON object per row; missing values are null, floats written exactly (as CSV does)."""
    lines = []
    for record in frame.to_dict("records"):
        clean = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}
        lines.append(json.dumps(clean, allow_nan=False))
    return ("\n".join(lines) + "\n").encode()


def write_table(frame: pd.DataFrame, path) -> None:
    name = path.name
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    elif ".csv" in name:
        path.write_bytes(compressed(frame.to_csv(index=False).encode(), path))
    else:
        path.write_bytes(compressed(jsonl_bytes(frame), path))


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory, mixed):
    """(model file, training CSV, frame, rows to explain): strings, integers and missing values."""
    model, frame = mixed
    d = tmp_path_factory.mktemp("tables")
    joblib.dump(model, d / "pipe.joblib")
    frame.to_csv(d / "train.csv", index=False)
    # row 0, a row with no bp and a row with no sex: missing values must read as missing
    rows = [0, int(frame["bp"].isna().to_numpy().argmax()), int(frame["sex"].isna().to_numpy().argmax())]
    return d / "pipe.joblib", d / "train.csv", frame, rows


def explain_json(model, data, *extra, rows_args=(), **kwargs) -> str:
    args = ["explain", "-m", model, "-d", data, "-t", "progression", *rows_args, *extra, *FAST, "-f", "json"]
    result = invoke(args, **kwargs)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize(
    "suffix",
    [
        ".jsonl",
        ".ndjson",
        ".jsonl.gz",
        ".ndjson.xz",
        ".csv.gz",
        ".csv.bz2",
        ".csv.xz",
        ".csv.zst",
        ".parquet",
    ],
)
def test_every_format_gives_the_explanations_of_the_csv(tmp_path, mixed_csv, suffix):
    model, csv, frame, rows = mixed_csv
    path = tmp_path / f"table{suffix}"
    write_table(frame, path)
    pd.testing.assert_frame_equal(load_table(path), load_table(csv))
    picked = [a for r in rows for a in ("--row", r)]
    expected = explain_json(model, csv, *picked)
    assert json.loads(expected)["explanations"]
    assert explain_json(model, path, *picked) == expected  # as the training table
    assert explain_json(model, csv, *picked, rows_args=["--rows", path]) == expected  # as the rows


def test_jsonl_rows_from_stdin(tmp_path, mixed_csv):
    model, csv, frame, rows = mixed_csv
    subset = frame.iloc[rows]
    rows_csv = tmp_path / "rows.csv"
    subset.to_csv(rows_csv, index=False)
    expected = explain_json(model, csv, rows_args=["--rows", rows_csv])
    assert len(json.loads(expected)["explanations"]) == len(rows)
    jsonl = jsonl_bytes(subset).decode()
    assert (
        explain_json(model, csv, rows_args=["--rows", "-", "--rows-format", "jsonl"], input=jsonl) == expected
    )
    # CSV on stdin is the default, and --rows-format csv says so
    text = subset.to_csv(index=False)
    assert explain_json(model, csv, rows_args=["--rows", "-"], input=text) == expected
    assert explain_json(model, csv, rows_args=["--rows", "-", "--rows-format", "csv"], input=text) == expected


def test_rows_format_is_for_stdin_only(tmp_path, mixed_csv):
    model, csv, _, _ = mixed_csv
    base = ["explain", "-m", model, "-d", csv, "-t", "progression", *FAST]
    line = fails(tmp_path, [*base, "--rows", csv, "--rows-format", "jsonl"], "--rows-format")
    assert f"rows file {csv} is read by its extension" in line
    fails(
        tmp_path,
        [*base, "--rows", "-", "--rows-format", "xml"],
        "--rows-format must be one of csv, jsonl, not 'xml'",
        input="",
    )
    args = ["check", "-m", model, "-d", csv, "-t", "progression", "--rows", "-", "--rows-format", "parquet"]
    fails(tmp_path, [*args, "--forbid", "sex"], "--rows-format", "'parquet'", output=False, input="")


def test_unknown_extension_lists_every_accepted_one(tmp_path, mixed_csv):
    model, csv, _, _ = mixed_csv
    path = tmp_path / "train.csv.zip"
    path.write_bytes(csv.read_bytes())
    line = fails(tmp_path, ["explain", "-m", model, "-d", path, "--row", 0], f"data file {path}")
    assert line.endswith(
        "unknown extension '.zip' (expected .csv, .csv.gz, .csv.bz2, .csv.xz, .csv.zst, .jsonl, .jsonl.gz, "
        ".jsonl.bz2, .jsonl.xz, .jsonl.zst, .ndjson, .ndjson.gz, .ndjson.bz2, .ndjson.xz, .ndjson.zst, "
        ".parquet, .pq)"
    )
    assert len(TABLE_SUFFIXES) == 17


@pytest.mark.parametrize(
    ("suffix", "kind"),
    [
        (".csv.gz", "gzip-compressed CSV"),
        (".csv.bz2", "bz2-compressed CSV"),
        (".csv.xz", "xz-compressed CSV"),
        (".csv.zst", "zstd-compressed CSV"),
        (".jsonl.gz", "gzip-compressed JSON lines"),
    ],
)
def test_compressed_file_that_is_not_compressed(tmp_path, mixed_csv, suffix, kind):
    model, csv, _, _ = mixed_csv
    path = tmp_path / f"train{suffix}"
    path.write_bytes(csv.read_bytes())  # plain text under a compressed name
    args = ["explain", "-m", model, "-d", path, "-t", "progression", "--row", 0, *FAST]
    fails(tmp_path, args, f"Error: data file {path} cannot be read as {kind} (")


# -- columns as written ----------------------------------------------------------------------------


@pytest.fixture
def numeric(tmp_path):
    """(model file, training CSV, frame): a logistic regression on x0, x1, x2; label `y`."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((60, 3)), columns=["x0", "x1", "x2"])
    frame["y"] = (frame["x0"] + frame["x1"] > 0).astype(int)
    model = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit(frame[["x0", "x1", "x2"]], frame["y"]), model)
    csv = tmp_path / "train.csv"
    frame.to_csv(csv, index=False)
    return model, csv, frame


def csv_with_header(frame: pd.DataFrame, header: str) -> str:
    body = frame.to_csv(index=False, header=False)
    return f"{header}\n{body}"


def test_duplicate_column_in_the_data_csv(tmp_path, numeric):
    model, _, frame = numeric
    path = tmp_path / "t.csv"
    path.write_text(csv_with_header(frame, "x0,x1,x1,y"))  # pandas would read x0, x1, x1.1, y
    args = ["explain", "-m", model, "-d", path, "-t", "y", "--row", 0, *FAST]
    fails(tmp_path, args, f"Error: data file {path}: column 'x1' appears twice")
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    args = ["explain", "-m", model, "-d", gz, "-t", "y", "--row", 0, *FAST]
    fails(tmp_path, args, f"Error: data file {gz}: column 'x1' appears twice")


def test_duplicate_column_in_the_rows(tmp_path, numeric):
    model, csv, frame = numeric
    text = csv_with_header(frame.head(3), "x0,x1,x2,x2")
    base = ["explain", "-m", model, "-d", csv, "-t", "y", *FAST]
    path = tmp_path / "rows.csv"
    path.write_text(text)
    fails(tmp_path, [*base, "--rows", path], f"Error: rows file {path}: column 'x2' appears twice")
    # stdin is read once, and its header checked as written
    fails(
        tmp_path,
        [*base, "--rows", "-"],
        "Error: rows from standard input: column 'x2' appears twice",
        input=text,
    )
    args = ["check", "-m", model, "-d", csv, "-t", "y", "--rows", "-", "--forbid", "x2", *FAST]
    fails(tmp_path, args, "rows from standard input: column 'x2' appears twice", output=False, input=text)


def test_column_really_named_like_a_renamed_duplicate_is_used(tmp_path):
    # `x1.1` is what pandas would call a second `x1`: here it is a column of its own
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((60, 3)), columns=["x0", "x1", "x1.1"])
    frame["y"] = (frame["x1.1"] > 0).astype(int)
    model = tmp_path / "lr.joblib"
    joblib.dump(LogisticRegression().fit(frame[["x0", "x1", "x1.1"]], frame["y"]), model)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    assert list(load_table(path).columns) == ["x0", "x1", "x1.1", "y"]
    result = invoke(["explain", "-m", model, "-d", path, "-t", "y", "--row", 0, *FAST, "-f", "json", "-k", 1])
    assert result.exit_code == 0, result.stderr
    (e,) = json.loads(result.stdout)["explanations"]
    assert [f["feature"] for f in e["features"]] == ["x1.1"]


def test_duplicate_field_in_parquet(tmp_path, numeric):
    model, csv, frame = numeric
    path = tmp_path / "t.parquet"
    columns = [pa.array(frame[c]) for c in ("x0", "x1", "x2", "x2")]
    pq.write_table(pa.Table.from_arrays(columns, names=["x0", "x1", "x2", "x2"]), path)
    args = ["explain", "-m", model, "-d", csv, "-t", "y", "--rows", path, *FAST]
    fails(tmp_path, args, f"Error: rows file {path}: column 'x2' appears twice")


def test_duplicate_key_in_a_json_line(tmp_path, numeric):
    model, csv, _ = numeric
    path = tmp_path / "rows.jsonl"
    path.write_text('{"x0": 1.0, "x1": 2.0, "x2": 3.0}\n{"x0": 1.0, "x1": 2.0, "x2": 3.0, "x1": 4.0}\n')
    args = ["explain", "-m", model, "-d", csv, "-t", "y", "--rows", path, *FAST]
    fails(tmp_path, args, f"Error: rows file {path}: column 'x1' appears twice (line 2)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"x0": 1.0, "x1": 2.0, "x2": 3.0}\n[1.0, 2.0, 3.0]\n', "line 2 is an array, not a JSON object"),
        ('{"x0": 1.0, "x1": 2.0, "x2": 3.0}\n\n"x0"\n', "line 3 is a string, not a JSON object"),
        ('{"x0": 1.0, "x1": 2.0, "x2": 3.0}\n{"x0": 1.0,\n', "line 2 is not valid JSON (Expecting"),
        ("\n\n", "is empty"),
    ],
    ids=["array", "string", "broken", "empty"],
)
def test_json_lines_that_are_not_records(tmp_path, numeric, text, message):
    model, csv, _ = numeric
    path = tmp_path / "rows.ndjson"
    path.write_text(text)
    args = ["explain", "-m", model, "-d", csv, "-t", "y", "--rows", path, *FAST]
    fails(tmp_path, args, f"Error: rows file {path}", message)


# -- nested values ---------------------------------------------------------------------------------


def nested_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` with a list column `tags` and a struct column `meta`."""
    n = len(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.append_column("tags", pa.array([[i, i + 1] for i in range(n)]))
    return table.append_column("meta", pa.array([{"source": "a", "n": i} for i in range(n)]))


def test_nested_columns_the_model_does_not_take_are_ignored(tmp_path, numeric):
    model, csv, frame = numeric
    path = tmp_path / "nested.parquet"
    pq.write_table(nested_table(frame), path)
    jsonl = tmp_path / "nested.jsonl"
    records = [{**r, "tags": [1, 2], "meta": {"a": 1}} for r in frame.to_dict("records")]
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records))
    base = ["-t", "y", "--row", 0, "--row", 7, *FAST, "-f", "json"]
    expected = invoke(["explain", "-m", model, "-d", csv, *base])
    assert expected.exit_code == 0, expected.stderr
    for table in (path, jsonl):
        for args in (["-d", table], ["-d", csv, "--rows", table]):
            result = invoke(["explain", "-m", model, *args, *base])
            assert result.exit_code == 0, result.stderr
            assert result.stdout == expected.stdout


def test_nested_column_the_model_takes(tmp_path, numeric):
    _, csv, frame = numeric
    # a model whose features are x0 and tags (DummyClassifier does not look at the values)
    model = tmp_path / "dummy.joblib"
    words = pd.DataFrame({"x0": frame["x0"], "tags": ["a", "b"] * (len(frame) // 2)})
    joblib.dump(DummyClassifier().fit(words, frame["y"]), model)
    nested = tmp_path / "nested.parquet"
    pq.write_table(nested_table(frame), nested)

    # in the training table: the file is named (by the CLI), with the column and the first row
    args = ["explain", "-m", model, "-d", nested, "-t", "y", "--row", 0, *FAST]
    fails(
        tmp_path,
        args,
        f"Error: data file {nested}: column 'tags' holds lists, not single values (first in row 0)",
    )
    args = ["fit", "-m", model, "-d", nested, "-t", "y", "--out", tmp_path / "e.json"]
    fails(tmp_path, args, f"Error: data file {nested}: column 'tags' holds lists", output=False)
    assert not (tmp_path / "e.json").exists()

    # in the explained rows (training with words there): only the rows explained are looked at
    train = tmp_path / "words.csv"
    words.assign(y=frame["y"]).to_csv(train, index=False)
    rows = tmp_path / "rows.jsonl"
    records = [{"x0": 0.5, "tags": "a"}, {"x0": 0.1, "tags": {"colour": "red"}}]
    rows.write_text("".join(json.dumps(r) + "\n" for r in records))
    args = ["explain", "-m", model, "-d", train, "-t", "y", "--rows", rows, *FAST]
    fails(
        tmp_path,
        args,
        f"Error: rows file {rows}: column 'tags' holds dicts, not single values (first in row 1)",
    )
    ok = invoke([*args, "--row", 0, "-f", "json"])
    assert ok.exit_code == 0, ok.stderr
    assert [e["row"] for e in json.loads(ok.stdout)["explanations"]] == [0]
    # the same from the saved statistics of `lime fit`
    saved = tmp_path / "explainer.json"
    assert invoke(["fit", "-m", model, "-d", train, "-t", "y", "--out", saved]).exit_code == 0
    args = ["check", "-m", model, "--explainer", saved, "--rows", rows, "--forbid", "tags", *FAST]
    fails(tmp_path, args, f"rows file {rows}: column 'tags' holds dicts", output=False)


def test_nested_column_api(cancer):
    from lime_cli import DataError, Explainer

    model, X, _ = cancer
    rows = X.iloc[:3].astype({"mean area": object})
    rows.iat[2, rows.columns.get_loc("mean area")] = np.array([1.0, 2.0])
    explainer = Explainer(model, X, num_samples=200)
    with pytest.raises(
        DataError, match=r"^column 'mean area' holds lists, not single values \(first in row 2\)$"
    ):
        explainer.explain(rows)
