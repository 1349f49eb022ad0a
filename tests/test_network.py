"""Flax T5 logits against transformers' T5ForConditionalGeneration on the same weights."""

import dataclasses

import numpy as np
import pytest
from _hf_t5 import HF_VARIANTS, hf_logits, make_hf_model, random_tokens, save

import jax
import jax.numpy as jnp

from flanjax.convert import load_hf_t5
from flanjax.model import T5, T5Config
from flanjax.model.network import positions_from_segments


def _apply(config, params, enc, dec, **kwargs):
    forward = jax.jit(lambda p, e, d, kw: T5(config).apply({"params": p}, e, d, **kw))
    return np.asarray(forward(params, jnp.asarray(enc), jnp.asarray(dec), kwargs))


@pytest.mark.parametrize("variant", sorted(HF_VARIANTS))
@pytest.mark.parametrize("scan_layers", [False, True])
def test_logits_match_transformers(variant, scan_layers, tmp_path):
    model = make_hf_model(variant, seed=1)
    path = save(model, str(tmp_path))
    config, params = load_hf_t5(path, dtype="float32", scan_layers=scan_layers)
    vocab = config.vocab_size
    rng = np.random.default_rng(0)
    # Row 0 unpadded, rows 1-2 padded; decoder rows start with the start id 0.
    enc = random_tokens(rng, vocab, [9, 5, 1], 9)
    dec = random_tokens(rng, vocab, [6, 3, 6], 6)
    dec[:, 0] = 0
    ours = _apply(config, params, enc, dec)
    ref = hf_logits(model, enc, dec)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)


def test_logits_match_beyond_max_distance(tmp_path):
    """Long inputs exercise the logarithmic buckets and the max-distance clamp."""
    model = make_hf_model("odd_shapes", seed=2)
    config, params = load_hf_t5(save(model, str(tmp_path)), dtype="float32")
    rng = np.random.default_rng(1)
    enc = random_tokens(rng, config.vocab_size, [64, 40], 64)
    dec = random_tokens(rng, config.vocab_size, [33, 33], 33)
    ours, ref = _apply(config, params, enc, dec), hf_logits(model, enc, dec)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_packed_rows_match_separate_examples(tmp_path):
    model = make_hf_model("v1_1_gated_untied", seed=3)
    config, params = load_hf_t5(save(model, str(tmp_path)), dtype="float32")
    rng = np.random.default_rng(2)
    enc_a, enc_b = rng.integers(2, 96, 5), rng.integers(2, 96, 3)
    dec_a, dec_b = np.r_[0, rng.integers(2, 96, 3)], np.r_[0, rng.integers(2, 96, 4)]
    # One packed row (with trailing padding) holding both examples.
    enc = np.zeros((1, 10), np.int32)
    enc[0, :8] = np.r_[enc_a, enc_b]
    enc_seg = np.zeros_like(enc)
    enc_seg[0, :8] = [1] * 5 + [2] * 3
    dec = np.zeros((1, 11), np.int32)
    dec[0, :9] = np.r_[dec_a, dec_b]
    dec_seg = np.zeros_like(dec)
    dec_seg[0, :9] = [1] * 4 + [2] * 5
    packed = _apply(
        config, params, enc, dec,
        encoder_segment_ids=enc_seg, decoder_segment_ids=dec_seg,
        encoder_positions=positions_from_segments(jnp.asarray(enc_seg)),
        decoder_positions=positions_from_segments(jnp.asarray(dec_seg)),
    )
    ref_a = hf_logits(model, enc_a[None], dec_a[None])[0]
    ref_b = hf_logits(model, enc_b[None], dec_b[None])[0]
    np.testing.assert_allclose(packed[0, :4], ref_a, atol=1e-4)
    np.testing.assert_allclose(packed[0, 4:9], ref_b, atol=1e-4)
    # Positions derived from segment ids when not given.
    derived = _apply(
        config, params, enc, dec, encoder_segment_ids=enc_seg, decoder_segment_ids=dec_seg
    )
    np.testing.assert_allclose(derived[0, :9], packed[0, :9], atol=1e-6)


def test_positions_from_segments():
    seg = jnp.array([[1, 1, 1, 2, 2, 0, 0], [1, 2, 2, 2, 3, 3, 3]])
    expected = [[0, 1, 2, 0, 1, 0, 1], [0, 0, 1, 2, 0, 1, 2]]
    np.testing.assert_array_equal(positions_from_segments(seg), expected)


def test_dropout_and_remat_paths_run():
    config = T5Config.tiny(vocab_size=64, dropout_rate=0.5, remat_policy="full", scan_layers=True)
    tokens = jnp.array([[3, 4, 5, 1]])
    variables = jax.jit(T5(config).init)(jax.random.key(0), tokens, tokens)
    @jax.jit
    def apply(rng):
        return T5(config).apply(
            variables, tokens, tokens, enable_dropout=True, rngs={"dropout": rng}
        )

    a, b = apply(jax.random.key(1)), apply(jax.random.key(2))
    assert a.dtype == jnp.float32 and a.shape == (1, 4, 64)
    assert not np.allclose(a, b)  # dropout is on
    plain = jax.jit(lambda v: T5(config).apply(v, tokens, tokens))
    np.testing.assert_array_equal(plain(variables), plain(variables))  # deterministic by default

    def loss(params):
        return T5(config).apply({"params": params}, tokens, tokens).sum()

    grads = jax.jit(jax.grad(loss))(variables["params"])
    assert all(np.isfinite(g).all() for g in jax.tree_util.tree_leaves(grads))


def test_remat_gradients_equal_plain_gradients(scan_layers=True):
    """Rematerialisation recomputes the forward pass; the gradients must not change.

    Compared, with dropout on (same rng), against the same model without remat.
    """
    from flanjax.model.config import REMAT_POLICIES

    base = T5Config.tiny(vocab_size=64, dropout_rate=0.3, scan_layers=scan_layers, dtype="float32")
    enc = jnp.array([[3, 4, 5, 6, 1], [7, 8, 1, 0, 0]])
    dec = jnp.array([[0, 9, 10, 11], [0, 12, 13, 0]])
    params = jax.jit(T5(base).init)(jax.random.key(0), enc, dec)["params"]

    def grads(config):
        def loss(p):
            logits = T5(config).apply({"params": p}, enc, dec, enable_dropout=True,
                                      rngs={"dropout": jax.random.key(5)})
            return (jax.nn.log_softmax(logits) * jnp.sin(jnp.arange(64.0))).sum()

        return jax.jit(jax.grad(loss))(params)

    plain = grads(base)
    assert sum(float(jnp.abs(g).sum()) for g in jax.tree.leaves(plain)) > 0
    policies = ("full", "dots")  # save nothing / save matmuls (compiles are slow on CPU)
    assert set(policies) <= set(REMAT_POLICIES)
    for policy in policies:
        got = grads(dataclasses.replace(base, remat_policy=policy))
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max(),
                                                               err_msg=policy),
                     got, plain)
