"""flanjax's Adafactor is T5X's (`t5x/adafactor.py` as `t5x/examples/t5/t5_1_1/base.gin` sets it up).

The references are written here from T5X's code and docstrings, not from flanjax:
- `_t5x_update`: `Adafactor.apply_param_gradient` in numpy float64, on T5X's own layout of
  a parameter (`t5x/examples/t5/layers.py`: attention kernels `[embed, heads * kv]` and
  `[heads * kv, embed]`, one array per layer);
- `_t5x_rule`: the factoring T5X gives such an array. With `standard_logical_factor_rules`,
  `_parse_rule` falls back to the heuristic for every parameter of rank <= 2 without batch
  axes, and `_factored_dims` factors iff the smaller of the two dimensions reaches
  `min_dim_size_to_factor` (128); the smaller is the row `d1`, the larger the column `d0`
  (np.argsort: on a tie the first is the row); `v_row` drops `d0`, `v_col` drops `d1`.
"""

import json
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from flanjax.convert.hf import stack_layers, unstack_layers
from flanjax.model import T5Config, abstract_params
from flanjax.train import optimizers
from _train_helpers import run_python


def _t5x_rule(shape):
    """(factored, row dim d1, column dim d0) of a T5X parameter (a vector or a matrix)."""
    if len(shape) < 2 or min(shape) < 128:
        return False, None, None
    row = 0 if shape[0] <= shape[1] else 1
    return True, row, 1 - row


def _t5x_update(p, g, s, step, lr, *, step_offset=0, decay_rate=0.8, eps1=1e-30, eps2=1e-3, clip=1.0):
    """One T5X Adafactor update of one T5X-layout array (float64); `s` holds its state."""
    p, g = p.astype(np.float64), g.astype(np.float64)
    # `_decay_rate_pow` computes in float32 (`jnp.array(i, jnp.float32) + 1.0`): near step 1e6
    # 1 - decay carries float32's rounding, which is T5X's second-moment mixing rate.
    decay = np.float32(1.0) - (np.float32(step - step_offset) + np.float32(1.0)) ** np.float32(-decay_rate)
    decay = float(decay)
    scale = lr * max(np.sqrt(np.mean(p * p)), eps2)
    g2 = g * g + eps1
    factored, d1, d0 = _t5x_rule(p.shape)
    if factored:
        s["v_row"] = decay * s.get("v_row", 0.0) + (1 - decay) * g2.mean(axis=d0)
        s["v_col"] = decay * s.get("v_col", 0.0) + (1 - decay) * g2.mean(axis=d1)
        row_factor = (s["v_row"] / s["v_row"].mean()) ** -0.5
        y = g * np.expand_dims(row_factor, d0) * np.expand_dims(s["v_col"] ** -0.5, d1)
    else:
        s["v"] = decay * s.get("v", 0.0) + (1 - decay) * g2
        y = g / np.sqrt(s["v"])
    rms = np.sqrt(np.mean(y * y))
    s["clipped"] = s.get("clipped", False) or rms > clip
    y = y / max(1.0, rms / clip)
    return -scale * y


# flanjax arrays (logical names, shape) -> T5X's per-layer arrays and back.
PARAMS = {
    "query": (("embed", "heads", "kv"), (256, 4, 48)),  # T5X [256, 192]: row = joined_kv
    "out": (("heads", "kv", "embed"), (4, 48, 256)),  # T5X [192, 256]
    "tie": (("embed", "heads", "kv"), (256, 2, 128)),  # T5X [256, 256]: row = embed
    "wi": (("layers", "embed", "mlp"), (3, 256, 384)),  # scanned: 3 x [256, 384]
    "norm": (("layers", "embed"), (3, 256)),  # scanned layer norm: 3 x [256]
    "rel": (("heads", "relpos_buckets"), (4, 32)),  # unfactored (4 < 128)
    "emb": (("vocab", "embed"), (320, 256)),  # factored, row = embed
    "small": (("embed", "mlp"), (64, 128)),  # unfactored (64 < 128)
}


def _to_t5x(name, a):
    """The list of T5X arrays (one per layer) holding flanjax array `a`."""
    if name in ("query", "tie"):
        return [a.reshape(a.shape[0], -1)]
    if name == "out":
        return [a.reshape(-1, a.shape[-1])]
    if name in ("wi", "norm"):
        return list(a)
    return [a]


