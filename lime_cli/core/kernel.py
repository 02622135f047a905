"""Proximity kernel used to weight perturbed samples."""

from __future__ import annotations

import numpy as np


def default_kernel_width(n_features: int) -> float:
    """lime's default width: 0.75 * sqrt(number of features)."""
    return 0.75 * float(np.sqrt(max(n_features, 1)))


def exponential_kernel(distances: np.ndarray, width: float) -> np.ndarray:
    """lime's exponential kernel, ``sqrt(exp(-d**2 / width**2))``."""
    return np.exp(-(distances**2) / (2.0 * width**2))
