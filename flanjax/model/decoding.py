"""Autoregressive decoding with the key/value cache: greedy, sampling and beam search.

The encoder runs once; each decoder step feeds one token and appends its keys/values to
the "cache" collection. The cross-attention keys/values of the encoder output are projected
once, when the cache is created (before the loop), and read from the cache by every step. The loop is a `lax.while_loop` inside one `jax.jit`, compiled once
per (config, shapes, decoding settings) and reused from jax's cache. No explicit device
placement happens here, so params sharded on a mesh work unchanged.

Beam search follows the canonical algorithm as transformers implements it (keep the top
2*num_beams continuations, move the EOS-ending ones among the top num_beams to the
finished pool, continue the best num_beams others, and at the last step finalise every
top continuation), with exact early stopping: a batch row stops once no running beam can
beat its worst finished hypothesis even at the most favourable length. Finished scores are
`sum_logprob / penalty(length)`, with `penalty` T5X's brevity penalty ((5+len)/6)**alpha
(`length_penalty_style="t5x"`, default) or transformers' len**alpha (`"hf"`). With
`"hf"` it reproduces `model.generate(num_beams=k, length_penalty=alpha,
early_stopping="never")` token for token.
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
_NEG = -1.0e9  # "impossible" score, finite so that arithmetic on it stays finite
METHODS = ("greedy", "sample", "beam")


def generate(
    config: T5Config,
    params: Any,
    encoder_input_tokens: Any,
    *,
    max_decode_length: int,
    method: str = "greedy",
    num_beams: int = 4,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    alpha: float = 0.6,
    length_penalty_style: str = "t5x",
    rng: Array | None = None,
) -> Array:
    """Decodes [batch, in_length] inputs into [batch, max_decode_length] int32 ids.

    Outputs include the EOS token and are padded with 0 after it (the best beam for
    beam search). `temperature`, `top_k` (0: off) and `top_p` (1.0: off) apply to
    sampling; `alpha` and `length_penalty_style` to beam search. `rng` seeds sampling
    (default `jax.random.key(0)`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if max_decode_length < 1:
        raise ValueError(f"max_decode_length must be >= 1, got {max_decode_length}")
    if length_penalty_style not in ("t5x", "hf"):
        raise ValueError(
            f"length_penalty_style must be 't5x' or 'hf', got {length_penalty_style!r}"
        )
    tokens = check_token_ids(encoder_input_tokens, config.vocab_size, "encoder_input_tokens")
    check_rank(tokens, 2, "encoder_input_tokens", "[batch, length]")
    if method == "beam":
        if num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {num_beams}")
        return _beam_search(
            config,
            params,
            tokens,
            max_decode_length=max_decode_length,
            num_beams=num_beams,
            alpha=float(alpha),
            length_penalty_style=length_penalty_style,
        )
    if method == "sample" and temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    rng = jax.random.key(0) if rng is None else rng
    return _sample_or_greedy(
        config,
        params,
        tokens,
        rng,
        max_decode_length=max_decode_length,
        greedy=method == "greedy" or temperature == 0.0,
        temperature=float(temperature),
        top_k=int(top_k),
        top_p=float(top_p),
    )


# -- shared pieces ------------------------------------------------------------------------


def _encode(config: T5Config, params: Any, tokens: Array) -> Array:
    return T5(config).apply({"params": params}, tokens, method=T5.encode)


def _init_cache(
    config: T5Config,
    params: Any,
    encoded: Array,
    enc_tokens: Array,
    max_length: int,
    rows: int | None = None,
) -> Any:
    """Zero cache for `max_length` decoder positions (the dummy forward pass is dead code).

    `rows` decoder rows (default: one per encoded example); with `rows` a multiple of the
    examples (beam search), consecutive rows share their example's cross-attention cache.
    """
    dummy = jnp.zeros((encoded.shape[0] if rows is None else rows, max_length), jnp.int32)
    _, variables = T5(config).apply(
        {"params": params},
        encoded,
        enc_tokens,
        dummy,
        decode=True,
        method=T5.decode,
        mutable=["cache"],
    )
    return variables["cache"]


def _decode_step(
    config: T5Config, params: Any, cache: Any, encoded: Array, enc_tokens: Array, token: Array
) -> tuple[Array, Any]:
    """token [batch] -> (float32 logits [batch, vocab], new cache)."""
    logits, variables = T5(config).apply(
        {"params": params, "cache": cache},
        encoded,
        enc_tokens,
        token[:, None],
        decode=True,
        method=T5.decode,
        mutable=["cache"],
    )
    return logits[:, 0, :], variables["cache"]


def _filter_logits(logits: Array, temperature: float, top_k: int, top_p: float) -> Array:
    """Temperature, then top-k, then nucleus (top-p) filtering; [batch, vocab]."""
    logits = logits / temperature
    if top_k > 0:
        kth = lax.top_k(logits, top_k)[0][:, -1:]  # [batch, 1]
        logits = jnp.where(logits < kth, -jnp.inf, logits)
    if top_p < 1.0:
        sorted_logits = jnp.sort(logits, axis=-1)[:, ::-1]
        cumulative = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
        # Keep the smallest prefix whose mass reaches top_p (always at least one token).
        keep = (cumulative - jax.nn.softmax(sorted_logits, axis=-1)) < top_p
        threshold = jnp.min(jnp.where(keep, sorted_logits, jnp.inf), axis=-1, keepdims=True)
        logits = jnp.where(logits < threshold, -jnp.inf, logits)
    return logits


# -- greedy and sampling ----------------------------------------------------------------


@functools.partial(
    jax.jit,
    static_argnames=("config", "max_decode_length", "greedy", "temperature", "top_k", "top_p"),
)
def _sample_or_greedy(
    config: T5Config,
    params: Any,
    enc_tokens: Array,
    rng: Array,
    *,
    max_decode_length: int,
    greedy: bool,
    temperature: float,
    top_k: int,
    top_p: float,
) -> Array:
    batch = enc_tokens.shape[0]
    encoded = _encode(config, params, enc_tokens)  # [batch, in_len, embed]
    cache = _init_cache(config, params, encoded, enc_tokens, max_decode_length)
    out = jnp.zeros((batch, max_decode_length), jnp.int32)
    last = jnp.full((batch,), config.decoder_start_id, jnp.int32)
    finished = jnp.zeros((batch,), bool)

    def cond(state: tuple) -> Array:
        i, _, _, finished, _, _ = state
        return (i < max_decode_length) & ~jnp.all(finished)

    def body(state: tuple) -> tuple:
        i, out, last, finished, cache, rng = state
        logits, cache = _decode_step(config, params, cache, encoded, enc_tokens, last)
        if greedy:
            token = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        else:
            rng, key = jax.random.split(rng)
            filtered = _filter_logits(logits, temperature, top_k, top_p)
            token = jax.random.categorical(key, filtered, axis=-1).astype(jnp.int32)
        token = jnp.where(finished, config.pad_id, token)
        out = lax.dynamic_update_slice(out, token[:, None], (jnp.int32(0), i))
        finished = finished | (token == config.eos_id)
        return i + 1, out, token, finished, cache, rng

    state = (jnp.int32(0), out, last, finished, cache, rng)
    return lax.while_loop(cond, body, state)[1]


# -- beam search --------------------------------------------------------------------------


def _length_penalty(length: Array | int, alpha: float, style: str) -> Array:
    length = jnp.asarray(length, jnp.float32)
    if style == "t5x":
        return ((5.0 + length) / 6.0) ** alpha
    return length**alpha


def _gather_beams(x: Array, indices: Array) -> Array:
    """x [batch, n, ...], indices [batch, m] -> [batch, m, ...]."""
    return jnp.take_along_axis(x, indices.reshape(indices.shape + (1,) * (x.ndim - 2)), axis=1)


def _reorder_cache(cache: Any, flat_indices: Array, scan_layers: bool) -> Any:
    """Gathers every per-example cache array along its batch axis."""
    axis = 1 if scan_layers else 0

    def gather(path: tuple, x: Array) -> Array:
        # Keys/values are [(layers,) batch, heads, length, kv]; the indices and key
        # positions ([], [layers], [length]) are shared by all examples. The cross-attention
        # keys/values are cached once per example (not per beam): never reordered.
        if x.ndim < 4:
            return x
        name = getattr(path[-1], "key", None)
        if isinstance(name, str) and name.startswith("cached_cross_"):
            return x
        return jnp.take(x, flat_indices, axis=axis)

    return jax.tree_util.tree_map_with_path(gather, cache)


@functools.partial(
    jax.jit,
    static_argnames=("config", "max_decode_length", "num_beams", "alpha", "length_penalty_style"),
)
def _beam_search(
    config: T5Config,
    params: Any,
    enc_tokens: Array,
    *,
    max_decode_length: int,
    num_beams: int,
    alpha: float,
    length_penalty_style: str,
) -> Array:
    batch, k, length = enc_tokens.shape[0], num_beams, max_decode_length
    encoded = _encode(config, params, enc_tokens)  # [batch, in_len, embed]
    # The decoder runs batch * beams rows (beams of an example consecutive); the
    # cross-attention keys/values are projected and cached once per example and shared
    # by its beams (see `MultiHeadDotProductAttention`), never repeated per beam.
    cache = _init_cache(config, params, encoded, enc_tokens, length, rows=batch * k)

    running_seqs = jnp.zeros((batch, k, length), jnp.int32)
    running_scores = jnp.full((batch, k), _NEG, jnp.float32).at[:, 0].set(0.0)
    finished_seqs = jnp.zeros((batch, k, length), jnp.int32)
    finished_scores = jnp.full((batch, k), _NEG, jnp.float32)
    finished_flags = jnp.zeros((batch, k), bool)
    open_rows = jnp.ones((batch,), bool)  # rows where a running beam may still win
    rank_is_top = jnp.arange(2 * k) < k  # [2k]
    batch_offset = (jnp.arange(batch) * k)[:, None]  # [batch, 1]

    def cond(state: tuple) -> Array:
        i, open_rows = state[0], state[6]
        return (i < length) & jnp.any(open_rows)

    def body(state: tuple) -> tuple:
        (i, running_seqs, running_scores, finished_seqs, finished_scores, finished_flags,
         open_rows, cache) = state
        prev = lax.dynamic_index_in_dim(running_seqs, jnp.maximum(i - 1, 0), axis=2, keepdims=False)
        last = jnp.where(i == 0, config.decoder_start_id, prev).reshape(batch * k)
        logits, cache = _decode_step(config, params, cache, encoded, enc_tokens, last)
        vocab = logits.shape[-1]
        log_probs = jax.nn.log_softmax(logits, axis=-1).reshape(batch, k, vocab)
        candidates = (log_probs + running_scores[:, :, None]).reshape(batch, k * vocab)

        top_scores, top_index = lax.top_k(candidates, 2 * k)  # [batch, 2k]
        top_beam, top_token = top_index // vocab, (top_index % vocab).astype(jnp.int32)
        top_seqs = _gather_beams(running_seqs, top_beam)  # [batch, 2k, length]
        top_seqs = lax.dynamic_update_slice(
            top_seqs, top_token[:, :, None], (jnp.int32(0), jnp.int32(0), i)
        )
        hits_end = (top_token == config.eos_id) | (i == length - 1)  # [batch, 2k]

        # Continue the best k continuations that did not just end.
        alive_scores = top_scores + hits_end.astype(jnp.float32) * _NEG
        next_scores, keep = lax.top_k(alive_scores, k)  # [batch, k]
        running_seqs = _gather_beams(top_seqs, keep)
        origin = _gather_beams(top_beam, keep)  # beam each survivor extends

        # Finalise the just-ended continuations ranked among the top k.
        eligible = hits_end & rank_is_top[None, :] & open_rows[:, None]
        ended = top_scores / _length_penalty(i + 1, alpha, length_penalty_style)
        ended = jnp.where(eligible, ended, ended + _NEG)
        merged_scores = jnp.concatenate([finished_scores, ended], axis=1)
        finished_scores, best = lax.top_k(merged_scores, k)
        finished_seqs = _gather_beams(jnp.concatenate([finished_seqs, top_seqs], axis=1), best)
        finished_flags = _gather_beams(jnp.concatenate([finished_flags, eligible], axis=1), best)

        cache = _reorder_cache(cache, (batch_offset + origin).reshape(-1), config.scan_layers)

        # Exact stopping test: running scores only fall as tokens are added, so the best
        # a running beam can reach is its score over the largest penalty still possible.
        bound_length = length if alpha > 0 else i + 1
        bound_penalty = _length_penalty(bound_length, alpha, length_penalty_style)
        best_possible = next_scores[:, 0] / bound_penalty
        worst_finished = jnp.where(finished_flags, finished_scores.min(axis=1, keepdims=True), _NEG)
        open_rows = open_rows & jnp.any(best_possible[:, None] > worst_finished, axis=1)
        return (i + 1, running_seqs, next_scores, finished_seqs, finished_scores, finished_flags,
                open_rows, cache)

    state = (jnp.int32(0), running_seqs, running_scores, finished_seqs, finished_scores,
             finished_flags, open_rows, cache)
    state = lax.while_loop(cond, body, state)
    return state[3][:, 0]  # best finished hypothesis per row

