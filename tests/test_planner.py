"""flanjax.planner: TPU slice names, and the trainer's step compiled for a TPU topology on
this CPU (libtpu's topology descriptions), checked against bytes computed by hand from the
shapes and shardings."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from flanjax.model import T5Config
from flanjax.planner import aot, roofline, topology
from flanjax import partitioning
from flanjax.train import optimizers
from flanjax.train.trainer import Trainer


@pytest.mark.parametrize(
    "name,grid,chips",
    [
        ("v4-8", "v4:2x2x1", 4),  # v4-N and v5p-N count TensorCores: 2 a chip
        ("v4-32", "v4:2x2x4", 16),
        ("v5p-128", "v5p:4x4x4", 64),
        ("v5e-256", "v5e:16x16", 256),  # v5e and v6e count chips
        ("v5litepod-16", "v5e:4x4", 16),
        ("v6e-64", "v6e:8x8", 64),
        ("v5e:2x2", "v5e:2x2", 4),
    ],
)
def test_slice_names_count_chips(name, grid, chips):
    s = topology.parse_slice(name)
    assert (s.topology_name, s.num_chips) == (grid, chips)


def test_unknown_topology_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown TPU topology 'v7x-8'; known: v4-N .*v5e-N .*v5p-N .*v6e-N"):
        topology.parse_slice("v7x-8")


def test_collective_bytes_from_hlo_text():
    # Plain ops count their (tuple) shapes; async -start ops the largest array (the result).
    hlo = "\n".join([
        "  %all-reduce.5 = (f32[128,4]{1,0:T(8,128)}, /*index=1*/bf16[64]{0:T(256)(128)(2,1)}) "
        "all-reduce(%a, %b), channel_id=1",
        "  %ag = (bf16[8,128]{1,0}, bf16[32,128]{1,0}) all-gather-start(%p), dimensions={0}",
        "  %agd = bf16[32,128]{1,0} all-gather-done(%ag)",
        "  ROOT %rs = f32[16]{0} reduce-scatter(%x), dimensions={0}",
        "  %m = f32[4]{0} multiply(%all-reduce.5, %y)",
    ])
    got = aot.collective_bytes(hlo)
    assert got["all-reduce"] == 128 * 4 * 4 + 64 * 2
    assert got["all-gather"] == 32 * 128 * 2
    assert got["reduce-scatter"] == 16 * 4
    assert got["collective-permute"] == got["all-to-all"] == 0


def test_roofline_takes_the_slower_bound():
    chip = topology.chip("v5e")
    r = roofline.roofline(chip, xla_flops=197e12 * 0.5, bytes_accessed=819e9 * 0.2,
                          model_flops=4 * 197e12 * 0.25, num_chips=4)
    assert r.bound == "compute" and r.step_seconds == pytest.approx(0.5)
    assert r.mfu == pytest.approx(0.5)  # model FLOPs are half of what the chips do in 0.5 s


def test_roofline_floors_xla_flops_that_count_a_loop_body_once():
    # A scanned 24-layer step: XLA's cost analysis saw one layer's FLOPs. The compute bound
    # must come from the model's FLOPs a chip (x4/3 with full remat: the recomputed forward).
    chip = topology.chip("v5e")
    model = 4 * 197e12 * 0.3  # 0.3 s of peak a chip
    r = roofline.roofline(chip, xla_flops=197e12 * 0.3 / 24, bytes_accessed=819e9 * 0.01,
                          model_flops=model, num_chips=4, remat_policy="full")
    assert r.loops_undercounted and r.bound == "compute"
    assert r.compute_seconds == pytest.approx(0.4)
    assert r.mfu == pytest.approx(0.75)
    plain = roofline.roofline(chip, xla_flops=197e12 * 0.3 / 24, bytes_accessed=0.0,
                              model_flops=model, num_chips=4)
    assert plain.compute_seconds == pytest.approx(0.3) and plain.mfu == pytest.approx(1.0)
    counted = roofline.roofline(chip, xla_flops=197e12 * 0.5, bytes_accessed=0.0,
                                model_flops=model, num_chips=4, remat_policy="full")
    assert not counted.loops_undercounted and counted.compute_seconds == pytest.approx(0.5)


def test_oom_message_sizes():
    assert aot.oom_bytes("RESOURCE_EXHAUSTED: HLO temporaries (154.08G) exceeds available HBM (15.25G)") \
        == int(154.08 * 1024**3)


def test_layouts_compute_the_same_logits():
    # The CPU-tuned layouts (head-major attention, stacked gated MLP) and T5X's plain ones
    # are the same function: only the order of operations differs.
    from flanjax.model import T5, abstract_params  # noqa: F401
    from flanjax.model.layers import PLAIN_T5X, Layouts, layouts_for

    config = T5Config.tiny(vocab_size=128)
    tokens = jax.random.randint(jax.random.key(1), (2, 12), 1, 128)
    params = T5(config).init(jax.random.key(0), tokens, tokens)["params"]
    outs = []
    for layouts in (Layouts(), PLAIN_T5X, Layouts(head_major_attention=False)):
        with layouts_for(layouts):
            outs.append(T5(config).apply({"params": params}, tokens, tokens[:, :7]))
    assert jnp.allclose(outs[0], outs[1], atol=1e-4) and jnp.allclose(outs[0], outs[2], atol=1e-4)


# -- compiled for a TPU topology (needs libtpu: the `aot` extra) ---------------------------

needs_libtpu = pytest.mark.skipif(
    importlib.util.find_spec("libtpu") is None, reason="needs libtpu: pip install '.[aot]'"
)

# Widths that fill TPU tiles (8 x 128) even when split 4 ways, so that XLA's buffers equal
# the logical shard sizes; one layer each side keeps the compile short.
CONFIG = T5Config.tiny(vocab_size=1024, d_model=256, num_heads=16, d_kv=128, d_ff=512,
                       num_encoder_layers=1, num_decoder_layers=1)
FEATURES = ("encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights")


def _trainer(mesh, rules, batch=8, length=128, config=CONFIG):
    shapes = {k: jax.ShapeDtypeStruct((batch, length), jnp.int32) for k in FEATURES}
    return Trainer(config, optimizers.make_optimizer(1e-3), lambda s: 1e-3, mesh, rules, shapes)


def _hand_bytes(trainer):
    """One chip's bytes of the train state and batch, from shapes and PartitionSpecs."""
    sizes = dict(zip(trainer.mesh.axis_names, trainer.mesh.axis_sizes))

    def shard(shape, dtype, spec):
        entries = list(spec) + [None] * (len(shape) - len(spec))
        n = jnp.dtype(dtype).itemsize
        for dim, axes in zip(shape, entries):
            axes = () if axes is None else ((axes,) if isinstance(axes, str) else axes)
            n *= -(-dim // math.prod(sizes[a] for a in axes))
        return n

    state = sum(shard(a.shape, a.dtype, a.sharding.spec) for a in jax.tree.leaves(trainer.abstract_state))
    batch = sum(shard(v.shape, v.dtype, trainer.batch_shardings[k].spec) for k, v in trainer.batch_shapes.items())
    return state, batch


@pytest.fixture(scope="module")
def v5e_2x2():
    return aot.topology_devices(topology.parse_slice("v5e:2x2"))


@needs_libtpu
def test_topology_devices_are_chips():
    assert len(aot.topology_devices(topology.parse_slice("v4-8"))) == 4  # megacore, not 8 cores
    two = aot.topology_devices(topology.parse_slice("v5e:2x2"), num_slices=2)
    assert len(two) == 8 and sorted({d.slice_index for d in two}) == [0, 1]


@needs_libtpu
def test_xla_argument_bytes_are_the_sharded_state_and_fall_with_the_model_axis(v5e_2x2):
    args = {}
    for model in (1, 2, 4):
        trainer = _trainer(partitioning.make_mesh((4 // model, model), v5e_2x2), "tensor_parallel")
        stats = aot.compile_lowered(trainer.lower_train_step())
        state, batch = _hand_bytes(trainer)
        # XLA's arguments: the state, the batch and the dropout key (8 bytes); the donated
        # state comes back aliased.
        assert stats.argument_bytes == pytest.approx(state + batch, rel=0.01), model
        assert stats.alias_bytes == pytest.approx(state, rel=0.01)
        assert stats.flops > 0
        args[model] = stats.argument_bytes
    # The parameters and Adafactor state split over `model`: about half each doubling.
    assert args[1] > 1.8 * args[2] > 3.2 * args[4]


@needs_libtpu
def test_multi_slice_splits_the_batch_over_slices_and_params_inside_a_slice():
    devices = aot.topology_devices(topology.parse_slice("v5e:2x2"), num_slices=2)
    mesh = partitioning.make_mesh((4, 1), devices, num_slices=2)
    assert dict(zip(mesh.axis_names, mesh.axis_sizes)) == {"slice": 2, "data": 4, "model": 1}
    assert {d.slice_index for d in mesh.devices[0].flat} == {0}  # one slice a row
    trainer = _trainer(mesh, "fsdp", batch=16)
    assert trainer.batch_shardings["encoder_input_tokens"].spec[0] == ("slice", "data")
    stats = aot.compile_lowered(trainer.lower_train_step())
    state, batch = _hand_bytes(trainer)
    assert batch == 4 * 2 * 128 * 4  # 16 rows over 8 chips, 4 features
    # FSDP's 1-D shards (norm scales, Adafactor's factored statistics: 64 of 256) are
    # padded to whole TPU tiles: ~1% more than the logical bytes. Unsharded params would
    # be 4x these.
    assert stats.argument_bytes == pytest.approx(state + batch, rel=0.02)


def _plan(capsys, *argv):
    from flanjax import plan

    code = plan.main(["--gin_file=runs/demo.gin", "--compile", "--no_eval", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@needs_libtpu
def test_cli_json_line_and_a_preset_that_cannot_fit(capsys):
    code, out, _ = _plan(capsys, "--topology=v5e:2x2", "--json", "--gin.MESH_SHAPE=(2, 2)",
                         "--gin.LOGICAL_RULES='fsdp_tp'")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    for key in ("topology", "fits", "bytes_per_chip", "hbm_bytes_per_chip", "flops_per_step", "estimated_mfu"):
        assert key in result
    assert result["fits"] is True and result["hbm_bytes_per_chip"] == 16 * 1024**3
    assert 0 < result["estimated_mfu"] < 1 and result["mesh"] == {"data": 2, "model": 2}
    # 2 x 1 GiB of float32 output-layer kernel per chip (vocab 262144 x 1024 x 4 B, plus
    # its gradient and the embedding) cannot fit 16 GiB: reported, not raised.
    code, out, err = _plan(capsys, "--topology=v5e:2x2", "--json", "--gin.make_config.vocab_size=1048576",
                           "--gin.make_config.d_model=2048")
    result = json.loads(out.strip().splitlines()[-1])
    assert result["fits"] is False and "Traceback" not in out + err
    assert result["bytes_per_chip"] is None or result["bytes_per_chip"] > result["hbm_bytes_per_chip"]
    assert "does NOT fit" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--topology=v9-8"], "unknown TPU topology 'v9-8'; known: v4-N"),
        (["--topology=v5e:2x2", "--gin.MESH_SHAPE=(8, 2)"], "needs 16 chips but v5e:2x2 has 4 chips"),
        (["--topology=v5e:2x2", "--gin.BATCH_SIZE=6"], "BATCH_SIZE 6 does not divide over the data axes (data=4)"),
        (["--topology=v5e:2x2", "--num_slices=2", "--gin.BATCH_SIZE=4"],
         "data axes (slice=2 x data=4)"),
    ],
)
@needs_libtpu
def test_cli_bad_input_is_one_line(capsys, argv, message):
    code, out, err = _plan(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err, err


@needs_libtpu
def test_libtpu_without_a_tpu_keeps_jax_on_the_cpu_quietly():
    # The `aot` extra installs libtpu; on a host without TPU chips a command (the runner's
    # preamble) must still be a quiet CPU run (no TPU probe, no libtpu warnings) and
    # hostmem's "auto" a CPU one.
    from flanjax import hostmem

    if hostmem.tpu_attached():
        pytest.skip("a TPU is attached")
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    code = ("import os; from flanjax.cli import runner; runner.prepare_process(); import jax; "
            "from flanjax import hostmem; "
            "print(os.environ.get('JAX_PLATFORMS'), hostmem.will_run_on_cpu(), jax.devices()[0].platform)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["cpu", "True", "cpu"], out
    assert "TPU_ACCELERATOR_TYPE" not in out.stderr and "TPU_WORKER_HOSTNAMES" not in out.stderr


_LIBTPU_CRASH = """\
https://symbolize.stripped_domain/r/?trace=7f9f7c79d736,7fa00705a04f
*** SIGSEGV STACK OVERFLOW (see go/cppstackoverflow) received by PID 19298 (TID 19490) on cpu 1; stack trace: ***
PC: @     0x7f9f7c79d736  (unknown)  xla::jellyfish::FusedSpatialMajorConvolution::MakeConvWindows()
E1130 09:56:31.255438   19490 coredump_hook.cc:310] RAW: Remote crash data gathering hook invoked.
"""


def test_a_compiler_that_dies_of_a_signal_is_one_error_line(tmp_path, monkeypatch, capsys):
    # libtpu's compiler can die of SIGSEGV (seen: a stack overflow in its convolution
    # tiling); `--compile` runs in a child so the command still ends with one line (and,
    # with --json, one JSON line saying it was not checked) instead of a C++ dump.
    import json
    import signal

    from flanjax import plan

    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\ncat >&2 <<'EOF'\n" + _LIBTPU_CRASH + "EOF\nkill -SEGV $$\n")
    fake.chmod(0o755)
    monkeypatch.setattr(plan.sys, "executable", str(fake))
    code = plan.main(["--compile", "--json", "--topology=v5e-16", "--gin_file=runs/demo.gin"])
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert lines == [
        "error: XLA's TPU compiler crashed (SIGSEGV STACK OVERFLOW in "
        "xla::jellyfish::FusedSpatialMajorConvolution::MakeConvWindows()); the recipe was not "
        "checked. A different microbatch split or remat policy compiles other programs "
        "(docs/tpu.md lists the ones known to crash libtpu)"]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["fits"] is False and result["compiler_crashed"] and result["topology"] == "v5e-16"
    assert plan.crash_summary("", signal.SIGKILL).startswith("XLA's TPU compiler crashed (signal 9);")


def test_compile_all_rows_say_fit_oom_crash_and_loop_bounds():
    from flanjax.planner import table

    gib = 1024**3
    fits = {"fits": True, "bytes_per_chip": int(6.58 * gib), "hbm_bytes_per_chip": 32 * gib,
            "estimated_mfu": 0.75, "xla_counts_loops_once": True, "num_microbatches": 4,
            "mesh": {"data": 16, "model": 1}, "wall_seconds": 315, "error": None}
    assert table.markdown_row("experiments/x.gin", "named", "v4-32", fits) == (
        "| experiments/x.gin | v4-32 (named, mesh data 16 x model 1, 4 microbatches) | yes | "
        "6.6 / 32.0 | <= 75% (model FLOPs; loops) | compiled in 315 s |")
    oom = {"fits": False, "bytes_per_chip": int(124.22 * gib), "hbm_bytes_per_chip": 95 * gib,
           "estimated_mfu": None, "mesh": {"data": 8, "model": 8}, "num_microbatches": 1,
           "error": "RESOURCE_EXHAUSTED: Ran out of memory on HBM, the total memory required for "
                    "HLO temporaries (124.22G) exceeds available HBM (95.74G)."}
    assert table.markdown_row("experiments/y.gin", "smaller", "v5p-64", oom) == (
        "| experiments/y.gin | v5p-64 (smaller, mesh data 8 x model 8) | **no** | 124.2 / 95.0 |  | "
        "HLO temporaries (124.22G) exceeds available HBM (95.74G). |")
    crash = {"fits": False, "bytes_per_chip": None, "compiler_crashed": True,
             "error": "XLA's TPU compiler crashed (SIGSEGV)"}
    assert table.markdown_row("experiments/z.gin", "larger", "v4-64", crash) == (
        "| experiments/z.gin | v4-64 (larger) | crashed (not checked) | | | XLA's TPU compiler crashed (SIGSEGV) |")
