"""The device mesh and the logical-axis rules that map the model's names onto it.

Every parameter and key activation of `flanjax.model` carries logical axis names (`embed`,
`mlp`, `heads`, `kv`, `joined_kv`, `vocab`, `relpos_buckets`, `layers`; activations `batch`,
`length`, ...). A rules table maps each name to a mesh axis (`data` or `model`) or to None
(replicated). Data parallelism, FSDP, tensor parallelism and their 2-D combination are then
a change of rules, not of code (as in T5X's `standard_logical_axis_rules`):

    preset          batch   embed   mlp/heads/joined_kv/vocab   what is sharded
    data_parallel   data    -       -                           the batch only
    fsdp            data    data    -                           + params/opt state over data
    tensor_parallel data    -       model                       + params/activations over model
    fsdp_tp         data    data    model                       both (2-D)

flax resolves each array's names left to right and never uses a mesh axis twice in one
array, so under `fsdp` an activation `(batch, length, embed)` stays `(data, None, None)`
while a kernel `(embed, mlp)` becomes `(data, None)`.

The optimizer state is sharded like the parameter it belongs to: Adafactor's factored
row/column statistics take the parameter's spec with the factored-away dimension dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Mapping, Optional, Sequence

import flax.linen as nn
import jax
import numpy as np
from jax.experimental import mesh_utils
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec
from optax._src import factorized

MESH_AXES = ("data", "model")
# Multi-slice runs add an outer mesh axis across slices (over the data-center network,
# DCN, ~10x slower than the chips' ICI links): pure data parallelism there, as MaxText's
# `dcn_data_parallelism` and `mesh_utils.create_hybrid_device_mesh` arrange it. Only the
# batch is split over it; FSDP and tensor parallelism stay inside a slice.
DCN_AXIS = "slice"
Rules = tuple[tuple[str, Any], ...]

# Names of the model's parameter axes that are never sharded in any preset.
_ALWAYS_REPLICATED = (("kv", None), ("relpos_buckets", None), ("layers", None), ("length", None))

LOGICAL_RULES: dict[str, Rules] = {
    "data_parallel": (
        ("batch", "data"),
        ("embed", None),
        ("mlp", None),
        ("heads", None),
        ("joined_kv", None),
        ("vocab", None),
        *_ALWAYS_REPLICATED,
    ),
    "fsdp": (
        ("batch", "data"),
        ("embed", "data"),
        ("mlp", None),
        ("heads", None),
        ("joined_kv", None),
        ("vocab", None),
        *_ALWAYS_REPLICATED,
    ),
    "tensor_parallel": (
        ("batch", "data"),
        ("embed", None),
        ("mlp", "model"),
        ("heads", "model"),
        ("joined_kv", "model"),
        ("vocab", "model"),
        *_ALWAYS_REPLICATED,
    ),
    "fsdp_tp": (
        ("batch", "data"),
        ("embed", "data"),
        ("mlp", "model"),
        ("heads", "model"),
        ("joined_kv", "model"),
        ("vocab", "model"),
        *_ALWAYS_REPLICATED,
    ),
}


def get_rules(rules: str | Sequence[tuple[str, Any]]) -> Rules:
    """A preset by name, or an explicit rules table passed through."""
    if isinstance(rules, str):
        if rules not in LOGICAL_RULES:
            raise ValueError(f"Unknown logical rules preset {rules!r}; known: {sorted(LOGICAL_RULES)}")
        return LOGICAL_RULES[rules]
    return tuple((name, axis) for name, axis in rules)


def resolve_mesh_shape(shape: Sequence[int], num_devices: int) -> tuple[int, ...]:
    """Replaces one -1 by "the rest of the devices"; checks the product.

    `(-1, 1)` is pure data parallelism, `(-1, 8)` 8-way model parallelism (T5X's
    `num_partitions=8`) with the remaining devices for data.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) != len(MESH_AXES):
        raise ValueError(f"mesh shape {shape} must have {len(MESH_AXES)} entries {MESH_AXES}")
    if shape.count(-1) > 1:
        raise ValueError(f"mesh shape {shape}: at most one size may be -1")
    known = math.prod(s for s in shape if s != -1)
    if known <= 0 or num_devices % known:
        raise ValueError(f"mesh shape {shape} does not divide the {num_devices} devices")
    shape = tuple(num_devices // known if s == -1 else s for s in shape)
    if math.prod(shape) != num_devices:
        raise ValueError(
            f"mesh shape {shape} uses {math.prod(shape)} devices but {num_devices} are "
            "available; set one size to -1 to use the rest"
        )
    return shape


def make_mesh(
    shape: Sequence[int] = (-1, 1), devices: Sequence[Any] | None = None, num_slices: int = 1
) -> Mesh:
    """A (data, model) mesh over all processes' devices, with Auto axis types.

    Auto axes let XLA propagate shardings from the inputs and the model's
    `with_logical_constraint` annotations (the T5X model; `jax.make_mesh` defaults to
    Explicit axes in this jax). With `num_slices > 1` the mesh is (slice, data, model):
    `shape` is one slice's, and each slice's devices (by `slice_index`) fill one row.
    """
    devices = list(jax.devices() if devices is None else devices)
    if num_slices > 1:
        return _multi_slice_mesh(shape, devices, num_slices)
    resolved = resolve_mesh_shape(shape, len(devices))
    axis_types = (AxisType.Auto,) * len(MESH_AXES)
    if devices == list(jax.devices()):
        return jax.make_mesh(resolved, MESH_AXES, axis_types=axis_types)
    if devices[0].platform == "tpu":  # an AOT topology: order by the chips' torus
        try:
            grid = mesh_utils.create_device_mesh(resolved, devices, allow_split_physical_axes=True)
        except (ValueError, NotImplementedError):  # a shape the torus helper cannot map
            grid = np.array(devices).reshape(resolved)
        return Mesh(grid, MESH_AXES, axis_types=axis_types)
    return Mesh(np.array(devices).reshape(resolved), MESH_AXES, axis_types=axis_types)


def _multi_slice_mesh(shape: Sequence[int], devices: Sequence[Any], num_slices: int) -> Mesh:
    if len(devices) % num_slices:
        raise ValueError(f"{len(devices)} devices do not split into {num_slices} slices")
    resolved = resolve_mesh_shape(shape, len(devices) // num_slices)
    axes = (DCN_AXIS,) + MESH_AXES
    axis_types = (AxisType.Auto,) * len(axes)
    grid = None
    if all(getattr(d, "slice_index", None) is not None for d in devices):
        try:
            grid = mesh_utils.create_hybrid_device_mesh(
                (1,) + resolved, (num_slices,) + (1,) * len(resolved), devices,
                allow_split_physical_axes=True,
            )  # [slice, data, model]
        except (ValueError, NotImplementedError):  # a shape the torus helper cannot map
            devices = sorted(devices, key=lambda d: (d.slice_index, d.id))
    if grid is None:  # no torus order (or no slice ids: CPU tests): a slice's devices a row
        grid = np.array(devices).reshape((num_slices,) + resolved)
    return Mesh(grid, axes, axis_types=axis_types)


def rules_for_mesh(rules: Rules, mesh: Any) -> Rules:
    """On a multi-slice mesh the batch is split over the slices too (outermost)."""
    if DCN_AXIS not in mesh.axis_names:
        return rules
    out = []
    for name, axes in rules:
        if name == "batch":
            inner = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
            axes = (DCN_AXIS,) + tuple(a for a in inner if a != DCN_AXIS)
        out.append((name, axes))
    return tuple(out)


def check_batch_split(global_batch: int, data_parallel: int, num_microbatches: int = 1) -> None:
    """The one rule `flanjax.train` and `flanjax.plan` apply: the global batch splits evenly
    over the data-parallel devices, and each device's share over the microbatches."""
    ways = data_parallel * max(num_microbatches, 1)
    if global_batch % ways:
        raise ValueError(
            f"BATCH_SIZE {global_batch} does not split over data-parallel size {data_parallel} x "
            f"num_microbatches {max(num_microbatches, 1)} = {ways} ways; use a multiple of {ways} "
            f"(e.g. {max(ways, global_batch // ways * ways)} or {(global_batch // ways + 1) * ways})"
        )


def mesh_axis_size(mesh: Any, axis: str) -> int:
    """Size of `axis` of a Mesh, an AbstractMesh or anything with axis_names/axis_sizes."""
    return dict(zip(mesh.axis_names, mesh.axis_sizes))[axis]


def data_parallel_size(mesh: Any, rules: Rules) -> int:
    """How many ways the batch dimension is split (the mesh axes `batch` maps to)."""
    spec = nn.logical_to_mesh_axes(("batch",), rules)
    axes = spec[0]
    if axes is None:
        return 1
    axes = (axes,) if isinstance(axes, str) else tuple(axes)
    return math.prod(mesh_axis_size(mesh, a) for a in axes)


# -- specs ------------------------------------------------------------------------------


def param_specs(boxed_params: Any, rules: Rules) -> Any:
    """PartitionSpec tree of the parameters, from their `nn.LogicallyPartitioned` names."""
    logical = nn.get_partition_spec(boxed_params)
    return nn.logical_to_mesh(logical, rules)


def _drop(spec: PartitionSpec, ndim: int, axis: int) -> PartitionSpec:
    entries = list(spec) + [None] * (ndim - len(spec))
    del entries[axis]
    return PartitionSpec(*entries)


def opt_state_specs(
    opt_state_shapes: Any, params_shapes: Any, params_specs: Any, *, min_dim_size_to_factor: int = 128
) -> Any:
    """PartitionSpecs of an optax state, following the parameters.

    Any sub-tree with the structure of the parameters is matched leaf by leaf: a leaf of the
    parameter's shape takes its spec; Adafactor's factored `v_row`/`v_col` take it with the
    factored dimension removed; anything else (counters, `(1,)` placeholders) is replicated.
    """
    pdef = jax.tree.structure(params_shapes)
    pshapes = jax.tree.leaves(params_shapes)
    pspecs = jax.tree.leaves(params_specs, is_leaf=lambda x: isinstance(x, PartitionSpec))

    def like_params(tree: Any, drop: str | None = None) -> Any:
        leaves = jax.tree.leaves(tree)
        out = []
        for leaf, pshape, spec in zip(leaves, pshapes, pspecs):
            shape = tuple(pshape.shape)
            if tuple(leaf.shape) == shape and drop is None:
                out.append(spec)
                continue
            dims = factorized._factored_dims(shape, True, min_dim_size_to_factor)
            if drop is not None and dims is not None and len(leaf.shape) == len(shape) - 1:
                d1, d0 = dims
                out.append(_drop(spec, len(shape), d0 if drop == "row" else d1))
            elif tuple(leaf.shape) == shape:
                out.append(spec)
            else:
                out.append(PartitionSpec())
        return jax.tree.unflatten(pdef, out)

    def is_params_like(x: Any) -> bool:
        if isinstance(x, factorized.FactoredState):
            return True
        try:
            return jax.tree.structure(x) == pdef
        except Exception:  # pylint: disable=broad-except
            return False

    def convert(x: Any) -> Any:
        if isinstance(x, factorized.FactoredState):
            return factorized.FactoredState(
                count=PartitionSpec(),
                v_row=like_params(x.v_row, "row"),
                v_col=like_params(x.v_col, "col"),
                v=like_params(x.v),
            )
        if is_params_like(x) and jax.tree.leaves(x):
            return like_params(x)
        return PartitionSpec()

    return jax.tree.map(convert, opt_state_shapes, is_leaf=is_params_like)


def batch_spec(rules: Rules, ndim: int = 2) -> PartitionSpec:
    """[batch, length, ...] arrays: the batch dimension over the data axes."""
    names = ("batch", "length") + (None,) * (ndim - 2)
    return nn.logical_to_mesh_axes(names[:ndim], rules)


def named(mesh: Mesh, specs: Any) -> Any:
    """PartitionSpec tree -> NamedSharding tree."""
    return jax.tree.map(
        lambda s: NamedSharding(mesh, s), specs, is_leaf=lambda x: isinstance(x, PartitionSpec)
    )


def batch_shardings(mesh: Mesh, rules: Rules, batch_shapes: Mapping[str, Any]) -> dict[str, NamedSharding]:
    return {k: NamedSharding(mesh, batch_spec(rules, len(v.shape))) for k, v in batch_shapes.items()}


def shard_bytes(shape: Sequence[int], itemsize: int, spec: PartitionSpec, mesh_sizes: Mapping[str, int]) -> int:
    """Bytes one device holds of an array of `shape` laid out by `spec`."""
    entries = list(spec) + [None] * (len(shape) - len(spec))
    n = itemsize
    for dim, axes in zip(shape, entries):
        if axes is None:
            n *= dim
            continue
        axes = (axes,) if isinstance(axes, str) else tuple(axes)
        n *= -(-dim // math.prod(mesh_sizes[a] for a in axes))
    return n


# -- a mesh with its rules, shared by train, evaluation and inference -------------------------
def mesh_context(mesh: Mesh, rules: Any) -> contextlib.ExitStack:
    """The mesh and the logical-axis rules in context, as every compiled call needs them."""
    stack = contextlib.ExitStack()
    stack.enter_context(jax.set_mesh(mesh))
    stack.enter_context(nn.logical_axis_rules(rules))
    return stack


@dataclasses.dataclass(frozen=True)
class MeshRules:
    """A device mesh with its logical-axis rules: what train, evaluation and inference share.

    `context()` puts both in effect (the model's sharding constraints resolve);
    `param_shardings` / `place_params` give parameters their partitioned shardings.
    Evaluation passes one as `mesh=` (`flanjax.evaluation.batching.EvalMesh` is this class);
    the trainer enters the same context (`mesh_context`).
    """

    mesh: Any  # jax.sharding.Mesh with axes ("data", "model")
    rules: tuple[tuple[str, Any], ...]
    rules_name: str = "custom"  # the preset's name, for reports

    @property
    def data_parallel_size(self) -> int:

        return data_parallel_size(self.mesh, self.rules)

    @property
    def shape(self) -> dict[str, int]:
        return dict(zip(self.mesh.axis_names, self.mesh.axis_sizes))

    def context(self) -> contextlib.ExitStack:
        """Mesh + rules in context (as `Trainer.context`): the model's constraints resolve."""

        return mesh_context(self.mesh, self.rules)

    def param_shardings(self, config: Any) -> Any:
        """NamedSharding tree of `config`'s parameters: logical names -> mesh, by the rules."""
        from flanjax.model import abstract_params  # pylint: disable=g-import-not-at-top


        specs = param_specs(abstract_params(config, boxed=True), self.rules)
        return named(self.mesh, specs)

    def place_params(self, config: Any, params: Any) -> Any:
        """Parameters (host or device arrays) placed with their partitioned shardings.

        As `Trainer.state_from_params`: `jax.device_put` of the full value, which every
        process holds (a loaded checkpoint); each device keeps only its shard.
        """

        shardings = self.param_shardings(config)
        return jax.tree.map(
            lambda p, sh: p if isinstance(p, jax.Array) and p.sharding == sh else jax.device_put(p, sh),
            params,
            shardings,
        )

    def describe(self) -> str:
        shape = ", ".join(f"{k} {v}" for k, v in self.shape.items())
        return f"mesh ({shape}), data-parallel {self.data_parallel_size}"


def make_mesh_rules(
    mesh_shape: Sequence[int] = (-1, 1),
    logical_rules: Any = "data_parallel",
    devices: Optional[Sequence[Any]] = None,
) -> "MeshRules":
    """The trainer's `(data, model)` mesh over all processes' devices, and a rules preset.

    `mesh_shape` takes one -1 ("the rest of the devices"); a shape that does not fit the
    device count is a ValueError naming both (`resolve_mesh_shape`).
    """

    rules = get_rules(logical_rules)
    name = logical_rules if isinstance(logical_rules, str) else "custom"
    return MeshRules(make_mesh(mesh_shape, devices), rules, name)
