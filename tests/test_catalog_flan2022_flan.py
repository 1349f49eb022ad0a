"""The Flan submixture's datasets beyond the 62 (`flanjax.data.catalog.flan2022_flan`):
FLAN's preprocessing on hand-written rows, and their place in Flan 2022's mixture only."""

from __future__ import annotations

import seqio

import flanjax.data.mixtures  # noqa: F401  (registers every mixture)
from flanjax.data import catalog


def test_preprocess_like_flan_v2():
    get = catalog.get_entry
    assert get("true_case").fields_of({"en": "Hello World."}) == {
        "lower": "hello world.", "answer": "Hello World."}
    assert get("true_case").fields_of({"en": "all lower"}) is None  # FLAN's _filter_true_case
    assert get("word_segment").fields_of({"en": "a b c"}) == {"no_space": "abc", "answer": "a b c"}
    wsc = {"text": "The cup did not fit in the box because it was big.", "pronoun_start": 39,
           "pronoun_end": 41, "option1_normalized": "the cup", "option2_normalized": "the box",
           "label": 0}
    assert get("wsc273").fields_of(wsc) == {
        "context": "The cup did not fit in the box because",
        "options": ["the cup was big.", "the box was big."], "answer": "the cup was big."}
    assert get("lambada").fields_of({"passage": " he said goodbye "}) == {
        "sentence": "he said", "answer": "goodbye"}
    uq = {"input": "Which is a mammal? \\n (A) cat (B) eel (C) ant (D) fly", "output": "cat"}
    assert get("unified_qa_science_inst").fields_of(uq) == {
        "question": "Which is a mammal?", "options": ["cat", "eel", "ant", "fly"], "answer": "cat"}
    five = {"input": "Q (A) a (B) b (C) c (D) d (E) e", "output": "a"}
    assert get("unified_qa_science_inst").fields_of(five) is None  # exactly four options


def test_in_flan2022_only():
    flan2021 = {t.name for t in seqio.get_mixture_or_task("flan2021").tasks}
    flan_zsopt = {t.name for t in seqio.get_mixture_or_task("flan_zsopt").tasks}
    extra = {"true_case_zs", "word_segment_zs", "wsc273_zs_varopt", "lambada_zs",
             "unified_qa_science_inst_zs_varopt"}
    assert extra <= flan_zsopt and not extra & flan2021
    assert not any(n.startswith("wsc273_zs:") for n in seqio.TaskRegistry.names())
