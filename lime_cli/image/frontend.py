"""The image front-end: images, explained through their regions.

An instance is an image (:mod:`.files`), resized to ``image_size`` and made
greyscale when asked, before anything else: its regions (:mod:`.segment`) and
what hides them are computed on that image, in its own value range.  Its
interpretable features are its regions, each 1 where a sample shows it; a
hidden region shows its ``fill``: the region's mean colour (``mean``, lime's
default), a Gaussian-blurred copy of the image (``blur``), or one colour.

Samples reach the model as an :class:`~.model.ImageBatch`: the chunk's images,
fills, segment maps and masks, from which the model adapter (:mod:`.model`)
builds the perturbed images a piece at a time, normalises them and calls the
model, so a chunk's memory does not grow with the number of samples.

Sampling: with ``locality`` 0 (``preset="lime"``), lime_image's: each region is
shown with probability 1/2, independently; with a positive ``locality`` (the
default method), each region is shown with that probability, from shifted
Sobol' points or independent draws (``sampling``).  Samples are weighted by the
cosine distance between their mask and the image's (all ones), with lime's
kernel width for images, 0.25.

An image's streams come from a hash of its pixels and shape, as the front-end
sees them (resized, greyscale): its explanation is the same alone, in a batch,
in any chunk or worker.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import streams
from ..core.frontend import FrontEnd, Samples
from ..errors import DataError, ParameterError
from .files import ImageFiles, as_image, image_files, read_image, resize, to_grey, value_range
from .model import ImageBatch, InputSpec, Preprocess
from .segment import DEFAULT_SEGMENTS, check_segments, segment_image, segment_images

#: lime_image's kernel width, for cosine distances (not x 100, unlike text)
IMAGE_KERNEL_WIDTH = 0.25
#: the ways of hiding a region
HIDES = ("mean", "blur")
#: at most this many bytes of images, fills and segment maps in one chunk
CHUNK_IMAGE_BYTES = 64 << 20


# -- what hides a region ---------------------------------------------------------------------


def parse_hide(hide) -> str | tuple[float, float, float]:
    """``hide`` checked: ``"mean"``, ``"blur"``, or a colour ``"R,G,B"`` (or a sequence of 3, or one
    grey level), each 0-255, returned as a tuple of 3 floats."""
    if isinstance(hide, str) and hide.strip().lower() in HIDES:
        return hide.strip().lower()
    parts = hide.split(",") if isinstance(hide, str) else hide
    if isinstance(parts, (int, float, np.integer, np.floating)) and not isinstance(parts, bool):
        parts = [parts]
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError):
        values = []
    if len(values) == 1:
        values *= 3
    if len(values) != 3 or not all(0 <= v <= 255 for v in values) or isinstance(hide, bool):
        raise ParameterError(
            f'{{hide}} must be mean, blur or a colour "R,G,B" of three values 0-255, not {hide!r}'
        )
    return tuple(values)


def fill_of(image: np.ndarray, segments: np.ndarray, d: int, hide) -> np.ndarray:
    """What a hidden region of ``image`` (H, W, C) shows, as an (H, W, C) float32 array."""
    H, W, C = image.shape
    if hide == "mean":
        labels = segments.ravel()
        counts = np.bincount(labels, minlength=d).astype(np.float64)
        means = np.stack(
            [np.bincount(labels, weights=image[:, :, c].ravel(), minlength=d) for c in range(C)], axis=1
        ) / np.maximum(counts, 1)[:, None]
        return means.astype(np.float32)[segments]
    if hide == "blur":
        from scipy.ndimage import gaussian_filter

        sigma = max(1.0, float(np.sqrt(H * W / max(d, 1))) / 2)  # half a typical region's side
        return gaussian_filter(image, sigma=(sigma, sigma, 0), mode="nearest").astype(np.float32)
    colour = np.asarray(hide, dtype=np.float32) / 255.0 * value_range(image)
    if C == 1:
        colour = np.array([colour @ np.array([0.299, 0.587, 0.114], dtype=np.float32)], dtype=np.float32)
    return np.broadcast_to(colour, (H, W, C)).astype(np.float32)


# -- the instances ---------------------------------------------------------------------------


@dataclass
class ImageInputs:
    """The images of a run one by one (a Path or an array each), and where each came from."""

    items: list
    sources: list[str | None]

    def __len__(self) -> int:
        return len(self.items)


def image_inputs(images) -> ImageInputs:
    """The images of ``images`` one by one, and where each came from (a file, or None).

    ``images``: a path to an image file or a folder of them (sorted by name); a list of paths,
    arrays (H, W) or (H, W, C), or both; an array (N, H, W) or (N, H, W, C); or
    :func:`~lime_cli.image.read_images`'s result.  A path stays a path (read when its chunk is
    due); an array is checked when the run starts.
    """
    if isinstance(images, ImageInputs):
        return images
    if isinstance(images, ImageFiles):
        return ImageInputs(list(images.images), list(images.sources))
    if isinstance(images, (str, os.PathLike)):
        files = image_files(images)
        return ImageInputs(files, [str(f) for f in files])
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise DataError(
                f"an array of images must be (N, H, W) or (N, H, W, C), not of shape {images.shape} "
                "(give one image as a list of one array)"
            )
        return ImageInputs(list(images), [None] * len(images))
    if not isinstance(images, Sequence):
        raise DataError(f"give images as paths, arrays or a list of them, not a {type(images).__name__}")
    items: list = []
    sources: list[str | None] = []
    for item in images:
        if isinstance(item, (str, os.PathLike)):
            files = image_files(item)
            items += files
            sources += [str(f) for f in files]
        else:
            items.append(item)
            sources.append(None)
    return ImageInputs(items, sources)


@dataclass
class PreparedImages:
    """The images of a run, checked: paths are read again when their chunk is due."""

    items: list  # a Path or an array, per image
    sources: list[str | None]
    where: list[str]  # how messages name each image


@dataclass
class ImageRows:
    """A chunk's images, read and brought to the run's shape."""

    images: np.ndarray  # (B, H, W, C) float32
    sources: list[str | None]


@dataclass
class ImageInstances:
    """A chunk of images with their regions."""

    images: np.ndarray  # (B, H, W, C) float32
    segments: np.ndarray  # (B, H, W) int32
    fills: np.ndarray  # (B, H, W, C) float32
    widths: np.ndarray  # (B,) regions per image
    boxes: list[np.ndarray]  # per image, (d, 4) [r0, c0, r1, c1] of each region, ends exclusive
    areas: list[np.ndarray]  # per image, (d,) pixels of each region
    sources: list[str | None]
    keys: np.ndarray  # (B, KEY_WORDS) uint32

    def __len__(self) -> int:
        return len(self.images)

    def take(self, index: np.ndarray) -> ImageInstances:
        index = np.asarray(index, dtype=np.intp)
        pick = [int(i) for i in index]
        return ImageInstances(
            self.images[index], self.segments[index], self.fills[index], self.widths[index],
            [self.boxes[i] for i in pick], [self.areas[i] for i in pick], [self.sources[i] for i in pick],
            self.keys[index],
        )  # fmt: skip


def image_keys(images: np.ndarray) -> np.ndarray:
    """(B, KEY_WORDS) uint32 content keys: a 128-bit BLAKE2b hash of each image's shape and pixels
    (float32, little-endian)."""
    parts = [
        [np.asarray(im.shape, dtype="<i8").tobytes(), np.ascontiguousarray(im, dtype="<f4").tobytes()]
        for im in images
    ]
    return streams.content_keys(parts, b"lime-cli image")


def described(images, segments, widths, hide, fills) -> tuple[list, list]:
    """Of each of ``images`` (B, H, W, C) with its ``segments`` (B, H, W) of ``widths`` regions:
    its regions' boxes and areas (two lists of :func:`regions`), and into ``fills`` (B, H, W, C)
    what its hidden regions show (:func:`fill_of`).  With the compiled kernel, boxes, areas and
    mean fills in two calls for all (their loops hold no lock: threads run at once), the same
    values."""
    from . import segment

    B, H, W, C = images.shape
    kernel = segment._segment if B and images.dtype == np.float32 else None
    if kernel is None:
        found = [regions(segments[b], int(widths[b])) for b in range(B)]
        boxes, areas = [f[0] for f in found], [f[1] for f in found]
    else:
        D = int(widths.max())
        wide = np.ascontiguousarray(widths, dtype=np.int64)
        labels = np.ascontiguousarray(segments, dtype=np.int32)
        every_box, every_area = np.empty((B, D, 4), dtype=np.int64), np.empty((B, D), dtype=np.int64)
        kernel.regions(labels, wide, B, H, W, D, every_box, every_area)
        boxes = [every_box[b, : widths[b]] for b in range(B)]
        areas = [every_area[b, : widths[b]] for b in range(B)]
    if kernel is not None and hide == "mean" and fills.flags.c_contiguous and fills.dtype == np.float32:
        kernel.means(np.ascontiguousarray(images), labels, wide, B, H, W, C, D, fills)
    else:
        for b in range(B):
            fills[b] = fill_of(images[b], segments[b], int(widths[b]), hide)
    return boxes, areas


def regions(segments: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(d, 4) bounding boxes [r0, c0, r1, c1] (ends exclusive) and (d,) areas of labels 0..d-1."""
    from scipy.ndimage import find_objects

    boxes = np.array([[s[0].start, s[1].start, s[0].stop, s[1].stop] for s in find_objects(segments + 1, d)])
    return boxes.reshape(d, 4), np.bincount(segments.ravel(), minlength=d)


