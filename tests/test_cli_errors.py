"""Bad input on the command line: exit code 2, one ``Error:`` line, no traceback, no output file."""

from __future__ import annotations

import importlib
import json
import pickle
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from typer.testing import CliRunner

from lime_cli import DataError, Explainer, ModelError
from lime_cli.cli import app

TESTS_DIR = Path(__file__).resolve().parent
FAST = ["--num-samples", "300"]
OLD_BYTES = b"previous content \x00\xff keep me\n"


# -- small picklable models (module level so that pickle can find them) -------------------------


class BoomModel:
    """A classifier whose predict_proba always fails."""

    def predict_proba(self, X):
        raise ValueError("boom")


class FailsOnSecondCall:
    """A classifier that answers the first chunk, then fails: the second chunk of a run breaks.

    (lime-cli calls the model once on two samples before the first chunk, to check what it
    returns: that call and the first chunk's are answered.)"""

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        if self.calls > 2:
            raise ValueError("second call fails")
        p = np.full(len(X), 0.3)
        return np.column_stack([p, 1 - p])


class ThreeColumns:
    """predict_proba with a column more than classes_."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.tile([0.2, 0.3, 0.5], (len(X), 1))


class Scores:
    """A decision function passed off as probabilities."""

    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        x = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([-x, x])


class AboveOne:
    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.tile([-0.5, 1.5], (len(X), 1))


class NotSummingToOne:
    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.tile([0.2, 0.3], (len(X), 1))


class OneValuePerRow:
    classes_ = np.array([0, 1])

    def predict_proba(self, X):
        return np.full(len(X), 0.5)


class ReturnsNone:
    def predict_proba(self, X):
        return None


class Ragged:
    def predict_proba(self, X):
        return [[0.5, 0.5], [1.0]] * (len(X) // 2)


class TooFewRows:
    def predict_proba(self, X):
        return np.full((len(X) - 1, 2), 0.5)


class WordsForNumbers:
    """A regressor whose predict gives strings."""

    def predict(self, X):
        return np.array(["high"] * len(X))


class TwoColumnRegressor:
    def predict(self, X):
        return np.zeros((len(X), 2))


# -- helpers ---------------------------------------------------------------------------------------


def invoke(args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def assert_one_error_line(result, *expected: str) -> str:
    """Exit 2, stderr is exactly one ``Error: ...`` line naming each of ``expected``; no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    for text in expected:
        assert text in line, (text, line)
    assert result.stdout == "", result.stdout
    return line


def leftovers(directory: Path, name: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(f".{name}."))


def check_error(tmp_path: Path, args, *expected: str, output: bool = True, fmt: str | None = "json", **kw):
    """Run ``args`` twice, with ``--output`` absent and then pre-existing, and check the failure.

    Returns the error line of the first run.
    """
    if not output:
        return assert_one_error_line(invoke(args, **kw), *expected)
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    target = out_dir / "result.out"
    extra = ["--output", target] + (["--format", fmt] if fmt else [])

    line = assert_one_error_line(invoke([*args, *extra], **kw), *expected)
    assert not target.exists(), "a failed run created its --output file"
    assert leftovers(out_dir, target.name) == []

    target.write_bytes(OLD_BYTES)
    assert_one_error_line(invoke([*args, *extra], **kw), *expected)
    assert target.read_bytes() == OLD_BYTES, "a failed run changed an existing --output file"
    assert leftovers(out_dir, target.name) == []
    return line


