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
