"""Sizing chunks by the memory they really take.

Counting a chunk's cells says nothing of what the model makes of them: a
one-hot pipeline turns 14 columns into a hundred float columns, a
ColumnTransformer copies them again.  So the automatic chunk size is measured:
the first chunk holds one row, its peak memory (the process's peak resident
set, reset before the chunk, less what was resident before it) gives the cost
of a row, and later chunks hold as many rows as fit in the budget, up to the
cell-based size.  Every chunk is measured, and the largest cost per row seen
so far is the one used.  A chunk is at most ``GROWTH`` times the largest one
measured so far: memory the process freed earlier and kept can hide what a
small chunk takes, so the size grows step by step until the cost shows.
This reads Linux's ``/proc/self/status`` and resets the peak through
``/proc/self/clear_refs``; elsewhere chunks keep the cell-based size, as they do
from the first for a front-end whose model gets its input in pieces of a bounded
size (images: ``FrontEnd.measure_chunks``), unless workers share the run.

Chunking never changes the output (every row draws from its own stream), so
neither does this.
"""

from __future__ import annotations

from contextlib import contextmanager

#: Peak resident memory a run aims to stay under, whatever the model.
TARGET_BYTES = 1 << 30
#: The least a chunk may grow the process by (when the process alone is near the target).
MIN_BUDGET_BYTES = 64 << 20
#: A chunk holds at most this many times the rows of the largest chunk measured so far.
GROWTH = 4


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def resident_bytes() -> int | None:
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def peak_bytes() -> int | None:
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


def reset_peak() -> bool:
    """Reset the process's peak resident set to what is resident now (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


class ChunkSizer:
    """How many rows the next chunk holds: 1 first, then as many as the measured cost allows.

    ``cap`` is the cell-based size (never exceeded); ``workers`` processes share the
    budget, each holding a chunk; with ``measure`` False, every chunk is of the cap.
    """

    def __init__(self, cap: int, workers: int = 1, measure: bool = True) -> None:
        self.cap = max(1, cap)
        self.workers = max(1, workers)
        self.per_row = 0.0
        self.measured = False
        self.largest = 0  # rows of the largest chunk measured
        self.usable = measure and reset_peak() and resident_bytes() is not None
        base = resident_bytes() or 0
        self.budget = max(MIN_BUDGET_BYTES, (TARGET_BYTES - base) * 3 // 4) // self.workers

    def next_size(self) -> int:
        if not self.usable:
            return self.cap
        if not self.measured:
            return 1
        fits = self.budget // self.per_row if self.per_row > 0 else self.cap
        return int(max(1, min(self.cap, GROWTH * self.largest, fits)))

    @contextmanager
    def measure(self, rows: int):
        """Measure the peak growth of the process while a chunk of ``rows`` rows is explained."""
        if not self.usable:
            yield
            return
        before = resident_bytes()
        ok = reset_peak()
        yield
        peak = peak_bytes()
        if ok and before is not None and peak is not None:
            self.per_row = max(self.per_row, (peak - before) / max(rows, 1))
            self.largest = max(self.largest, rows)
            self.measured = True
