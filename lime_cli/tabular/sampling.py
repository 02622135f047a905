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

With ``sampling="sobol"`` (the default method's) the uniforms of the discrete
columns are not independent draws but the points of a scrambled Sobol'
sequence, one dimension per column, randomized for each instance by a random
digital shift (an XOR of each column's 32 bits with a random word).  Every
sample is still uniformly distributed, so the estimates keep their
expectation, but the points fill the space evenly: the surrogate's moments,
and so its ranking of the features, vary much less from seed to seed.
``sampling="random"`` draws independent uniforms, as lime does.

The interpretable representation ``Z`` is 1 where a discrete sample falls in
the instance's bin or category (0 elsewhere), and the standardized value for a
continuous column.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ..core.parallel import run_threads
from ..settings import SAMPLINGS
from .stats import TrainingStats

CELLS = 1024  # cells of each discrete column's inverse-CDF table
STRADDLES = 1 << 30  # added to a cell's code when a code boundary lies inside the cell


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
    cum_padded: np.ndarray  # (n_discrete, max codes): cumulative code frequencies, padded
    cum_shifted: np.ndarray  # every column's cumulative frequencies, column j's plus 2j
    cum_start: np.ndarray  # (n_discrete,): where each column starts in cum_shifted
    cell_code: np.ndarray  # flat (n_discrete * CELLS): code of each cell, + STRADDLES if two
    value_left: np.ndarray  # flat (n_binned * CELLS): value at the cell's left end
    value_step: np.ndarray  # flat (n_binned * CELLS): value change across the cell
    bin_params: np.ndarray  # (4, n_binned, max codes): each bin's mean, std, lo, hi (NaN: missing)
    int_lo: np.ndarray  # (n_int, max_codes): smallest integer of each bin
    int_hi: np.ndarray  # (n_int, max_codes): largest integer of each bin
    int_index: np.ndarray  # (n_discrete,): each column's row in int_lo / int_hi, or -1
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
        cum, cell_code = [], np.empty((nd, CELLS), np.intp)
        left, step = np.empty((nb, CELLS)), np.empty((nb, CELLS))
        params = []
        for j, i in enumerate(discrete):
            c = cols[i]
            hi = np.cumsum(c.freqs)
            hi[-1] = 1.0 + 1e-12  # every uniform draw in [0, 1) finds a code
            cum.append(hi)
            first = np.searchsorted(hi, edges[:-1], side="right")  # code at the cell's left end
            last = np.searchsorted(hi, np.nextafter(edges[1:], 0), side="right")
            cell_code[j] = np.where(first != last, first + STRADDLES, first)
            if j < nb:
                p = np.vstack([np.append(a, np.nan) for a in (c.bin_mean, c.bin_std, c.bin_lo, c.bin_hi)])
                params.append(p)
                start = np.where(first > 0, hi[np.maximum(first - 1, 0)], 0.0)
                lo_q = _within(edges[:-1], start, c.freqs[first])
                hi_q = _within(edges[1:], start, c.freqs[first])
                left[j] = _truncnorm_quantile(p[:, first], lo_q)
                step[j] = _truncnorm_quantile(p[:, first], hi_q) - left[j]
        max_codes = max((cols[i].n_codes for i in binned), default=1)
        widest = max((len(c) for c in cum), default=1)
        cum_padded = np.full((nd, widest), 1.0 + 1e-12)
        bin_params = np.full((4, nb, widest), np.nan)
        for j, c in enumerate(cum):
            cum_padded[j, : len(c)] = c
        for j, p in enumerate(params):
            bin_params[:, j, : p.shape[1]] = p
        int_cols = np.array([j for j, i in enumerate(binned) if cols[i].is_integer], dtype=np.intp)
        int_lo = np.zeros((len(int_cols), max_codes))
        int_hi = np.zeros((len(int_cols), max_codes))
        for r, j in enumerate(int_cols):
            c = cols[binned[j]]
            n = len(c.bin_mean)
            # integers of bin (lo, hi]; the first bin is [lo, hi]
            int_lo[r, :n] = np.concatenate([[np.ceil(c.bin_lo[0])], np.floor(c.bin_lo[1:]) + 1])
            int_hi[r, :n] = np.maximum(np.floor(c.bin_hi), int_lo[r, :n])
        int_index = np.full(nd, -1, dtype=np.intp)
        int_index[int_cols] = np.arange(len(int_cols))
        return cls(
            discrete=discrete,
            n_binned=nb,
            continuous=continuous,
            cum_padded=cum_padded,
            cum_shifted=np.concatenate([c + 2.0 * j for j, c in enumerate(cum)]) if cum else np.zeros(0),
            cum_start=np.cumsum([0] + [len(c) for c in cum[:-1]]).astype(np.intp),
            cell_code=cell_code.reshape(-1),
            value_left=left.reshape(-1),
            value_step=step.reshape(-1),
            bin_params=bin_params,
            int_index=int_index,
            int_lo=int_lo,
            int_hi=int_hi,
            cont_mean=np.array([cols[i].mean for i in continuous]),
            cont_std=np.array([cols[i].std for i in continuous]),
            order=np.concatenate([discrete, continuous]).astype(np.intp),
            one_block=(len(binned) == len(cols) or len(continuous) == len(cols))
            and all(c.dtype == np.float64 for c in cols),
        )


def _within(u: np.ndarray, start: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Position in [0, 1] of ``u`` inside [start, start + width) (0.5 in an empty interval)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (u - start) / width
    return np.clip(np.nan_to_num(q, nan=0.5), 0.0, 1.0)


def _truncnorm_quantile(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantile ``q`` of the normal(mean, std) truncated to [lo, hi]; p = (mean, std, lo, hi)."""
    mean, std, lo, hi = p
    safe_std = np.where(std > 0, std, 1.0)
    pa = ndtr((lo - mean) / safe_std)
    pb = ndtr((hi - mean) / safe_std)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        x = mean + safe_std * ndtri(pa + q * (pb - pa))
    # degenerate bins: a single training value gives that value; no mass left in the bin
    # (far in a tail) gives uniform draws in it
    flat = ~(pb - pa > 1e-12) | ~np.isfinite(x)
    x = np.where(std <= 0, mean, np.where(flat, lo + q * (hi - lo), x))
    return np.clip(x, lo, hi)  # NaN (the missing code) stays NaN


@dataclass
class Perturbation:
    """The samples of a chunk, column-major so each column's draws are contiguous."""

    codes: np.ndarray  # (B, n_categorical, S) int32: codes of the categorical columns
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
    threads: int = 1,
    sampling: str = "random",
) -> Perturbation:
    """Draw ``num_samples`` samples around each instance of a chunk.

    ``codes0`` (B, n_discrete), ``binned0`` (B, n_binned) and ``cont0``
    (B, n_continuous) describe the instances; ``rngs`` has one generator each.
    The rows are drawn in blocks of a few rows, a group of columns at a time,
    so that the temporaries stay small; ``threads`` > 1 draws blocks in
    parallel.  Every sample depends only on its own row's
    generator, so the result is the same for any block size or thread count.

    With ``locality`` p > 0, each feature of a sample keeps the instance's own
    value with probability p and is drawn from the training distribution
    otherwise (p = 0 is lime's sampling): the samples then concentrate near
    the instance, where the surrogate is meant to be faithful.

    ``sampling`` is ``"random"`` (independent uniforms) or ``"sobol"``
    (randomly shifted Sobol' points for the discrete columns; independent
    draws for continuous ones, and for tables wider than Sobol' goes).

    The arrays returned live in buffers that the next call on the same thread
    reuses (fresh memory costs a page fault per 4 KiB): use a chunk's samples
    before drawing the next chunk, and :func:`release_workspace` when done.
    """
    B, S = len(rngs), num_samples
    nd, nb, nc = len(layout.discrete), layout.n_binned, len(layout.continuous)
    pert = Perturbation(
        codes=_buffer("codes", (B, nd - nb, S), np.int32),
        values=_buffer("values", (nb + nc, B, S), np.float64),
        Z=_buffer("Z", (B, nd + nc, S), np.float64),
    )
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}")
    base = sobol_points(nd, S - 1) if sampling == "sobol" and 0 < nd <= SOBOL_MAX_DIM and S > 1 else None
    step = max(1, _block_cells(locality) // max(1, (nd + nc) * S))
    blocks = [(r, min(r + step, B)) for r in range(0, B, step)]

    def draw(block):
        _perturb_rows(layout, codes0, binned0, cont0, rngs, S, locality, pert, *block, base=base)

    run_threads(draw, blocks, threads)
    return pert


#: Cells of one block of rows in :func:`perturb` when every cell is drawn (locality 0): few
#: enough that its temporaries stay in the caches, many enough that a block needs few numpy
#: calls (the threads hold the GIL between them).
BLOCK_CELLS = 1 << 18


def _block_cells(locality: float) -> int:
    """Cells of a block: the temporaries of the gathered draws shrink with the drawn share
    1 - locality (the per-cell ones do not), so blocks grow as it does, up to twice ``BLOCK_CELLS``."""
    return int(BLOCK_CELLS * min(2.0, 1.0 / (1.0 - locality)))


_WORKSPACES: dict[int, dict[str, np.ndarray]] = {}  # per thread: its buffers by name


def _buffer(name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialized array of ``shape``, in a buffer the calling thread keeps for reuse."""
    size = math.prod(shape)
    buffers = _WORKSPACES.setdefault(threading.get_ident(), {})
    buf = buffers.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = buffers[name] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


def release_workspace() -> None:
    """Free the buffers that :func:`perturb` keeps between chunks, in every thread."""
    _WORKSPACES.clear()


SOBOL_MAX_DIM = 21201  # scipy's Sobol' engine goes up to this many dimensions
SOBOL_SEED = 20160816  # the scramble of the base sequence: fixed, the per-row shift is the random part
SOBOL_KEEP_CELLS = 1 << 25  # base points kept between runs (4 bytes each)
SOBOL_DRAW_CELLS = 1 << 22  # points drawn from scipy at a time (8 bytes each)
_SOBOL: dict[int, np.ndarray] = {}  # by dimension: the longest sequence made so far
_SOBOL_LOCK = threading.Lock()


def sobol_points(d: int, n: int) -> np.ndarray:
    """The first ``n`` points of a linearly scrambled Sobol' sequence in ``d`` dimensions.

    A read-only (d, n) uint32 array: point s's coordinate j is ``out[j, s] / 2**32``.
    The same for every call with the same (d, n) and scipy version; the points
    of a shorter call are a prefix of a longer one's.  The longest sequence of
    each dimension is kept for later calls while they fit in ``SOBOL_KEEP_CELLS``.
    """
    with _SOBOL_LOCK:
        kept = _SOBOL.get(d)
    if kept is not None and kept.shape[1] >= n:
        return kept[:, :n]
    from scipy.stats import qmc

    engine = qmc.Sobol(d, scramble=True, bits=32, seed=np.random.default_rng(SOBOL_SEED))
    out = np.empty((d, n), dtype=np.uint32)
    first = 1 << max(0, (n - 1).bit_length())  # the first draw a power of 2 (scipy warns otherwise)
    step = max(1, min(first, 1 << max(0, (SOBOL_DRAW_CELLS // d).bit_length() - 1)))
    for a in range(0, n, step):
        b = min(a + step, n)
        out[:, a:b] = engine.random(step if a == 0 else b - a)[: b - a].T * 2.0**32
    out.setflags(write=False)
    if out.size <= SOBOL_KEEP_CELLS:
        with _SOBOL_LOCK:
            _SOBOL.pop(d, None)
            while _SOBOL and sum(v.size for v in _SOBOL.values()) + out.size > SOBOL_KEEP_CELLS:
                _SOBOL.pop(next(iter(_SOBOL)))  # the oldest
            _SOBOL[d] = out
    return out


def _perturb_rows(layout, codes0, binned0, cont0, rngs, S, locality, pert, r0, r1, base=None) -> None:
    """Rows r0 to r1 of :func:`perturb`, written into ``pert``.

    ``base`` (n_discrete, S - 1) uint32: Sobol' points, shifted for each row by
    a random word per column; None: independent uniforms.
    """
    nd, nb, nc = len(layout.discrete), layout.n_binned, len(layout.continuous)
    R, n = r1 - r0, S - 1
    cat, values, Z = pert.codes[r0:r1], pert.values[:, r0:r1], pert.Z[r0:r1]
    c0, b0, k0 = codes0[r0:r1], binned0[r0:r1], cont0[r0:r1]
    u = _buffer("u", (R, nd, n), np.float32)  # 24 bits: a cell and 14 bits inside it
    gauss = _buffer("gauss", (R, nc, n), np.float64)
    keep_cont = _buffer("keep", (R, nc, n), np.float32) if locality > 0 and nc else None
    shifts = np.empty((R, nd), dtype=np.uint32) if base is not None else None
    for i in range(R):  # one row's draws, in the order of its stream
        rng = rngs[r0 + i]
        if base is None:
            rng.random(out=u[i], dtype=np.float32)
        else:
            shifts[i] = rng.integers(0, 1 << 32, size=nd, dtype=np.uint32)
        rng.standard_normal(out=gauss[i])
    if keep_cont is not None:
        for i in range(R):
            rngs[r0 + i].random(out=keep_cont[i], dtype=np.float32)
    if base is not None:  # the shifted points, to 24 bits as the independent draws
        bits = _buffer("bits", (R, nd, n), np.uint32)
        np.bitwise_xor(base, shifts[:, :, None], out=bits)
        bits >>= 8
        np.multiply(bits, np.float32(2.0**-24), out=u, dtype=np.float32)

    values[:nb, :, 0] = b0.T
    values[nb:, :, 0] = k0.T
    cat[:, :, 0] = c0[:, nb:]
    Z[:, :nd, 0] = 1.0
    # a few columns at a time (binned and categorical apart), so the temporaries stay small
    group = max(1, _block_cells(locality) // (R * max(n, 1)))
    for lo, hi in [(a, min(a + group, nb)) for a in range(0, nb, group)] + [
        (a, min(a + group, nd)) for a in range(nb, nd, group)
    ]:
        _discrete_columns(layout, u, c0, b0, locality, lo, hi, pert, r0)
    if nc:
        drawn = layout.cont_mean[:, None] + layout.cont_std[:, None] * gauss  # (R, nc, S-1)
        if keep_cont is not None:
            drawn = np.where(keep_cont < locality, k0[:, :, None], drawn)
        values[nb:, :, 1:] = drawn.transpose(1, 0, 2)
        scaled_cont = (values[nb:] - layout.cont_mean[:, None, None]) / layout.cont_std[:, None, None]
        Z[:, nd:, :] = np.nan_to_num(scaled_cont, nan=0.0).transpose(1, 0, 2)


def _discrete_columns(layout, u, c0, b0, locality, lo, hi, pert, r0) -> None:
    """Discrete columns lo to hi (all binned, or all categorical) of rows r0 to r0 + R.

    ``u`` (R, n_discrete, S - 1) are the rows' uniforms, ``c0`` and ``b0``
    their own codes and binned values.  A draw u < p keeps the row's own
    value; with p > 0, every (row, column) is first filled with its own value,
    code and Z = 1, and only the other draws (a fraction 1 - p) are gathered,
    looked up and written back.  A drawn u gives t = (u - p) / (1 - p) * CELLS
    + 1, in cell floor(t) - 1 of the column's tables; a binned value is the
    cell's left value plus the position inside the cell times the cell's step.
    """
    nb = layout.n_binned
    R, _, n = u.shape
    G, S = hi - lo, n + 1
    B, D, _ = pert.Z.shape
    binned = hi <= nb
    own = c0[:, lo:hi]
    # segment q = r * G + g (row r, column lo + g) holds its draws at flat[q * n : (q + 1) * n]
    flat = np.ascontiguousarray(u[:, lo:hi]).reshape(-1)
    q = np.arange(R * G)
    r, g = np.divmod(q, G)
    first_cell = (lo + g) * CELLS - 1  # the tables' offset of each segment's column
    if locality > 0:  # u lies on the 2**-24 grid: u < p when u < the first grid point >= p
        drawn = _buffer("drawn", flat.shape, np.bool_)
        np.greater_equal(flat, np.float32(math.ceil(locality * 2**24) * 2.0**-24), out=drawn)
        pos = np.flatnonzero(drawn)
        ud = flat[pos]
        counts = np.diff(np.searchsorted(pos, np.append(q, R * G) * n))
    else:  # every sample is drawn
        pos, ud = None, flat
    scale = CELLS / (1.0 - locality)
    t = np.multiply(ud, scale, dtype=np.float64)
    t += 1.0 - locality * scale
    cell = t.astype(np.intp)
    np.clip(cell, 1, CELLS, out=cell)
    if binned:
        t -= cell  # the position inside the cell
    if pos is None:
        cell.reshape(R * G, n)[...] += first_cell[:, None]
    else:
        cell += np.repeat(first_cell, counts)
    code = layout.cell_code[cell]
    v = None
    if binned:
        t *= layout.value_step[cell]
        v = np.add(layout.value_left[cell], t, out=t)
    straddles = np.flatnonzero(code >= STRADDLES)
    if len(straddles):  # a few draws in cells that straddle two codes
        _exact_draws(layout, ud[straddles], cell[straddles] // CELLS, locality, code, v, straddles)
    # what the draws write, where: a binned column's values, a categorical one's codes;
    # `start` is where each segment's samples start in `base`, `fill` is what a kept one holds
    if binned:
        fill = b0[:, lo:hi]
        k_of = layout.int_index[lo:hi]  # each column's row in the integer tables, or -1
        if (k_of >= 0).any():  # integer columns: values rounded into their bin (NaN stays)
            fill = fill.copy()
            g_int = np.flatnonzero(k_of >= 0)
            k, c = k_of[g_int], own[:, g_int]
            fill[:, g_int] = np.clip(np.round(fill[:, g_int]), layout.int_lo[k, c], layout.int_hi[k, c])
            k = k_of[cell // CELLS - lo]  # one pass over the draws, whatever the integer columns
            mine = np.flatnonzero(k >= 0)
            k, c = k[mine], code[mine]
            v[mine] = np.clip(np.round(v[mine]), layout.int_lo[k, c], layout.int_hi[k, c])
        base, out, drawn_out = pert.values, pert.values[lo:hi, r0 : r0 + R, 1:].transpose(1, 0, 2), v
        start = (lo + g) * B * S + (r0 + r) * S
    else:
        base, out, drawn_out, fill = pert.codes, pert.codes[r0 : r0 + R, lo - nb : hi - nb, 1:], code, own
        start = ((r0 + r) * pert.codes.shape[1] + lo - nb + g) * S
    z_out = pert.Z[r0 : r0 + R, lo:hi, 1:]
    if pos is None:
        out[...] = drawn_out.reshape(R, G, n)
        np.equal(code.reshape(R, G, n), own[:, :, None], out=z_out)
        return
    # the kept samples: the row's own value, code and Z = 1; then the drawn ones, in place
    out[...] = fill[:, :, None]
    z_out[...] = 1.0
    shift = np.repeat(1 - q * n, counts) + pos  # position in a segment that starts at 0, plus 1
    base.reshape(-1)[shift + np.repeat(start, counts)] = drawn_out
    z_start = ((r0 + r) * D + lo + g) * S
    pert.Z.reshape(-1)[shift + np.repeat(z_start, counts)] = code == np.repeat(own.reshape(-1), counts)


def _exact_draws(layout: Layout, uk: np.ndarray, j: np.ndarray, locality: float, code, values, k) -> None:
    """Redraw, exactly, the draws ``k`` whose cell straddles two codes (marked in ``code``).

    ``uk`` are their uniforms and ``j`` their discrete columns; ``code`` and
    ``values`` (binned; None otherwise) are every draw's, updated at ``k``.
    Column j's cumulative frequencies are searched shifted by 2j, so one
    search serves every column.
    """
    p = np.float32(locality)
    uu = np.maximum(uk - p, 0) / (1 - p)  # the uniform of the training draw
    found = np.searchsorted(layout.cum_shifted, uu + 2.0 * j, side="right")
    c = found - layout.cum_start[j]
    code[k] = c
    if values is not None:
        start = np.where(c > 0, layout.cum_padded[j, np.maximum(c - 1, 0)], 0.0)
        q = _within(uu, start, layout.cum_padded[j, c] - start)
        values[k] = _truncnorm_quantile(layout.bin_params[:, j, c], q)


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
        codes = pert.codes[:, j - layout.n_binned, :].reshape(n)
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
        if isinstance(c.dtype, pd.CategoricalDtype):  # by code: a value it lacks is missing
            codes = c.dtype.categories.get_indexer(pd.Index(values, dtype=object))
            return pd.Categorical.from_codes(codes, dtype=c.dtype)
        if c.kind == "categorical":
            return pd.array(values, dtype=c.dtype)
        if not numpy_dtype:
            return pd.array(values, dtype=c.dtype)
        if c.is_integer and np.isnan(values).any():
            return pd.array(values, dtype="Int64")
        return values.astype(c.dtype, copy=False)
    except (TypeError, ValueError):
        return values
