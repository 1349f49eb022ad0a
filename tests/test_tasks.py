"""seqio tasks over the bundled demo data: rendering, determinism, eval features, lengths."""

import numpy as np
import pytest
import seqio

from flanjax.data import mixtures, tasks
from flanjax.data.bundled import ensure_prepared
from flanjax.data.catalog import demo

LENGTHS = {"inputs": 128, "targets": 16}


@pytest.fixture(scope="module", autouse=True)
def _prepared():
    ensure_prepared()


def _examples(name, split="train", n=5, seed=0, lengths=LENGTHS, shuffle=True):
    ds = seqio.get_mixture_or_task(name).get_dataset(
        sequence_length=lengths, split=split, shuffle=shuffle, seed=seed, num_epochs=1,
    )
    return list(ds.take(n).as_numpy_iterator())


def test_every_demo_entry_has_train_and_eval_tasks():
    names = set(seqio.TaskRegistry.names())
    for entry in demo.ENTRIES:
        for fmt in tasks.train_formats(entry):
            assert f"{entry.name}_{fmt}" in names
        for i in range(len(entry.templates)):
            assert f"{entry.name}_zs:{i}" in names
            assert f"{entry.name}_fs:{i}" in names


def test_train_task_tokenizes_and_appends_eos():
    vocab = tasks.output_features("DEMO_VOCAB")["inputs"].vocabulary
    for ex in _examples("demo_addition_zs", n=4):
        text = ex["inputs_pretokenized"].decode()
        assert ex["inputs"][-1] == 1  # EOS
        assert list(ex["inputs"][:-1]) == list(vocab.encode(text))
        assert vocab.decode(list(ex["targets"][:-1])) == ex["targets_pretokenized"].decode()


def test_same_seed_same_examples_other_seed_other_order():
    a = [e["inputs_pretokenized"] for e in _examples("demo_entailment_zs", n=8, seed=3)]
    b = [e["inputs_pretokenized"] for e in _examples("demo_entailment_zs", n=8, seed=3)]
    c = [e["inputs_pretokenized"] for e in _examples("demo_entailment_zs", n=8, seed=4)]
    assert a == b
    assert a != c


def test_eval_task_keeps_options_template_and_raw_target():
    entry = demo.ENTRIES[0]
    assert entry.eval_mode == "rank"
    for ex in _examples(f"{entry.name}_zs:1", split="validation", n=5, shuffle=False):
        options = [o.decode() for o in ex["answer_options"]]
        assert ex["template_id"].decode() == "1"
        assert ex["targets_pretokenized"].decode() in options
        # FLAN's options block, every option in order, in the rendered input.
        assert len(options) == 3, options
        assert "\n\nOPTIONS:\n- " + "\n- ".join(options) in ex["inputs_pretokenized"].decode()


def test_few_shot_exemplars_fit_the_input_length():
    vocab = tasks.output_features("DEMO_VOCAB")["inputs"].vocabulary
    for length in (64, 200):
        exs = _examples("demo_reverse_words_fs", n=6, lengths={"inputs": length, "targets": 32})
        assert len(exs) == 6
        for ex in exs:
            text = ex["inputs_pretokenized"].decode()
            # The rendered few-shot input plus EOS fits: the tokens are exactly the rendered
            # text and EOS (seqio trims, then appends EOS, so a cut example would differ).
            want = vocab.encode(text) + [1]
            assert len(want) <= length, (len(want), text)
            assert ex["inputs"].tolist() == want, text
            assert "\n\n\n" in text, text  # at least one exemplar made it in
    long = _examples("demo_reverse_words_fs", n=6, lengths={"inputs": 400, "targets": 32})
    assert any("\n\n\n" in e["inputs_pretokenized"].decode() for e in long)


def test_over_length_examples_are_counted():
    vocab = tasks.output_features("DEMO_VOCAB")["inputs"].vocabulary
    before = tasks.overflow_counts().get(("demo_facts_qa_zs", "inputs"), 0)
    exs = _examples("demo_facts_qa_zs", n=10, lengths={"inputs": 12, "targets": 16})
    expected = sum(len(vocab.encode(e["inputs_pretokenized"].decode())) + 1 > 12 for e in exs)
    assert expected > 0
    assert all(len(e["inputs"]) <= 12 for e in exs)
    # Counted as examples pass through the pipeline; take(10) may read ahead a little.
    assert tasks.overflow_counts()[("demo_facts_qa_zs", "inputs")] - before >= expected


