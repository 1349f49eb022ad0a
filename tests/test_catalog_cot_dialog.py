"""Tests for the Flan 2022 CoT and dialog catalog entries (offline: files and TFDS mocks)."""

from __future__ import annotations

import json

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from flanjax.data import sources
from flanjax.data.catalog import cot, dialog, registry

# One hand-written row per CoT dataset, in the layout of FLAN's flan/v2/cot_data/*.tsv:
# question <TAB> answer <TAB> rationale, newlines inside a cell written as backslash + n.
# Each maps to (TSV line, expected fields, expected inputs of template 0).
COT_ROWS = {
    "aqua": (
        r"A train covers 120 km in 2 hours. What is its speed in km/h?\nOptions:\n(A) 40"
        r"\n(B) 50\n(C) 60\n(D) 70\n(E) 80" "\t(C)\t" r"Speed = distance / time\n120 / 2 = 60",
        {
            "question": "A train covers 120 km in 2 hours. What is its speed in km/h?\n"
            "Options:\n(A) 40\n(B) 50\n(C) 60\n(D) 70\n(E) 80",
            "answer": "(C)",
            "rationale": "Speed = distance / time\n120 / 2 = 60",
        },
        "A train covers 120 km in 2 hours. What is its speed in km/h?\nOptions:\n(A) 40\n"
        "(B) 50\n(C) 60\n(D) 70\n(E) 80\nWork it out, then pick an option.",
    ),
    "creak": (
        r'Claim: "The Moon orbits the Earth."\nIs the claim above correct?\nOptions:\n- yes\n- no'
        "\tyes\tThe Moon is the natural satellite of the Earth and circles it monthly.",
        {
            "question": 'Claim: "The Moon orbits the Earth."\nIs the claim above correct?\n'
            "Options:\n- yes\n- no",
            "answer": "yes",
            "rationale": "The Moon is the natural satellite of the Earth and circles it monthly.",
        },
        'Claim: "The Moon orbits the Earth."\nIs the claim above correct?\nOptions:\n- yes\n'
        "- no\nExplain your reasoning, then answer.",
    ),
    "ecqa": (
        r"Where would you keep milk cold?\nOptions:\n- refrigerator\n- oven\n- desk"
        "\trefrigerator\tA refrigerator keeps food cold. Milk is kept in a refrigerator.",
        {
            "question": "Where would you keep milk cold?\nOptions:\n- refrigerator\n- oven\n- desk",
            "answer": "refrigerator",
            "rationale": "A refrigerator keeps food cold. Milk is kept in a refrigerator.",
        },
        "Where would you keep milk cold?\nOptions:\n- refrigerator\n- oven\n- desk\n"
        "Pick the best option and explain why.",
    ),
    "esnli": (
        r'Premise: "A dog runs through the snow."\nHypothesis: "An animal is outside."\n'
        r"Is the hypothesis entailed by the premise?\nOptions:\n- yes\n"
        r"- it is not possible to tell\n- no" "\tyes\tA dog is an animal and snow lies outside.",
        {
            "question": 'Premise: "A dog runs through the snow."\nHypothesis: "An animal is '
            'outside."\nIs the hypothesis entailed by the premise?\nOptions:\n- yes\n'
            "- it is not possible to tell\n- no",
            "answer": "yes",
            "rationale": "A dog is an animal and snow lies outside.",
        },
        'Premise: "A dog runs through the snow."\nHypothesis: "An animal is outside."\n'
        "Is the hypothesis entailed by the premise?\nOptions:\n- yes\n"
        "- it is not possible to tell\n- no\nExplain, then answer.",
    ),
    "gsm8k": (
        "Tom has 3 boxes with 4 apples each. How many apples does he have?\t12\t"
        "Tom has 3 * 4 = 12 apples.",
        {
            "question": "Tom has 3 boxes with 4 apples each. How many apples does he have?",
            "answer": "12",
            "rationale": "Tom has 3 * 4 = 12 apples.",
        },
        "Tom has 3 boxes with 4 apples each. How many apples does he have?\n"
        "Solve it step by step.",
    ),
    "qasc": (
        r"What do plants need to make food?\nOptions:\n- (A) sand\n- (B) sunlight\n- (C) salt"
        "\t(B)\tPlants make food by photosynthesis. Photosynthesis needs sunlight.",
        {
            "question": "What do plants need to make food?\nOptions:\n- (A) sand\n"
            "- (B) sunlight\n- (C) salt",
            "answer": "(B)",
            "rationale": "Plants make food by photosynthesis. Photosynthesis needs sunlight.",
        },
        "What do plants need to make food?\nOptions:\n- (A) sand\n- (B) sunlight\n- (C) salt\n"
        "Combine two facts to find the answer.",
    ),
    "qed": (
        r"Passage: The Nile is a river in northeastern Africa.\n\nQuestion: Based on this "
        r"passage, where is the nile river located?" "\tnortheastern Africa\t"
        "The relevant sentence is: The Nile is a river in northeastern Africa.",
        {
            "question": "Passage: The Nile is a river in northeastern Africa.\n\nQuestion: "
            "Based on this passage, where is the nile river located?",
            "answer": "northeastern Africa",
            "rationale": "The relevant sentence is: The Nile is a river in northeastern Africa.",
        },
        "Passage: The Nile is a river in northeastern Africa.\n\nQuestion: Based on this "
        "passage, where is the nile river located?\nFind the answer in the passage and explain.",
    ),
    "sensemaking": (
        # The real file ends these questions with an escaped newline.
        r'Which sentence does not make sense?\nOptions:\n- Sentence A: "He ate a rock."\n'
        r'- Sentence B: "He ate a pear."\n' "\tSentence A\tRocks are not food.",
        {
            "question": 'Which sentence does not make sense?\nOptions:\n- Sentence A: "He ate '
            'a rock."\n- Sentence B: "He ate a pear."',
            "answer": "Sentence A",
            "rationale": "Rocks are not food.",
        },
        'Which sentence does not make sense?\nOptions:\n- Sentence A: "He ate a rock."\n'
        '- Sentence B: "He ate a pear."\nExplain which one is wrong, then answer.',
    ),
    "strategyqa": (
        "Could a cat fit inside a teacup?\tno\tA cat is far larger than a teacup.",
        {
            "question": "Could a cat fit inside a teacup?",
            "answer": "no",
            "rationale": "A cat is far larger than a teacup.",
        },
        "Could a cat fit inside a teacup?\nThink it through before answering yes or no.",
    ),
}


