"""The tabular front-end: rows of a table, explained through conditions on their columns.

An instance is a row; its interpretable features are its columns, each 1 where
a sample falls in the row's bin or category (the standardized value for a
continuous column).  Samples are drawn from the training statistics
(:mod:`.sampling`) and reach the model as a DataFrame with the training
columns, order and dtypes (a float array for a model fitted on one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..core import streams
from ..core.frontend import FrontEnd, Samples
from ..errors import DataError
from .native import model_categories, with_model_categories
from .sampling import Layout, model_input, perturb, release_workspace
from .stats import TrainingStats, _category_key, check_single_values, fit_training_stats, not_numbers


@dataclass
class TabularInstances:
    """A chunk of rows, encoded: bin and category codes and numeric values."""

    frame: pd.DataFrame  # the rows' feature columns, as given
    values: np.ndarray  # the same as an object array (B, features)
    codes: np.ndarray  # (B, n_discrete) int64: codes of the discrete columns, -1 for an unseen category
    binned: np.ndarray  # (B, n_binned) float64
    cont: np.ndarray  # (B, n_continuous) float64
    keys: np.ndarray  # (B, KEY_WORDS) uint32

    def __len__(self) -> int:
        return len(self.frame)

    def take(self, index: np.ndarray) -> TabularInstances:
        return TabularInstances(
            self.frame.iloc[index],
            *(a[index] for a in (self.values, self.codes, self.binned, self.cont, self.keys)),
        )


class TabularFrontEnd(FrontEnd):
    """Rows of a table, explained with the statistics of its training data."""

    def __init__(self, stats: TrainingStats, *, as_array: bool = False) -> None:
        self.stats = stats
        self.layout = Layout.from_stats(stats)
        self.as_array = as_array  # the model was fitted on an array: give it float arrays
        self.feature_names = stats.feature_names
        self.n_features = len(self.feature_names)

    @classmethod
    def for_model(
        cls,
        model,
        data: pd.DataFrame | None = None,
        *,
        stats: TrainingStats | None = None,
        target: str | None = None,
        categorical: Sequence[str] = (),
        discretizer: str = "quartile",
        regression: bool = False,
        seed: int = 0,
        exclude: Sequence[str] = (),
    ) -> TabularFrontEnd:
        """The front-end for ``model``: statistics fitted on ``data`` (the model's features, see
        :func:`feature_columns`, but ``exclude``: text columns), or saved ones (``stats``, which
        must be the model's features)."""
        if stats is not None:
            names = getattr(model, "feature_names_in_", None)
            texts = set(exclude)
            if names is not None and [str(n) for n in names if str(n) not in texts] != stats.feature_names:
                raise DataError("the explainer file's columns are not the model's features")
            wanted = model_categories(model, stats.feature_names)
        elif data is None:
            raise DataError("give the training data ({data}) or saved training statistics ({stats})")
        else:
            if target is not None and target not in data.columns:
                raise DataError(f"{{target}} column {target!r} is not a column of the data")
            features = [c for c in feature_columns(model, data, target) if c not in set(exclude)]
            wanted = model_categories(model, features)  # native categoricals: categories, always
            stats = fit_training_stats(
                data,
                features=features,
                target=target,
                categorical=[*categorical, *(c for c in wanted if c not in categorical)],
                discretizer=discretizer,
                regression=regression,
                seed=seed,
                allow_empty=bool(exclude),  # a table whose only features are text columns
            )
        stats = with_model_categories(stats, wanted)
        if list(exclude) != stats.text:
            stats = replace(stats, text=list(exclude))
        as_array = hasattr(model, "n_features_in_") and not hasattr(model, "feature_names_in_")
        return cls(stats, as_array=as_array)

    # -- the seam --------------------------------------------------------------------------

    def prepare(self, rows: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
        missing = [c for c in self.feature_names if c not in rows.columns]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DataError(f"the explained rows lack column(s) the model needs: {shown}{more}")
        features = rows[self.feature_names]
        check_single_values(features)
        _check_numbers(features, positions, self.stats)
        return features

    def rows(self, prepared: pd.DataFrame, start: int, stop: int) -> pd.DataFrame:
        return prepared.iloc[start:stop]

    def encode(self, rows: pd.DataFrame) -> TabularInstances:
        cols, lay = self.stats.columns, self.layout
        nb = lay.n_binned
        numeric_pos = np.concatenate([lay.discrete[:nb], lay.continuous])
        try:  # one conversion for every numeric column of the chunk
            block = rows.iloc[:, numeric_pos].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            block = np.column_stack([cols[i].numeric(rows.iloc[:, i]) for i in numeric_pos])
        block = block.reshape(len(rows), len(numeric_pos))
        binned, cont = block[:, :nb], block[:, nb:]
        codes = np.empty((len(rows), len(lay.discrete)), dtype=np.int64)
        for j, i in enumerate(lay.discrete):
            c = cols[i]
            codes[:, j] = c.encode_numeric(binned[:, j]) if j < nb else c.encode(rows.iloc[:, i])
        unseen = {}  # categories the training data lacks: hashed by their value
        for b, j in zip(*np.nonzero(codes < 0), strict=True):
            unseen[int(b), int(j)] = _category_key(rows.iloc[int(b), int(lay.discrete[j])])
        keys = streams.row_keys(codes, np.hstack([binned, cont]), unseen)
        return TabularInstances(rows, rows.to_numpy(dtype=object), codes, binned, cont, keys)

    def sample(self, instances: TabularInstances, rngs, num_samples, settings, threads) -> Samples:
        i = instances
        pert = perturb(
            self.layout,
            i.codes,
            i.binned,
            i.cont,
            rngs,
            num_samples,
            settings.locality,
            threads,
            settings.sampling,
        )
        return Samples(Z=pert.Z, binary=len(self.layout.discrete), data=pert)

    def model_input(self, instances: TabularInstances, samples: Samples, threads: int = 1):
        return model_input(self.stats, self.layout, samples.data, self.as_array, instances=instances.frame)

    def describe(self, instances: TabularInstances, b: int, j: int) -> tuple[str, str, object]:
        i = int(self.layout.order[j])  # Z holds the discrete columns first, then the continuous ones
        c, v = self.stats.columns[i], instances.values[b, i]
        code = int(instances.codes[b, j]) if j < len(self.layout.discrete) else -1
        return c.name, c.condition(code, v), _json_value(v)

    def release(self) -> None:
        release_workspace()


def feature_columns(model, data: pd.DataFrame, target: str | None = None) -> list[str]:
    """The model's feature columns of ``data``: ``feature_names_in_`` (anything fitted on a
    DataFrame), in that order; otherwise every column but ``target``."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        if target is not None and target in names:
            raise DataError(f"{{target}} column {target!r} is one of the model's features")
        missing = [n for n in names if n not in data.columns]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:5])
            raise DataError(f"the data lacks column(s) the model needs: {shown}")
        return names
    cols = [c for c in data.columns if c != target]
    n_in = getattr(model, "n_features_in_", None)
    if n_in is not None and int(n_in) != len(cols):
        raise DataError(
            f"the model expects {int(n_in)} features but the data has {len(cols)} columns"
            + (" besides the target" if target is not None else " (name the label with {target})")
        )
    return [str(c) for c in cols]


def _check_numbers(features: pd.DataFrame, positions: np.ndarray, stats: TrainingStats) -> None:
    """A DataError naming the first row whose value is not a number in a numeric column.

    Numeric columns read from text (a CSV column with a stray word) are the
    only ones checked: a column of a numeric dtype holds numbers.
    """
    for j, c in enumerate(stats.columns):
        values = features.iloc[:, j]
        if c.kind == "categorical" or pd.api.types.is_numeric_dtype(values.dtype):
            continue
        # an empty string is missing, as pandas reads it
        bad = np.flatnonzero(not_numbers(values) & (values != "").to_numpy())
        if len(bad):
            more = {0: "", 1: " (and 1 more row)"}.get(len(bad) - 1, f" (and {len(bad) - 1} more rows)")
            raise DataError(
                f"column {c.name!r} has a value that is not a number, {values.iloc[bad[0]]!r}, "
                f"in row {positions[bad[0]]}{more}; the training data has numbers there"
            )


def _json_value(v: object) -> object:
    """A value of the row as JSON can hold it: None if missing."""
    if isinstance(v, np.generic):
        v = v.item()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)
