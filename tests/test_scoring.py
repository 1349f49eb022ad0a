"""score / score_options against transformers' loss on the same weights."""

import numpy as np
import pytest
import torch
from _hf_t5 import make_hf_model, random_tokens, save

from flanjax.convert import load_hf_t5
from flanjax.model import score, score_options


def _hf_sum_log_likelihood(model, enc_row, target_row):
    """-loss * num_tokens: transformers' mean cross-entropy undone."""
    target = np.asarray(target_row)
    labels = np.where(target > 0, target, -100)
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor(enc_row[None], dtype=torch.long),
            attention_mask=torch.tensor(enc_row[None] > 0, dtype=torch.long),
            labels=torch.tensor(labels[None], dtype=torch.long),
        )
    n = int((target > 0).sum())
    return -out.loss.item() * n, n


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    model = make_hf_model("v1_1_gated_untied", seed=4, redraw_std=0.2)
    path = save(model, str(tmp_path_factory.mktemp("hf")))
    config, params = load_hf_t5(path, dtype="float32")
    return model, config, params


def test_score_options_matches_transformers(reference):
    model, config, params = reference
    rng = np.random.default_rng(5)
    enc = random_tokens(rng, config.vocab_size, [7, 4, 6], 8)
    lengths = ([1, 3, 5], [2, 2, 4], [5, 1, 3])
    options = np.stack([random_tokens(rng, config.vocab_size, n, 5) for n in lengths])
    # options: [batch=3, options=3, length=5]
    options[:, :, -1][options[:, :, -1] > 0] = 1  # some options end in EOS
    result = score_options(config, params, enc, options)
    assert result["sum"].shape == (3, 3) and result["mean"].shape == (3, 3)
    for b in range(3):
        for o in range(3):
            ref_sum, n = _hf_sum_log_likelihood(model, enc[b], options[b, o])
            np.testing.assert_allclose(result["sum"][b, o], ref_sum, rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(result["mean"][b, o], ref_sum / n, rtol=1e-5, atol=1e-4)
            assert int(result["num_tokens"][b, o]) == n
    # score() on the flattened rows agrees with score_options.
    flat = score(config, params, np.repeat(enc, 3, axis=0), options.reshape(9, 5))
    np.testing.assert_allclose(np.asarray(flat).reshape(3, 3), result["sum"], rtol=1e-5, atol=1e-4)


def test_score_ignores_trailing_padding(reference):
    _, config, params = reference
    enc = np.array([[5, 6, 7, 1]])
    short = score(config, params, enc, np.array([[9, 10, 1]]))
    padded = score(config, params, enc, np.array([[9, 10, 1, 0, 0, 0]]))
    np.testing.assert_allclose(short, padded, rtol=1e-6)


def test_out_of_vocab_ids_are_rejected(reference):
    _, config, params = reference
    with pytest.raises(ValueError, match=r"decoder_target_tokens .*outside \[0, 96\)"):
        score(config, params, np.array([[5, 1]]), np.array([[96, 1]]))
    with pytest.raises(ValueError, match="encoder_input_tokens"):
        score(config, params, np.array([[-1, 1]]), np.array([[5, 1]]))
    with pytest.raises(ValueError, match="option_target_tokens"):
        score_options(config, params, np.array([[5, 1]]), np.array([[[3, 1000]]]))
