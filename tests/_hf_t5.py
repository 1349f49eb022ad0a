"""Shared helpers: random `transformers` T5 models as the independent reference."""

from __future__ import annotations

import numpy as np
import torch
import transformers

# Small reference configs covering the variants the converter must handle.
HF_VARIANTS = {
    # Original T5: relu MLP, tied embeddings with d_model**-0.5 output scaling.
    "v1_0_relu_tied": dict(
        vocab_size=96, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
        feed_forward_proj="relu", tie_word_embeddings=True,
    ),
    # T5 v1.1 / Flan-T5: gated-gelu, separate lm_head, no output scaling.
    "v1_1_gated_untied": dict(
        vocab_size=96, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False,
    ),
    # Dimensions that reach Adafactor's factoring threshold (128): 2 heads x 64 = 128.
    "adafactor_128": dict(
        vocab_size=256, d_model=128, d_kv=64, d_ff=96, num_layers=1, num_heads=2,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False,
    ),
    # Unequal depths, 3 heads, d_kv unrelated to d_model / heads, few buckets.
    "odd_shapes": dict(
        vocab_size=80, d_model=24, d_kv=5, d_ff=40, num_layers=3, num_decoder_layers=1,
        num_heads=3, relative_attention_num_buckets=8, relative_attention_max_distance=20,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False,
    ),
}


def make_hf_model(
    variant: str, seed: int = 0, redraw_std: float | None = None
) -> transformers.T5ForConditionalGeneration:
    """A random eval-mode HF T5; untied variants get an lm_head of their own.

    transformers 5 always ties `lm_head` to `shared` at construction; a checkpoint with a
    distinct `lm_head.weight` (as the published v1.1 ones) stays untied, so we give the
    untied variants a separate random head.
    """
    kwargs = dict(HF_VARIANTS[variant])
    torch.manual_seed(seed)
    config = transformers.T5Config(dropout_rate=0.0, decoder_start_token_id=0, **kwargs)
    model = transformers.T5ForConditionalGeneration(config).eval()
    if not kwargs["tie_word_embeddings"]:
        model.lm_head.weight = torch.nn.Parameter(
            torch.randn_like(model.shared.weight) * config.d_model**-0.5
        )
    if redraw_std is not None:
        redraw_weights(model, redraw_std, seed)
    return model


def redraw_weights(model: torch.nn.Module, std: float, seed: int) -> None:
    """Non-norm weights ~ N(0, std): a random T5 otherwise only ever predicts padding."""
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "layer_norm" in name:
                param.copy_(1.0 + 0.1 * torch.randn(param.shape, generator=generator))
            else:
                param.copy_(std * torch.randn(param.shape, generator=generator))


def save(model: transformers.T5ForConditionalGeneration, path: str) -> str:
    model.save_pretrained(path)  # safetensors by default
    return path


def hf_logits(
    model: transformers.T5ForConditionalGeneration, enc: np.ndarray, dec: np.ndarray
) -> np.ndarray:
    """Float32 logits [batch, dec_len, vocab]; encoder padding masked, decoder causal."""
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(np.asarray(enc), dtype=torch.long),
            attention_mask=torch.tensor(np.asarray(enc) > 0, dtype=torch.long),
            decoder_input_ids=torch.tensor(np.asarray(dec), dtype=torch.long),
            decoder_attention_mask=torch.ones(np.shape(dec), dtype=torch.long),
        )
    return out.logits.numpy()


def random_tokens(
    rng: np.random.Generator, vocab: int, lengths: list[int], width: int
) -> np.ndarray:
    """Right-padded rows of ids in [2, vocab) (no pad/EOS inside), given real lengths."""
    rows = np.zeros((len(lengths), width), np.int32)
    for i, n in enumerate(lengths):
        rows[i, :n] = rng.integers(2, vocab, size=n)
    return rows
