"""What a person sees: tables at 80 columns, piped tables, and the progress bar beside them."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys

import pyte
import pytest
from rich.console import Console

from lime_cli.render import BAR_WIDTH, TableLayout, TableSink, explanation_table
from lime_cli.schema import Explanation, FeatureStability, FeatureWeight, Stability


def explanation(row=0, weights=(0.19, -0.05, 0.01), long=False, stability=False, label="1", **kw):
    features = [
        FeatureWeight(
            f"f{i}",
            (
                "0.0312 < a rather long column name for a feature <= 0.0719"
                if long and i == 0
                else f"f{i} > 1.00"
            ),
            1.5,
            w,
        )
        for i, w in enumerate(weights)
    ]
    stab = (
        Stability(3, 0.8, [FeatureStability(f.feature, 1.0, f.weight, 0.0) for f in features])
        if stability
        else None
    )
    return Explanation(row, label, 0.91, 0.88, 0.2, 0.6, features, fidelity_gap=0.03, stability=stab, **kw)


def render(renderable, width=80) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def bar_cells(line: str) -> int:
    return line.count("█")


@pytest.mark.parametrize("stability", [False, True])
@pytest.mark.parametrize("long", [False, True])
def test_bars_stay_proportional_at_80_columns(stability, long):
    layout = TableLayout.fit(80, stability)
    assert layout.bar >= 4, layout  # a bar is kept at 80 columns, with the stability column too
    lines = render(explanation_table(explanation(long=long, stability=stability), layout), 80)
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = [line for line in lines if "│" in line and "█" in line]
    big, small = bar_cells(rows[0]), bar_cells(rows[1])
    assert big == layout.bar  # the largest weight fills its half
    assert small == round(0.05 / 0.19 * layout.bar)  # 0.19 and 0.05 do not look the same
    if stability:
        assert "100%" in rows[0]


def test_a_long_condition_wraps_instead_of_squeezing_the_bar():
    lines = render(explanation_table(explanation(long=True), TableLayout.fit(80, False)), 80)
    assert any("a rather long" in line for line in lines) and any(
        "<= 0.0719" in line for line in lines
    )
    assert (
        bar_cells(next(line for line in lines if "a rather long" in line or "0.0312" in line))
        == TableLayout.fit(80, False).bar
    )


def test_every_table_of_a_run_has_the_same_width_and_columns():
    out = io.StringIO()
    sink = TableSink(Console(width=80, file=out))
    sink.write([explanation(0), explanation(1, long=True), explanation(2, weights=(5.0, -3.0))])
    text = out.getvalue()
    rules = [line for line in text.splitlines() if set(line.strip()) == {"─"}]
    headers = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(rules) == 3 and len(set(rules)) == 1 and len(set(headers)) == 1


def test_an_explanation_without_features_is_two_lines():
    e = explanation(weights=(), insignificant=3, low_fidelity=True)
    e.score = 0.03
    lines = [line for line in render(explanation_table(e, TableLayout.fit(80, False))) if line.strip()]
    assert lines == [
        "row 0 · label 1: no feature stood out (3 selected ones indistinguishable from 0)",
        "model 0.910 · local 0.880 · gap 0.030 · R² 0.03 · intercept 0.200 (low fidelity)",
    ]


def test_numbers_are_formatted_for_their_scale():
    lines = render(explanation_table(explanation(weights=(0.191, -0.052))))
    assert "model 0.910 · local 0.880 · gap 0.030 · R² 0.60" in "\n".join(lines)  # probabilities: fixed
    weights = [re.search(r"[+-]\d+\.\d+", line).group() for line in lines if "f0 >" in line or "f1 >" in line]
    assert weights == ["+0.1910", "-0.0520"]  # one number of decimals: aligned on the point
    regression = explanation(weights=(39.56, -5.47), label=None)
    regression.model_prediction, regression.local_prediction, regression.fidelity_gap = 204.3, 203.3, 1.0
    text = "\n".join(render(explanation_table(regression)))
    assert "model 204.3 · local 203.3 · gap 1.0" in text and "+39.56" in text and "-5.47" in text


def test_piped_tables_have_no_colour_and_no_trailing_padding(cancer_files):
    model, data = cancer_files
    args = [sys.executable, "-m", "lime_cli", "explain", "-m", model, "-d", data, "-t", "target"]
    out = subprocess.run(
        [*map(str, args), "--row", "0", "--row", "1", "-n", "300", "-k", "4"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout
    lines = out.stdout.splitlines()
    assert all(line == line.rstrip() for line in lines) and max(map(len, lines)) <= 80
    assert sum(line.startswith("row ") for line in lines) == 2


def test_progress_and_tables_share_one_terminal(cancer_files):
    # in a terminal, the bar stays below and each table starts on a line of its own
    model, data = cancer_files
    args = [sys.executable, "-m", "lime_cli", "explain", "-m", str(model), "-d", str(data), "-t", "target"]
    args += ["--rows", str(data), "-n", "300", "-k", "3", "--batch-size", "8"]
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            data_read = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data_read:
            break
        chunks.append(data_read)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0
    raw = b"".join(chunks).decode("utf-8", "replace")
    assert "explaining" in raw, "no progress bar was shown"
    # what a person saw: the output played on an 80-column terminal, scrolled-off lines included
    screen = pyte.HistoryScreen(80, 40, history=100_000, ratio=0.001)
    pyte.Stream(screen).feed(raw.replace("\n", "\r\n"))
    lines = ["".join(ch.data for ch in row.values()) for row in screen.history.top]
    lines += screen.display
    titles = [line for line in lines if re.search(r"row \d+ · label", line)]
    assert len(titles) == 569, len(titles)
    assert all(line.startswith("row ") for line in titles), [t for t in titles if not t.startswith("row ")][
        :3
    ]
    assert not any("explaining" in line for line in lines[:-1] if line.strip()), "the bar was left behind"


def test_the_bar_is_dropped_last():
    assert TableLayout.fit(200, True).bar == BAR_WIDTH
    assert TableLayout.fit(72, True).bar > 0
    narrow = TableLayout.fit(50, True)
    assert narrow.bar == 0 and narrow.condition >= 8
