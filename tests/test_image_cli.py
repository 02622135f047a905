"""`lime explain --images`: the command line over the image front-end (its library tests are in
test_image.py): formats, --masks, the report's pictures, and one Error line for bad input."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pytest
from custom_types import PatchBrightness
from PIL import Image
from typer.testing import CliRunner

from lime_cli.cli import app


def invoke(args, **kw):
    return CliRunner().invoke(app, [str(a) for a in args], **kw)


def one_error(res, *expected: str) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def picture(seed: int, bright: bool) -> np.ndarray:
    """A 32x32 RGB image: grey noise, and the model's patch bright or dark."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(60, 120, (32, 32, 3))
    image[8:20, 8:20] = (230 if bright else 20) + rng.uniform(-15, 15, (12, 12, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    (d / "imgs").mkdir()
    for i in range(3):
        Image.fromarray(picture(i, bright=i != 1)).save(d / "imgs" / f"{i:02d}.png")
    joblib.dump(PatchBrightness(), d / "patch.joblib")
    return d


def explain(work, *extra):
    args = ["explain", "-m", work / "patch.joblib", "--images", work / "imgs", "-n", 400]
    return invoke([*args, "--segments", "grid", "--num-segments", 16, *extra])


def test_json_lines_name_each_file_and_locate_each_region(work):
    res = explain(work, "-f", "jsonl")
    assert res.exit_code == 0, res.stderr
    exps = [json.loads(line) for line in res.stdout.splitlines()]
    assert [e["row"] for e in exps] == [0, 1, 2]
    assert [e["source"] for e in exps] == [str(work / "imgs" / f"{i:02d}.png") for i in range(3)]
    assert [e["label"] for e in exps] == ["bright", "dark", "bright"]
    for e in exps:
        assert e["features"], e
        top = e["features"][0]  # the patch's regions carry the prediction: grid cells of 8x8
        r0, c0, r1, c1 = top["bbox"]
        assert top["column"] == "image" and top["condition"] == f"{top['feature']} present"
        assert top["area"] == (r1 - r0) * (c1 - c0) == 64
        assert r0 < 20 and c0 < 20 and r1 > 8 and c1 > 8, "the top region overlaps the patch"
        assert top["weight"] > 0


def test_paths_after_images_are_images_too_and_the_table_names_the_file(work):
    files = [work / "imgs" / "00.png", work / "imgs" / "02.png"]
    res = invoke([
        "explain", "-m", work / "patch.joblib", "--images", *files, "-n", 300, "--segments", "grid",
        "--num-segments", 16, "-k", 3,
    ])  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert f"row 0 · label bright · {files[0]}" in res.stdout
    assert f"row 1 · label bright · {files[1]}" in res.stdout
    assert "px" in res.stdout and "region" in res.stdout


def test_masks_writes_a_picture_per_explanation_and_the_segment_map_per_image(work, tmp_path):
    masks = tmp_path / "masks"
    res = explain(work, "-f", "json", "-o", tmp_path / "out.json", "--masks", masks, "--top-labels", 2)
    assert res.exit_code == 0, res.stderr
    names = sorted(p.name for p in masks.iterdir())
    pictures = [f"{r}-{lab}.png" for r in range(3) for lab in ("bright", "dark")]
    assert names == sorted([f"{r}-segments.npy" for r in range(3)] + pictures)
    out = json.loads((tmp_path / "out.json").read_text())
    e = out["explanations"][0]
    seg = np.load(masks / "0-segments.npy")
    assert seg.shape == (32, 32) and seg.dtype == np.int32
    for f in e["features"]:  # the map's region k is the output's "region k"
        k = int(f["feature"].split()[1])
        rows, cols = np.nonzero(seg == k)
        assert [rows.min(), cols.min(), rows.max() + 1, cols.max() + 1] == f["bbox"]
        assert len(rows) == f["area"]
    png = np.asarray(Image.open(masks / "0-bright.png"))
    assert png.ndim == 3 and png.shape[2] == 3 and png.shape[0] >= 224  # a small image is enlarged


def test_the_html_report_shows_each_image_with_its_regions(work, tmp_path):
    res = explain(work, "-f", "html", "-o", tmp_path / "r.html")
    assert res.exit_code == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count('<figure class="img"><img src="data:image/') == 3
    assert "supports: region" in page and "(blue)" in page
    assert "<dt>regions</dt><dd>grid, about 16 per image</dd>" in page
    assert "<dt>hidden as</dt><dd>each region&#x27;s mean colour</dd>" in page
    assert "<dt>model input</dt><dd>the pixel values as read</dd>" in page


def test_the_html_report_says_how_regions_were_hidden_and_what_the_model_was_given(work, tmp_path):
    res = explain(work, "-f", "html", "-o", tmp_path / "r.html", "--hide", "0,0,0", "--scale", "1/2",
                  "--mean", 10, "--std", 2, "--image-size", 24, 24)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    assert "<dt>hidden as</dt><dd>the colour 0,0,0</dd>" in page
    assert "<dt>model input</dt><dd>resized to 24×24, (pixel × 0.5 − 10) ÷ 2</dd>" in page


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--data", "train.csv"], "--data does not go with --images"),
        (["--row", "0"], "--row does not go with --images"),
        (["--text", "review"], "--text does not go with --images"),
        (["--hide", "purple"], "--hide must be mean, blur or a colour"),
        (["--segments", "watershed"], "--segments must be one of slic, quickshift, felzenszwalb, grid"),
        (["--mean", "0.5,x"], "--mean takes one number or one per channel"),
        (["--scale", "1/0"], "--scale takes a positive number or fraction (0.5 or 1/255), not '1/0'"),
        (["--scale", "-2"], "--scale takes a positive number or fraction"),
        (["--image-size", "0", "4"], "--image-size must be (height, width)"),
    ],
)
def test_options_that_do_not_fit_are_one_error_line(work, extra, expected):
    one_error(explain(work, *extra), expected)


