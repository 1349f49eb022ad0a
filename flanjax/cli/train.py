"""`python -m flanjax.train --gin_file=runs/demo.gin --gin.TRAIN_STEPS=300`.

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

import os
import sys
from typing import Sequence

from flanjax.cli import gin_setup, runner

REQUIRED_MACROS = ("MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS", "TRAIN_STEPS", "BATCH_SIZE", "MODEL_DIR")
# Optional, but a file may mark them %gin.REQUIRED (finetune.gin: INITIAL_CHECKPOINT_PATH).
OPTIONAL_MACROS = ("INITIAL_CHECKPOINT_PATH", "HELDOUT_CLUSTER", "SEED", "CHECKPOINT_PERIOD", "EVAL_PERIOD")


def main(argv: Sequence[str] | None = None) -> int:
    bindings, args = gin_setup.parse_command_line(
        argv, "python -m flanjax.train", __doc__, runner.add_distributed_flags
    )
    runner.initialize_distributed(args)

    import gin  # pylint: disable=g-import-not-at-top
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.train import loop  # pylint: disable=g-import-not-at-top

    gin_setup.register_configurables("train")
    gin_setup.parse_gin(args.gin_file, bindings, args.gin_search_paths)
    gin_setup.check_macros(REQUIRED_MACROS)
    gin_setup.check_macros(OPTIONAL_MACROS, optional=True)
    gin_setup.configure_data_locations()
    model_dir = gin_setup.macro_value("MODEL_DIR")
    gin.finalize()
    config_path = os.path.join(os.path.abspath(model_dir), "config.gin")
    if jax.process_index() == 0:
        gin_setup.write_config(config_path)
    try:
        result = gin.get_configurable("train")()
    except loop.NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return runner.EXIT_FAILED
    if jax.process_index() == 0:
        gin_setup.write_config(config_path, operative=True)
    print(f"[train] {result.status} at step {result.step}; outputs in {model_dir}", flush=True)
    return runner.EXIT_OK
