"""One worker of the multi-host last-good test: `python _recovery_worker.py PID NPROC PORT MODEL_DIR STEPS [FAIL]`.

Trains `flanjax.train.loop.train` to STEPS (a checkpoint every step) with
RESUME_FROM_LAST_GOOD=True. FAIL="step:process" makes restoring that step fail on that
process only (a shard only it reads is unreadable). Prints the step each process resumed
from and each move into corrupt_checkpoints/ it made.
"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"

import jax  # noqa: E402

pid, nproc, port, model_dir, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
fail = sys.argv[6] if len(sys.argv) > 6 else ""
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)

import functools  # noqa: E402

from _train_helpers import process_rows, tiny_config  # noqa: E402
from flanjax.train import loop, optimizers, recovery  # noqa: E402

GLOBAL_BATCH = 8

if fail:
    fail_step, fail_pid = (int(x) for x in fail.split(":"))
    restore_step = loop._restore_step  # pylint: disable=protected-access

    def flaky_restore(ckpt_dir, abstract_state, step):
        if step == fail_step and pid == fail_pid:
            raise OSError(f"DATA_LOSS: injected: step {step} unreadable on process {pid}")
        return restore_step(ckpt_dir, abstract_state, step)

    loop._restore_step = flaky_restore  # pylint: disable=protected-access

newest_readable = recovery.restore_newest_readable


def spy_restore(*args, **kwargs):
    state, step = newest_readable(*args, **kwargs)
    print(f"worker {pid} resumed from step {step}", flush=True)
    return state, step


recovery.restore_newest_readable = spy_restore
move = recovery.shutil.move
recovery.shutil.move = lambda src, dst: (print(f"worker {pid} moved {src}", flush=True), move(src, dst))[1]


loop.train(
    model_config=tiny_config(), mixture_or_task_name="synthetic",
    task_feature_lengths={"inputs": 16, "targets": 8}, batch_size=GLOBAL_BATCH, train_steps=steps,
    model_dir=model_dir, host_batches=process_rows(pid, nproc, GLOBAL_BATCH), log_period=1, checkpoint_period=1, keep_checkpoints=None,
    mesh_shape=(-1, 1), logical_rules="data_parallel", resume_from_last_good=True,
    make_schedule=functools.partial(optimizers.make_schedule, learning_rate=1e-2),
)
print(f"worker {pid} done", flush=True)
from jax.experimental import multihost_utils  # noqa: E402

multihost_utils.sync_global_devices("flanjax_test_done")  # process 0 (the coordinator) exits last
jax.distributed.shutdown()
sys.stdout.flush()
os._exit(0)
