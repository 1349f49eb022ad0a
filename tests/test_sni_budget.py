"""Tk-Instruct's length budget on SNI evaluation (`DataCollatorForNI.__call__` in Tk's
`src/ni_collator.py`) and niv2_test's default lengths (Tk's `scripts/eval_tk_instruct.sh`:
--max_source_length 1024 --max_target_length 128). Task files are in the shape of
natural-instructions' `tasks/*.json`; expected texts are written out by hand."""

from __future__ import annotations

import json

import pytest
import seqio

from flanjax.data import locations, sni, sni_eval

DEFINITION = "Definition: Say the topic.\n\n"
P1 = " Positive Example 1 -\nInput: a cat sat.\n Output: cats.\n\n"
P2 = " Positive Example 2 -\nInput: dogs bark.\n Output: dogs.\n\n"
P3 = " Positive Example 3 -\nInput: birds fly.\n Output: birds.\n\n"
QUERY = "Now complete the following example -\nInput: fish swim.\nOutput: "


def _task(positive_inputs, instance_input="fish swim") -> dict:
    return {
        "Contributors": ["x"], "Source": ["s"], "Categories": ["Text Categorization"],
        "Domains": ["d"], "Definition": ["Say the topic"],
        "Positive Examples": [{"input": i, "output": o, "explanation": "e"}
                              for i, o in positive_inputs],
        "Negative Examples": [{"input": "n", "output": "m", "explanation": "e"}],
        "Input_language": ["English"], "Output_language": ["English"],
        "Instances": [{"id": "t-1", "input": instance_input, "output": ["fish"]}],
    }


def _parts(num_pos=3):
    data = _task([("a cat sat.", "cats."), ("dogs bark.", "dogs."), ("birds fly.", "birds.")])
    t = sni.SNITask(name="task1", definition="Say the topic",
                    positive_examples=[{**d, "explanation": "e"} for d in data["Positive Examples"]],
                    negative_examples=[], instances=data["Instances"])
    return sni.parts(t, t.instances[0], num_pos_examples=num_pos)


def test_parts_are_the_collators_strings():
    p = _parts()
    assert (p.definition, p.positive, p.query) == (DEFINITION, (P1, P2, P3), QUERY)


def test_demonstrations_kept_while_tk_measure_fits():
    p = _parts()
    words = lambda text: len(text.split())
    d, q = words(DEFINITION), words(QUERY)
    # "Positive Example 1 - Input: a cat sat. Output: cats." is 10 words, the others 9.
    # Budget for exactly two: the third is left out, and the query always stays.
    assert (words(P1), words(P2), words(P3)) == (10, 9, 9)
    assert sni.compose(p, d + 19 + q, words) == DEFINITION + P1 + P2 + QUERY
    assert sni.compose(p, d + 18 + q, words) == DEFINITION + P1 + QUERY
    # Nothing fits: the definition and the query alone (Tk then cuts the input from the end).
    assert sni.compose(p, 1, words) == DEFINITION + QUERY
    assert sni.compose(p) == DEFINITION + P1 + P2 + P3 + QUERY


def test_tk_measures_later_demonstrations_with_a_space_between_earlier_ones():
    # Tk measures definition + " ".join(kept) + candidate + query: for the third demonstration
    # one character more than the text it would add (the space between P1 and P2).
    p = _parts()
    exact = len(DEFINITION + P1 + P2 + P3 + QUERY)
    assert sni.compose(p, exact, len) == DEFINITION + P1 + P2 + QUERY
    assert sni.compose(p, exact + 1, len) == DEFINITION + P1 + P2 + P3 + QUERY


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "natural-instructions"
    (root / "tasks").mkdir(parents=True)
    (root / "splits" / "default").mkdir(parents=True)
    # As task743's first positive example: one demonstration of some 2,500 characters.
    long_input = " ".join(f"word{i}" for i in range(400))
    data = _task([("a cat sat.", "cats."), (long_input, "long.")])
    (root / "tasks" / "task743_long.json").write_text(json.dumps(data))
    (root / "splits" / "default" / "test_tasks.txt").write_text("task743_long\n")
    locations.configure({"SNI_DIR": str(root)})
    yield str(root)
    locations.configure({"SNI_DIR": None})


def _row(inputs_length: int):
    sni_eval.register_task()
    task = seqio.get_mixture_or_task(sni_eval.TASK_NAME)
    ds = task.get_dataset({"inputs": inputs_length, "targets": 8}, split="test", shuffle=False)
    (row,) = list(ds.as_numpy_iterator())
    return task, row


def test_niv2_test_keeps_the_query_and_drops_the_long_demonstration(repo):
    task, row = _row(160)
    vocab = task.output_features["inputs"].vocabulary
    first = DEFINITION + P1
    # Tk's measure in the task's vocabulary: ids + EOS. The short demonstration fits in 160,
    # the long one does not (hand-checked against the limit, not against the code).
    assert len(vocab.encode(first + QUERY)) + 1 <= 160
    assert row["inputs_pretokenized"].decode() == first + QUERY
    assert len(row["inputs"]) <= 160 and row["inputs"][-1] == 1  # EOS after the whole query
    assert vocab.decode(row["inputs"][:-1].tolist()).rstrip().endswith("Output:")


def test_without_room_for_any_demonstration_definition_and_query_remain(repo):
    task, row = _row(100)
    vocab = task.output_features["inputs"].vocabulary
    assert len(vocab.encode(DEFINITION + P1 + QUERY)) + 1 > 100
    assert row["inputs_pretokenized"].decode() == DEFINITION + QUERY


def test_default_lengths_are_tk_instructs():
    # scripts/eval_tk_instruct.sh: --max_source_length 1024 --max_target_length 128; used by
    # sni_test.evaluate when no lengths are given (tests/test_sni_test_report.py) and by
    # runs/eval.gin's SNI_TEST_FEATURE_LENGTHS.
    import gin

    from flanjax.cli import gin_setup

    assert sni_eval.TK_FEATURE_LENGTHS == {"inputs": 1024, "targets": 128}
    gin.clear_config()
    try:
        gin_setup.parse_gin(["runs/eval.gin"], ["CHECKPOINT_PATH='/c'", "OUTPUT_DIR='/o'"])
        assert gin.query_parameter("%SNI_TEST_FEATURE_LENGTHS") == sni_eval.TK_FEATURE_LENGTHS
    finally:
        gin.clear_config()
