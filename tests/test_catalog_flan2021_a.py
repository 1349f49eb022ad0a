"""Tests for the FLAN 2021 catalog, part A (NLI, commonsense, sentiment, paraphrase,
closed-book QA, struct-to-text): every entry loads through seqio's real TFDS path on
`tfds.testing.mock_data`, preprocesses, and renders all of its templates."""

from __future__ import annotations

import collections
import re

import pytest
import tensorflow_datasets as tfds

from flanjax.data import sources
from flanjax.data.catalog import flan2021
from flanjax.data.catalog import flan2021 as patterns

# The first six clusters of Figure 3.
CLUSTERS = flan2021.CLUSTERS[:6]
ENTRIES = [e for e in flan2021.ENTRIES if e.cluster in CLUSTERS]
_BY_NAME = {e.name: e for e in ENTRIES}
_UNFILLED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*\}")

# Mock data draws integer features from [0, max_value) (ClassLabels from their classes);
# these builders keep their label in a plain integer feature (story_cloze: 1 or 2; with
# seed 0 and max_value 10 the first mock labels are 1, 2, 0).
_MAX_VALUE = {"hellaswag:1.1.0": 4, "story_cloze/2016:1.0.0": 10, "sentiment140:1.0.0": 5}

# Entries grouped by TFDS builder: one mock_data context per builder.
_BY_TFDS = collections.defaultdict(list)
for _e in ENTRIES:
    _BY_TFDS[_e.source.tfds_name].append(_e)

# Figure 3 of Wei et al. (2021): paper datasets per cluster.
PAPER_COUNTS = {
    "nli": 7,
    "commonsense": 4,
    "sentiment": 4,
    "paraphrase": 4,
    "closed_book_qa": 3,
    "struct_to_text": 4,
}


def _pattern_key(entry) -> str:
    return entry.templates[0].name.split(":")[0]


def _mock_examples(tfds_name: str, split: str, num_examples: int = 3) -> list[dict]:
    with tfds.testing.mock_data(num_examples=num_examples, max_value=_MAX_VALUE.get(tfds_name)):
        entry = _BY_TFDS[tfds_name][0]
        ds = entry.source.to_seqio().get_dataset(split, shuffle=False)
        return [sources.to_python(ex) for ex in ds.as_numpy_iterator()]


@pytest.mark.parametrize("tfds_name", sorted(_BY_TFDS))
def test_entries_load_and_render_on_mock_data(tfds_name):
    raws = _mock_examples(tfds_name, "train")
    assert raws, tfds_name
    for entry in _BY_TFDS[tfds_name]:
        turned = set(patterns.TURNED_AROUND[_pattern_key(entry)])
        rendered_examples = 0
        for raw in raws:
            fields = entry.fields_of(raw)
            if fields is None:
                continue
            rendered_examples += 1
            if entry.has_options:
                assert fields["answer"] in fields["options"], entry.name
                assert all(isinstance(o, str) and o for o in fields["options"])
            for i, template in enumerate(entry.templates):
                out = template.render(fields)
                assert out is not None, template.name
                assert out.inputs.strip() and out.targets.strip(), template.name
                for text in (out.inputs, out.targets):
                    assert not _UNFILLED.search(text), (template.name, text)
                if entry.has_options and i not in turned:
                    assert out.targets == fields["answer"], template.name
                    assert out.targets in out.answer_options, template.name
                    assert out.inputs.rstrip().endswith(fields["options"][-1]), template.name
        assert rendered_examples >= 1, f"{entry.name}: every mock example was skipped"


@pytest.mark.parametrize(
    "name,split", [("mnli_mismatched", "validation"), ("story_cloze", "validation")]
)
def test_eval_splits_load(name, split):
    entry = _BY_NAME[name]
    assert _mock_examples(entry.source.tfds_name, split, num_examples=2)


def test_cluster_counts_match_the_paper():
    papers = collections.defaultdict(set)
    for e in ENTRIES:
        assert e.collection == "flan2021"
        papers[e.cluster].add(e.paper_dataset)
    assert {c: len(p) for c, p in papers.items()} == PAPER_COUNTS


def test_entry_names_and_granularity():
    assert len(ENTRIES) == len(_BY_NAME) == 30
    for name in ("anli_r1", "anli_r2", "anli_r3", "mnli_matched", "mnli_mismatched",
                 "arc_challenge", "arc_easy", "stsb", "web_nlg_en"):
        assert name in _BY_NAME
    mm = _BY_NAME["mnli_mismatched"].source.splits
    assert mm["train"] == _BY_NAME["mnli_matched"].source.splits["train"] == "train"
    assert mm["validation"] == "validation_mismatched"
    for e in ENTRIES:  # FLAN's 30k cap belongs to the task layer, not the catalog
        assert "[" not in "".join(e.source.splits.values()), e.name


