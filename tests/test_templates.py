"""Tests for flanjax.data.templates: FLAN patterns, options styles (FLAN 2021, Flan 2022)."""

import hashlib

import pytest

from flanjax.data import templates
from flanjax.data.templates import (
    FLAN2021_OPTIONS,
    FLAN2022_OPTION_HEADERS,
    FLAN2022_OPTION_MARKERS,
    FlanTemplate,
    OptionsStyle,
    Rendered,
    from_flan_patterns,
    pattern_fields,
    sample_options_style,
)

# Shaped exactly like FLAN's `templates.py` PATTERNS: {dataset: [(input, target), ...]},
# with a turned-around template last for rte (the model writes the premise/hypothesis).
PATTERNS = {
    "rte": [
        ("{premise}\n\nDoes it follow that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Passage: {premise}\nClaim: {hypothesis}\nIs the claim supported?\n{options_}",
         "{answer}"),
        ("Make up a passage and a claim that it supports.",
         "Passage: {premise}\nClaim: {hypothesis}"),
    ],
    "copa": [
        ("{premise} What was the {question}?\n\n{options_}", "{answer}"),
    ],
    "squad_v1": [
        ("Read this: {context}\n\n{question}", "{answer}"),
        ("Answer with a phrase from the text.\n{context}\nQ: {question}", "{answer}"),
    ],
}

RTE = {
    "premise": "The cat sat on the mat.",
    "hypothesis": "A cat is sitting.",
    "options": ["yes", "no"],
    "answer": "yes",
}


def test_from_flan_patterns_names_and_fields():
    out = from_flan_patterns(PATTERNS)
    assert list(out) == ["rte", "copa", "squad_v1"]
    assert [t.name for t in out["rte"]] == ["rte:0", "rte:1", "rte:2"]
    assert [t.name for t in out["squad_v1"]] == ["squad_v1:0", "squad_v1:1"]
    assert out["rte"][0].fields() == {"premise", "hypothesis", "options", "answer"}
    assert out["rte"][2].fields() == {"premise", "hypothesis"}
    assert out["rte"][0].uses_options and not out["rte"][2].uses_options


def test_flan_render_exact():
    rte = from_flan_patterns(PATTERNS)["rte"]
    assert rte[0].render(RTE) == Rendered(
        inputs='The cat sat on the mat.\n\nDoes it follow that "A cat is sitting."?\n\n'
        "OPTIONS:\n- yes\n- no",
        targets="yes",
        answer_options=("yes", "no"),
    )
    assert rte[1].render(RTE).inputs == (
        "Passage: The cat sat on the mat.\nClaim: A cat is sitting.\nIs the claim supported?\n"
        "OPTIONS:\n- yes\n- no"
    )


def test_turned_around_template():
    turned = from_flan_patterns(PATTERNS)["rte"][2].render(RTE)
    assert turned.inputs == "Make up a passage and a claim that it supports."
    assert turned.targets == "Passage: The cat sat on the mat.\nClaim: A cat is sitting."


def test_generation_template_without_options():
    squad = from_flan_patterns(PATTERNS)["squad_v1"][1]
    example = {"context": "Paris is in France.", "question": "Where?", "answer": "France"}
    rendered = squad.render(example)
    assert rendered == Rendered(
        "Answer with a phrase from the text.\nParis is in France.\nQ: Where?", "France", ()
    )


def test_missing_field_names_template_and_field():
    copa = from_flan_patterns(PATTERNS)["copa"][0]
    with pytest.raises(KeyError) as err:
        copa.render({"premise": "It rained.", "options": ["a", "b"], "answer": "a"})
    assert "copa:0" in str(err.value) and "question" in str(err.value)


def test_missing_options_is_an_error():
    with pytest.raises(KeyError, match="options"):
        from_flan_patterns(PATTERNS)["rte"][0].render(
            {"premise": "p", "hypothesis": "h", "answer": "yes"}
        )


def test_brace_escapes():
    t = FlanTemplate("braces:0", "Fill {{x}} in: {sentence}", "{{{answer}}}")
    assert t.fields() == {"sentence", "answer"}
    r = t.render({"sentence": "a b", "answer": "c"})
    assert (r.inputs, r.targets) == ("Fill {x} in: a b", "{c}")
    assert pattern_fields("{{literal}} and {real}") == {"real"}


