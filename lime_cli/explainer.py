"""The LIME tabular explainer: the library's entry point.

>>> from lime_cli import Explainer
>>> explainer = Explainer(model, train, target="label", num_features=5)
>>> explanations = explainer.explain(test.iloc[:100])
>>> frame = explanations_to_frame(explanations)

Rows are explained in chunks: the samples of every row of a chunk form one
array, the model is called once per chunk, and the surrogates of the chunk are
solved together.  A row draws its samples from a generator seeded with the
seed and a hash of the row's own values (:mod:`lime_cli._streams`), so its
explanation depends on neither its position nor the chunk it falls in.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtri

from . import _memory, _streams, _surrogate
from ._kernel import default_kernel_width, exponential_kernel
from ._parallel import as_worker, inner_threads, run_chunks, run_threads
from ._sampling import SAMPLINGS, Layout, model_input, perturb, release_workspace
from ._tabular import TrainingStats, _category_key, check_single_values, not_numbers
from .errors import DataError, ModelError, ParameterError

MODES = ("classification", "regression")

#: Sample sizes of ``num_samples="auto"``: the first level, and the cap.
AUTO_START, AUTO_CAP = 1000, 32000
MAX_SAMPLES = 10_000_000

#: Method settings of the presets; explicit arguments override them.  "lime"
#: reproduces lime 0.2.0.1's method; "default" is chosen from bench/QUALITY.md.
PRESETS = {
    "default": {"locality": 0.8, "confidence": 0.95, "min_fidelity": 0.1, "sampling": "sobol"},
    "lime": {"locality": 0.0, "confidence": 0.0, "min_fidelity": 0.1, "sampling": "random"},
}

#: Columns of the tidy (long) form, in order.
TIDY_COLUMNS = [
    "row",
    "label",
    "rank",
    "feature",
    "condition",
    "value",
    "weight",
    "intercept",
    "local_prediction",
    "model_prediction",
    "score",
    "fidelity_gap",
    "low_fidelity",
    "num_samples",
    "stability_score",
    "selection_frequency",
    "weight_std",
]

_TIDY_TYPES = {
    "row": "int64",
    "label": "string",
    "rank": "int64",
    "feature": "string",
    "condition": "string",
    "value": "string",
    "weight": "float64",
    "intercept": "float64",
    "local_prediction": "float64",
    "model_prediction": "float64",
    "score": "float64",
    "fidelity_gap": "float64",
    "low_fidelity": "bool",
    "num_samples": "int64",
    "stability_score": "float64",
    "selection_frequency": "float64",
    "weight_std": "float64",
}


@dataclass
class FeatureWeight:
    """One feature of an explanation: the instance's condition and its weight."""

    feature: str
    condition: str
    value: object
    weight: float


@dataclass
class Explanation:
    """The explanation of one row for one label (``label`` is None in regression)."""

    row: int
    label: str | None
    model_prediction: float
    local_prediction: float
    intercept: float
    score: float
    features: list[FeatureWeight] = field(default_factory=list)
    fidelity_gap: float = 0.0
    low_fidelity: bool = False
    num_samples: int = 0
    insignificant: int = 0
    stability: dict | None = None

    def to_dict(self) -> dict:
        """The JSON form (schema version 1)."""
        return asdict(self)


def explanations_to_frame(explanations: Sequence[Explanation]) -> pd.DataFrame:
    """Tidy long form: one line per (row, label, feature), columns :data:`TIDY_COLUMNS`.

    An explanation that lists no feature (no selected weight could be told
    apart from zero) is one line of rank 0 with no feature, so that every
    explained row is in the table.
    """
    records = []
    nan = float("nan")
    none = FeatureWeight(None, None, None, nan)
    for e in explanations:
        stab = e.stability or {}
        per_feature = {f["feature"]: f for f in stab.get("features", [])}
        ranked = enumerate(e.features, start=1) if e.features else [(0, none)]
        for rank, f in ranked:
            fs = per_feature.get(f.feature, {})
            records.append(
                (
                    e.row,
                    e.label,
                    rank,
                    f.feature,
                    f.condition,
                    None if f.value is None else str(f.value),
                    f.weight,
                    e.intercept,
                    e.local_prediction,
                    e.model_prediction,
                    e.score,
                    e.fidelity_gap,
                    e.low_fidelity,
                    e.num_samples,
                    stab.get("score", nan),
                    fs.get("frequency", nan),
                    fs.get("weight_std", nan),
                )
            )
    frame = pd.DataFrame.from_records(records, columns=TIDY_COLUMNS)
    return frame.astype(_TIDY_TYPES)


