"""`python -m flanjax.train --gin_file=runs/demo.gin --gin.TRAIN_STEPS=300`.

T5X-style macros, set by the gin files or with --gin.NAME=VALUE:
  MIXTURE_OR_TASK_NAME, TASK_FEATURE_LENGTHS, TRAIN_STEPS, BATCH_SIZE, MODEL_DIR (required)
  INITIAL_CHECKPOINT_PATH, HELDOUT_CLUSTER, SEED, CHECKPOINT_PERIOD, EVAL_PERIOD
  INITIAL_STEP (fine-tuning: the step count to continue; default the initial checkpoint's
  recorded step, else 0). As in T5X, TRAIN_STEPS is the step to stop at, counting from the
  start of pre-training: 1,100,000 + 84,000 for 84,000 steps from an LM-adapted checkpoint.
HELDOUT_CLUSTER follows from a `{mixture}_minus_{cluster}` MIXTURE_OR_TASK_NAME (a setting
that names another cluster is refused); set it yourself for other mixtures.
Held-out scores while training, with `flanjax.eval`'s settings (one gin file serves both):
  EVAL_ON, EVAL_COLLECTION, EVAL_FORMAT, EVAL_MODE, MAX_EVAL_EXAMPLES,
  EVAL_EXAMPLES_PER_CLUSTER (scored every EVAL_PERIOD steps on the training mesh), and
  KEEP_BEST (a cluster, dataset or 'overall': its best checkpoint is kept)
The full config goes to MODEL_DIR/config.gin at the start and the operative config (what
was actually used, defaults included) replaces it at the end.

Multi-host: `jax.distributed.initialize()` runs when the environment says this is one
worker of several (Cloud TPU pod slice, SLURM) or with --distributed; pass
--coordinator_address/--num_processes/--process_id (or JAX_COORDINATOR_ADDRESS,
JAX_NUM_PROCESSES, JAX_PROCESS_ID) where there is no auto-detection, e.g. GPU hosts.

One run per MODEL_DIR: a second one refuses while the first holds MODEL_DIR/run.lease
(refreshed while it lives; a stale lease of a dead run is taken over with a warning).
Nothing in MODEL_DIR changes until the configuration, data and restore are validated; a
misspelled or ill-typed macro is an error before any work. Start-up says each phase
(input pipeline, model, first batch, compilation) as it begins; Ctrl-C or SIGTERM there
stops at once (exit 130 / 143, nothing saved). From the first step on, they save at the
next step boundary and stop (a second Ctrl-C stops at once). RESUME_FROM_LAST_GOOD=True
resumes from the newest readable checkpoint when the latest one is corrupt.

Exit status (for schedulers): 0 done; 75 interrupted by SIGTERM/SIGINT after saving (rerun
the same command to resume); 74 a checkpoint could not be written (disk full; the last good
step is intact: free space, rerun); 1 non-finite loss (or a bug); 2 bad input (nothing was run);
130 / 143 SIGINT / SIGTERM during start-up (nothing was saved).
"""

from __future__ import annotations

import os
import sys
from typing import Sequence

from flanjax.cli import gin_setup, runner

REQUIRED_MACROS = ("MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS", "TRAIN_STEPS", "BATCH_SIZE", "MODEL_DIR")
# Optional, but a file may mark them %gin.REQUIRED (finetune.gin: INITIAL_CHECKPOINT_PATH).
OPTIONAL_MACROS = ("INITIAL_CHECKPOINT_PATH", "INITIAL_STEP", "HELDOUT_CLUSTER", "SEED", "CHECKPOINT_PERIOD", "EVAL_PERIOD",
                   "EVAL_ON", "KEEP_BEST", "RESUME_FROM_LAST_GOOD")


