"""The text front-end: documents, explained through the words they contain.

An instance is a document; its interpretable features are its words (see
:mod:`.tokens`), each 1 where a sample keeps it.  A sample deletes words (or
replaces them by a mask string); the samples reach the model as the rebuilt
strings, built for a whole document at once from its characters and the
masks, or, for a Pipeline starting with a word vectorizer, as the document-term
matrix they would give (:mod:`.fast`, exact).  Samples are weighted by the
cosine distance ×100 of their masks to the document's, with lime's kernel
width 25.

Sampling: with ``locality`` 0 (``preset="lime"``), lime's scheme: a sample
deletes a number of words drawn uniformly from 1..d, chosen at random; with a
positive ``locality`` (the default method) each word is kept with that
probability, from shifted Sobol' points or independent draws (``sampling``).

Documents of a chunk have different numbers of words: Z holds as many rows as
the longest; a shorter document's extra rows are padding, left unset (never
read: its width says where its words end), so that their memory is never
touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..core import streams
from ..core.frontend import FrontEnd, Samples
from ..core.parallel import run_threads
from ..errors import DataError
from .fast import CountsPath, FastInput
from .tokens import Document, Tokenizer, document

#: lime's text kernel width, for cosine distances x 100
TEXT_KERNEL_WIDTH = 25.0



@dataclass
class TextInstances:
    """A chunk of documents, split into words."""

    docs: list[Document]
    cols: list  # per document: its plan for the fast path (CountsPath.plan; None: strings)
    keys: np.ndarray  # (B, KEY_WORDS) uint32

    def __len__(self) -> int:
        return len(self.docs)

    def take(self, index: np.ndarray) -> TextInstances:
        index = [int(i) for i in index]
        return TextInstances([self.docs[i] for i in index], [self.cols[i] for i in index], self.keys[index])


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """(B, KEY_WORDS) uint32 content keys: a 128-bit BLAKE2b hash of each document's text."""
    return streams.content_keys([[t.encode("utf-8", "surrogatepass")] for t in texts], b"lime-cli text")


