"""Run in a subprocess with 8 fake CPU devices: sharded params give unsharded logits."""

import os

FLAG = "--xla_force_host_platform_device_count=8"
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " " + FLAG
os.environ["JAX_PLATFORMS"] = "cpu"

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import AxisType  # noqa: E402

from flanjax.model import T5, T5Config, abstract_params, generate, init_params, score  # noqa: E402

RULES = (
    ("batch", "data"),
    ("length", None),
    ("embed", None),
    ("mlp", "model"),
    ("heads", "model"),
    ("kv", None),
    ("joined_kv", "model"),
    ("vocab", "model"),
    ("relpos_buckets", None),
    ("layers", None),
)


def main() -> None:
    assert jax.device_count() == 8, jax.devices()
    mesh = jax.make_mesh((4, 2), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
    for scan in (False, True):
        config = T5Config.tiny(vocab_size=64, dtype="float32", scan_layers=scan)
        params = init_params(config, jax.random.key(0))
        rng = np.random.default_rng(0)
        enc = rng.integers(2, 64, (4, 8)).astype(np.int32)
        dec = rng.integers(2, 64, (4, 6)).astype(np.int32)
        forward = jax.jit(lambda p, e, d: T5(config).apply({"params": p}, e, d))
        expected = np.asarray(forward(params, enc, dec))

        specs = nn.get_partition_spec(abstract_params(config, boxed=True))
        shardings = nn.logical_to_mesh_sharding(specs, mesh, RULES)
        sharded = jax.device_put(params, shardings)
        wi = sharded["decoder"]["layers" if scan else "layers_0"]["mlp"]["wi_0"]["kernel"]
        assert len(wi.sharding.device_set) == 8 and wi.addressable_shards[0].data.shape[-1] == 64
        batch = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
        with jax.set_mesh(mesh), nn.logical_axis_rules(RULES):
            got = forward(sharded, jax.device_put(enc, batch), jax.device_put(dec, batch))
            scores = score(config, sharded, enc, dec)
            tokens = generate(config, sharded, enc, max_decode_length=5)
        np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)
        np.testing.assert_allclose(scores, score(config, params, enc, dec), atol=1e-4)
        np.testing.assert_array_equal(tokens, generate(config, params, enc, max_decode_length=5))
    print("SHARDED_OK")


if __name__ == "__main__":
    main()
