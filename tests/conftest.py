"""Shared fixtures: small models and tables built from scikit-learn's bundled data."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from make_samples import mixed_diabetes, mixed_pipeline  # noqa: E402


@pytest.fixture(scope="session")
def cancer():
    """(model, X, y): a small random forest on breast cancer, fitted on a DataFrame."""
    bc = load_breast_cancer(as_frame=True)
    model = RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0).fit(bc.data, bc.target)
    return model, bc.data, bc.target


@pytest.fixture(scope="session")
def cancer_files(tmp_path_factory, cancer):
    """Paths (model.joblib, train.csv with a `target` column)."""
    model, X, y = cancer
    d = tmp_path_factory.mktemp("cancer")
    joblib.dump(model, d / "model.joblib")
    X.assign(target=y).to_csv(d / "train.csv", index=False)
    return d / "model.joblib", d / "train.csv"


@pytest.fixture(scope="session")
def mixed():
    """(pipeline, frame): a ColumnTransformer pipeline on strings and NaN; label `progression`."""
    frame = mixed_diabetes()
    return mixed_pipeline(frame), frame


@pytest.fixture(scope="session")
def mixed_files(tmp_path_factory, mixed):
    model, frame = mixed
    d = tmp_path_factory.mktemp("mixed")
    joblib.dump(model, d / "pipe.joblib")
    frame.to_csv(d / "mixed.csv", index=False)
    return d / "pipe.joblib", d / "mixed.csv"


@pytest.fixture(scope="session")
def diabetes():
    db = load_diabetes(as_frame=True)
    return db.data, db.target


def planted_table(n: int = 2000, d: int = 12, seed: int = 0) -> pd.DataFrame:
    """Independent standard normal features x0..x{d-1}."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_normal((n, d)), columns=[f"x{i}" for i in range(d)])