class TextFrontEnd(FrontEnd):
    """Documents of one text column, explained by their words."""

    no_features_note = "the document has no word: it is empty, or has none the model knows"
    # a document's samples are cheap to explain, so the chunk's memory is what costs: fresh
    # pages of a large chunk took longer to fault in than the chunk took to explain (a chunk of
    # 2-4 documents ran 1.5x faster than one of 16 between lime runs); a quarter of the default
    chunk_cells = 1_000_000

    def __init__(
        self,
        tokenizer: Tokenizer,
        *,
        column: str = "text",
        bow: bool = True,
        mask_string: str | None = None,
        counts: CountsPath | None = None,
    ) -> None:
        self.tokenizer, self.column, self.bow = tokenizer, column, bow
        self.mask_string = mask_string
        self.counts = counts  # the fast path, when it is exact for the model
        self.feature_names = [column]  # the column: its words differ from document to document
        self.texts = [self]  # the text columns explained (one)
        self.n_features = 64  # sizes chunks before the documents are seen; set by prepare

    # -- the seam --------------------------------------------------------------------------

    def prepare(self, rows, positions: np.ndarray) -> list[str]:
        """The documents: a sequence of strings, or the text column of a DataFrame."""
        values = _column_values(rows, self.column)
        for k, v in enumerate(values):
            if not isinstance(v, str):
                what = "missing" if _is_missing(v) else f"a {type(v).__name__}, not text ({v!r})"
                raise DataError(f"text column {self.column!r} is {what} in row {int(positions[k])}")
        docs = list(values)
        if docs:
            # chunks are sized by a typical document's words, but no less than a quarter of the
            # longest's: Z holds as many rows as the longest document of a chunk has words
            sample = docs[:: max(1, len(docs) // 200)]
            words = [len(document(t, self.tokenizer, self.bow).words) for t in sample]
            longest = len(document(max(docs, key=len), self.tokenizer, self.bow).words)
            self.n_features = max(1, int(np.ceil(np.mean(words))), -(-longest // 4))
        return docs

    def rows(self, prepared: list[str], start: int, stop: int) -> list[str]:
        return prepared[start:stop]

    def encode(self, rows: list[str]) -> TextInstances:
        docs = [document(t, self.tokenizer, self.bow) for t in rows]
        cols = [None] * len(docs)
        for b, doc in enumerate(docs):
            planned = self.counts.plan(doc) if self.counts is not None else None
            if planned is not None:
                keep, cols[b] = planned
                if len(keep) < doc.d:  # words the model provably ignores are no features
                    docs[b] = doc.take(keep)
        return TextInstances(docs, cols, text_keys(rows))

    def sample(self, instances: TextInstances, rngs, num_samples, settings, threads) -> Samples:
        docs, S = instances.docs, num_samples
        D = max([1, *(d.d for d in docs)])
        Z = np.empty((len(docs), D, S))  # rows past a document's words: never touched, never read

        def fill(b):  # each document writes its own rows of Z, from its own stream
            _masks(docs[b].d, S, rngs[b], settings, settings.sampling, out=Z[b, : docs[b].d])

        run_threads(fill, list(range(len(docs))), threads)
        return Samples(Z=Z, binary=D, widths=np.array([d.d for d in docs], dtype=np.intp))

    def model_input(self, instances: TextInstances, samples: Samples, threads: int = 1):
        Z = samples.Z
        if self.counts is None:
            return [s for b, doc in enumerate(instances.docs) for s in self.strings(doc, Z[b, : doc.d])]
        parts: list[tuple[str, object]] = []
        run: list[int] = []  # consecutive documents of the fast path, built together

        def flush():
            if run:
                cols = [instances.cols[b] for b in run]
                counts = [instances.docs[b].counts for b in run]
                parts.append(("counts", self.counts.matrix(cols, counts, Z, list(run), threads)))
                run.clear()

        for b, doc in enumerate(instances.docs):
            if instances.cols[b] is not None:
                run.append(b)
                continue
            flush()
            parts.append(("strings", self.strings(doc, Z[b, : doc.d])))
        flush()
        return FastInput(parts)

    def strings(self, doc: Document, keep: np.ndarray) -> list[str]:
        """The S strings of a document's samples, ``keep`` (d, S) their masks: built for all the
        samples at once from the document's characters."""
        S = keep.shape[1]
        text = doc.text
        if doc.d == 0:
            return [text] * S
        chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        owner = doc.owners()
        if self.mask_string is not None:  # each occurrence is followed by the mask, shown when deleted
            chars, owner = _with_masks(doc, chars, owner, self.mask_string)
        kept = keep.T > 0.5  # (S, d)
        d = doc.d
        word, masked = np.clip(owner, 0, d - 1), np.clip(owner - d, 0, d - 1)
        if self.mask_string is None:
            show = kept[:, word] | (owner < 0)
        else:
            show = np.where(owner < 0, True, np.where(owner < d, kept[:, word], ~kept[:, masked]))
        # every sample's kept characters in one array, decoded at once, cut at each sample's length
        flat = np.broadcast_to(chars, show.shape)[show]
        big = flat.tobytes().decode("utf-32-le", "surrogatepass")
        ends = np.cumsum(show.sum(axis=1)).tolist()
        return [big[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    def describe(self, instances: TextInstances, b: int, j: int):
        doc = instances.docs[b]
        word = doc.words[j]
        spans = [list(s) for s in doc.spans[j]]
        where = "" if self.bow else f" at {spans[0][0]}"
        condition = f'{self.column} contains "{word}"{where}'
        return word, condition, int(doc.counts[j]), self.column, spans

    def distances(self, Z: np.ndarray, binary: int, samples=None, index=None) -> np.ndarray:
        """Cosine distance x 100 between each sample's mask and the document's (all ones), as lime."""
        d = Z[:, :, 0].sum(axis=1, keepdims=True)  # the document's words
        k = Z.sum(axis=1)  # the sample's kept words
        with np.errstate(invalid="ignore", divide="ignore"):
            similarity = np.where(d > 0, np.sqrt(k / np.maximum(d, 1)), 1.0)
        return (1.0 - similarity) * 100.0

    def default_kernel_width(self) -> float:
        return TEXT_KERNEL_WIDTH


def _masks(d: int, S: int, rng: np.random.Generator, settings, sampling: str, out=None) -> np.ndarray:
    """(d, S) 0/1 masks of a document of d words, written into ``out`` when given: sample 0
    keeps every word; ``sampling`` is ``random`` (independent draws) or ``sobol``."""
    out = np.empty((d, S)) if out is None else out
    if d == 0:
        return out
    out[:, 0] = 1.0
    if S < 2:
        return out
    if settings.locality == 0:  # lime: delete a uniform number of words in 1..d, chosen at random
        n_delete = rng.integers(1, d + 1, S - 1)
        rank = np.argsort(np.argsort(rng.random((S - 1, d)), axis=1), axis=1)
        out[:, 1:] = (rank >= n_delete[:, None]).T
        return out
    from ..tabular.sampling import SOBOL_MAX_DIM, sobol_points

    # the first d dimensions of a sequence of 2^k (one per power of two: few to make and keep)
    dims = 1 << max(3, (d - 1).bit_length())
    if sampling == "sobol" and dims <= SOBOL_MAX_DIM:
        shift = rng.integers(0, 1 << 32, size=d, dtype=np.uint32)
        out[:, 1:] = (sobol_points(dims, S - 1)[:d] ^ shift[:, None]) / 2.0**32 < settings.locality
    else:  # a word is kept when a uniform 32-bit integer falls below locality * 2^32
        u = np.frombuffer(rng.bytes(4 * d * (S - 1)), dtype=np.uint32).reshape(d, S - 1)
        np.less(u, round(settings.locality * 2.0**32), out=out[:, 1:], casting="unsafe")
    return out


def _with_masks(doc: Document, chars: np.ndarray, owner: np.ndarray, mask: str):
    """Characters with the mask string after each word occurrence (owner d + j: shown when
    feature j is deleted)."""
    m = np.frombuffer(mask.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    ends = sorted((b, j) for j, spans in enumerate(doc.spans) for _, b in spans)
    pieces_c, pieces_o, last = [], [], 0
    for end, j in ends:
        pieces_c += [chars[last:end], m]
        pieces_o += [owner[last:end], np.full(len(m), doc.d + j, dtype=np.int64)]
        last = end
    pieces_c.append(chars[last:])
    pieces_o.append(owner[last:])
    return np.concatenate(pieces_c), np.concatenate(pieces_o)


def _column_values(rows, column: str) -> list:
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        if column not in rows.columns:
            shown = ", ".join(repr(str(c)) for c in list(rows.columns)[:8])
            raise DataError(f"text column {column!r} is not a column of the rows (columns: {shown})")
        return rows[column].tolist()
    if isinstance(rows, pd.Series):
        return rows.tolist()
    if isinstance(rows, str):
        raise DataError("give a sequence of documents, not one string")
    return list(rows)


def _is_missing(v) -> bool:
    try:
        import pandas as pd

        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
