"""`python -m flanjax.plan`: per-device memory from shapes and rules, nothing allocated."""

import dataclasses

import gin
import jax
import pytest

from flanjax import plan as plan_lib
from flanjax.model import T5Config, abstract_params


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_plan_divides_params_by_the_mesh():
    config = T5Config.tiny(vocab_size=256)
    n = sum(a.size for a in jax.tree.leaves(abstract_params(config)))
    lengths = {"inputs": 32, "targets": 8}
    dp = plan_lib.plan(config, mesh_shape=(1, 1), rules="data_parallel", batch_size=8, feature_lengths=lengths)
    assert dp["num_params"] == n
    assert dp["params"] == dp["grads"] == 4 * n
    # FSDP over 4: every parameter with an embed axis is split 4 ways; the rest (norm
    # scales, relative-position tables) stay whole.
    fsdp = plan_lib.plan(config, mesh_shape=(4, 1), rules="fsdp", batch_size=8, feature_lengths=lengths)
    assert dp["params"] / 4 < fsdp["params"] < dp["params"] / 3.5
    assert fsdp["opt_state"] < dp["opt_state"]
    # Activations are per data shard: a quarter of the batch, a quarter of the bytes.
    assert fsdp["local_batch"] == 2 and fsdp["activations"] == pytest.approx(dp["activations"] / 4, rel=0.01)
    tp = plan_lib.plan(config, mesh_shape=(1, 4), rules="tensor_parallel", batch_size=8, feature_lengths=lengths)
    assert tp["activations"] < dp["activations"]


def test_cli_plans_xxl_on_a_pod_without_devices(capsys):
    assert plan_lib.main([
        "--gin_file=experiments/flan_t5_xxl_finetune.gin", "--mesh", "data=32,model=8",
        "--device", "tpu-v4", "--gin.make_config.remat_policy='full'",
    ]) == 0
    out = capsys.readouterr().out
    assert "11.1" in out and "256 devices" in out and "fsdp_tp" in out
    for label in ("parameters", "gradients", "optimizer state", "activations", "total"):
        assert label in out
    assert "fits" in out and "NOT" not in out


