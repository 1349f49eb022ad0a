"""flanjax's numpy packing yields exactly seqio's packed rows (seqio's own function is the reference)."""

import numpy as np
import pytest
import seqio
import tensorflow as tf

from flanjax.data import packing


def _examples(seed, n, max_inputs, max_targets, zeros_inside=False, over=(5, 3)):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        # Lengths over the whole range: empty, short, exactly the limit, over it (trimmed).
        li = int(rng.choice([0, 1, rng.integers(1, max_inputs + 1), max_inputs, max_inputs + over[0]]))
        lt = int(rng.choice([0, 1, rng.integers(1, max_targets + 1), max_targets, max_targets + over[1]]))
        inputs = rng.integers(1, 500, li).astype(np.int32)
        if zeros_inside and li > 2:
            inputs[li // 2] = 0  # seqio counts non-zero ids: kept as seqio keeps it
        out.append({"inputs": inputs, "targets": rng.integers(1, 500, lt).astype(np.int64),
                    "idx": np.int32(i), "inputs_pretokenized": f"text {i}"})
    return out


def _dataset(examples):
    return tf.data.Dataset.from_generator(
        lambda: iter(examples),
        output_signature={"inputs": tf.TensorSpec([None], tf.int32), "targets": tf.TensorSpec([None], tf.int64),
                          "idx": tf.TensorSpec([], tf.int32), "inputs_pretokenized": tf.TensorSpec([], tf.string)})


@pytest.mark.parametrize("lengths,n,zeros_inside", [
    ({"inputs": 16, "targets": 8}, 50, False),  # several windows of 16 examples, last one short
    ({"inputs": 7, "targets": 12}, 40, True),   # the window is the longer feature's length
    ({"inputs": 32, "targets": 4}, 3, False),   # one short window
])
def test_rows_equal_seqio_trim_and_pack(lengths, n, zeros_inside):
    examples = _examples(n + len(lengths), n, lengths["inputs"], lengths["targets"], zeros_inside)
    want = list(seqio.utils.trim_and_pack_dataset(_dataset(examples), lengths).as_numpy_iterator())
    got = list(packing.trim_and_pack_dataset(_dataset(examples), lengths).as_numpy_iterator())
    assert len(got) == len(want) > 1
    for g, w in zip(got, want):
        assert sorted(g) == sorted(w)  # idx / pretokenized dropped as seqio drops them
        for k in w:
            np.testing.assert_array_equal(g[k], w[k], err_msg=k)
            assert g[k].dtype == np.int32


def test_feature_converter_equals_seqio_converter():
    lengths = {"inputs": 24, "targets": 10}
    examples = _examples(7, 90, 24, 10, over=(0, 0))  # the converter refuses over-long features
    # The converter requires EOS-free int32 features with these two keys; pad id 0 excluded above.
    ds = _dataset(examples).map(lambda x: {"inputs": x["inputs"], "targets": tf.cast(x["targets"], tf.int32)})
    want = seqio.EncDecFeatureConverter(pack=True)(ds, lengths)
    got = packing.EncDecFeatureConverter(pack=True)(ds, lengths)
    assert got.element_spec == want.element_spec
    rows = list(zip(got.as_numpy_iterator(), want.as_numpy_iterator(), strict=True))
    assert len(rows) > 3
    for g, w in rows:
        for k in w:
            np.testing.assert_array_equal(g[k], w[k], err_msg=k)
    # pack=False is seqio's padding, untouched.
    unpacked = packing.EncDecFeatureConverter(pack=False)(ds, lengths)
    assert "encoder_segment_ids" not in unpacked.element_spec


def test_missing_feature_is_named():
    ds = tf.data.Dataset.from_tensors({"inputs": tf.constant([1, 2], tf.int32)})
    with pytest.raises(ValueError, match="'targets' not found"):
        packing.trim_and_pack_dataset(ds, {"inputs": 4, "targets": 4})


def test_window_of_empty_examples_gives_seqio_empty_row():
    """seqio writes a window's last row even when nothing went into it."""
    examples = [{"inputs": np.array([5, 6, 7], np.int32), "targets": np.array([1], np.int64),
                 "idx": np.int32(0), "inputs_pretokenized": "x"}]
    examples += [{"inputs": np.zeros([0], np.int32), "targets": np.zeros([0], np.int64),
                  "idx": np.int32(i), "inputs_pretokenized": ""} for i in range(1, 9)]
    lengths = {"inputs": 4, "targets": 3}  # windows of 4: the second and third hold only empties
    want = list(seqio.utils.trim_and_pack_dataset(_dataset(examples), lengths).as_numpy_iterator())
    got = list(packing.trim_and_pack_dataset(_dataset(examples), lengths).as_numpy_iterator())
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        for k in w:
            np.testing.assert_array_equal(g[k], w[k], err_msg=k)
