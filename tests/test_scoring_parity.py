"""One scoring path: seqio's own Evaluator, over the registered eval tasks, reports what
`flanjax.eval` reports when both are fed the same model outputs.

flanjax's side is `heldout.evaluate_task` (what `flanjax.eval` and in-training evaluation
run) with the model's two outputs replaced by fixed ones: the chosen option of rank
classification and the decoded text of generation. seqio's side is `seqio.Evaluator` on the
same task and split, whose `predict_fn` returns the token ids of the same texts; seqio then
decodes them, applies the task's registered `postprocess_fn` and `metric_fns` itself.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import seqio

from flanjax.data import render, sources
from flanjax.data.bundled import ensure_prepared
from flanjax.data.catalog import flan2022_eval as fe
from flanjax.evaluation import generation, heldout, ranking
from flanjax.model import T5Config, init_params

MAX_EXAMPLES = 6
LENGTHS = {"inputs": 512, "targets": 64}

from _bbh import BBH_PROMPT  # noqa: E402


def _fixed_outputs(examples, task_name: str) -> list[str]:
    """A mix of right and wrong outputs: the gold target for even rows, else another text
    (a wrong option where the example has options)."""
    out = []
    for i, ex in enumerate(examples):
        gold = sources.as_text(ex["targets_pretokenized"])
        options = ranking.options_of(ex)
        if i % 2 == 0:
            out.append(gold)
        elif options:
            out.append(next(o for o in options if o.strip() != gold.strip()))
        else:
            out.append(f"{gold} x{i}")
    return out


def _cot_outputs(examples, task_name: str) -> list[str]:
    """Chain-of-thought text: a rationale, then "So the answer is X." (right, wrong, none)."""
    texts = []
    for i, ex in enumerate(examples):
        gold = sources.as_text(ex["targets_pretokenized"])
        wrong = "Yes" if gold == "No" else "No"
        texts.append([f"We walk. So the answer is {gold}.", f"Hmm. So the answer is {wrong}.",
                      f"the answer is {gold}"][i % 3])
    return texts


def _flanjax_scores(monkeypatch, task_name: str, outputs_of) -> tuple[dict, dict]:
    """`heldout.evaluate_task` with the model's outputs fixed; returns (values, {text: ids})."""
    config = T5Config.tiny(vocab_size=896, dtype="float32")
    params = jax.device_get(init_params(config, jax.random.key(0)))
    (task,) = heldout.resolve_tasks(task_name)
    produced: dict[str, list[str]] = {}

    def rank(config, params, vocabulary, examples, **kwargs):
        produced["texts"] = _fixed_outputs(examples, task_name)
        return ranking.RankResult(produced["texts"], [], [])

    def decode(config, params, vocabulary, examples, **kwargs):
        produced["texts"] = outputs_of(examples, task_name)
        return produced["texts"]

    monkeypatch.setattr(ranking, "rank_classify", rank)
    monkeypatch.setattr(generation, "decode", decode)
    settings = heldout.EvalSettings(max_examples=MAX_EXAMPLES, lengths=tuple(LENGTHS.items()))
    result = heldout.evaluate_task(config, params, task, settings)
    assert result.num_examples == MAX_EXAMPLES
    return result.values, produced["texts"]


def _seqio_scores(task_name: str, texts: list[str]) -> dict:
    """seqio.Evaluator on the registered task, its predict_fn returning `texts` as ids."""
    task = seqio.get_mixture_or_task(task_name)
    vocabulary = task.output_features["targets"].vocabulary
    entry = heldout.entry_of_task(task_name)
    evaluator = seqio.Evaluator(
        task_name, feature_converter=seqio.EncDecFeatureConverter(pack=False),
        eval_split=entry.eval_split, sequence_length=LENGTHS, num_examples=MAX_EXAMPLES,
        async_compute_metrics=False,
    )

    def predict_fn(ds):  # [targets length] ids a row: the text, EOS, padding (as a decoder's)
        rows = []
        for i, _ in ds.as_numpy_iterator():
            ids = list(vocabulary.encode(texts[int(i)])) + [1]
            rows.append((int(i), ids + [0] * (LENGTHS["targets"] - len(ids))))
        return rows

    metrics, _ = evaluator.evaluate(compute_metrics=True, predict_fn=predict_fn)
    return metrics.result()[task_name]


@pytest.fixture(scope="module")
def demo_data():
    return ensure_prepared()


def _assert_same(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs), (ours, theirs)
    for k in ours:
        assert float(np.asarray(theirs[k])) == pytest.approx(ours[k]), k


def test_rank_classification_cluster_scores_as_seqio(demo_data, monkeypatch):
    # Every template of every dataset of the demo's NLI cluster (scored by rank classification).
    names = [t.name for t in heldout.resolve_tasks("nli", collection="demo")]
    assert len(names) > 2 and all(heldout.entry_of_task(n).eval_mode == "rank" for n in names)
    per_task = {}
    for name in names:
        ours, texts = _flanjax_scores(monkeypatch, name, _fixed_outputs)
        theirs = _seqio_scores(name, texts)
        _assert_same(ours, theirs)
        per_task[name] = ours["accuracy"]
    # Half right by construction: 3 of 6 per template.
    assert set(per_task.values()) == {50.0}


def test_generation_task_scores_as_seqio(demo_data, monkeypatch):
    ours, texts = _flanjax_scores(monkeypatch, "demo_addition_zs:0", _fixed_outputs)
    assert ours == {"exact_match": 50.0}  # 3 gold answers of 6
    _assert_same(ours, _seqio_scores("demo_addition_zs:0", texts))


def test_chain_of_thought_task_scores_as_seqio(tmp_path, monkeypatch):
    (tmp_path / "bbh").mkdir()
    (tmp_path / "cot-prompts").mkdir()
    (tmp_path / "cot-prompts" / "navigate.txt").write_text(BBH_PROMPT)
    examples = [{"input": f"Take {i} steps.\nOptions:\n- Yes\n- No", "target": "Yes" if i % 2 else "No"}
                for i in range(MAX_EXAMPLES)]
    (tmp_path / "bbh" / "navigate.json").write_text(json.dumps({"canary": "c", "examples": examples}))
    monkeypatch.setenv(fe.BBH_DIR_ENV, str(tmp_path))
    render.clear_exemplar_caches()
    try:
        name = "bbh_cot_navigate_fs:cot"
        assert heldout.entry_of_task(name).extracts_cot_answer
        ours, texts = _flanjax_scores(monkeypatch, name, _cot_outputs)
        # Rows 0 and 3 ("So the answer is <gold>.") and 2 and 5 ("the answer is <gold>") are right.
        assert ours[heldout.metrics.PRIMARY[heldout.entry_of_task(name).metric]] == pytest.approx(400 / 6)
        _assert_same(ours, _seqio_scores(name, texts))
    finally:
        render.clear_exemplar_caches()
