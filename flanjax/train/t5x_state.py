"""T5X's Adafactor state <-> flanjax's `AdafactorState`, parameter by parameter.

`convert --from_t5x` turns the state `read_t5x_adafactor_state` reads into the state
`flanjax.train.adafactor.Adafactor` (T5X's defaults, bound to the model's logical axis
names) keeps for the imported config; `convert --to_t5x` turns a run's state back into the
per-parameter slots `t5x/adafactor.py` restores (`_AdafactorParamState`: v_row, v_col, v, m).

Which axes each side factored:
  * T5X's, read off its state: a factored parameter's `v_row` is its shape without the
    column dims and `v_col` without the row dims (`Adafactor.init_param_state`). For the 2-D
    matrices of `t5x/examples/t5/network.py` the heuristic (`_factored_dims`) picks row =
    the second largest dim, column = the largest (the first dim is the row on a tie), and
    that is what T5X writes on export. Attention kernels are `[embed, joined_kv]` /
    `[joined_kv, embed]`, flanjax's `[embed, heads, kv]` / `[heads, kv, embed]` reshaped.
  * flanjax's, from the parameters' logical axis names (`adafactor.factoring`).
Both give the same decision for every parameter of T5X's T5 with T5X's defaults (same
matrix, same rule). Where they differ (a checkpoint trained with other Adafactor settings,
or a flanjax run with `factored=False` / another `min_dim_size_to_factor`):
  * rows and columns swapped (e.g. the joined heads*kv axis the row on one side, embed on
    the other): the statistics are relabelled, v_row <-> v_col. Exact: both estimate the
    second moment as v_row (x) v_col / mean, and mean(v_row) = mean(v_col) = the mean of
    all the squared gradients (each is a running mean of the same numbers);
  * a full `v` where the other side factors: v_row / v_col are recomputed as its means over
    the column / row dims (exact for the same reason: the means of running means);
  * factored statistics where the other side needs a full `v`: refused
    (`OptimizerStateMismatch`, naming the parameter): row and column means do not give back
    the full array.
The recomputations are returned as notes, which the command prints.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import numpy as np

from flanjax.convert.hf import _flatten, _set, stack_layers, unstack_layers
from flanjax.convert.t5x import T5XAdafactorState, initial_adafactor_slots
from flanjax.convert.t5x_files import T5XCheckpointError
from flanjax.model import T5Config, abstract_params
from flanjax.train.adafactor import Adafactor, AdafactorState, Factoring

_FIELDS = ("v_row", "v_col", "v", "m")
_ATTENTION = ("attention", "self_attention", "encoder_decoder_attention")


class OptimizerStateMismatch(T5XCheckpointError):
    """The two sides' Adafactor statistics for a parameter cannot be converted (one line)."""


def flanjax_optimizer(config: T5Config, *, momentum: bool = False) -> tuple[Adafactor, Any]:
    """T5X's Adafactor as flanjax builds it for `config` (bound to its logical axis names),
    and the abstract parameters it is bound for."""
    boxed = abstract_params(config, boxed=True)
    tx = Adafactor(learning_rate=0.0, beta1=0.9 if momentum else None).bind(nn.get_partition_spec(boxed))
    return tx, nn.meta.unbox(boxed)


def _groups(path: tuple[str, ...], ndim: int) -> list[tuple[int, ...]]:
    """flanjax axes (of its per-layer parameter) behind each T5X dim (t5/network.py layout)."""
    if len(path) >= 3 and path[-3] in _ATTENTION and path[-1] == "kernel":
        return [(0,), (1, 2)] if path[-2] != "out" else [(0, 1), (2,)]
    return [(i,) for i in range(ndim)]


def _t5x_factoring(name: str, slots: dict[str, np.ndarray], shape: tuple[int, ...]) -> tuple | None:
    """(row dims, column dims) T5X factored `name` (of T5X shape `shape`) by, read off its
    state's shapes; None when it kept a full `v`. For a square matrix T5X's heuristic makes
    the first dim the row (`np.argsort` keeps ties in order)."""
    if "v_row" not in slots and "v_col" not in slots:
        if "v" not in slots or tuple(slots["v"].shape) != shape:
            raise OptimizerStateMismatch(
                f"T5X parameter {name} {shape}: its Adafactor state has neither v_row / v_col nor a "
                f"full v (has {sorted((k, tuple(a.shape)) for k, a in slots.items())})")
        return None
    dims = range(len(shape))
    splits = [((r,), tuple(d for d in dims if d != r)) for r in dims] if len(shape) <= 2 else []
    for rows, cols in splits:
        if (tuple(np.delete(shape, cols)) == tuple(slots.get("v_row", np.zeros(0)).shape)
                and tuple(np.delete(shape, rows)) == tuple(slots.get("v_col", np.zeros(0)).shape)):
            return rows, cols
    raise OptimizerStateMismatch(
        f"T5X parameter {name} {shape}: Adafactor v_row {tuple(slots.get('v_row', np.zeros(0)).shape)} and "
        f"v_col {tuple(slots.get('v_col', np.zeros(0)).shape)} are not a factoring of a matrix "
        "(rank > 2 parameters come from scalable_t5, whose state flanjax does not read)")


