"""T5 building blocks with logical axis names on every parameter and key activation.

Axis letters in einsum strings: b batch, q/k query/key length, l length, e embed,
h heads, d per-head kv, f mlp, v vocab.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array
Initializer = Callable[..., Array]

# Additive bias for masked attention logits; large but finite so that fully masked rows
# (padding queries) give a uniform softmax instead of NaN.
MASK_BIAS = -1e10


@dataclasses.dataclass(frozen=True)
class Layouts:
    """Two layouts tuned on CPU; each is chosen per backend (`LAYOUTS`)."""

    # Attention einsums on head-major [b, h, l, d] operands (transposed from the
    # projections) instead of T5X's direct "bqhd,bkhd->bhqk" on [b, l, h, d].
    head_major_attention: bool = True
    # The gated MLP's wi_0/wi_1 as one matmul against their stack [e, 2, f] instead of two.
    stacked_gated_mlp: bool = True


# BENCHMARKS.md ("Layouts on TPU", T5 v1.1-small's train step compiled for a v5e-4): on TPU
# the head-major attention compiles to the same program as T5X's einsums (XLA folds the
# transposes into the dots): kept. The stacked MLP saves 0.2% of FLOPs and 0.5% of HBM
# traffic but needs 10% more temporaries, and memory is what limits the pod recipes: TPU
# keeps T5X's two matmuls. Backends not measured (GPU) get T5X's layout.
LAYOUTS: dict[str, Layouts] = {
    "cpu": Layouts(head_major_attention=True, stacked_gated_mlp=True),
    "tpu": Layouts(head_major_attention=True, stacked_gated_mlp=False),
}
PLAIN_T5X = Layouts(head_major_attention=False, stacked_gated_mlp=False)
_TARGET: contextvars.ContextVar[str | Layouts | None] = contextvars.ContextVar("flanjax_layouts", default=None)


@contextlib.contextmanager
def layouts_for(target: str | Layouts) -> Iterator[None]:
    """Traces inside use `target`'s layouts (a backend name or explicit `Layouts`), e.g. when
    compiling for a TPU topology on a CPU host, where `jax.default_backend()` is "cpu"."""
    token = _TARGET.set(target)
    try:
        yield
    finally:
        _TARGET.reset(token)


def current_layouts() -> Layouts:
    target = _TARGET.get() or jax.default_backend()
    if isinstance(target, Layouts):
        return target
    return LAYOUTS.get(target, PLAIN_T5X)


def _param(
    module: nn.Module,
    name: str,
    init: Initializer,
    shape: Sequence[int],
    names: tuple[str, ...],
    dtype: jnp.dtype,
) -> Array:
    """A parameter annotated with logical axis names (one per dimension)."""
    return module.param(name, nn.with_logical_partitioning(init, names), tuple(shape), dtype)


class Embed(nn.Module):
    """Token embedding table, also usable as the (tied) output projection."""

    num_embeddings: int
    features: int
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32
    embedding_init: Initializer = nn.initializers.normal(stddev=1.0)

    def setup(self) -> None:
        self.embedding = _param(
            self,
            "embedding",
            self.embedding_init,
            (self.num_embeddings, self.features),
            ("vocab", "embed"),
            self.param_dtype,
        )

    def __call__(self, tokens: Array) -> Array:
        """[batch, length] int -> [batch, length, embed]."""
        embedded = jnp.take(self.embedding, tokens, axis=0).astype(self.dtype)
        return nn.with_logical_constraint(embedded, ("batch", "length", "embed"))

    def attend(self, query: Array) -> Array:
        """[batch, length, embed] -> [batch, length, vocab] float32 logits."""
        embedding = self.embedding.astype(self.dtype)
        logits = jnp.einsum(
            "ble,ve->blv", query.astype(self.dtype), embedding, preferred_element_type=jnp.float32
        )
        return nn.with_logical_constraint(logits, ("batch", "length", "vocab"))


class DenseGeneral(nn.Module):
    """Bias-free projection contracting the trailing `len(in_shape)` input dims."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    axis_names: tuple[str, ...]  # logical names of the kernel, in_shape + out_shape
    kernel_init: Initializer
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = _param(
            self,
            "kernel",
            self.kernel_init,
            self.in_shape + self.out_shape,
            self.axis_names,
            self.param_dtype,
        ).astype(self.dtype)
        n_in = len(self.in_shape)
        contract = (tuple(range(x.ndim - n_in, x.ndim)), tuple(range(n_in)))
        return lax.dot_general(x.astype(self.dtype), kernel, (contract, ((), ())))