@pytest.fixture
def small_table(tmp_path):
    """A numeric table x0..x2 with a label column `y`, saved as small.csv."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((40, 3)), columns=["x0", "x1", "x2"])
    frame["y"] = (frame["x0"] > 0).astype(int)
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    return frame, path


@pytest.fixture
def restore_import_state():
    """Undo what loading a pickle with --import-path does to sys.path and sys.modules."""
    path_before = list(sys.path)
    modules_before = set(sys.modules)
    yield
    sys.path[:] = path_before
    for name in set(sys.modules) - modules_before:
        del sys.modules[name]


@pytest.fixture
def foreign_pickle(tmp_path, restore_import_state):
    """(model file, module folder): a pickle of a class from a module that is not importable."""
    name = f"lime_custom_{uuid.uuid4().hex[:12]}"
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import numpy as np


            class Custom:
                def predict_proba(self, X):
                    p = 1 / (1 + np.exp(-np.asarray(X, dtype=float)[:, 0]))
                    return np.column_stack([1 - p, p])
            """
        )
    )
    sys.path.insert(0, str(code_dir))
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(name)
        model_path = tmp_path / "custom.joblib"
        joblib.dump(module.Custom(), model_path)
    finally:
        sys.modules.pop(name, None)
        sys.path.remove(str(code_dir))
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(name)
    return model_path, code_dir, name


# -- the model file --------------------------------------------------------------------------------


def test_missing_model_file(tmp_path, cancer_files):
    _, data = cancer_files
    missing = tmp_path / "nope.joblib"
    line = check_error(
        tmp_path, ["explain", "-m", missing, "-d", data, "-t", "target", "--row", 0], str(missing)
    )
    assert "does not exist" in line


def test_nothing_is_printed_after_the_error_line(tmp_path, cancer_files, capsys):
    # what is torn down after a failed run (a worker pool abandoned at exit) may warn: not printed
    _, data = cancer_files
    result = CliRunner().invoke(app, ["explain", "-m", str(tmp_path / "nope.joblib"), "-d", str(data)])
    assert result.exit_code == 2 and result.output.startswith("Error: ")
    capsys.readouterr()
    warnings.showwarning("late", UserWarning, __file__, 1)  # as the warnings module shows one
    assert capsys.readouterr().err == ""
    # the next command prints its warnings again
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0
    warnings.showwarning("next", UserWarning, __file__, 1)
    assert capsys.readouterr().err == "Warning: next\n"


@pytest.mark.parametrize(
    "content",
    [np.random.default_rng(0).bytes(512), b"this is a text file, not a model\n"],
    ids=["random-bytes", "text"],
)
def test_model_file_that_is_not_a_model(tmp_path, cancer_files, content):
    _, data = cancer_files
    bad = tmp_path / "x.joblib"
    bad.write_bytes(content)
    line = check_error(tmp_path, ["explain", "-m", bad, "-d", data, "-t", "target", "--row", 0], str(bad))
    assert "not a joblib or pickle model" in line


def test_unknown_model_extension(tmp_path, cancer_files):
    model, data = cancer_files
    renamed = tmp_path / "model.txt"
    renamed.write_bytes(model.read_bytes())
    line = check_error(
        tmp_path, ["explain", "-m", renamed, "-d", data, "-t", "target", "--row", 0], str(renamed)
    )
    assert "'.txt'" in line


def test_pickle_of_a_dict(tmp_path, cancer_files):
    _, data = cancer_files
    path = tmp_path / "d.pkl"
    path.write_bytes(pickle.dumps({"predict": "no"}))
    line = check_error(tmp_path, ["explain", "-m", path, "-d", data, "-t", "target", "--row", 0], str(path))
    assert "dict" in line and "predict" in line


def test_pickle_of_an_unimportable_module(tmp_path, foreign_pickle, small_table):
    model_path, _, name = foreign_pickle
    _, data = small_table
    line = check_error(
        tmp_path, ["explain", "-m", model_path, "-d", data, "-t", "y", "--row", 0, *FAST], name
    )
    assert str(model_path) in line and "--import-path" in line


def test_import_path_makes_the_same_pickle_load(tmp_path, foreign_pickle, small_table):
    model_path, code_dir, name = foreign_pickle
    _, data = small_table
    args = ["explain", "-m", model_path, "-d", data, "-t", "y", "--row", 0, "--row", 1, *FAST, "-f", "json"]
    assert_one_error_line(invoke(args), name)  # the module really is not importable on its own
    result = invoke([*args, "--import-path", code_dir])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert [e["row"] for e in json.loads(result.stdout)["explanations"]] == [0, 1]


