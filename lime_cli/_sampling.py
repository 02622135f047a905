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

CELLS = 1024  # cells of each discrete column's inverse-CDF table


@dataclass
class Layout:
    """How a chunk's samples are drawn: index arrays and lookup tables, computed once.

    Discrete columns draw one uniform u per sample.  ``u`` falls in one of
    ``CELLS`` equal cells; a cell lying inside one code's interval of the
    cumulative frequencies gives the code at once, and, for a binned column,
    the value by linear interpolation of the bin's truncated-normal quantile
    function, with the position of u inside the code's interval as the
    quantile.  The few draws in a cell that straddles two codes take the
    exact path (a binary search and the quantile function itself).
    """

    discrete: np.ndarray  # feature positions of discrete columns, binned ones first
    n_binned: int  # the first n_binned discrete columns are binned
    continuous: np.ndarray  # feature positions of continuous columns
    cum: list[np.ndarray]  # cumulative code frequencies, per discrete column
    cell_code: np.ndarray  # flat (n_discrete * CELLS): code of each cell
    cell_straddles: np.ndarray  # flat (n_discrete * CELLS): a code boundary lies inside
    value_left: np.ndarray  # flat (n_binned * CELLS) float32: value at the cell's left end
    value_step: np.ndarray  # flat (n_binned * CELLS) float32: value change across the cell
    bin_params: list[np.ndarray]  # per binned column: (4, n_codes) mean, std, lo, hi
    int_cols: np.ndarray  # positions (among binned) of integer columns
    int_lo: np.ndarray  # (n_int, max_codes): smallest integer of each bin
    int_hi: np.ndarray  # (n_int, max_codes): largest integer of each bin
    cont_mean: np.ndarray
    cont_std: np.ndarray
    order: np.ndarray  # feature position of each column of Z: discrete, then continuous
    one_block: bool  # every column float64 and of one kind: samples form one float array

    @classmethod
    def from_stats(cls, stats: TrainingStats) -> Layout:
        cols = stats.columns
        binned = [i for i, c in enumerate(cols) if c.kind == "binned"]
        categorical = [i for i, c in enumerate(cols) if c.kind == "categorical"]
        discrete = np.array(binned + categorical, dtype=np.intp)
        continuous = np.array([i for i, c in enumerate(cols) if not c.is_discrete], dtype=np.intp)
        nd, nb = len(discrete), len(binned)
        edges = np.arange(CELLS + 1) / CELLS
        cum, cell_code, straddles = [], np.empty((nd, CELLS), np.int32), np.empty((nd, CELLS), bool)
        left, step = np.empty((nb, CELLS), np.float32), np.empty((nb, CELLS), np.float32)
        params = []
        for j, i in enumerate(discrete):
            c = cols[i]
            hi = np.cumsum(c.freqs)
            hi[-1] = 1.0 + 1e-12  # every uniform draw in [0, 1) finds a code
            cum.append(hi)
            first = np.searchsorted(hi, edges[:-1], side="right")  # code at the cell's left end
            last = np.searchsorted(hi, np.nextafter(edges[1:], 0), side="right")
            cell_code[j], straddles[j] = first, first != last
            if j < nb:
                p = np.vstack([np.append(a, np.nan) for a in (c.bin_mean, c.bin_std, c.bin_lo, c.bin_hi)])
                params.append(p)
                lo_q = _within(hi, first, edges[:-1], c.freqs)
                hi_q = _within(hi, first, edges[1:], c.freqs)
                left[j] = _truncnorm_quantile(p[:, first], lo_q)
                step[j] = _truncnorm_quantile(p[:, first], hi_q) - left[j]
        max_codes = max((cols[i].n_codes for i in binned), default=1)
        int_cols = np.array([j for j, i in enumerate(binned) if cols[i].is_integer], dtype=np.intp)
        int_lo = np.zeros((len(int_cols), max_codes))
        int_hi = np.zeros((len(int_cols), max_codes))
        for r, j in enumerate(int_cols):
            c = cols[binned[j]]
            n = len(c.bin_mean)
            # integers of bin (lo, hi]; the first bin is [lo, hi]
            int_lo[r, :n] = np.concatenate([[np.ceil(c.bin_lo[0])], np.floor(c.bin_lo[1:]) + 1])
            int_hi[r, :n] = np.maximum(np.floor(c.bin_hi), int_lo[r, :n])
        return cls(
            discrete=discrete,
            n_binned=nb,
            continuous=continuous,
            cum=cum,
            cell_code=cell_code.reshape(-1),
            cell_straddles=straddles.reshape(-1),
            value_left=left.reshape(-1),
            value_step=step.reshape(-1),
            bin_params=params,
            int_cols=int_cols,
            int_lo=int_lo,
            int_hi=int_hi,
            cont_mean=np.array([cols[i].mean for i in continuous]),
            cont_std=np.array([cols[i].std for i in continuous]),
            order=np.concatenate([discrete, continuous]).astype(np.intp),
            one_block=(len(binned) == len(cols) or len(continuous) == len(cols))
            and all(c.dtype == np.float64 for c in cols),
        )


