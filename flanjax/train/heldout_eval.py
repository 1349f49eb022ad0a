"""Held-out evaluation inside the training loop, from a callback the train command hands in.

Training does not import evaluation: the train command builds the evaluator
(`flanjax.evaluation.periodic.PeriodicEvaluator`, from EVAL_ON / EVAL_COLLECTION / the
budget) and passes it to `train(periodic_eval=...)`. Any object with the `PeriodicEval`
methods serves. `HeldoutSchedule` does the loop's part:

  - at start: `prepare` (vocabulary, mesh, the curve so far), the plan line, the cost in
    FLOPs before step 1 (one evaluation's forward FLOPs against the training FLOPs of
    EVAL_PERIOD steps: machine-independent, so a too-frequent EVAL_PERIOD shows at once), and, unless
    the curve has it already, an evaluation of the starting parameters (the curve's first
    point, and the whole eval path run once before hours of training);
  - after the first timed training window: "eval every N steps, about X s, Y% of training
    time", X from the evaluation's forward FLOPs against the training step's FLOPs at the
    measured step time (the time of each evaluation is printed as it runs);
  - every EVAL_PERIOD steps: the scores go to TensorBoard and eval_metrics.jsonl under
    `heldout/`, and with KEEP_BEST a new best is saved, waited for, and recorded in
    MODEL_DIR/best_checkpoint.json (`flanjax.checkpoints.BestCheckpoint`).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Optional, Protocol


class PeriodicEval(Protocol):
    """What the loop needs of a held-out evaluator."""

    def prepare(self, model_config: Any, mesh: Any, rules: Any, *, start_step: int, period: int) -> Any:
        """Checks and plans; returns an object with `description` (str), `flops` (one
        evaluation's forward FLOPs) and `evaluated_steps` (steps already on the curve)."""

    def __call__(self, step: int, params: Any) -> Mapping[str, float]:
        """The scores of `params` at `step`, flat {name: value}."""


PREFIX = "heldout"


class HeldoutSchedule:
    """The loop's side of periodic held-out evaluation (see the module docstring)."""

    def __init__(
        self,
        evaluator: PeriodicEval,
        *,
        period: int,
        logger: Any,  # flanjax.train.metrics.MetricsLogger
        flops_per_step: float,
        keep_best: Optional[str] = None,
        best: Any = None,  # flanjax.checkpoints.BestCheckpoint when keep_best is set
    ) -> None:
        if period <= 0:
            raise ValueError(
                "held-out evaluation (EVAL_ON) needs EVAL_PERIOD > 0: set --gin.EVAL_PERIOD=N "
                "(steps between evaluations) or leave EVAL_ON unset"
            )
        self.evaluator = evaluator
        self.period = int(period)
        self.logger = logger
        self.flops_per_step = float(flops_per_step)
        self.keep_best = keep_best
        self.best = best
        self.plan: Any = None
        self._estimated = False
        self._since = time.perf_counter()

    def start(self, model_config: Any, mesh: Any, rules: Any, *, start_step: int, params: Any,
              at_start: bool = True) -> Optional[Mapping[str, float]]:
        self.plan = self.evaluator.prepare(model_config, mesh, rules, start_step=start_step, period=self.period)
        self.logger.log_text(self.plan.description)
        flops = float(self.plan.flops)
        between = self.period * self.flops_per_step
        self.logger.log_text(
            f"[eval] one evaluation is {flops:.3g} forward FLOPs, {flops / max(flops + between, 1.0):.1%} of "
            f"the FLOPs of it and the {self.period} training steps between two (its time follows "
            "once training steps are timed)"
        )
        scores = None
        if at_start and start_step not in set(self.plan.evaluated_steps):
            scores = self._run(start_step, params)
        self._since = time.perf_counter()
        return scores

    def estimate(self, seconds_per_step: float) -> None:
        """Prints the cost line once, when the first training window has been timed."""
        if self._estimated or not seconds_per_step or seconds_per_step != seconds_per_step:
            return
        self._estimated = True
        train_forward = self.flops_per_step / 3.0  # flops_per_step counts forward + backward
        seconds = self.plan.flops / max(train_forward, 1.0) * seconds_per_step
        share = seconds / (seconds + self.period * seconds_per_step)
        self.logger.log_text(
            f"[eval] eval every {self.period} steps, about {seconds:.1f} s, {share:.1%} of training "
            f"time ({self.plan.flops:.3g} forward FLOPs per eval; {seconds_per_step:.3f} s/step)"
        )

    def due(self, step: int, train_steps: int) -> bool:
        return step % self.period == 0 or step == train_steps

    def evaluate(self, step: int, params: Any) -> Mapping[str, float]:
        train_seconds = time.perf_counter() - self._since
        start = time.perf_counter()
        scores = self._run(step, params)
        seconds = time.perf_counter() - start
        self.logger.log_text(
            f"[eval] step {step}: held-out eval {seconds:.1f} s, "
            f"{seconds / max(seconds + train_seconds, 1e-9):.1%} of the time since the last one"
        )
        self._since = time.perf_counter()
        return scores

    def _run(self, step: int, params: Any) -> Mapping[str, float]:
        scores = dict(self.evaluator(step, params))
        self.logger.log_eval(step, scores, prefix=PREFIX)
        return scores

    def new_best(self, step: int, scores: Mapping[str, float]) -> bool:
        """Whether `scores` beat the kept best (always False without KEEP_BEST)."""
        if self.best is None:
            return False
        if self.keep_best not in scores:
            raise ValueError(
                f"KEEP_BEST={self.keep_best!r} is not among the held-out scores "
                f"({', '.join(sorted(scores))}); name a cluster of EVAL_ON"
            )
        return self.best.improves(scores[self.keep_best])

    def record_best(self, step: int, scores: Mapping[str, float], *, write: bool) -> None:
        self.best.record(step, scores[self.keep_best], write=write)
        self.logger.log_text(
            f"[eval] best {self.keep_best} so far: {scores[self.keep_best]:.2f} at step {step} (kept)"
        )
