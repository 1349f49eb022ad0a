"""Tests for flanjax.data.sni: task files, Tk-Instruct encodings (exact strings), splits."""

import json

import pytest

from flanjax.data import sni

TASK = {
    "Contributors": ["flanjax tests"],
    "Source": ["handmade"],
    "URL": ["https://example.invalid"],
    "Categories": ["Text Categorization"],
    "Reasoning": [],
    "Definition": ["Given a sentence, say whether it is about sports"],
    "Input_language": ["English"],
    "Output_language": ["English"],
    "Instruction_language": ["English"],
    "Domains": ["Sports"],
    "Positive Examples": [
        {"input": "The striker scored twice.", "output": "yes",
         "explanation": "Scoring is a sports event"},
        {"input": "Bake the bread for an hour", "output": "no.",
         "explanation": "Baking is cooking."},
    ],
    "Negative Examples": [
        {"input": "The match was a draw.", "output": "maybe",
         "explanation": "The answer must be yes or no"},
    ],
    "Instances": [
        {"id": "task999-1", "input": "She ran a marathon", "output": ["yes", "Yes"]},
        {"id": "task999-2", "input": "Paint the fence?", "output": ["no"]},
    ],
    "Instance License": ["CC0"],
}

DEFINITION = "Definition: Given a sentence, say whether it is about sports.\n\n"
POS1 = " Positive Example 1 -\nInput: The striker scored twice.\n Output: yes.\n\n"
POS2 = " Positive Example 2 -\nInput: Bake the bread for an hour.\n Output: no.\n\n"
QUERY = "Now complete the following example -\nInput: She ran a marathon.\nOutput: "


def _write(directory, name, data):
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def task(tmp_path):
    return sni.load_task(_write(tmp_path, "task999_sports_check", TASK))


def test_load_task(task):
    assert task.name == "task999_sports_check"
    assert task.definition == "Given a sentence, say whether it is about sports"
    assert task.categories == ("Text Categorization",) and task.category == "Text Categorization"
    assert task.domains == ("Sports",) and task.source == ("handmade",)
    assert task.input_language == ("English",) and task.output_language == ("English",)
    assert task.positive_examples[1] == {
        "input": "Bake the bread for an hour", "output": "no.", "explanation": "Baking is cooking."
    }
    assert task.instances[0] == {"id": "task999-1", "input": "She ran a marathon",
                                 "output": ["yes", "Yes"]}


def test_encode_k0(task):
    r = sni.encode(task, task.instances[0], num_pos_examples=0)
    assert r.inputs == (
        "Definition: Given a sentence, say whether it is about sports.\n\n"
        "Now complete the following example -\nInput: She ran a marathon.\nOutput: "
    )
    assert r.targets == "yes"
    assert sni.references(task.instances[0]) == ["yes", "Yes"]


def test_encode_k1_k2(task):
    assert sni.encode(task, task.instances[0], num_pos_examples=1).inputs == (
        "Definition: Given a sentence, say whether it is about sports.\n\n"
        " Positive Example 1 -\nInput: The striker scored twice.\n Output: yes.\n\n"
        "Now complete the following example -\nInput: She ran a marathon.\nOutput: "
    )
    assert sni.encode(task, task.instances[0]).inputs == DEFINITION + POS1 + POS2 + QUERY


def test_encode_query_keeps_its_punctuation(task):
    assert sni.encode(task, task.instances[1], num_pos_examples=0).inputs == (
        DEFINITION + "Now complete the following example -\nInput: Paint the fence?\nOutput: "
    )


def test_encode_negatives_and_explanations(task):
    r = sni.encode(task, task.instances[0], num_pos_examples=1, num_neg_examples=1,
                   add_explanation=True)
    assert r.inputs == (
        "Definition: Given a sentence, say whether it is about sports.\n\n"
        " Positive Example 1 -\nInput: The striker scored twice.\n Output: yes.\n"
        " Explanation: Scoring is a sports event.\n\n"
        " Negative Example 1 -\nInput: The match was a draw.\n Output: maybe.\n"
        " Explanation: The answer must be yes or no.\n\n"
        "Now complete the following example -\nInput: She ran a marathon.\nOutput: "
    )


def test_encode_task_name_and_no_definition(task):
    r = sni.encode(task, task.instances[0], num_pos_examples=1, add_task_name=True)
    assert r.inputs == "task999_sports_check. " + DEFINITION + POS1 + QUERY
    r = sni.encode(task, task.instances[0], add_task_definition=False)
    assert r.inputs == POS1 + POS2 + QUERY


def test_encode_drops_demonstrations_that_do_not_fit(task):
    budget = len(DEFINITION + POS1 + QUERY)
    r = sni.encode(task, task.instances[0], max_input_length=budget)
    assert r.inputs == DEFINITION + POS1 + QUERY
    r = sni.encode(task, task.instances[0], max_input_length=budget - 1)
    assert r.inputs == DEFINITION + QUERY


def test_split_file_and_iter_examples(tmp_path):
    _write(tmp_path, "task999_sports_check", TASK)
    other = dict(TASK, Categories=["Question Answering"], Instances=[
        {"id": "t2-1", "input": "Who won?", "output": ["the home side"]}])
    _write(tmp_path, "task001_other", other)
    _write(tmp_path, "task500_unlisted", TASK)
    split = tmp_path / "test_tasks.txt"
    split.write_text("task999_sports_check\ntask001_other\n\n", encoding="utf-8")
    assert sni.load_split(split) == ["task999_sports_check", "task001_other"]
    assert [p.rsplit("/", 1)[-1] for p in sni.task_files(tmp_path, split)] == [
        "task999_sports_check.json", "task001_other.json"]
    assert [p.rsplit("/", 1)[-1] for p in sni.task_files(tmp_path)] == [
        "task001_other.json", "task500_unlisted.json", "task999_sports_check.json"]
    examples = list(sni.iter_examples(tmp_path, split, max_per_task=1, num_pos_examples=0))
    assert examples == [
        {"inputs": DEFINITION + QUERY, "targets": "yes", "references": ["yes", "Yes"],
         "task_name": "task999_sports_check", "category": "Text Categorization"},
        {"inputs": DEFINITION
         + "Now complete the following example -\nInput: Who won?\nOutput: ",
         "targets": "the home side", "references": ["the home side"],
         "task_name": "task001_other", "category": "Question Answering"},
    ]


def test_split_naming_absent_tasks(tmp_path):
    _write(tmp_path, "task999_sports_check", TASK)
    split = tmp_path / "train_tasks.txt"
    split.write_text("task999_sports_check\ntask123_missing\ntask456_gone\n")
    with pytest.raises(FileNotFoundError, match="task123_missing.*task456_gone"):
        sni.task_files(tmp_path, split)


def test_errors_name_file_and_key(tmp_path):
    with pytest.raises(FileNotFoundError, match="task404_none.json"):
        sni.load_task(tmp_path / "task404_none.json")
    no_instances = {k: v for k, v in TASK.items() if k != "Instances"}
    path = _write(tmp_path, "task998_broken", no_instances)
    with pytest.raises(sni.SNIError, match="task998_broken.json.*Instances"):
        sni.load_task(path)
    bad = tmp_path / "task997_bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="task997_bad.json"):
        sni.load_task(bad)
    no_output = dict(TASK, Instances=[{"id": "x", "input": "y"}])
    with pytest.raises(ValueError, match="task996_no_output.json.*'output'"):
        sni.load_task(_write(tmp_path, "task996_no_output", no_output))
    with pytest.raises(FileNotFoundError, match="splits.txt"):
        sni.load_split(tmp_path / "splits.txt")