def _from_t5x(name, arrays, shape):
    if name in ("wi", "norm"):
        return np.stack(arrays)
    return arrays[0].reshape(shape)


def _data(seed, steps):
    rng = np.random.default_rng(seed)
    params = {k: rng.standard_normal(shape).astype(np.float32) for k, (_, shape) in PARAMS.items()}
    params["wi"] *= np.array([0.1, 1.0, 5.0], np.float32)[:, None, None]  # per-layer RMS differs
    params["norm"] *= np.array([0.5, 2.0, 8.0], np.float32)[:, None]
    grads = []
    for t in range(steps):
        g = {}
        for k, (_, shape) in PARAMS.items():
            # column scales over 2 decades and 10^t overall: clipping and factoring both matter
            x = rng.standard_normal(shape) * rng.uniform(0.05, 5.0, size=shape[-1:]) * 10.0**t
            if k in ("wi", "norm"):
                x = x * np.array([1.0, 30.0, 1e-3]).reshape((3,) + (1,) * (len(shape) - 1))
            g[k] = x.astype(np.float32)
        grads.append(g)
    return params, grads


def _ours(params, grads, *, start, **knobs):
    axes = {k: P(*names) for k, (names, _) in PARAMS.items()}
    tx = optimizers.make_optimizer(0.05, **knobs).bind(axes)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    state = optimizers.adafactor.set_count(tx.init(p), start)
    update = jax.jit(tx.update)
    out = []
    for g in grads:
        u, state = update({k: jnp.asarray(v) for k, v in g.items()}, state, p)
        p = jax.tree.map(lambda a, b: a + b, p, u)
        out.append({k: np.asarray(v) for k, v in u.items()})
    return out, state


def _reference(params, grads, *, start, step_offset=0):
    p = {k: [x.astype(np.float64) for x in _to_t5x(k, v)] for k, v in params.items()}
    states = {k: [{} for _ in p[k]] for k in p}
    out = []
    for t, g in enumerate(grads):
        step = {}
        for k, (_, shape) in PARAMS.items():
            us = [_t5x_update(pp, gg, s, start + t, 0.05, step_offset=step_offset)
                  for pp, gg, s in zip(p[k], _to_t5x(k, g[k]), states[k])]
            p[k] = [pp + u for pp, u in zip(p[k], us)]
            step[k] = _from_t5x(k, us, shape)
        out.append(step)
    return out, states


@pytest.mark.parametrize("start,step_offset", [(0, 0), (1_100_000, 0), (1_100_000, 1_099_998)])
def test_updates_are_t5x_numpy_step_for_step(start, step_offset):
    """Five steps from a fresh state whose count is `start` (fine-tuning continues the
    checkpoint's step): factored 3-D attention kernels, scanned MLP kernels and norms per
    layer, unfactored small arrays, clipping and parameter scale, all as T5X's."""
    params, grads = _data(0, 5)
    ours, state = _ours(params, grads, start=start, step_offset=step_offset)
    ref, ref_states = _reference(params, grads, start=start, step_offset=step_offset)
    for t, (a, b) in enumerate(zip(ours, ref)):
        for k in b:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5 * np.abs(b[k]).max(),
                                       err_msg=f"step {t + 1} {k}")
    assert int(state.count) == start + 5
    # The reference clipped some factored and some unfactored update (else untested).
    assert any(s["clipped"] for s in ref_states["query"] + ref_states["wi"])
    assert any(s["clipped"] for s in ref_states["rel"] + ref_states["norm"])
    # The second moments are T5X's too (the decay follows the continued step count).
    np.testing.assert_allclose(np.asarray(state.v_col["query"]), ref_states["query"][0]["v_col"], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(state.v_row["query"]).reshape(-1), ref_states["query"][0]["v_row"],
                               rtol=1e-4)
    np.testing.assert_allclose(np.asarray(state.v_row["wi"]), np.stack([s["v_row"] for s in ref_states["wi"]]),
                               rtol=1e-4)


def test_continuing_the_step_changes_the_updates():
    """From an empty state at step 1,100,000 the decay is ~1 (0.43 at step 1): the second
    update is another one than a run counting from 0 takes."""
    params, grads = _data(1, 2)
    at_0, _ = _ours(params, grads, start=0)
    at_1m, _ = _ours(params, grads, start=1_100_000)
    for k in ("query", "wi", "rel"):
        assert not np.allclose(at_0[1][k], at_1m[1][k], rtol=1e-3), k


