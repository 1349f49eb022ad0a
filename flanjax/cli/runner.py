"""The one process preamble and epilogue of every flanjax command.

`run("flanjax.cli.evaluate")` (what each `python -m flanjax.X` shim calls):
  1. quiet TensorFlow/absl start-up logging, keep freed host memory in the process
     (`flanjax.hostmem`, before JAX starts its CPU client), configure logging;
  2. import the command module and call its `main(argv) -> int`;
  3. map errors to exit statuses by exception type: an error with an `exit_status` (a
     failed checkpoint save: 74) is one line and that status; bad input (`UsageError`, gin
     errors, `ValueError`, `KeyError`, `LookupError`, `FileNotFoundError`,
     `NotADirectoryError`, `PermissionError`) is one line `error: ...` and status 2;
     everything else is a bug and keeps its traceback (status 1). `--debug` shows
     the traceback always;
  4. flush and leave with `os._exit`: tf.data's `py_function` iterators can hang interpreter
     shutdown, and by then every output is written and every checkpoint finished. A
     multi-host process first leaves the JAX distributed service with every other process
     (`jax.distributed.shutdown()`, a barrier): process 0 hosts the coordinator, and if it
     exits while another process still polls it, that process aborts (SIGABRT) although
     its work was done.

Commands that start JAX on several hosts call `initialize_distributed(args)` after parsing
their flags (`add_distributed_flags`).

How a command behaves is set by its flags; every command takes the process flags
(`add_process_flags`): --debug (tracebacks for bad input too), --verbose_startup (keep
TensorFlow's and orbax's start-up lines) and --host_malloc auto|keep|off
(`flanjax.hostmem`). `run` takes them off the command line before the command's own
parser sees it. What a run does is gin's; where the data lives is the data settings'
(`flanjax.data.locations`), whose environment variables are their defaults.
The old environment spellings (FLANJAX_DEBUG=1, FLANJAX_VERBOSE_STARTUP=1,
FLANJAX_HOST_MALLOC=..., FLANJAX_DISTRIBUTED=1) are read for one more release, each with a
one-line notice.
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


# ------------------------------------------------------------------------- process flags
# Old environment spellings of the process flags, read for one release (with a notice).
OLD_ENV = {"FLANJAX_DEBUG": "--debug", "FLANJAX_VERBOSE_STARTUP": "--verbose_startup",
           "FLANJAX_HOST_MALLOC": "--host_malloc", "FLANJAX_DISTRIBUTED": "--distributed"}
_NOTIFIED: set[str] = set()


def old_env(name: str) -> Optional[str]:
    """The value of a deprecated environment variable (see OLD_ENV), with a one-line notice."""
    value = os.environ.get(name)
    if value and name not in _NOTIFIED:
        _NOTIFIED.add(name)
        print(f"notice: {name} is read for one more release; pass {OLD_ENV[name]} instead",
              file=sys.stderr)
    return value or None


def add_process_flags(parser: argparse.ArgumentParser) -> None:
    """--debug, --verbose_startup, --host_malloc: how the command's process behaves."""
    parser.add_argument("--debug", action="store_true", help="show the traceback of bad input too")
    parser.add_argument("--verbose_startup", action="store_true",
                        help="keep TensorFlow's and orbax's start-up log lines")
    from flanjax import hostmem  # pylint: disable=g-import-not-at-top

    parser.add_argument("--host_malloc", choices=hostmem.MODES, default=None,
                        help="keep freed host memory in the process (flanjax.hostmem; default auto)")


def split_process_flags(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """(the process flags, the rest of argv for the command's own parser)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    add_process_flags(parser)
    flags, rest = parser.parse_known_args(list(argv))
    flags.debug = flags.debug or old_env("FLANJAX_DEBUG") == "1"
    flags.verbose_startup = flags.verbose_startup or old_env("FLANJAX_VERBOSE_STARTUP") == "1"
    flags.host_malloc = flags.host_malloc or old_env("FLANJAX_HOST_MALLOC") or "auto"
    return flags, rest


def prepare_process(flags: Optional[argparse.Namespace] = None) -> None:
    """Start-up settings every command shares; call before JAX or TensorFlow is imported."""
    flags = flags or split_process_flags([])[0]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from flanjax import hostmem  # pylint: disable=g-import-not-at-top

    hostmem.default_to_cpu_without_tpu()  # libtpu (the aot extra) but no TPU: a quiet CPU run
    hostmem.keep_freed_memory(flags.host_malloc)  # before JAX starts its CPU client; see flanjax/hostmem.py
    from flanjax.cli import quiet  # pylint: disable=g-import-not-at-top

    quiet.silence_startup_noise(verbose=flags.verbose_startup)  # TF's C++ start-up lines, orbax's warning
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("absl", "jax._src.xla_bridge", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A corrupt checkpoint fails many of orbax's concurrent array reads; the first failure is
    # raised (and reported as one line), the others reach asyncio's "Task exception was never
    # retrieved" log with a traceback each.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def call(module: str, argv: Optional[Sequence[str]] = None, *, debug: Optional[bool] = None) -> int:
    """Runs `module.main(argv)` and maps its errors to an exit status (no process exit).

    The process flags are taken off argv (--debug is read here; `run` applies the others)."""
    flags, argv = split_process_flags(sys.argv[1:] if argv is None else argv)
    debug = flags.debug if debug is None else debug
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
        message = one_line(e) if isinstance(code, int) or isinstance(e, _usage_errors()) else wrapped_bad_input(e)
        if debug or message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return code if isinstance(code, int) else EXIT_USAGE


# Bad-input errors that data code raises inside tf.data (a generator or `py_function`),
# which reach the command wrapped in a TensorFlow error with the Python traceback inside.
# (instruction_files.BadRowError, sni.SNIError and its SNIFileNotFoundError,
# promptsource.TemplateRenderError; matched by name: the traceback text is all there is.)
_WRAPPED_BAD_INPUT = ("BadRowError", "SNIError", "SNIFileNotFoundError", "TemplateRenderError")


def wrapped_bad_input(error: BaseException) -> Optional[str]:
    """The one-line message of a bad-input error wrapped by tf.data, or None."""
    if not type(error).__module__.startswith("tensorflow"):
        return None
    for line in str(error).splitlines():
        for name in _WRAPPED_BAD_INPUT:
            if f"{name}: " in line:
                return line.split(f"{name}: ", 1)[1].strip()
    return None


def run(module: str, argv: Optional[Sequence[str]] = None) -> NoReturn:
    """The whole life of a command process: prepare, call, flush, exit."""
    flags, argv = split_process_flags(sys.argv[1:] if argv is None else argv)
    prepare_process(flags)
    code = call(module, argv, debug=flags.debug)
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
    return int(os.environ.get("SLURM_NTASKS", "1")) > 1 or old_env("FLANJAX_DISTRIBUTED") == "1"


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
