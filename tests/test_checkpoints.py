"""orbax checkpoints: exact resumption after kill -9, save on SIGTERM, round trips."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from _train_helpers import HANG_GUARD_S, REPO, restore_params, random_batch, tiny_config

# The demo run, shrunk: 1+1 layers, short sequences, checkpoints every 10 steps.
STEPS = 30
_OVERRIDES = [
    f"--gin.TRAIN_STEPS={STEPS}",
    "--gin.BATCH_SIZE=8",
    "--gin.TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}",
    "--gin.CHECKPOINT_PERIOD=10",
    "--gin.EVAL_PERIOD=0",
    "--gin.train.log_period=1",
    "--gin.make_config.num_encoder_layers=1",
    "--gin.make_config.num_decoder_layers=1",
]


def _start(model_dir, *extra):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()  # once, before concurrent runs share the data directory
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("XLA_FLAGS", None)
    cmd = [sys.executable, "-m", "flanjax.train", "--gin_file=runs/demo.gin",
           f"--gin.MODEL_DIR={model_dir}", *_OVERRIDES, *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(proc, prefix, timeout=HANG_GUARD_S, until=lambda: True):
    """Reads stdout until a line starts with `prefix` and `until()`; returns the lines read."""
    lines, start = [], time.time()
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(prefix) and until():
            return lines
        if time.time() - start > timeout:
            break
    raise AssertionError(f"never saw {prefix!r}:\n{''.join(lines[-40:])}")


def _finish(proc, timeout=HANG_GUARD_S, code=0):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == code, out[-4000:]
    return out


def _params_at(model_dir, step):
    return restore_params(model_dir, step)


def _losses(model_dir):
    out = {}
    for line in open(os.path.join(model_dir, "train_metrics.jsonl")):
        record = json.loads(line)
        if "loss" in record:
            out.setdefault(record["step"], []).append(record["loss"])
    return out


def test_kill9_then_restart_equals_an_uninterrupted_run(tmp_path):
    whole, killed = str(tmp_path / "whole"), str(tmp_path / "killed")
    uninterrupted = _start(whole)
    interrupted = _start(killed)
    # Kill once the step-10 checkpoint is complete (orbax renames its temporary folder),
    # in the middle of the run and possibly in the middle of writing the next one.
    lines = _wait_for(interrupted, "step ", until=lambda: os.path.isdir(os.path.join(killed, "checkpoints", "10")))
    interrupted.send_signal(signal.SIGKILL)
    interrupted.wait()
    assert not lines[-1].startswith(f"step {STEPS}/"), "the run ended before it was killed"
    _finish(uninterrupted)
    resumed = _finish(_start(killed))
    assert "resumed from step" in resumed

    expected, got = _params_at(whole, STEPS), _params_at(killed, STEPS)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, expected)
    # The loss curve is the same too: every step logged by both runs has the same loss.
    a, b = _losses(whole), _losses(killed)
    assert sorted(a) == list(range(1, STEPS + 1)) and sorted(b) == list(range(1, STEPS + 1))
    # ... and is logged once: the steps replayed after the kill are not written again.
    assert all(len(v) == 1 for v in b.values()), {k: v for k, v in b.items() if len(v) > 1}
    for step in a:
        np.testing.assert_allclose(b[step], a[step], rtol=1e-5, err_msg=str(step))


def test_sigterm_saves_and_stops(tmp_path):
    model_dir = str(tmp_path / "run")
    proc = _start(model_dir, "--gin.TRAIN_STEPS=100000", "--gin.CHECKPOINT_PERIOD=100000")
    _wait_for(proc, "step 3/")
    proc.send_signal(signal.SIGTERM)
    out = _finish(proc, code=75)  # interrupted, resumable: not "finished" (0) for a scheduler
    assert "SIGTERM: saved step" in out and "rerun the same command to resume" in out
    steps = [int(s) for s in os.listdir(os.path.join(model_dir, "checkpoints"))]
    assert len(steps) == 1 and 3 <= steps[0] < 100000


def test_round_trip_keeps_shardings_and_values(tmp_path):
    from flanjax import checkpoints, partitioning
    from flanjax.train import optimizers
    from flanjax.train.trainer import Trainer

    batch = random_batch(0)
    shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batch.items()}
    schedule = optimizers.make_schedule("constant", 1e-2)
    trainer = Trainer(tiny_config(), optimizers.make_optimizer(schedule), schedule,
                      partitioning.make_mesh((1, 1), jax.devices()[:1]), "fsdp", shapes)
    state, _ = trainer.train_step(trainer.init_state(jax.random.key(0)), batch, jax.random.key(1))
    ckpt = checkpoints.Checkpointer(str(tmp_path), period=1, max_to_keep=2)
    for step in (1, 2, 3):
        ckpt.save(step, state, force=True)
    ckpt.wait()
    assert ckpt.all_steps() == [2, 3]  # max_to_keep
    restored = ckpt.restore(trainer.abstract_state)
    ckpt.close()
    assert int(restored.step) == 1
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), restored, state)
    jax.tree.map(lambda a, s: a.sharding == s or (_ for _ in ()).throw(AssertionError(a.sharding)),
                 restored.params, trainer.param_shardings)


def test_initial_params_from_a_converted_checkpoint(tmp_path):
    from flanjax.checkpoints import save_flanjax_checkpoint
    from flanjax.model import init_params
    from flanjax import checkpoints

    config = tiny_config()
    params = init_params(config, jax.random.key(3))
    save_flanjax_checkpoint(config, params, str(tmp_path / "converted"))
    abstract = jax.tree.map(lambda p: jax.ShapeDtypeStruct(p.shape, p.dtype), params)
    loaded = checkpoints.load_initial_params(str(tmp_path / "converted"), config, abstract)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), loaded, params)
    import pytest

    with pytest.raises(ValueError, match="d_model"):
        checkpoints.load_initial_params(str(tmp_path / "converted"), config.replace(d_model=32), abstract)


def test_initial_params_restack_between_layer_layouts(tmp_path):
    # A recipe that scans its layers (`scan_layers=True`) starts from a conversion made
    # without --scan_layers, and the other way round: layer i of the per-layer checkpoint
    # is row i of the stacked one, and each parameter lands in the run's sharding.
    from flanjax import checkpoints, partitioning
    from flanjax.checkpoints import save_flanjax_checkpoint
    from flanjax.model import init_params
    from flanjax.train import optimizers
    from flanjax.train.trainer import Trainer

    batch = random_batch(0)
    shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batch.items()}
    n = len(jax.devices())
    mesh = partitioning.make_mesh((n, 1), jax.devices())
    schedule = optimizers.make_schedule("constant", 1e-2)
    for saved_scan in (False, True):
        saved_config = tiny_config(num_encoder_layers=3, num_decoder_layers=2, scan_layers=saved_scan)
        run_config = saved_config.replace(scan_layers=not saved_scan)
        params = jax.tree.map(np.asarray, init_params(saved_config, jax.random.key(5)))
        out = str(tmp_path / f"converted_{saved_scan}")
        save_flanjax_checkpoint(saved_config, params, out)
        trainer = Trainer(run_config, optimizers.make_optimizer(schedule), schedule, mesh, "fsdp", shapes)
        abstract = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                                trainer.abstract_params, trainer.param_shardings)
        loaded = checkpoints.load_initial_params(out, run_config, abstract)
        stacked, per_layer = (params, loaded) if saved_scan else (loaded, params)
        for stack, depth in (("encoder", 3), ("decoder", 2)):
            assert set(stacked[stack]) & {f"layers_{i}" for i in range(depth)} == set()
            for i in range(depth):
                jax.tree.map(lambda s, p, i=i: np.testing.assert_array_equal(np.asarray(s)[i], np.asarray(p)),
                             stacked[stack]["layers"], per_layer[stack][f"layers_{i}"])
        jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), b),
                     loaded["token_embedder"], params["token_embedder"])
        jax.tree.map(lambda a, s: a.sharding == s or (_ for _ in ()).throw(AssertionError(a.sharding)),
                     loaded, trainer.param_shardings)
        with pytest.raises(ValueError, match="d_model"):
            checkpoints.load_initial_params(out, run_config.replace(d_model=32), abstract)