def test_ten_templates_each_at_most_three_turned_around():
    keys = {_pattern_key(e) for e in ENTRIES}
    assert keys <= set(patterns.PATTERNS) and set(patterns.PATTERNS) == set(patterns.TURNED_AROUND)
    for key, pairs in ((k, patterns.PATTERNS[k]) for k in sorted(keys)):
        assert len(pairs) == 10, key
        turned = patterns.TURNED_AROUND[key]
        assert 1 <= len(turned) <= 3 and all(0 <= i < 10 for i in turned), key
        uses_options = any("{options_}" in inp for inp, _ in pairs)
        for i, (inp, tgt) in enumerate(pairs):
            if i in turned:
                assert "{options_}" not in inp, (key, i)
                assert tgt != "{answer}", (key, i)
            elif uses_options:  # FLAN convention: options close the input
                assert inp.endswith("{options_}") and tgt == "{answer}", (key, i)
    for e in ENTRIES:
        assert len(e.templates) == 10
        assert e.has_options == ("options" in e.fields)
        assert e.eval_mode == ("rank" if e.has_options else "generate"), e.name


def test_metrics():
    metric = {e.name: e.metric for e in ENTRIES}
    assert metric["stsb"] == "pearson"
    assert metric["natural_questions"] == metric["trivia_qa"] == "squad"
    assert {metric[n] for n in ("common_gen", "dart", "e2e_nlg", "web_nlg_en")} == {"rouge"}
    assert metric["rte"] == metric["copa"] == metric["arc_easy"] == "accuracy"


def test_unlabelled_examples_are_skipped():
    rte = _BY_NAME["rte"]
    assert rte.fields_of({"premise": "p", "hypothesis": "h", "label": -1, "idx": 0}) is None
    gold = rte.fields_of({"premise": "p", "hypothesis": "h", "label": 0, "idx": 0})
    assert gold["answer"] == "yes"
    hs = {"context": "c", "activity_label": "a", "endings": ["w", "x", "y", "z"]}
    assert _BY_NAME["hellaswag"].fields_of({**hs, "label": -1}) is None
    story = {"context": "c", "endings": ["a", "b"]}
    assert _BY_NAME["story_cloze"].fields_of({**story, "label": -1}) is None
    assert _BY_NAME["story_cloze"].fields_of({**story, "label": 2})["answer"] == "b"
    assert _BY_NAME["sentiment140"].fields_of({"text": "t", "polarity": 2}) is None
    assert _BY_NAME["stsb"].fields_of({"sentence1": "a", "sentence2": "b", "label": -1.0}) is None


def test_label_mappings_follow_flan():
    nli = {"premise": "p", "hypothesis": "h"}
    mnli = _BY_NAME["mnli_matched"].fields_of({**nli, "label": 1})
    assert mnli["answer"] == "it is not possible to tell"
    assert _BY_NAME["cb"].fields_of({**nli, "label": 1})["answer"] == "No"
    pair = {"sentence1": "a", "sentence2": "b"}
    assert _BY_NAME["wnli"].fields_of({**pair, "label": 1})["answer"] == "yes"
    anli = _BY_NAME["anli_r2"].fields_of({"context": "c", "hypothesis": "h", "label": 2})
    assert anli["answer"] == "No" and anli["relation"] == "contradicts"
    stsb = _BY_NAME["stsb"].fields_of({**pair, "label": 3.6})
    assert stsb["answer"] == "4" and stsb["options"] == ["0", "1", "2", "3", "4", "5"]
    copa = _BY_NAME["copa"].fields_of(
        {"premise": "p.", "question": "cause", "choice1": "x", "choice2": "y", "label": 1})
    assert copa["answer"] == "y" and copa["premise_role"] == "effect"


def test_text_cleanup():
    mr = "name[The Eagle], food[French]"
    e2e = _BY_NAME["e2e_nlg"].fields_of(
        {"meaning_representation": mr, "target": "t", "references": []}
    )
    assert e2e["meaning_representation"] == "name = The Eagle, food = French"
    assert e2e["answers"] == ["t"]
    triples = ["Alan_Bean | occupation | Test_pilot", "A | b | C"]
    web = _BY_NAME["web_nlg_en"].fields_of({"input": triples, "target": "t", "references": ["r"]})
    assert web["input_string"] == "Alan Bean, occupation, Test pilot; A, b, C"
    assert web["answers"] == ["r", "t"]
    triples = ["[TABLECONTEXT] [TITLE] Foo", "Bar located Baz"]
    dart = _BY_NAME["dart"].fields_of({"tripleset": triples, "target": "t", "references": []})
    assert dart["tripleset"] == "Foo; Bar located Baz"
    nq = _BY_NAME["natural_questions"].fields_of(
        {"question": "who wrote x", "answer": ["A", "B"]}
    )
    assert nq["question"] == "who wrote x?" and nq["answer"] == "A" and nq["answers"] == ["A", "B"]
    hs = _BY_NAME["hellaswag"].fields_of({
        "context": "[header] How to x [title] Do y. [step] Then", "activity_label": "a",
        "endings": ["[substeps] one", "two", "three", "four"], "label": 0})
    assert "[" not in hs["context"] and hs["answer"] == "one"