def _facts(tx: Adafactor, params: Any) -> dict[tuple[str, ...], Factoring]:
    facts = jax.tree.leaves(tx.factorings(params), is_leaf=lambda x: isinstance(x, Factoring))
    return dict(zip(_flatten(params).keys(), facts))


def _names(f: Factoring, shape: tuple[int, ...]) -> str:
    return f"rows {[shape[i] for i in f.rows]} x columns {[shape[i] for i in f.cols]}"


def _convert(name: str, src: dict[str, np.ndarray], src_f: Factoring, dst_f: Factoring,
             shape: tuple[int, ...], src_side: str, dst_side: str, notes: list[str]) -> dict[str, np.ndarray]:
    """One parameter's v_row / v_col / v from `src_f`'s factoring to `dst_f`'s, both given as
    axes of the parameter in flanjax's per-layer `shape`. Returns only the slots `dst_f` uses."""
    if dst_f.factored and src_f.factored:
        if (set(src_f.rows), set(src_f.cols)) == (set(dst_f.rows), set(dst_f.cols)):
            vr, vc = src["v_row"], src["v_col"]
        elif (set(src_f.rows), set(src_f.cols)) == (set(dst_f.cols), set(dst_f.rows)):
            vr, vc = src["v_col"], src["v_row"]
            notes.append(f"{name}: {src_side} factored it as {_names(src_f, shape)}, {dst_side} as "
                         f"{_names(dst_f, shape)}: v_row and v_col relabelled (the same estimate)")
        else:
            raise OptimizerStateMismatch(
                f"parameter {name} {shape}: {src_side} factored it as {_names(src_f, shape)}, {dst_side} "
                f"as {_names(dst_f, shape)}; no exact conversion")
        return {"v_row": vr.reshape(dst_f.row_shape(shape)), "v_col": vc.reshape(dst_f.col_shape(shape))}
    if dst_f.factored:  # a full v on the source side: its means are the factored statistics
        v = src["v"].reshape(shape).astype(np.float64)
        notes.append(f"{name}: {src_side} kept a full second moment, {dst_side} factors it as "
                     f"{_names(dst_f, shape)}: v_row / v_col recomputed as its means")
        return {"v_row": v.mean(axis=dst_f.cols).astype(np.float32),
                "v_col": v.mean(axis=dst_f.rows).astype(np.float32)}
    if src_f.factored:
        raise OptimizerStateMismatch(
            f"parameter {name} {shape}: {src_side} kept factored Adafactor statistics "
            f"({_names(src_f, shape)}) where {dst_side} keeps a full second moment; the full array "
            "cannot be recovered from its row and column means")
    return {"v": src["v"].reshape(shape)}


def _layout(trees: dict[str, Any], config: T5Config, expected: AdafactorState) -> AdafactorState:
    """Per-layer state trees -> `config`'s layout; placeholders stay (1,) under scan."""
    if config.scan_layers:
        trees = {k: stack_layers(t, config) for k, t in trees.items()}
    out = {}
    for field in _FIELDS:
        want = getattr(expected, field)
        out[field] = jax.tree.map(lambda a, w: np.zeros((1,), np.float32) if tuple(w.shape) == (1,)
                                  else np.asarray(a, np.float32), trees[field], want)
    return AdafactorState(count=np.asarray(0, np.int32), **out)


def from_t5x(state: T5XAdafactorState, config: T5Config) -> tuple[AdafactorState, list[str]]:
    """T5X's Adafactor state -> the `AdafactorState` flanjax's Adafactor keeps for `config`
    (count = T5X's step), and the notes of what was recomputed. Raises
    `OptimizerStateMismatch` naming the first parameter that cannot be converted."""
    if state.layout != "per_layer":
        raise OptimizerStateMismatch(
            "the checkpoint is scanned (scalable_t5): its Adafactor state keeps one relative-position "
            "table's statistics per layer and its own axis order; flanjax reads the state of "
            "t5x/examples/t5/network.py checkpoints only")
    with_m = {p for p, s in state.slots.items() if "m" in s}
    if with_m and len(with_m) != len(state.slots):
        raise OptimizerStateMismatch(f"T5X parameter {sorted(set(state.slots) - with_m)[0]} has no momentum m "
                                     f"where {sorted(with_m)[0]} has one")
    per_layer = config.replace(scan_layers=False)
    tx, params = flanjax_optimizer(per_layer, momentum=bool(with_m))
    facts = _facts(tx, params)
    extra = sorted(set(state.slots) - {"/".join(p) for p in facts})
    if extra:
        raise OptimizerStateMismatch(f"T5X Adafactor state for {extra[0]}, a parameter flanjax's T5 does not have")
    trees: dict[str, Any] = {k: {} for k in _FIELDS}
    notes: list[str] = []
    for path, f in facts.items():
        name, shape = "/".join(path), tuple(_flatten(params)[path].shape)
        slots = state.slots.get(name)
        if not slots:
            raise OptimizerStateMismatch(f"T5X checkpoint has no Adafactor state for parameter {name}")
        groups = _groups(path, len(shape))
        t5x_shape = tuple(math.prod(shape[i] for i in g) for g in groups)
        if state.param_shapes.get(name) != t5x_shape:
            raise OptimizerStateMismatch(f"T5X parameter {name} has shape {state.param_shapes.get(name)}, "
                                         f"flanjax's {shape} joins to {t5x_shape}")
        t5x = _t5x_factoring(name, slots, t5x_shape)
        src = Factoring(f.averaging) if t5x is None else Factoring(
            f.averaging, rows=sum((groups[d] for d in t5x[0]), ()), cols=sum((groups[d] for d in t5x[1]), ()))
        got = _convert(name, slots, src, f, shape, "T5X", "flanjax", notes)
        for field in _FIELDS:
            value = got.get(field, np.zeros((1,), np.float32))
            if field == "m" and with_m:
                value = slots["m"].reshape(shape)
            _set(trees[field], path, np.asarray(value, np.float32))
    expected = jax.eval_shape(flanjax_optimizer(config, momentum=bool(with_m))[0].init, abstract_params(config))
    out = _layout(trees, config, expected)
    return out._replace(count=np.asarray(state.step, np.int32)), notes


