"""niv2_test in the evaluation report (`flanjax.evaluation.sni_test`, `report.sni_category_table`):
Tk-Instruct's ROUGE-L and exact match per category in results.md, hand-computed."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from flanjax.data import locations
from flanjax.evaluation import report, sni_test
from tests.test_sni_eval import repo  # noqa: F401  pylint: disable=unused-import

# Two categories: entailment "yes" right twice (EM 100, ROUGE-L 100); title generation
# "title" for "the title": EM 0 (Tk keeps articles), ROUGE-L P=1, R=1/2, F=2/3.
TARGETS = [
    {"references": ["yes"], "category": "textual_entailment", "task": "task001_big"},
    {"references": ["Yes."], "category": "textual_entailment", "task": "task001_big"},
    {"references": ["the title"], "category": "title_generation", "task": "task002_small"},
]
PREDICTIONS = ["yes", "yes", "title"]


def _examples():
    return [{"targets_pretokenized": t["references"][0].encode(),
             "references": [r.encode() for r in t["references"]],
             "category": t["category"].encode(), "task_name": t["task"].encode()} for t in TARGETS]


def test_score_groups_by_category_and_task():
    got = sni_test.score(_examples(), [f" {p} " for p in PREDICTIONS])
    assert got["exact_match"] == pytest.approx(200 / 3)
    assert got["rougeL"] == pytest.approx((100 + 100 + 200 / 3) / 3)
    assert got["exact_match_for_title_generation"] == 0.0
    assert got["rougeL_for_title_generation"] == pytest.approx(200 / 3)
    assert got["exact_match_for_task001_big"] == 100.0


def test_results_md_has_niv2_test_per_category_table(tmp_path):
    scores = sni_test.score(_examples(), PREDICTIONS)
    runs = {"m": {"tasks": [], "datasets": {}, "clusters": {}, "overall": 0.0, "sni_test": scores}}
    files = report.write_report(str(tmp_path), runs, tensorboard=False)
    text = open(files["md"]).read()
    assert "## Super-NaturalInstructions test set (niv2_test)" in text
    table = text.split("(niv2_test)", 1)[1].split("##", 1)[0]
    lines = [l for l in table.splitlines() if l.startswith("|")]
    # header, rule, two categories (sorted; the per-task keys are not categories), overall.
    assert lines[0].replace(" ", "") == "|category|mROUGE-L|mEM|"
    cells = [[c.strip() for c in l.strip("|").split("|")] for l in lines[2:]]
    assert cells == [["textual_entailment", "100.0", "100.0"],
                     ["title_generation", "66.7", "0.0"],
                     ["**overall**", "88.9", "66.7"]]
    assert json.load(open(files["json"]))["runs"]["m"]["sni_test"] == scores


def test_niv2_test_examples_from_seqio_keep_what_scoring_needs(repo):  # noqa: F811
    from flanjax.data import sni_eval  # pylint: disable=import-outside-toplevel

    import seqio  # pylint: disable=import-outside-toplevel

    sni_eval.register_task()
    locations.configure({"SNI_DIR": repo})
    try:
        task = seqio.get_mixture_or_task(sni_test.TASK_NAME)
        ds = task.get_dataset(sequence_length={"inputs": 64, "targets": 8}, split="test",
                              shuffle=False, num_epochs=1)
        examples = list(ds.take(103).as_numpy_iterator())
    finally:
        locations.configure({"SNI_DIR": None})
    got = sni_test.score(examples, ["yes"] * 100 + ["title"] * 3, task.postprocess_fn)
    assert got["exact_match_for_textual_entailment"] == 100.0
    assert got["exact_match_for_title_generation"] == 0.0
    assert got["exact_match"] == pytest.approx(100 * 100 / 103)


def test_evaluate_decodes_every_test_instance_and_scores_it(repo, monkeypatch):  # noqa: F811
    """sni_test.evaluate end to end on a fake natural-instructions checkout: every one of the
    103 test instances reaches the decoder once, with the target length, and the decoder's
    texts are scored per category (hand-computed: task001's 100 right, task002's 3 wrong)."""
    import seqio  # pylint: disable=import-outside-toplevel

    from flanjax.data import sni_eval  # pylint: disable=import-outside-toplevel
    from flanjax.evaluation import generation, heldout  # pylint: disable=import-outside-toplevel
    from flanjax.model import T5Config  # pylint: disable=import-outside-toplevel

    calls = []

    def fake_decode(config, params, vocabulary, examples, *, batch_size, max_decode_length, **kw):
        calls.append((len(examples), max_decode_length, batch_size))
        return ["yes" if ex["task_name"] == b"task001_big" else "a title" for ex in examples]

    monkeypatch.setattr(generation, "decode", fake_decode)
    sni_eval.register_task()
    locations.configure({"SNI_DIR": repo})
    try:
        vocab = seqio.get_mixture_or_task(sni_test.TASK_NAME).output_features["targets"].vocabulary
        config = T5Config.tiny(vocab_size=vocab.vocab_size)
        settings = heldout.EvalSettings(lengths=(("inputs", 128), ("targets", 12)), batch_size=8)
        got = sni_test.evaluate(config, None, settings, lengths={"inputs": 128, "targets": 12})
        # No lengths: Tk-Instruct's 1024 / 128 (scripts/eval_tk_instruct.sh), not settings'.
        first_ten = sni_test.evaluate(config, None, dataclasses.replace(settings, max_examples=10))
        with pytest.raises(Exception, match="vocab|embedding"):  # a checkpoint of another vocabulary
            sni_test.evaluate(T5Config.tiny(vocab_size=vocab.vocab_size + 4096), None, settings)
    finally:
        locations.configure({"SNI_DIR": None})
    assert calls[:2] == [(103, 12, 8), (10, 128, 8)]
    assert got["exact_match"] == pytest.approx(100 * 100 / 103)
    assert got["exact_match_for_textual_entailment"] == 100.0
    assert got["exact_match_for_title_generation"] == 0.0
    # "a title" vs "the title": ROUGE-L P = R = 1/2 -> 50 on the 3 title instances.
    assert got["rougeL_for_title_generation"] == pytest.approx(50.0)
    assert first_ten["exact_match"] == 100.0 and "exact_match_for_title_generation" not in first_ten
