"""`python -m flanjax.train --gin_file=gin_configs/runs/demo.gin --gin.TRAIN_STEPS=300`.

T5X-style macros, set by the gin files or with --gin.NAME=VALUE:
  MIXTURE_OR_TASK_NAME, TASK_FEATURE_LENGTHS, TRAIN_STEPS, BATCH_SIZE, MODEL_DIR (required)
  INITIAL_CHECKPOINT_PATH, HELDOUT_CLUSTER, SEED, CHECKPOINT_PERIOD, EVAL_PERIOD
The full config goes to MODEL_DIR/config.gin at the start and the operative config (what
was actually used, defaults included) replaces it at the end.

Multi-host: `jax.distributed.initialize()` runs when the environment says this is one
worker of several (Cloud TPU pod slice, SLURM) or with --distributed; pass
--coordinator_address/--num_processes/--process_id (or JAX_COORDINATOR_ADDRESS,
JAX_NUM_PROCESSES, JAX_PROCESS_ID) where there is no auto-detection, e.g. GPU hosts.

Exit status: 0 done (or saved after SIGTERM), 1 non-finite loss, 2 configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REQUIRED_MACROS = ("MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS", "TRAIN_STEPS", "BATCH_SIZE", "MODEL_DIR")
# Optional, but a file may mark them %gin.REQUIRED (finetune.gin: INITIAL_CHECKPOINT_PATH).
OPTIONAL_MACROS = ("INITIAL_CHECKPOINT_PATH", "HELDOUT_CLUSTER", "SEED", "CHECKPOINT_PERIOD", "EVAL_PERIOD")


def _on_multihost_env() -> bool:
    hosts = os.environ.get("TPU_WORKER_HOSTNAMES", "")
    if "," in hosts:
        return True
    return int(os.environ.get("SLURM_NTASKS", "1")) > 1 or os.environ.get("FLANJAX_DISTRIBUTED") == "1"


def maybe_initialize_distributed(args: argparse.Namespace) -> None:
    import jax

    if not (args.distributed or _on_multihost_env() or args.coordinator_address):
        return
    # CPU-only clusters (tests, CPU hosts) need a collectives implementation; no effect elsewhere.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kwargs = {}
    if args.coordinator_address:
        kwargs = dict(
            coordinator_address=args.coordinator_address,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    jax.distributed.initialize(**kwargs)


def _add_distributed_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--distributed", action="store_true", help="force jax.distributed.initialize()")
    # GPU hosts launched by hand (docs/tpu.md): the JAX_* variables fill these in.
    env = os.environ.get
    parser.add_argument("--coordinator_address", default=env("JAX_COORDINATOR_ADDRESS"))
    parser.add_argument("--num_processes", type=int,
                        default=int(env("JAX_NUM_PROCESSES")) if env("JAX_NUM_PROCESSES") else None)
    parser.add_argument("--process_id", type=int,
                        default=int(env("JAX_PROCESS_ID")) if env("JAX_PROCESS_ID") else None)


def main(argv: Sequence[str] | None = None) -> int:
    from flanjax import gin_utils

    try:
        bindings, args = gin_utils.parse_command_line(
            argv, "python -m flanjax.train", __doc__, _add_distributed_flags
        )
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    maybe_initialize_distributed(args)

    import gin
    import jax

    from flanjax.train import loop  # registers the configurables  # noqa: F401
    from flanjax.model import config as _model_config  # noqa: F401  (make_config)

    try:
        gin_utils.parse_gin(args.gin_file, bindings, args.gin_search_paths)
        gin_utils.check_macros(REQUIRED_MACROS)
        gin_utils.check_macros(OPTIONAL_MACROS, optional=True)
        model_dir = gin_utils.macro_value("MODEL_DIR")
        gin.finalize()
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    config_path = os.path.join(os.path.abspath(model_dir), "config.gin")
    if jax.process_index() == 0:
        gin_utils.write_config(config_path)
    try:
        result = loop.train()
    except loop.NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        # Configuration errors (batch size vs mesh, vocabulary, unknown mixture, mesh shape)
        # are ValueErrors with a message that says what to change.
        print(f"error: {gin_utils.one_line(e)}", file=sys.stderr)
        return 2
    except TypeError as e:
        if "gin" in str(e).lower() or "configurable" in str(e):
            print(f"error: gin: {gin_utils.one_line(e)}", file=sys.stderr)
            return 2
        raise
    if jax.process_index() == 0:
        gin_utils.write_config(config_path, operative=True)
    print(f"[train] {result.status} at step {result.step}; outputs in {model_dir}", flush=True)
    return 0


if __name__ == "__main__":
    from flanjax import hostmem

    hostmem.keep_freed_memory()  # before JAX starts its CPU client; see flanjax/hostmem.py
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # tf.data's py_function iterators can hang interpreter shutdown; all outputs are
    # written and checkpoints finished by now.
    os._exit(code)
