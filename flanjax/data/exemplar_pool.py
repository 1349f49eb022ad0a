"""Few-shot exemplar candidates drawn from across a task's whole training split.

Flan 2022 draws exemplars from the whole training split: seqio's `FewshotDataSource`
(`seqio/experimental.py`, used by `flan/v2/few_shot.py`) zips each example with the next
`num_shots` examples of a second, shuffled pass over the train split. flanjax's rendering is
a pure function of (seed, task, example) (caches, render workers and hosts must agree), so
each task instead reads one pool, the same everywhere: the split (`n` examples) is cut into
`size` strata [j*n//size, (j+1)*n//size) and stratum j gives the first usable of two
candidates at offsets `stable_int("exemplar_pool", task, j, c) % len(stratum)`, c = 0, 1.
The exemplars of an example are then drawn from this pool by a hash of (seed, task, example)
(`formats.select_exemplars`, `flan2022_fewshot.render`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import seqio
import tensorflow as tf

from flanjax.data import render as render_lib

CANDIDATES_PER_STRATUM = 2


def strata_indices(n: int, size: int, name: str) -> list[list[int]]:
    """For each of min(size, n) strata of range(n), its candidate indices (in order)."""
    k = min(size, n)
    out = []
    for j in range(k):
        lo, hi = j * n // k, (j + 1) * n // k
        picks = [lo + render_lib.stable_int("exemplar_pool", name, j, c) % (hi - lo)
                 for c in range(CANDIDATES_PER_STRATUM)]
        out.append(list(dict.fromkeys(picks)))
    return out


def split_size(source: seqio.DataSource, split: str) -> int:
    """Examples in `split`: the source's recorded count (TFDS metadata), else one pass."""
    n = source.num_input_examples(split)
    if n is None:
        ds = source.get_dataset(split=split, shuffle=False)
        n = int(ds.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1).numpy())
    return int(n)


def read_pool(source: seqio.DataSource, split: str, size: int, name: str,
              fields_of: Callable[[Mapping[str, Any]], Optional[dict]],
              decode: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> list[dict]:
    """The pool of `name`'s task: per stratum, the fields of its first usable candidate (in
    stratum order). One sequential pass; rows other than the candidates are never decoded."""
    n = split_size(source, split)
    strata = strata_indices(n, size, name) if n else []
    wanted = sorted({i for picks in strata for i in picks})
    if not wanted:
        return []
    ds = source.get_dataset(split=split, shuffle=False).enumerate()
    keep = tf.constant(wanted, tf.int64)
    ds = ds.filter(lambda i, _: tf.reduce_any(tf.equal(i, keep))).take(len(wanted))
    rows: dict[int, Optional[dict]] = {}
    for i, raw in ds.as_numpy_iterator():
        rows[int(i)] = fields_of(decode(raw))
    out = []
    for picks in strata:
        usable: Sequence[dict] = [rows[i] for i in picks if rows.get(i) is not None]
        if usable:
            out.append(usable[0])
    return out