def test_check_strict_finds_an_unknown_rule_column_before_any_row_is_explained(tmp_path, small_table):
    # the model fails on its first call: --strict must stop the run before that
    _, data = small_table
    model = tmp_path / "boom.joblib"
    joblib.dump(BoomModel(), model)
    args = ["check", "-m", model, "-d", data, "-t", "y", "--row", 0, *FAST, "--import-path", TESTS_DIR]
    args += ["--forbid", "X1", "--report", tmp_path / "r.json"]
    line = check_error(tmp_path, [*args, "--strict"], "--forbid names column 'X1'", output=False)
    assert "(did you mean 'x1'?)" in line and "boom" not in line
    assert not (tmp_path / "r.json").exists()
    # without --strict: a warning; no rule needs an explanation, so the model is never called
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    warning, skipped = result.stderr.splitlines()[:2]
    assert warning.startswith("Warning: --forbid names column 'X1'") and "(did you mean 'x1'?)" in warning
    assert skipped.startswith("no rule needs an explanation") and "boom" not in result.stderr
    assert (tmp_path / "r.json").exists()


@pytest.mark.parametrize("command", ["explain", "check", "fit"])
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "no" / "such" / "folder", "folder does not exist"),
        (lambda d: d / "small.csv", "is a file, not a folder"),
    ],
    ids=["missing", "file"],
)
def test_import_path_that_is_not_a_folder(tmp_path, cancer_files, small_table, command, make, message):
    model, data = cancer_files
    bad = make(tmp_path)
    written = tmp_path / "out" / "written.json"
    written.parent.mkdir()
    args = {
        "explain": ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, *FAST, "-o", written],
        "check": [
            "check",
            "-m",
            model,
            "-d",
            data,
            "-t",
            "target",
            "--row",
            0,
            *FAST,
            "--forbid",
            "mean area",
        ]
        + ["--max-share", 1, "--report", written],
        "fit": ["fit", "-m", model, "-d", data, "-t", "target", "--out", written],
    }[command]
    good = invoke([*args, "--import-path", TESTS_DIR])  # a folder is fine
    assert good.exit_code == 0, good.stderr
    assert written.exists()
    written.unlink()
    line = check_error(tmp_path, [*args, "--import-path", TESTS_DIR, "--import-path", bad], output=False)
    assert line == f"Error: --import-path {bad}: {message}"
    assert not written.exists()


# -- the data file ---------------------------------------------------------------------------------


def test_missing_data_file(tmp_path, cancer_files):
    model, _ = cancer_files
    missing = tmp_path / "nope.csv"
    line = check_error(tmp_path, ["explain", "-m", model, "-d", missing, "--row", 0], str(missing))
    assert "does not exist" in line


def test_unknown_data_extension(tmp_path, cancer_files):
    model, data = cancer_files
    renamed = tmp_path / "train.xlsx"
    renamed.write_bytes(data.read_bytes())
    line = check_error(tmp_path, ["explain", "-m", model, "-d", renamed, "--row", 0], str(renamed))
    assert "'.xlsx'" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"mean radius,target\n", "has no rows")],
    ids=["zero-bytes", "header-only"],
)
def test_empty_csv(tmp_path, cancer_files, content, message):
    model, _ = cancer_files
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    line = check_error(tmp_path, ["explain", "-m", model, "-d", path, "--row", 0], str(path))
    assert message in line


# -- columns, rows and labels ----------------------------------------------------------------------


def test_target_not_a_column(tmp_path, cancer_files):
    model, data = cancer_files
    line = check_error(
        tmp_path, ["explain", "-m", model, "-d", data, "-t", "no_such_col", "--row", 0], "no_such_col"
    )
    assert "--target" in line


def test_categorical_not_a_column(tmp_path, cancer_files):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--categorical", "colour", "--row", 0]
    line = check_error(tmp_path, args, "'colour'")
    assert "--categorical" in line


