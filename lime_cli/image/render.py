"""Drawing an explanation on its image: the top regions outlined and tinted.

:func:`render_regions` returns an RGB uint8 array (for Pillow to save as PNG):
the image, its k strongest regions tinted and outlined, those supporting the
explained label in blue and those contradicting it in vermillion (the HTML
report's colours, Okabe-Ito's, told apart by colour-blind readers too).  A small
image is first enlarged by an integer factor (nearest neighbour) so that its
longer side is at least ``min_side`` pixels and the outlines stay thin next to
the regions.
"""

from __future__ import annotations

import re

import numpy as np

from ..schema import Explanation
from .files import value_range

#: colours of supporting (positive weight) and contradicting regions
SUPPORT = (0, 114, 178)
CONTRADICT = (213, 94, 0)
_REGION = re.compile(r"region (\d+)$")


def render_regions(
    image: np.ndarray,
    segments: np.ndarray,
    explanation: Explanation,
    k: int = 5,
    *,
    min_side: int = 224,
    tint: float = 0.35,
) -> np.ndarray:
    """The (H*f, W*f, 3) uint8 picture of ``explanation`` on ``image``: its first ``k`` regions
    (the strongest) tinted and outlined in :data:`SUPPORT` or :data:`CONTRADICT` colour.

    ``image`` (H, W[, C]) and ``segments`` (H, W) are those the explanation was made on
    (:meth:`lime_cli.ImageExplainer.prepare_image` and :meth:`~lime_cli.ImageExplainer.segment_map`);
    pixel values in the image's value range (0-1, 0-255 or 0-65535).  ``f`` is the smallest
    integer making the longer side at least ``min_side`` (1 for a large image).
    """
    image = np.asarray(image)
    segments = np.asarray(segments)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[:2] != segments.shape:
        raise ValueError(f"image is {image.shape[:2]} pixels but segments {segments.shape}: give the image "
                         "as explained (ImageExplainer.prepare_image)")  # fmt: skip
    rgb = image.astype(np.float64) / value_range(image) * 255.0
    rgb = np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[:, :, :3]
    f = max(1, -(-min_side // max(segments.shape)))
    if f > 1:
        rgb = rgb.repeat(f, axis=0).repeat(f, axis=1)
        segments = segments.repeat(f, axis=0).repeat(f, axis=1)
    width = max(1, f // 4, max(segments.shape) // 200)  # outline thickness, in output pixels
    for feature in explanation.features[:k]:
        m = _REGION.search(feature.feature or "")
        if m is None or feature.weight == 0:
            continue
        mask = segments == int(m.group(1))
        colour = np.array(SUPPORT if feature.weight > 0 else CONTRADICT, dtype=np.float64)
        rgb[mask] = (1 - tint) * rgb[mask] + tint * colour
        rgb[_edge(mask, width)] = colour
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _edge(mask: np.ndarray, width: int) -> np.ndarray:
    """The pixels of ``mask`` within ``width`` pixels of its border (or the image's)."""
    inner = mask.copy()
    for _ in range(width):
        shrunk = inner.copy()
        shrunk[1:, :] &= inner[:-1, :]
        shrunk[:-1, :] &= inner[1:, :]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        shrunk[0, :] = shrunk[-1, :] = False
        shrunk[:, 0] = shrunk[:, -1] = False
        inner = shrunk
    return mask & ~inner