# -- the factoring of every parameter of every published size -------------------------

def _t5x_layout(path, config):
    """T5X's logical names and shape (one layer) for a flanjax parameter path."""
    dims = {"vocab": config.vocab_size, "embed": config.d_model, "mlp": config.d_ff,
            "joined_kv": config.num_heads * config.d_kv, "heads": config.num_heads,
            "relpos_buckets": config.relative_attention_num_buckets}
    if path[-1] == "embedding":
        names = ("vocab", "embed")
    elif path[-2] == "logits_dense":
        names = ("embed", "vocab")
    elif path[-2] in ("query", "key", "value"):
        names = ("embed", "joined_kv")
    elif path[-2] == "out":
        names = ("joined_kv", "embed")
    elif path[-2] in ("wi_0", "wi_1"):
        names = ("embed", "mlp")
    elif path[-2] == "wo":
        names = ("mlp", "embed")
    elif path[-1] == "scale":
        names = ("embed",)
    elif path[-1] == "rel_embedding":
        names = ("heads", "relpos_buckets")
    else:
        raise AssertionError(f"no T5X layout for {path}")
    return names, tuple(dims[n] for n in names)


def _as_t5x_names(names):
    names = tuple(n for n in names if n != "layers")
    return tuple(n for n in " ".join(names).replace("heads kv", "joined_kv").split())


@pytest.mark.parametrize("scan", [False, True])
@pytest.mark.parametrize("size", ["small", "base", "large", "xl", "xxl"])
def test_factoring_of_every_parameter_is_t5xs(size, scan):
    config = T5Config.t5_1_1(size, scan_layers=scan)
    boxed = abstract_params(config, boxed=True)
    params = nn.meta.unbox(boxed)
    tx = optimizers.make_optimizer(1e-3).bind(nn.get_partition_spec(boxed))
    state = jax.eval_shape(tx.init, params)
    axes = tx.state_axes(params)
    is_spec = lambda x: isinstance(x, P)  # noqa: E731
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    leaves = {f: jax.tree.leaves(getattr(state, f)) for f in ("v_row", "v_col", "v")}
    names = {f: jax.tree.leaves(getattr(axes, f), is_leaf=is_spec) for f in ("v_row", "v_col")}
    kinds_seen = set()
    for i, (path, p) in enumerate(flat):
        path = tuple(k.key for k in path)
        t5x_names, t5x_shape = _t5x_layout(path, config)
        factored, d1, d0 = _t5x_rule(t5x_shape)
        layers = p.shape[:1] if scan and "layers" in path else ()
        kinds_seen.add((path[-2] if path[-1] == "kernel" else path[-1], factored))
        if factored:
            want_row = tuple(n for j, n in enumerate(t5x_names) if j != d0)
            want_col = tuple(n for j, n in enumerate(t5x_names) if j != d1)
            assert _as_t5x_names(tuple(names["v_row"][i])) == want_row, (path, names["v_row"][i])
            assert _as_t5x_names(tuple(names["v_col"][i])) == want_col, (path, names["v_col"][i])
            assert leaves["v_row"][i].shape[:len(layers)] == layers
            assert math.prod(leaves["v_row"][i].shape) == math.prod(layers) * t5x_shape[d1]
            assert math.prod(leaves["v_col"][i].shape) == math.prod(layers) * t5x_shape[d0]
            assert leaves["v"][i].shape == (1,)
        else:
            assert leaves["v"][i].shape == p.shape, path
            assert leaves["v_row"][i].shape == leaves["v_col"][i].shape == (1,)
    # At every published size the attention and MLP kernels and the embeddings factor;
    # norms and the relative-position tables do not.
    assert {k for k, f in kinds_seen if f} == {"query", "key", "value", "out", "wi_0", "wi_1", "wo",
                                                "embedding", "logits_dense"}
    assert {k for k, f in kinds_seen if not f} == {"scale", "rel_embedding"}


# -- scanned and per-layer layouts -------------------------------------------------------

