"""The LIME tabular explainer: the library's entry point.

>>> from lime_cli import Explainer
>>> explainer = Explainer(model, train, target="label", num_features=5)
>>> explanations = explainer.explain(test.iloc[:100])
>>> frame = explanations_to_frame(explanations)

:class:`Explainer` puts three pieces together and hands them to the core
(:mod:`lime_cli.core.engine`): the method's :class:`~lime_cli.settings.Settings`,
the tabular front-end (:class:`~lime_cli.tabular.TabularFrontEnd`: the training
statistics, sampling, the model's input, the conditions) and the inspected model
(:class:`~lime_cli.core.model.ModelInfo`).  Rows are explained in chunks: the
samples of every row of a chunk form one array, the model is called once per
chunk, and the surrogates of the chunk are solved together.  A row draws its
samples from a generator seeded with the seed and a hash of its own values
(:mod:`lime_cli.core.streams`), so its explanation depends on neither its
position nor the chunk it falls in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .core import engine
from .core.frontend import FrontEnd
from .core.model import ModelInfo, inspect_model
from .errors import DataError, ParameterError
from .schema import Explanation, ExplanationList
from .settings import Settings
from .tabular import TabularFrontEnd, TrainingStats


class _Explaining:
    """What every explainer does with its front-end, model and settings: explain instances."""

    frontend: FrontEnd
    model_info: ModelInfo
    settings: Settings
    kernel_width: float

    @property
    def model(self):
        return self.model_info.model

    @property
    def mode(self) -> str:
        return self.model_info.mode

    @property
    def classes(self) -> list[str] | None:
        classes = self.model_info.classes
        return None if classes is None else list(classes)

    @property
    def num_features(self) -> int:
        return self.settings.num_features

    #: the model's input for text: "counts" (the exact document-term matrix) or "strings", and why
    path, path_reason = "strings", "a table: the model takes a DataFrame"

    @property
    def text_info(self) -> dict | None:
        """How text columns are explained (None without): the columns, how they are split into
        words, how word masks are drawn, and the model's input (``path``: ``"counts"``, the exact
        document-term matrix, or ``"strings"``, with ``path_reason``), as the JSON output's
        ``text`` says."""
        texts = getattr(self.frontend, "texts", [])
        if not texts:
            return None
        return {
            "columns": [t.column for t in texts],
            "token_pattern": {t.column: t.tokenizer.pattern for t in texts},
            "lowercase": {t.column: t.tokenizer.lowercase for t in texts},
            "bow": texts[0].bow,
            "mask_string": texts[0].mask_string,
            "sampling": getattr(self.frontend, "word_sampling", self.settings.sampling),
            "path": self.path,
            "path_reason": self.path_reason,
        }

    @property
    def feature_names(self) -> list[str]:
        """The columns the features come from: the feature columns of a table, the text columns."""
        return self.frontend.feature_names

    # -- explaining ---------------------------------------------------------------------

    def explain(
        self,
        rows,
        *,
        positions: Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        top_labels: int | None = None,
        stability: int = 0,
    ) -> ExplanationList:
        """Explain every row of ``rows``; see :meth:`iter_explain`.  The list shows as a report in a
        notebook."""
        chunks = self.iter_explain(
            rows, positions=positions, labels=labels, top_labels=top_labels, stability=stability
        )
        return ExplanationList(e for chunk in chunks for e in chunk)

    def iter_explain(
        self,
        rows,
        *,
        positions: Sequence[int] | None = None,
        labels: Sequence[str] | None = None,
        top_labels: int | None = None,
        n_jobs: int = 1,
        backend: str | None = None,
        stability: int = 0,
    ) -> Iterator[list[Explanation]]:
        """Yield the explanations of ``rows`` chunk by chunk, in row order.

        ``positions`` are the rows' 0-based positions in the explained table
        (default ``0..len(rows)-1``), reported as ``row``; a row's random stream
        comes from the seed and its values, not its position.  ``labels`` (class
        names, as strings) or ``top_labels`` choose the explained classes; by
        default the class the model predicts for the row.  ``stability`` R
        re-explains each row under R other streams and reports how they agree.

        Everything is validated, and the model asked once about two samples of
        the first row, before the first chunk is computed: an error is raised
        here, not halfway through.  ``n_jobs`` > 1 explains chunks in parallel
        with joblib (``backend`` names a joblib backend, e.g. ``"dask"`` with a
        running ``distributed.Client``); the output is identical to a serial run
        and always in row order.
        """
        positions = np.arange(len(rows)) if positions is None else np.asarray(positions, dtype=np.int64)
        if len(positions) != len(rows):
            raise ParameterError("{positions} must have one entry per row")
        prepared = self.frontend.prepare(rows, positions)
        engine.check_run(stability, n_jobs, self.settings)
        info = self.model_info
        known = info.classes is not None or info.mode == "regression"
        label_idx = engine.label_indices(info, labels, top_labels) if known else None
        if len(positions):
            info = engine.probe(self.frontend, info, prepared, self.settings)
        if not known:  # the probe gave the classes
            label_idx = engine.label_indices(info, labels, top_labels)
        job = self.job(info, label_idx, top_labels, stability)
        return engine.run(job, prepared, positions, n_jobs=n_jobs, backend=backend)

    def job(self, model_info=None, labels=None, top_labels=None, stability: int = 0) -> engine.Job:
        """What the core runs a chunk with (:class:`lime_cli.core.engine.Job`)."""
        info = self.model_info if model_info is None else model_info
        return engine.Job(
            self.frontend, info, self.settings, self.kernel_width, labels, top_labels, stability
        )


class Explainer(_Explaining):
    """Explains predictions of ``model`` with LIME, using ``data`` for its statistics.

    Parameters
    ----------
    model:
        Anything with ``predict_proba`` (classification) or ``predict``
        (regression) that accepts a DataFrame of the feature columns; a model
        fitted on a bare array (``n_features_in_`` but no ``feature_names_in_``)
        receives a float array.
    data:
        The training table.  If the model has ``feature_names_in_``, those
        columns, in that order, are the features; otherwise every column but
        ``target``.
    stats:
        Training statistics saved earlier (``lime fit``,
        :func:`~lime_cli.tabular.fit_training_stats`), in place of ``data``; then
        ``target``, ``categorical`` and ``discretizer`` are those it was made with.
    mode:
        ``"classification"`` or ``"regression"``; inferred from the model if None.
    target:
        A column of ``data`` holding the labels; it is never a feature.
    categorical:
        Columns to treat as categorical besides non-numeric and boolean ones.
    discretizer:
        ``quartile``, ``decile``, ``entropy`` (needs ``target``) or ``none``.
    **settings:
        The method's settings, :class:`~lime_cli.settings.Settings`:
        ``num_features``, ``num_samples``, ``seed``, ``kernel_width``,
        ``feature_selection``, ``batch_size``, ``preset``, ``locality``,
        ``confidence``, ``min_fidelity``, ``sampling``.
    """

    def __init__(
        self,
        model,
        data: pd.DataFrame | None = None,
        *,
        stats: TrainingStats | None = None,
        mode: str | None = None,
        target: str | None = None,
        categorical: Sequence[str] = (),
        discretizer: str = "quartile",
        text: Sequence[str] = (),
        token_pattern: str | None = None,
        bow: bool = True,
        mask_string: str | None = None,
        **settings,
    ) -> None:
        self.settings = Settings.create(**settings)
        self.model_info = inspect_model(model, mode)
        text = [text] if isinstance(text, str) else list(text)
        if stats is not None:
            text = _saved_text(stats, text)
        check_text_columns(model, data, text)
        table = TabularFrontEnd.for_model(
            model,
            data,
            stats=stats,
            target=target,
            categorical=categorical,
            discretizer=discretizer,
            regression=self.model_info.mode == "regression",
            seed=self.settings.seed,
            exclude=text,
        )
        self.frontend = self._table = table
        if text:
            from .text.frontend import TextFrontEnd
            from .text.mixed import MixedFrontEnd
            from .text.tokens import tokenizer_for

            _check_text_settings(token_pattern, mask_string)
            order = [str(c) for c in getattr(model, "feature_names_in_", [*table.feature_names, *text])]
            fronts = [
                TextFrontEnd(tokenizer_for(model, token_pattern, None, column=c), column=c, bow=bow,
                             mask_string=mask_string)
                for c in text
            ]  # fmt: skip
            self.frontend = MixedFrontEnd(table, fronts, order)
        width = self.settings.kernel_width
        self.kernel_width = width if width is not None else self.frontend.default_kernel_width()

    # -- what it explains with ----------------------------------------------------------

    @property
    def stats(self) -> TrainingStats:
        """The training statistics of the ordinary columns."""
        return self._table.stats

    def check_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The feature columns of ``rows``, checked (a DataError names what is wrong)."""
        return self.frontend.prepare(rows, np.arange(len(rows)))


