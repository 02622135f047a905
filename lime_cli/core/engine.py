"""The pipeline every LIME explanation follows, for any kind of input.

For a chunk of instances: encode them (the front-end), draw their samples (one
array for the chunk, each instance from its own stream), call the model once,
weight the samples by their distance to the instance, solve every surrogate of
the chunk together (feature selection, weighted ridge, pruning of weights that
cannot be told from zero), and package the explanations.  ``--stability``
re-explains the chunk under other streams in the same batch; ``num_samples
"auto"`` doubles an instance's samples until its explanation holds.

:func:`run` drives a whole batch: the model is inspected and probed once,
before any chunk; the chunks go serially, to worker processes or to a Dask
cluster, sized by the memory they take unless a size is given; the output is
the same in every case, in the input's order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.special import ndtri

from ..errors import ModelError, ParameterError
from ..schema import Explanation, FeatureStability, FeatureWeight, Stability
from ..settings import AUTO_CAP, Settings
from . import memory, streams, surrogate
from .frontend import FrontEnd, Instances
from .kernel import exponential_kernel
from .model import ModelInfo
from .parallel import as_worker, inner_threads, run_chunks, run_threads

#: At most this many re-explanations per instance for ``stability``.
MAX_STABILITY = 1000


@dataclass(frozen=True)
class Job:
    """Everything a chunk needs, wherever it runs (it is pickled to workers with each chunk)."""

    frontend: FrontEnd
    model: ModelInfo
    settings: Settings
    kernel_width: float
    labels: tuple[int, ...] | None = None  # the classes to explain, by index; None: see top_labels
    top_labels: int | None = None  # the K most probable classes; None and no labels: the predicted one
    stability: int = 0  # re-explanations under other streams, per instance


def run(
    job: Job, rows, positions: np.ndarray, *, n_jobs: int = 1, backend: str | None = None
) -> Iterator[list[Explanation]]:
    """Explain the prepared ``rows`` (their ``positions`` are reported as ``row``), chunk by chunk."""
    cap = cell_batch(job.frontend.n_features, job.settings, job.frontend.chunk_cells)
    if job.stability:  # the replicates share the chunk: keep its arrays the same size
        cap = max(1, cap // (job.stability + 1))
    n = len(positions)
    fe = job.frontend

    def tasks(size, start=0):  # lazy: a chunk's rows are sliced only when it is due
        return ((job, fe.rows(rows, a, a + size), positions[a : a + size]) for a in range(start, n, size))

    if job.settings.batch_size:
        chunks = run_chunks(explain_chunk, tasks(job.settings.batch_size), n_jobs, backend)
    else:
        chunks = _sized_chunks(job, tasks, cap, n, n_jobs, backend)
    return _releasing(chunks, fe)


def _sized_chunks(job, tasks, cap, n, n_jobs, backend) -> Iterator[list[Explanation]]:
    """The automatic chunking: chunks sized by the memory they take (see :mod:`.memory`).

    Serially every chunk is measured; with workers the first chunks are explained
    here, until one has been measured, and the rest go to the workers in chunks of
    the measured size.
    """
    parallel = not (n_jobs == 1 and backend is None)
    workers = 1 if not parallel else (n_jobs if n_jobs > 0 else inner_threads())
    # with workers, the measured first chunks also spread the rest over them in smaller chunks
    sizer = memory.ChunkSizer(cap, workers, measure=job.frontend.measure_chunks or parallel)
    start = 0
    while start < n and not (parallel and (sizer.measured or not sizer.usable)):
        size = sizer.next_size()
        task = next(tasks(size, start))
        with sizer.measure(len(task[2])):
            # as a worker would run it, when workers run the others
            out = as_worker(explain_chunk, *task) if parallel else explain_chunk(*task)
        yield out
        start += size
    if start < n:
        yield from run_chunks(explain_chunk, tasks(sizer.next_size(), start), n_jobs, backend)


def cell_batch(n_features: int, settings: Settings, cells: int = 4_000_000) -> int:
    """Instances per chunk that keep a chunk's sample cells near ``cells`` (at most 512): the
    largest automatic chunk."""
    n = AUTO_CAP if settings.auto_samples else settings.first_samples
    return int(min(max(cells // (n * max(n_features, 1)), 1), 512))


def _releasing(chunks: Iterator[list[Explanation]], frontend: FrontEnd) -> Iterator[list[Explanation]]:
    """``chunks``, then what the front-end kept between them freed (a whole run reuses it)."""
    try:
        yield from chunks
    finally:
        frontend.release()


# -- before any chunk ----------------------------------------------------------------------


def check_run(stability: int, n_jobs: int, settings: Settings) -> None:
    """ParameterErrors for per-run arguments (``stability``, ``n_jobs``)."""
    if isinstance(stability, bool) or not isinstance(stability, (int, np.integer)) or stability < 0:
        raise ParameterError(f"{{stability}} must be an integer >= 0, not {stability!r}")
    if stability > MAX_STABILITY:
        raise ParameterError(f"{{stability}} must be at most {MAX_STABILITY}, not {stability}")
    if stability and settings.auto_samples:
        raise ParameterError("{stability} needs a fixed {num_samples}, not auto")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < -1:
        raise ParameterError(f"{{n_jobs}} must be an integer >= -1, not {n_jobs!r}")
    if n_jobs == 0:
        raise ParameterError("{n_jobs} must be a positive number of workers, or -1 for one per core")


def probe(frontend: FrontEnd, info: ModelInfo, rows, settings: Settings) -> ModelInfo:
    """Ask the model about two samples of the first instance, before any chunk.

    A model whose output is not what LIME needs (the wrong shape, not
    probabilities, more columns than classes) is reported before anything is
    written; a classifier without ``classes_`` gets its classes ("0", "1", ...)
    here, once, so that every worker has them.
    """
    instances = frontend.encode(frontend.rows(rows, 0, 1))
    rng = [np.random.default_rng(0)]  # not an instance's stream: the probe's samples are thrown away
    samples = frontend.sample(instances, rng, 2, replace(settings, sampling="random"), 1)
    preds = info.predict(frontend.model_input(instances, samples), 2)
    return info.with_classes(preds.shape[1])


def label_indices(info: ModelInfo, labels: Sequence[str] | None, top_labels: int | None):
    """The classes to explain as indices into ``info.classes`` (or None), checked."""
    if info.mode == "regression":
        if labels or top_labels:
            raise ParameterError("{labels} and {top_labels} apply to classification only")
        return None
    if labels and top_labels:
        raise ParameterError("give {labels} or {top_labels}, not both")
    if top_labels is not None:
        n = len(info.classes) if info.classes else None
        if top_labels < 1 or (n is not None and top_labels > n):
            raise ParameterError(f"{{top_labels}} must be between 1 and {n or 'the number of classes'}")
    if not labels:
        return None
    if info.classes is None:
        raise ModelError("the model has no classes_ attribute: {labels} cannot be matched to its classes")
    idx = []
    for lab in dict.fromkeys(labels):  # each class once, in the order given
        if str(lab) not in info.classes:
            shown = ", ".join(info.classes[:10])
            raise ParameterError(f"{{labels}} {lab!r} is not a class of the model (classes: {shown})")
        idx.append(info.classes.index(str(lab)))
    return tuple(idx)


# -- one chunk -------------------------------------------------------------------------------


def explain_chunk(job: Job, rows, positions: np.ndarray) -> list[Explanation]:
    """Explain one chunk, start to end (what a worker runs).

    With ``job.stability`` R, the chunk's instances are explained R more times,
    with streams of their own (``streams.REPLICATE``, r), in the same batch; the
    main explanations then carry how the replicates agree with them.
    """
    instances = job.frontend.encode(rows)
    if job.settings.auto_samples:
        return _explain_auto(job, instances, positions)
    R, B = job.stability, len(instances)
    purposes = [(streams.MAIN, 0)] * B
    if R:
        purposes += [(streams.REPLICATE, r) for r in range(1, R + 1) for _ in range(B)]
        instances = instances.take(np.tile(np.arange(B), R + 1))
        positions = np.tile(positions, R + 1)
    out = _run(job, instances, positions, purposes, job.settings.first_samples)
    if not R:
        return out
    n = len(out) // (R + 1)  # explanations per copy: B instances x L labels
    main = out[:n]
    for i, e in enumerate(main):
        e.stability = _stability([out[r * n + i] for r in range(1, R + 1)], e)
    return main


def _explain_auto(job: Job, instances: Instances, positions: np.ndarray) -> list[Explanation]:
    """``num_samples="auto"``: double each instance's samples until its explanation holds.

    Level k draws AUTO_START * 2**k fresh samples from the instance's stream
    (``streams.AUTO``, k).  An instance stops at the first level whose features and
    signs equal those of the level before (each weight being significant at
    ``confidence`` when pruning is on), or at AUTO_CAP samples; its explanation is
    that of the last level, and ``num_samples`` says its size.
    """

    def signature(exps):
        return [{(f.key, f.weight > 0) for f in e.features} for e in exps]

    n, level, B = job.settings.first_samples, 0, len(instances)
    prev = _run(job, instances, positions, [(streams.AUTO, 0)] * B, n)
    L = len(prev) // B
    prev_by_row = [prev[i * L : (i + 1) * L] for i in range(B)]
    result: list[list[Explanation] | None] = [None] * B
    pending = np.arange(B)
    while len(pending):
        level, n = level + 1, n * 2
        purposes = [(streams.AUTO, level)] * len(pending)
        cur = _run(job, instances.take(pending), positions[pending], purposes, n)
        still = []
        for k, i in enumerate(pending):
            cur_i = cur[k * L : (k + 1) * L]
            if signature(cur_i) == signature(prev_by_row[i]) or n >= AUTO_CAP:
                result[i] = cur_i
            else:
                prev_by_row[i] = cur_i
                still.append(i)
        pending = np.array(still, dtype=np.intp)
    return [e for row in result for e in row]


def draw(job: Job, instances: Instances, purposes, n: int):
    """(samples, model input) of a chunk: ``n`` samples per instance, instance b from its stream
    ``purposes[b]`` = (purpose, index)."""
    rngs = streams.generators(job.settings.seed, instances.keys, purposes)
    samples = job.frontend.sample(instances, rngs, n, job.settings, inner_threads())
    return samples, job.frontend.model_input(instances, samples, inner_threads())


def _run(job: Job, instances: Instances, positions, purposes, n: int) -> list[Explanation]:
    """Samples, one model call, surrogates and explanations for a chunk of instances."""
    samples, X = draw(job, instances, purposes, n)
    preds = job.model.predict(X, len(instances) * n).reshape(len(instances), n, -1)
    return _finish(job, instances, positions, samples, preds)


def _finish(job: Job, instances, positions, samples, preds) -> list[Explanation]:
    B, Z = len(instances), samples.Z
    if job.model.mode == "regression":
        lab = np.zeros((B, 1), dtype=np.intp)
    elif job.labels is not None:
        lab = np.broadcast_to(np.array(job.labels, dtype=np.intp), (B, len(job.labels)))
    elif job.top_labels:
        lab = np.argsort(-preds[:, 0, :], axis=1, kind="stable")[:, : job.top_labels]
    else:
        lab = np.argmax(preds[:, 0, :], axis=1)[:, None]
    L = lab.shape[1]
    Y = np.take_along_axis(preds, lab[:, None, :], axis=2)

    model_pred = Y[:, 0, :].reshape(B * L)
    if samples.widths is None:  # every instance has all of Z's features
        # the instances' surrogates are independent: solve them in a few parts, on threads
        bounds = np.linspace(0, B, min(B, inner_threads()) + 1).astype(int)
        groups = [(slice(a, b), Z.shape[1]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    else:  # instances of each width together, on their own features: as if each were alone
        widths = np.asarray(samples.widths)
        groups = [(np.flatnonzero(widths == w), int(w)) for w in np.unique(widths)]

    def solve(group):
        idx, width = group
        # an instance with no feature: one constant column of zeros (Z's rows past an
        # instance's width are the front-end's padding, never read)
        z = Z[idx, :width, :] if width else np.zeros((len(idx), 1, Z.shape[2]))
        binary = min(samples.binary, z.shape[1])
        distances = job.frontend.distances(z, binary, samples=samples, index=idx)
        return _surrogates(job.settings, z, exponential_kernel(distances, job.kernel_width), Y[idx], binary)

    # single-threaded BLAS: the sums are then done in the same order on any machine,
    # worker or cluster, so the output is identical to the last bit
    with surrogate.single_thread_blas():
        solved = run_threads(solve, groups, min(len(groups), inner_threads()))
    if samples.widths is None:
        fit = surrogate.Fit.concatenate([f for f, _, _ in solved])
        dropped = np.concatenate([d for _, d, _ in solved])
        constant = np.concatenate([c for _, _, c in solved])
    else:
        fit, dropped, constant = _scatter(groups, solved, B * L, L)
    out = _package(job, instances, positions, lab, fit, model_pred, dropped & ~constant, dropped, Z.shape[2])
    if samples.widths is not None:  # an instance without any feature: say why it lists none
        for p, e in enumerate(out):
            if samples.widths[p // L] == 0:
                e.note = job.frontend.no_features_note
    return out


def _scatter(groups, solved, P: int, L: int):
    """One Fit (and dropped, constant) for P = B·L problems from the fits of groups of instances,
    each of its own width: a group with fewer selected features is padded with constant ones."""
    k = max(f.features.shape[1] for f, _, _ in solved)
    features = np.zeros((P, k), dtype=np.intp)
    coef = np.zeros((P, k))
    dropped = np.ones((P, k), dtype=bool)
    constant = np.ones((P, k), dtype=bool)
    intercept, local, score = np.zeros(P), np.zeros(P), np.zeros(P)
    for (idx, _), (f, d, c) in zip(groups, solved, strict=True):
        rows = (idx[:, None] * L + np.arange(L)).ravel()  # the group's problems, instance-major
        kk = f.features.shape[1]
        features[rows, :kk], coef[rows, :kk] = f.features, f.coef
        dropped[rows, :kk], constant[rows, :kk] = d, c
        intercept[rows], local[rows], score[rows] = f.intercept, f.local_prediction, f.score
    return surrogate.Fit(features, coef, intercept, local, score, alpha=solved[0][0].alpha), dropped, constant


def _surrogates(settings: Settings, Z, w, Y, binary: int):
    """The surrogates of some instances (Z, w, Y as in ``surrogate.moments``), the selected
    features each leaves out (constant, or not significant), and which of them are constant."""
    z0 = np.repeat(Z[:, :, 0], Y.shape[2], axis=0)
    m = surrogate.moments(Z, w, Y, binary=binary)
    chosen = surrogate.select(m, settings.num_features, settings.feature_selection, z0)
    # a feature that does not vary over the samples (a constant column) has no
    # weight to report: it is left out rather than listed with rounding noise
    rows = np.arange(len(chosen))[:, None]
    dropped = m.diag[rows, chosen] <= 1e-12 * np.maximum(m.diag.max(axis=1, keepdims=True), 1e-300)
    constant = dropped
    fit = surrogate.fit(m, chosen, z0, dropped=dropped if dropped.any() else None)
    if settings.confidence > 0:
        # leave out what cannot be told apart from zero, and refit on the rest
        # family-wise over the k selected features (Bonferroni)
        z = float(ndtri(1 - (1 - settings.confidence) / (2 * chosen.shape[1])))
        dropped = dropped | (surrogate.t_statistics(m, fit) < z)
        # a fit without residual (the model is a function of a few features here) makes every
        # t statistic huge: a weight that is rounding noise next to the largest is not a weight
        scale = np.abs(fit.coef).max(axis=1, keepdims=True)
        dropped |= np.abs(fit.coef) <= 1e-9 * scale
        fit = surrogate.fit(m, chosen, z0, dropped=dropped)
    return fit, dropped, constant


def _package(job, instances, positions, lab, fit, model_pred, insignificant, dropped, n_samples):
    """The explanations: ``dropped`` (P, k) marks the selected features left out, ``insignificant``
    those of them whose weight could not be told from zero (the others are constant)."""
    L, out = lab.shape[1], []
    for p in range(len(fit.features)):
        b, li = divmod(p, L)
        order = np.argsort(-np.abs(fit.coef[p]), kind="stable")
        feats = []
        for o in order:
            if dropped[p, o]:
                continue
            # (feature, condition, value), and (column, spans, bbox, area) from front-ends that have them
            name, condition, value, *more = job.frontend.describe(instances, b, int(fit.features[p, o]))
            feats.append(FeatureWeight(name, condition, value, float(fit.coef[p, o]), *more))
        label = None if job.model.mode == "regression" else job.model.classes[int(lab[b, li])]
        out.append(
            Explanation(
                row=int(positions[b]),
                label=label,
                model_prediction=float(model_pred[p]),
                local_prediction=float(fit.local_prediction[p]),
                intercept=float(fit.intercept[p]),
                score=float(fit.score[p]),
                features=feats,
                fidelity_gap=abs(float(fit.local_prediction[p]) - float(model_pred[p])),
                low_fidelity=bool(fit.score[p] < job.settings.min_fidelity),
                num_samples=int(n_samples),
                insignificant=int(insignificant[p].sum()),
                source=job.frontend.source(instances, b),
            )
        )
    return out


def _stability(replicates: list[Explanation], main: Explanation) -> Stability:
    """How R re-explanations under other seeds agree with ``main``.

    ``score``: mean Jaccard overlap of their feature sets with main's (1 = always the
    same features); per feature of main, ``frequency``: share of replicates listing it
    (the variable stability of Visani et al.), and the mean and standard deviation of
    its weight over them (0 where absent; the coefficient stability).
    """
    names = [f.key for f in main.features]
    base = set(names)
    overlaps, weights = [], np.zeros((len(replicates), len(names)))
    for r, e in enumerate(replicates):
        found = {f.key: f.weight for f in e.features}
        union = base | set(found)
        overlaps.append(len(base & set(found)) / len(union) if union else 1.0)
        weights[r] = [found.get(n, 0.0) for n in names]
    present = weights != 0
    return Stability(
        replicates=len(replicates),
        score=float(np.mean(overlaps)),
        features=[
            FeatureStability(
                feature=main.features[j].feature,
                frequency=float(present[:, j].mean()),
                weight_mean=float(weights[:, j].mean()),
                weight_std=float(weights[:, j].std()),
            )
            for j in range(len(names))
        ],
    )
