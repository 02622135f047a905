"""Exceptions raised by lime_cli.

Every error the library raises on bad input derives from :class:`LimeCliError`.
The CLI turns each into a single ``Error: ...`` line on stderr and exits with
the error's ``exit_code``: 2 for every input or usage error, 4 when the
operating system refused a read or a write (:class:`StorageError`).

A message names the parameters at fault as the Python API spells them
(``num_samples must be an integer >= 2``).  Where a message names one, it is
written ``{num_samples}`` in the error's template, so that the command line
can say ``--num-samples`` instead (:meth:`LimeCliError.spelled`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"\{([a-z][a-z_]*)\}")

#: The parameters a message may name as ``{name}``; other text in braces is left as it is.
PARAMETERS = frozenset(
    {
        "num_features", "num_samples", "seed", "kernel_width", "feature_selection", "batch_size",
        "preset", "locality", "confidence", "min_fidelity", "sampling", "mode", "target",
        "categorical", "discretizer", "labels", "top_labels", "stability", "n_jobs", "data", "stats",
        "positions", "trust", "import_paths", "stdin_format", "fmt", "output", "top_k", "budget", "by",
        "token_pattern", "mask_string", "text", "image_size", "grayscale", "flatten", "hide", "segments",
        "num_segments", "scale", "mean", "std", "channels_first", "logits",
        "class_names",
    }
)  # fmt: skip


class LimeCliError(Exception):
    """Base class of every error lime_cli reports to its user."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        self.template = message
        super().__init__(self.spelled({}))

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each ``{parameter}`` written as ``names`` says (default: its name)."""

        def name(m: re.Match) -> str:
            key = m.group(1)
            return names.get(key, key) if key in PARAMETERS else m.group(0)

        return _NAME.sub(name, self.template)

    def prefixed(self, prefix: str) -> LimeCliError:
        """The same error, its message led by ``prefix`` (a file, say)."""
        return type(self)(prefix + self.template)


class DataError(LimeCliError):
    """A table, a column or a row is missing, empty or unusable."""


class ModelError(LimeCliError):
    """A model file cannot be loaded, or the model cannot be called as needed."""


class ParameterError(LimeCliError, ValueError):
    """A parameter (an option) has a value outside its valid range."""


class StorageError(LimeCliError):
    """The operating system refused a read or a write: a full disk, an I/O error, a quota.

    Not a bug and not bad input, but the environment: exit code 4.  The message
    names the file and the operating system's reason.
    """

    exit_code = 4

    @classmethod
    def from_os(cls, exc: OSError, verb: str, what: str) -> StorageError:
        """``cannot <verb> <what>: <reason> (<ERRNO>)`` from an OSError."""
        import errno

        reason = exc.strerror or str(exc) or type(exc).__name__
        code = errno.errorcode.get(exc.errno or 0)
        return cls(f"cannot {verb} {what}: {reason}" + (f" ({code})" if code else ""))
