"""Plan a pod run from a CPU host: `python -m flanjax.plan`.

Fast estimate (shapes only, seconds; `flanjax.planner.estimate`):

    python -m flanjax.plan --gin_file=experiments/flan_t5_xxl_finetune.gin \
        --mesh data=32,model=8 --device tpu-v4

XLA's own numbers, compiled for the TPU slice on this CPU (needs `pip install
'flanjax[aot]'`; minutes for XL/XXL; `flanjax.planner.recipe`):

    python -m flanjax.plan --compile --topology v5p-128 [--num_slices 2] \
        --gin_file=experiments/t0_xxl.gin [--json]

prints, per chip, XLA's argument / output / temp / total bytes against the chip's HBM,
model and XLA FLOPs per step, the bytes of each collective kind, and a roofline step time
and MFU (an estimate; `flanjax.planner.roofline`). `--compile_all` compiles every
`experiments/*.gin` on its slice (TPU_TOPOLOGY) and on a half and a double slice, one
subprocess each, and prints the table that docs/tpu.md carries.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from typing import Sequence

from flanjax.planner.estimate import GIB, HBM_GIB, _SizesOnly, plan  # noqa: F401  (the API)


def _parse_mesh(text: str) -> tuple[int, int]:
    sizes = dict(item.split("=") for item in text.split(","))
    unknown = set(sizes) - {"data", "model"}
    if unknown:
        raise SystemExit(f"error: --mesh axes are data and model, got {sorted(unknown)}")
    return int(sizes.get("data", 1)), int(sizes.get("model", 1))


def _add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mesh", default=None, help="estimate: e.g. data=32,model=8 (default: MESH_SHAPE)")
    parser.add_argument("--device", default="tpu-v4", choices=sorted(HBM_GIB), help="estimate: HBM size")
    parser.add_argument("--rules", default=None, help="preset (default: LOGICAL_RULES)")
    parser.add_argument("--compile", action="store_true", help="compile for --topology (XLA's numbers)")
    parser.add_argument("--compile_all", action="store_true", help="the docs/tpu.md table")
    parser.add_argument("--topology", default=None, help="v4-32, v5e-256, v5p-128, v5e:4x4, ... "
                        "(default: the gin's TPU_TOPOLOGY)")
    parser.add_argument("--num_slices", type=int, default=None, help="default: the gin's NUM_SLICES or 1")
    parser.add_argument("--data_rest", action="store_true",
                        help="keep MESH_SHAPE's model axis, give the data axis the rest of the chips, and "
                        "rescale num_microbatches to keep the sequences a chip works on at a time")
    parser.add_argument("--no_eval", action="store_true", help="compile the train step only")
    parser.add_argument("--eval_batch_size", type=int, default=None, help="default: BATCH_SIZE")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (with or without --compile; "
                        "an estimate has no topology and no MFU: null)")
    parser.add_argument(_IN_CHILD, action="store_true", help=argparse.SUPPRESS)  # see _compile_in_child


def main(argv: Sequence[str] | None = None) -> int:
    from flanjax.cli import gin_setup as gin_utils
    from flanjax.cli.runner import one_line

    try:
        bindings, args = gin_utils.parse_command_line(argv, "python -m flanjax.plan", __doc__, _add_flags)
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.compile and not args.compiling_child:
        return _compile_in_child(list(sys.argv[1:] if argv is None else argv), args)
    if args.compile_all:
        from flanjax.planner import table

        search = [p for group in args.gin_search_paths for p in group.split(",") if p]
        return table.main(search + [gin_utils.CONFIGS_DIR], json_lines=args.json)

    import gin

    gin_utils.register_configurables("train")

    # Planning needs no run directory or checkpoint.
    defaults = ["MODEL_DIR = '/tmp/unused'", "INITIAL_CHECKPOINT_PATH = None"]
    try:
        gin_utils.parse_gin(args.gin_file, defaults + bindings, args.gin_search_paths)
        if args.compile:
            return _compile(args)
        return _estimate(args)
    except (gin_utils.GinError, ValueError) as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    finally:
        gin.clear_config()


_IN_CHILD = "--compiling_child"  # the compile's own process (a flag; never an environment variable)
_CRASH_RE = re.compile(r"^(?:\*\*\* )?(SIG[A-Z]+.*?)(?: \(see .*)?(?: received by PID.*)?$|^PC: @\s+\S+\s+\S+\s+(.*)$")


def crash_summary(stderr: str, signal_number: int) -> str:
    """One line for a compiler process killed by a signal: the signal and where it died."""
    what, where = f"signal {signal_number}", ""
    for line in stderr.splitlines():
        m = _CRASH_RE.match(line.strip())
        if m and m.group(1) and what.startswith("signal"):
            what = m.group(1).strip()
        elif m and m.group(2) and not where:
            where = m.group(2).strip()
    return (f"XLA's TPU compiler crashed ({what}{' in ' + where if where else ''}); the recipe "
            "was not checked. A different microbatch split or remat policy compiles other "
            "programs (docs/tpu.md lists the ones known to crash libtpu)")


def _compile_in_child(argv: list[str], args: argparse.Namespace) -> int:
    """`--compile` in a child process: libtpu's compiler can die of a signal (a stack
    overflow in its convolution tiling was seen), which no Python handler can catch; the
    parent then says so in one line (and one JSON line with --json) instead of a C++ dump."""
    import subprocess
    import tempfile

    with tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "flanjax.plan", *argv, _IN_CHILD],
                                stdout=subprocess.PIPE,
                                stderr=err_file, text=True)
        for line in proc.stdout:  # streamed: the compile's progress shows as it comes
            sys.stdout.write(line)
            sys.stdout.flush()
        proc.wait()
        err_file.seek(0)
        err = err_file.read()
    if proc.returncode >= 0:
        sys.stderr.write(err)
        return proc.returncode
    message = crash_summary(err, -proc.returncode)
    print(f"error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"topology": args.topology, "fits": False, "bytes_per_chip": None,
                          "error": message, "compiler_crashed": True}, sort_keys=True))
    return 2


def _compile(args: argparse.Namespace) -> int:
    from flanjax.cli import gin_setup as gin_utils
    from flanjax.planner import aot, recipe, topology

    name = args.topology or gin_utils.macro_value("TPU_TOPOLOGY", optional=True)
    if not isinstance(name, str):
        raise ValueError("pass --topology (e.g. v5p-128), or set TPU_TOPOLOGY in the gin")
    slice_ = topology.parse_slice(name)
    run = _recipe_from_gin()
    if args.rules:
        run = dataclasses.replace(run, rules=args.rules)
    if args.data_rest:
        run = _on_other_slice(run, slice_, gin_utils.macro_value("TPU_TOPOLOGY", optional=True))
    num_slices = args.num_slices or run.num_slices
    print(f"compiling the train step{'' if args.no_eval else ' and eval steps'} for "
          f"{num_slices} x {slice_.name} ({slice_.topology_name}, {slice_.num_chips * num_slices} chips) "
          "on this CPU ...", flush=True)
    try:
        report = recipe.compile_recipe(run, slice_, num_slices, eval_steps=not args.no_eval,
                                       eval_batch_size=args.eval_batch_size)
    except aot.CompileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _print_report(report, run)
    if args.json:
        print(json.dumps(report.to_json(), sort_keys=True))
    return 0 if report.train is not None or report.error_bytes is not None else 2


def _on_other_slice(run, slice_, named: object):
    """`--data_rest`: the recipe on another slice of the same model axis. The data axis takes
    the rest of the chips, and the microbatches are rescaled so that each chip works on as
    many sequences at a time as on the slice the gin names (TPU_TOPOLOGY): on half the chips
    twice the microbatches, on twice the chips half (at least 1). Said in the output."""
    from flanjax.planner import recipe, topology

    moved = dataclasses.replace(run, mesh_shape=(-1,) + tuple(run.mesh_shape[1:]))
    if not isinstance(named, str):
        return moved
    home = recipe.check_mesh(run, topology.parse_slice(named))
    here = recipe.check_mesh(moved, slice_)
    per_chip = run.batch_size / (home[0] * max(run.num_microbatches, 1))
    micro = max(1, round(run.batch_size / (here[0] * per_chip)))
    if micro != run.num_microbatches:
        print(f"on {slice_.name} instead of {named}: num_microbatches {run.num_microbatches} -> "
              f"{micro} (the same {per_chip:g} sequence{'' if per_chip == 1 else 's'} a chip at a time)", flush=True)
    return dataclasses.replace(moved, num_microbatches=micro)


def _recipe_from_gin():
    """The recipe `flanjax.train` would run under the gin config parsed now."""
    import inspect

    import gin

    from flanjax.planner.recipe import Recipe
    from flanjax.train import loop
    from flanjax.train.trainer import LossConfig

    defaults = {
        name: p.default for name, p in inspect.signature(loop.train).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    bound = gin.get_bindings("train")

    def value(name: str):
        return bound.get(name, defaults.get(name))

    schedule = gin.get_configurable("make_schedule")()
    return Recipe(
        config=gin.get_configurable("make_config")(),
        batch_size=int(value("batch_size")),
        feature_lengths=dict(value("task_feature_lengths")),
        mesh_shape=tuple(int(s) for s in value("mesh_shape")),
        rules=value("logical_rules"),
        num_microbatches=int(value("num_microbatches") or 1),
        num_slices=int(value("num_slices") or 1),
        loss_config=LossConfig(value("z_loss"), value("label_smoothing"), value("loss_normalizing_factor")),
        pack=bool(value("pack")),
        tx=gin.get_configurable("make_optimizer")(schedule),
        schedule=schedule,
    )


def _gib(n: float | None) -> str:
    return "?" if n is None else f"{n / GIB:.2f} GiB"


def _print_report(report, run) -> None:
    config = run.config
    chip = report.slice_.chip
    print(f"model: {config.d_model}d x {config.num_encoder_layers}+{config.num_decoder_layers} layers, "
          f"remat {config.remat_policy}, scan {config.scan_layers}; batch {run.batch_size}, lengths "
          f"{dict(run.feature_lengths)}, microbatches {run.num_microbatches}")
    print(f"mesh {report.mesh}, rules {report.rules}; {report.num_chips} chips {chip.generation} "
          f"({_gib(chip.hbm_bytes)} HBM each); compiled in {report.compile_seconds:.0f} s")
    if report.train is None:
        need = f" (needs ~{_gib(report.error_bytes)} a chip)" if report.error_bytes else ""
        print(f"train step: does NOT fit / did not compile{need}: {report.error}")
        return
    t = report.train
    print("train step, per chip (XLA):")
    for label, n in (("arguments (state + batch)", t.argument_bytes), ("outputs", t.output_bytes),
                     ("aliased (donated state)", -t.alias_bytes), ("temporaries", t.temp_bytes)):
        print(f"  {label:<28} {n / GIB:9.3f} GiB")
    verdict = "fits" if report.fits else "does NOT fit"
    print(f"  {'total':<28} {t.total_bytes / GIB:9.3f} GiB of {chip.hbm_bytes / GIB:.2f} GiB: {verdict}")
    print(f"  FLOPs per step: model {report.model_flops:.3e} (all chips), XLA {t.flops:.3e} a chip "
          f"(x{report.num_chips} = {t.flops * report.num_chips:.3e})")
    print("  collectives (bytes a chip, each HLO op once): " + ", ".join(
        f"{k} {_gib(v)}" for k, v in t.collectives.items() if v) or "none")
    r = report.roof
    print(f"  roofline ESTIMATE: step >= {r.step_seconds * 1e3:.1f} ms ({r.bound}-bound; compute "
          f"{r.compute_seconds * 1e3:.1f} ms, HBM {r.memory_seconds * 1e3:.1f} ms; no communication), "
          f"MFU <= {100 * r.mfu:.1f}%")
    if r.loops_undercounted:
        print("  (XLA's cost analysis counts each loop body once: scanned layers and microbatches "
              "run many times, so XLA's FLOPs and bytes above are a fraction of the step's; the "
              "compute bound uses the model's FLOPs instead, the HBM bound stays a lower bound)")
    for name, stats in report.eval.items():
        print(f"eval {name}: {_gib(stats.total_bytes)} a chip (temporaries {_gib(stats.temp_bytes)})")


def _estimate(args: argparse.Namespace) -> int:
    from flanjax.cli import gin_setup as gin_utils
    import gin

    lengths = gin_utils.macro_value("TASK_FEATURE_LENGTHS")
    batch_size = int(gin_utils.macro_value("BATCH_SIZE"))
    rules = args.rules or gin_utils.macro_value("LOGICAL_RULES", optional=True)
    config = gin.get_configurable("make_config")()
    if not isinstance(rules, str):
        rules = "data_parallel"
    if args.mesh:
        mesh = _parse_mesh(args.mesh)
    else:
        shape = gin_utils.macro_value("MESH_SHAPE", optional=True)
        if not isinstance(shape, (tuple, list)) or -1 in shape:
            raise ValueError("pass --mesh data=N,model=M (MESH_SHAPE has -1 or is unset)")
        mesh = tuple(shape)

    # The trainer's microbatches (train.num_microbatches): the same split it refuses or runs.
    micro = int(gin.get_bindings("train").get("num_microbatches") or 1)
    result = plan(config, mesh_shape=mesh, rules=rules, batch_size=batch_size, feature_lengths=dict(lengths),
                  num_microbatches=micro)
    hbm = HBM_GIB[args.device]
    total = result["params"] + result["grads"] + result["opt_state"] + result["activations"]
    print(f"model: {result['num_params'] / 1e9:.2f}B parameters ({config.param_dtype} params, "
          f"{config.dtype} activations, remat {config.remat_policy}, scan {config.scan_layers})")
    print(f"mesh: data={mesh[0]} x model={mesh[1]} ({mesh[0] * mesh[1]} devices), rules {rules}, "
          f"device {args.device}" + (f" ({hbm} GiB)" if hbm else ""))
    print(f"batch {batch_size} ({int(result['local_batch'])} per data shard"
          f"{f' and microbatch ({micro} microbatches)' if micro > 1 else ''}), lengths {dict(lengths)}")
    print("per device (ESTIMATE from shapes; no compiler temporaries: --compile gives XLA's):")
    for key, label in (("params", "parameters"), ("grads", "gradients"), ("opt_state", "optimizer state"),
                       ("activations", "activations (saved for backward)")):
        print(f"  {label:<34} {result[key] / GIB:9.3f} GiB")
    fits = None if not hbm else bool(total < 0.9 * hbm * GIB)
    verdict = {None: "", True: "  fits", False: "  does NOT fit (keep ~10% headroom)"}[fits]
    print(f"  {'total':<34} {total / GIB:9.3f} GiB{verdict}")
    if args.json:  # the keys of --compile's JSON line; what an estimate cannot know is null
        from flanjax.model import flops_per_token

        in_len, tgt_len = lengths["inputs"], lengths["targets"]
        print(json.dumps({
            "estimate": True, "topology": None, "device": args.device,
            "mesh": {"data": mesh[0], "model": mesh[1]}, "rules": rules, "num_microbatches": micro,
            "fits": fits, "bytes_per_chip": int(total),
            "hbm_bytes_per_chip": hbm * GIB if hbm else None,
            "params_bytes": int(result["params"]), "grads_bytes": int(result["grads"]),
            "opt_state_bytes": int(result["opt_state"]), "activation_bytes": int(result["activations"]),
            "flops_per_step": flops_per_token(config, in_len, tgt_len) * batch_size * (in_len + tgt_len),
            "estimated_mfu": None,
        }, sort_keys=True))
    return 0


if __name__ == "__main__":
    # No TPU is attached when planning: JAX itself runs on the CPU (the TPU is only compiled for).
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from flanjax.cli import runner

    runner.run("flanjax.plan")  # the commands' preamble: quiet start-up, errors as one line