#: The text method's sampling of word masks when none is given (see bench/TEXT.md).
TEXT_SAMPLING = "random"


class TextExplainer(_Explaining):
    """Explains predictions of a text ``model`` on documents, through the words they contain.

    >>> explainer = TextExplainer(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(docs, y))
    >>> explainer.explain(["a wonderful, moving film", "dull"])

    Parameters
    ----------
    model:
        Anything whose ``predict_proba`` (or ``predict``) takes a list of strings.
        A scikit-learn Pipeline starting with a ``CountVectorizer`` or
        ``TfidfVectorizer`` on unigrams gets the samples' document-term matrix
        directly (:mod:`lime_cli.text.fast`: exact, and much cheaper); see
        :attr:`path` and :attr:`path_reason`.
    column:
        The column of a DataFrame of documents that holds the text, and the
        name word features are given (``review contains "excellent"``).
    token_pattern, lowercase:
        How documents are split into words; default: the model's vectorizer's, when it has one,
        else runs of word characters, case kept.
    bow:
        A feature is a distinct word, deleted everywhere at once (True, as lime), or
        each occurrence apart (False).
    mask_string:
        Replace deleted words by this string instead of deleting them.
    mode:
        ``"classification"`` or ``"regression"``; inferred from the model if None.
    **settings:
        The method's :class:`~lime_cli.settings.Settings`; ``kernel_width`` defaults to 25
        (cosine distances x 100, as lime), ``sampling`` to ``"random"`` (:data:`TEXT_SAMPLING`).
    """

    def __init__(
        self,
        model,
        *,
        column: str = "text",
        token_pattern: str | None = None,
        lowercase: bool | None = None,
        bow: bool = True,
        mask_string: str | None = None,
        mode: str | None = None,
        **settings,
    ) -> None:
        from .text.fast import CountsPath, TextModel
        from .text.frontend import TextFrontEnd
        from .text.tokens import tokenizer_for, vectorizer_of

        # word masks from independent draws unless asked otherwise: bench/TEXT.md, where shifted
        # Sobol' points made words a planted model does not use come back under every seed
        settings["sampling"] = settings.get("sampling") or TEXT_SAMPLING
        self.settings = Settings.create(**settings)
        _check_text_settings(token_pattern, mask_string)
        info = inspect_model(model, mode)
        tokenizer = tokenizer_for(model, token_pattern, lowercase)
        self.path_reason = CountsPath.why_not(model, tokenizer, mask_string)
        counts = None
        if self.path_reason is None:
            counts = CountsPath(vectorizer_of(model))
            info = replace(info, model=TextModel(model, model[1:]))
        self.path = "counts" if counts is not None else "strings"
        self._user_model = model
        self.model_info = info
        self.frontend = TextFrontEnd(
            tokenizer, column=column, bow=bow, mask_string=mask_string, counts=counts
        )
        width = self.settings.kernel_width
        self.kernel_width = width if width is not None else self.frontend.default_kernel_width()

    @property
    def model(self):
        return self._user_model


