"""Exceptions raised by lime_cli.

Every error the library raises on bad input derives from :class:`LimeCliError`.
The CLI turns each into a single ``Error: ...`` line on stderr and exits with
the error's ``exit_code``: 2 for every input or usage error, 4 when the
operating system refused a read or a write (:class:`StorageError`).
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
