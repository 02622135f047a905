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

GRID = 256  # points of each bin's quantile table


@dataclass
class Layout:
    """Index arrays that split the feature columns by kind, computed once."""

    discrete: np.ndarray  # feature positions of discrete columns
    binned: np.ndarray  # positions (within `discrete`) of binned columns
    continuous: np.ndarray  # feature positions of continuous columns
    cum: list[np.ndarray]  # cumulative code frequencies, per discrete column
    quantiles: np.ndarray  # flat (n_binned * max_codes * (GRID + 1)): per-bin quantile tables
    max_codes: int
    int_cols: np.ndarray  # positions (within `binned`) of integer columns
    int_lo: np.ndarray  # (n_int, max_codes): smallest integer of each bin
    int_hi: np.ndarray  # (n_int, max_codes): largest integer of each bin
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
        max_codes = max((cols[discrete[k]].n_codes for k in binned), default=1)
        tables = np.full((len(binned), max_codes, GRID + 1), np.nan)
        for j, k in enumerate(binned):
            c = cols[discrete[k]]
            n = len(c.bin_mean)  # the missing code, n, keeps NaN
            tables[j, :n] = _truncnorm_quantiles(c.bin_mean, c.bin_std, c.bin_lo, c.bin_hi)
        int_cols = np.array([j for j, k in enumerate(binned) if cols[discrete[k]].is_integer], dtype=np.intp)
        int_lo = np.zeros((len(int_cols), max_codes))
        int_hi = np.zeros((len(int_cols), max_codes))
        for r, j in enumerate(int_cols):
            c = cols[discrete[binned[j]]]
            n = len(c.bin_mean)
            # integers of bin (lo, hi]; the first bin is [lo, hi]
            int_lo[r, :n] = np.concatenate([[np.ceil(c.bin_lo[0])], np.floor(c.bin_lo[1:]) + 1])
            int_hi[r, :n] = np.maximum(np.floor(c.bin_hi), int_lo[r, :n])
        return cls(
            discrete=discrete,
            binned=binned,
            continuous=continuous,
            cum=cum,
            quantiles=tables.reshape(-1),
            max_codes=max_codes,
            int_cols=int_cols,
            int_lo=int_lo,
            int_hi=int_hi,
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


def _truncnorm_quantiles(mean, std, lo, hi) -> np.ndarray:
    """Quantile tables (n_bins, GRID + 1) of each bin's normal truncated to the bin.

    Sampling then interpolates in the table, which costs a gather instead of
    the inverse normal CDF per value.
    """
    u = np.linspace(0.0, 1.0, GRID + 1)
    mean, std, lo, hi = (np.asarray(a, dtype=np.float64)[:, None] for a in (mean, std, lo, hi))
    safe_std = np.where(std > 0, std, 1.0)
    pa = ndtr((lo - mean) / safe_std)
    pb = ndtr((hi - mean) / safe_std)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        q = mean + safe_std * ndtri(pa + u * (pb - pa))
    # degenerate bins (a single value, no spread, or far in a tail): uniform in the bin
    flat = ~(pb - pa > 1e-12) | (std <= 0) | ~np.isfinite(q)
    q = np.where(flat, lo + u * (hi - lo), q)
    return np.clip(q, lo, hi)


def _draw_in_bins(layout: Layout, bins: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Values drawn inside each sample's bin; NaN in the missing bin."""
    nb = len(layout.binned)
    pos = u * GRID
    cell = np.minimum(pos.astype(np.int64), GRID - 1)
    frac = pos - cell
    cell += (np.arange(nb) * layout.max_codes + bins) * (GRID + 1)
    q = layout.quantiles
    left = q[cell]
    x = left + frac * (q[cell + 1] - left)
    if len(layout.int_cols):
        ic = layout.int_cols
        k = bins[..., ic]
        rows = np.arange(len(ic))
        lo, hi = layout.int_lo[rows, k], layout.int_hi[rows, k]
        x[..., ic] = np.clip(np.round(x[..., ic]), lo, hi)  # NaN (missing) stays NaN
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
