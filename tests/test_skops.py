"""Models saved with skops: no code runs at load, and types are checked before.

A ``.skops`` model gives the same explanations as the same model saved with joblib; a type that is
not trusted by default is refused with one ``Error:`` line listing it and the ``--trust`` flags that
load it after review.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import textwrap
import uuid
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from custom_types import Centre
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from test_cli_errors import check_error, invoke, restore_import_state  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = Path(__file__).resolve().parent
SAMPLE_SKOPS = ROOT / "sample_models" / "breast_cancer_rf.skops"
SAMPLE_JOBLIB = ROOT / "sample_models" / "breast_cancer_rf.joblib"
CANCER = ROOT / "sample_data" / "breast_cancer.csv"
TREE = "sklearn.tree._tree.Tree"
FAST = ["--num-samples", "300"]


def fails(tmp_path, args, *expected: str, **kwargs) -> str:
    """``check_error`` in a folder of its own: one test may check several failures."""
    return check_error(Path(tempfile.mkdtemp(dir=tmp_path)), args, *expected, **kwargs)


def run_ok(args) -> str:
    result = invoke(args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


# -- the bundled sample ------------------------------------------------------------------------------


def test_sample_skops_is_small_and_the_same_forest():
    assert SAMPLE_SKOPS.stat().st_size < 1024 * 1024
    assert skops.io.get_untrusted_types(file=SAMPLE_SKOPS) == [TREE]
    forest = skops.io.load(SAMPLE_SKOPS, trusted=[TREE])
    X = pd.read_csv(CANCER).drop(columns=["target"])
    np.testing.assert_array_equal(forest.predict_proba(X), joblib.load(SAMPLE_JOBLIB).predict_proba(X))


def test_skops_sample_explains_as_the_joblib_one(tmp_path):
    base = ["-d", CANCER, "-t", "target", "--row", 0, "--row", 7, "--row", 300, *FAST, "-f", "json"]
    expected = run_ok(["explain", "-m", SAMPLE_JOBLIB, *base])
    assert len(json.loads(expected)["explanations"]) == 3
    assert run_ok(["explain", "-m", SAMPLE_SKOPS, "--trust", TREE, *base]) == expected
    # lime fit and lime check take --trust as well, with the same results
    saved, reports = {}, {}
    for name, model, trust in (("joblib", SAMPLE_JOBLIB, []), ("skops", SAMPLE_SKOPS, ["--trust", TREE])):
        saved[name] = tmp_path / f"{name}.json"
        fit = invoke(["fit", "-m", model, *trust, "-d", CANCER, "-t", "target", "--out", saved[name]])
        assert fit.exit_code == 0, fit.stderr
        reports[name] = tmp_path / f"{name}-report.json"
        check = invoke(
            ["check", "-m", model, *trust, "--explainer", saved[name], "--rows", CANCER, "--row", 0]
            + ["--row", 1, "--forbid", "worst area", "--top-k", 2, *FAST, "--report", reports[name]]
        )
        assert check.exit_code in (0, 1), check.stderr  # the rule's verdict, not an error
    fitted = {name: json.loads(path.read_text()) for name, path in saved.items()}
    for doc in fitted.values():
        del doc["created"]  # the time it was written
    assert fitted["skops"] == fitted["joblib"]
    assert json.loads(reports["skops"].read_text()) == json.loads(reports["joblib"].read_text())


def test_forest_is_refused_without_trust(tmp_path):
    args = ["explain", "-m", SAMPLE_SKOPS, "-d", CANCER, "-t", "target", "--row", 0, *FAST]
    line = fails(tmp_path, args)
    assert line == (
        f"Error: model file {SAMPLE_SKOPS} holds types that are not trusted by default: {TREE} "
        "(tree nodes are not bounds-checked: a crafted file can crash the process); "
        f"review them, then pass --trust {TREE}"
    )
    fails(tmp_path, ["check", *args[1:], "--forbid", "mean radius"], f"--trust {TREE}", output=False)
    out = tmp_path / "e.json"
    fails(tmp_path, ["fit", "-m", SAMPLE_SKOPS, "-d", CANCER, "--out", out], f"--trust {TREE}", output=False)
    assert not out.exists()


def test_pipeline_needs_no_trust(tmp_path, mixed_files):
    # its only type outside skops' defaults is numpy.dtype, which lime-cli trusts
    model, data = mixed_files
    path = tmp_path / "pipe.skops"
    skops.io.dump(joblib.load(model), path)
    assert skops.io.get_untrusted_types(file=path) == ["numpy.dtype"]
    base = ["-d", data, "-t", "progression", "--row", 0, "--row", 3, *FAST, "-f", "json"]
    assert run_ok(["explain", "-m", path, *base]) == run_ok(["explain", "-m", model, *base])


# -- a model holding the user's own class ----------------------------------------------------------------


@pytest.fixture
def centred(tmp_path):
    """(model.skops, model.joblib, train.csv): a pipeline of custom_types.Centre and a logistic regression."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((60, 3)), columns=["x0", "x1", "x2"])
    frame["y"] = (frame["x0"] - frame["x2"] > 0).astype(int)
    model = make_pipeline(Centre(), LogisticRegression()).fit(frame[["x0", "x1", "x2"]], frame["y"])
    skops.io.dump(model, tmp_path / "centred.skops")
    joblib.dump(model, tmp_path / "centred.joblib")
    frame.to_csv(tmp_path / "train.csv", index=False)
    return tmp_path / "centred.skops", tmp_path / "centred.joblib", tmp_path / "train.csv"


