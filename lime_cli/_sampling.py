"""Vectorized perturbation of a chunk of instances.

For a chunk of B instances and S samples each (the first sample being the
instance itself), :func:`perturb` draws every sample of every instance as a
few arrays of shape (B, S, ...):

* discrete columns (binned numeric and categorical) draw a code from the
  training frequencies; a binned column then draws its value inside the bin
  from a normal truncated to the bin, with the bin's training mean and
  standard deviation (as lime does), integers rounded into the bin;
* continuous columns (discretizer ``none``) draw ``mean + std * N(0, 1)``.

Each instance draws from its own generator, seeded from ``(seed, row
position)``, so its samples do not depend on the chunk it is in.

The interpretable representation ``Z`` is 1 where a discrete sample falls in
the instance's bin or category (0 elsewhere), and the standardized value for a
continuous column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ._tabular import TrainingStats


@dataclass
class Layout:
    """Index arrays that split the feature columns by kind, computed once."""

    discrete: np.ndarray  # feature positions of discrete columns
    binned: np.ndarray  # positions (within `discrete`) of binned columns
    continuous: np.ndarray  # feature positions of continuous columns
    cum: list[np.ndarray]  # cumulative code frequencies, per discrete column
    bin_params: np.ndarray  # (4, n_binned, max_bins): mean, std, lo, hi
    bin_int: np.ndarray  # (n_binned,) bool: integer dtype
    missing_code: np.ndarray  # (n_discrete,)
    cont_mean: np.ndarray
    cont_std: np.ndarray

    @classmethod
    def from_stats(cls, stats: TrainingStats) -> Layout:
        cols = stats.columns
        discrete = np.array([i for i, c in enumerate(cols) if c.is_discrete], dtype=np.intp)
        continuous = np.array([i for i, c in enumerate(cols) if not c.is_discrete], dtype=np.intp)
        binned = np.array([k for k, i in enumerate(discrete) if cols[i].kind == "binned"], dtype=np.intp)
        cum = []
        for i in discrete:
            c = np.cumsum(cols[i].freqs)
            c[-1] = 1.0 + 1e-12  # every uniform draw in [0, 1) finds a code
            cum.append(c)
        max_bins = max((len(cols[discrete[k]].bin_mean) for k in binned), default=1)
        params = np.zeros((4, len(binned), max_bins))
        for j, k in enumerate(binned):
            c = cols[discrete[k]]
            n = len(c.bin_mean)
            params[:, j, :n] = [c.bin_mean, c.bin_std, c.bin_lo, c.bin_hi]
        return cls(
            discrete=discrete,
            binned=binned,
            continuous=continuous,
            cum=cum,
            bin_params=params,
            bin_int=np.array([cols[discrete[k]].is_integer for k in binned], dtype=bool),
            missing_code=np.array([cols[i].missing_code for i in discrete], dtype=np.int64),
            cont_mean=np.array([cols[i].mean for i in continuous]),
            cont_std=np.array([cols[i].std for i in continuous]),
        )


@dataclass
class Perturbation:
    """The samples of a chunk: codes, numeric values and representation."""

    codes: np.ndarray  # (B, S, n_discrete) int64
    binned_values: np.ndarray  # (B, S, n_binned) float64
    cont_values: np.ndarray  # (B, S, n_continuous) float64
    Z: np.ndarray  # (B, S, n_features) float64


def perturb(
    layout: Layout,
    codes0: np.ndarray,
    binned0: np.ndarray,
    cont0: np.ndarray,
    rngs: list[np.random.Generator],
    num_samples: int,
) -> Perturbation:
    """Draw ``num_samples`` samples around each instance of a chunk.

    ``codes0`` (B, n_discrete), ``binned0`` (B, n_binned) and ``cont0``
    (B, n_continuous) describe the instances; ``rngs`` has one generator each.
    """
    B, S = len(rngs), num_samples
    nd, nb, nc = len(layout.discrete), len(layout.binned), len(layout.continuous)
    u_code = np.empty((B, S - 1, nd))
    u_val = np.empty((B, S - 1, nb))
    gauss = np.empty((B, S - 1, nc))
    for b, rng in enumerate(rngs):  # one draw per instance, vectorized over samples
        u_code[b] = rng.random((S - 1, nd))
        u_val[b] = rng.random((S - 1, nb))
        gauss[b] = rng.standard_normal((S - 1, nc))

    codes = np.empty((B, S, nd), dtype=np.int64)
    codes[:, 0] = codes0
    for j, cum in enumerate(layout.cum):
        codes[:, 1:, j] = np.searchsorted(cum, u_code[:, :, j], side="right")

    binned = np.empty((B, S, nb))
    binned[:, 0] = binned0
    if nb:
        binned[:, 1:] = _draw_in_bins(layout, codes[:, 1:, layout.binned], u_val)

    cont = np.empty((B, S, nc))
    cont[:, 0] = cont0
    cont[:, 1:] = layout.cont_mean + layout.cont_std * gauss

    Z = np.empty((B, S, nd + nc))
    Z[:, :, layout.discrete] = codes == codes0[:, None, :]
    Z[:, 0, layout.discrete] = 1.0
    if nc:
        scaled = (cont - layout.cont_mean) / layout.cont_std
        Z[:, :, layout.continuous] = np.nan_to_num(scaled, nan=0.0)
    return Perturbation(codes=codes, binned_values=binned, cont_values=cont, Z=Z)


def _draw_in_bins(layout: Layout, bins: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Values drawn from each bin's normal truncated to the bin (inverse CDF)."""
    missing = bins == layout.missing_code[layout.binned]
    k = np.where(missing, 0, bins)
    col = np.arange(len(layout.binned))
    mean, std, lo, hi = (p[col, k] for p in layout.bin_params)
    safe_std = np.where(std > 0, std, 1.0)
    pa = ndtr((lo - mean) / safe_std)
    pb = ndtr((hi - mean) / safe_std)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = mean + safe_std * ndtri(pa + u * (pb - pa))
    # degenerate bins (one value, or a bin far in a tail): uniform within the bin
    flat = ~(pb - pa > 1e-12) | ~np.isfinite(x) | (std <= 0)
    x = np.where(flat, lo + u * (hi - lo), x)
    x = np.clip(x, lo, hi)
    if layout.bin_int.any():
        # integers: round into the bin's integer range, (lo, hi] (first bin [lo, hi])
        ilo = np.where(k == 0, np.ceil(lo), np.floor(lo) + 1)
        ihi = np.floor(hi)
        xi = np.clip(np.round(x), ilo, np.maximum(ilo, ihi))
        x = np.where(layout.bin_int, xi, x)
    x[missing] = np.nan
    return x