def main(argv: Sequence[str] | None = None) -> int:
    bindings, args = gin_setup.parse_command_line(
        argv, "python -m flanjax.train", __doc__, runner.add_distributed_flags
    )
    runner.initialize_distributed(args)

    import gin  # pylint: disable=g-import-not-at-top
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.train import interrupt, loop, recovery, run_lock  # pylint: disable=g-import-not-at-top

    gin_setup.register_configurables("train")
    gin_setup.parse_gin(args.gin_file, bindings, args.gin_search_paths)
    gin_setup.check_macros(REQUIRED_MACROS)
    gin_setup.check_macros(OPTIONAL_MACROS, optional=True)
    values = gin_setup.check_known_and_typed(REQUIRED_MACROS + OPTIONAL_MACROS, "python -m flanjax.train")
    heldout_from_mixture()
    gin_setup.configure_data_locations()
    model_dir = gin_setup.macro_value("MODEL_DIR")
    gin.finalize()
    config_path = os.path.join(os.path.abspath(model_dir), "config.gin")
    full_config = gin.config_str()
    writer = jax.process_index() == 0
    lock = run_lock.RunLock(model_dir, command="python -m flanjax.train") if writer else None
    if lock is not None:
        lock.acquire()  # RunLockError: one line naming the holder, exit 2
    # Until the first step, SIGINT/SIGTERM stop at once (exit 130/143) and the `finally`
    # below releases the lease; each start-up phase is said as it begins.
    startup = interrupt.Startup(log=(lambda m: print(m, flush=True)) if writer else (lambda m: None))

    def on_validated() -> None:  # config.gin only once the run is known to be good
        if writer:
            recovery.atomic_write_text(config_path, full_config)

    try:
        # Before the model is built: an unknown cluster, missing eval data or a KEEP_BEST that
        # names no score is one line now, not at the first eval step hours later.
        held_out = held_out_arguments()
        result = gin.get_configurable("train")(
            resume_from_last_good=values.get("RESUME_FROM_LAST_GOOD") is True, on_validated=on_validated,
            startup=startup, **held_out,
        )
    except loop.NonFiniteLossError as e:
        print(f"error: {e}", file=sys.stderr)
        return runner.EXIT_FAILED
    finally:
        startup.close()
        if lock is not None:
            lock.release()
    if result.status == "already done":
        return runner.EXIT_OK
    if writer:
        recovery.atomic_write_text(config_path, gin.operative_config_str())
    print(f"[train] {result.status} at step {result.step}; outputs in {model_dir}", flush=True)
    return runner.EXIT_INTERRUPTED if result.status == "interrupted" else runner.EXIT_OK


def heldout_from_mixture() -> None:
    """HELDOUT_CLUSTER follows from a `{mixture}_minus_{cluster}` MIXTURE_OR_TASK_NAME; set
    to another cluster it is refused, naming both."""
    import gin  # pylint: disable=g-import-not-at-top

    mixture = gin_setup.macro_value("MIXTURE_OR_TASK_NAME")
    if not isinstance(mixture, str) or "_minus_" not in mixture:
        return
    cluster = mixture.split("_minus_", 1)[1]
    given = gin_setup.macro_value("HELDOUT_CLUSTER", optional=True)
    if isinstance(given, str) and given and given != cluster:
        raise runner.UsageError(
            f"HELDOUT_CLUSTER={given!r} contradicts MIXTURE_OR_TASK_NAME={mixture!r}, which holds "
            f"out {cluster!r}: leave HELDOUT_CLUSTER unset (it follows from the mixture name)")
    gin.parse_config(f"HELDOUT_CLUSTER = {cluster!r}")


def held_out_arguments() -> dict:
    """`periodic_eval` (built from EVAL_ON & co.) and `keep_best` (KEEP_BEST as a score key)."""
    import gin  # pylint: disable=g-import-not-at-top

    evaluator = gin.get_configurable("periodic_evaluator")()
    keep_best = gin_setup.macro_value("KEEP_BEST", optional=True)
    keep_best = keep_best if isinstance(keep_best, str) and keep_best else None
    out: dict = {}
    if evaluator is not None:
        out["periodic_eval"] = evaluator
    if keep_best:
        if evaluator is None:
            raise runner.UsageError(
                f"KEEP_BEST={keep_best!r} needs held-out scores: set EVAL_ON (and EVAL_PERIOD) "
                "or leave KEEP_BEST unset"
            )
        out["keep_best"] = evaluator.metric_key(keep_best)
    return out
