"""Log-likelihood scoring of target sequences, and rank classification over options.

`score_options` encodes each input once and scores every answer option against that
encoding (neither the input re-encoded nor the encoder output repeated per option: the
cross-attention keys/values are projected once per example and shared by its options),
which is what rank-classification evaluation (FLAN, T0) spends most of its time on.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from flanjax.model.checks import check_rank, check_token_ids
from flanjax.model.config import T5Config
from flanjax.model.network import T5

Array = jax.Array


def shift_right(targets: Array, start_id: int = 0) -> Array:
    """Decoder inputs: [start, t0, t1, ...] from targets [t0, t1, ...]; [batch, length]."""
    start = jnp.full_like(targets[:, :1], start_id)
    return jnp.concatenate([start, targets[:, :-1]], axis=1)


def _token_log_likelihoods(logits: Array, targets: Array) -> Array:
    """float32 logits [b, l, v], targets [b, l] -> log p(target) [b, l], 0 at padding.

    The same float operations as `log_softmax` followed by a gather ((x_t - max) -
    log(sum(exp(x - max)))), without materialising the [b, l, v] log-probabilities; the
    target's logit is picked by `pick_target`.
    """
    logits = logits.astype(jnp.float32)
    max_logit = lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    shifted = logits - max_logit
    log_z = jnp.log(jnp.sum(jnp.exp(shifted), axis=-1))
    return jnp.where(targets > 0, pick_target(shifted, targets) - log_z, 0.0)


def pick_target(values: Array, targets: Array) -> Array:
    """`values[..., target]` over the last (vocabulary) axis, [b, l, v] -> [b, l].

    A masked sum, exact (every other term is 0), whose gradient is elementwise rather than
    a scatter into a zero [b, l, v] buffer as `take_along_axis`'s is.
    """
    vocab_ids = lax.broadcasted_iota(jnp.int32, values.shape, values.ndim - 1)
    return jnp.sum(jnp.where(vocab_ids == targets[..., None], values, 0.0), axis=-1)


@functools.partial(jax.jit, static_argnames=("config",))
def _score(config: T5Config, params: Any, enc_tokens: Array, targets: Array) -> Array:
    logits = T5(config).apply(
        {"params": params}, enc_tokens, shift_right(targets, config.decoder_start_id)
    )
    return _token_log_likelihoods(logits, targets).sum(axis=-1)


def score(
    config: T5Config, params: Any, encoder_input_tokens: Any, decoder_target_tokens: Any
) -> Array:
    """Summed log-likelihood of each row's targets, [batch]; padding (id 0) is ignored."""
    enc = check_token_ids(encoder_input_tokens, config.vocab_size, "encoder_input_tokens")
    tgt = check_token_ids(decoder_target_tokens, config.vocab_size, "decoder_target_tokens")
    check_rank(enc, 2, "encoder_input_tokens", "[batch, length]")
    check_rank(tgt, 2, "decoder_target_tokens", "[batch, length]")
    if enc.shape[0] != tgt.shape[0]:
        raise ValueError(f"batch sizes differ: inputs {enc.shape}, targets {tgt.shape}")
    return _score(config, params, enc, tgt)


@functools.partial(jax.jit, static_argnames=("config",))
def _score_options(
    config: T5Config, params: Any, enc_tokens: Array, options: Array
) -> dict[str, Array]:
    batch, num_options, length = options.shape
    model = T5(config)
    encoded = model.apply({"params": params}, enc_tokens, method=T5.encode)  # [b, in, e]
    targets = options.reshape(batch * num_options, length)  # options of an example adjacent
    # The decoder runs b * options rows against the b encodings: the cross-attention
    # projects each example's keys/values once and its options' queries attend to them
    # together (`MultiHeadDotProductAttention` groups query rows per key row).
    logits = model.apply(
        {"params": params},
        encoded,
        enc_tokens,
        shift_right(targets, config.decoder_start_id),
        method=T5.decode,
    )  # [b * options, length, vocab]
    per_token = _token_log_likelihoods(logits, targets).reshape(batch, num_options, length)
    num_tokens = (options > 0).sum(axis=-1)  # [b, options]
    total = per_token.sum(axis=-1)
    return {
        "sum": total,
        "mean": total / jnp.maximum(num_tokens, 1).astype(jnp.float32),
        "num_tokens": num_tokens,
    }


def score_options(
    config: T5Config, params: Any, encoder_input_tokens: Any, option_target_tokens: Any
) -> dict[str, Array]:
    """Log-likelihood of every answer option given its input.

    encoder_input_tokens [batch, in_length]; option_target_tokens [batch, num_options,
    target_length], right-padded with 0 (an all-padding option scores 0). Returns
    {"sum": [batch, num_options] summed log-likelihood, "mean": per-token mean,
    "num_tokens": [batch, num_options]}. Rank classification picks argmax of "sum".
    """
    enc = check_token_ids(encoder_input_tokens, config.vocab_size, "encoder_input_tokens")
    opts = check_token_ids(option_target_tokens, config.vocab_size, "option_target_tokens")
    check_rank(enc, 2, "encoder_input_tokens", "[batch, length]")
    check_rank(opts, 3, "option_target_tokens", "[batch, num_options, length]")
    if enc.shape[0] != opts.shape[0]:
        raise ValueError(f"batch sizes differ: inputs {enc.shape}, options {opts.shape}")
    return _score_options(config, params, enc, opts)
