"""A user's own transformer, importable by the tests (the tests folder is on the import path).

A model holding it, saved with skops, has a type that neither skops nor lime-cli trusts by
default: loading it needs ``--trust custom_types.Centre``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Centre(TransformerMixin, BaseEstimator):
    """Subtracts the training mean of each column."""

    def fit(self, X, y=None):
        self.mean_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) - self.mean_


class PatchBrightness:
    """An image model for the CLI tests: p("bright") rises with the mean of the first channel
    inside a fixed patch (rows 8:20, columns 8:20) of an (N, H, W, C) batch; nothing else matters."""

    classes_ = np.array(["dark", "bright"])
    patch = (8, 20, 8, 20)

    def predict_proba(self, x):
        r0, r1, c0, c1 = self.patch
        m = np.asarray(x, dtype=float)[:, r0:r1, c0:c1, 0].mean(axis=(1, 2)) / 255
        p = 1 / (1 + np.exp(-8 * (m - 0.5)))
        return np.stack([1 - p, p], axis=1)
