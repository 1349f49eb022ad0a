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
    # Each reads v2's training split in its Flan 2022 formats (tasks.flan2022_split_view).
    extra = {"true_case_zs_varopt", "word_segment_zs_varopt", "lambada_zs_varopt",
             "unified_qa_science_inst_zs_varopt"}
    assert extra <= flan_zsopt and not extra & flan2021
    # v2 drops wsc273 (reset_split_maxes_on_flan_v0_configs: no training data).
    assert not any(n.startswith("wsc273") for n in seqio.TaskRegistry.names())
