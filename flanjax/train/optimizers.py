"""Adafactor with T5X's defaults, and the learning-rate schedules of FLAN/T5 training.

T5X's Adafactor (Shazeer & Stern 2018, as used for T5, FLAN, T0 and Flan-T5):
  - second moments factored into row and column statistics for matrices whose two largest
    dimensions are >= 128 (`min_dim_size_to_factor`); smaller arrays keep a full `v`;
  - decay rate 1 - t^-0.8 (`decay_rate=0.8`);
  - updates clipped to RMS 1.0 (`clipping_threshold`);
  - the step scaled by the parameter's RMS (`multiply_by_parameter_scale`), so the
    learning rate is relative;
  - no momentum.
optax's `adafactor` factors the two largest dimensions of each array; under
`scan_layers` the leading `layers` axis is smaller than `embed`/`mlp`/`vocab` at every
published size, so the factored axes are the same ones T5X picks from its logical names.
The state is sharded like the parameters (`partitioning.opt_state_specs`).
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import optax

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
    clipping_threshold: float | None = 1.0,
    multiply_by_parameter_scale: bool = True,
    factored: bool = True,
    min_dim_size_to_factor: int = 128,
    momentum: float | None = None,
    weight_decay_rate: float | None = None,
    epsilon: float = 1e-30,
    global_clip_norm: float | None = None,
) -> optax.GradientTransformation:
    """optax Adafactor with T5X's defaults. `learning_rate` defaults to `make_schedule()`."""
    schedule = make_schedule() if learning_rate is None else learning_rate
    tx = optax.adafactor(
        learning_rate=schedule,
        min_dim_size_to_factor=min_dim_size_to_factor,
        decay_rate=decay_rate,
        multiply_by_parameter_scale=multiply_by_parameter_scale,
        clipping_threshold=clipping_threshold,
        momentum=momentum,
        weight_decay_rate=weight_decay_rate,
        eps=epsilon,
        factored=factored,
    )
    if global_clip_norm is not None:
        tx = optax.chain(optax.clip_by_global_norm(global_clip_norm), tx)
    return tx

