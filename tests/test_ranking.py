"""Rank classification against per-option losses of transformers' T5 on the same weights."""

import numpy as np
import pytest
import torch
import transformers

from flanjax.convert import load_hf_t5
from flanjax.data.vocab import get_vocabulary, padded_vocab_size
from flanjax.evaluation import generation, ranking


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    vocab = get_vocabulary("bundled")
    torch.manual_seed(3)
    hf_config = transformers.T5Config(
        vocab_size=padded_vocab_size(vocab), d_model=32, d_kv=8, d_ff=48, num_layers=2,
        num_heads=4, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
        dropout_rate=0.0, decoder_start_token_id=0,
    )
    model = transformers.T5ForConditionalGeneration(hf_config).eval()
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():  # a random T5 is nearly uniform; redraw so options differ clearly
        for name, param in model.named_parameters():
            std = 0.1 if "layer_norm" in name else 0.3
            param.copy_((1.0 if "layer_norm" in name else 0.0) + std * torch.randn(param.shape, generator=generator))
    path = str(tmp_path_factory.mktemp("hf_rank"))
    model.save_pretrained(path)
    config, params = load_hf_t5(path, dtype="float32")
    return model, vocab, config, params


def _hf_option_log_likelihood(model, input_ids, option_ids):
    labels = torch.tensor([option_ids], dtype=torch.long)
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor([input_ids], dtype=torch.long),
            attention_mask=torch.ones((1, len(input_ids)), dtype=torch.long),
            labels=labels,
        )
    return -out.loss.item() * len(option_ids)


def _examples(vocab):
    texts = [
        ("Premise: the cat sleeps. Hypothesis: a cat rests. Entailed?",
         ["yes", "it is not possible to tell", "no"]),
        ("Review: great product, works well. Positive or negative?", ["positive", "negative"]),
        ("Which number is larger, 991 or 2?", ["991", "2"]),
    ]
    return [
        {"inputs": np.array(vocab.encode(t) + [1], np.int32), "answer_options": [o.encode() for o in opts],
         "template_id": b"0"}
        for t, opts in texts
    ]


@pytest.mark.parametrize("batch_size", [2, 4])
def test_rank_scores_match_transformers(reference, batch_size):
    model, vocab, config, params = reference
    examples = _examples(vocab)
    result = ranking.rank_classify(config, params, vocab, examples, batch_size=batch_size)
    for ex, scores, means, pred in zip(examples, result.scores, result.mean_scores, result.predictions):
        options = ranking.options_of(ex)
        assert len(scores) == len(options)
        want = []
        for option, got, got_mean in zip(options, scores, means):
            ids = vocab.encode(option) + [1]
            ref = _hf_option_log_likelihood(model, ex["inputs"].tolist(), ids)
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(got_mean, ref / len(ids), rtol=1e-4, atol=1e-4)
            want.append(ref)
        assert pred == options[int(np.argmax(want))]


def test_length_normalised_choice(reference):
    """Mean log-likelihood per token picks a different option than the sum on some example."""
    model, vocab, config, params = reference
    examples = _examples(vocab) + _disagreeing_examples(vocab)
    by_mean = ranking.rank_classify(config, params, vocab, examples, length_normalize=True)
    by_sum = ranking.rank_classify(config, params, vocab, examples, length_normalize=False)
    disagree = 0
    for ex, pred_mean, pred_sum in zip(examples, by_mean.predictions, by_sum.predictions):
        options = ranking.options_of(ex)
        ids = [vocab.encode(o) + [1] for o in options]
        sums = [_hf_option_log_likelihood(model, ex["inputs"].tolist(), i) for i in ids]
        means = [s / len(i) for s, i in zip(sums, ids)]
        assert pred_mean == options[int(np.argmax(means))]
        assert pred_sum == options[int(np.argmax(sums))]
        disagree += int(np.argmax(means)) != int(np.argmax(sums))
    assert disagree >= 1, "no example where the sum and the mean disagree: the test proves nothing"


def _disagreeing_examples(vocab):
    """Options of very different lengths, where the per-token mean favours the long one."""
    texts = [
        ("Is the sky blue?", ["no", "it is not possible to tell from the text given above", "yes"]),
        ("Name a colour.", ["red", "a deep and vivid shade of green like fresh summer grass"]),
        ("Say something.", ["x", "the quick brown fox jumps over the lazy dog again and again"]),
    ]
    return [
        {"inputs": np.array(vocab.encode(t) + [1], np.int32), "answer_options": [o.encode() for o in opts],
         "template_id": b"0"}
        for t, opts in texts
    ]


def test_rank_without_options_names_the_task(reference):
    _, vocab, config, params = reference
    examples = _examples(vocab)
    examples[1]["answer_options"] = []
    with pytest.raises(ranking.NoAnswerOptionsError, match="demo_facts_qa_zs:2.*no answer options"):
        ranking.rank_classify(config, params, vocab, examples, task_name="demo_facts_qa_zs:2")


def test_generation_detokenizes_and_extracts_cot(reference):
    _, vocab, config, params = reference
    ids = vocab.encode("positive") + [1, 0, 0]
    assert generation.detokenize(vocab, ids) == "positive"
    texts = generation.decode(config, params, vocab, _examples(vocab), batch_size=2, max_decode_length=5)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert generation.postprocess("2 + 2 is 4. So the answer is 4.", chain_of_thought=True) == "4"
    assert generation.postprocess(" 4 ", chain_of_thought=False) == "4"


def test_on_a_one_device_mesh_and_batch_rounding(reference):
    """The mesh path on this process's device(s); the 8-device checks: test_sharded_eval.py."""
    from flanjax.evaluation import batching

    _, vocab, config, params = reference
    assert [batching.rows_per_batch(b, dp) for b, dp in ((6, 4), (8, 4), (3, 1), (1, 8))] == [8, 8, 3, 8]
    with pytest.raises(ValueError, match="positive"):
        batching.rows_per_batch(0, 2)
    mesh = batching.make_eval_mesh((-1, 1), "fsdp")
    placed = mesh.place_params(config, params)
    examples = _examples(vocab)
    want = ranking.rank_classify(config, params, vocab, examples, batch_size=2)
    got = ranking.rank_classify(config, placed, vocab, examples, batch_size=2, mesh=mesh)
    assert got.predictions == want.predictions
    np.testing.assert_allclose(np.concatenate(got.scores), np.concatenate(want.scores), rtol=1e-5, atol=1e-5)
    ids = generation.decode_ids(config, placed, examples, batch_size=2, max_decode_length=5, mesh=mesh)
    np.testing.assert_array_equal(ids, generation.decode_ids(config, params, examples, batch_size=2, max_decode_length=5))
