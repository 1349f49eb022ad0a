"""Tests for flanjax.data.vocab: the bundled model, T5's by path (offline), errors, padding."""

import shutil

import pytest
import seqio
import tensorflow as tf

from flanjax.data import vocab

DEMO_TEXT = (
    "Premise: The big red ball is in the kitchen.\nHypothesis: The ball is not blue.\n"
    "Does the premise entail the hypothesis?\n\nOPTIONS:\n- yes\n- it is not possible to tell\n- no"
)


def test_bundled_loads_with_t5_ids():
    v = vocab.get_vocabulary("bundled")
    assert isinstance(v, seqio.SentencePieceVocabulary)
    assert v.sentencepiece_model_file == vocab.BUNDLED_SPM_PATH
    assert v.extra_ids == 0
    assert (v.pad_id, v.eos_id, v.unk_id) == (0, 1, 2)
    assert 500 <= v.vocab_size <= 2000
    ids = v.encode(DEMO_TEXT)
    assert v.unk_id not in ids
    assert v.decode(ids) == DEMO_TEXT


def test_bundled_tf_ops_match_python():
    # seqio tokenizes in the tf.data pipeline with tf_text: same ids, same text back.
    v = vocab.get_vocabulary("bundled")
    tf_ids = v.encode_tf(tf.constant(DEMO_TEXT)).numpy().tolist()
    assert tf_ids == v.encode(DEMO_TEXT)
    assert v.decode_tf(tf.constant(tf_ids)).numpy().decode("utf-8") == DEMO_TEXT


def test_t5_constructs_without_touching_gcs(monkeypatch):
    def no_io(*args, **kwargs):
        raise AssertionError(f"file access during construction: {args}")

    monkeypatch.setattr(tf.io.gfile, "GFile", no_io)
    monkeypatch.setattr(tf.io.gfile, "exists", no_io)
    v = vocab.get_vocabulary("t5")
    assert v.sentencepiece_model_file == vocab.T5_SPM_PATH
    assert v.sentencepiece_model_file.startswith("gs://t5-data/")
    assert v.extra_ids == 100
    assert vocab.padded_vocab_size(v) == 32_128  # T5's embedding size, known offline
    # Any other gs:// model is also only a path until used.
    other = vocab.get_vocabulary("gs://bucket/some/spm.model")
    assert other.extra_ids == 0


def test_default_comes_from_env(monkeypatch):
    monkeypatch.delenv(vocab.VOCAB_ENV, raising=False)
    assert vocab.get_vocabulary().sentencepiece_model_file == vocab.T5_SPM_PATH
    monkeypatch.setenv(vocab.VOCAB_ENV, "bundled")
    assert vocab.get_vocabulary().sentencepiece_model_file == vocab.BUNDLED_SPM_PATH
    assert vocab.get_vocabulary("t5").extra_ids == 100  # an explicit name wins


def test_local_path_and_extra_ids(tmp_path):
    path = tmp_path / "my.model"
    shutil.copy(vocab.BUNDLED_SPM_PATH, path)
    v = vocab.get_vocabulary(str(path), extra_ids=10)
    assert v.extra_ids == 10
    assert v.vocab_size == vocab.get_vocabulary("bundled").vocab_size + 10


def test_missing_local_path_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "nope.model")
    with pytest.raises(FileNotFoundError, match="nope.model"):
        vocab.get_vocabulary(missing)
    with pytest.raises(FileNotFoundError, match="'t5', 'bundled'"):
        vocab.get_vocabulary("t55")


@pytest.mark.parametrize(
    "size,multiple,expected",
    [(32_100, 128, 32_128), (811, 128, 896), (128, 128, 128), (1, 128, 128), (300, 64, 320)],
)
def test_padded_vocab_size(size, multiple, expected):
    assert vocab.padded_vocab_size(size, multiple) == expected


def test_padded_vocab_size_of_bundled():
    v = vocab.get_vocabulary("bundled")
    padded = vocab.padded_vocab_size(v)
    assert padded % 128 == 0 and 0 <= padded - v.vocab_size < 128


def test_recorded_vocabulary_keeps_extra_ids(tmp_path, monkeypatch):
    """A run trained with extra ids (T5's 100 sentinels) records them; eval, infer and convert
    rebuild exactly seqio's training vocabulary, and an embedding of another size is refused."""
    import seqio

    from flanjax.data import locations, vocab_files

    trained = seqio.SentencePieceVocabulary(vocab.BUNDLED_SPM_PATH, extra_ids=100)  # the training vocabulary
    assert vocab_files.record_vocabulary(trained, str(tmp_path))
    recorded = vocab_files.recorded_vocabulary(str(tmp_path))
    by_path = vocab.get_vocabulary(str(tmp_path / vocab_files.SPM_FILE))  # eval's VOCAB=<run>/spiece.model
    monkeypatch.delenv(vocab.VOCAB_ENV, raising=False)
    locations.configure({"VOCAB": str(tmp_path / vocab_files.SPM_FILE)})
    try:
        by_setting = vocab.get_vocabulary()
    finally:
        locations.configure({"VOCAB": None})
    text = "a <extra_id_0> b <extra_id_99>"
    for v in (recorded, by_path, by_setting):
        assert v.extra_ids == 100 and v.vocab_size == trained.vocab_size
        assert v.vocab_size == vocab.get_vocabulary("bundled").vocab_size + 100
        assert v.encode(text) == trained.encode(text)
        assert trained.vocab_size - 1 in v.encode(text)  # <extra_id_0> is the last id
        assert v.decode([trained.vocab_size - 1]) == "<extra_id_0>" == trained.decode([trained.vocab_size - 1])
    # The checkpoint's embedding must fit the recorded vocabulary: 100 ids too few is refused.
    vocab_files.check_embedding(vocab.padded_vocab_size(trained), recorded, "x", "")
    without_extra = vocab.padded_vocab_size(vocab.get_vocabulary("bundled"))
    with pytest.raises(vocab_files.VocabularyMismatchError, match=(
            f"embeds {without_extra} token ids but the run uses a vocabulary of {trained.vocab_size} ids "
            r"\(100 of them extra ids")) as e:
        vocab_files.check_embedding(without_extra, recorded, "the run", "Pick the matching checkpoint.")
    assert len(str(e.value).splitlines()) == 1
    # T5's own sizes: 32,100 ids fit 32,128 rows; the bare 32,000-piece model does not.
    t5_like = type("V", (), {"vocab_size": 32_000, "extra_ids": 0})()
    with pytest.raises(vocab_files.VocabularyMismatchError, match="32128 token ids"):
        vocab_files.check_embedding(32_128, t5_like, "x", "")
    t5_like.vocab_size = 32_100
    vocab_files.check_embedding(32_128, t5_like, "x", "")