def to_t5x(opt_state: Any, config: T5Config) -> tuple[dict[str, Any], list[str]]:
    """A flanjax run's `AdafactorState` (or its saved dict) -> T5X `param_states` (the
    t5/network.py tree of {v_row, v_col, v, m}, in the shapes T5X's Adafactor with its
    defaults keeps; momentum only when the run has it), and the notes of what was recomputed."""
    get = (lambda k: opt_state[k]) if isinstance(opt_state, dict) else (lambda k: getattr(opt_state, k))
    trees = {k: jax.tree.map(np.asarray, get(k)) for k in _FIELDS}
    if config.scan_layers:
        trees = {k: unstack_layers(_broadcast_placeholders(t, config), config) for k, t in trees.items()}
    per_layer = config.replace(scan_layers=False)
    tx, abstract = flanjax_optimizer(per_layer)
    facts = _facts(tx, abstract)
    flat = {k: _flatten(t) for k, t in trees.items()}
    param_states: dict[str, Any] = {}
    notes: list[str] = []
    for path, f in facts.items():
        name, shape = "/".join(path), tuple(_flatten(abstract)[path].shape)
        groups = _groups(path, len(shape))
        t5x_shape = tuple(math.prod(shape[i] for i in g) for g in groups)
        slots = {k: flat[k][path] for k in _FIELDS if path in flat[k] and tuple(flat[k][path].shape) != (1,)}
        ours = _run_factoring(name, slots, f, shape)
        init = initial_adafactor_slots(t5x_shape)
        t5x = _t5x_factoring(name, {k: a for k, a in init.items() if a.shape != (1,)}, t5x_shape)
        theirs = Factoring(f.averaging) if t5x is None else Factoring(
            f.averaging, rows=sum((groups[d] for d in t5x[0]), ()), cols=sum((groups[d] for d in t5x[1]), ()))
        got = _convert(name, slots, ours, theirs, shape, "flanjax", "T5X", notes)
        out = dict(init)
        for k, a in got.items():
            out[k] = np.ascontiguousarray(a.reshape(init[k].shape), np.float32)
        if "m" in slots:
            out["m"] = np.ascontiguousarray(slots["m"].reshape(t5x_shape), np.float32)
        _set(param_states, path, out)
    return param_states, notes


def _run_factoring(name: str, slots: dict[str, np.ndarray], f: Factoring, shape: tuple[int, ...]) -> Factoring:
    """The factoring a run's state for one (per-layer) parameter holds: T5X's defaults' `f`,
    its transpose, or none (a full v), read off the shapes of v_row / v_col / v."""
    if "v_row" not in slots and tuple(slots.get("v", np.zeros(0)).shape) == shape:
        return Factoring(f.averaging)
    for rows, cols in ((f.rows, f.cols), (f.cols, f.rows)):
        g = Factoring(f.averaging, rows, cols)
        if g.factored and (tuple(slots.get("v_row", np.zeros(0)).shape), tuple(slots.get("v_col", np.zeros(0)).shape)) \
                == (g.row_shape(shape), g.col_shape(shape)):
            return g
    raise OptimizerStateMismatch(
        f"the run's Adafactor state for {name} {shape} has {sorted((k, a.shape) for k, a in slots.items())}: "
        f"neither a full v nor the factoring {_names(f, shape) if f.factored else '(none)'} T5X's defaults give")


def _broadcast_placeholders(tree: Any, config: T5Config) -> Any:
    """Stacked layer leaves that are (1,) placeholders -> one (1,) per layer, for unstacking."""
    out = dict(tree)
    for stack, n in (("encoder", config.num_encoder_layers), ("decoder", config.num_decoder_layers)):
        sub = dict(out[stack])
        sub["layers"] = jax.tree.map(lambda a, n=n: np.zeros((n, 1), np.float32) if a.shape == (1,) else a,
                                     sub["layers"])
        out[stack] = sub
    return out
