"""Padding token rows into fixed-size batches for the compiled scoring and decoding calls.

Lengths are rounded up to a bucket so that a whole evaluation compiles a handful of
programs, not one per batch; the last batch is padded with empty rows (dropped after).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np


def bucket(length: int, multiple: int) -> int:
    """`length` rounded up to a multiple of `multiple` (at least `multiple`)."""
    return max(multiple, -(-length // multiple) * multiple)


def pad_rows(rows: Sequence[Sequence[int]], width: int, num_rows: int) -> np.ndarray:
    """[num_rows, width] int32, rows right-padded with 0; extra rows all 0."""
    out = np.zeros((num_rows, width), np.int32)
    for i, row in enumerate(rows):
        row = np.asarray(row, np.int32)[:width]
        out[i, : len(row)] = row
    return out


def chunks(n: int, size: int) -> Iterator[range]:
    """Index ranges of consecutive batches of `size` covering range(n)."""
    for start in range(0, n, size):
        yield range(start, min(start + size, n))
