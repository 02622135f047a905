"""The model: inspected once, before any chunk, and called through one checked door.

:func:`inspect_model` finds how a model is explained (its mode, its classes, the
method to call); the :class:`ModelInfo` it returns travels with the work to the
workers.  :meth:`ModelInfo.predict` calls the model and checks what it
answers: one row of probabilities per sample (one column per class), or one
number per sample in regression; anything else is a :class:`ModelError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import LimeCliError, ModelError, ParameterError

MODES = ("classification", "regression")


@dataclass(frozen=True)
class ModelInfo:
    """A model and how it is explained."""

    model: object
    mode: str  # "classification" or "regression"
    classes: tuple[str, ...] | None  # class names as strings; None in regression or when unknown

    @property
    def method(self) -> str:
        return "predict_proba" if self.mode == "classification" else "predict"

    def predict(self, X, n: int) -> np.ndarray:
        """The model's checked output for ``n`` samples ``X``, as a float (n, C) array (C = 1 in
        regression)."""
        name = self.method
        try:
            out = getattr(self.model, name)(X)
        except SystemExit as exc:
            raise ModelError(f"the model's {name} called sys.exit({exc.code})") from None
        except LimeCliError:  # an adapter's own message (lime_cli.image.model): already clear
            raise
        except Exception as exc:  # the user's model may raise anything
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"the model's {name} failed: {msg}") from exc
        return _checked_predictions(out, name, n, None if self.classes is None else list(self.classes))

    def with_classes(self, count: int) -> ModelInfo:
        """A classifier without ``classes_`` named by the columns of its output: "0", "1", ...;
        or by its ``classes_`` if it has learnt them on its first call (an ONNX model whose
        probabilities are {class: probability} maps)."""
        if self.mode != "classification" or self.classes is not None:
            return self
        late = getattr(self.model, "classes_", None)
        if late is not None and len(late) == count:
            return replace(self, classes=tuple(str(c) for c in np.asarray(late).tolist()))
        return replace(self, classes=tuple(str(i) for i in range(count)))


def inspect_model(model, mode: str | None = None) -> ModelInfo:
    """How ``model`` is explained: in ``mode`` (default: classification if it has
    ``predict_proba``, else regression), with the classes of ``classes_``."""
    mode = _mode(model, mode)
    classes = getattr(model, "classes_", None) if mode == "classification" else None
    names = None if classes is None else tuple(str(c) for c in np.asarray(classes).tolist())
    return ModelInfo(model, mode, names)


def _mode(model, mode: str | None) -> str:
    has_proba = hasattr(model, "predict_proba")
    if mode is None:
        if has_proba:
            return "classification"
        if hasattr(model, "predict"):
            return "regression"
        raise ModelError(f"{type(model).__name__} has neither predict_proba nor predict: not a model")
    if mode not in MODES:
        raise ParameterError(f"{{mode}} must be classification or regression, not {mode!r}")
    if mode == "classification" and not has_proba:
        raise ModelError(
            f"{type(model).__name__} has no predict_proba: it cannot be explained as a classifier "
            "(use {mode} regression to explain its predict)"
        )
    if mode == "regression" and not hasattr(model, "predict"):
        raise ModelError(f"{type(model).__name__} has no predict method")
    return mode


#: How far a row of predicted probabilities may sum from 1, and a probability stray below 0 or above 1.
PROBA_SUM_TOLERANCE = 1e-3
PROBA_RANGE_TOLERANCE = 1e-6


def not_a_probability(arr: np.ndarray) -> float | None:
    """The value of the finite array ``arr`` furthest outside [0, 1] (beyond the tolerance), or
    None when every value is a probability."""
    low, high = float(arr.min()), float(arr.max())
    if low < -PROBA_RANGE_TOLERANCE:
        return low
    return high if high > 1 + PROBA_RANGE_TOLERANCE else None


def _checked_predictions(out, name: str, n: int, classes: list[str] | None) -> np.ndarray:
    """The model's output as a float (n, C) array, or a ModelError saying what is wrong with it.

    ``predict_proba`` must give one row of probabilities per sample (each in
    [0, 1], summing to 1) with one column per class of ``classes`` when known;
    ``predict`` (regression) one number per sample.
    """
    if hasattr(out, "toarray"):  # a sparse matrix
        out = out.toarray()
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        reason = str(exc).split(". ")[0].splitlines()[0]
        raise ModelError(f"the model's {name} returned {_describe(out)}, not numbers ({reason})") from None
    if arr.ndim == 0:
        raise ModelError(f"the model's {name} returned {_describe(out)}, not one prediction per sample")
    if name == "predict":
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ModelError(
                f"the model's predict returned shape {arr.shape}; regression needs one value per row"
            )
        arr = arr[:, None]
    elif arr.ndim != 2:
        hint = " (one value per row: is it a regressor? try {mode} regression)" if arr.ndim == 1 else ""
        raise ModelError(
            f"the model's predict_proba returned shape {arr.shape}; expected (rows, classes){hint}"
        )
    if arr.shape[0] != n:
        raise ModelError(f"the model's {name} returned {arr.shape[0]} predictions for {n} samples")
    if not np.isfinite(arr).all():
        raise ModelError(f"the model's {name} returned NaN or infinite values")
    if name == "predict":
        return arr
    if classes is not None and arr.shape[1] != len(classes):
        shown = ", ".join(classes[:10]) + (", ..." if len(classes) > 10 else "")
        raise ModelError(
            f"the model's predict_proba returned {arr.shape[1]} columns for its {len(classes)} "
            f"classes ({shown}): the columns cannot be matched to the classes"
        )
    bad = not_a_probability(arr)
    if bad is not None:
        raise ModelError(
            f"the model's predict_proba returned {bad:.6g}, which is not a probability "
            "(scores or a decision function are not probabilities)"
        )
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0)
    if off.max() > PROBA_SUM_TOLERANCE:
        i = int(np.argmax(off))
        raise ModelError(
            f"the model's predict_proba returned probabilities that do not sum to 1 "
            f"(a row sums to {sums[i]:.6g})"
        )
    return arr


def _describe(out: object) -> str:
    """What a model returned, for a message: ``a list of str``, ``an array of dtype <U3``..."""
    if isinstance(out, np.ndarray):
        return f"an array of dtype {out.dtype}"
    if out is None:
        return "None"
    if isinstance(out, (list, tuple)) and out:
        return f"a {type(out).__name__} of {type(out[0]).__name__}"
    return f"a {type(out).__name__}"