def _check_text_settings(token_pattern, mask_string) -> None:
    import re

    if token_pattern is not None:
        try:
            re.compile(token_pattern)
        except (re.error, TypeError) as exc:
            raise ParameterError(f"{{token_pattern}} is not a regular expression: {exc}") from None
    if mask_string is not None and not isinstance(mask_string, str):
        raise ParameterError(f"{{mask_string}} must be a string, not {mask_string!r}")


def check_text_columns(model, data: pd.DataFrame | None, text: list[str]) -> None:
    """A ParameterError or DataError when ``text`` names a column twice, one that ``data`` (if
    given) lacks or holds numbers in, or one the model does not take."""
    if len(set(text)) < len(text):
        raise ParameterError(f"{{text}} names a column twice: {', '.join(map(repr, text))}")
    if text and data is not None:
        missing = [c for c in text if c not in data.columns]
        if missing:
            raise DataError(f"{{text}} column {missing[0]!r} is not a column of the data")
        for c in text:
            number = _a_number_column(data[c])
            if number is not None:
                raise DataError(
                    f"{{text}} column {c!r} holds numbers, not text (such as {number!r}): "
                    "explain it as an ordinary column"
                )
    names = getattr(model, "feature_names_in_", None)
    if text and names is not None:
        unused = [c for c in text if c not in {str(n) for n in names}]
        if unused:
            raise ParameterError(f"{{text}} column {unused[0]!r} is not one the model takes")


def _saved_text(stats: TrainingStats, text: list[str]) -> list[str]:
    """The text columns of saved statistics: theirs (``lime fit --text``), which ``text`` must
    repeat when it names any."""
    ordinary = [c for c in text if c in stats.feature_names]
    if ordinary:
        raise ParameterError(
            f"the explainer file describes {ordinary[0]!r} as an ordinary column: "
            f"save it with lime fit --text {ordinary[0]} to explain its words"
        )
    if text and sorted(text) != sorted(stats.text):
        saved = ", ".join(stats.text) or "none"
        raise ParameterError(
            f"{{text}} names {', '.join(text)}, but the explainer file's text columns are {saved}"
        )
    return list(stats.text)


def _a_number_column(values) -> str | None:
    """A value of ``values`` when every present one is a number (or reads as one: a CSV text
    column is read as written), else None."""
    import pandas as pd

    present = values.dropna()
    if not len(present):
        return None
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        return str(present.iloc[0])
    if not all(isinstance(v, str) for v in present):
        return None
    stripped = present[present.str.strip() != ""]
    if not len(stripped) or pd.to_numeric(stripped, errors="coerce").isna().any():
        return None
    return str(stripped.iloc[0])
