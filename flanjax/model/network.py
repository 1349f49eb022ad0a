"""The T5 encoder-decoder as a Flax linen module.

Parameter tree (what `flanjax.convert.hf` maps to and from Hugging Face names):

    token_embedder/embedding                      [vocab, embed]
    encoder/relpos_bias/rel_embedding             [heads, relpos_buckets]
    encoder/layers_{i}/pre_attention_layer_norm/scale
    encoder/layers_{i}/attention/{query,key,value}/kernel   [embed, heads, kv]
    encoder/layers_{i}/attention/out/kernel                 [heads, kv, embed]
    encoder/layers_{i}/pre_mlp_layer_norm/scale
    encoder/layers_{i}/mlp/{wi | wi_0, wi_1}/kernel [embed, mlp];  mlp/wo/kernel [mlp, embed]
    encoder/encoder_norm/scale
    decoder/relpos_bias/rel_embedding
    decoder/layers_{i}/{pre_self_attention_layer_norm, self_attention,
                        pre_cross_attention_layer_norm, encoder_decoder_attention,
                        pre_mlp_layer_norm, mlp}
    decoder/decoder_norm/scale
    decoder/logits_dense/kernel                   [embed, vocab]   (untied configs only)

With `config.scan_layers` the `layers_{i}` subtrees become one `layers` subtree whose
arrays carry a leading `layers` axis.

As in T5, one relative-position table per stack is shared by all its layers (Hugging Face
stores it in block 0 only).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from flanjax.model.config import T5Config
from flanjax.model.layers import (
    MASK_BIAS,
    DenseGeneral,
    Embed,
    MultiHeadDotProductAttention,
    MlpBlock,
    RelativePositionBiases,
    RMSNorm,
)

Array = jax.Array

_REMAT_POLICIES: dict[str, Any] = {
    "full": None,  # save nothing: recompute the whole layer in the backward pass
    "minimal": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
    "dots": jax.checkpoint_policies.checkpoint_dots,
}


# -- masks and positions -------------------------------------------------------------


def mask_to_bias(mask: Array) -> Array:
    """bool [batch, 1, q, k] -> float32 additive bias (0 where allowed)."""
    return jnp.where(mask, 0.0, MASK_BIAS).astype(jnp.float32)


def positions_from_segments(segment_ids: Array) -> Array:
    """Positions restarting at 0 at each new segment: [batch, length] -> same shape."""
    length = segment_ids.shape[-1]
    index = jnp.broadcast_to(jnp.arange(length, dtype=jnp.int32), segment_ids.shape)
    starts = jnp.concatenate(
        [
            jnp.ones_like(segment_ids[:, :1], dtype=bool),
            segment_ids[:, 1:] != segment_ids[:, :-1],
        ],
        axis=1,
    )
    start_index = lax.cummax(jnp.where(starts, index, 0), axis=1)
    return index - start_index


def _positions(tokens: Array, positions: Array | None, segment_ids: Array | None) -> Array:
    if positions is not None:
        return positions.astype(jnp.int32)
    if segment_ids is not None:
        return positions_from_segments(segment_ids)
    return jnp.broadcast_to(jnp.arange(tokens.shape[-1], dtype=jnp.int32), tokens.shape)


def _segment_mask(q_segments: Array | None, k_segments: Array | None) -> Array | bool:
    if q_segments is None or k_segments is None:
        return True
    return q_segments[:, None, :, None] == k_segments[:, None, None, :]  # [b, 1, q, k]


# -- layers ----------------------------------------------------------------------------


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + MLP, each added back to the residual stream."""

    config: T5Config
    deterministic: bool = True

    @nn.compact
    def __call__(self, x: Array, bias: Array) -> tuple[Array, None]:
        cfg = self.config
        dtype, pdtype = cfg.activation_dtype, cfg.parameter_dtype
        drop = nn.Dropout(rate=cfg.dropout_rate, deterministic=self.deterministic)
        y = RMSNorm(cfg.layer_norm_epsilon, dtype, pdtype, name="pre_attention_layer_norm")(x)
        y = MultiHeadDotProductAttention(
            cfg.num_heads, cfg.d_kv, cfg.dropout_rate, dtype, pdtype, name="attention"
        )(y, y, bias, deterministic=self.deterministic)
        x = x + drop(y)
        y = RMSNorm(cfg.layer_norm_epsilon, dtype, pdtype, name="pre_mlp_layer_norm")(x)
        y = MlpBlock(cfg.d_ff, cfg.feed_forward_proj, cfg.dropout_rate, dtype, pdtype, name="mlp")(
            y, deterministic=self.deterministic
        )
        x = x + drop(y)
        return nn.with_logical_constraint(x, ("batch", "length", "embed")), None


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, cross-attention and MLP."""

    config: T5Config
    deterministic: bool = True
    decode: bool = False

    @nn.compact
    def __call__(
        self, x: Array, self_bias: Array, encoded: Array, cross_bias: Array
    ) -> tuple[Array, None]:
        cfg = self.config
        dtype, pdtype = cfg.activation_dtype, cfg.parameter_dtype
        eps = cfg.layer_norm_epsilon
        drop = nn.Dropout(rate=cfg.dropout_rate, deterministic=self.deterministic)

        def attention(name: str) -> MultiHeadDotProductAttention:
            return MultiHeadDotProductAttention(
                cfg.num_heads, cfg.d_kv, cfg.dropout_rate, dtype, pdtype, name=name
            )

        y = RMSNorm(eps, dtype, pdtype, name="pre_self_attention_layer_norm")(x)
        y = attention("self_attention")(
            y, y, self_bias, deterministic=self.deterministic, decode=self.decode
        )
        x = x + drop(y)
        y = RMSNorm(eps, dtype, pdtype, name="pre_cross_attention_layer_norm")(x)
        y = attention("encoder_decoder_attention")(
            y,
            encoded,
            cross_bias,
            deterministic=self.deterministic,
            decode=self.decode,
            static_kv=True,
        )
        x = x + drop(y)
        y = RMSNorm(eps, dtype, pdtype, name="pre_mlp_layer_norm")(x)
        y = MlpBlock(cfg.d_ff, cfg.feed_forward_proj, cfg.dropout_rate, dtype, pdtype, name="mlp")(
            y, deterministic=self.deterministic
        )
        x = x + drop(y)
        return nn.with_logical_constraint(x, ("batch", "length", "embed")), None


def _stack_layers(
    parent: nn.Module,
    layer_cls: type[nn.Module],
    num_layers: int,
    x: Array,
    *args: Array,
    **layer_attrs: Any,
) -> Array:
    """Applies `num_layers` layers, scanned and/or rematerialised as the config asks."""
    cfg: T5Config = parent.config  # type: ignore[attr-defined]
    cls = layer_cls
    if cfg.remat_policy != "none":
        cls = nn.remat(
            cls, policy=_REMAT_POLICIES[cfg.remat_policy], prevent_cse=not cfg.scan_layers
        )
    if cfg.scan_layers:
        scanned = nn.scan(
            cls,
            variable_axes={"params": 0, "cache": 0},
            split_rngs={"params": True, "dropout": True},
            in_axes=(nn.broadcast,) * len(args),
            length=num_layers,
            metadata_params={nn.PARTITION_NAME: "layers"},
        )
        x, _ = scanned(cfg, name="layers", **layer_attrs)(x, *args)
        return x
    for i in range(num_layers):
        x, _ = cls(cfg, name=f"layers_{i}", **layer_attrs)(x, *args)
    return x


# -- stacks ----------------------------------------------------------------------------


class Encoder(nn.Module):
    config: T5Config
    shared_embedding: nn.Module

    @nn.compact
    def __call__(
        self,
        encoder_input_tokens: Array,
        encoder_segment_ids: Array | None = None,
        encoder_positions: Array | None = None,
        enable_dropout: bool = False,
    ) -> Array:
        """[batch, in_length] tokens -> [batch, in_length, embed] encodings."""
        cfg = self.config
        dtype, pdtype = cfg.activation_dtype, cfg.parameter_dtype
        deterministic = not enable_dropout
        tokens = encoder_input_tokens
        positions = _positions(tokens, encoder_positions, encoder_segment_ids)

        mask = (tokens > 0)[:, None, None, :] & _segment_mask(
            encoder_segment_ids, encoder_segment_ids
        )  # [b, 1, q, k]
        relpos = RelativePositionBiases(
            cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance,
            cfg.num_heads,
            param_dtype=pdtype,
            name="relpos_bias",
        )(positions, positions, bidirectional=True)  # [b, h, q, k]
        bias = mask_to_bias(mask) + relpos

        x = self.shared_embedding(tokens)  # [b, l, e]
        x = nn.Dropout(rate=cfg.dropout_rate, deterministic=deterministic)(x)
        x = _stack_layers(
            self, EncoderLayer, cfg.num_encoder_layers, x, bias, deterministic=deterministic
        )
        x = RMSNorm(cfg.layer_norm_epsilon, dtype, pdtype, name="encoder_norm")(x)
        x = nn.Dropout(rate=cfg.dropout_rate, deterministic=deterministic)(x)
        return nn.with_logical_constraint(x, ("batch", "length", "embed"))


class Decoder(nn.Module):
    config: T5Config
    shared_embedding: nn.Module

    @nn.compact
    def __call__(
        self,
        encoded: Array,
        encoder_input_tokens: Array,
        decoder_input_tokens: Array,
        encoder_segment_ids: Array | None = None,
        decoder_segment_ids: Array | None = None,
        decoder_positions: Array | None = None,
        enable_dropout: bool = False,
        decode: bool = False,
    ) -> Array:
        """Returns float32 logits [batch, target_length, vocab].

        The self-attention mask is causal (and per segment when packed); right-padded
        targets need no further mask since no real position attends to a later one.
        """
        cfg = self.config
        dtype, pdtype = cfg.activation_dtype, cfg.parameter_dtype
        deterministic = not enable_dropout
        tokens = decoder_input_tokens
        length = tokens.shape[1]
        relpos_module = RelativePositionBiases(
            cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance,
            cfg.num_heads,
            param_dtype=pdtype,
            name="relpos_bias",
        )

        cached_step = False
        if decode:
            cached_step = self.has_variable("cache", "decoder_index")
            index_var = self.variable("cache", "decoder_index", lambda: jnp.array(0, jnp.int32))
            # Key positions of the cache, [max_length]; its shape records the cache length.
            key_pos_var = self.variable(
                "cache", "key_positions", lambda: jnp.arange(length, dtype=jnp.int32)
            )
        if cached_step:
            index = index_var.value
            index_var.value = index + 1
            key_positions = key_pos_var.value[None, :]  # [1, max_length]
            query_positions = jnp.full((1, 1), index, jnp.int32)  # [1, 1]
            self_mask = (key_positions <= index)[:, None, None, :]  # [1, 1, 1, max_length]
            relpos = relpos_module(query_positions, key_positions, bidirectional=False)
        else:
            positions = _positions(tokens, decoder_positions, decoder_segment_ids)
            causal = jnp.arange(length)[None, :] <= jnp.arange(length)[:, None]  # [q, k]
            self_mask = causal[None, None] & _segment_mask(
                decoder_segment_ids, decoder_segment_ids
            )
            relpos = relpos_module(positions, positions, bidirectional=False)
        self_bias = mask_to_bias(self_mask) + relpos  # [b|1, h, q, k]

        cross_mask = (encoder_input_tokens > 0)[:, None, None, :]  # [b, 1, 1, in_len]
        if not cached_step:
            cross_mask = cross_mask & _segment_mask(decoder_segment_ids, encoder_segment_ids)
        cross_bias = mask_to_bias(cross_mask)

        x = self.shared_embedding(tokens)  # [b, l, e]
        x = nn.Dropout(rate=cfg.dropout_rate, deterministic=deterministic)(x)
        x = _stack_layers(
            self,
            DecoderLayer,
            cfg.num_decoder_layers,
            x,
            self_bias,
            encoded,
            cross_bias,
            deterministic=deterministic,
            decode=decode,
        )
        x = RMSNorm(cfg.layer_norm_epsilon, dtype, pdtype, name="decoder_norm")(x)
        x = nn.Dropout(rate=cfg.dropout_rate, deterministic=deterministic)(x)
        if cfg.scale_decoder_outputs:
            # Original T5 ties input and output embeddings and rescales by d_model**-0.5.
            x = x * (cfg.d_model**-0.5)
        if cfg.tie_word_embeddings:
            logits = self.shared_embedding.attend(x)  # type: ignore[attr-defined]
        else:
            logits = DenseGeneral(
                in_shape=(cfg.d_model,),
                out_shape=(cfg.vocab_size,),
                axis_names=("embed", "vocab"),
                kernel_init=nn.initializers.normal(stddev=cfg.d_model**-0.5),
                dtype=dtype,
                param_dtype=pdtype,
                name="logits_dense",
            )(x)
        # Float32 logits: the loss and log-likelihood scores need the precision.
        logits = logits.astype(jnp.float32)
        return nn.with_logical_constraint(logits, ("batch", "length", "vocab"))


class T5(nn.Module):
    """T5 encoder-decoder: `apply({"params": p}, enc_tokens, dec_tokens)` -> float32 logits."""

    config: T5Config

    def setup(self) -> None:
        cfg = self.config
        self.token_embedder = Embed(
            cfg.vocab_size,
            cfg.d_model,
            dtype=cfg.activation_dtype,
            param_dtype=cfg.parameter_dtype,
        )
        self.encoder = Encoder(cfg, shared_embedding=self.token_embedder)
        self.decoder = Decoder(cfg, shared_embedding=self.token_embedder)

    def encode(
        self,
        encoder_input_tokens: Array,
        encoder_segment_ids: Array | None = None,
        encoder_positions: Array | None = None,
        enable_dropout: bool = False,
    ) -> Array:
        """[batch, in_length] -> [batch, in_length, embed]."""
        return self.encoder(
            encoder_input_tokens, encoder_segment_ids, encoder_positions, enable_dropout
        )

    def decode(
        self,
        encoded: Array,
        encoder_input_tokens: Array,
        decoder_input_tokens: Array,
        encoder_segment_ids: Array | None = None,
        decoder_segment_ids: Array | None = None,
        decoder_positions: Array | None = None,
        enable_dropout: bool = False,
        decode: bool = False,
    ) -> Array:
        """Logits [batch, target_length, vocab] from encodings (one step if `decode`)."""
        return self.decoder(
            encoded,
            encoder_input_tokens,
            decoder_input_tokens,
            encoder_segment_ids,
            decoder_segment_ids,
            decoder_positions,
            enable_dropout,
            decode,
        )

    def __call__(
        self,
        encoder_input_tokens: Array,
        decoder_input_tokens: Array,
        encoder_segment_ids: Array | None = None,
        decoder_segment_ids: Array | None = None,
        encoder_positions: Array | None = None,
        decoder_positions: Array | None = None,
        enable_dropout: bool = False,
        decode: bool = False,
    ) -> Array:
        encoded = self.encode(
            encoder_input_tokens, encoder_segment_ids, encoder_positions, enable_dropout
        )
        return self.decode(
            encoded,
            encoder_input_tokens,
            decoder_input_tokens,
            encoder_segment_ids,
            decoder_segment_ids,
            decoder_positions,
            enable_dropout,
            decode,
        )


def init_params(config: T5Config, rng: Array, batch: int = 1, length: int = 8) -> Any:
    """Fresh parameters (boxed with logical axis metadata stripped): a plain dict tree."""
    tokens = jnp.ones((batch, length), jnp.int32)
    variables = T5(config).init(rng, tokens, tokens)
    return nn.meta.unbox(variables["params"])


def abstract_params(config: T5Config, boxed: bool = False) -> Any:
    """Shape/dtype tree of the parameters without allocating them.

    With `boxed=True` the leaves keep their `nn.LogicallyPartitioned` metadata, from which
    `nn.get_partition_spec` reads the logical axis names.
    """
    def init(rng: Array) -> Any:
        tokens = jnp.ones((1, 8), jnp.int32)
        return T5(config).init(rng, tokens, tokens)

    variables = jax.eval_shape(init, jax.random.key(0))
    params = variables["params"]
    return params if boxed else nn.meta.unbox(params)
