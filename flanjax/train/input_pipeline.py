"""Host-local seqio input, assembled into global batches for the sharded train step.

Each process (host) reads its own shard of the seqio dataset,
`seqio.ShardInfo(jax.process_index(), jax.process_count())`, batches it to
`global_batch_size / process_count` rows and hands those rows to
`jax.make_array_from_process_local_data`, which places them on the process's devices as
that process's part of the global `[global_batch, length]` array.

Deterministic resume. The training stream is a pure function of (seed, step): a seqio
dataset with `shuffle=True, seed=seed, num_epochs=None` (the seeded shuffle, mixture
sampling and packing are deterministic; `tf.data` determinism is forced on), batched, then
`skip(step)` batches. A run resumed from a checkpoint at step k therefore consumes exactly
the batches an uninterrupted run would consume from step k on. The price is that resuming
re-reads k batches (seconds for the demo; minutes for ~100k steps of a large mixture, which
is still small next to a pod restart). `tf.data` iterator checkpoints would avoid the skip
but would store shuffle buffers in every checkpoint and tie checkpoints to the host count.
"""

from __future__ import annotations

import os

from typing import Any, Iterable, Iterator, Mapping

import jax
import numpy as np
from jax.sharding import NamedSharding

import seqio
import tensorflow as tf

HostBatch = Mapping[str, np.ndarray]


def check_batch_size(
    global_batch_size: int, *, process_count: int, data_parallel_size: int, num_microbatches: int = 1
) -> int:
    """Returns the per-process batch size, or raises a ValueError that says how to fix it."""
    if global_batch_size <= 0:
        raise ValueError(f"BATCH_SIZE must be positive, got {global_batch_size}")
    needed = np.lcm.reduce([process_count, data_parallel_size * num_microbatches])
    if global_batch_size % needed:
        lower = global_batch_size // needed * needed
        upper = lower + needed
        raise ValueError(
            f"BATCH_SIZE={global_batch_size} must be divisible by the number of processes "
            f"({process_count}) and by data-parallel size x microbatches "
            f"({data_parallel_size} x {num_microbatches}), i.e. by {needed}: use "
            f"--gin.BATCH_SIZE={upper}" + (f" or {lower}" if lower else "")
            + ", or change the mesh (partitioning) or num_microbatches."
        )
    return global_batch_size // process_count


# seqio's EncDecFeatureConverter (packed) gives each row 3 int32 encoder features (tokens,
# segment ids, positions) and 5 decoder ones (targets, inputs, loss weights, segment ids,
# positions): 4 x (3 x inputs + 5 x targets) bytes a row.
_ENCODER_FEATURES, _DECODER_FEATURES, _BYTES = 3, 5, 4


def host_memory_bytes() -> int | None:
    """This host's physical memory (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_host_batch_memory(
    host_batch_size: int, task_feature_lengths: Mapping[str, int], *, memory: int | None = None,
    fraction: float = 0.5,
) -> int:
    """Refuses a batch whose features alone take more than `fraction` of the host's memory
    (before tf.data tries to allocate them: minutes of silence, then a TF traceback, or the
    OOM killer); returns the bytes one host batch takes."""
    inputs, targets = int(task_feature_lengths["inputs"]), int(task_feature_lengths["targets"])
    row = _BYTES * (_ENCODER_FEATURES * inputs + _DECODER_FEATURES * targets)
    need = host_batch_size * row
    memory = host_memory_bytes() if memory is None else memory
    if memory and need > fraction * memory:
        raise ValueError(
            f"one batch of BATCH_SIZE rows ({host_batch_size} on this host) x TASK_FEATURE_LENGTHS "
            f"{{'inputs': {inputs}, 'targets': {targets}}} takes {need / 2**30:,.1f} GiB of int32 "
            f"features ({row:,} bytes a row), more than {fraction:.0%} of this host's "
            f"{memory / 2**30:,.1f} GiB of memory; lower BATCH_SIZE or TASK_FEATURE_LENGTHS"
        )
    return need


def make_dataset(
    mixture_or_task_name: str,
    task_feature_lengths: Mapping[str, int],
    host_batch_size: int,
    *,
    split: str = "train",
    seed: int = 0,
    shuffle: bool = True,
    num_epochs: int | None = None,
    pack: bool = True,
    shard_info: seqio.ShardInfo | None = None,
    use_cached: bool = False,
) -> tf.data.Dataset:
    """This process's batches: dicts of [host_batch, length] int32 features (EncDec)."""
    from flanjax.data import mixtures  # registers every task and mixture

    mixtures.get_mixture_or_task(mixture_or_task_name)  # a clear error for unknown names
    if mixture_or_task_name.startswith("demo"):
        # The bundled offline datasets are generated on first use (seconds). Processes that
        # share a disk should run it once beforehand (`flanjax.data.bundled.ensure_prepared`).
        from flanjax.data.bundled import ensure_prepared

        ensure_prepared()
    if shard_info is None:
        shard_info = seqio.ShardInfo(jax.process_index(), jax.process_count())
    # Which tasks read seqio's offline cache (USE_CACHED_TASKS): checked against each
    # task's fingerprint, and said in the first log line; a missing or stale cache fails.
    from flanjax.data import cache, packing

    cache.check_cached(mixture_or_task_name, split, use_cached)
    ds = seqio.get_dataset(
        mixture_or_task_name,
        task_feature_lengths=dict(task_feature_lengths),
        dataset_split=split,
        shuffle=shuffle,
        seed=seed,
        num_epochs=num_epochs,
        use_cached=use_cached,
        shard_info=shard_info,
        # seqio's EncDecFeatureConverter, its packing done in numpy (same rows, faster).
        feature_converter=packing.EncDecFeatureConverter(pack=pack),
    )
    ds = ds.batch(host_batch_size, drop_remainder=True)
    options = tf.data.Options()
    options.deterministic = True
    return ds.with_options(options)


def batch_shapes(ds: tf.data.Dataset, global_batch_size: int) -> dict[str, jax.ShapeDtypeStruct]:
    """Global shapes of the features of a batched host dataset."""
    return {
        k: jax.ShapeDtypeStruct((global_batch_size,) + tuple(spec.shape[1:]), np.int32)
        for k, spec in ds.element_spec.items()
    }


def to_global(
    host_batch: HostBatch, shardings: Mapping[str, NamedSharding], global_batch_size: int
) -> dict[str, jax.Array]:
    """One process's rows -> global arrays laid out by `shardings`."""
    out = {}
    for k, sharding in shardings.items():
        local = np.asarray(host_batch[k], np.int32)
        global_shape = (global_batch_size,) + local.shape[1:]
        out[k] = jax.make_array_from_process_local_data(sharding, local, global_shape)
    return out


def global_batches(
    host_batches: Iterable[HostBatch], shardings: Mapping[str, NamedSharding], global_batch_size: int
) -> Iterator[dict[str, jax.Array]]:
    for host_batch in host_batches:
        yield to_global(host_batch, shardings, global_batch_size)


def train_host_batches(ds: tf.data.Dataset, start_step: int) -> Iterator[dict[str, np.ndarray]]:
    """The (seed, step)-determined stream from `start_step` on, as numpy dicts."""
    return ds.skip(start_step).prefetch(2).as_numpy_iterator()


def first_batches(ds: tf.data.Dataset, num_batches: int) -> list[dict[str, Any]]:
    """The first `num_batches` batches in host memory (a fixed validation set)."""
    return list(ds.take(num_batches).as_numpy_iterator())
