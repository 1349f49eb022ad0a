"""SIGTERM and Ctrl-C (SIGINT) mean "save at the next step boundary, then stop"; before the
first step (`Startup`) they stop at once.

A second Ctrl-C stops at once (exit 130, no save: the last periodic checkpoint stays). A
run stopped this way exits with `EXIT_INTERRUPTED` (75, EX_TEMPFAIL in sysexits.h: "try
again later"), never 0, so a scheduler can tell "interrupted, resumable: rerun the same
command" from "finished". With several processes every host must stop at the same step
(orbax saves are collective): the decision then comes from JAX's preemption sync point,
which the distributed runtime triggers on a preemption notice.

Start-up (building the input pipeline, reading the first batch, compiling the step) has
nothing to save, so there SIGINT and SIGTERM stop the run at once: `Startup`'s handlers
raise `StartupInterrupted` (exit 130 for SIGINT, 143 for SIGTERM: 128 + the signal number,
as a shell reports a process the signal ended), whose unwinding releases MODEL_DIR's lease.
Python runs signal handlers only in the main thread, between bytecodes: a main thread
blocked in one tf.data or XLA call (a first batch of 10^9 rows takes minutes) would not
see the signal until the call returns. `Startup.wait` therefore makes such calls in a
worker thread while the main thread waits where handlers run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")

EXIT_INTERRUPTED = 75  # = flanjax.cli.runner.EXIT_INTERRUPTED
EXIT_SECOND_CTRL_C = 130


class StartupInterrupted(Exception):
    """SIGINT/SIGTERM before the first step: stopped at once, nothing saved.

    `exit_status` is 128 + the signal number (130, 143); `flanjax.cli.runner` reports the
    message as one line with that status."""

    def __init__(self, signum: int, phase: str) -> None:
        self.signal_name = signal.Signals(signum).name
        self.exit_status = 128 + signum
        super().__init__(f"{self.signal_name} during start-up ({phase}): stopped before the first step, "
                         "nothing was saved; rerun the same command to start again")


class Startup:
    """The start-up of a run: one line per phase; SIGINT and SIGTERM raise StartupInterrupted.

    With `handle_signals` (the train command) the constructor installs the handlers (in the
    main thread only); `close()`, which the trainer calls before its `StopWatcher` takes
    over, gives the previous ones back (idempotent). Without, or once closed, signals keep
    their handlers and `wait` calls `fn` directly."""

    def __init__(self, log: Callable[[str], None] = print, *, handle_signals: bool = True) -> None:
        self.phase = "starting"
        self._log = log
        self._previous: dict[int, object] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:  # pylint: disable=unused-argument
        raise StartupInterrupted(signum, self.phase)

    def say(self, phase: str) -> None:
        """Names the phase now under way (in the log, and in StartupInterrupted's message)."""
        self.phase = phase
        self._log(f"[train] start-up: {phase}")

    def wait(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread; this thread waits where signal handlers run, and
        returns its result or raises its error. Interrupted, the worker is left behind (a
        daemon: the process exits without it)."""
        if not self._previous:
            return fn(*args)
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = fn(*args)
            except BaseException as e:  # pylint: disable=broad-except  # re-raised in the caller
                outcome["error"] = e
            finally:
                done.set()

        threading.Thread(target=work, name=f"flanjax-startup: {self.phase}", daemon=True).start()
        while not done.wait(1.0):  # the handlers run between these waits
            pass
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def close(self) -> None:
        """Gives SIGINT and SIGTERM their previous handlers back."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}


class StopWatcher:
    """Installs handlers for SIGTERM and SIGINT; `should_stop(step)` at step boundaries."""

    def __init__(self, log: Callable[[str], None] = print, process_count: int = 1) -> None:
        self._flag = threading.Event()
        self.signal_name: str | None = None
        self._log = log
        self._process_count = process_count
        self._previous: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:  # pylint: disable=unused-argument
        name = signal.Signals(signum).name
        if self._flag.is_set() and signum == signal.SIGINT:
            sys.stderr.write("\n[train] second Ctrl-C: stopping now without saving\n")
            sys.stderr.flush()
            os._exit(EXIT_SECOND_CTRL_C)  # tf.data threads would delay a normal exit
        self.signal_name = name
        self._flag.set()
        hint = "; Ctrl-C again to stop at once" if signum == signal.SIGINT else ""
        self._log(f"[train] {name}: saving at the end of this step, then stopping{hint}")

    @property
    def requested(self) -> bool:
        return self._flag.is_set()

    def should_stop(self, step: int) -> bool:
        if self._process_count > 1:
            try:
                from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

                return bool(multihost_utils.reached_preemption_sync_point(step))
            except Exception:  # pylint: disable=broad-except
                return False
        return self._flag.is_set()

    def restore_handlers(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}