def model_input(
    stats: TrainingStats,
    layout: Layout,
    pert: Perturbation,
    as_array: bool,
) -> pd.DataFrame | np.ndarray:
    """The samples of a chunk in the user's column space, (B*S) rows.

    A DataFrame with the training columns, order and dtypes, or a float array
    for models fitted without feature names.
    """
    B, S = pert.Z.shape[:2]
    n = B * S
    cols = stats.columns
    arrays: dict[int, np.ndarray] = {}
    binned_pos = {int(layout.discrete[k]): j for j, k in enumerate(layout.binned)}
    for j, i in enumerate(layout.discrete):
        i = int(i)
        if i in binned_pos:
            arrays[i] = pert.binned_values[:, :, binned_pos[i]].reshape(n)
        else:
            c = cols[i]
            codes = pert.codes[:, :, j].reshape(n)
            values = np.empty(len(c.categories) + 1, dtype=object)
            values[:-1] = c.categories
            values[-1] = None
            arrays[i] = values[np.where(codes < 0, c.missing_code, codes)]
    for j, i in enumerate(layout.continuous):
        arrays[int(i)] = pert.cont_values[:, :, j].reshape(n)
    if as_array:
        return np.column_stack([arrays[i] for i in range(len(cols))])
    frame = {}
    for i, c in enumerate(cols):
        frame[c.name] = _restore(arrays[i], c)
    return pd.DataFrame(frame, copy=False)


def _restore(values: np.ndarray, c) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Values cast back to the column's training dtype."""
    numpy_dtype = isinstance(c.dtype, np.dtype)
    try:
        if c.kind == "categorical":
            return pd.array(values, dtype=c.dtype)
        if not numpy_dtype:
            return pd.array(values, dtype=c.dtype)
        if c.is_integer and np.isnan(values).any():
            return pd.array(values, dtype="Int64")
        return values.astype(c.dtype, copy=False)
    except (TypeError, ValueError):
        return values
