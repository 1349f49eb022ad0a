"""Tests for `flanjax.data.catalog.flan2021`'s last six clusters (FLAN 2021, Figure 3).

Every entry is read through seqio's real path (`TfdsSource.to_seqio().get_dataset`) on
`tfds.testing.mock_data`, decoded, preprocessed and rendered with every template. Mock
examples are random strings and labels, so a few datasets get hand-written rows as well.
"""

import collections
import re

import pytest
import tensorflow_datasets as tfds

from flanjax.data import sources
from flanjax.data.catalog import flan2021

ENTRIES = [e for e in flan2021.ENTRIES if e.cluster in flan2021.CLUSTERS[6:]]
BY_NAME = {e.name: e for e in ENTRIES}
PATTERNS = {k: v for k, v in flan2021.PATTERNS.items() if k in BY_NAME}
TURNED_AROUND = {k: v for k, v in flan2021.TURNED_AROUND.items() if k in BY_NAME}
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
# Random mock strings carry no punctuation, which FLAN's fix_punct filter (and ours) skips.
_SKIPS_ALL_MOCK_ROWS = {"fix_punct"}


@pytest.fixture(scope="module")
def mock_rows():
    """Decoded mock train examples of every entry, read once."""
    rows = {}
    with tfds.testing.mock_data(num_examples=2):
        for entry in ENTRIES:
            ds = entry.source.to_seqio().get_dataset("train", shuffle=False)
            rows[entry.name] = [sources.to_python(ex) for ex in ds.as_numpy_iterator()]
    return rows


def _check_rendered(entry, fields):
    if entry.has_options:
        assert fields["options"] and all(isinstance(o, str) and o for o in fields["options"])
        assert fields["answer"] in fields["options"]
    for template in entry.templates:
        rendered = template.render(fields)
        assert rendered is not None, template.name
        assert rendered.inputs.strip(), template.name
        assert rendered.targets.strip(), template.name
        for text in (rendered.inputs, rendered.targets):
            assert not _PLACEHOLDER.search(text), (template.name, text)
        if template.uses_options:
            assert "OPTIONS:\n- " in rendered.inputs
            assert rendered.targets in rendered.answer_options, template.name


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_template_renders_on_mock_data(entry, mock_rows):
    raws = mock_rows[entry.name]
    assert raws, f"{entry.name}: mock data gave no examples"
    rendered = 0
    for raw in raws:
        fields = entry.fields_of(raw)
        if fields is None:
            continue
        _check_rendered(entry, fields)
        rendered += 1
    if entry.name not in _SKIPS_ALL_MOCK_ROWS:
        assert rendered, f"{entry.name}: every mock example was skipped"
    else:
        # Mock strings have no punctuation: the same rows with punctuation added must render,
        # and the punctuation-free input must be exactly the row with it stripped.
        for raw in raws:
            en = raw["en"].decode() if isinstance(raw["en"], bytes) else raw["en"]
            with_punct = {**raw, "en": type(raw["en"])(f"{en}, really!".encode() if isinstance(raw["en"], bytes)
                                                       else f"{en}, really!")}
            fields = entry.fields_of(with_punct)
            assert fields is not None and fields["answer"].endswith(", really!"), fields
            assert fields["no_punct"] == fields["answer"].replace(",", "").replace("!", "")
            _check_rendered(entry, fields)
            rendered += 1
        assert rendered == len(raws)


def test_paper_cluster_counts():
    datasets = collections.defaultdict(set)
    for entry in ENTRIES:
        assert entry.collection == "flan2021"
        datasets[entry.cluster].add(entry.paper_dataset)
    assert {k: len(v) for k, v in datasets.items()} == {
        "translation": 8,
        "reading_comprehension": 5,
        "reading_comprehension_with_commonsense": 2,
        "coreference": 3,
        "misc": 7,
        "summarization": 11,
    }
    assert len({e.name for e in ENTRIES}) == len(ENTRIES) == 37