def test_scanned_layers_update_as_separate_layers():
    """Stacked for nn.scan or one subtree per layer: the same update for every layer (T5X's
    `layers` axis is a batch axis: per-layer factoring, clipping and parameter scale)."""
    per_layer = T5Config.tiny(vocab_size=256, d_model=128, d_kv=32, num_heads=4, d_ff=256, num_encoder_layers=3,
                              num_decoder_layers=2)
    scanned = per_layer.replace(scan_layers=True)
    rng = np.random.default_rng(0)
    shapes = abstract_params(per_layer)
    scales = iter(np.exp(rng.uniform(-4, 4, size=1000)))  # every array its own scale
    params = jax.tree.map(lambda a: (rng.standard_normal(a.shape) * next(scales)).astype(np.float32), shapes)
    grads = [jax.tree.map(lambda a: (rng.standard_normal(a.shape) * next(scales)).astype(np.float32), shapes)
             for _ in range(3)]

    def run(config, p, gs):
        boxed = abstract_params(config, boxed=True)
        tx = optimizers.make_optimizer(0.1).bind(nn.get_partition_spec(boxed))
        state, out = tx.init(p), []
        for g in gs:
            u, state = jax.jit(tx.update)(g, state, p)
            p = jax.tree.map(lambda a, b: a + b, p, u)
            out.append(u)
        return out

    flat = run(per_layer, params, grads)
    stacked = run(scanned, stack_layers(params, scanned), [stack_layers(g, scanned) for g in grads])
    for t, (a, b) in enumerate(zip(flat, stacked)):
        b = unstack_layers(jax.tree.map(np.asarray, b), scanned)
        for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b)):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7 * float(np.abs(x).max()),
                                       err_msg=f"step {t + 1} {jax.tree_util.keystr(path)}")


# -- sharded state ---------------------------------------------------------------------------

_SHARDING_SCRIPT = r"""
import json, jax, numpy as np
from flanjax import partitioning
from flanjax.train import optimizers
from flanjax.train.trainer import Trainer
from _train_helpers import random_batch, tiny_config
batch = random_batch(0)
shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batch.items()}
schedule = optimizers.make_schedule("constant", 1e-2)
out = {}
for scan in (False, True):
    config = tiny_config(d_model=128, d_kv=32, num_heads=4, d_ff=256, scan_layers=scan)
    init = None
    for shape, preset in [((1, 1), "data_parallel"), ((4, 2), "fsdp_tp")]:
        mesh = partitioning.make_mesh(shape, jax.devices()[: shape[0] * shape[1]])
        t = Trainer(config, optimizers.make_optimizer(schedule), schedule, mesh, preset, shapes)
        if init is None:
            init = jax.device_get(t.init_state(jax.random.key(0)))
        state = jax.device_put(init, t.state_shardings)
        b = {k: jax.device_put(v, t.batch_shardings[k]) for k, v in batch.items()}
        state, m = t.train_step(state, b, jax.random.key(1))
        layer = state.opt_state.v_row["encoder"]["layers" if scan else "layers_0"]
        col = state.opt_state.v_col["encoder"]["layers" if scan else "layers_0"]
        out[f"{scan}/{preset}"] = {
            "q_row": list(layer["attention"]["query"]["kernel"].sharding.spec),
            "q_col": list(col["attention"]["query"]["kernel"].sharding.spec),
            "wi_row": list(layer["mlp"]["wi_0"]["kernel"].sharding.spec),
            "wi_col": list(col["mlp"]["wi_0"]["kernel"].sharding.spec),
            "q_row_shape": list(layer["attention"]["query"]["kernel"].shape),
            "params": [float(np.asarray(x).sum()) for x in jax.tree.leaves(state.params)],
        }
print(json.dumps(out))
"""


def test_factored_state_is_sharded_by_the_axes_it_keeps():
    """8 CPU devices, FSDP + tensor parallel (embed -> data, heads/mlp -> model): a query
    kernel's v_row [embed] is sharded like embed, its v_col [heads, kv] like heads; the
    update equals one device's."""
    out = json.loads(run_python(_SHARDING_SCRIPT, devices=8).strip().splitlines()[-1])
    for scan, lead in (("False", []), ("True", [None])):  # `layers` is never sharded
        tp = out[f"{scan}/fsdp_tp"]
        assert tp["q_row"] == lead + ["data"], tp
        assert tp["q_col"] == lead + ["model", None], tp
        assert tp["wi_row"] == lead + ["data"], tp
        assert tp["wi_col"] == lead + ["model"], tp
        assert tp["q_row_shape"] == ([1] if scan == "True" else []) + [128]  # tiny_config: 1 layer
        np.testing.assert_allclose(tp["params"], out[f"{scan}/data_parallel"]["params"], rtol=1e-5)
