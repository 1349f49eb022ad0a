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
import dataclasses
from typing import Any, Iterator, Optional, Sequence

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


@dataclasses.dataclass(frozen=True)
class EvalMesh:
    """A device mesh and logical-axis rules for evaluation (the trainer's, reused).

    Build one with `make_eval_mesh`; pass it as `mesh=` to `ranking.rank_classify`,
    `generation.decode` (or enter `context()` around `heldout.evaluate`), with parameters
    placed by `place_params`.
    """

    mesh: Any  # jax.sharding.Mesh with axes ("data", "model")
    rules: tuple[tuple[str, Any], ...]
    rules_name: str = "custom"  # the preset's name, for reports

    @property
    def data_parallel_size(self) -> int:
        from flanjax import partitioning  # pylint: disable=g-import-not-at-top

        return partitioning.data_parallel_size(self.mesh, self.rules)

    @property
    def shape(self) -> dict[str, int]:
        return dict(zip(self.mesh.axis_names, self.mesh.axis_sizes))

    def context(self) -> contextlib.ExitStack:
        """Mesh + rules in context (as `Trainer.context`): the model's constraints resolve."""
        import flax.linen as nn  # pylint: disable=g-import-not-at-top
        import jax  # pylint: disable=g-import-not-at-top

        stack = contextlib.ExitStack()
        stack.enter_context(jax.set_mesh(self.mesh))
        stack.enter_context(nn.logical_axis_rules(self.rules))
        return stack

    def param_shardings(self, config: Any) -> Any:
        """NamedSharding tree of `config`'s parameters: logical names -> mesh, by the rules."""
        from flanjax.model import abstract_params  # pylint: disable=g-import-not-at-top
        from flanjax import partitioning  # pylint: disable=g-import-not-at-top

        specs = partitioning.param_specs(abstract_params(config, boxed=True), self.rules)
        return partitioning.named(self.mesh, specs)

    def place_params(self, config: Any, params: Any) -> Any:
        """Parameters (host or device arrays) placed with their partitioned shardings.

        As `Trainer.state_from_params`: `jax.device_put` of the full value, which every
        process holds (a loaded checkpoint); each device keeps only its shard.
        """
        import jax  # pylint: disable=g-import-not-at-top

        shardings = self.param_shardings(config)
        return jax.tree.map(
            lambda p, sh: p if isinstance(p, jax.Array) and p.sharding == sh else jax.device_put(p, sh),
            params,
            shardings,
        )

    def describe(self) -> str:
        shape = ", ".join(f"{k} {v}" for k, v in self.shape.items())
        return f"mesh ({shape}), data-parallel {self.data_parallel_size}"


def make_eval_mesh(
    mesh_shape: Sequence[int] = (-1, 1),
    logical_rules: Any = "data_parallel",
    devices: Optional[Sequence[Any]] = None,
) -> EvalMesh:
    """The trainer's `(data, model)` mesh over all processes' devices, and a rules preset.

    `mesh_shape` takes one -1 ("the rest of the devices"); a shape that does not fit the
    device count is a ValueError naming both (`partitioning.resolve_mesh_shape`).
    """
    from flanjax import partitioning  # pylint: disable=g-import-not-at-top

    rules = partitioning.get_rules(logical_rules)
    name = logical_rules if isinstance(logical_rules, str) else "custom"
    return EvalMesh(partitioning.make_mesh(mesh_shape, devices), rules, name)


def active_data_parallel_size() -> int:
    """How many ways the batch is split by the mesh and rules in context (1 if none).

    Lets `heldout.evaluate` run sharded inside `EvalMesh.context()` without being told.
    """
    import flax.linen as nn  # pylint: disable=g-import-not-at-top
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax import partitioning  # pylint: disable=g-import-not-at-top

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
