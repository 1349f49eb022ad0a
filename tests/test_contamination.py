"""13-gram contamination: hand-made cases and the command line on the demo data."""

import json

import pytest

from flanjax.data.bundled import ensure_prepared
from flanjax.evaluation import contamination


def test_ngrams_words_and_boundaries():
    text = " ".join(f"w{i}" for i in range(15))
    assert len(list(contamination.ngrams(text, 13))) == 3
    assert list(contamination.ngrams("too short", 13)) == []
    # Case and punctuation do not matter.
    assert set(contamination.ngrams("A b, C!", 3)) == set(contamination.ngrams("a B c", 3))
    # n-grams never cross fields.
    fields = {"a": "x y", "b": "z w", "options": ["p q r"]}
    assert contamination.example_ngrams(fields, 3) == set(contamination.ngrams("p q r", 3))


def test_contamination_counts_dirty_examples(monkeypatch):
    shared = "the quick brown fox jumps over the lazy dog near the old river bank today"
    train = [{"text": "nothing to see here " + shared}, {"text": "completely unrelated words"}]
    evals = [{"text": shared.upper() + "!"}, {"text": "a clean example that shares only a few words"},
             {"text": "the quick brown fox jumps over the lazy dog near the old"}]  # 12 words only

    class Entry:
        def __init__(self, name, data):
            self.name, self.cluster, self.data = name, "c", data
            self.train_split, self.eval_split = "train", "validation"

    monkeypatch.setattr(contamination, "read_fields",
                        lambda entry, split, limit: iter(entry.data[:limit] if limit else entry.data))
    report = contamination.contamination([Entry("t", train)], [Entry("e", evals)], max_eval_examples=None)
    (row,) = report["datasets"]
    assert (row["num_examples"], row["num_contaminated"]) == (3, 1)
    assert abs(row["fraction"] - 1 / 3) < 1e-9
    # The eval read limit is reported.
    report = contamination.contamination([Entry("t", train)], [Entry("e", evals)], max_eval_examples=2)
    assert report["datasets"][0]["hit_limit"] and report["datasets"][0]["num_examples"] == 2
    assert "(read limit)" in contamination.format_table(report)


def test_command_line_on_demo(tmp_path, capsys):
    from flanjax.cli import runner

    ensure_prepared()
    out = tmp_path / "c.json"
    code = runner.call("flanjax.cli.contamination", ["--train", "demo_minus_nli", "--eval", "nli,demo_reviews", "--collection", "demo",
                     "--max_train_examples", "200", "--max_eval_examples", "50", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    names = [r["dataset"] for r in report["datasets"]]
    assert names == ["demo_entailment", "demo_numeric_nli", "demo_reviews"]
    for r in report["datasets"]:
        assert r["num_examples"] > 0 and r["fraction"] == pytest.approx(r["num_contaminated"] / r["num_examples"])
    assert "demo_entailment" not in report["train_examples_read"]  # nli is held out
    assert set(report["train_hit_limit"]) == set(report["train_examples_read"])
    assert "13-gram overlap" in capsys.readouterr().out
    assert runner.call("flanjax.cli.contamination", ["--train", "demo_minus_nli", "--eval", "nlii", "--collection", "demo"]) == 2
    assert "Unknown cluster" in capsys.readouterr().err
