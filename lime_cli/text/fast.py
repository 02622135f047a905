"""The exact fast path for Pipelines that start with a scikit-learn word vectorizer.

A sample of a document keeps some of its words.  For a ``CountVectorizer``,
``TfidfVectorizer`` or ``HashingVectorizer``, its document-term row follows from
which words are kept: the chunk's perturbed matrix is built from the masks
directly (no string is rebuilt or re-tokenized), then the rest of the pipeline
is called on it.

It is taken only where it is exact, and that is proved here:

- the vectorizer splits words with scikit-learn's default pattern
  ``(?u)\\b\\w\\w+\\b``: a token is a maximal run of two or more word
  characters, so its neighbours are non-word characters (or the ends of the
  text); deleting a token leaves them in place, which neither joins two tokens
  nor makes a new one, so the perturbed string's tokens are exactly the kept
  ones, in their order;
- the vectorizer's n-grams are then those of the kept tokens (stop words
  removed first, as scikit-learn does): on unigrams, a sample's row holds the
  document's own counts of the kept words; with n-grams (or hashing), each
  sample's n-grams are formed from its kept token sequence, n-grams across a
  deleted word included, and looked up in the vocabulary (or hashed by the
  vectorizer's murmurhash3, sign and modulo);
- no custom analyzer, tokenizer or preprocessor, no accent stripping, words
  deleted rather than replaced by a mask string;
- for every document, the vectorizer's own tokenizer gives the words the
  explainer found (stop words aside), or that document goes the string path.

The values then go through the vectorizer's own steps (binary, sublinear tf,
idf, the row norm) by the same floating-point operations, in the same order,
so the matrix equals the vectorizer's transform of the rebuilt strings bit for
bit (tests/test_text.py compares every sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.parallel import run_threads
from .tokens import Document, Tokenizer, vectorizer_of

SKLEARN_PATTERN = r"(?u)\b\w\w+\b"


@dataclass
class FastInput:
    """A chunk's model input in parts, in sample order: ("counts", matrix) for the rest of the
    pipeline, or ("strings", list) for the whole model."""

    parts: list[tuple[str, object]]

    def __len__(self) -> int:
        return sum(p.shape[0] if kind == "counts" else len(p) for kind, p in self.parts)


class TextModel:
    """The user's pipeline, called on a :class:`FastInput` part by part (else as it is)."""

    def __init__(self, full, rest) -> None:
        self.full, self.rest = full, rest
        if hasattr(full, "classes_"):
            self.classes_ = full.classes_

    def predict_proba(self, X):
        return self._call("predict_proba", X)

    def predict(self, X):
        return self._call("predict", X)

    def _call(self, name: str, X):
        if not isinstance(X, FastInput):
            return getattr(self.full, name)(X)
        out = [
            np.asarray(getattr(self.rest if kind == "counts" else self.full, name)(part))
            for kind, part in X.parts
        ]
        return np.concatenate(out) if len(out) > 1 else out[0]


#: the largest (samples x columns) table of a document counted densely, else by sorting
_DENSE_CELLS = 1 << 22