def _within(cum_hi: np.ndarray, code: np.ndarray, u: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """Position in [0, 1] of ``u`` inside the interval of ``code``."""
    start = np.where(code > 0, cum_hi[np.maximum(code - 1, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (u - start) / freqs[code]
    return np.clip(np.nan_to_num(q, nan=0.5), 0.0, 1.0)


def _truncnorm_quantile(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantile ``q`` of the normal(mean, std) truncated to [lo, hi]; p = (mean, std, lo, hi)."""
    mean, std, lo, hi = p
    safe_std = np.where(std > 0, std, 1.0)
    pa = ndtr((lo - mean) / safe_std)
    pb = ndtr((hi - mean) / safe_std)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = mean + safe_std * ndtri(pa + q * (pb - pa))
    # degenerate bins (a single value, no spread, or far in a tail): uniform in the bin
    flat = ~(pb - pa > 1e-12) | (std <= 0) | ~np.isfinite(x)
    x = np.where(flat, lo + q * (hi - lo), x)
    return np.clip(x, lo, hi)  # NaN (the missing code) stays NaN


@dataclass
class Perturbation:
    """The samples of a chunk, column-major so each column's draws are contiguous."""

    codes: np.ndarray  # (B, n_discrete, S) int32
    values: np.ndarray  # (n_binned + n_continuous, B, S) float64: binned, then continuous
    Z: np.ndarray  # (B, n_features, S) float64, features in ``Layout.order``


def perturb(
    layout: Layout,
    codes0: np.ndarray,
    binned0: np.ndarray,
    cont0: np.ndarray,
    rngs: list[np.random.Generator],
    num_samples: int,
    locality: float = 0.0,
) -> Perturbation:
    """Draw ``num_samples`` samples around each instance of a chunk.

    ``codes0`` (B, n_discrete), ``binned0`` (B, n_binned) and ``cont0``
    (B, n_continuous) describe the instances; ``rngs`` has one generator each.
    Columns are processed one at a time, so each one's lookup tables stay in
    the processor's cache.

    With ``locality`` p > 0, each feature of a sample keeps the instance's own
    value with probability p and is drawn from the training distribution
    otherwise (p = 0 is lime's sampling): the samples then concentrate near
    the instance, where the surrogate is meant to be faithful.
    """
    B, S = len(rngs), num_samples
    nd, nb, nc = len(layout.discrete), layout.n_binned, len(layout.continuous)
    u = np.empty((B, nd, S - 1), dtype=np.float32)  # 24 bits: a cell and 14 bits inside it
    gauss = np.empty((B, nc, S - 1))
    for b, rng in enumerate(rngs):  # one draw per instance, vectorized over samples
        rng.random(out=u[b], dtype=np.float32)
        gauss[b] = rng.standard_normal((nc, S - 1))

    codes = np.empty((B, nd, S), dtype=np.int32)
    codes[:, :, 0] = codes0
    values = np.empty((nb + nc, B, S))
    values[:nb, :, 0] = binned0.T
    values[nb:, :, 0] = cont0.T
    Z = np.empty((B, nd + nc, S))
    int_row = {int(j): r for r, j in enumerate(layout.int_cols)}
    keep_cont = None
    if locality > 0 and nc:
        keep_cont = np.empty((B, nc, S - 1), dtype=np.float32)
        for b, rng in enumerate(rngs):
            rng.random(out=keep_cont[b], dtype=np.float32)
        keep_cont = keep_cont < locality
    p = np.float32(locality)
    for j in range(nd):
        uj = u[:, j, :]
        if locality > 0:  # u < p keeps the instance's value; otherwise u is rescaled to [0, 1)
            keep = uj < p
            uj = np.maximum(uj - p, 0) / (1 - p)
            uj = np.minimum(uj, np.float32(1 - 2**-24))
        scaled = uj * np.float32(CELLS)
        cell = scaled.astype(np.int32)
        base = j * CELLS
        code = codes[:, j, 1:]
        np.take(layout.cell_code[base : base + CELLS], cell, out=code)
        if j < nb:
            cell_frac = scaled - cell
            left = layout.value_left[base : base + CELLS]
            step = layout.value_step[base : base + CELLS]
            values[j, :, 1:] = left[cell] + cell_frac * step[cell]
        straddles = layout.cell_straddles[base : base + CELLS][cell]
        if straddles.any():
            _exact_draws(layout, j, uj, straddles, code, values[j, :, 1:] if j < nb else None)
        if locality > 0:
            np.copyto(code, codes0[:, j, None], where=keep)
            if j < nb:
                np.copyto(values[j, :, 1:], binned0[:, j, None], where=keep)
        if j in int_row:
            r = int_row[j]
            v = values[j, :, 1:]
            np.clip(np.round(v), layout.int_lo[r, code], layout.int_hi[r, code], out=v)  # NaN stays
        np.equal(codes[:, j, :], codes0[:, j, None], out=Z[:, j, :])
    Z[:, :nd, 0] = 1.0
    if nc:
        drawn = layout.cont_mean[:, None] + layout.cont_std[:, None] * gauss  # (B, nc, S-1)
        if keep_cont is not None:
            drawn = np.where(keep_cont, cont0[:, :, None], drawn)
        values[nb:, :, 1:] = drawn.transpose(1, 0, 2)
        scaled_cont = (values[nb:] - layout.cont_mean[:, None, None]) / layout.cont_std[:, None, None]
        Z[:, nd:, :] = np.nan_to_num(scaled_cont, nan=0.0).transpose(1, 0, 2)
    return Perturbation(codes=codes, values=values, Z=Z)


def _exact_draws(layout: Layout, j: int, u: np.ndarray, where: np.ndarray, codes, values) -> None:
    """Redraw, exactly, column j's few draws whose cell straddles two codes."""
    uu = u[where]
    cum = layout.cum[j]
    code = np.searchsorted(cum, uu, side="right")
    codes[where] = code
    if values is not None:
        freqs = np.diff(np.concatenate([[0.0], cum]))
        q = _within(cum, code, uu, freqs)
        values[where] = _truncnorm_quantile(layout.bin_params[j][:, code], q)


def model_input(
    stats: TrainingStats,
    layout: Layout,
    pert: Perturbation,
    as_array: bool,
    instances: pd.DataFrame | None = None,
) -> pd.DataFrame | np.ndarray:
    """The samples of a chunk in the user's column space, (B*S) rows.

    A DataFrame with the training columns, order and dtypes, or a float array
    for models fitted without feature names.
    """
    B, _, S = pert.Z.shape
    n = B * S
    cols = stats.columns
    flat = pert.values.reshape(len(pert.values), n)  # one contiguous row per numeric column
    if layout.one_block:  # the common all-float case: the samples are handed over without a copy
        if as_array:
            return flat.T
        return pd.DataFrame(flat.T, columns=[c.name for c in cols], copy=False)
    arrays: dict[int, np.ndarray] = {}
    numeric = np.concatenate([layout.discrete[: layout.n_binned], layout.continuous])
    for r, i in enumerate(numeric):
        arrays[int(i)] = flat[r]
    for j in range(layout.n_binned, len(layout.discrete)):
        c = cols[int(layout.discrete[j])]
        codes = pert.codes[:, j, :].reshape(n)
        values = np.empty(len(c.categories) + 1, dtype=object)
        values[:-1] = c.categories
        values[-1] = None
        out = values[np.where(codes < 0, c.missing_code, codes)]
        unseen = codes < 0  # a category the training data lacks: the instance's own value
        if unseen.any() and instances is not None:
            own = np.repeat(instances.iloc[:, int(layout.discrete[j])].to_numpy(dtype=object), S)
            out[unseen] = own[unseen]
        arrays[int(layout.discrete[j])] = out
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