class Explainer:
    """Explains predictions of ``model`` with LIME, using ``data`` for its statistics.

    Parameters
    ----------
    model:
        Anything with ``predict_proba`` (classification) or ``predict``
        (regression) that accepts a DataFrame of the feature columns; a model
        fitted on a bare array (``n_features_in_`` but no ``feature_names_in_``)
        receives a float array.
    data:
        The training table.  If the model has ``feature_names_in_``, those
        columns, in that order, are the features; otherwise every column but
        ``target``.
    stats:
        Training statistics saved earlier (``lime fit``), in place of ``data``;
        then ``target``, ``categorical`` and ``discretizer`` are those it was
        made with.
    mode:
        ``"classification"`` or ``"regression"``; inferred from the model if None.
    target:
        A column of ``data`` holding the labels; it is never a feature.
    categorical:
        Columns to treat as categorical besides non-numeric and boolean ones.
    discretizer:
        ``quartile``, ``decile``, ``entropy`` (needs ``target``) or ``none``.
    kernel_width:
        Width of the exponential kernel; default ``0.75 * sqrt(n_features)``.
    feature_selection:
        ``auto`` (forward when ``num_features <= 6``, else highest),
        ``forward``, ``highest``, ``lasso`` or ``none`` (all features).
    num_features, num_samples, seed:
        Features per explanation, samples per row (the row included), seed.
    batch_size:
        Rows per chunk; by default chosen so a chunk's arrays stay near 32 MB.
    preset:
        ``"default"`` (lime-cli's method) or ``"lime"`` (lime 0.2.0.1's); the
        four settings below default to the preset's.
    locality:
        Chance in [0, 1) that a sample keeps each of the row's own values
        (0: every value drawn from the training data, as lime does).
    confidence:
        Leave out selected features whose weight is not distinct from 0 at
        this family-wise confidence (0: off).
    min_fidelity:
        Mark explanations whose weighted R² is lower as low fidelity.
    sampling:
        ``"sobol"`` (randomly shifted Sobol' points: the same distribution,
        spread evenly, so rankings vary less between seeds) or ``"random"``
        (independent draws, as lime).
    """

    def __init__(
        self,
        model,
        data: pd.DataFrame | None = None,
        *,
        stats: TrainingStats | None = None,
        mode: str | None = None,
        target: str | None = None,
        categorical: Sequence[str] = (),
        discretizer: str = "quartile",
        kernel_width: float | None = None,
        feature_selection: str = "auto",
        num_features: int = 10,
        num_samples: int = 5000,
        seed: int = 0,
        batch_size: int | None = None,
        preset: str = "default",
        locality: float | None = None,
        confidence: float | None = None,
        min_fidelity: float | None = None,
        sampling: str | None = None,
    ) -> None:
        if preset not in PRESETS:
            raise ParameterError(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
        settings = dict(PRESETS[preset])
        for key, value in (
            ("locality", locality),
            ("confidence", confidence),
            ("min_fidelity", min_fidelity),
            ("sampling", sampling),
        ):
            if value is not None:
                settings[key] = value
        if not 0 <= settings["locality"] < 1:
            raise ParameterError(f"--locality must be in [0, 1), not {settings['locality']}")
        if not 0 <= settings["confidence"] < 1:
            raise ParameterError(f"--confidence must be in [0, 1) (0: off), not {settings['confidence']}")
        if settings["sampling"] not in SAMPLINGS:
            raise ParameterError(
                f"--sampling must be one of {', '.join(SAMPLINGS)}, not {settings['sampling']!r}"
            )
        self.preset = preset
        self.sampling = settings["sampling"]
        self.locality = float(settings["locality"])
        self.confidence = float(settings["confidence"])
        self.min_fidelity = float(settings["min_fidelity"])
        if not math.isfinite(self.min_fidelity):
            raise ParameterError(f"--min-fidelity must be a number, not {self.min_fidelity}")
        _check_int("--num-features", num_features, 1)
        self.auto_samples = num_samples == "auto"
        if self.auto_samples:
            num_samples = AUTO_START
        _check_int("--num-samples", num_samples, 2)
        if num_samples > MAX_SAMPLES:
            raise ParameterError(f"--num-samples must be at most {MAX_SAMPLES:,}, not {num_samples:,}")
        _check_int("--seed", seed, 0)
        if batch_size is not None:
            _check_int("--batch-size", batch_size, 1)
        if kernel_width is not None and not (math.isfinite(kernel_width) and kernel_width > 0):
            raise ParameterError(f"--kernel-width must be a positive number, not {kernel_width}")
        if feature_selection not in _surrogate.SELECTIONS:
            raise ParameterError(
                f"--feature-selection must be one of {', '.join(_surrogate.SELECTIONS)}, "
                f"not {feature_selection!r}"
            )
        self.model = model
        self.mode = _infer_mode(model, mode)
        self.num_features = num_features
        self.num_samples = num_samples
        self.seed = seed
        self.feature_selection = feature_selection
        self.batch_size = batch_size

        if stats is not None:  # statistics saved by `lime fit`: no training table needed
            self.stats = stats
            self.feature_names = stats.feature_names
            model_names = getattr(model, "feature_names_in_", None)
            if model_names is not None and [str(n) for n in model_names] != self.feature_names:
                raise DataError("the explainer file's columns are not the model's features")
        else:
            if data is None:
                raise ParameterError("give the training data (or saved training statistics)")
            self.stats = self._fit_stats(data, target, categorical, discretizer, seed)
        self._layout = Layout.from_stats(self.stats)
        d = len(self.feature_names)
        self.kernel_width = float(kernel_width) if kernel_width else default_kernel_width(d)
        self._as_array = hasattr(model, "n_features_in_") and not hasattr(model, "feature_names_in_")
        if self.mode == "classification":
            classes = getattr(model, "classes_", None)
            self.classes = None if classes is None else [str(c) for c in np.asarray(classes).tolist()]
        else:
            self.classes = None

    def _fit_stats(self, data, target, categorical, discretizer, seed) -> TrainingStats:
        if target is not None and target not in data.columns:
            raise DataError(f"--target column {target!r} is not a column of the data")
        self.feature_names = _feature_columns(self.model, data, target)
        categorical = list(categorical)
        unknown = [c for c in categorical if c not in data.columns]
        if unknown:
            raise DataError(f"--categorical column {unknown[0]!r} is not a column of the data")
        categorical = [c for c in categorical if c in self.feature_names]
        labels = data[target].to_numpy() if target is not None else None
        return TrainingStats.from_frame(
            data[self.feature_names],
            categorical=categorical,
            discretizer=discretizer,
            labels=labels,
            regression=self.mode == "regression",
            seed=seed,
        )

    # -- public API -------------------------------------------------------------------

    def explain(
        self,
        rows: pd.DataFrame,
        *,
        positions: Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        top_labels: int | None = None,
        stability: int = 0,
    ) -> list[Explanation]:
        """Explain every row of ``rows``; see :meth:`iter_explain`."""
        out: list[Explanation] = []
        chunks = self.iter_explain(
            rows, positions=positions, labels=labels, top_labels=top_labels, stability=stability
        )
        for chunk in chunks:
            out.extend(chunk)
        return out

    def iter_explain(
        self,
        rows: pd.DataFrame,
        *,
        positions: Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        top_labels: int | None = None,
        n_jobs: int = 1,
        backend: str | None = None,
        stability: int = 0,
    ) -> Iterator[list[Explanation]]:
        """Yield the explanations of ``rows`` chunk by chunk, in row order.

        ``positions`` are the rows' 0-based positions in the explained table
        (default ``0..len(rows)-1``), reported as ``row``; a row's random
        stream comes from the seed and its values, not its position.  ``labels`` (class names, as strings) or
        ``top_labels`` choose the explained classes; by default the class the
        model predicts for the row.  Arguments are validated before the first
        chunk is computed.

        ``n_jobs`` > 1 explains chunks in parallel with joblib (``backend``
        names a joblib backend, e.g. ``"dask"`` with a running
        ``distributed.Client``); the output is identical to a serial run and
        always in row order.
        """
        features = self.check_rows(rows)
        positions = np.arange(len(rows)) if positions is None else np.asarray(positions, dtype=np.int64)
        if len(positions) != len(rows):
            raise ParameterError("positions must have one entry per row")
        _check_numbers(features, positions, self.stats)
        batch = self.batch_size or self._auto_batch_size()
        _check_int("--stability", stability, 0)
        if stability > 1000:
            raise ParameterError(f"--stability must be at most 1000, not {stability}")
        if stability and self.auto_samples:
            raise ParameterError("--stability needs a fixed --num-samples, not auto")
        if stability:  # the replicates share the chunk: keep its arrays the same size
            batch = max(1, batch // (stability + 1))
        _check_int("--jobs", n_jobs, -1)
        if n_jobs == 0:
            raise ParameterError("--jobs must be a positive number of workers, or -1 for one per core")
        known = self.classes is not None or self.mode == "regression"
        label_idx = self._label_indices(labels, top_labels) if known else None
        if len(features):
            self._probe(features)
        if not known:  # the probe gave the classes
            label_idx = self._label_indices(labels, top_labels)
        args = (label_idx, top_labels, stability)
        if self.batch_size:
            tasks = (  # lazy: a chunk's rows are sliced only when it is due
                (features.iloc[a : a + batch], positions[a : a + batch], *args)
                for a in range(0, len(features), batch)
            )
            return _releasing(run_chunks(self._explain_chunk, tasks, n_jobs, backend))
        return _releasing(self._sized_chunks(features, positions, batch, args, n_jobs, backend))

    def _sized_chunks(self, features, positions, cap, args, n_jobs, backend) -> Iterator[list[Explanation]]:
        """The automatic chunking: chunks sized by the memory they take (see ``_memory``).

        Serially every chunk is measured; with workers the first chunks are
        explained here, until one has been measured, and the rest go to the
        workers in chunks of the measured size.
        """
        parallel = not (n_jobs == 1 and backend is None)
        workers = 1 if not parallel else (n_jobs if n_jobs > 0 else inner_threads())
        sizer = _memory.ChunkSizer(cap, workers)
        start, n = 0, len(features)
        while start < n and not (parallel and (sizer.measured or not sizer.usable)):
            size = sizer.next_size()
            task = (features.iloc[start : start + size], positions[start : start + size], *args)
            with sizer.measure(len(task[0])):
                # as a worker would run it, when workers run the others
                out = as_worker(self._explain_chunk, *task) if parallel else self._explain_chunk(*task)
            yield out
            start += size
        if start < n:
            size = sizer.next_size()
            tasks = (
                (features.iloc[a : a + size], positions[a : a + size], *args) for a in range(start, n, size)
            )
            yield from run_chunks(self._explain_chunk, tasks, n_jobs, backend)

    def check_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The feature columns of ``rows``, or a DataError naming the missing ones."""
        missing = [c for c in self.feature_names if c not in rows.columns]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DataError(f"the explained rows lack column(s) the model needs: {shown}{more}")
        features = rows[self.feature_names]
        check_single_values(features)
        return features

    # -- internals ------------------------------------------------------------------------

    def _auto_batch_size(self) -> int:
        n = AUTO_CAP if self.auto_samples else self.num_samples
        per_row = n * max(len(self.feature_names), 1)
        return int(min(max(4_000_000 // per_row, 1), 512))

    def _label_indices(self, labels, top_labels) -> np.ndarray | None:
        if self.mode == "regression":
            if labels or top_labels:
                raise ParameterError("--label and --top-labels apply to classification only")
            return None
        if labels and top_labels:
            raise ParameterError("give --label or --top-labels, not both")
        if top_labels is not None:
            n = len(self.classes) if self.classes else None
            if top_labels < 1 or (n is not None and top_labels > n):
                raise ParameterError(f"--top-labels must be between 1 and {n or 'the number of classes'}")
        if not labels:
            return None
        if self.classes is None:
            raise ModelError("the model has no classes_ attribute: --label cannot be matched to its classes")
        idx = []
        for lab in dict.fromkeys(labels):  # each class once, in the order given
            if str(lab) not in self.classes:
                shown = ", ".join(self.classes[:10])
                raise DataError(f"--label {lab!r} is not a class of the model (classes: {shown})")
            idx.append(self.classes.index(str(lab)))
        return np.array(idx, dtype=np.intp)

    def _encode(self, sub: pd.DataFrame):
        """The chunk's instances as bin/category codes and float values."""
        cols = self.stats.columns
        lay = self._layout
        nb = lay.n_binned
        numeric_pos = np.concatenate([lay.discrete[:nb], lay.continuous])
        try:  # one conversion for every numeric column of the chunk
            block = sub.iloc[:, numeric_pos].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            block = np.column_stack([cols[i].numeric(sub.iloc[:, i]) for i in numeric_pos])
        block = block.reshape(len(sub), len(numeric_pos))
        binned0, cont0 = block[:, :nb], block[:, nb:]
        codes0 = np.empty((len(sub), len(lay.discrete)), dtype=np.int64)
        for j, i in enumerate(lay.discrete):
            c = cols[i]
            codes0[:, j] = c.encode_numeric(binned0[:, j]) if j < nb else c.encode(sub.iloc[:, i])
        return codes0, binned0, cont0

    def _row_keys(self, sub, codes0, binned0, cont0) -> np.ndarray:
        """The rows' content keys (:func:`_streams.row_keys`): what seeds their streams."""
        lay = self._layout
        unseen = {}
        for b, j in zip(*np.nonzero(codes0 < 0), strict=True):  # categories the training data lacks
            unseen[int(b), int(j)] = _category_key(sub.iloc[int(b), int(lay.discrete[j])])
        return _streams.row_keys(codes0, np.hstack([binned0, cont0]), unseen)

    def _predict(self, X, n_rows: int, S: int) -> np.ndarray:
        """Model outputs as (B, S, C), checked (C = 1 in regression)."""
        name = "predict_proba" if self.mode == "classification" else "predict"
        try:
            out = getattr(self.model, name)(X)
        except SystemExit as exc:
            raise ModelError(f"the model's {name} called sys.exit({exc.code})") from None
        except Exception as exc:  # the user's model may raise anything
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"the model's {name} failed: {msg}") from exc
        out = _checked_predictions(out, name, n_rows * S, self.classes)
        return out.reshape(n_rows, S, out.shape[1])

    def _probe(self, features: pd.DataFrame) -> None:
        """Ask the model about two samples of the first row, before any chunk.

        A model whose output is not what LIME needs (the wrong shape, not
        probabilities, more columns than classes) is reported before anything
        is written; and a classifier without ``classes_`` gets its classes
        ("0", "1", ...) here, once, so every worker has them.
        """
        sub = features.iloc[:1]
        codes0, binned0, cont0 = self._encode(sub)
        rng = [np.random.default_rng(0)]  # not a row's stream: the probe's samples are thrown away
        pert = perturb(self._layout, codes0, binned0, cont0, rng, 2, self.locality, 1, "random")
        X = model_input(self.stats, self._layout, pert, self._as_array, instances=sub)
        preds = self._predict(X, 1, 2)
        if self.classes is None and self.mode == "classification":
            self.classes = [str(i) for i in range(preds.shape[2])]

    def _explain_chunk(self, sub, positions, label_idx, top_labels, stability=0) -> list[Explanation]:
        """Explain one chunk, start to end (what a parallel worker runs).

        With ``stability`` R, the chunk's rows are explained R more times, with
        streams of their own (``_streams.REPLICATE``, r), in the same batch; the
        main explanations then carry how the replicates agree with them.
        """
        if self.auto_samples:
            return self._explain_auto(sub, positions, label_idx, top_labels)
        streams = [(_streams.MAIN, 0)] * len(sub)
        if stability:
            streams += [(_streams.REPLICATE, r) for r in range(1, stability + 1) for _ in range(len(sub))]
            sub = pd.concat([sub] * (stability + 1))
            positions = np.tile(positions, stability + 1)
        out = self._run(sub, positions, streams, self.num_samples, label_idx, top_labels)
        if not stability:
            return out
        n = len(out) // (stability + 1)  # explanations per copy: B rows x L labels
        main = out[:n]
        for i, e in enumerate(main):
            e.stability = _stability([out[r * n + i] for r in range(1, stability + 1)], e)
        return main

    def _run(self, sub, positions, streams, n, label_idx, top_labels) -> list[Explanation]:
        prepared, X = self._prepare(sub, positions, streams, n)
        return self._finish(prepared, self._predict(X, len(sub), n), label_idx, top_labels)

    def _explain_auto(self, sub, positions, label_idx, top_labels) -> list[Explanation]:
        """``num_samples="auto"``: double each row's samples until its explanation holds.

        Level k draws AUTO_START * 2**k fresh samples from the row's stream
        (``_streams.AUTO``, k).  A row stops at the first level whose features and signs equal
        those of the level before (each weight being significant at
        ``confidence`` when pruning is on), or at AUTO_CAP samples; its
        explanation is that of the last level, and ``num_samples`` says its size.
        """

        def streams(pos, level):
            return [(_streams.AUTO, level)] * len(pos)

        def signature(exps):
            return [{(f.feature, f.weight > 0) for f in e.features} for e in exps]

        n, level = AUTO_START, 0
        prev = self._run(sub, positions, streams(positions, 0), n, label_idx, top_labels)
        L = len(prev) // len(sub)
        prev_by_row = [prev[i * L : (i + 1) * L] for i in range(len(sub))]
        result: list[list[Explanation] | None] = [None] * len(sub)
        pending = np.arange(len(sub))
        while len(pending):
            level, n = level + 1, n * 2
            cur = self._run(
                sub.iloc[pending],
                positions[pending],
                streams(positions[pending], level),
                n,
                label_idx,
                top_labels,
            )
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

    def _prepare(self, sub, positions, streams, n):
        """The samples of a chunk and the model's input; ``streams`` gives each row's
        (purpose, index) of :func:`_streams.generators`."""
        codes0, binned0, cont0 = self._encode(sub)
        rngs = _streams.generators(self.seed, self._row_keys(sub, codes0, binned0, cont0), streams)
        pert = perturb(
            self._layout, codes0, binned0, cont0, rngs, n, self.locality, inner_threads(), self.sampling
        )
        X = model_input(self.stats, self._layout, pert, self._as_array, instances=sub)
        return (sub, positions, codes0, pert.Z), X

    def _finish(self, prepared, preds, label_idx, top_labels) -> list[Explanation]:
        sub, positions, codes0, Z = prepared
        B = len(sub)
        if self.mode == "regression":
            lab = np.zeros((B, 1), dtype=np.intp)
        elif label_idx is not None:
            lab = np.broadcast_to(label_idx, (B, len(label_idx)))
        elif top_labels:
            lab = np.argsort(-preds[:, 0, :], axis=1, kind="stable")[:, :top_labels]
        else:
            lab = np.argmax(preds[:, 0, :], axis=1)[:, None]
        L = lab.shape[1]
        Y = np.take_along_axis(preds, lab[:, None, :], axis=2)

        nd = len(self._layout.discrete)
        # the rows' surrogates are independent: solve them in a few parts, on threads
        bounds = np.linspace(0, B, min(B, inner_threads()) + 1).astype(int)
        parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

        def solve(part):
            z = Z[part]
            # distance to the instance: its discrete columns are all 1, and Z is 0/1 there
            sq = nd - z[:, :nd, :].sum(axis=1)
            if nd < z.shape[1]:
                sq += ((z[:, nd:, :] - z[:, nd:, :1]) ** 2).sum(axis=1)
            return self._surrogates(z, exponential_kernel(np.sqrt(sq), self.kernel_width), Y[part])

        # single-threaded BLAS: the sums are then done in the same order on any machine,
        # worker or cluster, so the output is identical to the last bit
        with _surrogate.single_thread_blas():
            solved = run_threads(solve, parts, len(parts))
        fit = _surrogate.Fit.concatenate([f for f, _ in solved])
        dropped = np.concatenate([d for _, d in solved])
        model_pred = Y[:, 0, :].reshape(B * L)
        return self._package(sub, positions, lab, codes0, fit, model_pred, dropped, Z.shape[2])

    def _surrogates(self, Z, w, Y) -> tuple[_surrogate.Fit, np.ndarray]:
        """The surrogates of some rows (Z, w, Y as in ``_surrogate.moments``), and the
        selected features each leaves out (constant, or not significant)."""
        z0 = np.repeat(Z[:, :, 0], Y.shape[2], axis=0)
        m = _surrogate.moments(Z, w, Y, binary=len(self._layout.discrete))
        chosen = _surrogate.select(m, self.num_features, self.feature_selection, z0)
        # a feature that does not vary over the samples (a constant column) has no
        # weight to report: it is left out rather than listed with rounding noise
        rows = np.arange(len(chosen))[:, None]
        dropped = m.diag[rows, chosen] <= 1e-12 * np.maximum(m.diag.max(axis=1, keepdims=True), 1e-300)
        fit = _surrogate.fit(m, chosen, z0, dropped=dropped if dropped.any() else None)
        if self.confidence > 0:
            # leave out what cannot be told apart from zero, and refit on the rest
            # family-wise over the k selected features (Bonferroni)
            z = float(ndtri(1 - (1 - self.confidence) / (2 * chosen.shape[1])))
            dropped |= _surrogate.t_statistics(m, fit) < z
            fit = _surrogate.fit(m, chosen, z0, dropped=dropped)
        return fit, dropped

    def _package(self, sub, positions, lab, codes0, fit, model_pred, dropped, n_samples) -> list[Explanation]:
        cols = self.stats.columns
        code_of = {int(i): j for j, i in enumerate(self._layout.discrete)}
        values = sub.to_numpy(dtype=object)
        L = lab.shape[1]
        out = []
        for p in range(len(fit.features)):
            b, li = divmod(p, L)
            order = np.argsort(-np.abs(fit.coef[p]), kind="stable")
            feats = []
            for o in order:
                if dropped is not None and dropped[p, o]:
                    continue
                i = int(self._layout.order[fit.features[p, o]])
                c = cols[i]
                v = values[b, i]
                code = int(codes0[b, code_of[i]]) if i in code_of else -1
                feats.append(
                    FeatureWeight(c.name, c.condition(code, v), _json_value(v), float(fit.coef[p, o]))
                )
            label = None if self.mode == "regression" else self.classes[int(lab[b, li])]
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
                    low_fidelity=bool(fit.score[p] < self.min_fidelity),
                    num_samples=int(n_samples),
                    insignificant=0 if dropped is None else int(dropped[p].sum()),
                )
            )
        return out


