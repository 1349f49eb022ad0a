"""`load_model(..., mesh=...)` restores each parameter straight into its sharding.

Runs in a subprocess with 8 simulated CPU devices (`XLA_FLAGS` must be set before jax is
imported): this file is also the worker, `python tests/test_eval_restore.py DIR`.

Train-free: a MODEL_DIR written with the trainer's own TrainState and `Checkpointer`
(two steps, saved from an 8x1 fsdp layout), a converted checkpoint (scanned layers) and a
Hugging Face directory of a tiny random model. Each is loaded on a 4x2 fsdp_tp mesh: every
leaf is a global array with exactly `mesh.param_shardings(config)`'s sharding and the
values, dtypes and config of the unsharded `load_model`; a checkpoint whose config gives
other shapes is one `CheckpointMismatchError` line naming the parameter and both shapes;
a missing step lists the steps.
"""

import itertools
import json
import os
import shutil
import sys

from _train_helpers import HANG_GUARD_S, finish, spawn, subprocess_env


def test_sharded_restore_matches_host_load(tmp_path):
    (out,) = finish([spawn(__file__, [tmp_path], subprocess_env(8))], timeout=HANG_GUARD_S)
    assert "EVAL_RESTORE_OK" in out, out[-3000:]


# -- the worker ---------------------------------------------------------------------------


def _write_model_dir(model_dir, config):
    """Steps 1 and 2 (different parameters) of a TrainState, as `flanjax.train` saves them."""
    import jax
    import numpy as np

    from _train_helpers import random_batch
    from flanjax import checkpoints, partitioning
    from flanjax.train import optimizers
    from flanjax.train.trainer import Trainer

    shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in random_batch(0).items()}
    schedule = optimizers.make_schedule("constant", 1e-2)
    trainer = Trainer(config, optimizers.make_optimizer(schedule), schedule,
                      partitioning.make_mesh((8, 1)), "fsdp", shapes)
    checkpoints.write_model_config(model_dir, config)
    ckpt = checkpoints.Checkpointer(model_dir, period=1, max_to_keep=3, async_save=False)
    # The optimizer state is real (a restore must skip it); the parameters are random host
    # arrays placed in the trainer's shardings (a compiled model init is slow on CPU).
    first = trainer.state_from_params(_random_params(config, 0))
    second = first.replace(step=np.int32(2),
                           params=jax.device_put(_random_params(config, 1), trainer.param_shardings))
    ckpt.save(1, first, force=True)
    ckpt.save(2, second, force=True)
    ckpt.close()


def _with_config(src, dst, config_file, **changes):
    """A copy of checkpoint `src` whose config file says `changes`."""
    shutil.copytree(src, dst)
    path = os.path.join(dst, config_file)
    with open(path) as f:
        values = json.load(f)
    values.update(changes)
    with open(path, "w") as f:
        json.dump(values, f)
    return dst


def _random_params(config, seed):
    """Host parameters of `config`'s shapes (numpy: eager `init_params` is slow on CPU)."""
    import jax
    import numpy as np

    from flanjax.model import abstract_params

    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: rng.standard_normal(s.shape).astype(s.dtype), abstract_params(config))


def _assert_sharded_like(got, want, shardings):
    import jax
    import numpy as np

    flat_got, tree = jax.tree_util.tree_flatten_with_path(got)
    flat_want = dict(jax.tree_util.tree_flatten_with_path(want)[0])
    flat_sh = dict(jax.tree_util.tree_flatten_with_path(shardings)[0])
    assert len(flat_got) == len(flat_want) == len(flat_sh) > 10, (len(flat_got), len(flat_want))
    sharded = 0
    for key, leaf in flat_got:
        name = jax.tree_util.keystr(key)
        assert isinstance(leaf, jax.Array), (name, type(leaf))
        assert leaf.sharding == flat_sh[key], (name, leaf.sharding, flat_sh[key])
        assert leaf.dtype == flat_want[key].dtype, (name, leaf.dtype, flat_want[key].dtype)
        np.testing.assert_array_equal(np.asarray(leaf), flat_want[key], err_msg=name)
        sharded += leaf.addressable_shards[0].data.size < leaf.size
    assert sharded > len(flat_got) // 2, sharded  # most parameters really split
    return tree


