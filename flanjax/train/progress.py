"""Elapsed time and ETA for the progress line, from the pace since the run (re)started.

The first step after a (re)start compiles the step function, which can take longer than
hundreds of steps; the pace is therefore measured from the end of that step. Until a second
step is done the ETA is unknown ("ETA ?").
"""

from __future__ import annotations

import time
from typing import Callable


def format_seconds(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    def __init__(self, start_step: int, total_steps: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.start_step, self.total_steps, self._clock = start_step, total_steps, clock
        self._started = clock()
        self._paced_from: tuple[int, float] | None = None  # (step, time) after the compile step

    def step_done(self, step: int) -> None:
        if self._paced_from is None:
            self._paced_from = (step, self._clock())

    def eta_seconds(self, step: int) -> float | None:
        if self._paced_from is None or step <= self._paced_from[0]:
            return None
        first_step, first_time = self._paced_from
        pace = (self._clock() - first_time) / (step - first_step)
        return pace * max(self.total_steps - step, 0)

    def describe(self, step: int) -> str:
        eta = self.eta_seconds(step)
        return (f"elapsed {format_seconds(self._clock() - self._started)}, "
                f"ETA {'?' if eta is None else format_seconds(eta)}")
