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

    def matrix(self, cols: list[np.ndarray], counts: list[np.ndarray], Z: np.ndarray, docs=None):
        """The (n·S, vocabulary) matrix of the samples of n documents (their columns, counts
        and masks: rows ``docs`` of Z (B, D, S), all of them by default), as the vectorizer's
        transform would give it.

        Built in CSR form directly, its indices sorted as the vectorizer sorts them: for each
        document, the kept counts of its distinct vocabulary columns, in column order."""
        docs = range(len(Z)) if docs is None else docs
        S, dtype = Z.shape[2], self.vec.dtype
        indices, data, per_row = [], [], []
        for b, z in zip(range(len(cols)), docs, strict=True):
            known = np.flatnonzero(cols[b] >= 0)
            if not len(known):
                per_row.append(np.zeros(S, dtype=np.int64))
                continue
            columns, where = np.unique(cols[b][known], return_inverse=True)  # sorted, distinct
            mask = Z[z, : len(cols[b]), :] > 0.5  # (d, S): the document's kept words
            if len(columns) == len(known):  # a feature per column (bow): its mask, in column order
                order = known[np.argsort(cols[b][known], kind="stable")]
                kept = mask[order].T  # (S, columns)
                values = np.broadcast_to(counts[b][order].astype(dtype), kept.shape)[kept]
            else:  # several occurrences of a column: their kept count, per sample
                A = np.zeros((len(known), len(columns)))
                A[np.arange(len(known)), where] = counts[b][known]
                C = mask[known].T.astype(np.float64) @ A  # (S, columns): exact small integers
                kept = C > 0.5
                values = C[kept].astype(dtype)
            per_row.append(kept.sum(axis=1))
            indices.append(np.broadcast_to(columns.astype(np.int32), kept.shape)[kept])
            data.append(values)
        values = np.concatenate(data) if data else np.zeros(0, dtype)
        index = np.concatenate(indices) if indices else np.zeros(0, np.int32)
        return self._finish((values, index, np.concatenate(per_row), len(cols) * S))

    def _finish(self, parts):
        import scipy.sparse as sp

        values, index, per_row, rows = parts
        indptr = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(per_row, out=indptr[1:])
        shape = (rows, len(self.vocabulary))
        X = sp.csr_matrix((values, index, indptr), shape=shape, dtype=self.vec.dtype)
        X.has_sorted_indices = True
        if self.vec.binary:
            X.data.fill(1)
        if self.tfidf is not None:
            X = self.tfidf.transform(X, copy=False)
        return X
