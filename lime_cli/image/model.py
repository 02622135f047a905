"""Models of images: an ONNX file or a Python object, called the way they were trained.

:class:`ImageModel` is what the core calls (:class:`lime_cli.core.model.ModelInfo`
takes it as it takes any model: ``predict_proba`` or ``predict``, ``classes_``).
It is called with an :class:`ImageBatch`, the perturbed images of a chunk
described by the chunk's masks, and builds them piece by piece, each piece at
most :data:`IMAGE_BATCH_BYTES` of pixels, so that a chunk's memory does not grow
with the image size or the number of samples.  The build is a compiled kernel
(``_kernel.c``, numpy where it could not be compiled); with a second core, the
next piece is built on a thread of its own while a model that leaves it idle
runs on this one.  Images reach the model as it expects (:class:`Preprocess`:
``(x * scale - mean) / std`` per channel, channels first, flattened, the
model's dtype): the values' transform is applied once to each image and its
fill, before the pieces are built from them (pixel by pixel, the same numbers),
the layout and dtype to each piece; the outputs are concatenated.

- :class:`ArrayModel` wraps an object whose ``predict_proba`` (or ``predict``)
  takes a float32 array (N, H, W, C), or (N, H*W*C) with ``flatten``.
- :class:`OnnxModel` runs an ONNX file with onnxruntime, and reads from it what it
  takes (:class:`InputSpec`: its input's name, layout, fixed sizes and dtype) and
  which output holds the probabilities (skl2onnx classifiers have two outputs,
  ``label`` and ``probabilities``; the latter may be a list of {class: p} maps,
  whose keys are then the class names).
- ``logits``: a classifier that gives scores before softmax (as a PyTorch network
  exported to ONNX usually does) has them turned into probabilities
  (:func:`probabilities`); a classifier's output that is not probabilities is
  refused, naming the option.

Images that do not fit what a model declares are refused before any chunk
(:meth:`InputSpec.check`, called by the front-end on the first image), with a
message naming the image file, the model and what each is.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path
from time import perf_counter, process_time

import numpy as np

from ..core.model import not_a_probability
from ..core.parallel import in_background
from ..errors import DataError, LimeCliError, ModelError, ParameterError

#: At most this many bytes of perturbed pixels (float32) are built for one call of the model
#: (a 300x451 photo's 1,000 samples took about as long in pieces of 16 MB as of 64 MB, with a
#: quarter of the memory; 10 such photos a call)
IMAGE_BATCH_BYTES = 16 << 20
#: and at most this many images: a model's own work grows with the call (a scikit-learn MLP took
#: 12 ms per digit on calls of 15,000 digits, 3 ms on calls of 1,000: bench/IMAGE.md), an ONNX
#: session's
IMAGE_BATCH_ROWS = 2048
#: a Python model's: numpy's work on a piece that fits a core's cache (1,024 digits: 3.2 MB) is
#: faster (the MLP on the digits' pieces of 1,024 took less time than on pieces of 2,048)
PYTHON_BATCH_ROWS = 1024
#: pieces whose model calls are timed, after one that warms it up, to learn ImageModel.overlaps
TIMED_PIECES = 3

try:  # the compiled build (setup.py); without it, numpy builds the same values
    from . import _kernel
except ImportError:  # pragma: no cover - a machine that could not compile it
    _kernel = None

#: images of at most this many samples each are built sample by sample, without the index of
#: where each region's fill differs (the model's probe: 2 samples; the index of a 300x451 photo
#: takes 8 ms to make)
FEW_SAMPLES = 4
#: a region whose fill differs from the image at this many values or more is written through
#: one flat index over its samples' rows (on a photo's regions 0.7 times as long as numpy's
#: two-axis index; on a digit's, a few dozen values each, 1.1 times)
FLAT_INDEX = 1024

_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(uint8)": "uint8",
           "tensor(float16)": "float16"}  # fmt: skip


# -- the batch of perturbed images ------------------------------------------------------------


@dataclass
class ImageBatch:
    """Images to give a model: plain ``images``, or the samples of B images described by their
    masks ``Z`` (B, D, S) over their ``segments``: a sample shows the image where its region is
    kept and ``fills`` where it is hidden.  Samples are numbered instance-major (b * S + s)."""

    images: np.ndarray  # (B, H, W, C) float32
    fills: np.ndarray | None = None  # (B, H, W, C) float32
    segments: np.ndarray | None = None  # (B, H, W) int32, labels 0..widths[b]-1
    Z: np.ndarray | None = None  # (B, D, S) 0/1
    widths: np.ndarray | None = None  # (B,) regions of each image
    threads: int = 1  # cores the run may use: with 2, a piece is built while the model runs
    #: per image (and layout), what its samples are built from (:meth:`_hiding`, :meth:`_runs`)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.images) * (1 if self.Z is None else self.Z.shape[2])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def transformed(self, preprocess: Preprocess) -> ImageBatch:
        """The batch with its images and fills through ``preprocess.values`` (copies)."""
        if not preprocess.changes_values:
            return self

        def values(x):
            return None if x is None else preprocess.values(np.array(x, dtype=np.float32))

        return ImageBatch(values(self.images), values(self.fills), self.segments, self.Z, self.widths,
                          self.threads)

    def build(self, start: int, stop: int, channels_first: bool = False,
              out: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Samples ``start`` to ``stop`` as a float32 array (n, H, W, C), or (n, C, H, W), written
        into ``out`` when given (an array at least that long, reused from call to call), else fresh.

        Each pixel is copied from the image or the fill, exactly.  A sample is the image, written
        whole (a plain copy, the fastest write there is), then the fill over each region it hides,
        only where the fill differs from the image (on a digit, with each region's mean as fill,
        the blank background's regions need nothing).  The compiled kernel (:mod:`._kernel`)
        writes 64 samples at a time, region by region, the fill as runs of consecutive values
        (found once per image, :func:`._kernel.runs`); without it, numpy
        writes region by region, the fill at the region's pixels in every sample hiding it at
        once (no loop over samples).  Both write the same values, on one thread (on two, right
        after a model's call, a digit's samples took longer: the model's threads still held the
        cores)."""
        H, W, C = self.image_shape
        n = stop - start
        shape = (n, C, H, W) if channels_first else (n, H, W, C)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        else:
            out = out.reshape(-1)[: n * H * W * C].reshape(shape)
        if self.Z is None:
            images = self.images[start:stop]
            out[...] = images.transpose(0, 3, 1, 2) if channels_first else images
            return out
        S = self.Z.shape[2]
        for key in [key for key in self._cache if key[0] < start // S]:
            del self._cache[key]  # images whose samples are all built (pieces come in order): memory back
        if S > FEW_SAMPLES and self._compiles():
            self._compiled(out.reshape(n, -1), start, stop, channels_first)
            return out
        for b in range(start // S, (stop - 1) // S + 1):  # the images whose samples are asked for
            s0, s1 = max(start, b * S) - b * S, min(stop, (b + 1) * S) - b * S
            o0 = b * S + s0 - start
            if S <= FEW_SAMPLES:  # a probe's few samples: masked whole, without the index
                self._masked(out[o0 : o0 + s1 - s0], b, s0, s1, channels_first)
            else:
                self._indexed(out[o0 : o0 + s1 - s0].reshape(s1 - s0, -1), b, s0, s1, channels_first)
        return out

    def _width(self, b: int) -> int:
        """The regions of image b (the rows of Z it uses)."""
        return int(self.widths[b]) if self.widths is not None else self.Z.shape[1]

    def _masked(self, out: np.ndarray, b: int, s0: int, s1: int, channels_first: bool) -> None:
        """Image b's samples s0 to s1 into ``out``, each pixel chosen by its region's mask."""
        shown = (self.Z[b, : self._width(b), s0:s1] > 0.5).T[:, self.segments[b]][..., None]  # (n, H, W, 1)
        some = np.where(shown, self.images[b], self.fills[b])
        out[...] = some.transpose(0, 3, 1, 2) if channels_first else some

    def _indexed(self, rows: np.ndarray, b: int, s0: int, s1: int, channels_first: bool) -> None:
        """Image b's samples s0 to s1 into ``rows`` (one row of values per sample): the image,
        then the fill where each hidden region's fill differs (:meth:`_hiding`)."""
        image, places, values, ends = self._hiding(b, channels_first)
        rows[...] = image
        hidden = ~(self.Z[b, : len(ends), s0:s1] > 0.5)  # (d, n): region hidden in sample
        first, F = 0, rows.shape[1]
        for k, end in enumerate(ends.tolist()):
            which = np.flatnonzero(hidden[k]) if end > first else ()
            if len(which):  # every sample hiding region k at once
                at, fill = places[first:end], values[first:end]
                if end - first >= FLAT_INDEX:
                    rows.reshape(-1)[(which[:, None] * F + at).ravel()] = np.tile(fill, len(which))
                else:
                    rows[which[:, None], at] = fill
            first = end

    def _hiding(self, b: int, channels_first: bool) -> tuple[np.ndarray, ...]:
        """Image b as one row of values in the output's layout; the places in that row where the
        fill differs from the image, region by region (region k's end at ``ends[k]``), and the
        fill's values there."""
        cache = self._cache
        if (b, channels_first) not in cache:
            image, fill, labels = self._rows(b, channels_first)
            places = np.flatnonzero(fill != image)
            region = labels[places]
            places = places[np.argsort(region, kind="stable")]  # by region, each in order
            ends = np.cumsum(np.bincount(region, minlength=self._width(b)))
            cache[(b, channels_first)] = (image, places, fill[places], ends)
        return cache[(b, channels_first)]

    def _rows(self, b: int, channels_first: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Image b, its fill and its region labels, each as one row of values in the output's
        layout."""
        image, fill = self.images[b], self.fills[b]
        labels = self.segments[b]
        C = image.shape[2]
        if channels_first:
            image, fill = image.transpose(2, 0, 1), fill.transpose(2, 0, 1)
            labels = np.broadcast_to(labels, (C, *labels.shape))
        else:
            labels = np.broadcast_to(labels[..., None], (*labels.shape, C))
        image, fill = np.ascontiguousarray(image).reshape(-1), np.ascontiguousarray(fill).reshape(-1)
        return image, fill, labels.reshape(-1)

    def _runs(self, b: int, channels_first: bool) -> tuple[np.ndarray, ...]:
        """For the compiled build: image b and its fill as rows of values in the output's layout,
        and the places where the fill differs as runs of consecutive values of one region (their
        starts and lengths, by region: region k's are ``first[k]`` to ``first[k + 1]``)."""
        cache = self._cache
        if (b, channels_first, "runs") not in cache:
            image, fill, labels = self._rows(b, channels_first)
            # a run: consecutive values of one key (int32, as the labels)
            key = np.where(fill != image, labels, -1).astype(np.int32, copy=False)
            starts, lengths = np.empty((2, len(key)), dtype=np.int64)
            first = np.empty(self._width(b) + 1, dtype=np.int64)
            n = _kernel.runs(key, self._width(b), starts, lengths, first)
            cache[(b, channels_first, "runs")] = (image, fill, starts[:n], lengths[:n], first)
        return cache[(b, channels_first, "runs")]

    def _compiled(self, rows: np.ndarray, start: int, stop: int, channels_first: bool) -> None:
        """Samples ``start`` to ``stop`` into ``rows`` (one row of values per sample) with the
        compiled kernel, image by image."""
        S = self.Z.shape[2]
        for b in range(start // S, (stop - 1) // S + 1):
            lo, hi = max(start, b * S), min(stop, (b + 1) * S)
            masks = np.ascontiguousarray(self.Z[b], dtype=np.float64)  # no copy: as sampled
            _kernel.build(*self._runs(b, channels_first), masks, S, lo - b * S, rows[lo - start : hi - start])

    def _compiles(self) -> bool:
        """Whether the compiled kernel builds this batch's samples (float32 images and fills)."""
        return _kernel is not None and self.images.dtype == self.fills.dtype == np.float32


# -- what a model takes --------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """What a model declares it takes, for checking images against it (None: not declared).

    ``layout``: ``"NHWC"``, ``"NCHW"``, ``"NHW"`` (greyscale without a channel axis),
    ``"flat"`` (one row of ``values`` per image) or ``"any"`` (nothing declared).
    """

    name: str  # the model, as messages name it: "model file m.onnx", "the model (MLPClassifier)"
    layout: str = "any"
    height: int | None = None
    width: int | None = None
    channels: int | None = None
    values: int | None = None

    def check(self, shape: tuple[int, int, int], where: str) -> None:
        """A DataError naming ``where`` (an image file) when an image of ``shape`` (H, W, C) does
        not fit the model."""
        H, W, C = shape
        if self.layout == "flat":
            if self.values is not None and self.values != H * W * C:
                raise DataError(
                    f"{where} gives {H}x{W}x{C} = {H * W * C} values per image, but {self.name} takes "
                    f"{self.values}{_flat_hint(self.values, H, W, C)}"
                )
            return
        if self.channels is not None and self.channels != C:
            hint = "make them greyscale ({grayscale})" if self.channels == 1 else "give it RGB images"
            raise DataError(
                f"{where} is {_kind(C)}, but {self.name} takes {_kind(self.channels)} images: {hint}"
            )
        want = (self.height or H, self.width or W)
        if want != (H, W):
            raise DataError(
                f"{where} is {H}x{W} pixels, but {self.name} takes {want[0]}x{want[1]} images: "
                f"resize them to {want[0]}x{want[1]} ({{image_size}})"
            )

    def check_size(self, size: tuple[int, int] | None) -> None:
        """A ParameterError when ``image_size`` contradicts the size the model declares."""
        fixed = (self.height, self.width)
        if size is not None and None not in fixed and tuple(size) != fixed:
            raise ParameterError(
                f"{{image_size}} is {size[0]}x{size[1]}, but {self.name} takes {fixed[0]}x{fixed[1]} images"
            )


def _kind(channels: int) -> str:
    return {1: "greyscale (1 channel)", 3: "RGB (3 channels)"}.get(channels, f"{channels}-channel")


def _flat_hint(values: int, H: int, W: int, C: int) -> str:
    """What image a flat model of ``values`` inputs may take, and the options that give it."""
    if C == 3 and values == H * W:
        return f": {H}x{W} greyscale images: make them greyscale ({{grayscale}})"
    if C == 1 and values == 3 * H * W:
        return f": {H}x{W} RGB images, and this one is greyscale"
    for c, extra in ((C, ""), (1, " and greyscale ({grayscale})")):
        side = math.isqrt(values // c) if values % c == 0 else 0
        if side * side * c == values and (c == C or C == 3):
            kind = "" if c == C else " greyscale"
            return f": {side}x{side}{kind} images: resize them to {side}x{side} ({{image_size}}){extra}"
    return ""


@dataclass(frozen=True)
class Preprocess:
    """How images become the model's input: ``(x * scale - mean) / std`` per channel, then the
    layout (channels first; flattened to one row per image, or without the channel axis) and
    the model's dtype."""

    scale: float | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channels_first: bool = False
    flatten: bool = False
    squeeze: bool = False  # (N, H, W): a greyscale model without a channel axis
    dtype: str = "float32"

    @classmethod
    def create(cls, *, scale=None, mean=None, std=None, **layout) -> Preprocess:
        """Checked: ``scale`` a positive number, ``mean`` and ``std`` a number or one per channel
        (``std`` positive)."""
        if scale is not None and not (_real(scale) and math.isfinite(scale) and scale > 0):
            raise ParameterError(f"scale must be a positive number, not {scale!r}")
        return cls(scale=None if scale is None else float(scale), mean=_per_channel("mean", mean),
                   std=_per_channel("std", std, positive=True), **layout)  # fmt: skip

    def check_channels(self, channels: int, where: str) -> None:
        for name in ("mean", "std"):
            values = getattr(self, name)
            if values is not None and len(values) not in (1, channels):
                raise ParameterError(
                    f"{name} has {len(values)} values, but {where} has {channels} channel"
                    f"{'s' if channels > 1 else ''}: give one value, or one per channel"
                )

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The model's input from a fresh float32 batch (n, H, W, C), or (n, C, H, W) with
        ``channels_first``, changed in place where it can."""
        return self.layout(self.values(x, self.channels_first))

    def values(self, x: np.ndarray, channels_first: bool = False) -> np.ndarray:
        """``(x * scale - mean) / std`` per channel, in place in a float32 array (..., H, W, C), or
        (..., C, H, W) with ``channels_first``.  Pixel by pixel: a perturbed image built from the
        image and the fill so transformed is, to the bit, the perturbed image transformed."""
        shape = (-1, 1, 1) if channels_first else (-1,)
        if self.scale is not None:
            x *= np.float32(self.scale)
        if self.mean is not None:
            x -= np.asarray(self.mean, dtype=np.float32).reshape(shape)
        if self.std is not None:
            x /= np.asarray(self.std, dtype=np.float32).reshape(shape)
        return x

    @property
    def changes_values(self) -> bool:
        return self.scale is not None or self.mean is not None or self.std is not None

    def layout(self, x: np.ndarray) -> np.ndarray:
        """The model's dtype and layout for a float32 batch (n, H, W, C), or (n, C, H, W) with
        ``channels_first``, whose values :meth:`values` has transformed."""
        if self.dtype == "uint8":
            x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        elif self.dtype != "float32":
            x = x.astype(self.dtype)
        if self.flatten:
            return x.reshape(len(x), -1)
        return x.reshape(x.shape[:-1]) if self.squeeze else x


def _real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _per_channel(name: str, value, positive: bool = False) -> tuple[float, ...] | None:
    if value is None:
        return None
    values = [value] if _real(value) else value
    ok = isinstance(values, (Sequence, np.ndarray)) and not isinstance(values, str) and len(values) >= 1
    ok = ok and all(_real(v) and math.isfinite(v) and (v > 0 or not positive) for v in values)
    if not ok:
        what = "positive numbers" if positive else "numbers"
        raise ParameterError(f"{name} must be a number or one per channel, {what}, not {value!r}")
    return tuple(float(v) for v in values)


# -- the models ----------------------------------------------------------------------------


class ImageModel:
    """A model of images as the core calls it: ``predict_proba`` (a classifier) or ``predict``,
    and ``classes_`` when known; each takes an :class:`ImageBatch` or an array of images
    (N, H, W[, C]) in their value range, and preprocesses them as the model expects."""

    spec: InputSpec
    preprocess: Preprocess
    classifier: bool  # has predict_proba
    regressor: bool  # has predict
    #: samples per call when the model takes a fixed number (an ONNX batch dimension of 1)
    fixed_batch: int | None = None
    batch_bytes: int = IMAGE_BATCH_BYTES
    batch_rows: int = PYTHON_BATCH_ROWS  # at most this many images a call
    #: whether the next piece is built while the model runs on this one (None: not yet known),
    #: learnt on the first call of enough pieces: yes when the model leaves a core idle (the
    #: process's time on each of its calls on three pieces, after one that warms it up, under
    #: the cores less one half times its wall time), as the planted photo model in numpy does; not
    #: beside one whose threads use every core (BLAS's in a scikit-learn MLP, an ONNX session's),
    #: which a build beside it slowed by more than the build took
    overlaps: bool | None = None
    #: the classifier's output is logits, made probabilities here (:func:`probabilities`)
    logits: bool = False
    _classes: tuple[str, ...] | None = None
    _named: bool = False  # its classes are the user's class_names, checked against its outputs

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def predict_proba(self):
        if not self.classifier:
            raise AttributeError("predict_proba")
        return partial(self._call, "predict_proba")

    @property
    def predict(self):
        if not self.regressor:
            raise AttributeError("predict")
        return partial(self._call, "predict")

    @property
    def classes_(self) -> np.ndarray:
        if self._classes is None:
            raise AttributeError("classes_")
        return np.array(self._classes, dtype=object)

    def _call(self, method: str, X) -> np.ndarray:
        batch = X if isinstance(X, ImageBatch) else _plain(X)
        # the image and the fill preprocessed once, not each of their samples (the same values)
        batch = batch.transformed(self.preprocess)
        outs = []
        for a, b, x in self._pieces(batch):
            pad = self.fixed_batch - (b - a) if self.fixed_batch else 0
            if pad:  # to the model's batch; the extra outputs are dropped
                x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
            out = self._run(method, self.preprocess.layout(x))
            if isinstance(out, np.ndarray) and np.may_share_memory(out, x):
                out = out.copy()  # a model's output that views its input outlives the next piece
            outs.append(out[: b - a] if self.fixed_batch else out)
        out = outs[0] if len(outs) == 1 else self._joined(outs, method)
        if method != "predict_proba":
            return out
        one = self.logits and (np.ndim(out) == 1 or (np.ndim(out) == 2 and np.shape(out)[1] == 1))
        out = probabilities(out) if self.logits else _no_logits(out, self.name)
        if self._named and getattr(out, "ndim", 0) == 2 and out.shape[1] != len(self._classes):
            n = len(self._classes)
            hint = " (its one logit is two classes, (1 - p, p): name both, 1 - p's first)" if one else ""
            raise ParameterError(f"{{class_names}} has {n} name{'s' * (n != 1)}, but {self.name} gives "
                                 f"{out.shape[1]} classes{hint}")  # fmt: skip
        return out

    def _pieces(self, batch: ImageBatch) -> Iterator[tuple[int, int, np.ndarray]]:
        """The batch's images a piece at a time, ``(start, stop, images)``, each piece at most
        ``batch_bytes`` of pixels (or the model's fixed batch), built into one array reused from
        piece to piece (a fresh one per piece costs its pages' first touch again: a 300x451
        photo's pieces took twice as long).  With the compiled build, a second core and a model
        beside which it pays (``overlaps``), the next piece is built on a thread of its own while
        the model runs on this one, each piece then half of that array (a photo's 1,000 samples
        took about as long in pieces of 8 MB as of 16 MB).  The pieces' images are the same
        either way."""
        n, values = len(batch), int(np.prod(batch.image_shape))
        per, can = self.piece_size(batch)
        cf = self.preprocess.channels_first
        if n <= per:
            yield 0, n, batch.build(0, n, cf)
            return
        buffer = np.empty(per * values, np.float32)
        half, start = per // 2, 0
        if can and self.overlaps is None and n > (1 + TIMED_PIECES) * per:  # learn it on this call
            yield 0, per, batch.build(0, per, cf, out=buffer)  # not timed: the first call warms up
            idle = True
            for a in range(per, (1 + TIMED_PIECES) * per, per):
                x = batch.build(a, a + per, cf, out=buffer)
                t, c = perf_counter(), process_time()
                yield a, a + per, x  # the model runs on it meanwhile
                # it leaves a core idle: on every call (a BLAS model ran some calls on one thread)
                idle = idle and process_time() - c < (batch.threads - 0.5) * (perf_counter() - t)
            self.overlaps = idle
            start = (1 + TIMED_PIECES) * per
        if can and self.overlaps:
            yield from self._beside(batch, start, n, half, buffer)
            return
        for a in range(start, n, per):
            yield a, min(a + per, n), batch.build(a, min(a + per, n), cf, out=buffer)

    def _beside(self, batch: ImageBatch, start: int, stop: int, half: int, buffer: np.ndarray) -> Iterator:
        """Images ``start`` to ``stop`` in pieces of ``half``, each built on a thread of its own
        into one half of ``buffer`` while the model runs on the previous one, from the other."""
        values = int(np.prod(batch.image_shape))
        halves = [buffer[: half * values], buffer[half * values : 2 * half * values]]
        pieces = [(a, min(a + half, stop)) for a in range(start, stop, half)]

        def built(i: int) -> np.ndarray:
            return batch.build(*pieces[i], self.preprocess.channels_first, out=halves[i % 2])

        pending = in_background(built, 0) if pieces else None
        for i, (a, b) in enumerate(pieces):
            x = pending.result()
            if i + 1 < len(pieces):  # into the other half, whose piece has been through the model
                pending = in_background(built, i + 1)
            yield a, b, x

    def piece_size(self, batch: ImageBatch) -> tuple[int, bool]:
        """(images in a piece, whether pieces can be built while the model runs: the compiled
        build, a second core, a batch of samples, pieces of 2 images or more, no fixed batch, and
        not known not to pay) for ``batch``; pieces built beside the model hold half as many."""
        can = batch.threads > 1 and batch.Z is not None and batch._compiles() and not self.fixed_batch
        fits = self.batch_bytes // (4 * int(np.prod(batch.image_shape)))
        per = self.fixed_batch or max(1, min(self.batch_rows, fits))
        return per, bool(can and per >= 2 and self.overlaps is not False)

    def _joined(self, outs: list, method: str) -> np.ndarray:
        try:
            return np.concatenate([np.asarray(o) for o in outs])
        except ValueError as exc:
            raise ModelError(f"{self.name}: its {method} gave pieces of different shapes ({exc})") from None

    def _run(self, method: str, x: np.ndarray):
        raise NotImplementedError


def probabilities(logits) -> np.ndarray:
    """Class probabilities (n, C) from a classifier's logits: the softmax of each row of (n, C),
    C >= 2; one logit per image (n,) or (n, 1) is a two-class model's, made (1 - p, p) with p its
    sigmoid.  In float64, exact for any finite logits (the row's largest is subtracted first)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1):
        p = 0.5 * (1.0 + np.tanh(0.5 * z.reshape(-1)))  # the sigmoid, without overflow
        return np.stack([1.0 - p, p], axis=1)
    if z.ndim != 2:
        return z  # not one row per image: what the core says of it
    with np.errstate(invalid="ignore", over="ignore"):  # inf or NaN logits: reported by the core
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def _no_logits(out, name: str):
    """``out``, or a ModelError when its numbers are no probabilities, saying which option makes
    logits probabilities (the core's own check does not know the option)."""
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        return out  # not numbers: what the core says of it
    if not arr.size or not np.isfinite(arr).all():
        return out  # NaN or infinite values: the core says so (no logits can be told from them)
    bad = not_a_probability(arr)
    if bad is None:
        return out
    raise ModelError(
        f"{name} gave {bad:.6g}, which is not a probability: if its outputs are logits (scores "
        "before softmax, as a PyTorch network's usually are), add {logits}"
    )


def _plain(X) -> ImageBatch:
    arr = np.asarray(X, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise DataError(f"images must be an array (N, H, W) or (N, H, W, C), not of shape {arr.shape}")
    return ImageBatch(arr)


class ArrayModel(ImageModel):
    """An object whose ``predict_proba`` or ``predict`` takes a float32 array of images (N, H, W, C),
    (N, C, H, W) with ``channels_first``, or one row per image (N, H*W*C) with ``flatten``."""

    def __init__(self, model, preprocess: Preprocess, *, name: str | None = None, class_names=None,
                 logits: bool = False) -> None:  # fmt: skip
        self.model = model
        self.preprocess = preprocess
        values = getattr(model, "n_features_in_", None)
        name = name or f"the model ({type(model).__name__})"
        if preprocess.flatten:
            self.spec = InputSpec(name, "flat", values=int(values) if _real(values) else None)
        else:
            self.spec = InputSpec(name)
        self.classifier = hasattr(model, "predict_proba")
        self.regressor = hasattr(model, "predict")
        self.logits = logits
        # logits come from its predict_proba, or from its predict (a network's forward pass)
        self._methods = {"predict_proba": "predict_proba" if self.classifier else "predict"} if logits else {}
        if logits:
            self.classifier, self.regressor = True, False
        classes = getattr(model, "classes_", None)
        if class_names is not None:
            self._classes, self._named = tuple(class_names), True
        elif classes is not None:
            self._classes = tuple(str(c) for c in np.asarray(classes).tolist())

    def _run(self, method: str, x: np.ndarray):
        method = self._methods.get(method, method)
        try:
            return getattr(self.model, method)(x)
        except Exception as exc:  # the user's model may raise anything
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            hint = ""
            if not self.preprocess.flatten and getattr(self.model, "n_features_in_", None) is not None:
                values = self.model.n_features_in_
                hint = f" (it takes rows of {values} values: flatten the images ({{flatten}}))"
            raise ModelError(
                f"{self.name}: its {method} failed on images of shape {x.shape} ({x.dtype}): {msg}{hint}"
            ) from exc


# -- ONNX ------------------------------------------------------------------------------------

#: per process: (model digest, folder, threads) -> session; an OnnxModel holds its file's bytes, not its
#: session, so that it pickles to workers, which make their own session once
_SESSIONS: dict[tuple[str, str, int], object] = {}
#: onnxruntime's setting of where a model given as bytes finds its external data
_EXTERNAL_DATA_FOLDER = "session.model_external_initializers_file_folder_path"


class OnnxModel(ImageModel):
    """An ONNX model run with onnxruntime; see the module's docstring for what is read from it.

    ``channels_first`` is needed only when the input's shape does not tell (a channel axis of 1 or
    3 at position 1, or last); ``mode`` only when the outputs do not (several outputs or one of
    more than one column: a classifier; one column: a regressor).
    """

    batch_rows = IMAGE_BATCH_ROWS
    overlaps = False  # its session's threads use every core (_session): nothing to learn

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        scale=None,
        mean=None,
        std=None,
        channels_first: bool | None = None,
        flatten: bool = False,
        mode: str | None = None,
        class_names=None,
        logits: bool = False,
    ) -> None:
        self.path = str(path)
        name = f"model file {path}"
        _onnxruntime(name)
        try:
            self._bytes = Path(path).read_bytes()
        except OSError as exc:
            raise ModelError(f"{name} cannot be read: {exc.strerror or exc}") from None
        self._digest = hashlib.blake2b(self._bytes, digest_size=16).hexdigest()
        # weights kept beside the file ("external data", as PyTorch's exporter writes them, and
        # any model over 2 GB): read from its folder, not from the current one
        self._folder = str(Path(path).resolve().parent)
        session = self._session()
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                f"{name} takes {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                "lime-cli gives a model one input, the images"
            )
        inp = inputs[0]
        self.input_name = inp.name
        dtype = _DTYPES.get(inp.type)
        if dtype is None:
            raise ModelError(f"{name} takes {inp.type} input {inp.name!r}; lime-cli gives images as "
                             "float, double, float16 or uint8 tensors")  # fmt: skip
        self.spec, layout = _spec(name, list(inp.shape), channels_first, flatten)
        self.preprocess = Preprocess.create(scale=scale, mean=mean, std=std, dtype=dtype, **layout)
        batch = inp.shape[0] if inp.shape else None
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        output, self.classifier = _output(name, session.get_outputs(), mode, logits)
        self.logits = logits
        self.regressor = not self.classifier
        self.output_name = output.name
        self._map = output.type.startswith("seq(map")  # a list of {class: probability}
        if class_names is not None:
            self._classes, self._named = tuple(class_names), True
        elif self._map:
            self._classes_from_zeros(inp.shape)

    def _classes_from_zeros(self, shape) -> None:
        """Read the class names (the keys of the probability maps) by running the model once on
        zeros, when its input's shape is fixed; else they are read on the first call."""
        dims = [self.fixed_batch or 1, *shape[1:]]
        if all(isinstance(d, int) and d > 0 for d in dims):
            self._run("predict_proba", np.zeros(dims, dtype=self.preprocess.dtype))

    def _session(self):
        from ..core.parallel import inner_threads

        threads = inner_threads()
        key = (self._digest, self._folder, threads)
        session = _SESSIONS.get(key)
        if session is None:
            ort = _onnxruntime(f"model file {self.path}")
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            options.add_session_config_entry(_EXTERNAL_DATA_FOLDER, self._folder)
            try:
                session = ort.InferenceSession(self._bytes, options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime's own errors: not a model, unsupported operators
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ModelError(f"model file {self.path} cannot be loaded by onnxruntime: {msg}") from None
            while len(_SESSIONS) >= 4:  # the few of the current run, not every model ever loaded
                _SESSIONS.pop(next(iter(_SESSIONS)))
            _SESSIONS[key] = session
        return session

    def _run(self, method: str, x: np.ndarray):
        try:
            out = self._session().run([self.output_name], {self.input_name: x})[0]
        except LimeCliError:
            raise
        except Exception as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(
                f"model file {self.path}: onnxruntime failed on a batch of shape {x.shape} ({x.dtype}): {msg}"
            ) from None
        if not self._map:
            return out
        if not len(out):
            return np.zeros((0, len(self._classes or ())))
        keys = list(out[0])
        if self._classes is None:
            self._classes = tuple(str(k) for k in keys)
        values = np.fromiter(chain.from_iterable(d.values() for d in out), dtype=np.float64,
                             count=len(out) * len(keys))  # fmt: skip
        return values.reshape(len(out), len(keys))


def _onnxruntime(name: str):
    try:
        import onnxruntime
    except ImportError:
        raise ParameterError(
            f"{name} is an ONNX model: reading it needs onnxruntime: pip install 'lime-cli[image]'"
        ) from None
    return onnxruntime


def _spec(name: str, shape: list, channels_first: bool | None, flatten: bool) -> tuple[InputSpec, dict]:
    """What an ONNX input of ``shape`` takes, and the layout options of its Preprocess."""
    dims = [d if isinstance(d, int) and d > 0 else None for d in shape]
    shown = "(" + ", ".join(str(d) if isinstance(d, int) and d > 0 else str(d or "?") for d in shape) + ")"
    if len(dims) == 2:
        layout = {"flatten": True, "channels_first": bool(channels_first)}
        return InputSpec(name, "flat", values=dims[1]), layout
    if flatten:
        raise ParameterError(
            f"flatten applies to a model taking one row of values per image; {name} takes {shown}"
        )
    if len(dims) == 3:
        if channels_first:
            raise ParameterError(f"{name} takes greyscale images without a channel axis {shown}: "
                                 "channels_first does not apply")  # fmt: skip
        return InputSpec(name, "NHW", dims[1], dims[2], 1), {"squeeze": True}
    if len(dims) != 4:
        raise ModelError(
            f"{name} takes input of shape {shown}; lime-cli gives images as (N, H, W, C), (N, C, H, W), "
            "(N, H, W) or (N, values)"
        )
    first, last = dims[1] in (1, 3), dims[3] in (1, 3)
    declared = True if first and not last else False if last and not first else None
    if declared is None and channels_first is None:
        raise ParameterError(
            f"{name} takes {shown}: its shape does not tell whether channels come first or last; "
            "pass channels_first=True or False"
        )
    if declared is not None and channels_first is not None and channels_first != declared:
        where = "first (N, C, H, W)" if declared else "last (N, H, W, C)"
        raise ParameterError(
            f"{name} takes {shown}, channels {where}; channels {'first' if channels_first else 'last'} "
            "({channels_first}) contradicts it"
        )
    cf = declared if declared is not None else bool(channels_first)
    C, H, W = (dims[1], dims[2], dims[3]) if cf else (dims[3], dims[1], dims[2])
    return InputSpec(name, "NCHW" if cf else "NHWC", H, W, C), {"channels_first": cf}


def _check_mode(mode: str | None, logits: bool) -> None:
    """ParameterErrors for ``mode`` (None, classification or regression) and for ``logits`` with
    a regression."""
    if mode not in (None, "classification", "regression"):
        raise ParameterError(f"{{mode}} must be classification or regression, not {mode!r}")
    if logits and mode == "regression":
        raise ParameterError("{logits} applies to classifiers, not to {mode} regression")


def _output(name: str, outputs, mode: str | None, logits: bool = False):
    """The output holding the model's probabilities (or predictions, or with ``logits`` its
    logits), and whether it classifies."""
    floats = ("tensor(float)", "tensor(double)")
    maps = [o for o in outputs if o.type.startswith("seq(map") and o.type.endswith("tensor(float)))")]
    probs = [o for o in outputs if o.type in floats and "prob" in o.name.lower()]
    tensors = [o for o in outputs if o.type in floats]
    _check_mode(mode, logits)
    named = [o for o in tensors if "logit" in o.name.lower()]
    if logits:
        chosen = (named or [o for o in tensors if o not in probs] or [None])[0]
        if chosen is None and (maps or probs):
            shown = ", ".join(o.name for o in maps + probs)
            raise ParameterError(f"{name} gives probabilities already ({shown}): leave out {{logits}}")
        if chosen is None:
            shown = ", ".join(f"{o.name} ({o.type})" for o in outputs)
            raise ModelError(f"{name} has no output of numbers to take for logits: {shown}")
        return chosen, True
    if named and not (maps or probs) and mode != "regression":
        raise ParameterError(f"{name} gives logits (its output {named[0].name!r}): add {{logits}} to make "
                             "them probabilities")  # fmt: skip
    chosen = (maps or probs or tensors or [None])[0]
    if chosen is None:
        shown = ", ".join(f"{o.name} ({o.type})" for o in outputs)
        raise ModelError(f"{name} has no output of probabilities or numbers: {shown}")
    if mode is None:
        last = chosen.shape[-1] if chosen.shape else None
        single = len(chosen.shape or []) == 1 or last == 1
        is_map = chosen.type.startswith("seq(map")
        mode = "classification" if is_map or len(outputs) > 1 or not single else "regression"
    return chosen, mode == "classification"


# -- from what a user gives ------------------------------------------------------------------


def image_model(
    model,
    *,
    scale=None,
    mean=None,
    std=None,
    channels_first: bool | None = None,
    flatten: bool = False,
    mode: str | None = None,
    class_names=None,
    logits: bool = False,
) -> ImageModel:
    """The :class:`ImageModel` of ``model``: a path to an ONNX file (:class:`OnnxModel`), a path to a
    joblib, pickle or skops file (loaded by :func:`lime_cli.io.load_model`), or an object
    (:class:`ArrayModel`); an ImageModel is returned as it is.  ``logits``: the classifier's
    output is logits (:func:`probabilities`)."""
    names = _class_names(class_names)
    if isinstance(model, ImageModel):
        return model
    if isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx":
        # class_names that do not match its outputs are an error at the first call (the probe)
        return OnnxModel(model, scale=scale, mean=mean, std=std, channels_first=channels_first,
                         flatten=flatten, mode=mode, class_names=names, logits=logits)  # fmt: skip
    name = None
    if isinstance(model, (str, os.PathLike)):
        from ..io import load_model

        name, model = f"model file {model}", load_model(model)
    from ..core.model import inspect_model

    if logits:
        _check_mode(mode, logits)
    # a ModelError or ParameterError naming what is missing (logits may come from predict alone)
    info = inspect_model(model, None if logits else mode)
    if names is not None and info.classes is not None:
        _check_names(names, info.classes, name or f"the model ({type(model).__name__})")
    preprocess = Preprocess.create(scale=scale, mean=mean, std=std, channels_first=bool(channels_first),
                                   flatten=flatten)  # fmt: skip
    return ArrayModel(model, preprocess, name=name, class_names=names, logits=logits)


def _class_names(names) -> tuple[str, ...] | None:
    if names is None:
        return None
    ok = isinstance(names, (Sequence, np.ndarray)) and not isinstance(names, str) and len(names) > 0
    if not ok or not all(isinstance(n, str) for n in names):
        raise ParameterError(f"{{class_names}} must be a list of strings, not {names!r}")
    if len(set(names)) < len(names):
        twice = next(n for n in names if list(names).count(n) > 1)
        raise ParameterError(f"{{class_names}} names the class {twice!r} twice")
    return tuple(names)


def _check_names(names, classes, name: str) -> None:
    if names is not None and classes is not None and len(names) != len(classes):
        raise ParameterError(f"{{class_names}} has {len(names)} names, but {name} has {len(classes)} classes")
