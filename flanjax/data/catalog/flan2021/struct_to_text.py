"""FLAN 2021 struct-to-text cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (common_gen, dart, e2e_nlg, web_nlg_en).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
import re
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import TRAIN_VAL, references

# pylint: disable=line-too-long
PATTERNS = {
    "common_gen": [
        ("Concepts: {concepts}\n\nWrite one sentence that uses all of these concepts.", "{target}"),
        ("Make a sentence containing the following words: {concepts}", "{target}"),
        ("Here is a list of words: {concepts}\n\nCombine them into an everyday sentence.", "{target}"),
        ("Words:\n{concepts_newline}\n\nWrite a sentence describing a scene with all of these.", "{target}"),
        ("Use every one of these keywords in a single sentence: {concepts}", "{target}"),
        ("Create a natural sentence that mentions {concepts}.", "{target}"),
        ("Write a short sentence that includes these concepts:\n\n{concepts_newline}", "{target}"),
        ("Sentence: {target}\n\nList the key concepts in this sentence.", "{concepts}"),
        ("What are the main words of the following sentence?\n\n{target}", "{concepts_newline}"),
        ("Write a sentence and then list the concepts it contains.", "Sentence: {target}\nConcepts: {concepts}"),
    ],
    "dart": [
        ("Triples: {tripleset}\n\nWrite a sentence that expresses these facts.", "{target}"),
        ("Turn this data into a fluent sentence: {tripleset}", "{target}"),
        ("Data:\n{tripleset_newline}\n\nDescribe this data in one sentence.", "{target}"),
        ("Here are some subject-relation-object triples: {tripleset}\n\nWhat would a sentence stating them say?", "{target}"),
        ("Verbalize the following facts.\n\n{tripleset}", "{target}"),
        ("Write a sentence that covers all of this information: {tripleset}", "{target}"),
        ("Facts: {tripleset}\nSentence:", "{target}"),
        ("Produce a descriptive sentence from these triples:\n{tripleset_newline}", "{target}"),
        ("Sentence: {target}\n\nExtract the facts in this sentence as triples.", "{tripleset_newline}"),
        ("What structured facts does this sentence contain? Write one triple per line.\n\n{target}", "{tripleset_newline}"),
    ],
    "e2e_nlg": [
        ("Restaurant data: {meaning_representation}\n\nWrite a sentence describing this restaurant.", "{target}"),
        ("Describe a restaurant with these properties: {meaning_representation}", "{target}"),
        ("{meaning_representation}\n\nTurn the attributes above into a short restaurant description.", "{target}"),
        ("Here are the attributes of a place to eat: {meaning_representation}. Write a sentence a guidebook might use.", "{target}"),
        ("Generate a sentence that mentions every attribute: {meaning_representation}", "{target}"),
        ("Attributes: {meaning_representation}\nDescription:", "{target}"),
        ("Write a review-style sentence about a restaurant given this information: {meaning_representation}", "{target}"),
        ("Verbalize this restaurant record in natural English.\n\n{meaning_representation}", "{target}"),
        ("Description: {target}\n\nList the restaurant attributes mentioned in this description.", "{meaning_representation}"),
        ("Convert this sentence into attribute = value pairs.\n\n{target}", "{meaning_representation}"),
    ],
    "web_nlg_en": [
        ("{input_string}\n\nWrite a sentence that expresses this data.", "{target}"),
        ("Data: {input_string}\n\nDescribe it in one or two sentences.", "{target}"),
        ("Turn these facts into fluent English: {input_string}", "{target}"),
        ("Here are some facts from a knowledge base: {input_string}.\n\nWrite a short text stating them.", "{target}"),
        ("Verbalize the following triples.\n\n{input_string}", "{target}"),
        ("Write a sentence that includes all of the following information: {input_string}", "{target}"),
        ("Facts: {input_string}\nText:", "{target}"),
        ("Generate a natural description of this data: {input_string}", "{target}"),
        ("Text: {target}\n\nWhat facts can be extracted from this text?", "{input_string}"),
        ("Extract the knowledge-base triples expressed in this sentence.\n\n{target}", "{input_string}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'common_gen': (7, 8, 9),
    'dart': (8, 9),
    'e2e_nlg': (8, 9),
    'web_nlg_en': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _common_gen(raw: Example) -> Optional[Fields]:
    target, answers = references(raw)
    if not target:
        return None
    return {
        "concepts": ", ".join(raw["concepts"]),
        "concepts_newline": "\n".join(raw["concepts"]),
        "target": target,
        "answers": answers,
    }


def _clean_triple(triple: str) -> str:
    # DART cells such as "[TABLECONTEXT]" / "[TITLE]" mean nothing to a reader (FLAN
    # `_process_dart` removes them).
    return " ".join(re.sub(r"\[[^\]]*\]", "", triple).split())


def _dart(raw: Example) -> Optional[Fields]:
    target, answers = references(raw)
    if not target:
        return None
    triples = [t for t in (_clean_triple(t) for t in raw["tripleset"]) if t]
    return {
        "tripleset": "; ".join(triples),
        "tripleset_newline": "\n".join(triples),
        "target": target,
        "answers": answers,
    }


def _e2e_nlg(raw: Example) -> Optional[Fields]:
    target, answers = references(raw)
    if not target:
        return None
    # "name[The Eagle], food[French]" -> "name = The Eagle, food = French" (as FLAN).
    mr = raw["meaning_representation"].replace("[", " = ").replace("]", "")
    return {"meaning_representation": mr, "target": target, "answers": answers}


def _web_nlg_en(raw: Example) -> Optional[Fields]:
    target, answers = references(raw)
    if not target:
        return None
    # "Alan_Bean | occupation | Test_pilot" -> "Alan Bean, occupation, Test pilot" (as FLAN).
    text = "; ".join(raw["input"]).replace("_", " ").replace(" | ", ", ")
    return {"input_string": text, "target": target, "answers": answers}

_GEN = ("target", "answers")

_add(
    "common_gen", "struct_to_text", "CommonGen", "gem/common_gen:1.1.0", TRAIN_VAL,
    _common_gen, ("concepts", "concepts_newline") + _GEN, metric="rouge",
    description="CommonGen: a sentence from a concept set (GEM).",
)

_add(
    "dart", "struct_to_text", "DART", "gem/dart:1.1.0", TRAIN_VAL, _dart,
    ("tripleset", "tripleset_newline") + _GEN, metric="rouge",
    description="DART: a sentence from RDF triples (GEM).",
)

_add(
    "e2e_nlg", "struct_to_text", "E2ENLG", "gem/e2e_nlg:1.1.0", TRAIN_VAL, _e2e_nlg,
    ("meaning_representation",) + _GEN, metric="rouge",
    description="E2E NLG (cleaned): restaurant descriptions from attributes (GEM).",
)

_add(
    "web_nlg_en", "struct_to_text", "WEBNLG", "gem/web_nlg_en:1.1.0", TRAIN_VAL,
    _web_nlg_en, ("input_string",) + _GEN, metric="rouge",
    description="WebNLG (English): text from DBpedia triples (GEM).",
)