def _releasing(chunks: Iterator[list[Explanation]]) -> Iterator[list[Explanation]]:
    """``chunks``, then the sampling buffers freed (a whole run reuses them)."""
    try:
        yield from chunks
    finally:
        release_workspace()


def _stability(replicates: list[Explanation], main: Explanation) -> dict:
    """How R re-explanations under other seeds agree with ``main``.

    ``score``: mean Jaccard overlap of their feature sets with main's (1 = always the
    same features); per feature of main, ``frequency``: share of replicates listing it
    (the variable stability of Visani et al.), and the mean and standard deviation of
    its weight over them (0 where absent; the coefficient stability).
    """
    names = [f.feature for f in main.features]
    base = set(names)
    overlaps, weights = [], np.zeros((len(replicates), len(names)))
    for r, e in enumerate(replicates):
        found = {f.feature: f.weight for f in e.features}
        union = base | set(found)
        overlaps.append(len(base & set(found)) / len(union) if union else 1.0)
        weights[r] = [found.get(n, 0.0) for n in names]
    present = weights != 0
    return {
        "replicates": len(replicates),
        "score": float(np.mean(overlaps)),
        "features": [
            {
                "feature": n,
                "frequency": float(present[:, j].mean()),
                "weight_mean": float(weights[:, j].mean()),
                "weight_std": float(weights[:, j].std()),
            }
            for j, n in enumerate(names)
        ],
    }


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


