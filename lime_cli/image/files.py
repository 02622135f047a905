"""Images in: files and folders read with Pillow, and in-memory arrays, as float32 (H, W, C) arrays.

An image is a float32 array of height x width x channels, with 1 channel
(greyscale) or 3 (RGB), its pixel values as stored: 0-255 for an 8-bit file,
0-65535 for a 16-bit greyscale PNG, whatever an array holds.  A file is
converted by its Pillow mode: ``1``, ``L``, ``LA``, ``I``, ``I;16`` and ``F``
give one channel, every other mode (``RGB``, ``RGBA``, ``P``, ``CMYK``, ...)
RGB, an alpha channel being dropped.  Every file is decoded in full
(``Image.load``), so a truncated file is an error here, naming it.

A folder stands for the image files directly in it (not in sub-folders), sorted
by name: files whose extension Pillow reads (``.png``, ``.jpg``, ``.jpeg``,
``.bmp``, ``.gif``, ``.tif``, ``.webp``, ...); other files are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError, ParameterError

#: Pillow modes read as one channel; every other mode is converted to RGB
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


class ImageFiles(NamedTuple):
    """Images read from files: ``images`` (float32 (H, W, C) arrays) and the file each came from."""

    images: list[np.ndarray]
    sources: list[str]


def read_images(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> ImageFiles:
    """Read image files, and the image files of folders (sorted by name), in the order given.

    A DataError names a file that cannot be read (missing, not an image,
    truncated) and a folder that holds no image.
    """
    files = image_files(paths)
    return ImageFiles([read_image(f) for f in files], [str(f) for f in files])


def image_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """The files ``paths`` stand for: a file as it is, a folder as its image files sorted by name."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in _extensions() and f.is_file())
            if not found:
                raise DataError(f"image folder {p} holds no image file (PNG, JPEG, ...)")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise DataError(f"image file {p} does not exist")
    return out


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The float32 (H, W, C) array of an image file (C 1 or 3); a DataError names a bad file."""
    Image = _pillow()
    p = Path(path)
    try:
        with Image.open(p) as im:
            im.load()  # decode every pixel: a truncated file fails here, not later
            if im.mode in ("1", "LA"):  # 1-bit as 0/255, an alpha channel dropped
                arr = np.asarray(im.convert("L"), dtype=np.float32)
            elif im.mode in GREY_MODES:
                arr = np.asarray(im, dtype=np.float32)
            else:
                arr = np.asarray(im.convert("RGB"), dtype=np.float32)
    except FileNotFoundError:
        raise DataError(f"image file {p} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"image file {p} is a folder") from None
    except PermissionError:
        raise DataError(f"image file {p} cannot be read: permission denied") from None
    except Image.UnidentifiedImageError:
        raise DataError(f"image file {p} is not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated, corrupt
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"image file {p} cannot be decoded: {reason}") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.size == 0:
        raise DataError(f"image file {p} has no pixels")
    return np.ascontiguousarray(arr)


def as_image(value, where: str) -> np.ndarray:
    """An in-memory image (H, W) or (H, W, C) as a float32 (H, W, C) array, checked."""
    try:
        arr = np.asarray(value)
    except Exception:  # a ragged list
        raise DataError(f"{where} is not an array of pixels") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{where} holds {arr.dtype} values, not numbers")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise DataError(
            f"{where} has shape {arr.shape}: an image is (height, width) or (height, width, channels)"
        )
    if arr.shape[2] not in (1, 3):
        raise DataError(
            f"{where} has {arr.shape[2]} channels (shape {arr.shape}): an image is greyscale (1) or RGB (3)"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"{where} has no pixels (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise DataError(f"{where} holds NaN or infinite values")
    return arr


def value_range(image: np.ndarray) -> float:
    """The value of white in ``image``: 1.0 if no pixel exceeds 1, 255.0 if none exceeds 255, else
    65535.0 (an 8-bit image whose every pixel is 0 or 1 reads as 0-1: a black image either way)."""
    top = float(np.max(image)) if np.size(image) else 0.0
    return 1.0 if top <= 1.0 else 255.0 if top <= 255.0 else 65535.0


def to_grey(image: np.ndarray) -> np.ndarray:
    """One channel from RGB by ITU-R 601-2 luma (as Pillow's ``L``): 0.299 R + 0.587 G + 0.114 B."""
    if image.shape[2] == 1:
        return image
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.ascontiguousarray((image @ weights)[:, :, None], dtype=np.float32)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (height, width) with Pillow's bilinear filter, channel by channel
    in floating point (values are neither clipped nor rounded)."""
    H, W = size
    if image.shape[:2] == (H, W):
        return image
    Image = _pillow()
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[:, :, c]), mode="F").resize(
            (W, H), Image.Resampling.BILINEAR), dtype=np.float32)
        for c in range(image.shape[2])
    ]  # fmt: skip
    return np.ascontiguousarray(np.stack(channels, axis=2))


def check_size(image_size) -> tuple[int, int] | None:
    """``image_size`` (an int, or (height, width)) as a pair of positive ints, or a ParameterError."""
    if image_size is None:
        return None
    pair = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else image_size
    ok = isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2
    ok = ok and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in pair)
    if not ok:
        raise ParameterError(f"{{image_size}} must be (height, width), two integers >= 1, not {image_size!r}")
    return int(pair[0]), int(pair[1])


def _extensions() -> set[str]:
    Image = _pillow()
    return set(Image.registered_extensions())


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ParameterError("reading images needs Pillow: pip install 'lime-cli[image]'") from None
    return Image
