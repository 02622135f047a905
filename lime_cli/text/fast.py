"""The exact fast path for Pipelines that start with a scikit-learn word vectorizer.

A sample of a document keeps some of its words.  For a ``CountVectorizer`` or
``TfidfVectorizer`` on unigrams, its document-term row is the document's own
counts of the kept words: the chunk's perturbed matrix is built from the masks
directly (no string is rebuilt or re-tokenized), then the rest of the pipeline
is called on it.

It is taken only where it is exact, and that is proved here:

- the vectorizer splits words with scikit-learn's default pattern
  ``(?u)\\b\\w\\w+\\b``: a token is a maximal run of two or more word
  characters, so its neighbours are non-word characters (or the ends of the
  text); deleting a token leaves them in place, which neither joins two tokens
  nor makes a new one, so the perturbed string's tokens are exactly the kept
  ones;
- unigrams only (deleting a word would create n-grams across the gap that no
  count of the document holds), no custom analyzer, tokenizer or preprocessor,
  no accent stripping, words deleted rather than replaced by a mask string;
- for every document, the vectorizer's own analyzer gives the words the
  explainer found (stop words aside), or that document goes the string path.

Anything else, a ``HashingVectorizer`` included, gets the rebuilt strings.
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


class CountsPath:
    """Document-term matrices of the samples, from their masks."""

    def __init__(self, vec) -> None:
        self.vec = vec
        self.vocabulary = vec.vocabulary_
        self.stop_words = vec.get_stop_words() or frozenset()
        self.analyzer = vec.build_analyzer()
        self.tfidf = getattr(vec, "_tfidf", None)  # TfidfVectorizer's transformer

    @staticmethod
    def why_not(model, tokenizer: Tokenizer, mask_string: str | None) -> str | None:
        """Why the fast path cannot be exact for ``model`` (None: it is)."""
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        vec = vectorizer_of(model)
        if vec is None:
            return "the model does not start with a scikit-learn vectorizer"
        if not isinstance(vec, CountVectorizer):
            return f"a {type(vec).__name__} (only CountVectorizer and TfidfVectorizer have one)"
        if isinstance(vec, TfidfVectorizer) and not hasattr(vec, "_tfidf"):
            return "this scikit-learn's TfidfVectorizer has no _tfidf"
        if vec.analyzer != "word" or vec.tokenizer is not None or vec.preprocessor is not None:
            return "the vectorizer has its own analyzer, tokenizer or preprocessor"
        if tuple(vec.ngram_range) != (1, 1):
            return f"n-grams {tuple(vec.ngram_range)}: deleting a word makes n-grams across the gap"
        if vec.strip_accents is not None:
            return "the vectorizer strips accents"
        if vec.token_pattern != SKLEARN_PATTERN:
            return "a custom token pattern (only the default one is proved exact)"
        if tokenizer.pattern != vec.token_pattern or tokenizer.lowercase != bool(vec.lowercase):
            return "the words are split otherwise than the vectorizer splits them"
        if mask_string is not None:
            return "words are replaced by a mask string"
        if not hasattr(vec, "vocabulary_"):
            return "the vectorizer is not fitted"
        return None

    def columns(self, doc: Document) -> np.ndarray | None:
        """The vocabulary column of each of the document's features (-1: not a word of the model),
        or None when the vectorizer splits the document otherwise (the string path then)."""
        model_words = self.analyzer(doc.text)
        occurrences = sorted((a, w) for w, spans in zip(doc.words, doc.spans, strict=True) for a, _ in spans)
        mine = [w for _, w in occurrences if w not in self.stop_words]
        if model_words != mine:
            return None
        return np.array(
            [-1 if w in self.stop_words else self.vocabulary.get(w, -1) for w in doc.words], dtype=np.int64
        )

    def matrix(self, cols: list[np.ndarray], counts: list[np.ndarray], Z: np.ndarray, docs=None, threads=1):
        """The (n·S, vocabulary) matrix of the samples of n documents (their columns, counts
        and masks: rows ``docs`` of Z (B, D, S), all of them by default), as the vectorizer's
        transform would give it, bit for bit.

        Built in CSR form directly, document by document (on ``threads``): each sample's row
        holds the document's distinct vocabulary columns in column order (as the vectorizer
        sorts them), with the value of the kept count, 0 where none is kept; the zeros are
        then dropped, and the rows normalized, by the very functions the vectorizer uses."""
        import scipy.sparse as sp

        docs = list(range(len(Z))) if docs is None else list(docs)
        S, dtype = Z.shape[2], self.vec.dtype

        def one(b):
            known = np.flatnonzero(cols[b] >= 0)
            if not len(known):
                return np.zeros(0, dtype), np.zeros(0, np.int32), 0
            columns, where = np.unique(cols[b][known], return_inverse=True)  # sorted, distinct
            mask = Z[docs[b], : len(cols[b]), :]  # (d, S) 0/1: the document's kept words
            if len(columns) == len(known):  # a feature per column (bow): its mask, in column order
                order = known[np.argsort(cols[b][known], kind="stable")]
                values = self._values(counts[b][order], columns)  # (columns,): the value of a kept word
                dense = mask[order].T * values  # (S, columns), exact: each is 0 or the value
            else:  # several occurrences of a column: their kept count, per sample
                A = np.zeros((len(known), len(columns)))
                A[np.arange(len(known)), where] = counts[b][known]
                C = mask[known].T @ A  # (S, columns): exact small integers
                dense = self._values(C, columns)
            return dense.astype(dtype, copy=False).ravel(), columns.astype(np.int32), len(columns)

        parts = run_threads(one, list(range(len(cols))), threads)
        width = np.array([w for _, _, w in parts], dtype=np.int64)
        indptr = np.zeros(len(cols) * S + 1, dtype=np.int64)
        np.cumsum(np.repeat(width, S), out=indptr[1:])
        data = np.concatenate([v for v, _, _ in parts]) if parts else np.zeros(0, dtype)
        index = np.concatenate([np.tile(c, S) for _, c, _ in parts]) if parts else np.zeros(0, np.int32)
        X = sp.csr_matrix((data, index, indptr), shape=(len(cols) * S, len(self.vocabulary)), dtype=dtype)
        X.has_sorted_indices = True
        X.eliminate_zeros()
        return self._normalize(X)

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
        """The vectorizer's row normalization, in place (TF-IDF with a norm)."""
        norm = None if self.tfidf is None else self.tfidf.norm
        if norm is None:
            return X
        try:
            from sklearn.utils import sparsefuncs_fast as fast
        except ImportError:  # pragma: no cover - scikit-learn moved it: its public function then
            from sklearn.preprocessing import normalize

            return normalize(X, norm=norm, copy=False)
        {"l2": fast.inplace_csr_row_normalize_l2, "l1": fast.inplace_csr_row_normalize_l1}[norm](X)
        return X
