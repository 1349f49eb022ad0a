"""SNI evaluation (`flanjax.data.sni_eval`): a fake allenai/natural-instructions checkout in
the shape of the real one (tasks/*.json, splits/default/*.txt), Tk-Instruct's scores."""

from __future__ import annotations

import json
import os

import pytest

from flanjax.data import locations, metrics, sni, sni_eval


def _task(category: str, n: int, output: str = "yes") -> dict:
    return {
        "Contributors": ["x"], "Source": ["s"], "Categories": [category], "Domains": ["d"],
        "Definition": ["Answer the question"],
        "Positive Examples": [{"input": f"p{i}", "output": f"o{i}", "explanation": "e"}
                              for i in range(3)],
        "Negative Examples": [],
        "Input_language": ["English"], "Output_language": ["English"],
        "Instances": [{"id": f"i{i}", "input": f"q{i}", "output": [output, "Yes."]}
                      for i in range(n)],
    }


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "natural-instructions"
    (root / "tasks").mkdir(parents=True)
    (root / "splits" / "default").mkdir(parents=True)
    tasks = {"task001_big": _task("Textual Entailment", 102),
             "task002_small": _task("Title Generation", 3, output="the title"),
             "task003_train": _task("Question Answering", 5)}
    for name, data in tasks.items():
        (root / "tasks" / f"{name}.json").write_text(json.dumps(data))
    (root / "splits" / "default" / "test_tasks.txt").write_text("task001_big\ntask002_small\n")
    (root / "splits" / "default" / "train_tasks.txt").write_text("task003_train\n")
    return str(root)


def test_test_set_is_first_100_instances_of_split_tasks_with_def_pos2(repo):
    rows = list(sni_eval.test_examples(repo))
    # 100 of task001's 102 instances (the first ones), all 3 of task002, none of task003.
    assert [r["task_name"] for r in rows] == ["task001_big"] * 100 + ["task002_small"] * 3
    assert rows[99]["inputs"].endswith("Input: q99.\nOutput: ")
    assert rows[0]["category"] == "textual_entailment"
    assert rows[0]["references"] == ["yes", "Yes."]
    text = rows[0]["inputs"]
    assert text.startswith("Definition: Answer the question.\n\n")
    assert "Positive Example 2 -" in text and "Positive Example 3" not in text
    # The repository's tasks/ directory works as SNI_DIR too.
    assert len(list(sni_eval.test_examples(os.path.join(repo, "tasks")))) == 103


def test_missing_split_file_fails_naming_it(repo):
    os.remove(os.path.join(repo, "splits", "default", "test_tasks.txt"))
    with pytest.raises(FileNotFoundError) as e:
        list(sni_eval.test_examples(repo))
    assert os.path.join(repo, "splits", "default", "test_tasks.txt") in str(e.value)


def test_training_reads_the_official_train_split_of_the_repository(repo):
    locations.configure({"SNI_DIR": repo})
    try:
        rows = list(sni._rows("train", num_pos=0))
    finally:
        locations.configure({"SNI_DIR": None})
    assert {r["task_name"] for r in rows} == {"task003_train"}


def test_tk_instruct_exact_match_keeps_articles():
    # SQuAD's normalisation drops "the"; Tk-Instruct's does not.
    assert metrics.exact_match([["cat"]], ["The cat"])["exact_match"] == 100.0
    assert metrics.sni([["cat"]], ["The cat"])["exact_match"] == 0.0
    assert metrics.sni([["Yes."]], ["yes"])["exact_match"] == 100.0  # punctuation, case
    assert metrics.sni([["a b c d"]], ["a b"])["rougeL"] == pytest.approx(100 * 2 / 3)


def test_grouped_scores_overall_per_category_and_task():
    targets = [
        {"references": ["yes"], "category": "textual_entailment", "task": "t1"},
        {"references": ["no"], "category": "textual_entailment", "task": "t1"},
        {"references": ["the title"], "category": "title_generation", "task": "t2"},
    ]
    got = metrics.sni_grouped(targets, ["yes", "yes", "title"])
    # EM: 1 of 3 overall; entailment 1 of 2; "title" != "the title" under Tk's rule.
    assert got["exact_match"] == pytest.approx(100 / 3)
    assert got["exact_match_for_textual_entailment"] == 50.0
    assert got["exact_match_for_title_generation"] == 0.0
    assert got["exact_match_for_t2"] == 0.0
    # ROUGE-L of "title" vs "the title": P=1, R=1/2, F=2/3.
    assert got["rougeL_for_title_generation"] == pytest.approx(100 * 2 / 3)
    assert got["rougeL"] == pytest.approx((100 + 0 + 100 * 2 / 3) / 3)


def test_niv2_test_task_scores_with_grouped_tk_metrics(repo):
    import seqio

    sni_eval.register_task()
    task = seqio.get_mixture_or_task("niv2_test")
    assert task.metric_fns == [metrics.sni_grouped]
    locations.configure({"SNI_DIR": repo})
    try:
        rows = list(sni_eval._dataset_fn("test", False).as_numpy_iterator())
    finally:
        locations.configure({"SNI_DIR": None})
    assert len(rows) == 103
    target = task.postprocess_fn(rows[-1]["targets"], example=rows[-1], is_target=True)
    assert target == {"references": ["the title", "Yes."], "category": "title_generation",
                      "task": "task002_small"}
