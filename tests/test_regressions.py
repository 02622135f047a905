"""Cases found by an adversarial review, kept fixed."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import planted_table
from sklearn.linear_model import LogisticRegression

from lime_cli import Explainer, ModelError


def test_unseen_category_reaches_the_model_as_itself(mixed):
    model, frame = mixed
    row = frame.iloc[[0]].copy()
    row["sex"] = "other"  # not a training category
    (e,) = Explainer(model, frame, target="progression", num_samples=300).explain(row)
    expected = model.predict_proba(row[list(model.feature_names_in_)])[0]
    assert e.model_prediction == pytest.approx(expected.max())


def test_constant_columns_are_never_listed():
    X = planted_table(n=800, d=4, seed=9)
    X["const"] = 1.0
    model = LogisticRegression().fit(X, (X["x0"] > 0).astype(int))
    for preset in ("default", "lime"):
        exps = Explainer(model, X, num_features=5, num_samples=500, preset=preset).explain(X.iloc[:4])
        assert all("const" not in {f.feature for f in e.features} for e in exps)


def test_nan_predictions_are_a_model_error(cancer):
    model, X, _ = cancer

    class NaNModel:
        classes_ = model.classes_

        def predict_proba(self, frame):
            out = model.predict_proba(frame)
            out[-1] = np.nan
            return out

    with pytest.raises(ModelError, match="NaN"):
        Explainer(NaNModel(), X, num_samples=100).explain(X.iloc[:1])