def test_data_lacks_a_column_the_model_needs(tmp_path, cancer_files):
    model, data = cancer_files
    thin = tmp_path / "thin.csv"
    pd.read_csv(data).drop(columns=["mean texture"]).to_csv(thin, index=False)
    check_error(tmp_path, ["explain", "-m", model, "-d", thin, "-t", "target", "--row", 0], "'mean texture'")


def test_rows_file_with_a_word_in_a_numeric_column(tmp_path, cancer_files):
    # found in the whole file before any chunk is explained: the line names the file, the
    # column, the value and the row (as the output's `row`), whatever the batch size
    model, data = cancer_files
    rows = pd.read_csv(data).drop(columns=["target"])
    rows["mean area"] = rows["mean area"].astype(object)
    rows.loc[300, "mean area"] = "n/a?"
    rows.loc[410, "mean area"] = "abc"
    bad = tmp_path / "bad rows.csv"
    rows.to_csv(bad, index=False)
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--rows", bad, "--batch-size", 50, *FAST]
    line = check_error(tmp_path, args, f"rows file {bad}", "'mean area'", "'n/a?'", "row 300", fmt="jsonl")
    assert "(and 1 more row);" in line
    args = ["check", "-m", model, "-d", data, "-t", "target", "--rows", bad, "--forbid", "mean area", *FAST]
    check_error(tmp_path, args, f"rows file {bad}", "'mean area'", "row 300", output=False)


def test_explained_rows_name_the_row_position_api(cancer):
    model, X, _ = cancer
    rows = X.iloc[:5].astype({"mean area": object})
    rows.iloc[3, rows.columns.get_loc("mean area")] = "abc"
    with pytest.raises(DataError, match=r"'mean area'.*'abc'.*in row 103;"):
        Explainer(model, X, num_samples=200).explain(rows, positions=range(100, 105))


def test_empty_string_in_a_numeric_column_is_missing_api(cancer):
    # as pandas reads it from CSV; a Parquet file or a frame can hold the string itself
    model, X, _ = cancer
    rows = X.iloc[:3].astype({"mean area": "str"})
    rows.iloc[1, rows.columns.get_loc("mean area")] = ""
    exps = Explainer(model, X, num_samples=200).explain(rows)
    assert [e.row for e in exps] == [0, 1, 2]