# -- the front-end ---------------------------------------------------------------------------


class ImageFrontEnd(FrontEnd):
    """Images explained by their regions; see the module's docstring."""

    no_features_note = "the image has no region"
    #: the model gets a chunk's perturbed images in pieces of at most IMAGE_BATCH_BYTES
    #: (ImageModel), so what it makes of them does not grow with the chunk: not measured
    measure_chunks = False

    def __init__(
        self,
        *,
        segments: str = DEFAULT_SEGMENTS,
        num_segments: int | None = None,
        hide="mean",
        image_size: tuple[int, int] | None = None,
        grayscale: bool = False,
        spec: InputSpec | None = None,
        preprocess: Preprocess | None = None,
        samples: int = 1000,
    ) -> None:
        check_segments(segments, num_segments)
        self.segments, self.num_segments = segments, num_segments
        self.hide = parse_hide(hide)
        self.image_size, self.grayscale = image_size, bool(grayscale)
        self.spec = spec or InputSpec("the model")
        self.preprocess = preprocess or Preprocess()
        self.samples = samples  # samples per image, for sizing chunks
        self.feature_names = ["image"]
        self.n_features = 50  # sizes chunks before the images are seen; set by prepare
        self.shape: tuple[int, int, int] | None = None  # (H, W, C) of the run's images
        self._first: tuple[np.ndarray, np.ndarray] | None = None  # the run's first image, its regions

    # -- one image -----------------------------------------------------------------------------

    def image(self, item, where: str) -> np.ndarray:
        """One image as explained: read (a path) or checked (an array), greyscale when asked,
        resized to ``image_size``."""
        image = read_image(item) if isinstance(item, Path) else as_image(item, where)
        if self.grayscale:
            image = to_grey(image)
        if self.image_size is not None:
            image = resize(image, self.image_size)
        return image

    def segment(self, image: np.ndarray) -> np.ndarray:
        """The (H, W) int32 region labels 0..d-1 of an image as explained (see :meth:`image`).

        The run's first image is segmented once: :meth:`prepare` keeps its regions, which the
        model's probe and the first chunk then take (a photo's SLIC took 70 ms, a third of the
        model's time on its 1,000 samples)."""
        kept = self._first
        if kept is not None and kept[0].shape == image.shape and np.array_equal(kept[0], image):
            return kept[1].copy()
        return segment_image(image, self.segments, self.num_segments)

    # -- the seam ------------------------------------------------------------------------------

    def prepare(self, rows, positions: np.ndarray) -> PreparedImages:
        """Every image read and checked once: all of one shape (H, W, C), which the model takes."""
        inputs = image_inputs(rows)
        items, sources = inputs.items, inputs.sources
        where = [
            f"image file {s}" if s is not None else f"image {int(p)}"
            for s, p in zip(sources, positions, strict=True)
        ]
        shape, first = None, None
        for k, item in enumerate(items):
            image = self.image(item, where[k])
            if shape is None:
                shape, first = image.shape, image
                self.preprocess.check_channels(shape[2], where[k])
                self.spec.check(shape, where[k])
            elif image.shape != shape:
                raise DataError(_shapes_differ(where[k], image.shape, where[0], shape))
        if shape is not None:
            self.shape = shape
            self._first = (first, segment_image(first, self.segments, self.num_segments))
            self.n_features = int(self._first[1].max()) + 1
            H, W, C = shape
            per_image = H * W * (8 * C + 4)  # image and fill (float32), segment map (int32)
            images = max(1, CHUNK_IMAGE_BYTES // per_image)
            self.chunk_cells = int(min(FrontEnd.chunk_cells, images * self.n_features * self.samples))
        return PreparedImages(items, sources, where)

    def rows(self, prepared: PreparedImages, start: int, stop: int) -> ImageRows:
        stop = min(stop, len(prepared.items))
        images = [self.image(prepared.items[k], prepared.where[k]) for k in range(start, stop)]
        for k, image in zip(range(start, stop), images, strict=True):
            if image.shape != self.shape:  # a file changed since the run started
                raise DataError(_shapes_differ(prepared.where[k], image.shape, prepared.where[0], self.shape))
        H, W, C = self.shape
        stacked = np.stack(images) if images else np.empty((0, H, W, C), dtype=np.float32)
        return ImageRows(stacked, prepared.sources[start:stop])

    def encode(self, rows: ImageRows) -> ImageInstances:
        images = rows.images
        B = len(images)
        segments = np.empty(images.shape[:3], dtype=np.int32)
        fills = np.empty_like(images)
        widths = np.empty(B, dtype=np.intp)
        boxes, areas = [None] * B, [None] * B

        def encode_part(part: range) -> None:  # each image on its own: the same on any thread
            at = slice(part.start, part.stop)
            segments[at] = segment_images(images[at], self.segments, self.num_segments, each=self.segment)
            widths[at] = segments[at].max(axis=(1, 2)) + 1
            boxes[at], areas[at] = described(images[at], segments[at], widths[at], self.hide, fills[at])

        from ..core.parallel import inner_threads, run_threads

        parts = min(B, inner_threads())  # segmenting (SLIC's loops) releases the GIL
        bounds = np.linspace(0, B, parts + 1).astype(int) if B else [0, 0]
        run_threads(encode_part, [range(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], parts)
        keys = image_keys(images)
        return ImageInstances(images, segments, fills, widths, boxes, areas, list(rows.sources), keys)

    def sample(self, instances: ImageInstances, rngs, num_samples, settings, threads) -> Samples:
        widths, S = instances.widths, num_samples
        Z = np.empty((len(widths), max([1, *widths]), S))  # rows past an image's regions: never read
        for b, d in enumerate(widths):
            region_masks(int(d), S, rngs[b], settings.locality, settings.sampling, out=Z[b, :d])
        return Samples(Z=Z, binary=Z.shape[1], widths=widths.copy())

    def model_input(self, instances: ImageInstances, samples: Samples, threads: int = 1) -> ImageBatch:
        return ImageBatch(instances.images, instances.fills, instances.segments, samples.Z, instances.widths,
                          threads)

    def describe(self, instances: ImageInstances, b: int, j: int):
        box = instances.boxes[b][j].tolist()
        area = int(instances.areas[b][j])
        return f"region {j}", f"region {j} present", None, "image", None, box, area

    def source(self, instances: ImageInstances, b: int) -> str | None:
        return instances.sources[b]

    def distances(self, Z: np.ndarray, binary: int, samples=None, index=None) -> np.ndarray:
        """Cosine distance between each sample's mask and the image's (all ones): 1 - sqrt(k / d)
        for a sample showing k of d regions, as lime_image (sklearn's cosine distance)."""
        d = Z[:, :, 0].sum(axis=1, keepdims=True)
        k = Z.sum(axis=1)
        return 1.0 - np.sqrt(k / np.maximum(d, 1))

    def default_kernel_width(self) -> float:
        return IMAGE_KERNEL_WIDTH

    def release(self) -> None:
        self._first = None

    def __getstate__(self):  # a worker's chunks segment their own images: the first stays here
        return {**self.__dict__, "_first": None}


def _shapes_differ(where: str, shape, first: str, first_shape) -> str:
    H, W, C = shape
    h, w, c = first_shape
    what = f"{H}x{W} pixels, {'greyscale' if C == 1 else 'RGB'}"
    then = f"{h}x{w}, {'greyscale' if c == 1 else 'RGB'}"
    resize, grey = "resize every image to one size ({image_size})", "make them greyscale ({grayscale})"
    hint = resize if (h, w) != (H, W) else grey
    return f"{where} is {what}, unlike {first} ({then}): the images of a run must have one shape ({hint})"


def region_masks(d: int, S: int, rng: np.random.Generator, locality: float, sampling: str, out=None):
    """(d, S) 0/1 masks of an image of d regions, written into ``out`` when given: sample 0 shows
    every region; then each region is shown with probability ``locality`` (0: 1/2, lime_image's
    draws), from shifted Sobol' points (``sampling="sobol"``) or independent draws."""
    out = np.empty((d, S)) if out is None else out
    out[:, 0] = 1.0
    if S < 2 or d == 0:
        return out
    if locality == 0:  # lime_image: each region on or off with probability 1/2
        bits = np.unpackbits(np.frombuffer(rng.bytes(-(-d * (S - 1) // 8)), dtype=np.uint8))
        out[:, 1:] = bits[: d * (S - 1)].reshape(d, S - 1)
        return out
    from ..tabular.sampling import SOBOL_MAX_DIM, sobol_points

    dims = 1 << max(3, (d - 1).bit_length())  # one sequence per power of two: few to make and keep
    if sampling == "sobol" and dims <= SOBOL_MAX_DIM:
        shift = rng.integers(0, 1 << 32, size=d, dtype=np.uint32)
        # point / 2^32 < locality, for a 32-bit integer point, is point < ceil(locality * 2^32):
        # the division and the product by a power of two are exact (compared without either)
        below = math.ceil(locality * 2.0**32)
        points = sobol_points(dims, S - 1)[:d] ^ shift[:, None]
        if below > 0xFFFFFFFF:
            out[:, 1:] = 1.0
        else:
            np.less(points, np.uint32(below), out=out[:, 1:], casting="unsafe")
    else:  # a region is shown when a uniform 32-bit integer falls below locality * 2^32
        u = np.frombuffer(rng.bytes(4 * d * (S - 1)), dtype=np.uint32).reshape(d, S - 1)
        np.less(u, round(locality * 2.0**32), out=out[:, 1:], casting="unsafe")
    return out
