"""Rendering in worker processes: the uncached input pipeline scales with a host's cores.

Rendering (template choice, filling, few-shot assembly) is Python; inside `tf.py_function`
it runs on one interpreter, under one GIL, whatever the host's core count. With
RENDER_PROCESSES=N (the data setting: gin macro, env FLANJAX_RENDER_PROCESSES; or
`set_render_processes(N)`), N > 1, each task's render step
instead sends batches of raw examples to N spawned worker processes and gets the rendered
text back; everything else (tokenising, mixing, packing, seqio's caching) stays in tf.data,
whose TF-native ops already use every core.

    raw example --(tf.io.serialize_tensor, TF-native)--> batch of `BATCH` rows
      --(one tf.py_function per batch: split into N chunks, one per worker)--> rendered
      text, option lists as values + row lengths --> unbatch --> as the in-process path

Why processes behind the render step rather than the alternatives (see BENCHMARKS.md):
- tf.data service workers run the dataset graph in other processes, but a
  `tf.py_function` refers to a Python callable of the process that built the graph; a
  remote worker cannot call it, so rendering would have to become TF ops first.
- Grain's multiprocessing loader would replace seqio's whole pipeline (mixing, packing,
  caching), which T5X-style training and seqio's cache job rely on.
- A TF-native render covers FLAN's pattern templates but not promptsource's Jinja or
  few-shot assembly.
Rendering is a pure function of (render seed, task, example), so the workers give exactly
the in-process output, in the same order (tf.data's deterministic map keeps it).
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures
import multiprocessing
import os
import threading
from typing import Any, Optional, Sequence

import numpy as np
import tensorflow as tf


# Raw examples per tf.py_function call: amortises the call and the pipe to the workers.
BATCH = 64
# Rendered option / reference lists travel as flat values + row lengths.
_OUTPUT_TYPES = [tf.bool, tf.string, tf.string, tf.string, tf.int64, tf.string, tf.string,
                 tf.int64]

_override: Optional[int] = None
_POOLS: dict[int, concurrent.futures.ProcessPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def render_processes() -> int:
    """How many processes render (1: in the tf.data thread, the default)."""
    if _override is not None:
        return _override
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    value = locations.get("RENDER_PROCESSES")
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        raise ValueError(f"RENDER_PROCESSES={value!r} is not an integer; set "
                         f"{locations.describe('RENDER_PROCESSES')} to e.g. 4.") from None


def set_render_processes(n: Optional[int]) -> None:
    """Sets the render process count for datasets built from now on (None: env again)."""
    global _override
    _override = None if n is None else max(1, int(n))


def _pool(n: int) -> concurrent.futures.ProcessPoolExecutor:
    with _POOLS_LOCK:
        if n not in _POOLS:
            # spawn, not fork: forking a process that runs TF's thread pools can deadlock.
            from flanjax.data import locations  # pylint: disable=g-import-not-at-top

            # Workers register their tasks with this process's data settings (gin macros
            # included, not only the environment), so they render with the same templates.
            settings = {s.name: locations.get(s.name) for s in locations.SETTINGS}
            _POOLS[n] = concurrent.futures.ProcessPoolExecutor(
                max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(settings, os.getpid()),
            )
        return _POOLS[n]


def shutdown() -> None:
    """Stops the worker processes (they start again on the next use)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown)


# -- worker side --------------------------------------------------------------------------