def _main(tmp):
    import jax
    import numpy as np

    from _train_helpers import tiny_config
    from flanjax.checkpoints import save_flanjax_checkpoint
    from flanjax.convert import save_hf_t5
    from flanjax import checkpoints
    from flanjax.evaluation import batching

    assert jax.device_count() == 8, jax.devices()
    mesh = batching.make_eval_mesh((4, 2), "fsdp_tp")
    config = tiny_config(dtype="bfloat16")  # eval's dtype="float32" override: activations only
    model_dir = os.path.join(tmp, "run")
    _write_model_dir(model_dir, config)
    scanned = tiny_config(scan_layers=True, num_encoder_layers=2)
    converted = save_flanjax_checkpoint(scanned, _random_params(scanned, 2),
                                        os.path.join(tmp, "converted"))
    hf_dir = os.path.join(tmp, "hf")
    save_hf_t5(config, _random_params(config, 3), hf_dir)

    # Each case with the parameters that were written there (step 2 of the run holds seed 1).
    cases = [(model_dir, None, _random_params(config, 1)), (model_dir, 1, _random_params(config, 0)),
             (converted, None, _random_params(scanned, 2)), (hf_dir, None, _random_params(config, 3))]
    host_params = {}
    for path, step, written in cases:
        want_config, want = checkpoints.load_model(path, step=step, dtype="float32")
        # The host loader against the arrays written, not against itself.
        flat_written = dict(jax.tree_util.tree_flatten_with_path(written)[0])
        flat_loaded = jax.tree_util.tree_flatten_with_path(want)[0]
        assert len(flat_loaded) == len(flat_written), (path, len(flat_loaded), len(flat_written))
        for key, leaf in flat_loaded:
            np.testing.assert_array_equal(np.asarray(leaf, np.float32),
                                          np.asarray(flat_written[key], np.float32),
                                          err_msg=f"{path} step {step} {jax.tree_util.keystr(key)}")
        got_config, got = checkpoints.load_model(path, step=step, mesh=mesh, dtype="float32")
        assert got_config == want_config and got_config.dtype == "float32", (got_config, want_config)
        assert got_config.param_dtype == "float32"
        _assert_sharded_like(got, want, mesh.param_shardings(got_config))
        host_params[(path, step)] = want
    # step= picks the step (the two differ), with or without a mesh.
    a = host_params[(model_dir, 1)]["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]
    b = host_params[(model_dir, None)]["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]
    assert not np.array_equal(a, b)
    spec = mesh.param_shardings(config)["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"].spec
    assert spec == jax.sharding.PartitionSpec("data", "model"), spec

    # A checkpoint of other shapes than its config: one line naming the parameter and both shapes.
    bad_run = _with_config(model_dir, os.path.join(tmp, "bad_run"), "flanjax_config.json", d_ff=256)
    bad_conv = _with_config(converted, os.path.join(tmp, "bad_conv"), "flanjax_config.json", d_model=32)
    for (path, param, stored, expected), on_mesh in itertools.product((
        (bad_run, "decoder/layers_0/mlp/wi_0/kernel", "(64, 128)", "(64, 256)"),
        (bad_conv, "decoder/decoder_norm/scale", "(64,)", "(32,)"),
    ), (mesh, None)):
        try:
            checkpoints.load_model(path, mesh=on_mesh, dtype="float32")
            raise AssertionError(f"{path}: no error")
        except checkpoints.CheckpointMismatchError as e:
            message = str(e)
        assert isinstance(checkpoints.CheckpointMismatchError(), ValueError)
        assert len(message.splitlines()) == 1, message
        assert message.startswith("Parameter ") and "but the config expects" in message, message
        assert stored in message and expected in message, message
        assert param in message, message

    try:
        checkpoints.load_model(model_dir, step=7, mesh=mesh)
        raise AssertionError("step 7 does not exist")
    except checkpoints.CheckpointNotFoundError as e:
        assert "No step 7" in str(e) and "[1, 2]" in str(e), e
    try:
        checkpoints.load_model(os.path.join(tmp, "nothing"), mesh=mesh)
        raise AssertionError("missing directory")
    except checkpoints.CheckpointNotFoundError as e:
        assert "does not exist" in str(e), e
    print("EVAL_RESTORE_OK", flush=True)


if __name__ == "__main__":
    _main(sys.argv[1])
    sys.stdout.flush()
    os._exit(0)
