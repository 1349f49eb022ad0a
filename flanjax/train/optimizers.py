"""T5X's Adafactor with T5X's defaults, and the learning-rate schedules of FLAN/T5 training.

T5X's Adafactor (Shazeer & Stern 2018, as used for T5, FLAN, T0 and Flan-T5; the code is
`flanjax.train.adafactor`, which says why it is not `optax.adafactor`), with
`t5x/adafactor.py`'s defaults as `t5x/examples/t5/t5_1_1/base.gin` uses them:
  - second moments factored into row and column statistics for every parameter that is,
    per layer and read by its logical axis names as T5X stores it, a matrix whose two
    dimensions are >= 128 (`min_dim_size_to_factor`): attention kernels as
    `[embed, heads * kv]`, the `layers` axis of scanned parameters a batch axis; smaller
    arrays keep a full `v`;
  - decay rate 1 - (t + 1)^-0.8 at step t (`decay_rate=0.8`, `step_offset=0`), t counting
    from the initial checkpoint's step when fine-tuning, as T5X's does;
  - updates clipped to RMS 1.0 per layer (`clipping_threshold`);
  - the step scaled by the parameter's RMS per layer, at least 1e-3
    (`multiply_by_parameter_scale`, `epsilon2`), so the learning rate is relative;
  - epsilon1 1e-30 added to the squared gradients; no momentum.
The state is sharded like the parameters: each statistic carries the logical axis names
of the parameter axes it keeps (`Adafactor.state_axes`).
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import optax

from flanjax.train import adafactor

SCHEDULES = ("constant", "rsqrt", "linear_warmup_rsqrt")


def make_schedule(
    kind: str = "constant",
    learning_rate: float = 1e-3,
    warmup_steps: int = 10_000,
) -> optax.Schedule:
    """Learning rate as a function of the step (0-based: the step being taken).

    constant             `learning_rate` (Flan-T5 and T0 fine-tuning).
    rsqrt                T5 pre-training: `learning_rate * 1/sqrt(max(step, warmup_steps))`
                         ... with `learning_rate` the multiplier (T5 used 1.0 and 10,000
                         steps: 0.01 for the first 10k steps, then 1/sqrt(step)).
    linear_warmup_rsqrt  linear ramp 0 -> `learning_rate` over `warmup_steps`, then
                         `learning_rate * sqrt(warmup_steps / step)`.
    """
    if kind == "constant":
        return optax.constant_schedule(learning_rate)
    if warmup_steps <= 0:
        raise ValueError(f"warmup_steps must be positive for {kind!r}, got {warmup_steps}")
    if kind == "rsqrt":

        def rsqrt(step):
            step = jnp.asarray(step, jnp.float32)
            return learning_rate / jnp.sqrt(jnp.maximum(step, float(warmup_steps)))

        return rsqrt
    if kind == "linear_warmup_rsqrt":

        def warmup_rsqrt(step):
            step = jnp.asarray(step, jnp.float32)
            warm = float(warmup_steps)
            ramp = learning_rate * jnp.minimum(step, warm) / warm
            decay = learning_rate * jnp.sqrt(warm / jnp.maximum(step, warm))
            return jnp.where(step < warm, ramp, decay)

        return warmup_rsqrt
    raise ValueError(f"Unknown schedule {kind!r}; known: {SCHEDULES}")


def make_optimizer(
    learning_rate: float | Callable | None = None,
    *,
    decay_rate: float = 0.8,
    step_offset: int = 0,
    clipping_threshold: float | None = 1.0,
    multiply_by_parameter_scale: bool = True,
    factored: bool = True,
    min_dim_size_to_factor: int = 128,
    momentum: float | None = None,
    weight_decay_rate: float | None = None,
    epsilon1: float = 1e-30,
    epsilon2: float = 1e-3,
    global_clip_norm: float | None = None,
) -> adafactor.Adafactor:
    """T5X's Adafactor with T5X's defaults (`t5x/adafactor.py`, `t5_1_1/base.gin`).

    `learning_rate` defaults to `make_schedule()`; `momentum` is T5X's `beta1`,
    `global_clip_norm` its `global_norm_clip_threshold`. The `Trainer` binds it to the
    parameters' logical axis names, which decide the factoring (`flanjax.train.adafactor`).
    """
    schedule = make_schedule() if learning_rate is None else learning_rate
    return adafactor.Adafactor(
        learning_rate=schedule,
        decay_rate=decay_rate,
        step_offset=step_offset,
        clipping_threshold=clipping_threshold,
        multiply_by_parameter_scale=multiply_by_parameter_scale,
        factored=factored,
        min_dim_size_to_factor=min_dim_size_to_factor,
        beta1=momentum,
        weight_decay_rate=weight_decay_rate,
        epsilon1=epsilon1,
        epsilon2=epsilon2,
        global_norm_clip_threshold=global_clip_norm,
    )
