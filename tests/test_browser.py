"""Reports opened in a real browser: Debian's Chromium, driven by Playwright (``make test``
installs Chromium when it is missing, so this runs in CI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: `make test` installs it (apt-get install -y chromium)"
    return path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A text report (words marked in their documents) and a table report."""
    out = tmp_path_factory.mktemp("reports")
    rows = [a for r in range(0, 90, 3) for a in ("--row", str(r))]
    text = ["--model", "sample_models/reviews_tfidf_lr.joblib", "--rows", "sample_data/reviews.jsonl"]
    table = ["--model", "sample_models/breast_cancer_rf.joblib", "--data", "sample_data/breast_cancer.csv"]
    runs = {
        "text": [*text, "--text", "review", "--num-features", "6", *rows],
        "table": [*table, "--target", "target", "--num-samples", "1000", *rows[:24]],
    }
    paths = {}
    for name, args in runs.items():
        path = out / f"{name}.html"
        p = subprocess.run(
            [sys.executable, "-m", "lime_cli", "explain", *args, "-q", "-f", "html", "-o", str(path)],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium(), args=ARGS)
        yield b
        b.close()


def not_blank(png: Path) -> None:
    """A screenshot shows something: several colours, and a good share of non-background pixels."""
    from PIL import Image

    im = Image.open(png).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 20, f"{png.name}: {len(colours)} colours"
    background = max(colours)[1]
    ink = sum(n for n, c in colours if c != background) / (im.width * im.height)
    assert ink > 0.03, f"{png.name}: {ink:.1%} of pixels drawn"


@pytest.mark.slow
@pytest.mark.parametrize("script", [True, False], ids=["js-on", "js-off"])
def test_reports_render_charts_and_highlights_without_errors(reports, browser, tmp_path, script):
    for name, path in reports.items():
        for view, (w, h) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": w, "height": h}, java_script_enabled=script)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.on("requestfailed", lambda r, errors=errors: errors.append(f"request {r.url}"))
            requests: list[str] = []
            page.on("request", lambda r, requests=requests: requests.append(r.url))
            page.goto(path.as_uri())
            assert not errors, (name, view, errors)
            assert requests == [path.as_uri()], requests  # nothing fetched but the page itself
            sections = page.locator("section.e").count()
            assert sections == 30 if name == "text" else sections == 12
            assert page.locator("table.chart").count() == sections
            # every bar and heatmap cell has a size on screen (the heatmap's comes from its style)
            bar = page.locator("td.bar i").first.bounding_box()
            assert bar and bar["width"] > 1 and bar["height"] > 5
            cells = page.locator("svg.heatmap rect[class^=h], svg.heatmap rect[class^=g]")
            assert cells.count() > 20
            box = cells.first.bounding_box()
            assert box and box["width"] > 10 and box["height"] > 3
            if name == "text":
                marks = page.locator("mark")
                assert marks.count() >= sections
                assert marks.first.get_attribute("title")[0] in "+\u2212"
            # nothing wider than the window but what scrolls inside its own box
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (name, view, overflow)
            shot = tmp_path / f"{name}-{view}-{script}.png"
            page.screenshot(path=str(shot), full_page=False)
            not_blank(shot)
            context.close()
