"""T5X's checkpoint files: one msgpack `checkpoint` plus TensorStore zarr arrays beside it.

The layout, as `t5x/checkpoints.py` (`Checkpointer.save`, `_write_state_to_tensorstore`,
`_get_spec`) writes it and `load_t5x_checkpoint` reads it:

    MODEL_DIR/checkpoint_{step}/checkpoint      msgpack (flax.serialization) of
        {"version": 3, "optimizer": {"target": params, "state": {"step": int32,
                                     "param_states": {<param path>: {v_row, v_col, v, m}}}}}
    MODEL_DIR/checkpoint_{step}/target.encoder.layers_0.attention.query.kernel/   zarr array

Each leaf of the msgpack tree is either the array itself (written inline: the step, Adafactor's
factored accumulators and its (1,) placeholders, everything in checkpoints written without a
partitioner such as `t5x/testdata/test_t5_tiny.checkpoint_0`) or a TensorStore spec dict whose
kvstore path is relative to the checkpoint directory (`'target.decoder.logits_dense.kernel/'`).
A checkpoint written on GCS records driver "gcs" and the placeholder bucket
"t5x-dummy-bucket"; one written locally records "file" (older ones "gfile"). Like T5X
(`_maybe_update_ts_from_file_to_gcs` / `..._gcs_to_file`, `_update_ts_path_from_relative_to_absolute`),
the reader ignores the recorded driver and bucket and resolves every path against where the
checkpoint is now: a local directory or `gs://bucket/...` (msgpack through `etils.epath`,
arrays through TensorStore's own "gcs" kvstore).

Version 0 checkpoints (a bare flax state dict, no "optimizer" key) read too; T5X refuses
versions 1 and 2 for restore and so does this reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

# t5x/checkpoints.py VERSION: bfloat16 written natively by TensorStore since version 3.
VERSION = 3
CHECKPOINT_FILE = "checkpoint"
_PREFIX = "checkpoint_"
# t5x/checkpoints.py _DESIRED_CHUNK_SIZE_BYTES: 64 MiB chunks.
_CHUNK_BYTES = 64 * 1024 * 1024

Tree = dict[str, Any]


class T5XCheckpointError(ValueError):
    """A T5X checkpoint that cannot be read or written as asked (one line, names the fix)."""


def _epath(path: str) -> Any:
    from etils import epath  # pylint: disable=g-import-not-at-top  # gs:// and local alike

    return epath.Path(path)


def _is_gcs(path: str) -> bool:
    return str(path).startswith("gs://")


def _join(base: str, name: str) -> str:
    return f"{base.rstrip('/')}/{name}" if _is_gcs(base) else os.path.join(base, name)


# -- finding the msgpack file -----------------------------------------------------------


def checkpoint_steps(model_dir: str) -> list[int]:
    """Steps of the `checkpoint_{step}` folders of a T5X MODEL_DIR that hold a `checkpoint`."""
    base = _epath(model_dir)
    if not base.is_dir():
        return []
    steps = []
    for child in base.iterdir():
        m = re.fullmatch(_PREFIX + r"(\d+)", child.name)
        if m and (child / CHECKPOINT_FILE).exists():
            steps.append(int(m.group(1)))
    return sorted(steps)


def find_checkpoint(path: str, step: int | None = None) -> str:
    """The msgpack file of `path`: the file itself, a `checkpoint_N` folder, or a T5X
    MODEL_DIR (its latest `checkpoint_N`, or `step`), as T5X's `find_checkpoint` accepts."""
    path = str(path).rstrip("/") if _is_gcs(str(path)) else os.path.abspath(os.path.expanduser(path))
    p = _epath(path)
    if not p.exists():
        raise T5XCheckpointError(f"T5X checkpoint {path} does not exist")
    if not p.is_dir():
        return path
    if (p / CHECKPOINT_FILE).exists() and not (p / CHECKPOINT_FILE).is_dir():
        return _join(path, CHECKPOINT_FILE)
    steps = checkpoint_steps(path)
    if not steps:
        raise T5XCheckpointError(
            f"{path} holds neither a T5X `checkpoint` msgpack file nor checkpoint_N folders; "
            "give a T5X MODEL_DIR, one of its checkpoint_N folders or the checkpoint file")
    if step is None:
        step = steps[-1]
    if step not in steps:
        raise T5XCheckpointError(f"No checkpoint_{step} in {path}; steps: {steps}")
    return _join(_join(path, f"{_PREFIX}{step}"), CHECKPOINT_FILE)