def _numbers_with(words, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    values = pd.Series(np.round(rng.normal(200, 40, n), 1).astype(str), dtype=object)
    values.iloc[np.arange(len(words)) * (n // len(words))] = words
    return values


@pytest.mark.parametrize(
    "column,warns",
    [
        (_numbers_with(["?"] * 50), True),  # '?' for missing, 5% of the rows: numbers otherwise
        (_numbers_with(["n/a", "abc"]), True),
        (pd.Series(["0", "1", "2", "3", "4", "5+"] * 100, dtype=object), False),  # few numbers
        (_numbers_with(["x", "y", "z"]), False),  # three distinct words: text
        (_numbers_with(["?"] * 50).astype("category"), False),  # declared categorical by its dtype
        (pd.Series(["red", "green", "blue"] * 100), False),
    ],
)
def test_warning_for_a_numeric_text_column(column, warns):
    import warnings

    from lime_cli.tabular import TrainingStats

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = TrainingStats.from_frame(pd.DataFrame({"chol": column}))
    assert stats.columns[0].kind == "categorical"
    messages = [str(w.message) for w in caught]
    assert bool(messages) == warns, messages
    if warns:
        assert messages[0].startswith("column 'chol' of the training data is treated as categorical")


def test_training_column_with_a_stray_word_warns(tmp_path, cancer_files):
    # the column is read as text, so it is treated as categorical: say so, and why
    model, data = cancer_files
    train = pd.read_csv(data)
    train["mean area"] = train["mean area"].astype(object)
    train.loc[7, "mean area"] = "abc"
    path = tmp_path / "train.csv"
    train.to_csv(path, index=False)
    result = invoke(["explain", "-m", model, "-d", path, "-t", "target", "--row", 0, "-f", "jsonl", *FAST])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["row"] == 0
    (line,) = result.stderr.splitlines()
    assert line.startswith("Warning: column 'mean area' of the training data is treated as categorical")
    assert "1 of its 569 values is not a number (first 'abc', row 7)" in line
    assert "--categorical 'mean area'" in line
    # declared categorical, or a real text column: no warning
    declared = ["--categorical", "mean area"]
    result = invoke(
        ["explain", "-m", model, "-d", path, "-t", "target", "--row", 0, "-f", "jsonl", *FAST, *declared]
    )
    assert result.exit_code == 0 and result.stderr == ""


@pytest.mark.parametrize("row", [10_000, -1])
def test_row_out_of_range(tmp_path, cancer_files, row):
    model, data = cancer_files
    line = check_error(
        tmp_path, ["explain", "-m", model, "-d", data, "-t", "target", "--row", row], f"--row {row}"
    )
    assert "out of range" in line and "569 rows" in line and str(data) in line


def test_label_not_a_class(tmp_path, cancer_files):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "--label", "7", *FAST]
    line = check_error(tmp_path, args, "--label '7'")
    assert "classes: 0, 1" in line


def test_classification_mode_on_a_regressor(tmp_path, small_table):
    frame, data = small_table
    model = tmp_path / "linreg.joblib"
    joblib.dump(LinearRegression().fit(frame[["x0", "x1", "x2"]], frame["x1"]), model)
    args = ["explain", "-m", model, "-d", data, "-t", "y", "--row", 0, "--mode", "classification", *FAST]
    line = check_error(tmp_path, args, "LinearRegression", "predict_proba")
    assert "--mode regression" in line
    ok = invoke(["explain", "-m", model, "-d", data, "-t", "y", "--row", 0, "--mode", "regression", *FAST])
    assert ok.exit_code == 0, ok.stderr


def test_model_whose_predict_proba_raises_api(small_table):
    frame, _ = small_table
    explainer = Explainer(BoomModel(), frame, target="y", num_samples=300)
    with pytest.raises(ModelError, match="predict_proba failed: boom"):
        explainer.explain(frame.iloc[:1])


def test_model_whose_predict_proba_raises_cli(tmp_path, small_table):
    _, data = small_table
    model = tmp_path / "boom.joblib"
    joblib.dump(BoomModel(), model)
    args = ["explain", "-m", model, "-d", data, "-t", "y", "--row", 0, *FAST, "--import-path", TESTS_DIR]
    line = check_error(tmp_path, args, "boom")
    assert "predict_proba" in line


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--num-samples", "--num-samples must be an integer >= 2"),
        ("--num-features", "--num-features must be"),
    ],
    ids=["num-samples", "num-features"],
)
def test_zero_counts(tmp_path, cancer_files, option, message):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, *FAST, option, 0]
    line = check_error(tmp_path, args, message)
    assert line.endswith("not 0")


def test_parquet_needs_output(tmp_path, cancer_files):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "--format", "parquet", *FAST]
    check_error(tmp_path, args, "--format parquet", "--output", output=False)


def test_unknown_format(tmp_path, cancer_files):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "--format", "xml", *FAST]
    check_error(tmp_path, args, "--format", "'xml'", fmt=None)
    check_error(tmp_path, args, "--format", "'xml'", output=False)


def test_neither_row_nor_rows(tmp_path, cancer_files):
    model, data = cancer_files
    check_error(tmp_path, ["explain", "-m", model, "-d", data, "-t", "target", *FAST], "--row", "--rows")


def test_rows_file_lacks_a_needed_column(tmp_path, cancer_files):
    model, data = cancer_files
    rows = tmp_path / "rows.csv"
    pd.read_csv(data).head(3).drop(columns=["target", "worst area"]).to_csv(rows, index=False)
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--rows", rows, *FAST]
    check_error(tmp_path, args, "'worst area'")


def test_unknown_option(tmp_path, cancer_files):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "--bogus"]
    check_error(tmp_path, args, "--bogus")


def test_no_arguments_gives_help_without_an_empty_error_line():
    result = invoke([])
    assert "Usage" in result.stdout
    assert result.stderr.strip() not in ("Error:", "Error: ")


