"""T5X's Adafactor state carried through `convert --from_t5x` / `--to_t5x` and fine-tuning.

The reference is `t5x/adafactor.py`, written out here in numpy: `init_param_state`'s slot
shapes (a matrix is factored when its second largest dim reaches 128; row = the second
largest, column = the largest, the first dim the row on a tie; v_row drops the column dim,
v_col the row dim) and `apply_param_gradient`'s step, on T5X's own 2-D parameters.
"""

import contextlib
import dataclasses
import functools
import io
import os

import jax
import numpy as np
import pytest
from _hf_t5 import make_hf_model
from _t5x_layout import read_t5x, t5x_target_from_hf, write_t5x
from jax.sharding import SingleDeviceSharding

from flanjax.checkpoints import OPT_DIR, load_flanjax_checkpoint
from flanjax.cli.convert import main as convert_main
from flanjax.convert.hf import unstack_layers
from flanjax.convert.t5x import load_t5x, read_t5x_adafactor_state, to_t5x_target
from flanjax.train import initial, t5x_state
from flanjax.train.trainer import TrainState

LR, STEP = 0.01, 1_100_000


def _cli(*args):
    """`python -m flanjax.convert ARGS` in this process (its stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert convert_main(list(args)) == 0
    return out.getvalue()


def _walk(tree, prefix=()):
    for k, v in tree.items():
        yield from _walk(v, prefix + (k,)) if isinstance(v, dict) else [(prefix + (k,), v)]


def _set(tree, path, value):
    for k in path[:-1]:
        tree = tree.setdefault(k, {})
    tree[path[-1]] = value


def _t5x_rule(shape):
    """t5x/adafactor.py `_factored_dims` by hand: (row, column) or None."""
    if len(shape) < 2 or sorted(shape)[-2] < 128:
        return None
    return (0, 1) if shape[0] <= shape[1] else (1, 0)


def _t5x_state(target, rng, swap=(), full=(), factor=()):
    """Nonzero T5X slots: by T5X's rule, or transposed (`swap`), full (`full`) or factored
    although T5X's rule keeps v (`factor`) for the named parameters."""
    states = {}
    for path, a in _walk(target):
        name = "/".join(path)
        rule = _t5x_rule(a.shape) if name not in full else None
        if name in factor:
            rule = (0, 1)
        if rule and name in swap:
            rule = rule[::-1]
        slots = {k: np.zeros(1, np.float32) for k in ("v_row", "v_col", "v", "m")}
        if rule:
            slots["v_row"] = (rng.random(np.delete(a.shape, rule[1])) + 0.1).astype(np.float32)
            slots["v_col"] = (rng.random(np.delete(a.shape, rule[0])) + 0.1).astype(np.float32)
        else:
            slots["v"] = (rng.random(a.shape) + 0.1).astype(np.float32) * 1e-3
        _set(states, path, slots)
    return states


def _numpy_t5x_step(param, slots, grad, step):
    """t5x/adafactor.py `apply_param_gradient` with base.gin's settings, one parameter."""
    param, grad = param.astype(np.float64), grad.astype(np.float64)
    # `_decay_rate_pow` in float32, as T5X computes it: at step 1.1M, 1 - decay = 1.4e-5 keeps
    # only 3 digits, and the step follows that rounded value.
    decay = np.float32(1.0) - (np.float32(step) + np.float32(1.0)) ** np.float32(-0.8)
    decay, mixing = np.float64(decay), np.float64(np.float32(1.0) - decay)
    scale = LR * max(np.sqrt(np.mean(param * param)), 1e-3)
    g2 = grad * grad + 1e-30
    if slots["v"].shape == param.shape:
        y = grad / np.sqrt(decay * slots["v"] + mixing * g2)
    else:
        r, c = (0, 1) if slots["v_row"].shape == (param.shape[0],) else (1, 0)
        if param.shape[0] == param.shape[1]:
            r, c = 0, 1
        vr = decay * slots["v_row"] + mixing * g2.mean(axis=c)
        vc = decay * slots["v_col"] + mixing * g2.mean(axis=r)
        y = grad * np.expand_dims((vr / vr.mean()) ** -0.5, c) * np.expand_dims(vc ** -0.5, r)
    y = y / max(1.0, np.sqrt(np.mean(y * y)))
    return param - scale * y


def _abstract_state(config):
    tx, params = t5x_state.flanjax_optimizer(config)
    sharding = SingleDeviceSharding(jax.devices()[0])
    tree = TrainState(step=jax.ShapeDtypeStruct((), np.int32), params=params, opt_state=jax.eval_shape(tx.init, params))
    return tx, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sharding), tree)