def _read(entry, split: str = "train") -> list[dict]:
    """Reads `entry` through seqio's real path and returns the preprocessed fields."""
    ds = entry.source.to_seqio().get_dataset(split, shuffle=False)
    out = []
    for example in ds.as_numpy_iterator():
        fields = entry.fields_of(sources.decode_example(example))
        if fields is not None:
            out.append(fields)
    return out


def _render_all(entry, fields: dict) -> list:
    rendered = [t.render(fields) for t in entry.templates]
    for r in rendered:
        assert r is not None and r.inputs.strip() and r.targets.strip()
    return rendered


# ------------------------------------------------------------------------ CoT


def test_cot_registered_without_reading_data():
    names = [e.name for e in cot.ENTRIES]
    assert names == [f"cot_{d}" for d, _, _ in cot.DATASETS] + ["cot_gsm8k_tfds"]
    for entry in cot.ENTRIES:
        assert registry._ENTRIES[entry.name] is entry  # registered at import
        assert entry.rationale_field == "rationale"
        assert entry.metric == "exact_match" and entry.eval_mode == "generate"
        assert entry.cluster == "cot" and "formats.cot_target" in entry.description
        assert len(entry.templates) == 5
        assert all(t.target_pattern == "{answer}" for t in entry.templates)
    assert {e.collection for e in cot.ENTRIES[:-1]} == {"cot"}
    assert cot.ENTRIES[-1].collection == "cot_tfds"


def test_cot_data_dir_is_configurable(tmp_path, monkeypatch):
    assert cot.tsv_entry("gsm8k", str(tmp_path)).source.files["train"] == str(
        tmp_path / "gsm8k_train.tsv"
    )
    monkeypatch.setenv(cot.DATA_DIR_ENV, "/somewhere")
    assert cot.tsv_entry("qed").source.files["train"] == "/somewhere/qed_train.tsv"


@pytest.mark.parametrize("dataset", sorted(COT_ROWS))
def test_cot_tsv_row(tmp_path, dataset):
    line, expected, expected_inputs = COT_ROWS[dataset]
    # A second row with an empty rationale is skipped by the preprocess.
    (tmp_path / f"{dataset}_train.tsv").write_text(line + "\nQ?\tA\t\n", encoding="utf-8")
    entry = {e.name: e for e in cot.entries(data_dir=str(tmp_path))}[f"cot_{dataset}"]
    rows = _read(entry)
    assert rows == [expected]
    rendered = _render_all(entry, rows[0])
    assert rendered[0].inputs == expected_inputs
    assert {r.targets for r in rendered} == {expected["answer"]}
    assert all(expected["question"] in r.inputs for r in rendered)


