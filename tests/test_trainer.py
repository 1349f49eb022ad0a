"""The loss, the compiled train step, gradient accumulation, sharding invariance, NaN stop."""

import functools
import json
import os

import jax
import numpy as np
import optax
import pytest

from flanjax.model import T5
from flanjax import partitioning
from flanjax.train import loop, optimizers
from flanjax.train.trainer import LossConfig, Trainer, token_losses
from _train_helpers import random_batch, run_python, tiny_config


def _shapes(batch):
    return {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batch.items()}


def _trainer(batch, tx=None, schedule=None, **kwargs):
    schedule = schedule or optimizers.make_schedule("constant", 1e-2)
    tx = tx or optimizers.make_optimizer(schedule)
    mesh = partitioning.make_mesh((1, 1), jax.devices()[:1])
    return Trainer(tiny_config(), tx, schedule, mesh, "data_parallel", _shapes(batch), **kwargs)


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_token_losses_match_numpy():
    rs = np.random.RandomState(0)
    logits = rs.randn(2, 3, 11).astype(np.float32) * 3
    targets = rs.randint(0, 11, (2, 3))
    ce, z = token_losses(logits, targets, z_loss=1e-4, label_smoothing=0.1)
    logp = _log_softmax(logits.astype(np.float64))
    conf, low = 0.9, 0.1 / 10
    soft = np.full(logits.shape, low)
    np.put_along_axis(soft, targets[..., None], conf, axis=-1)
    expected = -(soft * logp).sum(-1) + (conf * np.log(conf) + 10 * low * np.log(low))
    np.testing.assert_allclose(ce, expected, rtol=1e-5, atol=1e-5)
    log_z = np.log(np.exp(logits.astype(np.float64)).sum(-1))
    np.testing.assert_allclose(z, 1e-4 * log_z**2, rtol=1e-5)


def test_step0_loss_is_the_numpy_cross_entropy():
    batch = random_batch(0)
    # A constant normaliser (T5X's loss_normalizing_factor): `loss` = sum / 1000 while
    # `cross_entropy` stays the per-token mean.
    trainer = _trainer(batch, loss_config=LossConfig(z_loss=0.0, loss_normalizing_factor=1000.0))
    state = trainer.init_state(jax.random.key(0))
    params = jax.device_get(state.params)
    logits = T5(trainer.config).apply(
        {"params": params},
        batch["encoder_input_tokens"],
        batch["decoder_input_tokens"],
        encoder_segment_ids=batch["encoder_segment_ids"],
        decoder_segment_ids=batch["decoder_segment_ids"],
        encoder_positions=batch["encoder_positions"],
        decoder_positions=batch["decoder_positions"],
    )
    logp = _log_softmax(np.asarray(logits, np.float64))
    nll = -np.take_along_axis(logp, batch["decoder_target_tokens"][..., None], -1)[..., 0]
    w = batch["decoder_loss_weights"]
    expected = (nll * w).sum() / w.sum()
    acc = ((logp.argmax(-1) == batch["decoder_target_tokens"]) * w).sum() / w.sum()
    _, metrics = trainer.train_step(state, {k: jax.numpy.asarray(v) for k, v in batch.items()}, jax.random.key(1))
    assert float(metrics["loss"]) == pytest.approx(expected * w.sum() / 1000.0, rel=1e-5)
    assert float(metrics["cross_entropy"]) == pytest.approx(expected, rel=1e-5)
    assert float(metrics["token_accuracy"]) == pytest.approx(acc)
    assert float(metrics["num_tokens"]) == w.sum()
    assert float(metrics["learning_rate"]) == pytest.approx(1e-2)
    assert float(metrics["grad_norm"]) > 0


def test_gradient_accumulation_equals_big_batch():
    batch = random_batch(2, batch=8)
    sgd = optax.sgd(1.0)  # params move by exactly the gradient: a direct comparison
    schedule = optimizers.make_schedule("constant", 1.0)
    big = _trainer(batch, tx=sgd, schedule=schedule)
    acc = _trainer(batch, tx=sgd, schedule=schedule, num_microbatches=4)
    s_big, m_big = big.train_step(big.init_state(jax.random.key(0)), batch, jax.random.key(1))
    s_acc, m_acc = acc.train_step(acc.init_state(jax.random.key(0)), batch, jax.random.key(1))
    for key in ("loss", "token_accuracy", "grad_norm", "num_tokens"):
        assert float(m_acc[key]) == pytest.approx(float(m_big[key]), rel=1e-5), key
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), s_acc.params, s_big.params
    )


