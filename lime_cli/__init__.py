"""lime-cli: fast, deterministic LIME explanations for tabular models.

The library does the work and the ``lime`` command merely calls it::

    from lime_cli import Explainer, explanations_to_frame

    explainer = Explainer(model, train, target="label", num_features=5, seed=0)
    frame = explanations_to_frame(explainer.explain(test))
"""

from .errors import DataError, LimeCliError, ModelError, ParameterError
from .explainer import TIDY_COLUMNS, Explainer, Explanation, FeatureWeight, explanations_to_frame
from .io import load_model, load_table

__version__ = "0.1.0"

__all__ = [
    "TIDY_COLUMNS",
    "DataError",
    "Explainer",
    "Explanation",
    "FeatureWeight",
    "LimeCliError",
    "ModelError",
    "ParameterError",
    "__version__",
    "explanations_to_frame",
    "load_model",
    "load_table",
]
