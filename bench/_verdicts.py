"""What the benchmark scripts share: a figure against its target, a figure as the tables show it,
the tables of ratios and of memory, and the commit measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _se(values) -> float:
    """Standard error of the mean (over images, documents, rows)."""
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def _meets(value: float, bound: float, at_least: bool) -> bool:
    return bool(np.isfinite(value)) and (value >= bound if at_least else value <= bound)


def _verdict(value, bound, at_least, se=None) -> str:
    if _meets(value, bound, at_least):
        return "yes"
    if not np.isfinite(value):
        return "no (not measured)"
    text = f"no, by {abs(value - bound):.3f}"
    if se is not None and np.isfinite(se) and se > 0:
        text += f" ({abs(value - bound) / se:.1f} SE)"
    return text


def fmt(value, se=None, digits=3) -> str:
    if value is None or not np.isfinite(value):
        return ""
    return (
        f"{value:.{digits}f}"
        if se is None or not np.isfinite(se)
        else f"{value:.{digits}f} ± {se:.{digits}f}"
    )


def ratio_table(targets, figures) -> list[str]:
    """The table of speed ratios against ``targets`` (title, key in ``figures``, bound, at least?)."""
    lines = ["", "| ratio | value | target | met? |", "| --- | --- | --- | --- |"]
    for title, key, bound, at_least in targets:
        sign = "≥" if at_least else "≤"
        lines.append(
            f"| {title} | {figures[key]:.2f} | {sign} {bound} | {_verdict(figures[key], bound, at_least)} |"
        )
    return lines


def memory_rows(mem) -> list[str]:
    """A memory table's rows: count, seconds per item, resident memory before, peak and growth."""
    lines = []
    for m in mem:
        before, peak = m["before_kib"] / 1024, m["peak_kib"] / 1024
        lines.append(
            f"| {m['n']:,} | {m['seconds'] / m['n']:.5f} | {before:.0f} | {peak:.0f} "
            f"| {peak - before:.0f} |"
        )
    return lines


def git_state(*paths: str) -> tuple[str, bool] | None:
    """(the checked-out commit, whether ``paths`` (default: the tree) have changes not committed),
    or None where git cannot tell."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", *paths], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head, bool(dirty)
