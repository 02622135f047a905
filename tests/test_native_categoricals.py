"""Models with native categorical support (LightGBM, XGBoost) explained from a CSV of strings.

Such a model was fitted on pandas ``category`` columns and refuses strings; the
samples and the explained rows must reach it as categories built from the
model (or the training data), whatever the training table's file format.
"""

from __future__ import annotations

import json
import warnings

import joblib
import lightgbm  # both are dev dependencies
import numpy as np
import pandas as pd
import pytest
import xgboost
from typer.testing import CliRunner

from lime_cli import Explainer
from lime_cli.cli import app
from lime_cli.tabular.native import model_categories


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def planted(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A frame as a CSV gives it (strings and integers), and labels that are 1 exactly where
    color is red and size is 3: the planted features are `color` and `size`."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.standard_normal(n),
            "color": rng.choice(["red", "green", "blue"], n),
            "b": rng.standard_normal(n),
            "size": rng.choice([1, 2, 3], n),
        }
    )
    y = ((frame["color"] == "red") & (frame["size"] == 3)).to_numpy().astype(int)
    return frame, y


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"color": "category", "size": "category"})


def lgbm(frame, y):
    return lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(as_categories(frame), y)


def xgbm(frame, y):
    return xgboost.XGBClassifier(n_estimators=40, enable_categorical=True, tree_method="hist").fit(
        as_categories(frame), y
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    frame, y = planted()
    d = tmp_path_factory.mktemp("native")
    frame.assign(label=y).to_csv(d / "train.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fit in (("lgbm", lgbm), ("xgb", xgbm)):
            joblib.dump(fit(frame, y), d / f"{name}.joblib")
    return d, frame, y


@pytest.mark.parametrize("name", ["lgbm", "xgb"])
def test_the_model_refuses_strings_that_lime_cli_turns_into_its_categories(files, name):
    d, frame, y = files
    model = joblib.load(d / f"{name}.joblib")
    with pytest.raises(Exception):  # noqa: B017 - what the user hit: the model's own message
        model.predict_proba(frame.iloc[:2])
    row = int(np.flatnonzero(y == 1)[0])
    res = invoke(["explain", "-m", d / f"{name}.joblib", "-d", d / "train.csv", "-t", "label",
                  "--row", row, "-k", 4, "-f", "json"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    e = json.loads(res.stdout)["explanations"][0]
    # the row's prediction is the model's on the row as a frame of categories
    expected = model.predict_proba(as_categories(frame).iloc[[row]])[0, 1]
    assert e["label"] == "1" and e["model_prediction"] == pytest.approx(expected, abs=1e-6)
    top = [f["feature"] for f in e["features"][:2]]
    assert sorted(top) == ["color", "size"]  # the planted features lead
    assert e["features"][0]["condition"] in ("color = red", "size = 3")


def test_categories_come_from_the_model():
    frame, y = planted(400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found_l = model_categories(lgbm(frame, y), list(frame.columns))
        found_x = model_categories(xgbm(frame, y), list(frame.columns))
    assert found_l == {"color": ["blue", "green", "red"], "size": [1, 2, 3]}
    assert set(found_x) == {"color", "size"}
    # XGBoost >= 3.1 keeps its categories; an older one leaves them to the training data (None)
    assert found_x["color"] in (["blue", "green", "red"], None)


def test_a_pipeline_ending_in_a_native_model_and_the_python_api(files):
    """The Python API too; a Pipeline whose last step takes the columns by name."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    _, frame, y = files
    keep = [("keep", "passthrough", list(frame.columns))]
    select = ColumnTransformer(keep, verbose_feature_names_out=False)
    pipe = Pipeline([("select", select.set_output(transform="pandas")), ("model", lgbm(frame, y))])
    pipe.fit(as_categories(frame), y)
    row = int(np.flatnonzero(y == 1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = Explainer(pipe, frame, num_samples=2000, num_features=4).explain(frame.iloc[[row]])[0]
    assert sorted(f.feature for f in e.features[:2]) == ["color", "size"]
    assert e.model_prediction == pytest.approx(pipe.predict_proba(as_categories(frame).iloc[[row]])[0, 1])


def test_an_explainer_file_fitted_with_the_model_keeps_the_categories(files, tmp_path):
    d, frame, y = files
    out = tmp_path / "explainer.json"
    res = invoke(["fit", "-d", d / "train.csv", "-t", "label", "-m", d / "lgbm.joblib", "-o", out])
    assert res.exit_code == 0, res.stderr
    cols = {c["name"]: c for c in json.loads(out.read_text())["columns"]}
    assert cols["size"]["kind"] == "categorical" and cols["size"]["dtype"] == "category"
    row = int(np.flatnonzero(y == 1)[0])
    common = ["explain", "-m", d / "lgbm.joblib", "--rows", d / "train.csv", "--row", row, "-f", "json"]
    with_file = invoke(common[:3] + ["--explainer", out] + common[3:])
    with_data = invoke(common[:3] + ["-d", d / "train.csv", "-t", "label"] + common[3:])
    assert with_file.exit_code == 0, with_file.stderr
    assert with_file.stdout == with_data.stdout


def test_training_values_the_model_never_saw_as_categories_are_reported(tmp_path):
    """A model fitted on the text '1', '2', '3' and a CSV of numbers: the model would see every
    size as missing, which is said once, naming the column."""
    frame, y = planted(600)
    fitted = frame.assign(size=frame["size"].astype(str))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lgbm(fitted, y)
    joblib.dump(model, tmp_path / "m.joblib")
    frame.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    res = invoke(["explain", "-m", tmp_path / "m.joblib", "-d", tmp_path / "train.csv", "-t", "label",
                  "--row", 0, "-f", "json"])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "column 'size': 100% of its training values (first 1) are not among the model's categories" in (
        res.stderr
    )