@pytest.mark.parametrize(
    "preset,experiment,device",
    [
        ("v4-8", "flan_t5_xl_finetune", "tpu-v4"),
        ("v4-32", "flan_t5_xxl_finetune", "tpu-v4"),
        ("v5e-16", "flan_t5_xl_finetune", "tpu-v5e"),
        # BATCH_SIZE 64 over 64 data shards: one sequence a chip, no room for the
        # experiment's 2 microbatches (the trainer refuses 64 / (64 x 2)).
        ("v5e-256", "flan_t5_xxl_finetune --gin.train.num_microbatches=1", "tpu-v5e"),
        ("v5p-128", "t0_xxl", "tpu-v5p"),
    ],
)
def test_slice_presets_fit_the_sizes_they_are_for(capsys, preset, experiment, device):
    # Each partitioning preset's comment names the Flan-T5 size it is for: parameters,
    # gradients, Adafactor state and saved activations must fit the chip's memory.
    experiment, *extra = experiment.split()
    assert plan_lib.main([
        f"--gin_file=experiments/{experiment}.gin", f"--gin_file=partitioning/{preset}.gin",
        "--device", device, "--gin.make_config.remat_policy='full'", *extra,
    ]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert total.endswith("fits"), out


def test_a_half_or_double_slice_keeps_the_sequences_a_chip_works_on_at_a_time(capsys):
    # The XL recipe: 64 sequences, FSDP over a v4-32's 16 chips, 4 microbatches = 1
    # sequence a chip at a time. On 8 chips that takes 8 microbatches, on 32 chips 2.
    from flanjax import plan
    from flanjax.planner import recipe, topology

    run = recipe.Recipe(config=None, batch_size=64, feature_lengths={"inputs": 8, "targets": 8},
                        mesh_shape=(16, 1), rules="fsdp", num_microbatches=4)
    for name, chips, micro in (("v4-16", 8, 8), ("v4-64", 32, 2), ("v4-8", 4, 16), ("v4-32", 16, 4)):
        moved = plan._on_other_slice(run, topology.parse_slice(name), "v4-32")
        assert moved.mesh_shape == (-1, 1) and moved.num_microbatches == micro, name
        assert recipe.check_mesh(moved, topology.parse_slice(name)) == (chips, 1)
    assert "num_microbatches 4 -> 8 (the same 1 sequence a chip at a time)" in capsys.readouterr().out
    # More chips than sequences a chip needs: one microbatch, never zero.
    tp = dataclasses.replace(run, mesh_shape=(4, 4), num_microbatches=1)  # 16 a data shard
    assert plan._on_other_slice(tp, topology.parse_slice("v4-128"), "v4-32").num_microbatches == 1
    # No TPU_TOPOLOGY in the gin: only the mesh moves.
    assert plan._on_other_slice(run, topology.parse_slice("v4-16"), None).num_microbatches == 4


@pytest.mark.parametrize("batch, data, refused", [(12, 8, True), (16, 32, True), (16, 8, False)])
def test_plan_refuses_the_batches_the_trainer_refuses(capsys, batch, data, refused):
    """12 rows over 8 data shards (or 16 over 32) do not split evenly: the trainer refuses
    them (Trainer's batch check), so the plan must not say "1 per data shard ... fits"."""
    from flanjax.train.trainer import Trainer

    argv = ["--gin_file=runs/demo.gin", f"--mesh=data={data},model=1", f"--gin.BATCH_SIZE={batch}"]
    code = plan_lib.main(argv)
    out, err = capsys.readouterr()
    if refused:
        assert code == 2 and "fits" not in out, out
        assert err.startswith(f"error: BATCH_SIZE {batch} does not split over data-parallel size {data}"), err
        assert len(err.strip().splitlines()) == 1
    else:
        assert code == 0 and f"batch {batch} ({batch // data} per data shard)" in out, out
    # The trainer agrees, on an abstract mesh of the same shape (no devices needed).
    gin.clear_config()
    config = T5Config.tiny(vocab_size=128)
    mesh = jax.sharding.AbstractMesh((data, 1), ("data", "model"))
    shapes = {k: jax.ShapeDtypeStruct((batch, 8), "int32") for k in (
        "encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights")}
    from flanjax.train import optimizers

    if refused:
        with pytest.raises(ValueError, match=f"BATCH_SIZE {batch} does not split"):
            Trainer(config, optimizers.make_optimizer(1e-3), lambda s: 1e-3, mesh, "data_parallel", shapes)


def test_plan_json_without_compile_ends_with_one_json_line(capsys):
    """--help promises a JSON line with --json; the estimate prints it too (null where an
    estimate cannot know: topology, MFU). flops_per_step by hand from flops_per_token."""
    import json

    from flanjax.model import flops_per_token

    assert plan_lib.main(["--gin_file=runs/demo.gin", "--mesh=data=2,model=1", "--gin.BATCH_SIZE=8",
                          "--device=tpu-v4", "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(last)
    for key in ("topology", "fits", "bytes_per_chip", "hbm_bytes_per_chip", "flops_per_step", "estimated_mfu"):
        assert key in record, key
    assert record["topology"] is None and record["estimated_mfu"] is None and record["fits"] is True
    assert record["hbm_bytes_per_chip"] == 32 * 1024**3
    parts = sum(record[k] for k in ("params_bytes", "grads_bytes", "opt_state_bytes", "activation_bytes"))
    assert record["bytes_per_chip"] == parts
    lengths = {"inputs": 128, "targets": 32}  # runs/demo.gin's TASK_FEATURE_LENGTHS
    gin.clear_config()
    from flanjax.cli import gin_setup

    gin_setup.register_configurables("train")
    gin_setup.parse_gin(["runs/demo.gin"], [], [])
    assert dict(gin_setup.macro_value("TASK_FEATURE_LENGTHS")) == lengths
    config = gin.get_configurable("make_config")()
    assert record["flops_per_step"] == pytest.approx(flops_per_token(config, 128, 32) * 8 * 160)