_MESH_SCRIPT = r"""
import json, jax
from flanjax import partitioning
from flanjax.train import optimizers
from flanjax.train.trainer import Trainer
from _train_helpers import random_batch, tiny_config
batches = [random_batch(s) for s in range(2)]
shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batches[0].items()}
schedule = optimizers.make_schedule("constant", 1e-2)
init = None
out = {}
for shape, presets in [((1, 1), ["data_parallel"]), ((8, 1), PRESETS), ((4, 2), PRESETS), ((2, 4), PRESETS)]:
    devices = jax.devices()[: shape[0] * shape[1]]
    for preset in presets:
        t = Trainer(tiny_config(), optimizers.make_optimizer(schedule), schedule,
                    partitioning.make_mesh(shape, devices), preset, shapes)
        if init is None:
            init = jax.device_get(t.init_state(jax.random.key(0)))
        state = jax.device_put(init, t.state_shardings)  # no init compile per layout
        losses = []
        for b in batches:
            b = {k: jax.device_put(v, t.batch_shardings[k]) for k, v in b.items()}
            state, m = t.train_step(state, b, jax.random.key(1))
            losses.append(float(m["loss"]))
        out[f"{shape[0]}x{shape[1]}/{preset}"] = losses
print(json.dumps(out))
"""


def test_loss_is_equal_on_every_mesh_and_preset():
    presets = list(partitioning.LOGICAL_RULES)
    code = _MESH_SCRIPT.replace("PRESETS", repr(presets))
    out = json.loads(run_python(code, devices=8).strip().splitlines()[-1])
    assert len(out) == 1 + 3 * len(presets)
    reference = out["1x1/data_parallel"]
    for name, losses in out.items():
        np.testing.assert_allclose(losses, reference, rtol=2e-5, err_msg=name)


def _synthetic_stream(seed=0):
    step = 0
    while True:
        yield random_batch(1000 * seed + step)
        step += 1


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    # A learning rate of 1e30 makes the parameters huge after step 1, the logits inf
    # and the loss NaN at step 2 (or soon after).
    model_dir = str(tmp_path / "run")
    with pytest.raises(loop.NonFiniteLossError, match="non-finite loss.*last good checkpoint is step 1"):
        _run_synthetic(model_dir, learning_rate=1e30, train_steps=6, checkpoint_period=1)
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints"))) == ["1"]


def _run_synthetic(model_dir, learning_rate=1e-2, **kwargs):
    return loop.train(
        model_config=tiny_config(), mixture_or_task_name="synthetic",
        task_feature_lengths={"inputs": 16, "targets": 8}, batch_size=8, model_dir=model_dir,
        host_batches=_synthetic_stream(), log_period=1, async_checkpointing=False,
        make_schedule=functools.partial(optimizers.make_schedule, "constant", learning_rate), **kwargs,
    )


def test_tiny_model_loss_falls_on_the_demo_mixture(tmp_path):
    from flanjax.data.bundled import ensure_prepared

    model_dir = str(tmp_path / "demo")
    ensure_prepared()
    result = loop.train(
        model_config=tiny_config(vocab_size=896, num_encoder_layers=2, num_decoder_layers=2),
        mixture_or_task_name="demo", task_feature_lengths={"inputs": 64, "targets": 16},
        batch_size=8, train_steps=150, model_dir=model_dir, log_period=10,
        checkpoint_period=150, eval_period=150, eval_batches=1,
        make_schedule=functools.partial(optimizers.make_schedule, "constant", 0.01),
    )
    records = [json.loads(l) for l in open(os.path.join(model_dir, "train_metrics.jsonl"))]
    train = records
    assert [r["step"] for r in train] == list(range(10, 151, 10))
    first, last = train[0]["loss"], np.mean([r["loss"] for r in train[-3:]])
    assert last < first - 1.5, (first, last)
    assert all(np.isfinite(r["loss"]) for r in train)
    evals = [json.loads(l) for l in open(os.path.join(model_dir, "eval_metrics.jsonl"))]
    assert evals[-1]["step"] == 150 and evals[-1]["eval/cross_entropy"] < first
    assert result.step == 150