def test_cot_target_from_format_layer(tmp_path):
    formats = pytest.importorskip("flanjax.data.formats")
    if not hasattr(formats, "cot_target"):
        pytest.skip("formats.cot_target not there yet")
    _, expected, _ = COT_ROWS["gsm8k"]
    # The CoT target the format layer builds from `rationale_field` and the rendered target.
    entry = cot.tsv_entry("gsm8k", str(tmp_path))
    rendered = entry.templates[0].render(expected)
    target = formats.cot_target(expected[entry.rationale_field], rendered.targets)
    assert target == "Tom has 3 * 4 = 12 apples. So the answer is 12."


def _gsm8k_rows():
    return [
        {
            "question": "Ann has 2 pens and buys 3 more. How many pens does she have?",
            "answer": "She has 2 + 3 = <<2+3=5>>5 pens.\nSo 5 in all.\n#### 5",
            "annotation": "She has 2 + 3 = <<2+3=5>>5 pens.\nSo 5 in all.\n",
            "short_answer": "5",
        }
    ]


def _as_dataset_fn(rows):
    def as_dataset(self, split, *args, **kwargs):
        del self, split, args, kwargs
        first = {k: tf.constant(v) for k, v in rows[0].items()}
        spec = {k: tf.TensorSpec(v.shape, v.dtype) for k, v in first.items()}
        return tf.data.Dataset.from_generator(lambda: iter(rows), output_signature=spec)

    return as_dataset


def test_cot_gsm8k_tfds_hand_written():
    entry = cot.gsm8k_tfds_entry()
    assert entry.source.tfds_name == "gsm8k:1.0.0"
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(_gsm8k_rows())):
        rows = _read(entry, "validation")
    assert rows == [
        {
            "question": "Ann has 2 pens and buys 3 more. How many pens does she have?",
            "answer": "5",
            "rationale": "She has 2 + 3 = 5 pens. So 5 in all.",
        }
    ]
    assert _render_all(entry, rows[0])[1].inputs == (
        "Word problem: Ann has 2 pens and buys 3 more. How many pens does she have?\n"
        "Show your work."
    )


def test_cot_gsm8k_tfds_mock_data():
    entry = cot.gsm8k_tfds_entry()
    with tfds.testing.mock_data(num_examples=3):
        # Random mock text has no "####" split; the preprocess still yields or skips cleanly.
        for fields in _read(entry):
            _render_all(entry, fields)


# ---------------------------------------------------------------------- dialog


def test_dialog_registered_without_reading_data():
    assert [e.name for e in dialog.ENTRIES] == [
        "dialog_wiki_dialog",
        "dialog_qrecc",
        "dialog_task_master",
    ]
    for entry in dialog.ENTRIES:
        assert registry._ENTRIES[entry.name] is entry
        assert entry.collection == "dialog" and entry.cluster == "dialog"
        assert entry.inversion and entry.eval_mode == "generate"
        assert set(entry.fields) == {"context", "response", "speaker"}
        assert len(entry.templates) == 5
    assert dialog.ENTRIES[0].source.tfds_name == "wiki_dialog/OQ:1.0.0"
    assert dialog.ENTRIES[1].source.tfds_name == "q_re_cc:1.0.0"


def test_wiki_dialog_hand_written():
    rows = [
        {
            "title": "Nile",
            "pid": "p1",
            "passage": "The Nile is a river.",
            "utterances": [
                "I am your assistant, answering questions about the Nile.",
                "What is the Nile?",
                "The Nile is a river\nin Africa.",
            ],
        }
    ]
    entry = dialog.ENTRIES[0]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(rows)):
        out = _read(entry)
    assert out == [
        {
            "context": "Person A: What is the Nile?",
            "response": "The Nile is a river in Africa.",
            "speaker": "Person B",
        }
    ]
    rendered = _render_all(entry, out[0])
    assert rendered[0].inputs == "Person A: What is the Nile?\nPerson B:"
    assert rendered[1].inputs == (
        "Read the conversation and write what Person B says next.\n\n"
        "Person A: What is the Nile?"
    )
    assert {r.targets for r in rendered} == {"The Nile is a river in Africa."}


