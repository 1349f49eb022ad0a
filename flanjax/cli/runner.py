"""The one process preamble and epilogue of every flanjax command.

`run("flanjax.cli.evaluate")` (what each `python -m flanjax.X` shim calls):
  1. quiet TensorFlow/absl start-up logging, keep freed host memory in the process
     (`flanjax.hostmem`, before JAX starts its CPU client), configure logging;
  2. import the command module and call its `main(argv) -> int`;
  3. map errors to exit statuses by exception type: an error with an `exit_status` (a
     failed checkpoint save: 74) is one line and that status; bad input (`UsageError`, gin
     errors, `ValueError`, `KeyError`, `LookupError`, `FileNotFoundError`,
     `NotADirectoryError`, `PermissionError`) is one line `error: ...` and status 2;
     everything else is a bug and keeps its traceback (status 1). `FLANJAX_DEBUG=1` shows
     the traceback always;
  4. flush and leave with `os._exit`: tf.data's `py_function` iterators can hang interpreter
     shutdown, and by then every output is written and every checkpoint finished. A
     multi-host process first leaves the JAX distributed service with every other process
     (`jax.distributed.shutdown()`, a barrier): process 0 hosts the coordinator, and if it
     exits while another process still polls it, that process aborts (SIGABRT) although
     its work was done.

Commands that start JAX on several hosts call `initialize_distributed(args)` after parsing
their flags (`add_distributed_flags`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn, Optional, Sequence

EXIT_OK = 0
EXIT_FAILED = 1  # a bug, or training stopped on a non-finite loss
EXIT_USAGE = 2  # bad input: the message says what to change
# 74 (sysexits EX_IOERR): a checkpoint could not be written (disk full); the run stopped at
# once and its last good checkpoint is intact. Free space, rerun the same command to resume.
EXIT_SAVE_FAILED = 74
# 75 (sysexits EX_TEMPFAIL): training stopped by SIGTERM/SIGINT after saving; rerun the same
# command to resume. Schedulers should requeue on 75, not count it as finished.
EXIT_INTERRUPTED = 75


class UsageError(Exception):
    """Bad input, reported as one line and exit status 2."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    # gin problems are `gin_setup.GinError`, a UsageError.
    from flanjax.train.run_lock import RunLockError  # pylint: disable=g-import-not-at-top

    return (UsageError, RunLockError, ValueError, LookupError, FileNotFoundError,
            NotADirectoryError, PermissionError)


def one_line(error: BaseException) -> str:
    """The informative first line of an exception (gin appends "In call to ..." lines)."""
    lines = [l.strip() for l in str(error).splitlines() if l.strip()]
    if not lines:
        return type(error).__name__
    head = lines[0]
    where = next((l for l in lines[1:] if l.startswith("In ") and ("file" in l or "line" in l)), None)
    return f"{head} ({where})" if where else head


def prepare_process() -> None:
    """Start-up settings every command shares; call before JAX or TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from flanjax import hostmem  # pylint: disable=g-import-not-at-top

    hostmem.default_to_cpu_without_tpu()  # libtpu (the aot extra) but no TPU: a quiet CPU run
    hostmem.keep_freed_memory()  # before JAX starts its CPU client; see flanjax/hostmem.py
    from flanjax.cli import quiet  # pylint: disable=g-import-not-at-top

    quiet.silence_startup_noise()  # TensorFlow's C++ start-up lines, orbax's spurious warning
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("absl", "jax._src.xla_bridge", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def call(module: str, argv: Optional[Sequence[str]] = None) -> int:
    """Runs `module.main(argv)` and maps its errors to an exit status (no process exit)."""
    debug = os.environ.get("FLANJAX_DEBUG") == "1"
    try:
        return int(importlib.import_module(module).main(argv) or 0)
    except SystemExit as e:  # argparse --help / usage errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # pylint: disable=broad-except
        # Errors that carry their own exit status (`exit_status`: a failed checkpoint save,
        # 74), then bad input (2); anything else is a bug and keeps its traceback.
        code = getattr(e, "exit_status", None)
        if debug or not (isinstance(code, int) or isinstance(e, _usage_errors())):
            raise
        print(f"error: {one_line(e)}", file=sys.stderr)
        return code if isinstance(code, int) else EXIT_USAGE


def run(module: str, argv: Optional[Sequence[str]] = None) -> NoReturn:
    """The whole life of a command process: prepare, call, flush, exit."""
    prepare_process()
    code = call(module, argv)
    sys.stdout.flush()
    sys.stderr.flush()
    leave_distributed()
    os._exit(code)  # pylint: disable=protected-access


def leave_distributed() -> None:
    """`jax.distributed.shutdown()` when this process joined a multi-process job (see step 4)."""
    jax = sys.modules.get("jax")
    if jax is None or not jax.distributed.is_initialized():
        return
    try:
        jax.distributed.shutdown()
    except Exception as e:  # pylint: disable=broad-except  # another process already failed
        print(f"warning: leaving the JAX distributed service: {one_line(e)}", file=sys.stderr)


# ----------------------------------------------------------------------------- multi-host
def add_distributed_flags(parser: argparse.ArgumentParser) -> None:
    """--distributed and the coordinator flags (JAX_* environment variables fill them in)."""
    parser.add_argument("--distributed", action="store_true", help="force jax.distributed.initialize()")
    env = os.environ.get
    parser.add_argument("--coordinator_address", default=env("JAX_COORDINATOR_ADDRESS"))
    parser.add_argument("--num_processes", type=int,
                        default=int(env("JAX_NUM_PROCESSES")) if env("JAX_NUM_PROCESSES") else None)
    parser.add_argument("--process_id", type=int,
                        default=int(env("JAX_PROCESS_ID")) if env("JAX_PROCESS_ID") else None)


def _on_multihost_env() -> bool:
    if "," in os.environ.get("TPU_WORKER_HOSTNAMES", ""):
        return True
    return int(os.environ.get("SLURM_NTASKS", "1")) > 1 or os.environ.get("FLANJAX_DISTRIBUTED") == "1"


def initialize_distributed(args: argparse.Namespace) -> None:
    """`jax.distributed.initialize()` on a pod slice / SLURM job, or when the flags ask."""
    if not (args.distributed or _on_multihost_env() or args.coordinator_address):
        return
    import jax  # pylint: disable=g-import-not-at-top

    # CPU-only clusters (tests, CPU hosts) need a collectives implementation; no effect elsewhere.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    kwargs = {}
    if args.coordinator_address:
        kwargs = dict(coordinator_address=args.coordinator_address,
                      num_processes=args.num_processes, process_id=args.process_id)
    jax.distributed.initialize(**kwargs)
