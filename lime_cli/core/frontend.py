"""The seam between the core and each kind of input.

The core explains *instances* through *interpretable features* and knows
nothing else of them.  A front-end (tabular today; text and images next) says
what an instance and a feature are:

- :meth:`FrontEnd.prepare` checks the instances a user gives, once, before any
  chunk; :meth:`FrontEnd.rows` slices them into chunks;
- :meth:`FrontEnd.encode` turns a chunk into :class:`Instances`: whatever the
  front-end needs later, plus each instance's content ``keys``, from which its
  random streams are derived (:mod:`lime_cli.core.streams`);
- :meth:`FrontEnd.sample` draws the samples of every instance of a chunk: a
  :class:`Samples` holding the interpretable representation ``Z`` (one array
  for the chunk), and the front-end's own data for the model's input;
- :meth:`FrontEnd.model_input` builds what the model is called with for a
  chunk's samples (a DataFrame with the training dtypes, strings, images);
- :meth:`FrontEnd.distances` and :meth:`FrontEnd.default_kernel_width` weight
  the samples (by default the euclidean distance to the instance in ``Z`` and
  lime's width, 0.75·√features);
- :meth:`FrontEnd.describe` says what a feature of an instance is (its name,
  condition and value; for a word, also its column and where it occurs; for an
  image region, its bounding box and area), for the explanation;
  :meth:`FrontEnd.source` where an instance came from (an image's file), if
  anywhere.

A front-end must be picklable: it travels to the workers with each chunk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .kernel import default_kernel_width


class Instances(Protocol):
    """A chunk of encoded instances."""

    keys: np.ndarray  # (B, streams.KEY_WORDS) uint32: what each instance's streams are derived from

    def __len__(self) -> int: ...

    def take(self, index: np.ndarray) -> Instances:
        """The instances at ``index`` (repeats allowed), in that order."""
        ...


@dataclass
class Samples:
    """The samples of a chunk of B instances, S each (the first being the instance itself)."""

    Z: np.ndarray  # (B, d, S) float64: the interpretable representation
    binary: int  # Z's first `binary` features are 0/1 and 1 at the instance (sample 0)
    data: Any = None  # the front-end's own, for model_input
    #: (B,) features of each instance, the first ones of Z (documents have different numbers of
    #: words; Z's rows past an instance's width are padding, which nothing reads: a front-end
    #: may leave them unset, untouched memory costing nothing); None: every instance has all of Z's
    widths: Any = None


class FrontEnd(ABC):
    """One kind of input; see the module's docstring for the seam."""

    #: interpretable features per instance (d)
    n_features: int
    #: the explanation's ``note`` for an instance with no feature at all
    no_features_note = "the instance has no interpretable feature"
    #: sample cells (instances x samples x features) of the largest automatic chunk
    chunk_cells = 4_000_000
    #: whether a chunk's memory is measured (see :mod:`.memory`): what the model makes of a
    #: chunk's rows is unknown.  False where the model gets them in pieces of a bounded size and
    #: every other array of a chunk is the front-end's own (images): a run then takes chunks of
    #: the cell-based size from the first, without a first chunk of one row to measure
    measure_chunks = True
    #: the input's columns the features come from (``FeatureWeight.column``): a table's feature
    #: columns, a text column (whose words, the features, vary from instance to instance)
    feature_names: list[str]

    @abstractmethod
    def prepare(self, rows: Any, positions: np.ndarray) -> Any:
        """The instances to explain, checked (an error names the first bad one by its position)."""

    @abstractmethod
    def rows(self, prepared: Any, start: int, stop: int) -> Any:
        """Instances ``start`` to ``stop`` of what :meth:`prepare` returned."""

    @abstractmethod
    def encode(self, rows: Any) -> Instances:
        """A chunk of prepared instances, encoded."""

    @abstractmethod
    def sample(
        self, instances: Instances, rngs: list[np.random.Generator], num_samples: int, settings, threads: int
    ) -> Samples:
        """``num_samples`` samples around each instance; instance b draws from ``rngs[b]`` only, so
        its samples do not depend on the chunk it is in."""

    @abstractmethod
    def model_input(self, instances: Instances, samples: Samples, threads: int = 1) -> Any:
        """What the model is called with for every sample of the chunk (B·S of them, instance-major),
        built on up to ``threads`` threads where that helps (the result may not depend on them)."""

    @abstractmethod
    def describe(self, instances: Instances, b: int, j: int) -> tuple:
        """(feature, condition, value) of feature ``j`` (a column of Z) for instance ``b``, and
        optionally (column, spans, bbox, area): the input column it belongs to, the character
        offsets of a word's occurrences, an image region's bounding box and pixels."""

    def source(self, instances: Instances, b: int) -> str | None:
        """Where instance ``b`` came from (an image's file), for the explanation; None: a row of
        the explained input, told by its position alone."""
        return None

    def distances(self, Z: np.ndarray, binary: int, samples: Samples | None = None, index=None) -> np.ndarray:
        """(B, S) distances of the samples to their instance: euclidean in Z, by default.

        ``Z`` holds instances ``index`` (a slice or indices) of the chunk's ``samples``, for
        front-ends whose distance needs more than Z."""
        return euclidean_to_instance(Z, binary)

    def default_kernel_width(self) -> float:
        """lime's default width: 0.75 * sqrt(number of features)."""
        return default_kernel_width(self.n_features)

    def release(self) -> None:  # noqa: B027 - most front-ends keep nothing
        """Free what the front-end keeps between chunks (a run has ended)."""


def euclidean_to_instance(Z: np.ndarray, binary: int) -> np.ndarray:
    """Euclidean distance of each sample to sample 0, for Z (B, d, S) whose first ``binary``
    features are 0/1 and 1 at sample 0 (so their squared difference is 1 - z)."""
    sq = binary - Z[:, :binary, :].sum(axis=1)
    if binary < Z.shape[1]:
        sq += ((Z[:, binary:, :] - Z[:, binary:, :1]) ** 2).sum(axis=1)
    return np.sqrt(sq)
