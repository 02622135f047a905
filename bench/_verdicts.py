"""What the benchmark scripts share: a figure against its target, and a figure as the tables show it."""

from __future__ import annotations

import numpy as np


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