@pytest.mark.parametrize("scan", [False, True])
def test_from_t5x_restores_the_state_and_the_first_step_is_t5xs(scan, tmp_path):
    model = make_hf_model("adafactor_128", seed=31, redraw_std=0.05)
    target = t5x_target_from_hf(model)
    states = _t5x_state(target, np.random.default_rng(0))
    write_t5x(str(tmp_path / "t5x"), STEP, target, states)
    out = _cli("--from_t5x", str(tmp_path / "t5x"), "--out", str(tmp_path / "fj"), *(["--scan_layers"] if scan else []))
    assert "with its Adafactor state" in out and "not imported" not in out
    config, _ = load_flanjax_checkpoint(str(tmp_path / "fj"))
    tx, abstract = _abstract_state(config)
    start = initial.load(str(tmp_path / "fj"), config, abstract.params, abstract)
    assert start.opt_state is not None and start.why_no_opt_state == "" and start.step == STEP
    assert int(start.opt_state.count) == STEP

    # The restored statistics are T5X's, reshaped by hand (per layer; layer 0 under scan).
    opt = start.opt_state
    trees = {k: unstack_layers(getattr(opt, k), config) if scan else getattr(opt, k) for k in ("v_row", "v_col", "v")}
    enc = lambda k, *p: np.asarray(trees[k]["encoder"]["layers_0"]["attention"][p[0]]["kernel"])  # noqa: E731
    t5x_enc = states["encoder"]["layers_0"]["attention"]
    np.testing.assert_array_equal(enc("v_row", "query"), t5x_enc["query"]["kernel"]["v_row"])  # [embed]
    np.testing.assert_array_equal(enc("v_col", "query"), t5x_enc["query"]["kernel"]["v_col"].reshape(2, 64))
    # out [heads * kv, embed] = [128, 128]: T5X's tie makes the joined axis the row.
    np.testing.assert_array_equal(enc("v_row", "out"), t5x_enc["out"]["kernel"]["v_row"].reshape(2, 64))
    np.testing.assert_array_equal(enc("v_col", "out"), t5x_enc["out"]["kernel"]["v_col"])
    wi = np.asarray(trees["v"]["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"])  # [128, 96]: full v
    np.testing.assert_array_equal(wi, states["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]["v"])
    emb = states["token_embedder"]["embedding"]  # [256, 128]: row = embed (dim 1)
    np.testing.assert_array_equal(np.asarray(trees["v_row"]["token_embedder"]["embedding"]), emb["v_row"])

    # Fine-tuning's first step from it = T5X's step from the same state and gradient.
    grads = jax.tree.map(lambda a: np.random.default_rng(a.size).normal(size=a.shape).astype(np.float32), start.params)
    updates, _ = dataclasses.replace(tx, learning_rate=LR).update(grads, start.opt_state, start.params)
    new = to_t5x_target(config, jax.tree.map(lambda p, u: np.asarray(p) + np.asarray(u), start.params, updates))
    flat_grads = dict(_walk(to_t5x_target(config, grads)))
    flat_states = dict(_walk(states, ()))
    for path, param in _walk(target):
        slots = {k: flat_states[path + (k,)] for k in ("v_row", "v_col", "v")}
        expected = _numpy_t5x_step(param, slots, flat_grads[path], STEP)
        got = new
        for k in path:
            got = got[k]
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7, err_msg="/".join(path))


def test_other_factorings_are_recomputed_refused_or_named(tmp_path):
    model = make_hf_model("adafactor_128", seed=32)
    target = t5x_target_from_hf(model)
    q, wi = "encoder/layers_0/attention/query/kernel", "decoder/layers_0/mlp/wi_1/kernel"
    logits = "decoder/logits_dense/kernel"
    states = _t5x_state(target, np.random.default_rng(1), swap={logits}, full={q})
    write_t5x(str(tmp_path / "ok"), 5, target, states)
    config, _, _ = load_t5x(str(tmp_path / "ok"))
    opt, notes = t5x_state.from_t5x(read_t5x_adafactor_state(str(tmp_path / "ok")), config)
    # Full v where flanjax factors: its means over the columns / rows (heads, kv).
    v = states["encoder"]["layers_0"]["attention"]["query"]["kernel"]["v"].astype(np.float64)  # [128, 128]
    np.testing.assert_allclose(opt.v_row["encoder"]["layers_0"]["attention"]["query"]["kernel"], v.mean(1), rtol=1e-6)
    np.testing.assert_allclose(opt.v_col["encoder"]["layers_0"]["attention"]["query"]["kernel"],
                               v.mean(0).reshape(2, 64), rtol=1e-6)
    # [128, 256] factored with the vocab as the row: relabelled to flanjax's row = embed.
    swapped = states["decoder"]["logits_dense"]["kernel"]
    assert swapped["v_row"].shape == (256,)
    np.testing.assert_array_equal(opt.v_row["decoder"]["logits_dense"]["kernel"], swapped["v_col"])
    np.testing.assert_array_equal(opt.v_col["decoder"]["logits_dense"]["kernel"], swapped["v_row"])
    assert any(n.startswith(q) and "recomputed" in n for n in notes)
    assert any(n.startswith(logits) and "relabelled" in n for n in notes)

    # Factored where flanjax keeps a full v ([128, 96]): refused, naming the parameter.
    write_t5x(str(tmp_path / "bad"), 5, target, _t5x_state(target, np.random.default_rng(2), factor={wi}))
    with pytest.raises(t5x_state.OptimizerStateMismatch, match=f"parameter {wi} .*cannot be recovered"):
        t5x_state.from_t5x(read_t5x_adafactor_state(str(tmp_path / "bad")), config)
    out = _cli("--from_t5x", str(tmp_path / "bad"), "--out", str(tmp_path / "fj_bad"))
    assert f"optimizer state not imported: parameter {wi}" in out
    assert not os.path.exists(tmp_path / "fj_bad" / OPT_DIR)
    _, abstract = _abstract_state(config)
    start = initial.load(str(tmp_path / "fj_bad"), config, abstract.params, abstract)
    assert start.opt_state is None and "without optimizer state" in start.why_no_opt_state

    # A run whose optimizer state has another structure (scanned layers) is told why.
    _cli("--from_t5x", str(tmp_path / "ok"), "--out", str(tmp_path / "fj_ok"))
    scan = config.replace(scan_layers=True)
    _, abstract = _abstract_state(scan)
    start = initial.load(str(tmp_path / "fj_ok"), scan, abstract.params, abstract)
    assert start.opt_state is None
    assert "not this run's Adafactor state" in start.why_no_opt_state and "/layers" in start.why_no_opt_state


def test_run_to_t5x_and_back_keeps_the_optimizer_state(tmp_path):
    from _train_helpers import tiny_config

    from flanjax.data.bundled import ensure_prepared
    from flanjax.train import loop, optimizers

    ensure_prepared()
    run = str(tmp_path / "run")
    config = tiny_config(vocab_size=896, d_model=128, d_kv=64, num_heads=2, d_ff=96, scan_layers=True)
    result = loop.train(
        model_config=config, mixture_or_task_name="demo", task_feature_lengths={"inputs": 32, "targets": 8},
        batch_size=4, train_steps=2, model_dir=run, log_period=1, checkpoint_period=2, async_checkpointing=False,
        make_schedule=functools.partial(optimizers.make_schedule, "constant", 1e-2))
    saved = jax.tree.map(np.asarray, result.state.opt_state)
    assert float(np.abs(saved.v_row["encoder"]["layers"]["attention"]["query"]["kernel"]).max()) > 0

    _cli("--to_t5x", run, "--out", str(tmp_path / "t5x"))
    written = read_t5x(str(tmp_path / "t5x" / "checkpoint_2"))["state"]["param_states"]
    # T5X's layout, checked by hand: query [embed, heads * kv] factored, row = embed.
    query = written["encoder"]["layers_0"]["attention"]["query"]["kernel"]
    np.testing.assert_array_equal(query["v_row"][1], saved.v_row["encoder"]["layers"]["attention"]["query"]["kernel"][0])
    np.testing.assert_array_equal(query["v_col"][1],
                                  saved.v_col["encoder"]["layers"]["attention"]["query"]["kernel"][0].reshape(128))
    wo = written["decoder"]["layers_0"]["mlp"]["wo"]["kernel"]  # [96, 128]: full v, in zarr
    assert wo["v"][0] == "spec" and wo["v_row"][1].shape == (1,)
    np.testing.assert_array_equal(wo["v"][1], saved.v["decoder"]["layers"]["mlp"]["wo"]["kernel"][0])

    _cli("--from_t5x", str(tmp_path / "t5x"), "--out", str(tmp_path / "back"), "--scan_layers")
    _, abstract = _abstract_state(config)
    start = initial.load(str(tmp_path / "back"), config, abstract.params, abstract)
    assert start.step == 2 and int(start.opt_state.count) == 2
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), b), start.opt_state, saved)
