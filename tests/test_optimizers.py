"""Adafactor with T5X's knobs and the learning-rate schedules, checked by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from optax._src import factorized

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


def test_defaults_match_t5x_adafactor():
    params = {"w": jax.random.normal(jax.random.key(0), (256, 512)), "b": jnp.ones((7,))}
    grads = jax.tree.map(lambda p: jnp.sin(p * 3.0) + 0.1, params)
    ours = optimizers.make_optimizer(1e-2)
    ref = optax.adafactor(
        1e-2, decay_rate=0.8, clipping_threshold=1.0, multiply_by_parameter_scale=True,
        factored=True, min_dim_size_to_factor=128,
    )
    s1, s2 = ours.init(params), ref.init(params)
    for _ in range(3):
        u1, s1 = ours.update(grads, s1, params)
        u2, s2 = ref.update(grads, s2, params)
        np.testing.assert_allclose(u1["w"], u2["w"], rtol=1e-6)
    # Factored second moments for the 256x512 matrix, a full `v` for the vector.
    state = [x for x in jax.tree.leaves(s1, is_leaf=lambda x: isinstance(x, factorized.FactoredState))
             if isinstance(x, factorized.FactoredState)][0]
    assert state.v_row["w"].shape in ((256,), (512,)) and state.v_col["w"].shape in ((256,), (512,))
    assert state.v["b"].shape == (7,)


def test_first_step_by_hand():
    """Step 1: decay 1 - 1^-0.8 = 0, so v = g^2 and g / sqrt(v) = sign(g) (RMS 1, unclipped);
    the step is scaled by max(RMS(param), 1e-3) and the learning rate."""
    p = jnp.array([0.5, -2.0, 1.0, 3.0])
    g = jnp.array([0.3, -0.1, 2.0, -4.0])
    tx = optimizers.make_optimizer(0.1)
    updates, _ = tx.update({"p": g}, tx.init({"p": p}), {"p": p})
    rms = float(np.sqrt(np.mean(np.square(p))))
    np.testing.assert_allclose(updates["p"], -0.1 * rms * np.sign(g), rtol=1e-5)


def test_knobs_are_passed_through():
    p = {"p": jnp.array([1.0, 2.0])}
    g = {"p": jnp.array([1.0, -1.0])}
    tx = optimizers.make_optimizer(0.1, multiply_by_parameter_scale=False)
    updates, _ = tx.update(g, tx.init(p), p)
    np.testing.assert_allclose(updates["p"], [-0.1, 0.1], rtol=1e-5)
    # Momentum adds a state; global clipping chains a transform in front.
    assert len(jax.tree.leaves(optimizers.make_optimizer(0.1, momentum=0.9).init(p))) > len(
        jax.tree.leaves(tx.init(p))
    )
    clipped = optimizers.make_optimizer(0.1, global_clip_norm=1.0, multiply_by_parameter_scale=False)
    u, _ = clipped.update(g, clipped.init(p), p)
    np.testing.assert_allclose(u["p"], [-0.1, 0.1], rtol=1e-5)