def test_positional_placeholder_rejected():
    with pytest.raises(ValueError, match="Positional"):
        pattern_fields("{} and {0}")


def test_bad_pattern_tuple():
    with pytest.raises(ValueError, match="bad"):
        from_flan_patterns({"bad": [("only input",)]})


def test_flan2021_options_exact():
    assert FLAN2021_OPTIONS.format(["red", "green", "blue"]) == "OPTIONS:\n- red\n- green\n- blue"
    assert FLAN2021_OPTIONS.labels(3) is None


def test_options_styles_exact():
    assert OptionsStyle("Options:", "({A}) ").format(["x", "y"]) == "Options:\n(A) x\n(B) y"
    assert OptionsStyle("", "{i}. ").format(["x", "y"]) == "1. x\n2. y"
    assert (
        OptionsStyle("Pick from:", "[{r}] ", " ", ";").format(["x", "y", "z", "w"])
        == "Pick from: [i] x; [ii] y; [iii] z; [iv] w;"
    )
    assert OptionsStyle("Choices:", "{I}. ", end=".").format(["x", "y"]) == (
        "Choices:\nI. x.\nII. y."
    )
    assert OptionsStyle("", "{a}) ").labels(3) == ["a)", "b)", "c)"]
    letters = OptionsStyle("", "{A}. ").format([str(i) for i in range(28)]).split("\n")
    assert letters[25:] == ["Z. 25", "AA. 26", "AB. 27"]


def test_render_with_other_options_style():
    t = from_flan_patterns(PATTERNS, options_style=OptionsStyle("Select from:", "- "))["copa"][0]
    ex = {"premise": "It rained.", "question": "effect", "options": ["wet", "dry"], "answer": "wet"}
    assert t.render(ex).inputs == "It rained. What was the effect?\n\nSelect from:\n- wet\n- dry"
    per_call = t.render(ex, options_style=OptionsStyle("Options:", "({i}) ", " "))
    assert per_call.inputs == "It rained. What was the effect?\n\nOptions: (1) wet (2) dry"


def test_flan2022_lists():
    for header in ("OPTIONS:", "Options:", "Choose your answer from:", "Pick your answer from:",
                   "Available choices:", "Possible answers:", "Select from the following.",
                   "Choose from:", "Pick from:", ""):
        assert header in FLAN2022_OPTION_HEADERS
    for marker in ("- ", "({A}) ", "{A}. ", "{i}. ", "({I}) ", "[{r}] "):
        assert marker in FLAN2022_OPTION_MARKERS


def test_sample_options_style_deterministic():
    a = [sample_options_style(7, f"rte:{i}") for i in range(50)]
    b = [sample_options_style(7, f"rte:{i}") for i in range(50)]
    assert a == b
    assert a != [sample_options_style(8, f"rte:{i}") for i in range(50)]
    # It varies across keys, and only draws from the Flan 2022 lists.
    assert len({s.header for s in a}) > 5 and len({s.marker for s in a}) > 5
    for s in a:
        assert s.header in FLAN2022_OPTION_HEADERS and s.marker in FLAN2022_OPTION_MARKERS
        assert s.separator in ("\n", " ") and s.end in ("", ";", ".")


def test_sample_options_style_is_sha256_of_seed_and_key():
    # The documented draw: four 4-byte big-endian words of SHA-256("{seed}\\0{key}").
    digest = hashlib.sha256(b"3\x00copa:12").digest()
    word = [int.from_bytes(digest[4 * i : 4 * i + 4], "big") for i in range(4)]
    assert sample_options_style(3, "copa:12") == OptionsStyle(
        FLAN2022_OPTION_HEADERS[word[0] % len(FLAN2022_OPTION_HEADERS)],
        FLAN2022_OPTION_MARKERS[word[1] % len(FLAN2022_OPTION_MARKERS)],
        ("\n", " ")[word[2] % 2],
        ("", ";", ".")[word[3] % 3],
    )


def test_promptsource_reexported():
    from flanjax.data.templates import promptsource

    assert templates.load_promptsource_yaml is promptsource.load_promptsource_yaml
    assert templates.PromptsourceTemplate is promptsource.PromptsourceTemplate
    with pytest.raises(AttributeError):
        templates.no_such_name  # noqa: B018
