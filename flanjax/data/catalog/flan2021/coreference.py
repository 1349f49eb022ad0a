"""FLAN 2021 coreference cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (definite_pronoun_resolution, winogrande, wsc).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import (
    TRAIN_TEST,
    TRAIN_VAL,
    choose,
    clean_text,
)

# pylint: disable=line-too-long
PATTERNS = {
    # ------------------------------------------------------------------------ coreference
    "definite_pronoun_resolution": [
        ("{sentence}\n\nIn the sentence above, who or what does \"{pronoun}\" refer to?\n\n{options_}", "{answer}"),
        ("Sentence: {sentence}\nPronoun: {pronoun}\nWhich candidate does the pronoun point to?\n\n{options_}", "{answer}"),
        ("Resolve the pronoun \"{pronoun}\" in this sentence.\n\n{sentence}\n\n{options_}", "{answer}"),
        ("{sentence}\n\nWho is meant by \"{pronoun}\" here?\n\n{options_}", "{answer}"),
        ("Read: {sentence}\n\nThe word \"{pronoun}\" stands for which of these?\n\n{options_}", "{answer}"),
        ("Find the antecedent of \"{pronoun}\".\n\n{sentence}\n\n{options_}", "{answer}"),
        ("{sentence}\nIn this sentence, \"{pronoun}\" is\n\n{options_}", "{answer}"),
        ("Who does \"{pronoun}\" refer to in the sentence \"{sentence}\"?\n\n{options_}", "{answer}"),
        ("Here is a sentence with an ambiguous pronoun: {sentence}\n\nWhat is \"{pronoun}\"?\n\n{options_}", "{answer}"),
        ("{sentence}\n\nReplace \"{pronoun}\" with the noun phrase it refers to. Which one is it?\n\n{options_}", "{answer}"),
    ],
    "winogrande": [
        ("Finish the sentence.\n\n{context}\n\n{options_}", "{answer}"),
        ("{context}\n\nWhich continuation makes the most sense?\n\n{options_}", "{answer}"),
        ("Choose the ending that fits.\n\n{context}\n\n{options_}", "{answer}"),
        ("Use common sense to complete this text: {context}\n\n{options_}", "{answer}"),
        ("{context}\n\nWhat is the most sensible way to continue?\n\n{options_}", "{answer}"),
        ("Complete the following.\n\n{context}", "{answer}"),
        ("{context}\n\nContinue the sentence.", "{answer}"),
        ("How should this sentence go on?\n\n{context}", "{answer}"),
        ("Write the rest of the sentence.\n\n{context}", "{answer}"),
        ("Text: {context}\n\nFinish it in a way that makes sense.", "{answer}"),
    ],
    "wsc": [
        ("{context}\n\nIn the passage above, does \"{text2}\" refer to \"{text1}\"?\n\n{options_}", "{answer}"),
        ("Passage: {context}\n\nIs \"{text1}\" what \"{text2}\" stands for?\n\n{options_}", "{answer}"),
        ("{context}\n\nHere, does the pronoun \"{text2}\" mean \"{text1}\"?\n\n{options_}", "{answer}"),
        ("Read this: {context}\n\nDo \"{text1}\" and \"{text2}\" name the same thing?\n\n{options_}", "{answer}"),
        ("Coreference check.\n\n{context}\n\nIs \"{text2}\" coreferent with \"{text1}\"?\n\n{options_}", "{answer}"),
        ("{context}\n\nWould it be correct to read \"{text2}\" as \"{text1}\"?\n\n{options_}", "{answer}"),
        ("In the sentence \"{context}\", is \"{text2}\" about \"{text1}\"?\n\n{options_}", "{answer}"),
        ("Decide whether the two expressions refer to the same entity.\n\nText: {context}\nExpression 1: {text1}\nExpression 2: {text2}\n\n{options_}", "{answer}"),
        ("{context}\n\nQuestion: when the text says \"{text2}\", does it mean \"{text1}\"?\n\n{options_}", "{answer}"),
        ("Does \"{text2}\" point back to \"{text1}\" in the following text?\n\n{context}\n\n{options_}", "{answer}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'definite_pronoun_resolution': (),
    'winogrande': (),
    'wsc': (),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _definite_pronoun_resolution(ex: Example) -> Optional[Fields]:
    out = choose([clean_text(c) for c in ex["candidates"]], ex["label"])
    return out and {**out, "sentence": clean_text(ex["sentence"]), "pronoun": clean_text(ex["pronoun"])}


def _winogrande(ex: Example) -> Optional[Fields]:
    """FLAN's `_process_winogrande`: the text before "_" is the context; each option is a
    candidate followed by the text after "_"."""
    before, _, after = clean_text(ex["sentence"]).partition("_")
    options = [clean_text(ex["option1"]) + after, clean_text(ex["option2"]) + after]
    out = choose(options, ex["label"])
    return out and {**out, "context": before.rstrip()}


def _wsc(ex: Example) -> Optional[Fields]:
    out = choose(["no", "yes"], ex["label"])
    return out and {**out, "context": clean_text(ex["text"]), "text1": clean_text(ex["span1_text"]),
                    "text2": clean_text(ex["span2_text"])}

_add("definite_pronoun_resolution", "coreference", "DPR", "definite_pronoun_resolution:1.1.0",
     TRAIN_TEST, _definite_pronoun_resolution,
     ("sentence", "pronoun", "options", "answer"), "accuracy",
     "Definite pronoun resolution: which candidate does the pronoun refer to.")

# FLAN pinned winogrande:1.1.0; TFDS 4.9.10 ships 1.2.0. `train_xl` is the largest training
# size (FLAN's choice); the builder has no per-size configs, the sizes are splits.
_add("winogrande", "coreference", "Winogrande", "winogrande:1.2.0",
     {"train": "train_xl", "validation": "validation"}, _winogrande,
     ("context", "options", "answer"), "accuracy",
     "Adversarial Winograd-style fill-in-the-blank pronoun resolution.")

# Figure 3 names WSC273, but FLAN's `wsc` task trains on super_glue/wsc (tasks.py); the TFDS
# `wsc273` builder has only a test split (the 273 evaluation problems), so nothing to train
# on. We follow FLAN's code: span-pair coreference questions from SuperGLUE's WSC.
_add("wsc", "coreference", "WSC273", "super_glue/wsc:1.0.2", TRAIN_VAL, _wsc,
     ("context", "text1", "text2", "options", "answer"), "accuracy",
     "Winograd schema: does the pronoun span refer to the noun span (SuperGLUE WSC).")
