"""`python -m flanjax.plan`: per-device memory from shapes and rules, nothing allocated."""

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
        ("v5e-256", "flan_t5_xxl_finetune", "tpu-v5e"),
        ("v5p-128", "t0_xxl", "tpu-v5p"),
    ],
)
def test_slice_presets_fit_the_sizes_they_are_for(capsys, preset, experiment, device):
    # Each partitioning preset's comment names the Flan-T5 size it is for: parameters,
    # gradients, Adafactor state and saved activations must fit the chip's memory.
    assert plan_lib.main([
        f"--gin_file=experiments/{experiment}.gin", f"--gin_file=partitioning/{preset}.gin",
        "--device", device, "--gin.make_config.remat_policy='full'",
    ]) == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.strip().startswith("total"))
    assert total.endswith("fits"), out
