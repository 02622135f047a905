"""The image front-end: images explained through their regions (superpixels).

- :func:`read_images`: image files and folders (sorted by name) as float32 (H, W, C) arrays,
  with the file each came from (:mod:`.files`);
- :func:`segment_image`: an image's regions, ``slic`` (default), ``quickshift``, ``felzenszwalb`` or
  ``grid`` (:mod:`.segment`);
- :class:`ImageFrontEnd`: regions hidden by their mean colour, a blurred copy or a colour,
  masks drawn for a chunk at once (:mod:`.frontend`);
- :class:`ImageModel`: an ONNX file or a Python model, given the perturbed images a bounded
  batch at a time, normalised as it was trained (:mod:`.model`);
- :func:`render_regions`: the top regions of an explanation drawn on its image (:mod:`.render`);
- :class:`~lime_cli.ImageExplainer` puts them together with the core.

Reading files needs Pillow, segmenting scikit-image, ONNX models onnxruntime:
``pip install 'lime-cli[image]'``.
"""

from __future__ import annotations

import numpy as np

from .files import ImageFiles, image_files, read_image, read_images
from .frontend import IMAGE_KERNEL_WIDTH, ImageFrontEnd, parse_hide
from .model import ArrayModel, ImageBatch, ImageModel, InputSpec, OnnxModel, Preprocess, image_model
from .render import render_regions
from .segment import DEFAULT_SEGMENTS, SEGMENTERS, default_num_segments, segment_image


def segment_map(explainer, image) -> np.ndarray:
    """The (H, W) int32 map of ``image``'s regions under ``explainer`` (an ImageExplainer): pixel
    (r, c) is in its explanation's ``region k`` where the map holds k.  ``image``: a path or an
    array, as given to ``explain``."""
    return explainer.segment_map(image)


__all__ = [
    "DEFAULT_SEGMENTS",
    "IMAGE_KERNEL_WIDTH",
    "SEGMENTERS",
    "ArrayModel",
    "ImageBatch",
    "ImageFiles",
    "ImageFrontEnd",
    "ImageModel",
    "InputSpec",
    "OnnxModel",
    "Preprocess",
    "default_num_segments",
    "image_files",
    "image_model",
    "parse_hide",
    "read_image",
    "read_images",
    "render_regions",
    "segment_image",
    "segment_map",
]