def test_ten_templates_and_at_most_three_turned_around():
    assert set(PATTERNS) == set(TURNED_AROUND) == set(BY_NAME)
    for name, patterns in PATTERNS.items():
        assert len(patterns) == 10, name
        assert len(set(patterns)) == 10, f"{name} repeats a pattern"
        turned = TURNED_AROUND[name]
        assert len(turned) <= 3 and all(0 <= i < 10 for i in turned), name
        assert len(BY_NAME[name].templates) == 10
        for i, (inp, _) in enumerate(patterns):
            if "{options_}" in inp:  # FLAN convention: options close the input
                assert inp.endswith("{options_}"), (name, i)


def test_metrics_and_eval_modes():
    for entry in ENTRIES:
        assert "train" in entry.source.splits and "validation" in entry.source.splits
        if entry.has_options:
            assert (entry.eval_mode, entry.metric) == ("rank", "accuracy"), entry.name
        else:
            assert entry.eval_mode == "generate", entry.name
        if entry.cluster == "translation":
            assert entry.metric == "bleu"
        if entry.cluster == "summarization" and entry.name != "ag_news_subset":
            assert entry.metric == "rouge", entry.name


def test_fix_punct_strips_punctuation():
    entry = BY_NAME["fix_punct"]
    fields = entry.fields_of({"en": "Hello, world! It's 5 p.m.", "da": "Hej"})
    assert fields == {"no_punct": "Hello world Its 5 pm", "answer": "Hello, world! It's 5 p.m."}
    _check_rendered(entry, fields)
    assert entry.fields_of({"en": "no punctuation here", "da": "x"}) is None


def test_record_and_winogrande_build_options_like_flan():
    record = BY_NAME["record"].fields_of({
        "passage": "Ann met Bob in Paris.\n@highlight\nA meeting",
        "query": "@placeholder was happy to see her.",
        "entities": ["Ann", "Bob", "Paris", "Bob"],
        "answers": ["Bob"],
        "idx": {"passage": 0, "query": 0},
    })
    assert record["passage"] == "Ann met Bob in Paris."
    assert record["query"] == ""
    assert record["options"] == [
        "Ann was happy to see her.", "Bob was happy to see her.", "Paris was happy to see her."
    ]
    assert record["answer"] == "Bob was happy to see her."
    assert BY_NAME["record"].fields_of({**{"passage": "p", "query": "q @placeholder"},
                                        "entities": ["a"], "answers": []}) is None

    wino = BY_NAME["winogrande"].fields_of({
        "sentence": "The trophy didn't fit in the suitcase because the _ was too big.",
        "option1": "trophy", "option2": "suitcase", "label": 0,
    })
    assert wino["context"] == "The trophy didn't fit in the suitcase because the"
    assert wino["answer"] == "trophy was too big."
    assert BY_NAME["winogrande"].fields_of({**{"sentence": "a _ b", "option1": "x", "option2": "y"},
                                            "label": -1}) is None


def test_coqa_flattens_the_conversation():
    entry = BY_NAME["coqa"]
    fields = entry.fields_of({
        "story": "Tom has a red ball.", "source": "mctest",
        "questions": ["Who has a ball?", "What color?"],
        "answers": {"input_text": ["Tom", "red"], "answer_start": [0, 0], "answer_end": [3, 3]},
    })
    assert fields["numbered_questions"] == "1. Who has a ball?\n2. What color?"
    assert fields["numbered_answers"] == "1. Tom\n2. red"
    assert fields["history"] == "Q: Who has a ball?\nA: Tom"
    assert (fields["question"], fields["answer"]) == ("What color?", "red")
    _check_rendered(entry, fields)


def test_squad_v2_unanswerable():
    entry = BY_NAME["squad_v2"]
    fields = entry.fields_of({
        "title": "Super_Bowl", "context": "c", "question": "q?", "id": "1", "is_impossible": True,
        "answers": {"text": [], "answer_start": []},
        "plausible_answers": {"text": ["x"], "answer_start": [0]},
    })
    assert fields["answer"] == "unanswerable" and fields["title"] == "Super Bowl"
