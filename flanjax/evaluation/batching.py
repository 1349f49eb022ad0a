"""Batches for the compiled scoring and decoding calls, and the mesh they run on.

Padding. Lengths are rounded up to a bucket so that a whole evaluation compiles a handful
of programs, not one per batch; the last batch is padded with empty rows (dropped after).

Sharded evaluation. `EvalMesh` runs evaluation on a `jax.sharding.Mesh` as training does
(T5X's partitioner, `flanjax.partitioning`): the same `(data, model)` mesh and the
same logical-axis rules presets (`data_parallel`, `fsdp`, `tensor_parallel`, `fsdp_tp`);
the parameters are placed with the `NamedSharding`s derived from the model's logical axis
names (`Trainer.param_shardings`), the batch dimension of every eval batch goes over the
data axes, rounded up to a multiple of the data-parallel size with empty rows that are
dropped after, and the model's calls run inside the mesh and rules context, where its
`with_logical_constraint` annotations lay the activations out (XLA inserts the
collectives; nothing here communicates by hand).

`flanjax.model.score_options` and `generate` check token ids on the host before their own
`jax.jit`, so an eval batch enters them as one host array (the whole global batch, the
same on every process: eval examples are read unshuffled and unsharded on every host) and
the compiled program splits it along `data`. Their results are data-sharded global arrays;
`to_host` brings them back, over `multihost_utils.process_allgather` when a process does
not hold every shard (multi-host), so every process sees every score.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from flanjax import partitioning


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


def encoder_batches(
    examples: Sequence[Any], batch_size: int, data_parallel_size: int = 1
) -> Iterator[tuple[range, np.ndarray]]:
    """(rows, encoder tokens [rows_per_batch, width]) for consecutive batches of examples.

    Each example's `inputs` (token ids, EOS included) is right-padded to the batch's
    longest, bucketed to a multiple of 32; the batch is filled up to `rows_per_batch` with
    empty rows, whose results the caller drops (rows past `len(rows)`).
    """
    rows_total = rows_per_batch(batch_size, data_parallel_size)
    for rows in chunks(len(examples), batch_size):
        inputs = [examples[i]["inputs"] for i in rows]
        width = bucket(max(len(x) for x in inputs), 32)
        yield rows, pad_rows(inputs, width, rows_total)  # [batch, in_length]


def rows_per_batch(batch_size: int, data_parallel_size: int = 1) -> int:
    """The compiled batch: `batch_size` rounded up to a multiple of the data-parallel size.

    Every data shard then holds the same number of rows; the extra rows are empty and
    their results are dropped (an eval batch may be any size, unlike a training batch).
    """
    if batch_size < 1:
        raise ValueError(f"eval batch size must be positive, got {batch_size}")
    return bucket(batch_size, max(1, int(data_parallel_size)))


# -- the mesh ---------------------------------------------------------------------------
# Evaluation runs on the trainer's mesh and rules: `flanjax.partitioning.MeshRules` (the
# names below are kept for the evaluation code and its callers).
EvalMesh = partitioning.MeshRules
make_eval_mesh = partitioning.make_mesh_rules


def active_data_parallel_size() -> int:
    """How many ways the batch is split by the mesh and rules in context (1 if none).

    Lets `heldout.evaluate` run sharded inside `EvalMesh.context()` without being told.
    """
    import flax.linen as nn  # pylint: disable=g-import-not-at-top
    import jax  # pylint: disable=g-import-not-at-top

    mesh = jax.sharding.get_abstract_mesh()
    rules = nn.get_logical_axis_rules()
    if mesh is None or mesh.empty or not rules or "data" not in mesh.axis_names:
        return 1
    return partitioning.data_parallel_size(mesh, tuple(rules))


@contextlib.contextmanager
def mesh_scope(mesh: Optional[EvalMesh]) -> Iterator[int]:
    """Enters `mesh`'s context if one is given; yields the data-parallel size in effect."""
    if mesh is None:
        yield active_data_parallel_size()
        return
    with mesh.context():
        yield mesh.data_parallel_size


def to_host(tree: Any) -> Any:
    """Device results -> numpy, gathering across processes where this one lacks shards."""
    import jax  # pylint: disable=g-import-not-at-top

    def fetch(x: Any) -> np.ndarray:
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(fetch, tree)