def _exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Ends this worker when the process that started it ends, however it ends (kill -9
    included, when no atexit hook or executor shutdown runs).

    A spawned worker would otherwise live on: it waits for work on the executor's call
    queue, and a spawn child holds both ends of that queue's pipe, so the parent's death
    never shows as end-of-file there. What does show it: `parent_process().sentinel`, a pipe
    whose only writer is the parent (readable at its death), and, as a second sign,
    `os.getppid()` changing when the orphan is re-parented.
    """
    from multiprocessing import connection  # pylint: disable=g-import-not-at-top

    parent = multiprocessing.parent_process()
    sentinels = [parent.sentinel] if parent is not None and parent.sentinel is not None else []

    def watch() -> None:
        while os.getppid() == parent_pid:
            if sentinels and connection.wait(sentinels, timeout=poll_s):
                break
            if not sentinels:
                threading.Event().wait(poll_s)
        os._exit(0)  # pylint: disable=protected-access  # nothing of the worker's to flush

    threading.Thread(target=watch, name="flanjax-render-parent-watch", daemon=True).start()


def _init_worker(settings: dict[str, Optional[str]], parent_pid: Optional[int] = None) -> None:
    if parent_pid is not None:
        _exit_with_parent(parent_pid)  # first: the imports below take seconds
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    locations.configure(settings)
    set_render_processes(1)  # workers render in-process (whatever the parent's setting)
    from flanjax.data import mixtures  # noqa: F401  registers every task, as the parent did


def _parse(serialized: bytes) -> Any:
    from tensorflow.core.framework import tensor_pb2  # pylint: disable=g-import-not-at-top

    array = tf.make_ndarray(tensor_pb2.TensorProto.FromString(serialized))
    return array[()] if array.ndim == 0 else array  # scalars as `.numpy()` gives them


def _render_chunk(task_name: str, seed: int, max_len: int, structure: Any,
                  rows: Sequence[Sequence[bytes]]) -> tuple[list, dict, dict]:
    """Renders rows of serialized raw features; returns results and counter deltas."""
    from flanjax.data import render as render_lib  # pylint: disable=g-import-not-at-top
    from flanjax.data import sources  # pylint: disable=g-import-not-at-top
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    try:
        renderer = tasks_lib.renderer_of_task(task_name)
    except KeyError:
        raise KeyError(f"Task {task_name!r} is not registered in the render worker processes "
                       f"(only catalog tasks are); set RENDER_PROCESSES=1 (env FLANJAX_RENDER_PROCESSES).") from None
    skipped, trimmed = render_lib.skipped_counts(), render_lib.trimmed_counts()
    out = []
    for row in rows:
        flat = [_parse(b) for b in row]
        raw = tf.nest.map_structure(lambda i: flat[i], structure)
        r = renderer(sources.decode_example(raw), seed=seed,
                     max_input_length=max_len if max_len > 0 else None)
        out.append(None if r is None else (
            r["inputs"], r["targets"], [str(o) for o in r["answer_options"]], r["template_id"],
            [str(x) for x in r["references"]]))
    skip_delta = collections.Counter(render_lib.skipped_counts()) - collections.Counter(skipped)
    trim_delta = collections.Counter(render_lib.trimmed_counts()) - collections.Counter(trimmed)
    return out, dict(skip_delta), dict(trim_delta)


# -- parent side ---------------------------------------------------------------------------


def _render_rows(task_name: str, seed: int, max_len: int, structure: Any,
                 rows: list[list[bytes]], n: int) -> list:
    from flanjax.data import render as render_lib  # pylint: disable=g-import-not-at-top

    size = -(-len(rows) // n)
    futures = [_pool(n).submit(_render_chunk, task_name, seed, max_len, structure, rows[i:i + size])
               for i in range(0, len(rows), size)]
    out = []
    for future in futures:
        results, skips, trims = future.result()
        out += results
        for (task, reason), k in skips.items():
            render_lib.count_skip(task, reason, k)
        for task, k in trims.items():
            render_lib.count_trimmed(task, k)
    return out


def render_in_processes(dataset: tf.data.Dataset, task_name: str, *, seed: int,
                        max_len: int) -> tf.data.Dataset:
    """The render step of `flanjax.data.tasks`, done by `render_processes()` workers."""
    n = render_processes()
    structure = tf.nest.pack_sequence_as(dataset.element_spec,
                                         list(range(len(tf.nest.flatten(dataset.element_spec)))))

    def serialize(ex):
        return tf.stack([tf.io.serialize_tensor(t) for t in tf.nest.flatten(ex)])

    def py_render(rows):
        results = _render_rows(task_name, seed, max_len, structure, rows.numpy().tolist(), n)
        keep = np.array([r is not None for r in results])
        done = [r or ("", "", [], "", []) for r in results]
        return (keep, [d[0] for d in done], [d[1] for d in done],
                tf.constant([o for d in done for o in d[2]], tf.string),
                np.array([len(d[2]) for d in done], np.int64), [d[3] for d in done],
                tf.constant([x for d in done for x in d[4]], tf.string),
                np.array([len(d[4]) for d in done], np.int64))

    def render_batch(rows):
        keep, inputs, targets, opts, opt_len, tid, refs, ref_len = tf.py_function(
            py_render, [rows], _OUTPUT_TYPES)
        for t in (keep, inputs, targets, opt_len, tid, ref_len):
            t.set_shape([None])
        opts.set_shape([None])
        refs.set_shape([None])
        return {
            "_keep": keep, "inputs": inputs, "targets": targets,
            "answer_options": tf.RaggedTensor.from_row_lengths(opts, opt_len),
            "template_id": tid,
            "references": tf.RaggedTensor.from_row_lengths(refs, ref_len),
        }

    ds = dataset.map(serialize, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH)
    # n + 1 batches in flight keep every worker busy while the parent gathers one.
    ds = ds.map(render_batch, num_parallel_calls=n + 1, deterministic=True).unbatch()
    ds = ds.filter(lambda ex: ex["_keep"])
    return ds.map(lambda ex: {k: v for k, v in ex.items() if k != "_keep"},
                  num_parallel_calls=tf.data.AUTOTUNE)
