"""Tables: rows explained through conditions on their columns.

- :class:`TabularFrontEnd`: the front-end the core explains rows through;
- :func:`fit_training_stats` and :class:`TrainingStats`: what the samples are
  drawn from, fitted from a training table with no model needed;
- :mod:`.explainer_file`: those statistics saved as JSON (``lime fit``).
"""

from .frontend import TabularFrontEnd, TabularInstances, feature_columns
from .stats import DISCRETIZERS, ColumnStats, TrainingStats, fit_training_stats

__all__ = [
    "DISCRETIZERS",
    "ColumnStats",
    "TabularFrontEnd",
    "TabularInstances",
    "TrainingStats",
    "feature_columns",
    "fit_training_stats",
]
