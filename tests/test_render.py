"""Per-example rendering: template choice, options modes, formats, skips (pure Python)."""

import collections

import pytest

from flanjax.data import render, sources, templates
from flanjax.data.catalog.entry import CatalogEntry, check_templates

PATTERNS = {
    "toy_nli": [
        ("{premise}\nDoes it follow that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Premise: {premise}\nHypothesis: {hypothesis}\n{options_}", "{answer}"),
        ("{premise}\n\nWrite a sentence that is {answer} given the text.", "{hypothesis}"),
    ]
}
OPTIONS = ["yes", "no"]


def _preprocess(raw):
    if raw["label"] < 0:
        return None
    return {
        "premise": raw["premise"],
        "hypothesis": raw["hypothesis"],
        "options": OPTIONS,
        "answer": OPTIONS[raw["label"]],
    }


def _entry(**kw):
    defaults = dict(
        name="toy_nli",
        collection="test",
        cluster="nli",
        source=sources.FunctionSource(rows=lambda split: [], splits={"train": "train"}),
        preprocess=_preprocess,
        fields=("premise", "hypothesis", "options", "answer"),
        templates=templates.from_flan_patterns(PATTERNS)["toy_nli"],
        eval_mode="rank",
        has_options=True,
    )
    defaults.update(kw)
    return CatalogEntry(**defaults)


RAW = {"premise": "The cat sleeps.", "hypothesis": "An animal rests.", "label": 0}


def test_fixed_template_renders_exact_strings():
    r = render.Renderer(_entry(), render.FormatSpec("zs"), task_name="t", template_index=0)
    out = r(RAW, seed=0)
    assert out == {
        "inputs": 'The cat sleeps.\nDoes it follow that "An animal rests."?\n\nOPTIONS:\n- yes\n- no',
        "targets": "yes",
        "answer_options": ["yes", "no"],
        "template_id": "0",
        "references": ["yes"],
    }


def test_noopt_leaves_options_out_but_keeps_answer_options():
    r = render.Renderer(_entry(), render.FormatSpec("zs", "noopt"), task_name="t", template_index=1)
    out = r(RAW, seed=0)
    assert out["inputs"] == "Premise: The cat sleeps.\nHypothesis: An animal rests."
    assert out["answer_options"] == ["yes", "no"]


def test_template_sampling_is_deterministic_and_uses_all_templates():
    r = render.Renderer(_entry(), render.FormatSpec("zs"), task_name="t")
    rows = [dict(RAW, premise=f"Sentence number {i}.") for i in range(60)]
    first = [r(x, seed=7)["template_id"] for x in rows]
    again = [r(x, seed=7)["template_id"] for x in reversed(rows)][::-1]
    assert first == again  # independent of order
    counts = collections.Counter(first)
    assert set(counts) == {"0", "1", "2"}
    other_seed = [r(x, seed=8)["template_id"] for x in rows]
    assert other_seed != first


def test_skips_are_counted():
    r = render.Renderer(_entry(), render.FormatSpec("zs"), task_name="skip_task", template_index=0)
    before = render.skipped_counts().get(("skip_task", "preprocess returned None (e.g. unlabelled)"), 0)
    assert r(dict(RAW, label=-1)) is None
    after = render.skipped_counts()[("skip_task", "preprocess returned None (e.g. unlabelled)")]
    assert after == before + 1