# -- failure in the middle of a run ----------------------------------------------------------------


def test_failure_in_a_later_chunk_leaves_no_output(tmp_path, small_table):
    _, data = small_table
    model = tmp_path / "flaky.joblib"
    joblib.dump(FailsOnSecondCall(), model)
    base = [
        "explain",
        "-m",
        model,
        "-d",
        data,
        "-t",
        "y",
        *FAST,
        "--import-path",
        TESTS_DIR,
        "--batch-size",
        1,
    ]

    # one row is fine: the model answers its first call
    one = invoke([*base, "--row", 0, "--format", "jsonl"])
    assert one.exit_code == 0, one.stderr
    assert len(one.stdout.splitlines()) == 1

    base += ["--row", 0, "--row", 1]
    out = tmp_path / "out.jsonl"
    result = invoke([*base, "--format", "jsonl", "--output", out])
    assert_one_error_line(result, "second call fails")
    assert not out.exists()
    assert leftovers(tmp_path, out.name) == []

    out.write_bytes(OLD_BYTES)
    result = invoke([*base, "--format", "jsonl", "--output", out])
    assert_one_error_line(result, "second call fails")
    assert out.read_bytes() == OLD_BYTES
    assert leftovers(tmp_path, out.name) == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--sampling", "halton", "--sampling must be one of sobol, random, not 'halton'"),
        ("--locality", "1.5", "--locality must be in [0, 1), not 1.5"),
    ],
    ids=["sampling", "locality"],
)
def test_method_settings_out_of_range(tmp_path, cancer_files, option, value, message):
    model, data = cancer_files
    args = ["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, *FAST, option, value]
    check_error(tmp_path, args, message)


# -- what the model answers is checked, not trusted ----------------------------------------------


@pytest.mark.parametrize(
    "model, message",
    [
        (ThreeColumns(), "predict_proba returned 3 columns for its 2 classes (0, 1)"),
        (Scores(), "which is not a probability"),
        (AboveOne(), "predict_proba returned -0.5, which is not a probability"),
        (NotSummingToOne(), "probabilities that do not sum to 1 (a row sums to 0.5)"),
        (OneValuePerRow(), "shape (2,); expected (rows, classes) (one value per row: is it a regressor?"),
        (ReturnsNone(), "predict_proba returned None, not one prediction per sample"),
        (Ragged(), "predict_proba returned a list of list, not numbers"),
        (TooFewRows(), "predict_proba returned 1 predictions for 2 samples"),
        (WordsForNumbers(), "predict returned an array of dtype <U4, not numbers"),
        (TwoColumnRegressor(), "predict returned shape (2, 2); regression needs one value per row"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else "",
)
@pytest.mark.parametrize("extra", [[], ["--top-labels", 2]], ids=["", "top-labels"])
def test_model_output_that_is_not_what_lime_needs(tmp_path, small_table, model, message, extra):
    _, data = small_table
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    if extra and not hasattr(model, "predict_proba"):
        extra = []  # --top-labels is a usage error for a regressor
    args = ["explain", "-m", path, "-d", data, "-t", "y", "--row", 0, "--row", 1, *FAST, *extra]
    line = check_error(tmp_path, [*args, "--import-path", TESTS_DIR], f"model file {path}: ", message)
    # before any output: nothing on stdout either
    assert_one_error_line(invoke([*args, "--import-path", TESTS_DIR, "-f", "jsonl"]), message)
    assert "the model's" not in line


def test_model_output_is_checked_in_every_chunk_api(small_table):
    frame, _ = small_table
    X = frame[["x0", "x1", "x2"]]

    class GoesBad:
        calls = 0

        def predict_proba(self, X):
            GoesBad.calls += 1
            p = np.full((len(X), 2), 0.5)
            return p * 3 if GoesBad.calls > 2 else p

    chunks = Explainer(GoesBad(), X, num_samples=50, batch_size=1).iter_explain(X.iloc[:3])
    assert len(next(chunks)) == 1
    with pytest.raises(ModelError, match="not a probability"):
        next(chunks)
