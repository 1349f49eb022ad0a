"""Saving a training run's checkpoints (orbax `CheckpointManager` step folders under
MODEL_DIR/checkpoints/), and what a failed save or read means in one line.

`flanjax.checkpoints` (every layout, reading) re-exports what is here. A save that fails
(a full disk, a lost mount), in the call or in orbax's background thread, raises
`CheckpointSaveError` (exit status 74 through `flanjax.cli.runner`): the run stops at that
save, and the message names the last finished step, which orbax's atomic rename left intact.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orbax.checkpoint as ocp

CHECKPOINTS_SUBDIR = "checkpoints"
EXIT_SAVE_FAILED = 74  # sysexits.h EX_IOERR; = flanjax.cli.runner.EXIT_SAVE_FAILED


class CheckpointSaveError(OSError):
    """A checkpoint could not be written (a full disk, a lost mount): the run stops at once,
    with one line and exit status 74; the last finished step stays as it was."""

    exit_status = EXIT_SAVE_FAILED


class Checkpointer:
    """Saves every `period` steps (and when forced), keeps the newest `max_to_keep`.

    A save that fails, in the call or in orbax's background thread, raises
    `CheckpointSaveError` from `save`, `check` (call it every step: it never blocks) or
    `wait`, naming the step and the last good one; `close` then only releases the manager.
    """

    def __init__(self, model_dir: str, *, period: int, max_to_keep: int | None = 3, async_save: bool = True):
        self.directory = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            save_interval_steps=max(int(period), 1),
            enable_async_checkpointing=async_save,
            cleanup_tmp_directories=True,
            create=True,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)
        self._saving: int | None = None  # the step whose save was started last
        self._good: int | None = self.manager.latest_step()  # the newest finished step
        self._failed = False

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def _save_failed(self, error: BaseException) -> CheckpointSaveError:
        self._failed = True
        why = f"{error.strerror} ({error.filename})" if isinstance(error, OSError) and error.strerror else (
            str(error).splitlines()[0][:300] if str(error) else type(error).__name__)
        good = (f"the last good checkpoint is step {self._good} in {self.directory}, intact"
                if self._good is not None else f"no checkpoint was finished in {self.directory}")
        return CheckpointSaveError(
            f"saving checkpoint step {self._saving} failed: {why}; stopped. {good}: free space (or "
            "fix the file system) and rerun the same command to resume"
        )

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CheckpointSaveError:
            raise
        except Exception as e:  # pylint: disable=broad-except  # OSError, tensorstore, orbax errors
            raise self._save_failed(e) from None

    def _finished(self) -> None:
        if self._saving is not None and self._saving in self.manager.all_steps():
            self._good = self._saving

    def save(self, step: int, state: Any, *, force: bool = False) -> bool:
        """Starts saving `state` at `step` if the period says so (or `force`)."""
        self._guard(self.manager.wait_until_finished)  # the previous save's outcome first
        self._finished()
        self._saving = step
        return self._guard(self.manager.save, step, args=ocp.args.StandardSave(state), force=force)

    def check(self) -> None:
        """Raises CheckpointSaveError if a background save has failed; never waits for one."""
        if not self.manager.is_saving_in_progress():
            self._guard(self.manager.check_for_errors)
            self._finished()

    def restore(self, abstract_state: Any, step: int | None = None) -> Any:
        """Restores into the shapes, dtypes and shardings of `abstract_state`."""
        step = self.manager.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        return self.manager.restore(step, args=ocp.args.StandardRestore(abstract_state))

    def rotate(self, keep_last: int | None, protected: set[int]) -> list[int]:
        """Deletes finished steps beyond the newest `keep_last`, sparing `protected` (the
        best step): orbax's `max_to_keep` would delete the best once it is not among the
        newest. Every process calls it (orbax's delete is collective); the deleted steps."""
        doomed = surplus_steps(self.all_steps(), keep_last, protected)
        for step in doomed:
            self.manager.delete(step)
        return doomed

    def wait(self) -> None:
        self._guard(self.manager.wait_until_finished)
        self._guard(self.manager.check_for_errors)
        self._finished()

    def close(self) -> None:
        if self._failed:  # already reported: only let go of the manager
            try:
                self.manager.close()
            except Exception:  # pylint: disable=broad-except
                pass
            return
        self.wait()
        self.manager.close()


def surplus_steps(steps: list[int], keep_last: int | None, protected: set[int]) -> list[int]:
    """Steps rotation deletes: all but the newest `keep_last` and the protected ones."""
    if keep_last is None:
        return []
    newest = set(sorted(steps)[-keep_last:]) if keep_last > 0 else set()
    return [s for s in sorted(steps) if s not in newest and s not in protected]


def problem_of(error: BaseException) -> str:
    """A one-line reason from orbax/TensorStore errors (their text runs to dozens of lines)."""
    text = str(error) or type(error).__name__
    for pattern, reason in (
        (r"No structure could be identified", "its folder holds no checkpoint files (emptied?)"),
        (r"no `params` tree", "its array metadata is missing or unreadable (a file missing or truncated)"),
        (r"_METADATA|Metadata file", "its _METADATA file is missing or unreadable"),
        (r"(?i)pytree structure|tree structure", "its array tree does not match the run's state"),
        (r"(?i)NOT_FOUND|No such file|does not exist", "an array file is missing"),
        (r"(?i)Error reading|truncat|Unexpected end|Corrupt|checksum|DATA_LOSS|OUT_OF_RANGE",
         "an array file is truncated or corrupt"),
    ):
        if re.search(pattern, text):
            return reason
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return f"{type(error).__name__}: {first[:200]}"
