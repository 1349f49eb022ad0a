"""Layers against transformers' T5 pieces; config presets, gin files, axis names, sharding."""

import glob
import os
import subprocess
import sys

import flax.linen as nn
import gin
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from transformers.activations import ACT2FN
from transformers.models.t5.modeling_t5 import T5Attention, T5LayerNorm

from flanjax.model import T5, T5Config, abstract_params, flops_per_token, init_params, make_config
from flanjax.model.decoding import _decode_step, _init_cache
from flanjax.model.layers import MlpBlock, RMSNorm, relative_position_bucket
from _train_helpers import HANG_GUARD_S

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AXIS_NAMES = {"embed", "mlp", "heads", "kv", "joined_kv", "vocab", "relpos_buckets", "layers"}


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("num_buckets,max_distance", [(32, 128), (8, 20), (16, 64), (6, 7)])
def test_relative_position_bucket_matches_transformers(bidirectional, num_buckets, max_distance):
    relative = np.arange(-400, 401)
    ours = relative_position_bucket(
        jnp.asarray(relative, jnp.int32), bidirectional, num_buckets, max_distance
    )
    ref = T5Attention._relative_position_bucket(
        torch.tensor(relative),
        bidirectional=bidirectional,
        num_buckets=num_buckets,
        max_distance=max_distance,
    )
    np.testing.assert_array_equal(np.asarray(ours), ref.numpy())


def test_rms_norm_matches_transformers():
    x = np.random.default_rng(0).normal(size=(2, 3, 16)).astype(np.float32) * 3
    scale = np.random.default_rng(1).normal(size=(16,)).astype(np.float32)
    ours = RMSNorm(epsilon=1e-6).apply({"params": {"scale": scale}}, x)
    ref = T5LayerNorm(16, eps=1e-6)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(scale))
        expected = ref(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_gated_gelu_is_gelu_new():
    x = np.linspace(-6, 6, 101).astype(np.float32)
    np.testing.assert_allclose(
        nn.gelu(jnp.asarray(x), approximate=True),
        ACT2FN["gelu_new"](torch.tensor(x)).numpy(),
        atol=1e-6,
    )
    block = MlpBlock(d_ff=8, feed_forward_proj="gated-gelu")
    variables = block.init(jax.random.key(0), jnp.ones((1, 2, 4)))
    assert set(variables["params"]) == {"wi_0", "wi_1", "wo"}


@pytest.mark.parametrize("scan", [False, True])
def test_every_parameter_has_logical_axis_names(scan):
    config = T5Config.tiny(vocab_size=64, scan_layers=scan)
    specs = nn.get_partition_spec(abstract_params(config, boxed=True))
    shapes = abstract_params(config)
    is_spec = lambda x: isinstance(x, jax.sharding.PartitionSpec)  # noqa: E731
    flat_specs = jax.tree_util.tree_leaves_with_path(specs, is_leaf=is_spec)
    flat_shapes = jax.tree_util.tree_leaves(shapes)
    assert len(flat_specs) == len(flat_shapes) > 10
    for (path, spec), shape in zip(flat_specs, flat_shapes):
        assert len(spec) == len(shape.shape), path
        assert all(name in AXIS_NAMES for name in spec), (path, spec)
        assert ("layers" in spec) == (scan and "layers" in jax.tree_util.keystr(path)), path
    rules = (("embed", None), ("mlp", "model"), ("heads", "model"), ("vocab", "model"))
    mesh_axes = nn.logical_to_mesh_axes(("embed", "mlp"), rules)
    assert tuple(mesh_axes) == (None, "model")


def test_cached_decoding_matches_full_forward():
    config = T5Config.tiny(vocab_size=64, dtype="float32", scan_layers=True)
    params = init_params(config, jax.random.key(1))
    rng = np.random.default_rng(3)
    enc = jnp.asarray(rng.integers(2, 64, (2, 7)), jnp.int32).at[1, 5:].set(0)
    dec = jnp.asarray(rng.integers(2, 64, (2, 5)), jnp.int32).at[:, 0].set(0)
    full = jax.jit(lambda p: T5(config).apply({"params": p}, enc, dec))(params)

    encoded = jax.jit(lambda p: T5(config).apply({"params": p}, enc, method=T5.encode))(params)
    cache = jax.jit(lambda p: _init_cache(config, p, encoded, enc, dec.shape[1]))(params)
    step = jax.jit(lambda cache, token: _decode_step(config, params, cache, encoded, enc, token))
    steps = []
    for i in range(dec.shape[1]):
        logits, cache = step(cache, dec[:, i])
        steps.append(logits)
    np.testing.assert_allclose(jnp.stack(steps, axis=1), full, atol=1e-5)


def test_presets_and_flops():
    assert T5Config.t5_1_1("small") == T5Config()
    xxl = T5Config.flan_t5("xxl")
    dims = (xxl.d_model, xxl.d_ff, xxl.num_heads, xxl.d_kv, xxl.num_encoder_layers)
    assert dims == (4096, 10240, 64, 64, 24)
    assert T5Config.t5_1_1("large").d_ff == 2816 and T5Config.t5_1_1("base").num_heads == 12
    tiny = T5Config.tiny(vocab_size=100)
    assert (tiny.d_model, tiny.num_heads, tiny.d_kv, tiny.vocab_size) == (64, 4, 16, 100)
    # Training FLOPs per token are close to 6 * matmul parameters for short sequences.
    small = T5Config.t5_1_1("small")
    n_params = sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(abstract_params(small)))
    ratio = flops_per_token(small, 64, 64) / (6 * n_params / 2)
    assert 0.8 < ratio < 1.3, ratio
    assert T5Config.from_dict(small.to_dict()) == small
    with pytest.raises(ValueError, match="feed_forward_proj"):
        T5Config(feed_forward_proj="swish")
    with pytest.raises(ValueError, match="Unknown"):
        T5Config.from_dict({"d_model": 8, "bogus": 1})


def test_gin_files_parse_and_bind_the_config():
    root = os.path.join(REPO, "flanjax", "configs", "models")
    files = sorted(glob.glob(os.path.join(root, "*", "*.gin")))
    names = {os.path.relpath(f, root) for f in files}
    expected = {f"t5_1_1/{s}.gin" for s in ("tiny", "small", "base", "large", "xl", "xxl")}
    expected |= {f"flan_t5/{s}.gin" for s in ("small", "base", "large", "xl", "xxl")}
    assert expected <= names
    from flanjax.cli import gin_setup

    gin_setup.register_configurables("model")  # gin is bound in the commands, not the model
    make_config = gin.get_configurable("make_config")
    try:
        for path in files:
            gin.clear_config()
            gin.parse_config_file(path)
            family, size = os.path.relpath(path, root)[: -len(".gin")].split("/")
            assert make_config() == getattr(T5Config, family)(size), path
        gin.clear_config()
        gin.parse_config_files_and_bindings(
            [os.path.join(REPO, "flanjax/configs/models/flan_t5/base.gin")],
            [
                "flanjax.model.config.make_config.scan_layers = True",
                "make_config.dtype = 'float32'",
            ],
        )
        config = make_config()
        assert config.scan_layers and config.dtype == "float32" and config.d_model == 768
    finally:
        gin.clear_config()


def test_sharded_params_on_8_device_mesh_give_same_outputs():
    """4x2 (data, model) mesh of fake CPU devices, in a subprocess so others keep 1 device."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tests", "_sharded_forward.py")],
        env=env, capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SHARDED_OK" in result.stdout