def _distinct(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of ``key`` (in 0..space-1) and each one's index among them,
    as np.unique(return_inverse=True) gives them: through a table when the space is small."""
    if space > _DENSE_CELLS:
        return np.unique(key, return_inverse=True)
    seen = np.zeros(space, dtype=bool)
    seen[key] = True
    distinct = np.flatnonzero(seen)
    slot = np.empty(space, dtype=np.int64)
    slot[distinct] = np.arange(len(distinct))
    return distinct, slot[key]


def _fits(words: int, n: int) -> bool:
    """Whether n-grams of ``words`` distinct words can be keyed in an int64 (else: strings)."""
    return max(words, 2) ** n < 2**62


@dataclass
class Sequence:
    """A document's tokens as the vectorizer sees them (stop words removed), for n-grams."""

    owner: np.ndarray  # (L,) int64: the feature of each token, in text order
    token: np.ndarray  # (L,) int64: its word, as an index into ``words``
    words: list[str]  # the distinct words


class CountsPath:
    """Document-term matrices of the samples, from their masks."""

    def __init__(self, vec) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.vec = vec
        self.hashing = isinstance(vec, HashingVectorizer)
        self.vocabulary = None if self.hashing else vec.vocabulary_
        self.width = vec.n_features if self.hashing else len(self.vocabulary)
        self.ngrams = tuple(vec.ngram_range)
        self.sequences = self.hashing or self.ngrams != (1, 1)  # else unigram counts
        self.stop_words = vec.get_stop_words() or frozenset()
        pre, tok = vec.build_preprocessor(), vec.build_tokenizer()
        self.tokens = lambda text: tok(pre(vec.decode(text)))
        self.tfidf = getattr(vec, "_tfidf", None)  # TfidfVectorizer's transformer

    @staticmethod
    def why_not(model, tokenizer: Tokenizer, mask_string: str | None) -> str | None:
        """Why the fast path cannot be exact for ``model`` (None: it is)."""
        from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer

        vec = vectorizer_of(model)
        if vec is None:
            return "the model does not start with a scikit-learn vectorizer"
        if not isinstance(vec, (CountVectorizer, HashingVectorizer)):  # pragma: no cover - vectorizer_of
            return f"a {type(vec).__name__}"
        if isinstance(vec, TfidfVectorizer) and not hasattr(vec, "_tfidf"):
            return "this scikit-learn's TfidfVectorizer has no _tfidf"
        if vec.analyzer != "word" or vec.tokenizer is not None or vec.preprocessor is not None:
            return "the vectorizer has its own analyzer, tokenizer or preprocessor"
        if getattr(vec, "input", "content") != "content":
            return f"the vectorizer reads input={vec.input!r}"
        low, high = vec.ngram_range
        if not 1 <= low <= high or high > 8:
            return f"n-grams {tuple(vec.ngram_range)} (the fast path builds up to 8-grams)"
        if vec.strip_accents is not None:
            return "the vectorizer strips accents"
        if vec.token_pattern != SKLEARN_PATTERN:
            return "a custom token pattern (only the default one is proved exact)"
        if tokenizer.pattern != vec.token_pattern or tokenizer.lowercase != bool(vec.lowercase):
            return "the words are split otherwise than the vectorizer splits them"
        if mask_string is not None:
            return "words are replaced by a mask string"
        if isinstance(vec, HashingVectorizer):
            if vec.norm not in (None, "l1", "l2"):
                return f"the vectorizer's norm {vec.norm!r}"
        elif not hasattr(vec, "vocabulary_"):
            return "the vectorizer is not fitted"
        return None

    def plan(self, doc: Document) -> tuple[np.ndarray, np.ndarray | Sequence] | None:
        """How the document's samples are built: the features that can change the model's input
        (the others are no features: deleting them changes nothing) and, for the document with
        those features only, its vocabulary column per feature (unigrams) or its
        :class:`Sequence` (n-grams, hashing); None when the vectorizer splits the document
        otherwise than the explainer (the string path then)."""
        occurrences = sorted((a, j) for j, spans in enumerate(doc.spans) for a, _ in spans)
        mine = [doc.words[j] for _, j in occurrences if doc.words[j] not in self.stop_words]
        theirs = self.tokens(doc.text)
        if self.stop_words:
            theirs = [w for w in theirs if w not in self.stop_words]
        if theirs != mine:
            return None
        if not self.sequences:
            cols = np.array(
                [self.vocabulary.get(w, -1) if w not in self.stop_words else -1 for w in doc.words]
            )
            keep = np.flatnonzero(cols >= 0)
            return keep, cols[keep].astype(np.int64)
        keep = np.array([j for j, w in enumerate(doc.words) if w not in self.stop_words], dtype=np.int64)
        new = np.full(doc.d, -1, dtype=np.int64)
        new[keep] = np.arange(len(keep))
        owner = np.array([new[j] for _, j in occurrences if new[j] >= 0], dtype=np.int64)
        index: dict[str, int] = {}
        token = np.array([index.setdefault(doc.words[j], len(index)) for j in keep[owner]], dtype=np.int64)
        if not _fits(len(index), self.ngrams[1]):
            return None
        return keep, Sequence(owner, token, list(index))

    def matrix(self, plans: list, counts: list[np.ndarray], Z: np.ndarray, docs=None, threads=1):
        """The (n·S, vectorizer width) matrix of the samples of n documents (their plans,
        counts and masks: rows ``docs`` of Z (B, D, S), all of them by default), as the
        vectorizer's transform would give it, bit for bit.

        Built in CSR form directly, document by document (on ``threads``), each row's columns
        in order (as the vectorizer sorts them); the rows are then normalized by the very
        function the vectorizer uses."""
        import scipy.sparse as sp

        docs = list(range(len(Z))) if docs is None else list(docs)
        S, dtype = Z.shape[2], self.vec.dtype

        def one(b):
            mask = Z[docs[b]]
            if isinstance(plans[b], Sequence):
                return self._sequence_rows(plans[b], mask, S)
            return self._count_rows(plans[b], counts[b], mask, S)

        parts = run_threads(one, list(range(len(plans))), threads)
        indptr = np.zeros(len(plans) * S + 1, dtype=np.int64)
        if parts:
            np.cumsum(np.concatenate([n for _, _, n in parts]), out=indptr[1:])
        data = np.concatenate([v for v, _, _ in parts]) if parts else np.zeros(0, dtype)
        index = np.concatenate([c for _, c, _ in parts]) if parts else np.zeros(0, np.int32)
        X = sp.csr_matrix((data, index, indptr), shape=(len(plans) * S, self.width), dtype=dtype)
        X.has_sorted_indices = True
        if not self.hashing:  # a hashed row keeps its explicit zeros (signs that cancel), as sklearn's
            X.eliminate_zeros()
        return self._normalize(X)

    def _count_rows(self, cols: np.ndarray, counts: np.ndarray, mask: np.ndarray, S: int):
        """Unigrams: each sample's row holds the document's distinct vocabulary columns, with
        the value of the kept count, 0 where none is kept (zeros are dropped afterwards)."""
        dtype = self.vec.dtype
        if not len(cols):
            return np.zeros(0, dtype), np.zeros(0, np.int32), np.zeros(S, np.int64)
        columns, where = np.unique(cols, return_inverse=True)  # sorted, distinct
        mask = mask[: len(cols), :]  # (d, S) 0/1: the document's kept words
        if len(columns) == len(cols):  # a feature per column (bow): its mask, in column order
            order = np.argsort(cols, kind="stable")
            values = self._values(counts[order], columns)  # (columns,): the value of a kept word
            dense = mask[order].T * values  # (S, columns), exact: each is 0 or the value
        else:  # several occurrences of a column: their kept count, per sample
            A = np.zeros((len(cols), len(columns)))
            A[np.arange(len(cols)), where] = counts
            dense = self._values(mask.T @ A, columns)  # (S, columns): exact small integers
        width = np.full(S, len(columns), dtype=np.int64)
        return dense.astype(dtype, copy=False).ravel(), np.tile(columns.astype(np.int32), S), width

    def _sequence_rows(self, seq: Sequence, mask: np.ndarray, S: int):
        """N-grams (or hashed words): each sample's n-grams, formed from its kept tokens in
        order, looked up (or hashed) once per distinct n-gram, then counted per column."""
        dtype = self.vec.dtype
        rows, pos = np.nonzero(mask[seq.owner, :].T > 0.5)  # kept tokens, sample by sample, in order
        tokens = seq.token[pos]
        u = max(len(seq.words), 2)
        low, high = self.ngrams
        found = []  # per n: (sample of each n-gram, its column's slot, the slots' columns, signs)
        for n in range(low, high + 1):
            if len(tokens) < n:
                break
            start = np.flatnonzero(rows[n - 1 :] == rows[: len(rows) - n + 1])  # n kept tokens in a row
            key = tokens[start].copy()
            for k in range(1, n):
                key *= u
                key += tokens[start + k]
            distinct, inverse = _distinct(key, u**n)
            col, sign = self._lookup(distinct, n, u, seq.words)
            found.append((rows[start], inverse, col, sign))
        columns = np.unique(np.concatenate([c[c >= 0] for _, _, c, _ in found] or [np.zeros(0, np.int64)]))
        m = len(columns)
        if not m:
            return np.zeros(0, dtype), np.zeros(0, np.int32), np.zeros(S, np.int64)
        # every n-gram of a known column as a cell (sample, slot), slots in column order
        cells, signs = [], []
        for r, inverse, col, sign in found:
            slot = np.where(col >= 0, np.searchsorted(columns, col), -1)[inverse]
            known = slot >= 0
            cells.append(r[known] * m + slot[known])
            signs.append(sign[inverse][known])
        cell, sign = np.concatenate(cells), np.concatenate(signs)
        if S * m <= _DENSE_CELLS:  # counted in a dense (S, m) table: no sort
            stored = np.bincount(cell, minlength=S * m).reshape(S, m)
            r, k = np.nonzero(stored)  # by sample, then column
            counts = (
                np.bincount(cell, weights=sign, minlength=S * m)[r * m + k] if self.hashing else stored[r, k]
            )
            per_row = np.count_nonzero(stored, axis=1).astype(np.int64)
        else:
            distinct, inverse = np.unique(cell, return_inverse=True)
            r, k = distinct // m, distinct % m
            counts = np.bincount(inverse, weights=sign if self.hashing else None, minlength=len(distinct))
            per_row = np.bincount(r, minlength=S).astype(np.int64)
        if self.hashing:  # the signed sum of the n-grams hashed to a column (0 stays, as sklearn's)
            values = counts.astype(dtype)
            if self.vec.binary:
                values[:] = 1
        else:
            values = self._values(counts, columns[k])
        return values.astype(dtype, copy=False), columns[k].astype(np.int32), per_row

    def _lookup(self, keys: np.ndarray, n: int, u: int, words: list[str]):
        """The column (-1: none) and sign of each n-gram keyed by ``keys`` (base-u digits)."""
        digits = np.empty((len(keys), n), dtype=np.int64)
        rest = keys.copy()
        for k in range(n - 1, -1, -1):
            digits[:, k] = rest % u
            rest //= u
        grams = [" ".join(words[i] for i in row) for row in digits.tolist()]
        if not self.hashing:
            get = self.vocabulary.get
            return np.array([get(g, -1) for g in grams], dtype=np.int64), np.ones(len(keys))
        from sklearn.utils import murmurhash3_32

        h = np.array([murmurhash3_32(g, seed=0) for g in grams], dtype=np.int64)
        width = self.width
        col = np.where(h == -(2**31), (2**31 - 1 - (width - 1)) % width, np.abs(h) % width)
        sign = np.where(h >= 0, 1.0, -1.0) if self.vec.alternate_sign else np.ones(len(keys))
        return col, sign

    def _values(self, kept_counts: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """What the vectorizer stores for kept counts (0 stays 0) of ``columns``: the count, 1
        if binary; for TF-IDF 1 + log(count) if sublinear, times the idf; by the same
        floating-point operations as the vectorizer's, in its dtype."""
        dtype = self.vec.dtype
        v = np.asarray(kept_counts).astype(dtype)
        if self.vec.binary:
            v = (v > 0).astype(dtype)
        if self.tfidf is None:
            return v
        if self.tfidf.sublinear_tf:
            nz = v > 0
            np.log(v, out=v, where=nz)
            np.add(v, 1.0, out=v, where=nz)
        if hasattr(self.tfidf, "idf_"):
            v = v * self.tfidf.idf_[columns]
        return v

    def _normalize(self, X):
        """The vectorizer's row normalization, in place (TF-IDF or hashing with a norm)."""
        norm = self.vec.norm if self.hashing else None if self.tfidf is None else self.tfidf.norm
        if norm is None:
            return X
        try:
            from sklearn.utils import sparsefuncs_fast as fast
        except ImportError:  # pragma: no cover - scikit-learn moved it: its public function then
            from sklearn.preprocessing import normalize

            return normalize(X, norm=norm, copy=False)
        {"l2": fast.inplace_csr_row_normalize_l2, "l1": fast.inplace_csr_row_normalize_l1}[norm](X)
        return X
