"""The T5 network configuration: one frozen dataclass, presets per size, a FLOPs estimate.

Every field maps onto something `transformers.T5Config` expresses, so a Hugging Face
checkpoint converts without loss (see `flanjax.convert.hf`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jax.numpy as jnp

FEED_FORWARD_PROJS = ("relu", "gated-gelu")
REMAT_POLICIES = ("none", "full", "minimal", "dots")

# (d_model, d_ff, num_heads, num_layers) of the published T5 v1.1 / Flan-T5 sizes; d_kv is
# 64 and the vocabulary 32128 (32000 SentencePiece pieces + 100 sentinels, padded to a
# multiple of 128) for all of them.
_V1_1_SIZES: dict[str, tuple[int, int, int, int]] = {
    "small": (512, 1024, 6, 8),
    "base": (768, 2048, 12, 12),
    "large": (1024, 2816, 16, 24),
    "xl": (2048, 5120, 32, 24),
    "xxl": (4096, 10240, 64, 24),
}


@dataclasses.dataclass(frozen=True)
class T5Config:
    """Hyperparameters of a T5 encoder-decoder (original T5, T5 v1.1, Flan-T5, mT5).

    Frozen and hashable: it is a static argument of the jitted decoding and scoring
    functions, so one compiled program is cached per (config, shapes).
    """

    vocab_size: int = 32128  # rows of the shared token embedding
    d_model: int = 512  # width of the residual stream
    d_kv: int = 64  # per-head width of queries/keys/values (independent of d_model/heads)
    d_ff: int = 1024  # hidden width of the MLP blocks
    num_heads: int = 6
    num_encoder_layers: int = 8
    num_decoder_layers: int = 8  # may differ from the encoder depth
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.0  # used only when `enable_dropout=True`
    layer_norm_epsilon: float = 1e-6
    feed_forward_proj: str = "gated-gelu"  # "relu" (T5 v1.0) or "gated-gelu" (v1.1, Flan-T5)
    # Tied: the shared embedding is also the output projection (no `logits_dense` param).
    tie_word_embeddings: bool = False
    # Multiply the final decoder state by d_model**-0.5 before the output projection, as
    # the original (tied) T5 does. None means "same as tie_word_embeddings".
    scale_decoder_outputs: bool | None = None
    dtype: str = "bfloat16"  # activations; logits and softmax are always float32
    param_dtype: str = "float32"  # stored parameters
    scan_layers: bool = False  # nn.scan over layers: one compiled layer, faster compiles
    remat_policy: str = "none"  # one of REMAT_POLICIES; rematerialise each layer
    pad_id: int = 0
    eos_id: int = 1
    decoder_start_id: int = 0

    def __post_init__(self) -> None:
        if self.scale_decoder_outputs is None:
            object.__setattr__(self, "scale_decoder_outputs", self.tie_word_embeddings)
        if self.feed_forward_proj not in FEED_FORWARD_PROJS:
            raise ValueError(
                f"feed_forward_proj must be one of {FEED_FORWARD_PROJS}, got "
                f"{self.feed_forward_proj!r}"
            )
        if self.remat_policy not in REMAT_POLICIES:
            raise ValueError(
                f"remat_policy must be one of {REMAT_POLICIES}, got {self.remat_policy!r}"
            )
        for name in ("vocab_size", "d_model", "d_kv", "d_ff", "num_heads"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        # A probability of dropping; at 1 every activation is dropped (zero gradients), above
        # 1 or below 0 it is no probability at all.
        rate = self.dropout_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(
                f"dropout_rate must be a number in [0, 1), got {rate!r} "
                "(gin: DROPOUT_RATE or make_config.dropout_rate)"
            )

    # -- derived -------------------------------------------------------------------------

    @property
    def activation_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.dtype)

    @property
    def parameter_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.param_dtype)

    @property
    def is_gated(self) -> bool:
        return self.feed_forward_proj.startswith("gated-")

    def replace(self, **overrides: Any) -> T5Config:
        return dataclasses.replace(self, **overrides)

    # -- serialisation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> T5Config:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown T5Config fields: {unknown}")
        return cls(**values)

    # -- presets -------------------------------------------------------------------------

    @classmethod
    def t5_1_1(cls, size: str, **overrides: Any) -> T5Config:
        """T5 v1.1 (gated-GELU, untied output layer) at a published size, or `tiny`."""
        if size == "tiny":
            return cls.tiny(**overrides)
        if size not in _V1_1_SIZES:
            raise ValueError(f"Unknown T5 v1.1 size {size!r}; known: {sorted(_V1_1_SIZES)}")
        d_model, d_ff, heads, layers = _V1_1_SIZES[size]
        values: dict[str, Any] = dict(
            vocab_size=32128,
            d_model=d_model,
            d_kv=64,
            d_ff=d_ff,
            num_heads=heads,
            num_encoder_layers=layers,
            num_decoder_layers=layers,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def flan_t5(cls, size: str, **overrides: Any) -> T5Config:
        """Flan-T5: T5 v1.1 LM-adapted checkpoints instruction-tuned; same dimensions."""
        return cls.t5_1_1(size, **overrides)

    @classmethod
    def tiny(cls, vocab_size: int = 512, **overrides: Any) -> T5Config:
        """A few-hundred-kilobyte model for tests and CPU demos."""
        values: dict[str, Any] = dict(
            vocab_size=vocab_size,
            d_model=64,
            d_kv=16,
            d_ff=128,
            num_heads=4,
            num_encoder_layers=2,
            num_decoder_layers=2,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
        )
        values.update(overrides)
        return cls(**values)


def make_config(family: str = "t5_1_1", size: str = "small", **overrides: Any) -> T5Config:
    """The model factory the gin files call: `make_config.family = "flan_t5"`, `make_config.size = "base"`."""
    presets = {"t5_1_1": T5Config.t5_1_1, "flan_t5": T5Config.flan_t5}
    if family not in presets:
        raise ValueError(f"Unknown model family {family!r}; known: {sorted(presets)}")
    return presets[family](size, **overrides)


# -- cost model ------------------------------------------------------------------------


def _layer_matmul_params(config: T5Config, cross_attention: bool) -> int:
    inner = config.num_heads * config.d_kv
    attention = 4 * config.d_model * inner
    mlp = (3 if config.is_gated else 2) * config.d_model * config.d_ff
    return attention * (2 if cross_attention else 1) + mlp


def forward_flops_per_example(config: T5Config, input_length: int, target_length: int) -> float:
    """Matmul FLOPs of one forward pass over one (input, target) pair.

    2 FLOPs per multiply-add; counts projections, attention scores/values and the output
    layer. Norms, softmax and the embedding lookup are ignored (a few percent).
    """
    inner = config.num_heads * config.d_kv
    enc_params = config.num_encoder_layers * _layer_matmul_params(config, False)
    # Cross-attention K/V run over the input tokens, Q/O over the target tokens.
    dec_self_mlp = config.num_decoder_layers * _layer_matmul_params(config, False)
    dec_cross_q_o = config.num_decoder_layers * 2 * config.d_model * inner
    dec_cross_k_v = config.num_decoder_layers * 2 * config.d_model * inner
    flops = 2 * enc_params * input_length
    flops += 2 * (dec_self_mlp + dec_cross_q_o) * target_length
    flops += 2 * dec_cross_k_v * input_length
    flops += 2 * config.d_model * config.vocab_size * target_length  # output layer
    # Scores and weighted values: 2 matmuls of [q, inner] x [inner, k].
    flops += config.num_encoder_layers * 4 * input_length * input_length * inner
    flops += config.num_decoder_layers * 4 * target_length * target_length * inner
    flops += config.num_decoder_layers * 4 * target_length * input_length * inner
    return float(flops)


def flops_per_token(config: T5Config, input_length: int, target_length: int) -> float:
    """Training FLOPs (forward + backward = 3x forward) per token of input+target.

    Used for model FLOPs utilisation: MFU = flops_per_token * tokens_per_second / peak.
    """
    total = 3.0 * forward_flops_per_example(config, input_length, target_length)
    return total / float(input_length + target_length)
