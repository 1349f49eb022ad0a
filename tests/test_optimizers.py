"""Adafactor with T5X's knobs and the learning-rate schedules, checked by hand.

The factoring by logical axis names, the layouts and the continued step count:
tests/test_adafactor_t5x.py."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flanjax.train import optimizers


def test_constant_schedule():
    s = optimizers.make_schedule("constant", learning_rate=1e-3)
    assert [float(s(t)) for t in (0, 10, 10_000)] == pytest.approx([1e-3] * 3)


def test_rsqrt_schedule_is_t5s():
    s = optimizers.make_schedule("rsqrt", learning_rate=1.0, warmup_steps=10_000)
    assert float(s(0)) == pytest.approx(0.01)
    assert float(s(9_999)) == pytest.approx(0.01)
    assert float(s(40_000)) == pytest.approx(1 / 200)
    assert float(s(250_000)) == pytest.approx(1 / math.sqrt(250_000))


def test_linear_warmup_rsqrt_schedule():
    s = optimizers.make_schedule("linear_warmup_rsqrt", learning_rate=2e-3, warmup_steps=100)
    assert float(s(0)) == pytest.approx(0.0)
    assert float(s(25)) == pytest.approx(5e-4)
    assert float(s(100)) == pytest.approx(2e-3)
    assert float(s(400)) == pytest.approx(2e-3 * math.sqrt(100 / 400))


def test_unknown_schedule():
    with pytest.raises(ValueError, match="known"):
        optimizers.make_schedule("cosine")


def _t5x_adafactor(params, grads_per_step, lr, *, decay_rate=0.8, clipping_threshold=1.0,
                   multiply_by_parameter_scale=True, factored=True, min_dim_size_to_factor=128,
                   momentum=None, epsilon1=1e-30, global_clip_norm=None):
    """T5X's Adafactor (t5x/adafactor.py, Shazeer & Stern 2018) written out in numpy, float64.

    For each step t = 1, 2, ...: beta2 = 1 - t^-decay_rate; g2 = g^2 + eps1; matrices whose
    two largest dims are >= min_dim_size_to_factor keep row/column means of g2 (v_r, v_c) and
    use v ~ v_r v_c / mean(v_r); y = g / sqrt(v); y /= max(1, RMS(y) / clipping_threshold);
    the step is lr * max(RMS(param), 1e-3) * y (with momentum: m = b1 m + (1 - b1) step);
    param -= step. Returns the list of per-step updates (-step) per leaf.
    """
    params = {k: np.asarray(v, np.float64) for k, v in params.items()}
    state = {k: {} for k in params}
    out = []
    for t, grads in enumerate(grads_per_step, start=1):
        grads = {k: np.asarray(v, np.float64) for k, v in grads.items()}
        if global_clip_norm is not None:
            norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
            grads = {k: g * min(1.0, global_clip_norm / norm) for k, g in grads.items()}
        beta2 = 1.0 - t ** (-decay_rate)
        step_updates = {}
        for k, g in grads.items():
            p, s = params[k], state[k]
            g2 = g**2 + epsilon1
            big = sorted(g.shape)
            if factored and g.ndim >= 2 and big[-2] >= min_dim_size_to_factor:
                assert g.ndim == 2
                s["r"] = beta2 * s.get("r", 0.0) + (1 - beta2) * g2.mean(axis=1)
                s["c"] = beta2 * s.get("c", 0.0) + (1 - beta2) * g2.mean(axis=0)
                v = np.outer(s["r"], s["c"]) / s["r"].mean()
            else:
                s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g2
                v = s["v"]
            y = g / np.sqrt(v)
            if clipping_threshold is not None:
                y = y / max(1.0, np.sqrt(np.mean(y**2)) / clipping_threshold)
            scale = max(np.sqrt(np.mean(p**2)), 1e-3) if multiply_by_parameter_scale else 1.0
            step = lr * scale * y
            if momentum is not None:
                s["m"] = momentum * s.get("m", 0.0) + (1 - momentum) * step
                step = s["m"]
            step_updates[k] = -step
            params[k] = p - step
        out.append(step_updates)
    return out


def _grads(params, steps, seed=1):
    """Different gradients every step (constant ones make every step sign(g) and hide clipping)."""
    rng = np.random.default_rng(seed)
    return [{k: (rng.standard_normal(v.shape) * rng.uniform(0.05, 5.0, size=v.shape[-1:]) * 10.0**t)
             .astype(np.float32) for k, v in params.items()} for t in range(steps)]


def _run_ours(tx, params, grads_per_step):
    params = {k: jnp.asarray(v) for k, v in params.items()}
    state, out = tx.init(params), []
    for grads in grads_per_step:
        updates, state = tx.update({k: jnp.asarray(v) for k, v in grads.items()}, state, params)
        params = optax.apply_updates(params, updates)
        out.append({k: np.asarray(v) for k, v in updates.items()})
    return out, state


def _assert_updates_close(ours, ref):
    for t, (a, b) in enumerate(zip(ours, ref)):
        for k in b:
            np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=1e-4 * np.abs(b[k]).max(),
                                       err_msg=f"step {t + 1} {k}")


PARAMS = {
    "w": np.random.default_rng(0).standard_normal((256, 160)).astype(np.float32),
    "b": np.array([0.5, -2.0, 1.0, 3.0, 0.1, -0.2, 0.7], np.float32),
}


def test_defaults_match_t5x_adafactor():
    grads = _grads(PARAMS, 4)
    ours, state = _run_ours(optimizers.make_optimizer(1e-2), PARAMS, grads)
    _assert_updates_close(ours, _t5x_adafactor(PARAMS, grads, 1e-2))
    # The reference really clips at some step (else clipping_threshold would be untested).
    unclipped = _t5x_adafactor(PARAMS, grads, 1e-2, clipping_threshold=None)
    assert any(not np.allclose(a["b"], b["b"], rtol=1e-3) for a, b in zip(ours, unclipped))
    # Factored second moments for the 256x160 matrix (T5X: the smaller dimension is the row,
    # `v_row` keeps it), a full `v` for the vector.
    assert state.v_row["w"].shape == (160,) and state.v_col["w"].shape == (256,)
    assert state.v["b"].shape == (7,) and state.v["w"].shape == (1,)


def test_first_step_by_hand():
    """Step 1: decay 1 - 1^-0.8 = 0, so v = g^2 and g / sqrt(v) = sign(g) (RMS 1, unclipped);
    the step is scaled by max(RMS(param), 1e-3) and the learning rate."""
    p = jnp.array([0.5, -2.0, 1.0, 3.0])
    g = jnp.array([0.3, -0.1, 2.0, -4.0])
    tx = optimizers.make_optimizer(0.1)
    updates, _ = tx.update({"p": g}, tx.init({"p": p}), {"p": p})
    rms = float(np.sqrt(np.mean(np.square(p))))
    np.testing.assert_allclose(updates["p"], -0.1 * rms * np.sign(g), rtol=1e-5)


@pytest.mark.parametrize("knobs", [
    {"clipping_threshold": None},
    {"clipping_threshold": 0.5},
    {"decay_rate": 0.5},
    {"multiply_by_parameter_scale": False},
    {"factored": False},
    {"min_dim_size_to_factor": 512},
    {"momentum": 0.9},
    {"global_clip_norm": 1.0},
])
def test_knobs_are_passed_through(knobs):
    """Each knob changes the updates (vs the defaults) exactly as T5X's Adafactor does."""
    grads = _grads(PARAMS, 3, seed=2)
    ours, _ = _run_ours(optimizers.make_optimizer(0.1, **knobs), PARAMS, grads)
    ref_kw = {k: v for k, v in knobs.items()}
    _assert_updates_close(ours, _t5x_adafactor(PARAMS, grads, 0.1, **ref_kw))
    default = _t5x_adafactor(PARAMS, grads, 0.1)
    assert any(not np.allclose(a[k], b[k], rtol=1e-3) for a, b in zip(ours, default) for k in b), knobs