def test_packed_batches_are_identical_for_the_same_seed():
    def batches(seed):
        ds = seqio.get_dataset(
            "demo", task_feature_lengths={"inputs": 96, "targets": 16}, dataset_split="train",
            shuffle=True, seed=seed, num_epochs=1, batch_size=4,
            feature_converter=seqio.EncDecFeatureConverter(pack=True),
        )
        return list(ds.take(3).as_numpy_iterator())

    a, b = batches(11), batches(11)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert a[0]["encoder_segment_ids"].max() > 1  # really packed
    assert set(a[0]) >= {"encoder_input_tokens", "decoder_target_tokens", "decoder_input_tokens",
                         "encoder_segment_ids", "decoder_segment_ids", "encoder_positions",
                         "decoder_positions", "decoder_loss_weights"}


def test_unknown_name_lists_closest():
    with pytest.raises(ValueError, match=r"demo_minus_nli"):
        mixtures.get_mixture_or_task("demo_minus_nlii")


def test_inspect_prints_tasks_rates_counts_and_examples(capsys):
    from flanjax.cli import runner

    assert runner.call("flanjax.cli.inspect_data", ["demo_minus_sentiment", "--num_examples", "1",
                             "--lengths", "inputs=128,targets=16"]) == 0
    out = capsys.readouterr().out
    assert "mixture demo_minus_sentiment: 8 tasks" in out
    assert "demo_addition_zs" in out and "0.1250" in out and "2000" in out
    assert "demo_reviews_zs" not in out.split("--- example")[0]  # the table (counts below are per process)
    assert "INPUTS:" in out and "TARGETS:" in out
    assert runner.call("flanjax.cli.inspect_data", ["demo_minus_sentimnt", "--num_examples", "0"]) == 2
    assert "demo_minus_sentiment" in capsys.readouterr().err


def test_unprepared_tfds_dataset_fails_at_once_naming_it(monkeypatch, tmp_path):
    from flanjax.data import sources

    monkeypatch.setenv("FLANJAX_TFDS_DOWNLOAD", "0")
    source = sources.TfdsSource("super_glue/rte:1.0.2", data_dir=str(tmp_path)).to_seqio()
    with pytest.raises(sources.DatasetNotPreparedError, match=r"'super_glue/rte:1.0.2' is not prepared in .*tfds build super_glue/rte"):
        source.get_dataset("train")


def test_seqio_evaluator_scores_eval_tasks_with_the_entry_metric():
    # seqio's own Evaluator (what T5X's eval loop drives) on a flanjax eval task: targets
    # and predictions go through the task's postprocess_fn, then its metric fn.
    task_name = "demo_addition_zs:0"
    task = seqio.get_mixture_or_task(task_name)
    lengths = {"inputs": 64, "targets": 16}
    evaluator = seqio.Evaluator(
        mixture_or_task_name=task_name,
        feature_converter=seqio.EncDecFeatureConverter(pack=False),
        eval_split="validation", sequence_length=lengths, num_examples=20,
    )
    vocab = task.output_features["targets"].vocabulary
    wrong = np.zeros(lengths["targets"], np.int32)  # decoded ids, padded like a decoder's
    ids = vocab.encode("not a number")[:8]
    wrong[: len(ids)] = ids

    def predict_fn(ds):
        out = []
        for index, ex in ds.as_numpy_iterator():
            tokens = ex["decoder_target_tokens"]
            out.append((index, tokens if index % 2 == 0 else wrong))
        return out

    metrics_by_task, _ = evaluator.evaluate(compute_metrics=True, predict_fn=predict_fn)
    got = metrics_by_task.result()[task_name]
    assert got["exact_match"] == pytest.approx(100.0 * 10 / 20)  # the even half is right
    # A target becomes the list of acceptable answers; chain-of-thought text its answer.
    assert task.postprocess_fn("7", example={"references": [b"7", b"seven"]}, is_target=True) == ["7", "seven"]
    cot = tasks.seqio_postprocess("5 + 2 = 7. So the answer is 7.", chain_of_thought=True)
    assert cot == "7"
