"""One worker of the multi-host test: `python _multihost_worker.py PID NPROC PORT MODEL_DIR RULES`.

Each process owns 2 simulated CPU devices and feeds only its rows of every global batch;
`flanjax.train.loop.train` assembles them with `jax.make_array_from_process_local_data`.
"""

import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=" + os.environ.get("DEVICES_PER_PROCESS", "2")

import jax  # noqa: E402

pid, nproc, port, model_dir, rules = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
if nproc > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)

import functools  # noqa: E402

from _train_helpers import process_rows, tiny_config  # noqa: E402
from flanjax.cli import runner  # noqa: E402
from flanjax.train import loop, optimizers  # noqa: E402

GLOBAL_BATCH, STEPS = 8, 3


mesh = (-1, 1) if rules == "data_parallel" else (2, 2)
loop.train(
    model_config=tiny_config(), mixture_or_task_name="synthetic",
    task_feature_lengths={"inputs": 16, "targets": 8}, batch_size=GLOBAL_BATCH, train_steps=STEPS,
    model_dir=model_dir, host_batches=process_rows(pid, nproc, GLOBAL_BATCH), log_period=1, checkpoint_period=STEPS,
    mesh_shape=mesh, logical_rules=rules,
    make_schedule=functools.partial(optimizers.make_schedule, learning_rate=1e-2),
)
print(f"worker {pid} done", flush=True)
sys.stdout.flush()
runner.leave_distributed()  # as `python -m flanjax.train` does: no process exits under another
os._exit(0)
