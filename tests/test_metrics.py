"""Metric values against rouge-score and sacrebleu called directly, and hand-computed cases."""

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from flanjax.data import metrics


def test_accuracy_hand_computed():
    assert metrics.accuracy(["yes", "no", "no", "yes"], ["yes", "no ", "yes", "maybe"]) == {
        "accuracy": 50.0
    }
    # Several references: any one counts.
    assert metrics.accuracy([["a", "b"], ["c"]], ["b", "d"])["accuracy"] == 50.0


def test_exact_match_uses_squad_normalisation_and_max_over_references():
    assert metrics.normalize_squad("The  Eiffel-Tower!") == "eiffeltower"
    assert metrics.normalize_squad("an apple, a pear") == "apple pear"
    got = metrics.exact_match([["Paris", "the city of Paris"], "42"], ["the city of paris.", "41"])
    assert got == {"exact_match": 50.0}


def test_squad_f1_hand_computed():
    # prediction "big red house" vs reference "the red house": common {red, house} = 2,
    # precision 2/3, recall 2/2 ("the" is dropped) -> F1 = 0.8.
    got = metrics.squad(["the red house"], ["big red house"])
    assert got["exact_match"] == 0.0
    assert got["f1"] == pytest.approx(80.0)
    # Max over references: the second reference matches exactly.
    got = metrics.squad([["blue", "red house"]], ["red house"])
    assert got == {"exact_match": 100.0, "f1": 100.0}
    assert metrics.squad(["x"], ["y"])["f1"] == 0.0


def test_rouge_matches_rouge_score():
    targets = ["the cats were sitting on the mats", "a quick brown fox jumps over the dog"]
    preds = ["the cat sat on the mat", "the quick brown foxes jumped over a lazy dog"]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    ref = [scorer.score(t, p) for t, p in zip(targets, preds)]
    got = metrics.rouge(targets, preds)
    for key in ("rouge1", "rouge2", "rougeL"):
        want = 100 * np.mean([r[key].fmeasure for r in ref])
        assert got[key] == pytest.approx(want)
    # Stemming is on: "cats"/"cat" and "mats"/"mat" match.
    assert metrics.rouge(["cats mats"], ["cat mat"])["rouge1"] == pytest.approx(100.0)


def test_rouge_takes_best_reference():
    got = metrics.rouge([["completely different", "the cat sat"]], ["the cat sat"])
    assert got["rougeL"] == pytest.approx(100.0)


def test_bleu_matches_sacrebleu():
    targets = ["the cat is on the mat", "there is a dog in the garden today"]
    preds = ["the cat sat on the mat", "there is a dog in the garden"]
    want = sacrebleu.corpus_bleu(preds, [targets]).score
    assert metrics.bleu(targets, preds)["bleu"] == pytest.approx(want)
    # Two references per example: sacrebleu's reference streams.
    multi = [["the cat is on the mat", "a cat is on the mat"], ["a dog is in the garden", "x"]]
    want = sacrebleu.corpus_bleu(preds, [[m[0] for m in multi], [m[1] for m in multi]]).score
    assert metrics.bleu(multi, preds)["bleu"] == pytest.approx(want)


def test_f1_multiclass_hand_computed():
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    # a: tp1 fp0 fn1 -> 2/3; b: tp1 fp2 fn0 -> 2/4; c: tp0 -> 0. Macro = (2/3 + 1/2 + 0) / 3.
    want = 100 * (2 / 3 + 0.5 + 0) / 3
    assert metrics.f1_multiclass(gold, pred)["f1_multiclass"] == pytest.approx(want)


def test_pearson():
    gold = ["1.0", "2.0", "3.0", "4.5"]
    pred = ["1.1", "2.3", "2.9", "4.0"]
    want = 100 * np.corrcoef([1, 2, 3, 4.5], [1.1, 2.3, 2.9, 4.0])[0, 1]
    assert metrics.pearson(gold, pred)["pearson"] == pytest.approx(want)
    # An unparsable prediction counts as -1, as T5's string_to_float does.
    want = 100 * np.corrcoef([1, 2, 3], [1, -1, 3])[0, 1]
    assert metrics.pearson([1, 2, 3], ["1", "oops", "3"])["pearson"] == pytest.approx(want)


def test_numeric_match_hand_computed():
    # The last number of the prediction against the gold number; separators and decimals.
    preds = ["3 + 4 = 7", "It costs $1,250.00.", "eleven", "-2", "5 apples, then 6"]
    gold = ["7", "1250", "11", "-2", ["5", "6.0"]]
    assert metrics.last_number("x 1,250.50 y 3") == 3.0
    assert metrics.numeric_match(gold, preds)["numeric_match"] == pytest.approx(80.0)


def test_metric_registry_and_errors():
    assert set(metrics.METRICS) == {
        "accuracy", "exact_match", "squad", "rouge", "bleu", "f1_multiclass", "pearson",
        "numeric_match", "sni",
    }
    for name, fn in metrics.METRICS.items():
        assert metrics.get_metric(name) is fn
        (seqio_fn,) = metrics.seqio_metric_fns(name)
        assert seqio_fn(["1 a"], ["1 a"]) == metrics.score(name, ["1 a"], ["1 a"])
        assert metrics.PRIMARY[name] in fn(["1 a"], ["1 a"]) or name == "pearson"
    with pytest.raises(ValueError, match="Unknown metric 'blue'"):
        metrics.get_metric("blue")
    with pytest.raises(ValueError, match="2 targets but 1 predictions"):
        metrics.accuracy(["a", "b"], ["a"])


def test_metrics_as_seqio_metric_fns():
    import seqio

    task = seqio.Task(
        "flanjax_metrics_probe",
        source=seqio.FunctionDataSource(lambda split, shuffle_files: None, splits=["x"]),
        output_features={},
        metric_fns=metrics.seqio_metric_fns("squad"),
    )
    (fn,) = task.predict_metric_fns  # seqio reads it as a predict metric fn (targets, predictions)
    assert fn(["the cat"], ["cat"]) == metrics.squad(["the cat"], ["cat"]) == {"exact_match": 100.0, "f1": 100.0}