class Kernel(nn.Module):
    """A bare kernel parameter (`<name>/kernel`, as `DenseGeneral` stores it), not applied.

    Lets a module combine several kernels into one matmul while the parameter tree keeps
    one `DenseGeneral`-shaped entry per kernel.
    """

    shape: tuple[int, ...]
    axis_names: tuple[str, ...]
    kernel_init: Initializer
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self) -> Array:
        return _param(
            self, "kernel", self.kernel_init, self.shape, self.axis_names, self.param_dtype
        )


class RMSNorm(nn.Module):
    """T5 layer norm: scale only, no mean subtraction, no bias; variance in float32."""

    epsilon: float = 1e-6
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        features = x.shape[-1]
        x32 = x.astype(jnp.float32)
        variance = jnp.mean(jnp.square(x32), axis=-1, keepdims=True)
        normed = (x32 * lax.rsqrt(variance + self.epsilon)).astype(self.dtype)
        scale = _param(
            self, "scale", nn.initializers.ones, (features,), ("embed",), self.param_dtype
        )
        return normed * scale.astype(self.dtype)


def relative_position_bucket(
    relative_position: Array, bidirectional: bool, num_buckets: int, max_distance: int
) -> Array:
    """Mesh TensorFlow / T5 bucketing of `key_position - query_position`.

    Half of the buckets are exact small offsets, the other half logarithmically wider bins
    up to `max_distance`. The float32 arithmetic follows the reference implementation
    (no epsilon), so bucket boundaries agree with the published checkpoints' code.
    """
    buckets = jnp.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative_position > 0).astype(relative_position.dtype) * num_buckets
        distance = jnp.abs(relative_position)
    else:
        distance = -jnp.minimum(relative_position, 0)
    max_exact = num_buckets // 2
    is_small = distance < max_exact
    safe = jnp.maximum(distance, 1).astype(jnp.float32)
    scaled = (
        jnp.log(safe / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    )
    if_large = max_exact + scaled.astype(relative_position.dtype)
    if_large = jnp.minimum(if_large, num_buckets - 1)
    return buckets + jnp.where(is_small, distance, if_large)


class RelativePositionBiases(nn.Module):
    """Learned per-head scalar bias for each relative-position bucket (shared by layers)."""

    num_buckets: int
    max_distance: int
    num_heads: int
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32
    embedding_init: Initializer = nn.initializers.normal(stddev=0.05)

    @nn.compact
    def __call__(self, query_positions: Array, key_positions: Array, bidirectional: bool) -> Array:
        """[batch, q] and [batch, k] int positions -> [batch, heads, q, k] float32 bias."""
        relative = key_positions[:, None, :] - query_positions[:, :, None]  # [batch, q, k]
        buckets = relative_position_bucket(
            relative.astype(jnp.int32), bidirectional, self.num_buckets, self.max_distance
        )
        table = _param(
            self,
            "rel_embedding",
            self.embedding_init,
            (self.num_heads, self.num_buckets),
            ("heads", "relpos_buckets"),
            self.param_dtype,
        ).astype(jnp.float32)
        bias = jnp.take(table, buckets, axis=1)  # [heads, batch, q, k]
        return jnp.transpose(bias, (1, 0, 2, 3))  # [batch, heads, q, k]


class MultiHeadDotProductAttention(nn.Module):
    """T5 attention: no biases, no 1/sqrt(d) scaling (folded into the query init).

    `bias` carries both the mask (MASK_BIAS where disallowed) and the relative position
    bias. With `decode=True` the keys and values of self-attention are appended to the
    "cache" collection (`cached_key`, `cached_value`: [batch, heads, max_length, kv],
    `cache_index`: scalar), one position per call, as T5X does. With `decode=True` and
    `static_kv=True` (cross-attention) the keys and values of `inputs_kv` are projected
    once, by the cache-creating call, and kept in the cache as `cached_cross_key` /
    `cached_cross_value` ([batch, heads, in_length, kv]).

    `inputs_q` may have a multiple g of `inputs_kv`'s batch (beam search's beams, scoring's
    answer options): query rows i*g .. i*g + g - 1 then all attend to key row i, whose
    keys/values are projected (and cached) once; `bias` must then have batch 1 or
    `inputs_kv`'s.
    """

    num_heads: int
    head_dim: int
    dropout_rate: float = 0.0
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self,
        inputs_q: Array,
        inputs_kv: Array,
        bias: Array,
        *,
        deterministic: bool = True,
        decode: bool = False,
        static_kv: bool = False,
    ) -> Array:
        features = inputs_q.shape[-1]
        inner = self.num_heads * self.head_dim
        heads_kv = (self.num_heads, self.head_dim)
        in_names = ("embed", "heads", "kv")

        def proj(name: str, std: float) -> DenseGeneral:
            return DenseGeneral(
                in_shape=(features,),
                out_shape=heads_kv,
                axis_names=in_names,
                kernel_init=nn.initializers.normal(stddev=std),
                dtype=self.dtype,
                param_dtype=self.param_dtype,
                name=name,
            )

        query = proj("query", (features * self.head_dim) ** -0.5)(inputs_q)  # [b, q, h, d]
        query = nn.with_logical_constraint(query, ("batch", "length", "heads", "kv"))

        head_major = decode or current_layouts().head_major_attention
        if decode and static_kv:
            # Cross-attention while decoding: keys/values of the fixed encoder output are
            # projected once (by the cache-creating call) and stored head-major,
            # [batch, heads, in_length, kv], the layout the per-step einsums consume.
            key, value = self._static_kv(
                inputs_kv, lambda x: proj("key", features**-0.5)(x),
                lambda x: proj("value", features**-0.5)(x),
            )
        else:
            key = proj("key", features**-0.5)(inputs_kv)  # [b, k, h, d]
            value = proj("value", features**-0.5)(inputs_kv)  # [b, k, h, d]
            key = nn.with_logical_constraint(key, ("batch", "length", "heads", "kv"))
            value = nn.with_logical_constraint(value, ("batch", "length", "heads", "kv"))
            cached = False
            if decode:
                key, value, cached = self._update_cache(key, value)
            if not cached and head_major:  # the decoding cache is head-major already
                key = jnp.transpose(key, (0, 2, 1, 3))  # [b, h, k, d]
                value = jnp.transpose(value, (0, 2, 1, 3))
            head_major = head_major or cached

        # Head-major einsums, [b, h, q|k, d]: on CPU, contracting the [b, l, h, d]
        # projections directly was about 2.5x slower for the same (bit-identical) result.
        # Decoding always is (its cache is head-major); elsewhere `Layouts` chooses.
        batch_q, q_len = query.shape[0], query.shape[1]
        batch_kv = key.shape[0]
        groups = batch_q // batch_kv
        if groups * batch_kv != batch_q:
            raise ValueError(f"query batch {batch_q} is not a multiple of key batch {batch_kv}")
        if groups > 1:
            # Beam search: the beams of an example (consecutive query rows) share its
            # encoder keys/values, so they attend as `groups * q_len` queries of one row
            # instead of reading a copy of the keys/values per beam.
            if bias.shape[0] not in (1, batch_kv):
                raise ValueError(
                    f"bias batch {bias.shape[0]} must be 1 or the key batch {batch_kv} when "
                    f"{groups} query rows share each key row"
                )
            query = query.reshape((batch_kv, groups * q_len) + query.shape[2:])
        if head_major:
            query = jnp.transpose(query, (0, 2, 1, 3))  # [b, h, q, d]
            logits = jnp.einsum("bhqd,bhkd->bhqk", query, key, preferred_element_type=jnp.float32)
        else:  # T5X's layout
            logits = jnp.einsum("bqhd,bkhd->bhqk", query, key, preferred_element_type=jnp.float32)
        logits = logits + bias.astype(jnp.float32)
        weights = jax.nn.softmax(logits, axis=-1).astype(self.dtype)  # [b, h, q, k]
        if not deterministic and self.dropout_rate > 0.0:
            weights = nn.Dropout(rate=self.dropout_rate)(weights, deterministic=False)
        if head_major:
            attended = jnp.einsum("bhqk,bhkd->bhqd", weights, value)
            attended = jnp.transpose(attended, (0, 2, 1, 3))  # [b, q, h, d]
        else:
            attended = jnp.einsum("bhqk,bkhd->bqhd", weights, value)  # [b, q, h, d]
        if groups > 1:
            attended = attended.reshape((batch_q, q_len) + attended.shape[2:])
        attended = nn.with_logical_constraint(attended, ("batch", "length", "heads", "kv"))
        out = DenseGeneral(
            in_shape=heads_kv,
            out_shape=(features,),
            axis_names=("heads", "kv", "embed"),
            kernel_init=nn.initializers.normal(stddev=inner**-0.5),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name="out",
        )(attended)
        return nn.with_logical_constraint(out, ("batch", "length", "embed"))

    def _static_kv(
        self,
        inputs_kv: Array,
        key_proj: Callable[[Array], Array],
        value_proj: Callable[[Array], Array],
    ) -> tuple[Array, Array]:
        """Cross-attention keys/values [batch, heads, in_length, kv], projected once.

        The first call (no cache yet) projects `inputs_kv` and stores the result as
        `cached_cross_key` / `cached_cross_value`; later calls read them back and do no
        projection or transposition of the encoder output.
        """
        names = ("batch", "heads", "length", "kv")
        if self.has_variable("cache", "cached_cross_key"):
            key = self.get_variable("cache", "cached_cross_key")
            value = self.get_variable("cache", "cached_cross_value")
        else:
            key = jnp.transpose(key_proj(inputs_kv), (0, 2, 1, 3))  # [b, h, k, d]
            value = jnp.transpose(value_proj(inputs_kv), (0, 2, 1, 3))
            key = nn.with_logical_constraint(key, names)
            value = nn.with_logical_constraint(value, names)
            self.put_variable("cache", "cached_cross_key", key)
            self.put_variable("cache", "cached_cross_value", value)
        return (
            nn.with_logical_constraint(key, names),
            nn.with_logical_constraint(value, names),
        )

    def _update_cache(self, key: Array, value: Array) -> tuple[Array, Array, bool]:
        """Writes this step's key/value at `cache_index` and returns the full cache.

        The cache is head-major, [batch, heads, max_length, kv], the layout the step's
        attention einsums consume, so a step transposes only its own single position.
        The first call (no cache yet) only creates zero buffers sized by the full-length
        input it is given, and attends over that input normally. The flag returned says
        whether the keys/values returned are head-major (cached) or [b, l, h, d] (given).
        """
        names = ("batch", "heads", "length", "kv")
        b, l, h, d = key.shape
        is_initialized = self.has_variable("cache", "cached_key")
        cached_key = self.variable("cache", "cached_key", jnp.zeros, (b, h, l, d), key.dtype)
        cached_value = self.variable(
            "cache", "cached_value", jnp.zeros, (b, h, l, d), value.dtype
        )
        cache_index = self.variable("cache", "cache_index", lambda: jnp.array(0, jnp.int32))
        if not is_initialized:
            return key, value, False
        if key.shape[1] != 1:
            raise ValueError(f"Cached decoding takes one token per step, got {key.shape[1]}")
        index = cache_index.value
        zero = jnp.array(0, jnp.int32)
        start = (zero, zero, index, zero)  # [batch, heads, length, kv]
        new_key = lax.dynamic_update_slice(
            cached_key.value, jnp.transpose(key, (0, 2, 1, 3)), start
        )
        new_value = lax.dynamic_update_slice(
            cached_value.value, jnp.transpose(value, (0, 2, 1, 3)), start
        )
        new_key = nn.with_logical_constraint(new_key, names)
        new_value = nn.with_logical_constraint(new_value, names)
        cached_key.value = new_key
        cached_value.value = new_value
        cache_index.value = index + 1
        return new_key, new_value, True