def test_image_options_without_images_are_an_error(cancer_files):
    model, data = cancer_files
    res = invoke(["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "--segments", "grid"])
    one_error(res, "--segments goes with --images")


def test_a_stray_argument_without_images_is_an_error(cancer_files):
    model, data = cancer_files
    res = invoke(["explain", "-m", model, "-d", data, "-t", "target", "--row", 0, "cat.png"])
    one_error(res, "unexpected argument(s): cat.png")


def test_missing_and_unreadable_images_name_the_file(work, tmp_path):
    one_error(explain(work, "--images", tmp_path / "none.png"), str(tmp_path / "none.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    one_error(explain(work, "--images", bad), str(bad))


def test_masks_never_overwrite_an_input(work, tmp_path):
    one_error(explain(work, "--masks", work / "imgs"), "--masks", "could overwrite")
    (tmp_path / "file").write_text("x")
    one_error(explain(work, "--masks", tmp_path / "file"), "is a file, not a folder")


def test_a_missing_onnx_file_is_one_error_line(work, tmp_path):
    res = invoke(["explain", "-m", tmp_path / "m.onnx", "--images", work / "imgs"])
    one_error(res, str(tmp_path / "m.onnx"), "does not exist")


def test_summary_refuses_image_regions(work, tmp_path):
    res = explain(work, "-f", "jsonl", "-o", tmp_path / "out.jsonl")
    assert res.exit_code == 0, res.stderr
    one_error(invoke(["summary", tmp_path / "out.jsonl"]), "explanations are of images", "no global view")


def test_preset_lime_segments_as_lime_does(work):
    # lime's method with lime's segmentation (quickshift), unless --segments says otherwise
    from lime_cli import ImageExplainer
    from lime_cli.image import segment_image

    image = work / "imgs" / "00.png"
    lime_like = ImageExplainer(PatchBrightness(), preset="lime")
    ours = ImageExplainer(PatchBrightness())
    picture = lime_like.prepare_image(image)
    assert np.array_equal(lime_like.segment_map(image), segment_image(picture, "quickshift"))
    assert np.array_equal(ours.segment_map(image), segment_image(picture, "slic"))
    grid = ImageExplainer(PatchBrightness(), preset="lime", segments="grid", num_segments=16)
    assert grid.segment_map(image).max() + 1 == 16


def test_an_image_the_model_cannot_take_says_which_option_fits(tmp_path):
    # the bundled digits MLP takes 784 values: a 32x32 image is resized by --image-size 28 28
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    image = tmp_path / "big.png"
    Image.fromarray(picture(0, True)[:, :, 0]).save(image)
    model = root / "sample_models" / "digits_mlp.onnx"
    res = invoke(["explain", "-m", model, "--images", image, "-n", 200])
    one_error(res, f"image file {image}", f"model file {model}", "resize them to 28x28 (--image-size)")
    res = invoke(["explain", "-m", model, "--images", image, "-n", 200, "--image-size", 28, 28, "-f", "json"])
    assert res.exit_code == 0, res.stderr
    e = json.loads(res.stdout)["explanations"][0]
    assert e["source"] == str(image) and e["num_samples"] == 200


def test_logits_is_an_option_and_its_absence_one_error_line(tmp_path):
    from test_image import linear_onnx

    W = np.zeros((32, 32, 3, 2))
    W[8:20, 8:20, 0, 1] = 8 / (144 * 255)  # the patch's red: class 1's logit
    model = linear_onnx(tmp_path / "net.onnx", ["N", 32, 32, 3], W.reshape(-1, 2), np.array([0.0, -4.0]),
                        logits=True, output="output")  # fmt: skip
    Image.fromarray(picture(0, bright=True)).save(tmp_path / "p.png")
    args = ["explain", "-m", model, "--images", tmp_path / "p.png", "-n", 300, "--segments", "grid",
            "--num-segments", 16, "-f", "json"]  # fmt: skip
    one_error(invoke(args), f"model file {model} gave ", "not a probability", "add --logits")
    res = invoke([*args, "--logits"])
    assert res.exit_code == 0, res.stderr
    (e,) = json.loads(res.stdout)["explanations"]
    assert e["label"] == "1" and 0.5 < e["model_prediction"] < 1
    r0, c0, r1, c1 = e["features"][0]["bbox"]
    assert e["features"][0]["weight"] > 0 and r0 < 20 and c0 < 20 and r1 > 8 and c1 > 8


def test_class_names_from_a_file_or_a_list_name_the_labels(tmp_path):
    from test_image import linear_onnx

    W = np.zeros((32, 32, 3, 3))
    W[8:20, 8:20, 0, 1] = 8 / (144 * 255)  # the patch's red: class 1's logit
    bias = np.array([0.0, -4.0, -2.0])
    model = linear_onnx(tmp_path / "net.onnx", ["N", 32, 32, 3], W.reshape(-1, 3), bias, logits=True)
    Image.fromarray(picture(0, bright=True)).save(tmp_path / "p.png")
    (tmp_path / "names.txt").write_text("dark\nbright\ngrey\n\n")  # a blank line at the end is no name
    args = ["explain", "-m", model, "--images", tmp_path / "p.png", "-n", 300, "--segments", "grid",
            "--num-segments", 16, "-f", "json", "--logits"]  # fmt: skip
    for names in [tmp_path / "names.txt", "dark,bright,grey"]:
        res = invoke([*args, "--class-names", names])
        assert res.exit_code == 0, res.stderr
        assert [e["label"] for e in json.loads(res.stdout)["explanations"]] == ["bright"]
    res = invoke([*args, "--class-names", "dark,bright,grey", "--label", "grey", "--label", "dark"])
    assert [e["label"] for e in json.loads(res.stdout)["explanations"]] == ["grey", "dark"]
    (tmp_path / "hole.txt").write_text("dark\n\nbright\n")
    one_error(invoke([*args, "--class-names", "dark,bright"]),
              f"--class-names has 2 names, but model file {model} gives 3 classes")  # fmt: skip
    one_error(invoke([*args, "--class-names", tmp_path / "hole.txt"]), "hole.txt: line 2 is empty")
    one_error(invoke([*args, "--class-names", tmp_path / "none.txt"]), "none.txt does not exist")
    (tmp_path / "bom.txt").write_bytes("\ufeffdark\nbright\ngrey\n  \n".encode())  # a BOM, a blank end
    res = invoke([*args, "--class-names", tmp_path / "bom.txt", "--label", "dark"])
    assert [e["label"] for e in json.loads(res.stdout)["explanations"]] == ["dark"], res.stderr
    one_error(invoke([*args, "--class-names", "a,b,a"]), "--class-names names the class 'a' twice")