#: How far a row of predicted probabilities may sum from 1, and a probability stray below 0 or above 1.
PROBA_SUM_TOLERANCE = 1e-3
PROBA_RANGE_TOLERANCE = 1e-6


def _checked_predictions(out, name: str, n: int, classes: list[str] | None) -> np.ndarray:
    """The model's output as a float (n, C) array, or a ModelError saying what is wrong with it.

    ``predict_proba`` must give one row of probabilities per sample (each in
    [0, 1], summing to 1) with one column per class of ``classes`` when known;
    ``predict`` (regression) one number per sample.
    """
    if hasattr(out, "toarray"):  # a sparse matrix
        out = out.toarray()
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        reason = str(exc).split(". ")[0].splitlines()[0]
        raise ModelError(f"the model's {name} returned {_describe(out)}, not numbers ({reason})") from None
    if arr.ndim == 0:
        raise ModelError(f"the model's {name} returned {_describe(out)}, not one prediction per sample")
    if name == "predict":
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ModelError(
                f"the model's predict returned shape {arr.shape}; regression needs one value per row"
            )
        arr = arr[:, None]
    elif arr.ndim != 2:
        hint = " (one value per row: is it a regressor? try --mode regression)" if arr.ndim == 1 else ""
        raise ModelError(
            f"the model's predict_proba returned shape {arr.shape}; expected (rows, classes){hint}"
        )
    if arr.shape[0] != n:
        raise ModelError(f"the model's {name} returned {arr.shape[0]} predictions for {n} samples")
    if not np.isfinite(arr).all():
        raise ModelError(f"the model's {name} returned NaN or infinite values")
    if name == "predict":
        return arr
    if classes is not None and arr.shape[1] != len(classes):
        shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ModelError(
            f"the model's predict_proba returned {arr.shape[1]} columns for its {len(classes)} "
            f"classes ({shown}): the columns cannot be matched to the classes"
        )
    low, high = float(arr.min()), float(arr.max())
    if low < -PROBA_RANGE_TOLERANCE or high > 1 + PROBA_RANGE_TOLERANCE:
        bad = low if low < -PROBA_RANGE_TOLERANCE else high
        raise ModelError(
            f"the model's predict_proba returned {bad:.6g}, which is not a probability "
            "(scores or a decision function are not probabilities)"
        )
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0)
    if off.max() > PROBA_SUM_TOLERANCE:
        i = int(np.argmax(off))
        raise ModelError(
            f"the model's predict_proba returned probabilities that do not sum to 1 "
            f"(a row sums to {sums[i]:.6g})"
        )
    return arr


