"""T0+ / T0++ / T0-SF datasets (`flanjax.data.catalog.t0_plus`): flanjax's own templates
render HF rows in the datasets' schemas (hand-written rows, hand-computed targets)."""

from __future__ import annotations

import pytest

from flanjax.data import catalog
from flanjax.data.catalog import t0_facts

ROWS = {
    "t0_ai2_arc_easy": ({"id": "1", "question": "What melts ice?",
                         "choices": {"text": ["heat", "cold"], "label": ["A", "B"]},
                         "answerKey": "A"}, "heat"),
    "t0_trivia_qa_unfiltered": ({"question": "Capital of France?", "question_id": "q",
                                 "question_source": "", "entity_pages": {}, "search_results": {},
                                 "answer": {"value": "Paris", "aliases": ["Paris"]}}, "Paris"),
    "t0_web_questions": ({"url": "u", "question": "who?", "answers": ["Ann", "Bo"]}, "Ann"),
    "t0_squad_v2": ({"id": "1", "title": "T", "context": "C.", "question": "Q?",
                     "answers": {"text": [], "answer_start": []}}, "unanswerable"),
    "t0_openbookqa_main": ({"id": "1", "question_stem": "Plants need",
                            "choices": {"text": ["light", "rock"], "label": ["A", "B"]},
                            "answerKey": "A"}, "light"),
    "t0_race_high": ({"example_id": "1", "article": "A.", "answer": "C", "question": "Q?",
                      "options": ["w", "x", "y", "z"]}, "y"),
    "t0_piqa": ({"goal": "open a jar", "sol1": "twist", "sol2": "kick", "label": 0}, "twist"),
    "t0_super_glue_record": ({"passage": "P", "query": "@placeholder won", "entities": ["A", "B"],
                              "answers": ["B"], "idx": {}}, "B"),
    "t0_super_glue_boolq": ({"question": "is it", "passage": "P", "idx": 0, "label": 1}, "Yes"),
    "t0_super_glue_multirc": ({"paragraph": "P", "question": "Q", "answer": "A", "idx": {},
                               "label": 0}, "False"),
}


@pytest.mark.parametrize("name", sorted(ROWS))
def test_own_templates_render_hand_computed_targets(name):
    entry = catalog.get_entry(name)
    row, target = ROWS[name]
    fields = entry.fields_of(row)
    assert [t.render(fields).targets for t in entry.templates][0] == target


def test_every_t_zero_training_dataset_of_t0_plus_plus_has_an_entry():
    have = {t0_facts.PROMPTSOURCE_DATASETS[e.name] for e in catalog.entries_in("t0")}
    wanted = {k for k, (stage, _, _) in t0_facts.DATASETS.items() if stage}
    assert wanted - have == set()
