"""Tests for flanjax.data.formats: zero/few-shot, exemplar draws, chain-of-thought, inversion."""

import pytest

from flanjax.data import formats
from flanjax.data.templates import Rendered

E1 = Rendered("Q1", "A1")
E2 = Rendered("Q2", "A2")
QUERY = Rendered("Q3", "A3", ("A3", "B3"))


def test_zero_shot():
    assert formats.zero_shot(QUERY, "rte:0") == {
        "inputs": "Q3", "targets": "A3", "answer_options": ["A3", "B3"], "template_id": "rte:0"
    }


def test_few_shot_flan2022_layout():
    out = formats.few_shot(QUERY, [E1, E2], template_id="rte:1", max_input_length=None)
    assert out == {
        "inputs": "Q1\n\nA1\n\n\nQ2\n\nA2\n\n\nQ3\n\n",
        "targets": "A3",
        "answer_options": ["A3", "B3"],
        "template_id": "rte:1",
        "num_exemplars": 2,
    }


def test_few_shot_prefixes_strip_trailing_spaces_only():
    out = formats.few_shot(QUERY, [E1], template_id="t", max_input_length=None,
                           inputs_prefix="Q: ", targets_prefix="A: ", x_y_delimiter="\n",
                           separator="\n\n")
    assert out["inputs"] == "Q: Q1\nA: A1\n\nQ: Q3\nA:"


def test_few_shot_drops_last_exemplars_to_fit():
    full = "Q1\n\nA1\n\n\nQ2\n\nA2\n\n\nQ3\n\n"  # 22 characters
    assert formats.few_shot(QUERY, [E1, E2], template_id="t", max_input_length=22)["inputs"] == full
    one = formats.few_shot(QUERY, [E1, E2], template_id="t", max_input_length=21)
    assert (one["inputs"], one["num_exemplars"]) == ("Q1\n\nA1\n\n\nQ3\n\n", 1)
    none = formats.few_shot(QUERY, [E1, E2], template_id="t", max_input_length=12)
    assert (none["inputs"], none["num_exemplars"], none["targets"]) == ("Q3", 0, "A3")
    # The query is never cut, even when it alone is too long.
    tiny = formats.few_shot(QUERY, [E1], template_id="t", max_input_length=1)
    assert (tiny["inputs"], tiny["num_exemplars"]) == ("Q3", 0)


def test_few_shot_with_token_length_fn():
    words = lambda s: len(s.split())  # noqa: E731
    a = Rendered("one two three", "four")
    b = Rendered("five six", "seven")
    q = Rendered("eight nine", "ten")
    out = formats.few_shot(q, [a, b], template_id="t", max_input_length=8, length_fn=words)
    assert (out["inputs"], out["num_exemplars"]) == ("one two three\n\nfour\n\n\neight nine\n\n", 1)
    out = formats.few_shot(q, [a, b], template_id="t", max_input_length=9, length_fn=words)
    assert out["num_exemplars"] == 2


def test_select_exemplars_deterministic():
    pool = [f"ex{i}" for i in range(30)]
    a = formats.select_exemplars(pool, 5, seed=1, key="rte:17", exclude=None)
    assert a == formats.select_exemplars(pool, 5, seed=1, key="rte:17", exclude=None)
    assert len(set(a)) == 5 and set(a) <= set(pool)
    assert a != formats.select_exemplars(pool, 5, seed=2, key="rte:17", exclude=None)
    assert a != formats.select_exemplars(pool, 5, seed=1, key="rte:18", exclude=None)
    # Growing k keeps the earlier picks.
    assert formats.select_exemplars(pool, 8, seed=1, key="rte:17", exclude=None)[:5] == a
    assert formats.select_exemplars(pool, 0, seed=1, key="k", exclude=None) == []
    assert sorted(formats.select_exemplars(pool[:3], 10, seed=1, key="k", exclude=None)) == [
        "ex0", "ex1", "ex2"]


def test_select_exemplars_exclude():
    pool = [f"ex{i}" for i in range(10)]
    picks = formats.select_exemplars(pool, 9, seed=0, key="q", exclude=lambda x: x == "ex4")
    assert sorted(picks) == sorted(p for p in pool if p != "ex4")


def test_cot_target():
    assert formats.cot_target("Two plus two is four", "4") == (
        "Two plus two is four. So the answer is 4."
    )
    assert formats.cot_target(" Apples are red. ", "(B)") == "Apples are red. So the answer is (B)."
    assert formats.cot_target("It is raining!", "yes.") == "It is raining! So the answer is yes."
    assert formats.cot_target("", "no") == "So the answer is no."
    with pytest.raises(ValueError):
        formats.cot_target("Because.", " ")


def test_extract_cot_answer():
    assert formats.extract_cot_answer("Two plus two is four. So the answer is 4.") == "4"
    assert formats.extract_cot_answer("The answer is: (B).\nQ: next one") == "(B)"
    assert formats.extract_cot_answer("I think the answer is 3. No, the answer is 5.") == "5"
    assert formats.extract_cot_answer("So The Answer Is yes") == "yes"
    assert formats.extract_cot_answer("  maybe. ") == "maybe"
    target = formats.cot_target("One and one make two", "2")
    assert formats.extract_cot_answer(target) == "2"


def test_zero_shot_cot():
    out = formats.zero_shot_cot(Rendered("What is 2+2?", "4"), "gsm8k:0")
    assert out == {"inputs": "What is 2+2?\nLet's think step by step.", "targets": "4",
                   "answer_options": [], "template_id": "gsm8k:0"}


def test_invert():
    qa = Rendered("Where is the Eiffel Tower?", "Paris", ("Paris", "Rome"))
    assert formats.invert(qa) == Rendered(
        "Write the request that the following text is the answer to.\n\nParis",
        "Where is the Eiffel Tower?",
        (),
    )
    dialog = Rendered("A: Hi!\nB: Hello, how are you?\nA:", "Fine, thanks.")
    assert formats.invert(dialog, instruction="Write the conversation this reply ends.") == (
        Rendered("Write the conversation this reply ends.\n\nFine, thanks.",
                 "A: Hi!\nB: Hello, how are you?\nA:")
    )
    assert formats.invert(qa, instruction="").inputs == "Paris"
    with pytest.raises(ValueError):
        formats.invert(Rendered("x", ""))
