"""The method's settings: one validated, immutable object, built once.

>>> Settings.create(num_features=5, preset="lime")
Settings(num_features=5, num_samples=5000, seed=0, ..., locality=0.0, confidence=0.0, ...)

Every setting is checked here and nowhere else: :func:`problem` says what is
wrong with a value (the policy files of ``lime check`` use it too), and
:meth:`Settings.create` raises a :class:`~lime_cli.errors.ParameterError`
naming the parameter as Python spells it (``num_samples must be ...``; the
command line shows its own flag instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .errors import ParameterError

#: Sample sizes of ``num_samples="auto"``: the first level, and the cap.
AUTO_START, AUTO_CAP = 1000, 32000
MAX_SAMPLES = 10_000_000

SAMPLINGS = ("sobol", "random")
SELECTIONS = ("auto", "forward", "highest", "lasso", "none")

#: Method settings of the presets; explicit arguments override them.  "lime"
#: reproduces lime 0.2.0.1's method; "default" is chosen from bench/QUALITY.md.
PRESETS = {
    "default": {"locality": 0.8, "confidence": 0.95, "min_fidelity": 0.1, "sampling": "sobol"},
    "lime": {"locality": 0.0, "confidence": 0.0, "min_fidelity": 0.1, "sampling": "random"},
}


@dataclass(frozen=True)
class Settings:
    """How every explanation of a run is computed.

    num_features:
        Features per explanation (at most; the pruning may list fewer).
    num_samples:
        Samples per instance, the instance included; or ``"auto"``: doubled from
        ``AUTO_START`` up to ``AUTO_CAP`` until the explanation holds.
    seed:
        The seed every random stream is derived from (:mod:`lime_cli.core.streams`).
    kernel_width:
        Width of the exponential kernel; None: the front-end's default.
    feature_selection:
        ``auto`` (forward when ``num_features <= 6``, else highest), ``forward``,
        ``highest``, ``lasso`` or ``none`` (all features).
    batch_size:
        Instances per chunk; None: sized by the memory chunks take.
    preset:
        ``"default"`` (lime-cli's method) or ``"lime"`` (lime 0.2.0.1's); the
        four settings below default to the preset's.
    locality:
        Chance in [0, 1) that a sample keeps each of the instance's own values
        (0: every value drawn, as lime does).
    confidence:
        Leave out selected features whose weight is not distinct from 0 at this
        family-wise confidence (0: off).
    min_fidelity:
        Explanations whose weighted R² is lower are marked low fidelity.
    sampling:
        ``"sobol"`` (randomly shifted Sobol' points: the same distribution,
        spread evenly) or ``"random"`` (independent draws, as lime).
    """

    num_features: int = 10
    num_samples: int | str = 5000
    seed: int = 0
    kernel_width: float | None = None
    feature_selection: str = "auto"
    batch_size: int | None = None
    preset: str = "default"
    locality: float = PRESETS["default"]["locality"]
    confidence: float = PRESETS["default"]["confidence"]
    min_fidelity: float = PRESETS["default"]["min_fidelity"]
    sampling: str = PRESETS["default"]["sampling"]

    @classmethod
    def create(cls, *, preset: str | None = None, **given) -> Settings:
        """Settings from keyword arguments; None (or absent) means the preset's or the default."""
        preset = "default" if preset is None else preset
        check("preset", preset)
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = {**PRESETS[preset], **{k: v for k, v in given.items() if v is not None}}
        for name, value in values.items():
            check(name, value)
        for name in ("locality", "confidence", "min_fidelity"):
            values[name] = float(values[name])
        if values.get("kernel_width") is not None:
            values["kernel_width"] = float(values["kernel_width"])
        return cls(preset=preset, **values)

    def but(self, **changes) -> Settings:
        """A copy with ``changes``, validated."""
        for name, value in changes.items():
            if value is not None:
                check(name, value)
        return replace(self, **changes)

    @property
    def auto_samples(self) -> bool:
        return self.num_samples == "auto"

    @property
    def first_samples(self) -> int:
        """Samples of the first (or only) level."""
        return AUTO_START if self.auto_samples else int(self.num_samples)


def _is_int(v: object) -> bool:
    return isinstance(v, (int,)) and not isinstance(v, bool) or _is_numpy_int(v)


def _is_numpy_int(v: object) -> bool:
    import numpy as np

    return isinstance(v, np.integer)


def _is_number(v: object) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or _is_numpy_int(v)


def _num_samples(v: object) -> str | None:
    if v == "auto" and isinstance(v, str):
        return None
    if not _is_int(v) or v < 2:
        return 'must be an integer >= 2 or "auto"'
    return f"must be at most {MAX_SAMPLES:,}" if v > MAX_SAMPLES else None


_CHECKS = {
    "num_features": lambda v: None if _is_int(v) and v >= 1 else "must be an integer >= 1",
    "num_samples": _num_samples,
    "seed": lambda v: None if _is_int(v) and v >= 0 else "must be an integer >= 0",
    "kernel_width": lambda v: (
        None if _is_number(v) and math.isfinite(v) and v > 0 else "must be a positive number"
    ),
    "feature_selection": lambda v: (
        None if isinstance(v, str) and v in SELECTIONS else f"must be one of {', '.join(SELECTIONS)}"
    ),
    "batch_size": lambda v: None if _is_int(v) and v >= 1 else "must be an integer >= 1",
    "preset": lambda v: (
        None if isinstance(v, str) and v in PRESETS else f"must be one of {', '.join(PRESETS)}"
    ),
    "locality": lambda v: None if _is_number(v) and 0 <= v < 1 else "must be in [0, 1)",
    "confidence": lambda v: None if _is_number(v) and 0 <= v < 1 else "must be in [0, 1) (0: off)",
    "min_fidelity": lambda v: None if _is_number(v) and math.isfinite(v) else "must be a number",
    "sampling": lambda v: (
        None if isinstance(v, str) and v in SAMPLINGS else f"must be one of {', '.join(SAMPLINGS)}"
    ),
}


def problem(name: str, value: object) -> str | None:
    """What is wrong with ``value`` for the setting ``name`` (``"must be ..."``), or None."""
    return _CHECKS[name](value)


def check(name: str, value: object) -> None:
    """A ParameterError naming ``name`` if ``value`` is not valid for it."""
    wrong = problem(name, value)
    if wrong:
        shown = f"{value:,}" if wrong.startswith("must be at most") else repr(value)
        raise ParameterError(f"{{{name}}} {wrong}, not {shown}")