# -- reading ----------------------------------------------------------------------------


def _is_spec(value: Any) -> bool:
    # t5x/checkpoints.py `_is_leaf`: a TensorStore spec dict has a driver and a kvstore.
    return isinstance(value, dict) and "driver" in value and ("kvstore" in value or "path" in value)


def flatten(tree: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, leaf) pairs; TensorStore spec dicts are leaves."""
    if isinstance(tree, dict) and not _is_spec(tree):
        for key, value in tree.items():
            yield from flatten(value, prefix + (str(key),))
    else:
        yield prefix, tree


def resolve_spec(spec: dict[str, Any], checkpoint_dir: str) -> dict[str, Any]:
    """A recorded spec made absolute against `checkpoint_dir` (local or gs://bucket/...).

    The recorded chunks and compressor are dropped, as T5X's `_read_ts` does: the zarr
    array's own `.zarray` says how it was written."""
    spec = {k: (dict(v) if isinstance(v, dict) else v) for k, v in spec.items()}
    kvstore = spec.get("kvstore")
    relative = (kvstore.get("path") if isinstance(kvstore, dict) else None) or spec.pop("path", None)
    if not relative:
        raise T5XCheckpointError(f"TensorStore spec without a path in the checkpoint: {spec}")
    metadata = dict(spec.get("metadata") or {})
    metadata.pop("chunks", None)
    metadata.pop("compressor", None)
    spec["metadata"] = metadata
    m = re.fullmatch(r"gs://([^/]+)/?(.*)", checkpoint_dir)
    if m:
        where = "/".join(p for p in (m.group(2).rstrip("/"), relative) if p)
        spec["kvstore"] = {"driver": "gcs", "bucket": m.group(1), "path": where}
    else:
        spec["kvstore"] = {"driver": "file", "path": os.path.join(checkpoint_dir, relative)}
    return spec


def _read_array(spec: dict[str, Any], checkpoint_dir: str, name: str) -> np.ndarray:
    import tensorstore as ts  # pylint: disable=g-import-not-at-top

    resolved = resolve_spec(spec, checkpoint_dir)
    try:
        array = ts.open(resolved, open=True).result().read().result()
    except Exception as e:  # ValueError / NOT_FOUND from tensorstore: name the array
        raise T5XCheckpointError(
            f"Cannot read T5X array {name} from {resolved['kvstore']}: {str(e).splitlines()[0].split(' [tensorstore_spec')[0]}"
        ) from None
    recorded = (spec.get("metadata") or {}).get("shape")
    if recorded is not None and tuple(recorded) != tuple(array.shape):
        raise T5XCheckpointError(
            f"T5X array {name}: the msgpack records shape {tuple(recorded)} but the zarr array "
            f"holds {tuple(array.shape)}")
    return np.asarray(array)


def read_checkpoint(path: str, step: int | None = None) -> tuple[str, dict[str, Any]]:
    """(msgpack file, T5X optimizer tree) with every TensorStore leaf read into numpy.

    The tree is T5X's `{"target": ..., "state": {"step": ..., "param_states": ...}}`."""
    from flax import serialization  # pylint: disable=g-import-not-at-top

    file = find_checkpoint(path, step)
    contents = serialization.msgpack_restore(_epath(file).read_bytes())
    if not isinstance(contents, dict):
        raise T5XCheckpointError(f"{file} is not a T5X checkpoint (msgpack holds {type(contents).__name__})")
    version = contents.get("version", 0)
    if version == 0:
        tree = contents  # t5x/checkpoints.py `_no_optimizer_state`: a plain flax state dict
    elif version >= 3:
        tree = contents.get("optimizer")
    else:
        raise T5XCheckpointError(
            f"{file} is a version {version} T5X checkpoint; T5X itself restores only versions "
            "0 and 3 and later: re-save it with a current T5X")
    if not isinstance(tree, dict) or "target" not in tree:
        raise T5XCheckpointError(f"{file} has no `target` parameters: not a T5X training checkpoint")
    checkpoint_dir = file[: -len(CHECKPOINT_FILE)].rstrip("/") or "."
    out: dict[str, Any] = {}
    for key, leaf in flatten(tree):
        name = "/".join(key)
        value = _read_array(leaf, checkpoint_dir, name) if _is_spec(leaf) else leaf
        node = out
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = value
    return file, out


# -- writing ----------------------------------------------------------------------------


def chunk_shape(shape: tuple[int, ...], itemsize: int) -> list[int]:
    """Chunks that divide `shape` and hold at most 64 MiB: the largest dimension is cut to
    its next smaller divisor until the chunk fits (t5x/checkpoints.py `_choose_chunk_shape`)."""
    target = max(_CHUNK_BYTES // max(itemsize, 1), 1)
    chunk = list(shape)
    while int(np.prod(chunk, dtype=np.int64)) > target:
        i = int(np.argmax(chunk))
        size, full = chunk[i], shape[i]
        chunk[i] = max(d for d in range(1, size) if full % d == 0)
    return chunk


def _dtype_name(array: np.ndarray) -> str:
    return np.dtype(array.dtype).name  # "bfloat16" through ml_dtypes


def write_checkpoint(model_dir: str, step: int, target: Tree, state: Tree, in_tensorstore: Any) -> str:
    """Writes MODEL_DIR/checkpoint_{step} as T5X's Checkpointer does; returns that folder.

    `in_tensorstore(path)`: whether the leaf at path (a tuple starting with "target" or
    "state") is written as a zarr array (T5X: the leaves with partitioning axes) rather than
    inline in the msgpack file (the step, factored accumulators, placeholders)."""
    import tensorstore as ts  # pylint: disable=g-import-not-at-top
    from flax import serialization  # pylint: disable=g-import-not-at-top

    folder = _join(str(model_dir), f"{_PREFIX}{int(step)}")
    _epath(folder).mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {}
    for key, leaf in flatten({"target": target, "state": state}):
        value: Any = leaf
        if in_tensorstore(key):
            array = np.asarray(leaf)
            # t5x/checkpoints.py `_get_spec`: name with "/" -> ".", gzip, relative path.
            spec = {
                "driver": "zarr",
                "dtype": _dtype_name(array),
                "kvstore": {"driver": "gcs" if _is_gcs(folder) else "file", "path": ".".join(key)},
                "metadata": {"compressor": {"id": "gzip"}, "shape": list(array.shape),
                             "chunks": chunk_shape(array.shape, array.dtype.itemsize)},
            }
            if _is_gcs(folder):
                spec["kvstore"]["bucket"] = "t5x-dummy-bucket"  # as T5X records it
            handle = ts.open(resolve_spec(spec, folder) | {"metadata": spec["metadata"]},
                             create=True, open=True).result()
            handle.write(array).result()
            value = ts.Spec(spec).to_json()
        node = written
        for part in key[:-1]:
            node = node.setdefault(part, {})
        node[key[-1]] = value
    payload = serialization.msgpack_serialize({"version": VERSION, "optimizer": written})
    _epath(_join(folder, CHECKPOINT_FILE)).write_bytes(payload)
    return folder
