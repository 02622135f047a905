"""Exceptions raised by lime_cli.

Every error the library raises on bad input derives from :class:`LimeCliError`.
The CLI turns each into a single ``Error: ...`` line on stderr and exits with
the error's ``exit_code`` (2 for every input or usage error).
"""

from __future__ import annotations


class LimeCliError(Exception):
    """Base class of every error lime_cli reports to its user."""

    exit_code = 2


class DataError(LimeCliError):
    """A table, a column or a row is missing, empty or unusable."""


class ModelError(LimeCliError):
    """A model file cannot be loaded, or the model cannot be called as needed."""


class ParameterError(LimeCliError, ValueError):
    """An option has a value outside its valid range."""
