"""Random streams: every generator that draws samples is derived here, in one place.

A row's samples come from a generator seeded by the user's seed and a stable
hash of the row's content as the explainer encodes it (bin and category codes,
numeric values), never by its position.  So the same row, with the same seed
and settings, gets the same explanation wherever it sits: in a shuffled file,
after an inserted row, alone on standard input, read from CSV or Parquet, in
any chunk, worker or cluster.  Two equal rows get equal explanations.

Each generator is ``SeedSequence(seed, spawn_key=(purpose, index, *key))``:
``purpose`` tells the main samples (:data:`MAIN`), the re-explanations of
``--stability`` (:data:`REPLICATE`, index r = 1..R) and the levels of
``--num-samples auto`` (:data:`AUTO`, index = level) apart, so that no two
streams of a run coincide.
"""

from __future__ import annotations

import hashlib

import numpy as np

MAIN, REPLICATE, AUTO = 0, 1, 2
KEY_WORDS = 4  # 128 bits of the row's hash


def row_keys(codes: np.ndarray, values: np.ndarray, unseen: dict[tuple[int, int], object]) -> np.ndarray:
    """The (B, KEY_WORDS) uint32 content keys of B encoded rows.

    ``codes`` (B, n_discrete) are the rows' bin and category codes (-1 for a
    category the training data lacks), ``values`` (B, n_numeric) their numeric
    values (NaN if missing), and ``unseen`` maps (row, column) to the value of
    each unseen category.  Numbers are hashed as little-endian 64-bit values,
    with every NaN alike and -0.0 as 0.0; an unseen category by its text.
    """
    B = len(codes)
    numbers = np.where(np.isnan(values), np.nan, values) + 0.0  # one NaN, and -0.0 -> 0.0
    data = np.hstack(
        [
            np.ascontiguousarray(codes, dtype="<i8").view(np.uint8).reshape(B, -1),
            np.ascontiguousarray(numbers, dtype="<f8").view(np.uint8).reshape(B, -1),
        ]
    )
    extra: dict[int, list[bytes]] = {}
    for (b, j), v in sorted(unseen.items(), key=lambda item: item[0]):
        extra.setdefault(b, []).append(f"{j}:{type(v).__name__}:{v}".encode())
    keys = np.empty((B, KEY_WORDS), dtype=np.uint32)
    for b in range(B):
        h = hashlib.blake2b(data[b].tobytes(), digest_size=4 * KEY_WORDS, person=b"lime-cli row")
        for part in extra.get(b, ()):
            h.update(b"\0" + part)
        keys[b] = np.frombuffer(h.digest(), dtype="<u4")
    return keys


def content_keys(parts: list[list[bytes]], person: bytes) -> np.ndarray:
    """(B, KEY_WORDS) uint32 keys of B instances, each a 128-bit BLAKE2b hash of its ``parts``
    (the bytes of its content, in order) under ``person`` (what kind of content it is)."""
    keys = np.empty((len(parts), KEY_WORDS), dtype=np.uint32)
    for b, chunks in enumerate(parts):
        h = hashlib.blake2b(digest_size=4 * KEY_WORDS, person=person)
        for chunk in chunks:
            h.update(chunk)
        keys[b] = np.frombuffer(h.digest(), dtype="<u4")
    return keys


def generators(seed: int, keys: np.ndarray, purposes: list[tuple[int, int]]) -> list[np.random.Generator]:
    """One generator per row: row b's from ``seed``, its ``keys[b]`` and ``purposes[b]``
    = (purpose, index)."""
    return [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(p, i, *map(int, k))))
        for k, (p, i) in zip(keys, purposes, strict=True)
    ]
