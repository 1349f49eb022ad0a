"""Fine-tuning one run of a held-out grid, through the trainer's Python API.

`finetune(request)` calls `flanjax.train.loop.train` (the function `python -m
flanjax.train` runs) with the run's settings as arguments, starting from
`request.init_dir` (a `flanjax.convert`-style checkpoint) or from scratch. The trainer
writes orbax checkpoints, `train_metrics.jsonl` and TensorBoard events under
`request.model_dir`; the final parameters come back in memory too.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from flanjax.model import T5Config


@dataclasses.dataclass(frozen=True)
class FinetuneRequest:
    mixture: str
    model_dir: str
    config: T5Config
    steps: int
    batch_size: int = 32
    lengths: tuple[tuple[str, int], ...] = (("inputs", 256), ("targets", 32))
    learning_rate: float = 1e-3
    seed: int = 0
    log_every: int = 50
    init_dir: Optional[str] = None  # a flanjax checkpoint dir (flanjax_config.json + checkpoint/)
    heldout_cluster: Optional[str] = None
    # Held-out scores while training (`flanjax.evaluation.periodic`): EVAL_ON's clusters
    # every `eval_period` steps into MODEL_DIR's curve (heldout_curve.png); 0 turns it off.
    eval_on: Optional[str] = None
    eval_collection: Optional[str] = None
    eval_period: int = 0
    eval_examples_per_cluster: Optional[int] = None
    eval_batch_size: int = 32


@dataclasses.dataclass
class FinetuneResult:
    model_dir: str
    params: Any  # final parameters, on the host
    last_metrics: dict


def finetune(request: FinetuneRequest) -> FinetuneResult:
    """Trains `request.mixture` for `request.steps` steps; see the module docstring."""
    import functools  # pylint: disable=g-import-not-at-top

    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.evaluation import heldout, periodic  # pylint: disable=g-import-not-at-top
    from flanjax.train import loop, optimizers  # pylint: disable=g-import-not-at-top

    evaluator = None
    if request.eval_on and request.eval_period:
        evaluator = periodic.PeriodicEvaluator(
            request.eval_on, collection=request.eval_collection, model_dir=request.model_dir,
            examples_per_cluster=request.eval_examples_per_cluster,
            settings=heldout.EvalSettings(lengths=request.lengths, batch_size=request.eval_batch_size),
        )

    result = loop.train(
        model_config=request.config,
        mixture_or_task_name=request.mixture,
        task_feature_lengths=dict(request.lengths),
        train_steps=request.steps,
        batch_size=request.batch_size,
        model_dir=request.model_dir,
        seed=request.seed,
        initial_checkpoint_path=request.init_dir,
        checkpoint_period=request.steps,
        keep_checkpoints=1,
        log_period=request.log_every,
        heldout_cluster=request.heldout_cluster,
        periodic_eval=evaluator,
        eval_period=request.eval_period if evaluator is not None else 0,
        make_schedule=functools.partial(
            optimizers.make_schedule, kind="constant", learning_rate=float(request.learning_rate)
        ),
    )
    params = jax.device_get(result.state.params)
    return FinetuneResult(request.model_dir, params, dict(result.last_metrics))
