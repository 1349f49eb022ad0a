"""SIGTERM and Ctrl-C (SIGINT) mean "save at the next step boundary, then stop".

A second Ctrl-C stops at once (exit 130, no save: the last periodic checkpoint stays). A
run stopped this way exits with `EXIT_INTERRUPTED` (75, EX_TEMPFAIL in sysexits.h: "try
again later"), never 0, so a scheduler can tell "interrupted, resumable: rerun the same
command" from "finished". With several processes every host must stop at the same step
(orbax saves are collective): the decision then comes from JAX's preemption sync point,
which the distributed runtime triggers on a preemption notice.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Callable

EXIT_INTERRUPTED = 75  # = flanjax.cli.runner.EXIT_INTERRUPTED
EXIT_SECOND_CTRL_C = 130


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
