"""lime-cli: fast, deterministic LIME explanations for tabular models.

The library does the work and the ``lime`` command merely calls it::

    from lime_cli import Explainer, explanations_to_frame

    explainer = Explainer(model, train, target="label", num_features=5, seed=0)
    frame = explanations_to_frame(explainer.explain(test))

The names below are imported on first use, so that ``import lime_cli`` (and the
``lime`` command's start) does not load numpy, pandas and scikit-learn before
they are needed.
"""

from __future__ import annotations

import importlib

from .errors import DataError, LimeCliError, ModelError, ParameterError, StorageError

__version__ = "0.1.0"

_LAZY = {
    "Explainer": ".explainer",
    "TextExplainer": ".explainer",
    "ImageExplainer": ".explainer",
    "Settings": ".settings",
    "TIDY_COLUMNS": ".schema",
    "Explanation": ".schema",
    "FeatureWeight": ".schema",
    "Stability": ".schema",
    "FeatureStability": ".schema",
    "explanations_to_frame": ".schema",
    "read_explanations": ".schema",
    "ExplanationList": ".schema",
    "report": ".html",
    "write_report": ".html",
    "TabularFrontEnd": ".tabular",
    "TrainingStats": ".tabular",
    "fit_training_stats": ".tabular",
    "load_model": ".io",
    "load_table": ".io",
}

__all__ = [
    "TIDY_COLUMNS",
    "DataError",
    "Explainer",
    "Explanation",
    "ExplanationList",
    "FeatureStability",
    "FeatureWeight",
    "ImageExplainer",
    "LimeCliError",
    "ModelError",
    "ParameterError",
    "Settings",
    "Stability",
    "StorageError",
    "TabularFrontEnd",
    "TextExplainer",
    "TrainingStats",
    "__version__",
    "explanations_to_frame",
    "fit_training_stats",
    "load_model",
    "load_table",
    "read_explanations",
    "report",
    "write_report",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