def test_custom_type_is_refused(tmp_path, centred):
    model, _, data = centred
    args = ["explain", "-m", model, "-d", data, "-t", "y", "--row", 0, *FAST, "--import-path", TESTS_DIR]
    line = fails(tmp_path, args)
    assert line == (
        f"Error: model file {model} holds types that are not trusted by default: custom_types.Centre; "
        "review them, then pass --trust custom_types.Centre"
    )
    # trusting another type is not enough
    fails(tmp_path, [*args, "--trust", "custom_types.Other"], "not trusted by default: custom_types.Centre;")


def test_trust_loads_the_custom_type(centred):
    model, same_joblib, data = centred
    base = ["-d", data, "-t", "y", "--row", 0, "--row", 1, *FAST, "-f", "json", "--import-path", TESTS_DIR]
    expected = run_ok(["explain", "-m", same_joblib, *base])
    assert run_ok(["explain", "-m", model, "--trust", "custom_types.Centre", *base]) == expected


def test_trusted_type_whose_module_is_missing(tmp_path, restore_import_state, small_frame):  # noqa: F811
    name = f"lime_skops_{uuid.uuid4().hex[:12]}"
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
        path = tmp_path / "custom.skops"
        skops.io.dump(importlib.import_module(name).Custom(), path)
    finally:
        sys.modules.pop(name, None)
        sys.path.remove(str(code_dir))
    args = ["explain", "-m", path, "-d", small_frame, "-t", "y", "--row", 0, *FAST]
    args += ["--trust", f"{name}.Custom"]
    line = fails(tmp_path, args, f"model file {path} refers to module {name!r}")
    assert line.endswith("(add its folder with --import-path)")
    run_ok([*args, "--import-path", code_dir, "-f", "json"])


@pytest.fixture
def small_frame(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((40, 3)), columns=["x0", "x1", "x2"])
    frame["y"] = (frame["x0"] > 0).astype(int)
    frame.to_csv(tmp_path / "small.csv", index=False)
    return tmp_path / "small.csv"


# -- files that are not skops models ------------------------------------------------------------------


def test_files_that_are_not_skops_models(tmp_path):
    random_bytes = tmp_path / "random.skops"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(512))
    other_zip = tmp_path / "other.skops"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("notes.txt", "not a model")
    for path in (random_bytes, other_zip):
        args = ["explain", "-m", path, "-d", CANCER, "-t", "target", "--row", 0, *FAST]
        fails(tmp_path, args, f"Error: model file {path} is not a skops file (")
    # a skops file of something that is not a model
    plain = tmp_path / "dict.skops"
    skops.io.dump({"weights": [1, 2]}, plain)
    args = ["explain", "-m", plain, "-d", CANCER, "-t", "target", "--row", 0, *FAST]
    fails(tmp_path, args, f"Error: model file {plain} holds a dict, which has neither predict_proba")


def test_trust_is_for_skops_files_only(tmp_path):
    args = ["explain", "-m", SAMPLE_JOBLIB, "-d", CANCER, "-t", "target", "--row", 0, "--trust", TREE, *FAST]
    line = fails(tmp_path, args, "--trust applies to .skops model files", str(SAMPLE_JOBLIB))
    assert "code runs when it is loaded" in line
    args = ["fit", "-d", CANCER, "--out", tmp_path / "e.json", "--trust", TREE]
    fails(tmp_path, args, "Error: --trust applies to the types of a .skops --model", output=False)