def test_few_shot_uses_same_template_excludes_query_and_trims():
    pool = [
        _preprocess({"premise": f"P{i}.", "hypothesis": f"H{i}.", "label": i % 2}) for i in range(5)
    ]
    query_fields = pool[0]
    r = render.Renderer(
        _entry(), render.FormatSpec("zs"), task_name="t", template_index=1
    )
    fs = render.Renderer(
        _entry(), render.FormatSpec("fs", num_shots=2), task_name="t", template_index=1,
        exemplar_pool=lambda: pool,
    )
    raw = {"premise": "P0.", "hypothesis": "H0.", "label": 0}
    out = fs(raw, seed=3)
    shots = out["inputs"].split("\n\n\n")
    assert len(shots) == 3 and out["num_exemplars"] == 2
    # Flan 2022's few-shot layout: the query ends with the x-y delimiter, ready for a target.
    assert shots[-1] == "Premise: P0.\nHypothesis: H0.\nOPTIONS:\n- yes\n- no\n\n"
    assert "Premise: P0." not in "\n\n\n".join(shots[:-1])  # the query is not its own exemplar
    for shot in shots[:-1]:
        assert shot.startswith("Premise: P") and shot.endswith(("\n\nyes", "\n\nno"))
    # With room for one exemplar only, one is kept; with none, the zero-shot form.
    one = len(shots[0]) + 3 + len(shots[-1])
    assert fs(raw, seed=3, max_input_length=one)["num_exemplars"] == 1
    zs = r(raw, seed=3)
    tight = fs(raw, seed=3, max_input_length=len(zs["inputs"]))
    assert tight["num_exemplars"] == 0 and tight["inputs"] == zs["inputs"]
    del query_fields


def test_cot_target_from_rationale():
    entry = _entry(
        name="toy_cot",
        fields=("premise", "hypothesis", "options", "answer", "why"),
        preprocess=lambda raw: dict(_preprocess(raw), why="Cats are animals and sleeping is resting."),
        rationale_field="why",
    )
    r = render.Renderer(entry, render.FormatSpec("zs"), task_name="t", template_index=0)
    assert r(RAW)["targets"] == "Cats are animals and sleeping is resting. So the answer is yes."
    c = render.Renderer(entry, render.FormatSpec("cot"), task_name="t", template_index=0)
    assert c(RAW)["inputs"].endswith("- no\nLet's think step by step.")


def test_inversion_needs_support_and_swaps():
    with pytest.raises(ValueError, match="inversion"):
        render.Renderer(_entry(), render.FormatSpec("inv"), task_name="t")
    r = render.Renderer(_entry(inversion=True), render.FormatSpec("inv"), task_name="t", template_index=2)
    out = r(RAW)
    assert out["targets"] == "The cat sleeps.\n\nWrite a sentence that is yes given the text."
    assert out["inputs"].endswith("\n\nAn animal rests.")


def test_template_reading_undeclared_field_fails_naming_task_template_field():
    bad = templates.from_flan_patterns({"toy_nli": [("{premise} {hypotesis}", "{answer}")]})
    entry = _entry(templates=bad["toy_nli"])
    with pytest.raises(KeyError, match=r"'toy_nli'.*'toy_nli:0'.*'hypotesis'"):
        check_templates(entry, extra_fields={"options_": None})


def test_template_ids_are_seqio_safe():
    t = templates.FlanTemplate("anli_r1:7", "{a}", "{b}")
    assert render.template_id(t, 7) == "7"

    class P:
        name = "GPT-3 style (no options)"

    assert render.template_id(P(), 0) == "gpt_3_style_no_options"


def test_turned_around_template_has_no_answer_options():
    r = render.Renderer(_entry(), render.FormatSpec("zs"), task_name="t", template_index=2)
    out = r(RAW)
    assert out["targets"] == "An animal rests."
    assert out["answer_options"] == []  # scored by generation, not rank classification


def test_references_list_every_gold_answer_only_for_answer_targets():
    patterns = {"toy_qa": [("{question}", "{answer}"), ("Answer: {answer}. Question?", "{question}")]}
    entry = _entry(
        name="toy_qa", templates=templates.from_flan_patterns(patterns)["toy_qa"],
        fields=("question", "answer", "answers"), eval_mode="generate", has_options=False,
        preprocess=lambda raw: {"question": "Who?", "answer": "Ann", "answers": ["Ann", "Ann B.", "Ann"]},
    )
    r0 = render.Renderer(entry, render.FormatSpec("zs"), task_name="t", template_index=0)
    assert r0({})["references"] == ["Ann", "Ann B."]
    r1 = render.Renderer(entry, render.FormatSpec("zs"), task_name="t", template_index=1)
    assert r1({})["references"] == ["Who?"]
