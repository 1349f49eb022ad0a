"""T5X's Adafactor, step for step, factored by logical axis names.

The reference is `t5x/adafactor.py` (`Adafactor`) as `t5x/examples/t5/t5_1_1/base.gin`
configures it for T5 v1.1 and Flan-T5: `decay_rate = 0.8`, `step_offset = 0`,
`logical_factor_rules = standard_logical_factor_rules()`, and the constructor's other
defaults (`epsilon1 = 1e-30`, `epsilon2 = 1e-3`, `clipping_threshold = 1.0`,
`multiply_by_parameter_scale = True`, `beta1 = None`: no momentum,
`min_dim_size_to_factor = 128`). Per parameter and step t (T5X's `state.step`, which
continues from the initial checkpoint when fine-tuning):

    decay = 1 - (t - step_offset + 1) ** -decay_rate          (`_decay_rate_pow`)
    g2 = g * g + epsilon1
    factored:   v_row = decay v_row + (1 - decay) mean(g2 over the column dims)
                v_col = decay v_col + (1 - decay) mean(g2 over the row dims)
                y = g * (v_row / mean(v_row over the row dims)) ** -0.5 * v_col ** -0.5
    otherwise:  v = decay v + (1 - decay) g2;  y = g * v ** -0.5
    y /= max(1, RMS(y) / clipping_threshold)
    param -= learning_rate(t) * max(RMS(param), epsilon2) * y

with the RMS of the update and of the parameter taken over every dimension except the
batch-like ones.

Which dimensions are rows and columns. T5X's T5 (`t5x/examples/t5/layers.py`) stores every
parameter as at most a matrix: attention kernels are `[embed, heads * kv]` ("joined_kv")
and `[heads * kv, embed]`, the gated MLP's `wi_0`/`wi_1` are two `[embed, mlp]` kernels.
For such parameters `Adafactor._parse_rule` falls back to its heuristic whatever the
logical rules say: factor when both dimensions reach `min_dim_size_to_factor`, the smaller
dimension (the first one on a tie) being the row, whose statistics `v_row` keeps. flanjax
stores the same numbers in other layouts: attention kernels 3-D (`[embed, heads, kv]`,
`[heads, kv, embed]`), and, with `scan_layers`, every layer parameter with a leading
`layers` axis. Here each parameter is brought back to T5X's matrix by its logical axis
names and `standard_logical_factor_rules`: axes whose rule is BATCH (`layers`, `stack`)
are batch axes (one independent Adafactor per slice: its own factoring, clipping and
parameter scale, as T5X's scanned models do), the ROW axes form one matrix dimension,
the COLUMN axes another (so `heads` and `kv` together are T5X's `joined_kv`), and each
unfactorable (NONE) axis one dimension; T5X's heuristic then decides on that matrix. The
factored statistics keep the surviving axes: `v_row` of a query kernel is `[embed]`,
its `v_col` is `[heads, kv]` (T5X's `[joined_kv]`, reshaped), and under scan both carry
`layers` in front.

Why a transformation of its own rather than `optax.adafactor` on reshaped arrays: optax's
factored rule (`optax._src.factorized`) looks at the two largest dimensions of whatever
array it is given, so it would need every 3-D kernel reshaped to T5X's matrix and every
scanned parameter split into per-layer slices (a `vmap` over `layers`) inside the train
step, with its state in the reshaped layout; the state would then no longer carry the
parameters' logical axes, which is what shards it (`Trainer`: the row statistics of an
FSDP-sharded kernel are sharded like its `embed` axis). Written out here, the arithmetic
is T5X's own, in its order, on the arrays as they are stored, and the state layout is
T5X's (`v_row`, `v_col`, `v`, `m`, with `(1,)` placeholders where unused).

A T5X difference kept on purpose: T5X's scanned models (`scalable_t5`) give 3-D params an
explicit rule (ROW = embed, COLUMN = the rest, no size threshold); here a scanned layer is
factored exactly as T5X's unscanned T5 (the network the Flan-T5 checkpoints were trained
with) factors that layer. At every published size both choose the same factored axes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

BATCH, ROW, COLUMN, NONE = "batch", "row", "column", "none"

# t5x/adafactor.py `standard_logical_factor_rules`, for the names flanjax parameters use
# (and T5X's other parameter names, so that a model using them factors as T5X's would).
FACTOR_RULES: Mapping[str, str] = {
    "vocab": COLUMN,
    "embed": ROW,
    "mlp": COLUMN,
    "heads": COLUMN,
    "kv": COLUMN,
    "joined_kv": COLUMN,
    "relpos_buckets": NONE,
    "layers": BATCH,  # scanned layers
    "stack": BATCH,  # stacked params
    "q_wi_fused": COLUMN,
    "o_wo_fused": COLUMN,
    "multiquery_heads": COLUMN,
    "kv_fused": COLUMN,
    "layer_norm_scale": NONE,
    "mlp_activations": COLUMN,
}

Schedule = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class Factoring:
    """How one parameter is treated (axis indices of the stored array).

    `rows` / `cols`: T5X's `d1` / `d0` of the factored estimator (`v_row` keeps the row
    axes and averages over the column axes; `v_col` the reverse); both empty when the
    parameter keeps a full `v`. `averaging`: the axes the update clipping and parameter
    scale average over (all but the batch axes).
    """

    averaging: tuple[int, ...]
    rows: tuple[int, ...] = ()
    cols: tuple[int, ...] = ()

    @property
    def factored(self) -> bool:
        return bool(self.rows) and bool(self.cols)

    def row_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(n for i, n in enumerate(shape) if i not in self.cols)

    def col_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(n for i, n in enumerate(shape) if i not in self.rows)


def factoring(
    names: Sequence[str | None] | None,
    shape: Sequence[int],
    *,
    factored: bool = True,
    min_dim_size_to_factor: int = 128,
    path: str = "parameter",
) -> Factoring:
    """T5X's decision for one parameter, from its logical axis names (see the module doc).

    `names` None: no logical names (T5X without factor rules): the array itself must be a
    scalar, vector or matrix, and is one."""
    shape = tuple(int(n) for n in shape)
    ndim = len(shape)
    if names is None:
        if ndim > 2:
            raise ValueError(
                f"{path} {shape}: a parameter of rank > 2 needs logical axis names to be factored "
                "as T5X does (bind the optimizer to the parameters' nn.get_partition_spec)"
            )
        names = ("embed",) * ndim if ndim < 2 else ("embed", "mlp")
    names = tuple(names)
    if len(names) != ndim:
        raise ValueError(f"{path}: {len(names)} logical axis names {names} for an array of shape {shape}")
    kinds = []
    for name in names:
        if name not in FACTOR_RULES:
            raise ValueError(
                f"{path}: logical axis {name!r} has no Adafactor factor rule; known: {sorted(FACTOR_RULES)}"
            )
        kinds.append(FACTOR_RULES[name])
    batch = tuple(i for i, k in enumerate(kinds) if k == BATCH)
    averaging = tuple(i for i in range(ndim) if i not in batch)
    # The per-slice matrix: all ROW axes are one dimension, all COLUMN axes another, each
    # NONE axis one of its own; ordered by where each first appears (T5X's storage order).
    groups: list[tuple[int, ...]] = []
    for kind in (ROW, COLUMN):
        axes = tuple(i for i, k in enumerate(kinds) if k == kind)
        if axes:
            groups.append(axes)
    groups += [(i,) for i, k in enumerate(kinds) if k == NONE]
    groups.sort(key=lambda g: g[0])
    if len(groups) > 2:
        raise ValueError(
            f"{path} {shape} {names}: more than two matrix dimensions per slice; T5X factors "
            "scalars, vectors and matrices (give the extra axes a BATCH or a shared ROW/COLUMN name)"
        )
    if not factored or len(groups) < 2:
        return Factoring(averaging)
    sizes = [math.prod(shape[i] for i in g) for g in groups]
    # Adafactor._factored_dims: argsort of the sizes; the second largest must reach the
    # threshold; it is the row (d1), the largest the column (d0); ties keep storage order.
    order = np.argsort(sizes, kind="stable")
    if sizes[order[-2]] < min_dim_size_to_factor:
        return Factoring(averaging)
    return Factoring(averaging, rows=groups[order[-2]], cols=groups[order[-1]])


class AdafactorState(NamedTuple):
    """T5X's `OptimizerState.step` and `param_states`, one tree like the params per field."""

    count: jax.Array  # int32 scalar: the step the next update takes (T5X's `state.step`)
    v_row: Any  # factored: [param dims without the column dims]; else (1,) zeros
    v_col: Any  # factored: [param dims without the row dims]; else (1,) zeros
    v: Any  # unfactored: the param's shape; else (1,) zeros
    m: Any  # momentum (beta1 set): the param's shape; else (1,) zeros


