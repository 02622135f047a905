"""Words of a document: the interpretable features of a text.

A document is split into tokens by a regular expression: the model's own
vectorizer's ``token_pattern`` and ``lowercase`` when the model is a
scikit-learn Pipeline starting with one (so that the features are the model's
words), else any run of word characters, as lime splits.  With ``bow`` (as
lime), a feature is a distinct word and removing it removes every occurrence;
without, each occurrence is a feature of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: Tokens of a model without a vectorizer of its own: runs of word characters (lime splits on \W+).
WORD_RUNS = r"(?u)\b\w+\b"


@dataclass(frozen=True)
class Tokenizer:
    """How documents are split into words."""

    pattern: str = WORD_RUNS
    lowercase: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def __getstate__(self):
        return {"pattern": self.pattern, "lowercase": self.lowercase}

    def __setstate__(self, state) -> None:
        object.__setattr__(self, "pattern", state["pattern"])
        object.__setattr__(self, "lowercase", state["lowercase"])
        self.__post_init__()

    def tokens(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, word) of every token of ``text``, in order (the word lowercased if so set)."""
        out = []
        group = 1 if self._regex.groups == 1 else 0  # a capturing group is the word, as sklearn reads it
        for m in self._regex.finditer(text):
            a, b = m.span(group)
            if b > a:
                word = text[a:b]
                out.append((a, b, word.lower() if self.lowercase else word))
        return out


@dataclass
class Document:
    """A document's interpretable features: its words (distinct with bow, else occurrences)."""

    text: str
    words: list[str]  # feature j's word
    spans: list[list[tuple[int, int]]]  # feature j's occurrences, as character offsets [start, end)
    counts: np.ndarray  # (d,) int64: occurrences of feature j (1 each without bow)

    @property
    def d(self) -> int:
        return len(self.words)

    def take(self, index: np.ndarray) -> Document:
        """The document with features ``index`` only (the others are left as they are)."""
        index = [int(i) for i in index]
        return Document(
            self.text, [self.words[i] for i in index], [self.spans[i] for i in index], self.counts[index]
        )

    def owners(self) -> np.ndarray:
        """(len(text),) int64: the feature each character belongs to, -1 outside every word."""
        owner = np.full(len(self.text), -1, dtype=np.int64)
        for j, spans in enumerate(self.spans):
            for a, b in spans:
                owner[a:b] = j
        return owner


def document(text: str, tokenizer: Tokenizer, bow: bool) -> Document:
    tokens = tokenizer.tokens(text)
    if not bow:
        spans = [[(a, b)] for a, b, _ in tokens]
        return Document(text, [w for _, _, w in tokens], spans, np.ones(len(tokens), dtype=np.int64))
    index: dict[str, int] = {}
    words: list[str] = []
    spans_of: list[list[tuple[int, int]]] = []
    for a, b, w in tokens:
        j = index.setdefault(w, len(words))
        if j == len(words):
            words.append(w)
            spans_of.append([])
        spans_of[j].append((a, b))
    return Document(text, words, spans_of, np.array([len(s) for s in spans_of], dtype=np.int64))


def vectorizer_of(model):
    """The scikit-learn text vectorizer that starts ``model`` (a Pipeline), or None."""
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or not steps:
        return None
    first = steps[0][1]
    return first if isinstance(first, (CountVectorizer, HashingVectorizer)) else None


def vectorizer_for_column(model, column: str):
    """The scikit-learn text vectorizer a Pipeline's ColumnTransformer applies to ``column``
    (alone, or first in a Pipeline of its own), or None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

    steps = getattr(model, "steps", None)
    first = steps[0][1] if isinstance(steps, list) and steps else model
    if not isinstance(first, ColumnTransformer):
        return None
    for _, transformer, columns in getattr(first, "transformers_", first.transformers):
        single = columns if isinstance(columns, str) else None
        if single is None and not callable(columns) and not isinstance(columns, slice):
            listed = list(np.atleast_1d(columns))
            single = str(listed[0]) if len(listed) == 1 else None
        if single == column:
            if isinstance(transformer, (CountVectorizer, HashingVectorizer)):
                return transformer
            vec = vectorizer_of(transformer)
            if vec is not None:
                return vec
    return None


def tokenizer_for(
    model, token_pattern: str | None = None, lowercase: bool | None = None, column: str | None = None
) -> Tokenizer:
    """The model's own tokenization when it starts with a word vectorizer (or applies one to
    ``column``), else runs of word characters (lowercased when the model's character-n-gram
    vectorizer lowercases); ``token_pattern`` and ``lowercase`` override."""
    vec = vectorizer_of(model) if column is None else vectorizer_for_column(model, column)
    pattern, lower = WORD_RUNS, False
    if vec is not None and vec.preprocessor is None and not callable(vec.analyzer):
        lower = bool(vec.lowercase)  # the model lowercases what it reads: words then differ by case in vain
    if vec is not None and vec.analyzer == "word" and vec.tokenizer is None:
        pattern = vec.token_pattern or WORD_RUNS
    if token_pattern is not None:
        pattern = token_pattern
    if lowercase is not None:
        lower = lowercase
    return Tokenizer(pattern, lower)