def test_wiki_dialog_mock_data_turn_choice():
    entry = dialog.ENTRIES[0]
    with tfds.testing.mock_data(num_examples=3):
        ds = entry.source.to_seqio().get_dataset("train", shuffle=False)
        raws = [sources.decode_example(x) for x in ds.as_numpy_iterator()]
    assert raws
    for raw in raws:
        fields = entry.fields_of(raw)
        if fields is None:
            assert len(raw["utterances"]) < 3
            continue
        turns = raw["utterances"][1:]
        n_context = fields["context"].count("\n") + 1
        # The response is an answer (odd position), one of the first 20, and deterministic.
        assert n_context % 2 == 1 and n_context < 40
        assert fields["response"] == " ".join(turns[n_context].split())
        assert fields == entry.fields_of(raw)
        _render_all(entry, fields)


def test_qrecc_hand_written():
    rows = [
        {
            "context": ["Who wrote Hamlet?", "William Shakespeare."],
            "question": "When was it written?",
            "answer": "Around 1600.",
            "turn_id": 2,
        },
        {"context": [], "question": "Anyone there?", "answer": "", "turn_id": 1},
    ]
    entry = dialog.ENTRIES[1]
    with tfds.testing.mock_data(as_dataset_fn=_as_dataset_fn(rows[:1])):
        out = _read(entry, "validation")
    assert out == [
        {
            "context": "Person A: Who wrote Hamlet?\nPerson B: William Shakespeare.\n"
            "Person A: When was it written?",
            "response": "Around 1600.",
            "speaker": "Person B",
        }
    ]
    assert _render_all(entry, out[0])[2].inputs == (
        "Conversation so far:\nPerson A: Who wrote Hamlet?\nPerson B: William Shakespeare.\n"
        "Person A: When was it written?\n\nWhat is the next turn?"
    )
    assert dialog.preprocess_qrecc(rows[1]) is None  # no answer: skipped


def test_qrecc_mock_data():
    entry = dialog.ENTRIES[1]
    with tfds.testing.mock_data(num_examples=2):
        for fields in _read(entry):
            _render_all(entry, fields)


def test_task_master_jsonl(tmp_path):
    conversations = [
        {
            "conversation_id": "dlg-1",
            "utterances": [
                {"index": 0, "speaker": "USER", "text": "I need a taxi."},
                {"index": 1, "speaker": "ASSISTANT", "text": "Where to?"},
            ],
        },
        # FLAN's flattened layout (`text`) is accepted too.
        {"text": ["Book a table for two.", "For what time?"]},
        # Too short to predict anything: skipped.
        {"conversation_id": "dlg-3", "utterances": [{"speaker": "USER", "text": "Hi"}]},
    ]
    lines = "\n".join(json.dumps(c) for c in conversations) + "\n"
    (tmp_path / "task_master_train-00000.jsonl").write_text(lines, encoding="utf-8")
    (tmp_path / "task_master_validation.jsonl").write_text(lines, encoding="utf-8")
    entry = dialog.entries(data_dir=str(tmp_path))[2]
    out = _read(entry)
    assert out == [
        {"context": "Person A: I need a taxi.", "response": "Where to?", "speaker": "Person B"},
        {
            "context": "Person A: Book a table for two.",
            "response": "For what time?",
            "speaker": "Person B",
        },
    ]
    assert _read(entry, "validation") == out
    rendered = _render_all(entry, out[0])
    assert rendered[4].inputs == (
        "Here is a chat between two people.\nPerson A: I need a taxi.\n"
        "How might Person B respond?"
    )


def test_task_master_speakers_and_turn_range():
    # Consecutive turns by one speaker keep that speaker's label.
    turns = [("USER", "a"), ("USER", "b"), ("ASSISTANT", "c")]
    assert dialog.format_turns(turns)[0] == "Person A: a\nPerson A: b\nPerson B: c"
    raw = {
        "conversation_id": "long",
        "utterances": [
            {"speaker": "USER" if i % 2 == 0 else "ASSISTANT", "text": f"turn {i}"}
            for i in range(50)
        ],
    }
    fields = dialog.preprocess_task_master(raw)
    n_context = fields["context"].count("\n") + 1
    assert 1 <= n_context < dialog.MAX_TURN_CHOICES
    assert fields["response"] == f"turn {n_context}"
    assert fields["speaker"] == ("Person B" if n_context % 2 == 1 else "Person A")
    assert dialog.preprocess_task_master(raw) == fields  # deterministic
