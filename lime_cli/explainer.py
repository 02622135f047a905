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
from .settings import AUTO_CAP, Settings
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
        rows = self._inputs(rows)
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

    def _inputs(self, rows):
        """``rows`` as the front-end takes them (one item per row)."""
        return rows

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


#: Samples per image when none is given: lime_image's default (a model of images is slow).
IMAGE_NUM_SAMPLES = 1000


class ImageExplainer(_Explaining):
    """Explains predictions of an image ``model`` through the regions (superpixels) of each image.

    >>> explainer = ImageExplainer("digits.onnx", image_size=(8, 8), grayscale=True, scale=16 / 255)
    >>> explanations = explainer.explain("digits/")        # a folder of PNGs, sorted by name
    >>> explainer.explain(np.stack(images))                 # or arrays (N, H, W[, C])

    Each image is resized to ``image_size`` and made greyscale (``grayscale``) first; it is cut
    into regions (``segments``) and a region is hidden by filling it (``hide``).  The perturbed
    images are then normalised as the model was trained, ``(x * scale - mean) / std`` per
    channel, laid out channels first or flattened as it takes them, and given to the model a
    bounded batch at a time (:mod:`lime_cli.image.model`).  An explanation's features are
    regions: ``region 7`` (``region 7 present``), with its bounding box ``bbox`` and ``area``;
    :meth:`segment_map` gives an image's regions, :func:`lime_cli.image.render_regions` draws
    the top ones.  ``explain`` and ``iter_explain`` take the images as :meth:`_inputs` says (a
    path, a folder, a list of paths and arrays, an array of images); an explanation's ``row`` is
    the image's position among them, its ``source`` the file it came from.

    Parameters
    ----------
    model:
        A path to an ONNX file (``.onnx``, run with onnxruntime: ``pip install
        'lime-cli[image]'``), whose input says the image size, channels and layout it takes and
        whose probability output is used (a list of {class: p} maps gives the class names);
        a path to a joblib, pickle or skops file; or an object whose ``predict_proba`` (or
        ``predict``) takes a float32 array (N, H, W, C), or (N, C, H, W), or (N, H*W*C).
    segments, num_segments:
        ``slic`` (default; ``quickshift`` with ``preset="lime"``), ``quickshift`` (lime's),
        ``felzenszwalb`` or ``grid``, and about how
        many regions (default: ``min(50, max(16, H*W/16))``): :mod:`lime_cli.image.segment`.
    hide:
        What a hidden region shows: ``"mean"`` (its mean colour, as lime), ``"blur"`` (a
        Gaussian-blurred copy of the image) or a colour ``"R,G,B"`` (0-255, scaled to the
        image's value range).  A region's mean colour hides its texture and edges, not its
        brightness: a model of an area's mean brightness is explained with a colour.
    image_size:
        (height, width) every image is resized to (bilinear), before it is segmented; default:
        as they are (then all must have one size, the one the model takes).
    scale, mean, std:
        The model's normalisation, ``(x * scale - mean) / std``, with ``mean`` and ``std`` one
        number or one per channel; pixel values are as stored (0-255 in an 8-bit file).
    channels_first:
        Give the model (N, C, H, W); default: what an ONNX model's input shape says, else False.
    grayscale:
        Convert images to one channel (luma) first.
    flatten:
        Give a Python model one row of H*W*C values per image (an ONNX model taking (N, values)
        gets it anyway).
    mode:
        ``"classification"`` or ``"regression"``; from the model if None.
    class_names:
        Names of the model's output columns, in order, where it has none (an ONNX model giving a
        tensor of probabilities is otherwise named by indices "0", "1", ...).
    logits:
        The model is a classifier whose output is logits, scores before softmax (as a PyTorch
        network exported to ONNX usually gives): each row is made probabilities by its
        softmax; a single logit per image by its sigmoid p, as two classes (1 - p, p).  A
        Python model's logits are its ``predict_proba``'s, else its ``predict``'s.
    **settings:
        The method's :class:`~lime_cli.settings.Settings`; ``num_samples`` defaults to 1000 (as
        lime_image), ``kernel_width`` to 0.25 (cosine distances, as lime_image).  The default
        method's sampling (each region shown with probability ``locality`` 0.8, from shifted
        Sobol' points) gave steadier top-5 regions between seeds on MNIST digits than
        independent draws or lime_image's (each region shown with probability 1/2, ``preset=
        "lime"``), with the same recall of planted regions.
    """

    def __init__(
        self,
        model,
        *,
        segments: str | None = None,
        num_segments: int | None = None,
        hide="mean",
        image_size=None,
        scale: float | None = None,
        mean=None,
        std=None,
        channels_first: bool | None = None,
        grayscale: bool = False,
        flatten: bool = False,
        mode: str | None = None,
        class_names: Sequence[str] | None = None,
        logits: bool = False,
        **settings,
    ) -> None:
        from .image.files import check_size
        from .image.frontend import ImageFrontEnd
        from .image.model import image_model

        if settings.get("num_samples") is None:
            settings["num_samples"] = IMAGE_NUM_SAMPLES
        self.settings = Settings.create(**settings)
        if segments is None:  # lime's own segmentation with lime's method
            segments = "quickshift" if self.settings.preset == "lime" else "slic"
        size = check_size(image_size)
        for name, value in (("grayscale", grayscale), ("flatten", flatten), ("logits", logits)):
            if not isinstance(value, (bool, np.bool_)):
                raise ParameterError(f"{name} must be True or False, not {value!r}")
        if channels_first is not None and not isinstance(channels_first, (bool, np.bool_)):
            raise ParameterError(f"channels_first must be True, False or None, not {channels_first!r}")
        adapter = image_model(
            model, scale=scale, mean=mean, std=std, channels_first=channels_first, flatten=bool(flatten),
            mode=mode, class_names=class_names, logits=bool(logits),
        )  # fmt: skip
        adapter.spec.check_size(size)
        self._user_model = model
        self.model_info = inspect_model(adapter, mode)
        samples = AUTO_CAP if self.settings.auto_samples else self.settings.first_samples
        self.frontend = ImageFrontEnd(
            segments=segments, num_segments=num_segments, hide=hide, image_size=size,
            grayscale=bool(grayscale), spec=adapter.spec, preprocess=adapter.preprocess, samples=samples,
        )  # fmt: skip
        width = self.settings.kernel_width
        self.kernel_width = width if width is not None else self.frontend.default_kernel_width()

    @property
    def model(self):
        """The model as given (a path to an ONNX file, or the object)."""
        return self._user_model

    @property
    def image_model(self):
        """The model as the core calls it (:class:`lime_cli.image.model.ImageModel`)."""
        return self.model_info.model

    def _inputs(self, rows):
        """The images ``rows`` one by one (see :meth:`iter_explain`).

        ``rows``: a path to an image file or a folder of them (sorted by name), a list of paths
        and arrays (H, W) or (H, W, C), an array (N, H, W) or (N, H, W, C), or what
        :func:`lime_cli.image.read_images` returns.  An explanation's ``row`` is the image's
        position among them, its ``source`` the file it came from.  Every image is read and
        checked before the first chunk (a DataError names the file).
        """
        from .image.frontend import image_inputs

        return image_inputs(rows)

    def prepare_image(self, image) -> np.ndarray:
        """An image (a path, or an array (H, W) or (H, W, C)) as it is explained: a float32 array
        (H, W, C), resized to ``image_size`` and greyscale when asked; its regions are those of
        :meth:`segment_map`."""
        from pathlib import Path

        return self.frontend.image(Path(image) if isinstance(image, (str, Path)) else image, "image")

    def segment_map(self, image) -> np.ndarray:
        """The (H, W) int32 map of an image's regions: pixel (r, c) is in ``region k`` of its
        explanation where the map holds k.  ``image`` as for :meth:`prepare_image`."""
        return self.regions(image)[1]

    def regions(self, image) -> tuple[np.ndarray, np.ndarray]:
        """(:meth:`prepare_image`, :meth:`segment_map`) of ``image``, read and prepared once."""
        picture = self.prepare_image(image)
        return picture, self.frontend.segment(picture)
