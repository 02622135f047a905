"""Tables with text columns: the words of each text column and the conditions on the other
columns are features of one explanation.

A model fitted on a DataFrame whose columns include free text (a
``ColumnTransformer`` applying a vectorizer to ``review`` and encoders to
``price`` and ``category``) is explained row by row: the ordinary columns as
the tabular front-end does (bins and categories, drawn from the training
statistics), each text column by deleting its words, in the same samples.  The
samples reach the model as a DataFrame with the training columns, order and
dtypes, the text columns holding the rebuilt strings.

Words are masked by independent draws (shifted Sobol' points of equal dimension
would tie a column's word j to another column's word j, and to the table's
column j). Z of an instance: the tabular features (the discrete ones, then the
continuous ones, standardized, with ``discretizer="none"``), then the words of
each text column in turn; instances of a chunk have different numbers of
words, so each instance's features are the first ``widths[b]`` rows of Z.
Distance: each ordinary column counts 1 when its bin or category changed (a
continuous one its standardized change), each text column the share of its
words deleted (so a text column weighs as much as one other column, however
long it is); euclidean, with lime's kernel width for the number of columns,
0.75·√columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core import streams
from ..core.frontend import FrontEnd, Samples
from ..core.kernel import default_kernel_width
from .frontend import TextFrontEnd, TextInstances, _masks


@dataclass
class MixedRows:
    """Prepared rows: the ordinary columns (as the tabular front-end prepared them) and the
    documents of each text column."""

    table: pd.DataFrame
    docs: list[list[str]]  # per text column

    def __len__(self) -> int:
        return len(self.table)


@dataclass
class MixedInstances:
    table: object  # TabularInstances
    texts: list[TextInstances]
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.table)

    def take(self, index: np.ndarray) -> MixedInstances:
        return MixedInstances(self.table.take(index), [t.take(index) for t in self.texts], self.keys[index])


class MixedFrontEnd(FrontEnd):
    """Rows whose features are conditions on ordinary columns and words of text columns."""

    word_sampling = "random"  # see the module's docstring

    def __init__(self, table, texts: list[TextFrontEnd], order: list[str]) -> None:
        self.table, self.texts = table, texts
        self.order = order  # the model's columns, in its order
        self.n_discrete = len(table.layout.discrete)  # Z's first rows: 0/1
        self.n_table = self.n_discrete + len(table.layout.continuous)
        self.feature_names = [c for c in order if c in set(table.feature_names) | {t.column for t in texts}]
        self.n_features = self.n_table + 64 * len(texts)

    def prepare(self, rows: pd.DataFrame, positions: np.ndarray) -> MixedRows:
        table = self.table.prepare(rows, positions)
        docs = [t.prepare(rows, positions) for t in self.texts]
        self.n_features = self.n_table + sum(t.n_features for t in self.texts)
        return MixedRows(table, docs)

    def rows(self, prepared: MixedRows, start: int, stop: int) -> MixedRows:
        return MixedRows(prepared.table.iloc[start:stop], [d[start:stop] for d in prepared.docs])

    def encode(self, rows: MixedRows) -> MixedInstances:
        table = self.table.encode(rows.table)
        texts = [t.encode(d) for t, d in zip(self.texts, rows.docs, strict=True)]
        parts = [[table.keys[b].tobytes(), *(t.keys[b].tobytes() for t in texts)] for b in range(len(table))]
        return MixedInstances(table, texts, streams.content_keys(parts, b"lime-cli mixed"))

    def sample(self, instances: MixedInstances, rngs, num_samples, settings, threads) -> Samples:
        tab = self.table.sample(instances.table, rngs, num_samples, settings, threads)
        B, S, nt = len(instances), num_samples, self.n_table
        words = np.array([[d.d for d in t.docs] for t in instances.texts], dtype=np.intp).T  # (B, C)
        offsets = nt + np.concatenate([np.zeros((B, 1), np.intp), np.cumsum(words, axis=1)], axis=1)
        widths = offsets[:, -1]
        Z = np.empty((B, int(widths.max()), S))  # rows past an instance's width: never read
        Z[:, :nt, :] = tab.Z
        for b in range(B):
            for c, t in enumerate(instances.texts):
                d, a = t.docs[b].d, offsets[b, c]
                _masks(d, S, rngs[b], settings, self.word_sampling, out=Z[b, a : a + d])
        # words are 0/1 too, but only the first rows can be said to be (continuous ones follow)
        binary = Z.shape[1] if self.n_discrete == nt else self.n_discrete
        return Samples(Z=Z, binary=binary, data=(tab, offsets), widths=widths)

    def model_input(self, instances: MixedInstances, samples: Samples, threads: int = 1) -> pd.DataFrame:
        tab, offsets = samples.data
        frame = self.table.model_input(instances.table, tab)
        for c, (fe, inst) in enumerate(zip(self.texts, instances.texts, strict=True)):
            strings = []
            for b, doc in enumerate(inst.docs):
                a = offsets[b, c]
                strings += fe.strings(doc, samples.Z[b, a : a + doc.d])
            frame[fe.column] = strings
        return frame[self.order]

    def describe(self, instances: MixedInstances, b: int, j: int):
        if j < self.n_table:
            return self.table.describe(instances.table, b, j)
        for c, (fe, inst) in enumerate(zip(self.texts, instances.texts, strict=True)):
            start = self.n_table + sum(t.docs[b].d for t in instances.texts[:c])
            if j < start + inst.docs[b].d:
                return fe.describe(inst, b, j - start)
        raise IndexError(j)

    def distances(self, Z: np.ndarray, binary: int, samples: Samples | None = None, index=None) -> np.ndarray:
        """Euclidean: 1 per ordinary column whose bin or category changed (a continuous one: its
        standardized change, squared), and per text column the share of its words deleted."""
        nd, nt = self.n_discrete, self.n_table
        sq = nd - Z[:, :nd, :].sum(axis=1)
        if nt > nd:
            sq += ((Z[:, nd:nt, :] - Z[:, nd:nt, :1]) ** 2).sum(axis=1)
        _, offsets = samples.data
        offsets = offsets[index]
        for c in range(len(self.texts)):
            for b in range(len(Z)):
                a, e = int(offsets[b, c]), int(offsets[b, c + 1])
                if e > a:
                    sq[b] += 1.0 - Z[b, a:e, :].sum(axis=0) / (e - a)
        return np.sqrt(np.maximum(sq, 0.0))

    def default_kernel_width(self) -> float:
        return default_kernel_width(self.n_table + len(self.texts))

    def release(self) -> None:
        self.table.release()
