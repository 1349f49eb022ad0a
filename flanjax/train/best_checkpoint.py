"""The best checkpoint by a held-out score, kept beside the last K, and `best` as a step.

`KEEP_BEST=nli` (a cluster, a dataset, 'overall' or a full `heldout/` key) makes the
trainer keep the checkpoint of the step whose periodic held-out evaluation scored highest
(the first such step on ties), in addition to the newest `keep_checkpoints`: rotation
never deletes it. Its step, metric and value are in MODEL_DIR/best_checkpoint.json, which
`resolve_step(model_dir, "best")` reads for `flanjax.eval` (CHECKPOINT_STEP='best') and
`flanjax.convert --to_hf` (any `step` argument: 'best', 'latest', None or a number).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional, Union

BEST_FILE = "best_checkpoint.json"
CHECKPOINTS_SUBDIR = "checkpoints"

Step = Union[int, str, None]


class StepNotFoundError(FileNotFoundError):
    """A step ('best', 'latest' or a number) that the run does not hold."""


def saved_steps(model_dir: str) -> list[int]:
    """Finished orbax steps of a run (temporary folders of unfinished saves are skipped)."""
    directory = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
    if not os.path.isdir(directory):
        return []
    return sorted(int(n) for n in os.listdir(directory)
                  if n.isdigit() and os.path.isdir(os.path.join(directory, n)))


def read_best(model_dir: str) -> Optional[dict]:
    """{"step", "metric", "value"} of MODEL_DIR/best_checkpoint.json, or None."""
    path = os.path.join(os.path.abspath(model_dir), BEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def resolve_step(model_dir: str, step: Step = "latest") -> int:
    """The checkpoint step of a run: 'latest' (or None), 'best', or a number it holds."""
    steps = saved_steps(model_dir)
    where = os.path.join(os.path.abspath(model_dir), CHECKPOINTS_SUBDIR)
    if not steps:
        raise StepNotFoundError(f"{where} holds no finished checkpoint yet.")
    if step is None or step == "latest":
        return steps[-1]
    if step == "best":
        best = read_best(model_dir)
        if best is None:
            raise StepNotFoundError(
                f"{model_dir} has no best checkpoint ({BEST_FILE}): train with "
                "--gin.KEEP_BEST=<cluster> and EVAL_PERIOD > 0, or give a step number"
            )
        step = best["step"]
    elif isinstance(step, str):
        if not step.isdigit():
            raise StepNotFoundError(f"step {step!r} is neither 'best', 'latest' nor a number.")
        step = int(step)
    if int(step) not in steps:
        raise StepNotFoundError(f"No step {step} in {where}; steps: {steps}.")
    return int(step)


@dataclasses.dataclass
class BestCheckpoint:
    """The best step so far by `metric` (higher is better: every eval metric here is).

    `record` writes the file atomically on process 0; the trainer calls it only after the
    step's checkpoint has finished saving, so the file never names a missing step.
    """

    model_dir: str
    metric: str
    step: Optional[int] = None
    value: Optional[float] = None

    @classmethod
    def load(cls, model_dir: str, metric: str, *, up_to_step: Optional[int] = None) -> "BestCheckpoint":
        """The recorded best of a resumed run (if it was kept by the same metric)."""
        best = read_best(model_dir)
        out = cls(os.path.abspath(model_dir), metric)
        if best and best.get("metric") == metric and (up_to_step is None or best["step"] <= up_to_step):
            out.step, out.value = int(best["step"]), float(best["value"])
        return out

    def improves(self, value: float) -> bool:
        return self.value is None or value > self.value

    def record(self, step: int, value: float, *, write: bool = True) -> None:
        self.step, self.value = int(step), float(value)
        if not write:
            return
        os.makedirs(self.model_dir, exist_ok=True)
        path = os.path.join(self.model_dir, BEST_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump({"step": self.step, "metric": self.metric, "value": self.value}, f)
        os.replace(path + ".tmp", path)

    def protected(self) -> set[int]:
        return set() if self.step is None else {self.step}


def surplus_steps(steps: list[int], keep_last: Optional[int], protected: set[int]) -> list[int]:
    """Steps rotation deletes: all but the newest `keep_last` and the protected ones."""
    if keep_last is None:
        return []
    newest = set(sorted(steps)[-keep_last:]) if keep_last > 0 else set()
    return [s for s in sorted(steps) if s not in newest and s not in protected]


def rotate(checkpointer: Any, keep_last: Optional[int], protected: set[int]) -> list[int]:
    """Deletes a run's finished steps beyond the newest `keep_last`, sparing `protected`.

    Replaces orbax's `max_to_keep` when a best checkpoint is kept (orbax's rotation would
    delete it once it is no longer among the newest). Every process calls it (orbax's
    delete is collective); returns the deleted steps.
    """
    doomed = surplus_steps(checkpointer.all_steps(), keep_last, protected)
    for step in doomed:
        checkpointer.manager.delete(step)
    return doomed
