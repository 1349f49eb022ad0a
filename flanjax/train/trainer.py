"""Train state, loss and the one compiled train step (T5X's `Trainer`, reduced to its core).

`Trainer` owns the shardings: it derives them once from the model's logical axis names
and the rules, and compiles `train_step(state, batch, rng) -> (state, metrics)` once with
explicit in/out `NamedSharding`s and the state donated. The host loop lives in
`flanjax.train.loop`.

Loss (T5X's `cross_entropy_with_logits` and `EncoderDecoderModel.loss_fn`):
  - float32 log-softmax of float32 logits;
  - optional label smoothing (soft targets, minus the soft targets' entropy so that a
    perfect model has loss 0);
  - optional z-loss `z_loss * log(Z)^2` per token (1e-4 in T5X) to keep logits centred;
  - summed over real target tokens (`decoder_loss_weights`) and divided either by the
    number of real target tokens in the whole (global) batch or by a constant
    `loss_normalizing_factor` (T5X fine-tuning uses 233472 = 2048 * 114, pre-training's
    tokens per batch, so that the gradient scale does not change with packing density).
Gradient accumulation divides each microbatch's loss *sum* by the whole batch's
denominator, so the accumulated gradient equals the big batch's up to float rounding.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from flanjax.model import T5, T5Config
from flanjax.model.scoring import pick_target
from flanjax import partitioning
from flanjax.train.adafactor import Adafactor, set_count

Array = jax.Array
Batch = Mapping[str, Array]

_MODEL_INPUTS = (
    "encoder_segment_ids",
    "decoder_segment_ids",
    "encoder_positions",
    "decoder_positions",
)


@flax.struct.dataclass
class TrainState:
    step: Array  # int32 scalar: the number of updates applied so far
    params: Any
    opt_state: Any


@dataclasses.dataclass(frozen=True)
class LossConfig:
    z_loss: float = 1e-4  # T5X's default; 0 turns it off
    label_smoothing: float = 0.0
    # None: divide by the number of real target tokens; a number: divide by that constant.
    loss_normalizing_factor: float | None = None


# -- loss -------------------------------------------------------------------------------


def token_losses(
    logits: Array, targets: Array, z_loss: float = 0.0, label_smoothing: float = 0.0
) -> tuple[Array, Array]:
    """Per-token (cross-entropy, z-loss), both [batch, length] float32.

    logits [batch, length, vocab] float32, targets [batch, length] int.
    """
    ce, z, _ = _token_stats(logits, targets, z_loss, label_smoothing)
    return ce, z


def _token_stats(
    logits: Array, targets: Array, z_loss: float, label_smoothing: float
) -> tuple[Array, Array, Array]:
    """(cross-entropy, z-loss, correct) per token, each [batch, length].

    Written so that nothing of size [batch, length, vocab] is materialised beyond the
    logits and their gradient: cross-entropy is `log Z - <soft targets, logits>` (the soft
    targets sum to 1), the target logit is picked by `pick_target` (a masked sum: its
    gradient is elementwise, not a scatter into a zero buffer), and `correct` is whether the first
    maximal logit is the target's, i.e. exactly `argmax(logits) == target` (ties included)
    from two plain reductions instead of a variadic one.
    """
    logits = logits.astype(jnp.float32)
    vocab = logits.shape[-1]
    max_logit = lax.stop_gradient(jnp.max(logits, axis=-1))  # [b, l]
    log_z = jnp.log(jnp.sum(jnp.exp(logits - max_logit[..., None]), axis=-1)) + max_logit
    targets = targets.astype(jnp.int32)
    target_logit = pick_target(logits, targets)
    if label_smoothing > 0.0:
        confidence = 1.0 - label_smoothing
        low = label_smoothing / (vocab - 1)
        # Entropy of the soft targets: subtracted so that the minimum loss is 0 (T5X).
        normalizing = -(confidence * jnp.log(confidence) + (vocab - 1) * low * jnp.log(low + 1e-20))
        # <soft, logits> with soft = low everywhere and `confidence` at the target.
        soft_logit = low * jnp.sum(logits, axis=-1) + (confidence - low) * target_logit
        ce = log_z - soft_logit - normalizing
    else:
        ce = log_z - target_logit
    vocab_ids = lax.broadcasted_iota(jnp.int32, logits.shape, logits.ndim - 1)
    first_max = jnp.min(
        jnp.where(logits == max_logit[..., None], vocab_ids, vocab), axis=-1
    )  # argmax's tie rule: the first maximal index
    return ce, z_loss * jnp.square(log_z), first_max == targets


def loss_sums(
    params: Any,
    batch: Batch,
    dropout_rng: Array | None,
    *,
    model: T5,
    loss_config: LossConfig,
) -> tuple[Array, dict[str, Array]]:
    """(sum of weighted per-token loss, metric sums) of one (micro)batch."""
    kwargs = {k: batch[k] for k in _MODEL_INPUTS if k in batch}
    enable_dropout = dropout_rng is not None and model.config.dropout_rate > 0.0
    logits = model.apply(
        {"params": params},
        batch["encoder_input_tokens"],
        batch["decoder_input_tokens"],
        enable_dropout=enable_dropout,
        rngs={"dropout": dropout_rng} if enable_dropout else None,
        **kwargs,
    )  # [b, l, v] float32
    targets = batch["decoder_target_tokens"]
    weights = batch.get("decoder_loss_weights")
    weights = (targets > 0) if weights is None else weights
    weights = weights.astype(jnp.float32)
    ce, z, correct = _token_stats(logits, targets, loss_config.z_loss, loss_config.label_smoothing)
    correct = correct.astype(jnp.float32)
    sums = {
        "cross_entropy": jnp.sum(ce * weights),
        "z_loss": jnp.sum(z * weights),
        "correct": jnp.sum(correct * weights),
        "num_tokens": jnp.sum(weights),
    }
    return sums["cross_entropy"] + sums["z_loss"], sums


def loss_denominator(batch: Batch, loss_config: LossConfig) -> Array:
    if loss_config.loss_normalizing_factor is not None:
        return jnp.asarray(loss_config.loss_normalizing_factor, jnp.float32)
    weights = batch.get("decoder_loss_weights")
    if weights is None:
        weights = batch["decoder_target_tokens"] > 0
    return jnp.maximum(jnp.sum(weights.astype(jnp.float32)), 1.0)


def count_examples(batch: Batch) -> Array:
    """Examples in a (possibly packed) batch: segments of rows with any target."""
    if "decoder_segment_ids" in batch:
        return jnp.sum(jnp.max(batch["decoder_segment_ids"], axis=-1)).astype(jnp.float32)
    return jnp.sum(jnp.any(batch["decoder_target_tokens"] > 0, axis=-1)).astype(jnp.float32)


# -- steps ------------------------------------------------------------------------------


def _split_microbatches(batch: Batch, num_microbatches: int) -> Batch:
    """[batch, ...] -> [num_microbatches, batch / num_microbatches, ...], strided rows.

    Microbatch j holds rows j, j + n, j + 2n, ... so every data-parallel shard keeps an
    equal part of every microbatch (no data moves between devices).
    """

    def split(x: Array) -> Array:
        b = x.shape[0]
        if b % num_microbatches:
            raise ValueError(f"batch size {b} is not divisible by num_microbatches={num_microbatches}")
        x = x.reshape((b // num_microbatches, num_microbatches) + x.shape[1:])
        return jnp.swapaxes(x, 0, 1)

    return {k: split(v) for k, v in batch.items()}


def train_step(
    state: TrainState,
    batch: Batch,
    rng: Array,
    *,
    model: T5,
    tx: optax.GradientTransformation,
    schedule: Callable[[Array], Array],
    loss_config: LossConfig,
    num_microbatches: int = 1,
) -> tuple[TrainState, dict[str, Array]]:
    """One optimizer update on a global batch. `rng` is the run's dropout key."""
    step_rng = jax.random.fold_in(rng, state.step)
    denominator = loss_denominator(batch, loss_config)

    def grad_fn(params: Any, micro: Batch, micro_rng: Array) -> tuple[Any, dict[str, Array]]:
        def objective(p):
            total, sums = loss_sums(p, micro, micro_rng, model=model, loss_config=loss_config)
            return total / denominator, sums

        (_, sums), grads = jax.value_and_grad(objective, has_aux=True)(params)
        return grads, sums

    if num_microbatches <= 1:
        grads, sums = grad_fn(state.params, batch, step_rng)
    else:
        micro_batches = _split_microbatches(batch, num_microbatches)

        def body(carry, inputs):
            grad_acc, sum_acc = carry
            index, micro = inputs
            micro = {
                k: nn.with_logical_constraint(v, ("batch", "length")[: v.ndim]) for k, v in micro.items()
            }
            grads, sums = grad_fn(state.params, micro, jax.random.fold_in(step_rng, index))
            grad_acc = jax.tree.map(jnp.add, grad_acc, grads)
            sum_acc = jax.tree.map(jnp.add, sum_acc, sums)
            return (grad_acc, sum_acc), None

        zeros = jax.tree.map(jnp.zeros_like, state.params)
        zero_sums = {k: jnp.zeros((), jnp.float32) for k in ("cross_entropy", "z_loss", "correct", "num_tokens")}
        (grads, sums), _ = jax.lax.scan(
            body, (zeros, zero_sums), (jnp.arange(num_microbatches), micro_batches)
        )

    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    num_tokens = jnp.maximum(sums["num_tokens"], 1.0)
    metrics = {
        "loss": (sums["cross_entropy"] + sums["z_loss"]) / denominator,
        "cross_entropy": sums["cross_entropy"] / num_tokens,
        "z_loss": sums["z_loss"] / num_tokens,
        "token_accuracy": sums["correct"] / num_tokens,
        "num_tokens": sums["num_tokens"],
        "num_examples": count_examples(batch),
        "learning_rate": jnp.asarray(schedule(state.step), jnp.float32),
        "grad_norm": optax.global_norm(grads),
    }
    new_state = TrainState(step=state.step + 1, params=params, opt_state=opt_state)
    return new_state, metrics