def _describe(out: object) -> str:
    """What a model returned, for a message: ``a list of str``, ``an array of dtype <U3``..."""
    if isinstance(out, np.ndarray):
        return f"an array of dtype {out.dtype}"
    if out is None:
        return "None"
    if isinstance(out, (list, tuple)) and out:
        return f"a {type(out).__name__} of {type(out[0]).__name__}"
    return f"a {type(out).__name__}"


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, not {value!r}")


def _infer_mode(model, mode: str | None) -> str:
    has_proba = hasattr(model, "predict_proba")
    if mode is None:
        if has_proba:
            return "classification"
        if hasattr(model, "predict"):
            return "regression"
        raise ModelError(f"{type(model).__name__} has neither predict_proba nor predict: not a model")
    if mode not in MODES:
        raise ParameterError(f"--mode must be classification or regression, not {mode!r}")
    if mode == "classification" and not has_proba:
        raise ModelError(
            f"{type(model).__name__} has no predict_proba: it cannot be explained as a classifier "
            "(use --mode regression to explain its predict)"
        )
    if mode == "regression" and not hasattr(model, "predict"):
        raise ModelError(f"{type(model).__name__} has no predict method")
    return mode


def _feature_columns(model, data: pd.DataFrame, target: str | None) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        if target is not None and target in names:
            raise DataError(f"--target column {target!r} is one of the model's features")
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
            + (" besides the target" if target is not None else " (name the label with --target)")
        )
    return [str(c) for c in cols]


def _json_value(v: object) -> object:
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
