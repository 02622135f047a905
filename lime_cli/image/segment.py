"""Segmentation: an image's interpretable features are its regions (superpixels).

:func:`segment_image` labels every pixel of an image with its region, 0..d-1
(consecutive), with one of :data:`SEGMENTERS`:

- ``slic`` (the default): scikit-image's SLIC, k-means in colour and position,
  aiming at ``num_segments`` regions; by default ``min(50, max(16, H*W/16))``:
  16-pixel regions on a small image (49 on a 28x28 digit, 36 on a 24x24 one),
  50 on anything larger than 28x28.  Pixel values are brought to [0, 1] first
  (by the image's value range, :func:`~lime_cli.image.files.value_range`); an
  RGB image is clustered in CIELAB with compactness 10 (scikit-image's default,
  meant for Lab) after a Gaussian smoothing of 1 pixel, a greyscale one on its
  intensity with compactness 0.3 and no smoothing, which follows the strokes of
  a digit while keeping regions of even size (at 1 or more the intensity no
  longer counts and SLIC draws a plain grid; at 0.1 a stroke becomes one long
  region).  Pixel noise can break SLIC's clusters into specks that enforcing
  connectivity merges into one region (a noisy 48x48 RGB image unsmoothed: 1
  region of 50): when fewer than a quarter of the target count come out, SLIC
  runs again, smoothing twice as much.  Its two loops run compiled
  (``_segment.c``, :func:`slic`): scikit-image's labels, several times faster.
- ``quickshift``: lime 0.2.0.1's default (``kernel_size=4, max_dist=200,
  ratio=0.2``), kept for comparison: it finds 1-3 regions on a 28x28 digit and
  about 100 on a 300x451 photograph; a greyscale image is given to it as RGB.
- ``felzenszwalb``: Felzenszwalb-Huttenlocher's graph segmentation (``scale=100,
  sigma=0.5``), its smallest region ``H*W / (2*num_segments)`` pixels.
- ``grid``: a near-square grid of about ``num_segments`` cells, whatever the
  image shows (the natural choice for tiny images, and a baseline).

``num_segments`` sets SLIC's and the grid's target count and felzenszwalb's
smallest region; quickshift finds its own number.  Every method is
deterministic: SLIC and felzenszwalb draw nothing at random, quickshift breaks
ties with a fixed seed.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ParameterError

SEGMENTERS = ("slic", "quickshift", "felzenszwalb", "grid")
#: the segmentation used when none is named
DEFAULT_SEGMENTS = "slic"
#: SLIC's compactness on an RGB image (in CIELAB) and on a greyscale one (intensity in [0, 1])
SLIC_COMPACTNESS_RGB = 10.0
SLIC_COMPACTNESS_GREY = 0.3
#: SLIC's Gaussian smoothing (in pixels), tried in turn until the regions hold (see segment_image)
SLIC_SIGMAS_RGB = (1.0, 2.0, 4.0)
SLIC_SIGMAS_GREY = (0.0, 1.0, 2.0)
#: SLIC's k-means iterations (scikit-image's default)
SLIC_ITERATIONS = 10
#: lime 0.2.0.1's quickshift parameters
QUICKSHIFT = {"kernel_size": 4, "max_dist": 200, "ratio": 0.2}
#: the most regions any method may give to one image (masks are d x samples)
MAX_SEGMENTS = 4096


try:  # the compiled SLIC (setup.py; optional): scikit-image's otherwise
    from . import _segment
except ImportError:  # pragma: no cover - where no C compiler was found at install
    _segment = None


def default_num_segments(height: int, width: int) -> int:
    """The target number of regions of an image of ``height`` x ``width`` pixels: 16-pixel regions
    on a small image, 50 on a large one (never fewer than 16, nor more than the pixels)."""
    return int(min(height * width, min(50, max(16, height * width // 16))))


def check_segments(segments: str, num_segments) -> None:
    """ParameterErrors for the segmentation options."""
    if not isinstance(segments, str) or segments not in SEGMENTERS:
        raise ParameterError(f"{{segments}} must be one of {', '.join(SEGMENTERS)}, not {segments!r}")
    if num_segments is not None:
        if isinstance(num_segments, bool) or not isinstance(num_segments, (int, np.integer)):
            raise ParameterError(f"{{num_segments}} must be an integer >= 1, not {num_segments!r}")
        if not 1 <= num_segments <= MAX_SEGMENTS:
            raise ParameterError(f"{{num_segments}} must be between 1 and {MAX_SEGMENTS}, not {num_segments}")
        if segments == "quickshift":
            raise ParameterError(
                "num_segments does not apply to quickshift, which finds its own number of regions "
                "(use slic, felzenszwalb or grid to set it)"
            )


def segment_image(image: np.ndarray, segments: str = DEFAULT_SEGMENTS, num_segments: int | None = None,
            value_range: float | None = None) -> np.ndarray:  # fmt: skip
    """The (H, W) int32 region labels 0..d-1 of ``image`` (H, W, C), C 1 (greyscale) or 3 (RGB).

    ``value_range`` is the value of white (1, 255, 65535; default: from the image's values).
    """
    check_segments(segments, num_segments)
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    H, W, C = image.shape
    n = default_num_segments(H, W) if num_segments is None else int(min(num_segments, H * W))
    if segments == "grid":
        return grid(H, W, n)
    _skimage()
    from .files import value_range as range_of

    top = value_range or range_of(image)
    unit = np.clip(image.astype(np.float64) / top, 0.0, 1.0)
    grey = C == 1
    if segments == "slic":
        # pixel noise breaks SLIC's regions into specks, which enforcing connectivity then merges
        # into very few: smooth more until at least a quarter of the target count holds
        for sigma in SLIC_SIGMAS_GREY if grey else SLIC_SIGMAS_RGB:
            compactness = SLIC_COMPACTNESS_GREY if grey else SLIC_COMPACTNESS_RGB
            labels = slic(unit[:, :, 0] if grey else unit, n, compactness, sigma)
            if (labels.max() + 1) * 4 >= n:
                break
    elif segments == "quickshift":
        from skimage.segmentation import quickshift

        rgb = np.repeat(unit, 3, axis=2) if grey else unit
        labels = quickshift(rgb, **QUICKSHIFT, rng=0)
    else:  # felzenszwalb
        from skimage.segmentation import felzenszwalb

        labels = felzenszwalb(
            unit[:, :, 0] if grey else unit,
            scale=100,
            sigma=0.5,
            min_size=max(1, H * W // (2 * n)),
            channel_axis=None if grey else -1,
        )
    return consecutive(labels)


def segment_images(images: np.ndarray, segments: str = DEFAULT_SEGMENTS, num_segments: int | None = None,
                   each=None) -> np.ndarray:  # fmt: skip
    """:func:`segment_image` of each of ``images`` (B, H, W, C), as one (B, H, W) int32 array.

    Greyscale images under SLIC (the default) are segmented together, in one call of the
    compiled kernel that holds no lock: the parts of a chunk given to several threads are
    segmented at once (image by image, the Python between scikit-image's steps kept threads
    waiting on each other).  The same labels as one by one.  Other images, or where the kernel
    is not compiled, one by one with ``each``, which must give :func:`segment_image`'s labels
    (the default; the front-end's keeps the first image's)."""
    check_segments(segments, num_segments)
    images = np.asarray(images)
    B, H, W, C = images.shape
    each = each or (lambda image: segment_image(image, segments, num_segments))
    out = np.empty((B, H, W), dtype=np.int32)
    alone = np.ones(B, dtype=bool)  # the images segmented one by one
    if segments == "slic" and C == 1 and _segment is not None and B:
        n = default_num_segments(H, W) if num_segments is None else int(min(num_segments, H * W))
        labels = _slic_grey(images, n)
        if labels is not None:
            out[...] = labels
            # labels come out 0..d-1 (as consecutive() would make them) unless a pixel was left
            # out; too few regions: smoothed and run again, one by one
            alone = ((labels.max(axis=(1, 2)) + 1) * 4 < n) | (labels.min(axis=(1, 2)) < 0)
    for b in np.flatnonzero(alone):
        out[b] = each(images[b])
    return out


def _slic_grey(images: np.ndarray, n: int) -> np.ndarray | None:
    """slic() of each of the greyscale ``images`` (B, H, W, 1) as segment_image gives it its
    first try (unsmoothed), in one compiled call: (B, H, W) int64 labels; None where an image
    holds NaN (scikit-image's error, one by one)."""
    _skimage()
    B, H, W, _ = images.shape
    brightest = images.max(axis=(1, 2, 3))  # each image's value_range(), at once
    tops = np.where(brightest <= 1.0, 1.0, np.where(brightest <= 255.0, 255.0, 65535.0))
    unit = np.clip(images[..., 0].astype(np.float64) / tops[:, None, None], 0.0, 1.0)
    if not _rescale(unit, (1, 2)):
        return None
    assert SLIC_SIGMAS_GREY[0] == 0  # the first try smooths nothing
    centres, step, step_y, step_x, least, most = _slic_grid(H, W, n)
    scaled = np.ascontiguousarray(unit * (1.0 / SLIC_COMPACTNESS_GREY), dtype=np.float64)
    labels = np.empty((B, H, W), dtype=np.int64)
    _segment.slic_many(scaled, B, H, W, 1, centres, len(centres), step, step_y, step_x, SLIC_ITERATIONS,
                       least, most, labels)  # fmt: skip
    return labels


def _rescale(unit: np.ndarray, axes) -> bool:
    """Each image of ``unit`` (its pixels along ``axes``) brought to [0, 1] by its own least and
    largest value, in place, as scikit-image's slic() does; False (nothing changed) where one
    holds NaN."""
    lo, hi = unit.min(axis=axes, keepdims=True), unit.max(axis=axes, keepdims=True)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return False
    unit -= lo
    np.divide(unit, hi - lo, out=unit, where=hi != lo)
    return True


def slic(unit: np.ndarray, n: int, compactness: float, sigma: float) -> np.ndarray:
    """scikit-image's SLIC of ``unit`` ((H, W) greyscale or (H, W, 3) RGB, float64 in [0, 1]) into
    about ``n`` regions, labels from 0, connectivity enforced.

    With the compiled kernel (:mod:`._segment`) the steps of ``skimage.segmentation.slic`` are
    taken here, in its order and precision, and its two loops (k-means, connectivity) run in C:
    the same labels, several times faster (tests compare the two).  Without it, or on an image
    that scikit-image refuses (NaN), scikit-image's own."""
    from skimage.segmentation import slic as skimage_slic

    image = unit.astype(np.float64)  # a copy: scaled in place
    if _segment is None or not _rescale(image, None):
        return skimage_slic(
            unit, n_segments=n, compactness=compactness, sigma=sigma, start_label=0,
            enforce_connectivity=True, channel_axis=None if unit.ndim == 2 else -1,
        )  # fmt: skip
    from skimage.color import rgb2lab
    from skimage.filters import gaussian

    image = image[None, :, :, None] if image.ndim == 2 else rgb2lab(image[None])
    _, H, W, C = image.shape
    centres, step, step_y, step_x, least, most = _slic_grid(H, W, n)
    if sigma > 0:  # as scikit-image smooths: the plane too (of one pixel), not the channels
        image = gaussian(image, sigma=[*np.full(3, sigma, dtype=np.float64), 0], mode="reflect")
    segments = np.concatenate([centres, np.zeros((len(centres), C))], axis=1)
    image = np.ascontiguousarray(image * (1.0 / compactness), dtype=np.float64)
    labels, out = np.empty((2, H, W), dtype=np.int64)
    _segment.slic(image, H, W, C, segments, len(centres), step, step_y, step_x, SLIC_ITERATIONS, labels)
    _segment.connect(labels, H, W, least, most, out)
    return out


@functools.lru_cache(maxsize=64)
def _slic_grid(height: int, width: int, n: int) -> tuple:
    """SLIC's first centres on a ``height`` x ``width`` image for ``n`` regions ((m, 3) float64:
    plane, row, column), its step (the largest of the grid's steps), the row and column steps of
    a grid of m (its windows), and the least and most pixels of a region when connectivity is
    enforced (half and three times the pixels per centre), as scikit-image derives them."""
    from skimage.util import regular_grid

    grid = regular_grid((1, height, width), n)
    z, y, x = np.mgrid[:1, :height, :width]
    centres = np.stack([a[grid].ravel() for a in (z, y, x)], axis=1).astype(np.float64)
    step = max(float(s.step) if s.step is not None else 1.0 for s in grid)
    windows = regular_grid((1, height, width), len(centres))
    step_y, step_x = (int(s.step if s.step is not None else 1) for s in windows[1:])
    centres.flags.writeable = False
    size = height * width / len(centres)
    return centres, step, step_y, step_x, int(0.5 * size), int(3 * size)


def consecutive(labels: np.ndarray) -> np.ndarray:
    """``labels`` renumbered 0..d-1 in the order of their values, as int32."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def grid(height: int, width: int, n: int) -> np.ndarray:
    """A near-square grid of about ``n`` cells over ``height`` x ``width`` pixels, labelled row by row."""
    rows = int(np.clip(round(np.sqrt(n * height / width)), 1, height))
    cols = int(np.clip(round(n / rows), 1, width))
    r = np.arange(height) * rows // height
    c = np.arange(width) * cols // width
    return (r[:, None] * cols + c[None, :]).astype(np.int32)


def _skimage() -> None:
    try:
        import skimage  # noqa: F401
    except ImportError:
        raise ParameterError(
            "segmenting images needs scikit-image: pip install 'lime-cli[image]'"
        ) from None