class MlpBlock(nn.Module):
    """Position-wise feed-forward: relu (T5 v1.0) or gated-GELU (v1.1, Flan-T5).

    GELU is the tanh approximation (`gelu_new` in transformers), as the checkpoints were
    trained with it.
    """

    d_ff: int
    feed_forward_proj: str = "gated-gelu"
    dropout_rate: float = 0.0
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x: Array, *, deterministic: bool = True) -> Array:
        features = x.shape[-1]

        def dense(name: str, n_in: int, n_out: int, names: tuple[str, str]) -> DenseGeneral:
            return DenseGeneral(
                in_shape=(n_in,),
                out_shape=(n_out,),
                axis_names=names,
                kernel_init=nn.initializers.normal(stddev=n_in**-0.5),
                dtype=self.dtype,
                param_dtype=self.param_dtype,
                name=name,
            )

        if self.feed_forward_proj == "gated-gelu":
            # The two input kernels stay separate parameters (`wi_0`, `wi_1`, T5X's and the
            # checkpoints' naming) but, over full sequences, run as one matmul against their
            # stack [embed, 2, mlp]: a 1.14x faster training step on CPU, mostly from the
            # backward pass (one gradient matmul, no transposed copy per kernel). A decoding
            # step (one position) keeps two matmuls: there, re-stacking the kernels every
            # step costs more than the second matmul's launch.
            def kernel(name: str) -> Array:
                return Kernel(
                    (features, self.d_ff),
                    ("embed", "mlp"),
                    nn.initializers.normal(stddev=features**-0.5),
                    self.param_dtype,
                    name=name,
                )().astype(self.dtype)

            x = x.astype(self.dtype)
            wi_0, wi_1 = kernel("wi_0"), kernel("wi_1")
            if (x.ndim >= 2 and x.shape[-2] == 1) or not current_layouts().stacked_gated_mlp:
                gate, linear = x @ wi_0, x @ wi_1
            else:
                stacked = jnp.stack([wi_0, wi_1], axis=1)  # [e, 2, mlp]
                both = jnp.einsum("...e,ekf->...kf", x, stacked)  # [b, l, 2, mlp]
                gate, linear = both[..., 0, :], both[..., 1, :]
            hidden = nn.gelu(gate, approximate=True) * linear  # [b, l, mlp]
        elif self.feed_forward_proj == "relu":
            hidden = nn.relu(dense("wi", features, self.d_ff, ("embed", "mlp"))(x))
        else:
            raise ValueError(f"Unsupported feed_forward_proj {self.feed_forward_proj!r}")
        hidden = nn.with_logical_constraint(hidden, ("batch", "length", "mlp"))
        if not deterministic and self.dropout_rate > 0.0:
            hidden = nn.Dropout(rate=self.dropout_rate)(hidden, deterministic=False)
        out = dense("wo", self.d_ff, features, ("mlp", "embed"))(hidden)
        return nn.with_logical_constraint(out, ("batch", "length", "embed"))
