"""FLAN 2021 paraphrase cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (glue_mrpc, glue_qqp, paws_wiki, stsb).

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
    NO_YES,
    S12,
    TRAIN_VAL,
    TRAIN_VAL_TEST,
    label_fields,
    labeled,
)

# pylint: disable=line-too-long
PATTERNS = {
    # meaning: "the same thing as" | "something different from".
    "glue_mrpc": [
        ("Sentence A: {sentence1}\nSentence B: {sentence2}\n\nAre these two sentences paraphrases?\n{options_}", "{answer}"),
        ("{sentence1}\n{sentence2}\n\nDo both sentences express the same meaning?\n\n{options_}", "{answer}"),
        ("Is the second sentence a rewording of the first?\n\n{sentence1}\n\n{sentence2}\n\n{options_}", "{answer}"),
        ("Compare these two news sentences:\n1. {sentence1}\n2. {sentence2}\nDo they report the same thing?\n{options_}", "{answer}"),
        ("\"{sentence1}\" and \"{sentence2}\" -- do they mean the same?\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nDoes the following sentence say the same thing as the one above?\n{sentence2}\n\n{options_}", "{answer}"),
        ("Decide if the two sentences are semantically equivalent.\n\nFirst: {sentence1}\nSecond: {sentence2}\n\n{options_}", "{answer}"),
        ("Here are two sentences.\n{sentence1}\n{sentence2}\nCould one replace the other without changing the meaning?\n{options_}", "{answer}"),
        ("{sentence1}\n\nWrite a sentence that says {meaning} the sentence above.", "{sentence2}"),
        ("Write two sentences from a news story, where the second says {meaning} the first.", "{sentence1}\n{sentence2}"),
    ],
    "glue_qqp": [
        ("Question A: {question1}\nQuestion B: {question2}\n\nAre these two questions duplicates?\n{options_}", "{answer}"),
        ("{question1}\n{question2}\n\nWould these two questions have the same answer?\n\n{options_}", "{answer}"),
        ("Do the following questions ask for the same thing?\n\n{question1}\n\n{question2}\n\n{options_}", "{answer}"),
        ("On a question-answering forum, should \"{question1}\" and \"{question2}\" be merged as duplicates?\n\n{options_}", "{answer}"),
        ("{question1}\n\nIs the question above a rephrasing of this one?\n{question2}\n\n{options_}", "{answer}"),
        ("Check whether these two questions mean the same.\n1) {question1}\n2) {question2}\n{options_}", "{answer}"),
        ("First question: {question1}\nSecond question: {question2}\n\nAre they equivalent?\n\n{options_}", "{answer}"),
        ("Are \"{question1}\" and \"{question2}\" asking about the same information?\n\n{options_}", "{answer}"),
        ("{question1}\n\nWrite a question that asks {meaning} the question above.", "{question2}"),
        ("Write two questions someone might post online, where the second asks {meaning} the first.", "{question1}\n{question2}"),
    ],
    "paws_wiki": [
        ("Sentence 1: {sentence1}\nSentence 2: {sentence2}\n\nDo the two sentences mean the same thing?\n{options_}", "{answer}"),
        ("{sentence1}\n{sentence2}\n\nAre these sentences paraphrases of each other, even though the words are similar?\n\n{options_}", "{answer}"),
        ("Look carefully at the word order. Do these two sentences have the same meaning?\n\n{sentence1}\n\n{sentence2}\n\n{options_}", "{answer}"),
        ("A: {sentence1}\nB: {sentence2}\n\nIs B a paraphrase of A?\n{options_}", "{answer}"),
        ("Do the following Wikipedia sentences convey identical information?\n{sentence1}\n{sentence2}\n\n{options_}", "{answer}"),
        ("\"{sentence1}\"\n\"{sentence2}\"\nSame meaning?\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nDoes this sentence mean the same as the next one?\n{sentence2}\n\n{options_}", "{answer}"),
        ("Determine whether the two sentences below are equivalent in meaning.\n(1) {sentence1}\n(2) {sentence2}\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nUsing mostly the same words, write a sentence that says {meaning} this one.", "{sentence2}"),
        ("Write a sentence in the style of Wikipedia, then another that says {meaning} it.", "{sentence1}\n{sentence2}"),
    ],
    # options "0".."5": the gold similarity rounded to an integer (FLAN `_process_stsb`).
    "stsb": [
        ("Sentence A: {sentence1}\nSentence B: {sentence2}\n\nOn a scale from 0 (unrelated) to 5 (same meaning), how similar are these sentences?\n{options_}", "{answer}"),
        ("{sentence1}\n{sentence2}\n\nRate how close in meaning the two sentences are, from 0 to 5.\n\n{options_}", "{answer}"),
        ("How semantically similar are \"{sentence1}\" and \"{sentence2}\"? Use 0 for completely different and 5 for equivalent.\n\n{options_}", "{answer}"),
        ("Give a similarity score between 0 and 5 for the following pair.\n1. {sentence1}\n2. {sentence2}\n{options_}", "{answer}"),
        ("{sentence1}\n\nHow much does the next sentence overlap in meaning with the one above (0 = none, 5 = fully)?\n{sentence2}\n\n{options_}", "{answer}"),
        ("First: {sentence1}\nSecond: {sentence2}\n\nScore their semantic similarity on a 0-5 scale.\n\n{options_}", "{answer}"),
        ("Compare the meaning of these sentences and pick a number from 0 (no relation) to 5 (paraphrases).\n\n{sentence1}\n\n{sentence2}\n\n{options_}", "{answer}"),
        ("On a 0 to 5 scale, do these two sentences say the same thing?\n{sentence1}\n{sentence2}\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nWrite a sentence whose similarity to the one above is {answer} on a scale from 0 (unrelated) to 5 (same meaning).", "{sentence2}"),
        ("Write two sentences that have a similarity score of {answer} out of 5.", "{sentence1}\n{sentence2}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'glue_mrpc': (8, 9),
    'glue_qqp': (8, 9),
    'paws_wiki': (8, 9),
    'stsb': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


STSB_OPTIONS = ("0", "1", "2", "3", "4", "5")
_SAME, _DIFFERENT = "the same thing as", "something different from"


def _stsb(raw: Example) -> Optional[Fields]:
    score = float(raw["label"])
    if score < 0:  # the test split has no scores
        return None
    # FLAN formats the score with precision 0 (rounding); clip to the 0-5 scale.
    answer = str(min(5, max(0, int(round(score)))))
    return {
        "sentence1": raw["sentence1"],
        "sentence2": raw["sentence2"],
        "options": list(STSB_OPTIONS),
        "answer": answer,
        "answer_str": answer,  # FLAN's name of the same string (`_process_stsb`)
        "score": score,  # the unrounded gold, for Pearson correlation
    }


def _qqp_clean(text: str) -> str:
    return text.replace('""', "'")

_MEANING = {"meaning": (_DIFFERENT, _SAME)}  # label 1 = paraphrase
_Q12 = {"question1": "question1", "question2": "question2"}

_add(
    "glue_mrpc", "paraphrase", "MRPC", "glue/mrpc:2.0.0", TRAIN_VAL,
    labeled(S12, NO_YES, _MEANING), label_fields(S12, "meaning"),
    description="Microsoft Research Paraphrase Corpus (GLUE).",
)

_add(
    "glue_qqp", "paraphrase", "QQP", "glue/qqp:2.0.0", TRAIN_VAL,
    labeled(_Q12, NO_YES, _MEANING, clean=_qqp_clean), label_fields(_Q12, "meaning"),
    description="Quora Question Pairs (GLUE).",
)

_add(
    "paws_wiki", "paraphrase", "PAWS", "paws_wiki:1.1.0", TRAIN_VAL_TEST,
    labeled(S12, NO_YES, _MEANING), label_fields(S12, "meaning"),
    description="PAWS-Wiki adversarial paraphrases.",
)

_add(
    # Rank over "0".."5" (the rounded score, as FLAN); Pearson against the float `score`.
    "stsb", "paraphrase", "STS-B", "glue/stsb:2.0.0", TRAIN_VAL, _stsb,
    label_fields(S12, "answer_str", "score"), metric="pearson",
    description="Semantic Textual Similarity Benchmark (GLUE).",
)
