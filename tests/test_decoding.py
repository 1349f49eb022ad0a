"""Greedy and beam search token-identical to transformers' generate() on the same weights.

Beam search is compared with `length_penalty_style="hf"` against
`generate(num_beams=k, length_penalty=alpha, early_stopping="never")`: transformers
divides finished scores by len**alpha while T5X (our default style) uses
((5 + len) / 6)**alpha; with the "hf" style both sides run the same algorithm, and with
alpha=0 the two styles coincide.
"""

import functools

import numpy as np
import pytest
import torch
from _hf_t5 import make_hf_model, random_tokens, save

import jax

from flanjax.convert import load_hf_t5
from flanjax.model import T5Config, generate, init_params

MAX_LEN = 10


def _eos_friendly_model(variant, seed):
    """Redrawn weights, with the EOS logit boosted so that sequences do end early."""
    model = make_hf_model(variant, seed=seed, redraw_std=0.2)
    with torch.no_grad():
        model.lm_head.weight[1] *= 2.5
    return model


def _hf_generate(model, enc, **kwargs):
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor(enc, dtype=torch.long),
            attention_mask=torch.tensor(enc > 0, dtype=torch.long),
            max_new_tokens=MAX_LEN,
            do_sample=False,
            **kwargs,
        ).numpy()
    assert (out[:, 0] == 0).all()  # decoder start token
    padded = np.zeros((enc.shape[0], MAX_LEN), np.int64)
    padded[:, : out.shape[1] - 1] = out[:, 1:]
    # transformers' beam search fills finished rows with `pad_token_id or eos` = EOS when
    # pad is 0; the contract here is 0 after the first EOS.
    after_eos = np.cumsum(padded == 1, axis=1) - (padded == 1) > 0
    padded[after_eos] = 0
    return padded


@pytest.fixture(scope="module", params=[("v1_1_gated_untied", False), ("odd_shapes", True)])
def reference(request, tmp_path_factory):
    variant, scan = request.param
    model = _eos_friendly_model(variant, seed=6)
    path = save(model, str(tmp_path_factory.mktemp("hf")))
    config, params = load_hf_t5(path, dtype="float32", scan_layers=scan)
    rng = np.random.default_rng(7)
    enc = random_tokens(rng, config.vocab_size, [6, 3, 8, 5, 2, 7], 8)
    return model, config, params, enc


def test_greedy_matches_transformers(reference):
    model, config, params, enc = reference
    ours = np.asarray(generate(config, params, enc, max_decode_length=MAX_LEN))
    ref = _hf_generate(model, enc, num_beams=1)
    assert ours.shape == (enc.shape[0], MAX_LEN) and ours.dtype == np.int32
    np.testing.assert_array_equal(ours, ref)
    assert (ours == 1).any(), "test should exercise EOS"


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_search_matches_transformers(reference, alpha):
    model, config, params, enc = reference
    ours = generate(
        config, params, enc, max_decode_length=MAX_LEN, method="beam", num_beams=3,
        alpha=alpha, length_penalty_style="hf",
    )
    ref = _hf_generate(model, enc, num_beams=3, length_penalty=alpha, early_stopping="never")
    np.testing.assert_array_equal(np.asarray(ours), ref)


def _reference_beam_search(model, enc_row, num_beams, alpha, max_len):
    """Plain beam search over transformers' full forward pass, scored the T5X way.

    Keep the top 2k continuations; those among the top k that end (EOS, or the last step)
    are finished with score sum_logprob / ((5 + len) / 6)**alpha, len counting the EOS;
    the best k others continue. Runs every step (no early stopping), then returns the best
    finished sequence, 0-padded to max_len.
    """
    enc = torch.tensor([enc_row[enc_row > 0].tolist()], dtype=torch.long)
    running, finished = [([], 0.0)], []
    for i in range(max_len):
        dec = torch.tensor([[0] + seq for seq, _ in running], dtype=torch.long)
        with torch.no_grad():
            logits = model(input_ids=enc.repeat(len(running), 1), decoder_input_ids=dec).logits
        log_probs = torch.log_softmax(logits[:, -1].double(), dim=-1).numpy()
        cands = [(score + log_probs[b, t], seq + [t]) for b, (seq, score) in enumerate(running)
                 for t in range(log_probs.shape[1])]
        cands = sorted(cands, key=lambda c: -c[0])[: 2 * num_beams]
        ends = [seq[-1] == 1 or i == max_len - 1 for _, seq in cands]
        for rank, ((score, seq), end) in enumerate(zip(cands, ends)):
            if end and rank < num_beams:
                finished.append((score / ((5.0 + i + 1) / 6.0) ** alpha, seq))
        running = [(seq, score) for (score, seq), end in zip(cands, ends) if not end][:num_beams]
    best = max(finished, key=lambda f: f[0])[1]
    return best + [0] * (max_len - len(best))


@pytest.mark.parametrize("alpha", [0.6, 1.5])
def test_beam_search_t5x_length_penalty_matches_reference(reference, alpha):
    model, config, params, enc = reference
    beam = functools.partial(generate, config, params, enc, max_decode_length=MAX_LEN,
                             method="beam", num_beams=3, alpha=alpha)
    ours = np.asarray(beam())  # length_penalty_style="t5x", the default
    ref = np.array([_reference_beam_search(model, row, 3, alpha, MAX_LEN) for row in enc])
    np.testing.assert_array_equal(ours, ref)
    assert ((ref == 1).sum(axis=1) == 1).any(), "test should exercise EOS"
    if alpha == 0.6 and not config.scan_layers:
        # On this model the penalty's form decides a row: the test can tell T5X's from hf's.
        assert not np.array_equal(ours, np.asarray(beam(length_penalty_style="hf")))


def test_padding_after_eos_and_sampling(reference):
    _, config, params, enc = reference
    greedy = np.asarray(generate(config, params, enc, max_decode_length=MAX_LEN))
    ended = 0
    for row in greedy:
        ends = np.flatnonzero(row == 1)
        assert ends.size <= 1, row  # one EOS, then only padding
        if ends.size:
            assert (row[ends[0] + 1 :] == 0).all() and (row[: ends[0]] != 0).all(), row
            ended += ends[0] < MAX_LEN - 1
    assert ended >= 1, "no row ended before the last position: padding after EOS untested"
    # top_k=1 sampling is greedy; sampling is reproducible for a given key.
    sample = functools.partial(generate, config, params, enc, max_decode_length=MAX_LEN, method="sample")
    np.testing.assert_array_equal(sample(top_k=1, rng=jax.random.key(3)), greedy)
    np.testing.assert_array_equal(
        sample(top_p=0.9, rng=jax.random.key(1)), sample(top_p=0.9, rng=jax.random.key(1))
    )
    with pytest.raises(ValueError, match="outside"):
        generate(config, params, np.array([[config.vocab_size + 5, 1]]), max_decode_length=4)
    with pytest.raises(ValueError, match="method"):
        generate(config, params, enc, max_decode_length=4, method="nucleus")
