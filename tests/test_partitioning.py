"""Mesh construction, rule presets and the shardings derived from logical axis names."""

import jax
import optax
import pytest
from jax.sharding import AbstractMesh, PartitionSpec as P
from optax._src import factorized

from flanjax.model import T5Config, abstract_params
from flanjax import partitioning
from flanjax.train import input_pipeline


def test_resolve_mesh_shape():
    assert partitioning.resolve_mesh_shape((-1, 1), 8) == (8, 1)
    assert partitioning.resolve_mesh_shape((-1, 2), 8) == (4, 2)
    assert partitioning.resolve_mesh_shape((2, -1), 8) == (2, 4)
    with pytest.raises(ValueError, match="does not divide"):
        partitioning.resolve_mesh_shape((-1, 3), 8)
    with pytest.raises(ValueError, match="at most one"):
        partitioning.resolve_mesh_shape((-1, -1), 8)
    with pytest.raises(ValueError, match="uses 4 devices"):
        partitioning.resolve_mesh_shape((2, 2), 8)


def test_make_mesh_single_device_is_auto():
    mesh = partitioning.make_mesh((-1, 1))
    assert mesh.axis_names == ("data", "model")
    assert mesh.devices.shape == (jax.device_count(), 1)
    assert all(t == jax.sharding.AxisType.Auto for t in mesh.axis_types)


def _specs(rules):
    boxed = abstract_params(T5Config.tiny(vocab_size=256), boxed=True)
    return partitioning.param_specs(boxed, partitioning.get_rules(rules))


@pytest.mark.parametrize(
    "rules, wi, embedding, query",
    [
        ("data_parallel", P(None, None), P(None, None), P(None, None, None)),
        ("fsdp", P("data", None), P(None, "data"), P("data", None, None)),
        ("tensor_parallel", P(None, "model"), P("model", None), P(None, "model", None)),
        ("fsdp_tp", P("data", "model"), P("model", "data"), P("data", "model", None)),
    ],
)
def test_param_specs_follow_rules(rules, wi, embedding, query):
    specs = _specs(rules)
    layer = specs["encoder"]["layers_0"]
    assert layer["mlp"]["wi_0"]["kernel"] == wi  # (embed, mlp)
    assert specs["token_embedder"]["embedding"] == embedding  # (vocab, embed)
    assert layer["attention"]["query"]["kernel"] == query  # (embed, heads, kv)
    # Norm scales and relative-position tables are never sharded on `model`/`data` here
    # beyond their embed axis.
    assert specs["encoder"]["relpos_bias"]["rel_embedding"] in (P(None, None), P("model", None))


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="known"):
        partitioning.get_rules("zero3")


def test_opt_state_specs_follow_params():
    config = T5Config.tiny(vocab_size=256)
    params = abstract_params(config)
    specs = _specs("fsdp_tp")
    tx = optax.adafactor(1e-3, min_dim_size_to_factor=32)
    opt_shapes = jax.eval_shape(tx.init, params)
    opt_specs = partitioning.opt_state_specs(opt_shapes, params, specs, min_dim_size_to_factor=32)
    # Same tree structure as the state, PartitionSpec leaves.
    assert jax.tree.structure(opt_shapes) == jax.tree.structure(
        opt_specs, is_leaf=lambda x: isinstance(x, P)
    )
    factored = [s for s in jax.tree.leaves(opt_shapes, is_leaf=lambda x: isinstance(x, factorized.FactoredState))
                if isinstance(s, factorized.FactoredState)][0]
    fspecs = [s for s in jax.tree.leaves(opt_specs, is_leaf=lambda x: isinstance(x, factorized.FactoredState))
              if isinstance(s, factorized.FactoredState)][0]
    wi = params["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]  # [embed 64, mlp 128]
    d1, d0 = factorized._factored_dims(wi.shape, True, 32)
    full = specs["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]  # P(data, model)
    row = fspecs.v_row["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]
    col = fspecs.v_col["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]
    assert row == P(*[a for i, a in enumerate(full) if i != d0])
    assert col == P(*[a for i, a in enumerate(full) if i != d1])
    assert factored.v_row["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"].shape == tuple(
        n for i, n in enumerate(wi.shape) if i != d0
    )
    # Unfactored 1-D params keep a full `v` with the param's own spec.
    scale_spec = specs["encoder"]["encoder_norm"]["scale"]
    assert fspecs.v["encoder"]["encoder_norm"]["scale"] == scale_spec


def test_shard_bytes_on_abstract_mesh():
    mesh = AbstractMesh((4, 2), ("data", "model"))
    sizes = dict(zip(mesh.axis_names, mesh.axis_sizes))
    assert partitioning.shard_bytes((64, 128), 4, P("data", "model"), sizes) == 16 * 64 * 4
    assert partitioning.shard_bytes((64, 128), 4, P(), sizes) == 64 * 128 * 4


def test_batch_size_must_divide_with_a_hint():
    assert input_pipeline.check_batch_size(64, process_count=4, data_parallel_size=8) == 16
    with pytest.raises(ValueError, match=r"BATCH_SIZE=20 .*--gin.BATCH_SIZE=24 or 16"):
        input_pipeline.check_batch_size(20, process_count=2, data_parallel_size=8)
    with pytest.raises(ValueError, match="microbatches"):
        input_pipeline.check_batch_size(8, process_count=1, data_parallel_size=4, num_microbatches=4)