def eval_step(params: Any, batch: Batch, *, model: T5, loss_config: LossConfig) -> dict[str, Array]:
    """Metric sums of one validation batch (no dropout); add them up over batches."""
    _, sums = loss_sums(params, batch, None, model=model, loss_config=loss_config)
    return sums


# -- the compiled trainer ---------------------------------------------------------------


class Trainer:
    """Shardings, initialisation and the compiled steps for one (model, mesh, rules).

    batch_shapes: {feature: ShapeDtypeStruct} of the *global* batch.
    """

    def __init__(
        self,
        config: T5Config,
        tx: optax.GradientTransformation,
        schedule: Callable[[Array], Array],
        mesh: Mesh,
        rules: partitioning.Rules | str,
        batch_shapes: Mapping[str, jax.ShapeDtypeStruct],
        loss_config: LossConfig = LossConfig(),
        num_microbatches: int = 1,
        min_dim_size_to_factor: int = 128,
    ) -> None:
        self.config = config
        self.model = T5(config)
        self.tx = tx
        self.schedule = schedule
        self.mesh = mesh
        self.rules = partitioning.rules_for_mesh(partitioning.get_rules(rules), mesh)
        self.loss_config = loss_config
        self.num_microbatches = num_microbatches
        self.batch_shapes = dict(batch_shapes)
        global_batch = next(iter(self.batch_shapes.values())).shape[0]
        dp = partitioning.data_parallel_size(mesh, self.rules)
        partitioning.check_batch_split(global_batch, dp, num_microbatches)  # as flanjax.plan
        self._init_batch = dp

        # An abstract key: a concrete one would be placed on the mesh's devices, which
        # have no memory when they are an AOT topology's (flanjax.planner.aot).
        abstract_key = jax.eval_shape(lambda: jax.random.key(0))
        with self.context():
            boxed = jax.eval_shape(self._init_boxed, abstract_key)
        self.param_specs = partitioning.param_specs(boxed, self.rules)
        self.abstract_params = nn.meta.unbox(boxed)
        if isinstance(tx, Adafactor):
            # T5X's Adafactor factors by the logical axis names (`set_param_axes` in T5X),
            # and its statistics are sharded by the names of the axes they keep.
            tx = self.tx = tx.bind(nn.get_partition_spec(boxed))
            opt_shapes = jax.eval_shape(tx.init, self.abstract_params)
            self.opt_specs = nn.logical_to_mesh(tx.state_axes(self.abstract_params), self.rules)
        else:  # any other optax transformation: its state follows the parameters' shapes
            opt_shapes = jax.eval_shape(tx.init, self.abstract_params)
            self.opt_specs = partitioning.opt_state_specs(
                opt_shapes, self.abstract_params, self.param_specs, min_dim_size_to_factor=min_dim_size_to_factor
            )
        state_specs = TrainState(step=PartitionSpec(), params=self.param_specs, opt_state=self.opt_specs)
        self.state_shardings = partitioning.named(mesh, state_specs)
        self.param_shardings = self.state_shardings.params
        self.batch_shardings = partitioning.batch_shardings(mesh, self.rules, self.batch_shapes)
        self.replicated = NamedSharding(mesh, PartitionSpec())
        self.abstract_state = jax.tree.map(
            lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
            TrainState(step=jax.ShapeDtypeStruct((), jnp.int32), params=self.abstract_params, opt_state=opt_shapes),
            self.state_shardings,
        )

        step_fn = functools.partial(
            train_step,
            model=self.model,
            tx=tx,
            schedule=schedule,
            loss_config=loss_config,
            num_microbatches=num_microbatches,
        )
        self._train_step = jax.jit(
            step_fn,
            in_shardings=(self.state_shardings, self.batch_shardings, self.replicated),
            out_shardings=(self.state_shardings, self.replicated),
            donate_argnums=0,
        )
        self._eval_step = jax.jit(
            functools.partial(eval_step, model=self.model, loss_config=loss_config),
            in_shardings=(self.param_shardings, self.batch_shardings),
            out_shardings=self.replicated,
        )
        self._init_state = jax.jit(self._fresh_state, out_shardings=self.state_shardings)
        self._state_from_params = jax.jit(
            self._state_with_params, in_shardings=(self.param_shardings, self.replicated),
            out_shardings=self.state_shardings,
        )

    # Tracing needs the mesh (for `with_sharding_constraint`) and the rules in context.
    def context(self):
        return partitioning.mesh_context(self.mesh, self.rules)

    def _init_boxed(self, rng: Array) -> Any:
        tokens = jnp.ones((self._init_batch, 8), jnp.int32)
        return self.model.init(rng, tokens, tokens)["params"]

    def _fresh_state(self, rng: Array) -> TrainState:
        return self._state_with_params(nn.meta.unbox(self._init_boxed(rng)), jnp.zeros((), jnp.int32))

    def _state_with_params(self, params: Any, step: Array) -> TrainState:
        step = jnp.asarray(step, jnp.int32)
        opt_state = set_count(self.tx.init(params), step)
        return TrainState(step=step, params=params, opt_state=opt_state)

    # -- public -------------------------------------------------------------------------

    def init_state(self, rng: Array) -> TrainState:
        """Freshly initialised parameters and optimizer state, sharded."""
        with self.context():
            return self._init_state(rng)

    def state_from_params(self, params: Any, step: int = 0, opt_state: Any = None) -> TrainState:
        """Given parameters at `step` (fine-tuning continues the initial checkpoint's step,
        as T5X's does), with `opt_state` (restored with them) or a fresh optimizer state
        whose step count is `step` (Adafactor's decay and the schedule follow it)."""
        params = jax.tree.map(
            lambda p, sh: p if isinstance(p, jax.Array) and p.sharding == sh else jax.device_put(p, sh),
            params,
            self.param_shardings,
        )
        with self.context():
            state = self._state_from_params(params, jnp.asarray(step, jnp.int32))
        if opt_state is not None:  # restored; its step count becomes `step` (INITIAL_STEP may differ)
            with_count = jax.jit(functools.partial(set_count, step=int(step)),
                                 out_shardings=self.state_shardings.opt_state)
            with self.context():
                state = state.replace(opt_state=with_count(opt_state))
        return state

    def train_step(self, state: TrainState, batch: Batch, rng: Array) -> tuple[TrainState, dict[str, Array]]:
        with self.context():
            return self._train_step(state, batch, rng)

    def compile_train_step(self, state: TrainState, batch: Batch, rng: Array) -> None:
        """Compiles the train step for these arguments: the first `train_step` call with them
        then finds it in jit's cache and only runs."""
        with self.context():
            self._train_step.lower(state, batch, rng).compile()

    def lower_train_step(self) -> Any:
        """The train step lowered for the abstract state, batch and key (AOT compilation)."""
        key = jax.eval_shape(lambda: jax.random.key(0))
        rng = jax.ShapeDtypeStruct(key.shape, key.dtype, sharding=self.replicated)
        batch = {
            k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=self.batch_shardings[k])
            for k, v in self.batch_shapes.items()
        }
        with self.context():
            return self._train_step.lower(self.abstract_state, batch, rng)

    def eval_step(self, params: Any, batch: Batch) -> dict[str, Array]:
        with self.context():
            return self._eval_step(params, batch)