def _placeholder() -> jax.Array:
    return jnp.zeros((1,), jnp.float32)  # T5X's `jnp.zeros((1,))` for unused state


def _path_str(path: Sequence[Any]) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)


def _names_of(spec: Any) -> tuple | None:
    if spec is None:
        return None
    return tuple(spec)


@dataclasses.dataclass(frozen=True)
class Adafactor:
    """T5X's Adafactor with its hyperparameters (`t5x/adafactor.py` `Adafactor.__init__`).

    Used like an optax `GradientTransformation` (`init`, `update`); `bind(param_axes)`
    gives it the parameters' logical axis names (`nn.get_partition_spec` of the boxed
    params), which the factoring follows. Unbound, every parameter must be at most a
    matrix (T5X's heuristic on the array as it is).
    """

    learning_rate: float | Schedule
    decay_rate: float = 0.8
    step_offset: int = 0
    clipping_threshold: float | None = 1.0
    multiply_by_parameter_scale: bool = True
    factored: bool = True
    min_dim_size_to_factor: int = 128
    beta1: float | None = None
    weight_decay_rate: float | None = None
    epsilon1: float = 1e-30
    epsilon2: float = 1e-3
    global_norm_clip_threshold: float | None = None
    param_axes: Any = None  # tree of PartitionSpec (logical names) like the params, or None

    def bind(self, param_axes: Any) -> "Adafactor":
        """This optimizer, factoring by `param_axes` (a tree of logical-name PartitionSpecs)."""
        return dataclasses.replace(self, param_axes=param_axes)

    # -- per-parameter decisions ------------------------------------------------------

    def _names(self) -> dict[str, tuple | None]:
        if self.param_axes is None:
            return {}
        flat = jax.tree_util.tree_flatten_with_path(
            self.param_axes, is_leaf=lambda x: isinstance(x, PartitionSpec) or x is None
        )[0]
        return {_path_str(p): _names_of(s) for p, s in flat}

    def factorings(self, params: Any) -> Any:
        """A tree like `params` of each parameter's `Factoring`."""
        names = self._names()

        def one(path: Any, p: Any) -> Factoring:
            key = _path_str(path)
            if self.param_axes is not None and key not in names:
                raise ValueError(f"no logical axis names for parameter {key}")
            return factoring(
                names.get(key), p.shape, factored=self.factored,
                min_dim_size_to_factor=self.min_dim_size_to_factor, path=key,
            )

        return jax.tree_util.tree_map_with_path(one, params)

    def _map(self, fn: Callable, params: Any, *rest: Any) -> Any:
        """`fn(factoring, param, *leaves)` over the params (Factoring is not a pytree node)."""
        facts = jax.tree.leaves(self.factorings(params), is_leaf=lambda x: isinstance(x, Factoring))
        leaves, treedef = jax.tree.flatten(params)
        rest_leaves = [treedef.flatten_up_to(r) for r in rest]
        out = [fn(f, p, *(r[i] for r in rest_leaves)) for i, (f, p) in enumerate(zip(facts, leaves))]
        return out, treedef

    # -- optax interface ----------------------------------------------------------------

    def init(self, params: Any) -> AdafactorState:
        def one(f: Factoring, p: Any) -> tuple:
            if f.factored:
                vr = jnp.zeros(f.row_shape(p.shape), jnp.float32)
                vc = jnp.zeros(f.col_shape(p.shape), jnp.float32)
                v = _placeholder()
            else:
                vr, vc, v = _placeholder(), _placeholder(), jnp.zeros(p.shape, jnp.float32)
            m = jnp.zeros(p.shape, jnp.float32) if self.beta1 is not None else _placeholder()
            return vr, vc, v, m

        out, treedef = self._map(one, params)
        fields = [jax.tree.unflatten(treedef, [o[i] for o in out]) for i in range(4)]
        return AdafactorState(jnp.zeros((), jnp.int32), *fields)

    def update(self, grads: Any, state: AdafactorState, params: Any = None) -> tuple[Any, AdafactorState]:
        if params is None:
            raise ValueError("T5X's Adafactor needs the parameters (parameter scale, factoring)")
        step = state.count
        lr = self.learning_rate(step) if callable(self.learning_rate) else self.learning_rate
        lr = jnp.asarray(lr, jnp.float32)
        t = (step - self.step_offset).astype(jnp.float32) + 1.0
        decay = 1.0 - t ** (-self.decay_rate)  # Adafactor._decay_rate_pow
        mixing = 1.0 - decay
        if self.global_norm_clip_threshold:
            thr = self.global_norm_clip_threshold
            norm = jnp.sqrt(jnp.sum(jnp.array([jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)])))
            scale = thr * jnp.minimum(1.0 / thr, 1.0 / norm)
            grads = jax.tree.map(lambda g: g * scale, grads)

        def one(f: Factoring, param, grad, vr, vc, v, m):
            grad = grad.astype(jnp.float32)
            update_scale = lr
            if self.multiply_by_parameter_scale:
                param_scale = jnp.sqrt(jnp.mean(param * param, axis=f.averaging, keepdims=True))
                update_scale = update_scale * jnp.maximum(param_scale, self.epsilon2)
            grad_sqr = grad * grad + self.epsilon1
            if f.factored:
                d1, d0 = f.rows, f.cols
                vr = decay * vr + mixing * jnp.mean(grad_sqr, axis=d0)
                vc = decay * vc + mixing * jnp.mean(grad_sqr, axis=d1)
                reduced_d1 = tuple(d - len([e for e in d0 if e < d]) for d in d1)
                row_col_mean = jnp.mean(vr, axis=reduced_d1, keepdims=True)
                row_factor = (vr / row_col_mean) ** -0.5
                col_factor = vc ** -0.5
                y = grad * jnp.expand_dims(row_factor, axis=d0) * jnp.expand_dims(col_factor, axis=d1)
            else:
                v = decay * v + mixing * grad_sqr
                y = grad * v ** -0.5
            if self.clipping_threshold is not None:
                rms = jnp.sqrt(jnp.mean(y * y, axis=f.averaging, keepdims=True))
                y = y / jnp.maximum(1.0, rms / self.clipping_threshold)
            subtrahend = update_scale * y
            if self.beta1 is not None:
                m = self.beta1 * m + (1.0 - self.beta1) * subtrahend
                subtrahend = m
            update = -subtrahend
            if self.weight_decay_rate is not None:
                update = update - self.weight_decay_rate * param
            return update, vr, vc, v, m

        out, treedef = self._map(one, params, grads, state.v_row, state.v_col, state.v, state.m)
        fields = [jax.tree.unflatten(treedef, [o[i] for o in out]) for i in range(5)]
        return fields[0], AdafactorState(step + 1, *fields[1:])

    # -- sharding -------------------------------------------------------------------------

    def state_axes(self, params: Any) -> AdafactorState:
        """Logical axis names of the state (PartitionSpecs, for `nn.logical_to_mesh`):
        `v` and `m` take the parameter's names, `v_row` / `v_col` its names without the
        column / row axes; placeholders and the count are replicated."""
        names = self._names()
        facts = jax.tree.leaves(self.factorings(params), is_leaf=lambda x: isinstance(x, Factoring))
        flat, treedef = jax.tree_util.tree_flatten_with_path(params)
        vr, vc, v, m = [], [], [], []
        for f, (path, p) in zip(facts, flat):
            full = names.get(_path_str(path)) or (None,) * len(p.shape)
            keep = lambda drop: PartitionSpec(*(n for i, n in enumerate(full) if i not in drop))  # noqa: E731
            vr.append(keep(f.cols) if f.factored else PartitionSpec())
            vc.append(keep(f.rows) if f.factored else PartitionSpec())
            v.append(PartitionSpec() if f.factored else PartitionSpec(*full))
            m.append(PartitionSpec(*full) if self.beta1 is not None else PartitionSpec())
        trees = [jax.tree.unflatten(treedef, x) for x in (vr, vc, v, m)]
        return AdafactorState(PartitionSpec(), *trees)


def set_count(opt_state: Any, step: Any) -> Any:
    """`opt_state` with every `AdafactorState.count` set to `step` (the initial step)."""

    def fix(x: Any) -> Any:
        if isinstance(x, AdafactorState):
            return x._replace(count=jnp.asarray(step, jnp.int32))
        return x

    return jax.tree.map(fix, opt_state, is_leaf=lambda x: isinstance(x, AdafactorState))
