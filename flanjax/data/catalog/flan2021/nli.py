"""FLAN 2021 NLI cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (anli, cb, mnli, qnli, rte, snli, wnli).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools

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
    # relation: "follows from" | "is neither implied nor contradicted by" | "contradicts".
    "anli": [
        ("{context}\n\nGiven the passage above, is it true that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Passage: {context}\n\nClaim: {hypothesis}\n\nDoes the passage support the claim?\n{options_}", "{answer}"),
        ("Read the passage and decide whether the statement after it is entailed by it.\n\n{context}\n\nStatement: {hypothesis}\n\n{options_}", "{answer}"),
        ("{context}\n\nIf everything above is true, must the following be true as well?\n{hypothesis}\n\n{options_}", "{answer}"),
        ("Consider this text:\n{context}\n\nWould you say that \"{hypothesis}\" follows from it?\n{options_}", "{answer}"),
        ("Text: {context}\nHypothesis: {hypothesis}\n\nIs the hypothesis a valid inference from the text?\n{options_}", "{answer}"),
        ("Does the paragraph below back up the sentence \"{hypothesis}\"?\n\n{context}\n\n{options_}", "{answer}"),
        ("Here is a premise and a hypothesis.\nPremise: {context}\nHypothesis: {hypothesis}\nDoes the premise entail the hypothesis?\n\n{options_}", "{answer}"),
        ("{context}\n\nWrite a sentence that {relation} the text above.", "{hypothesis}"),
        ("Make up a short passage and a claim about it.", "Passage: {context}\nClaim: {hypothesis}"),
    ],
    "cb": [
        ("{premise}\n\nFrom this, can we conclude that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Premise: {premise}\nHypothesis: {hypothesis}\n\nIs the hypothesis entailed by the premise?\n{options_}", "{answer}"),
        ("{premise}\n\nIs the following statement true, based on what was said above?\n{hypothesis}\n\n{options_}", "{answer}"),
        ("Read this dialogue or text and answer the question.\n\n{premise}\n\nQuestion: does it follow that {hypothesis}?\n\n{options_}", "{answer}"),
        ("Given the text \"{premise}\", should we believe that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Decide if the second sentence is implied by the first.\nFirst: {premise}\nSecond: {hypothesis}\n{options_}", "{answer}"),
        ("{premise}\n\nDoes the speaker or writer commit to the claim \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("Here is a short text: {premise}\n\nCan we infer this from it? {hypothesis}\n\n{options_}", "{answer}"),
        ("Text: {premise}\n\nCompose a statement that {relation} this text.", "{hypothesis}"),
        ("Write a short text and then a statement that {relation} it.", "Text: {premise}\nStatement: {hypothesis}"),
    ],
    "mnli": [
        ("Premise: {premise}\nHypothesis: {hypothesis}\n\nDoes the premise entail the hypothesis?\n\n{options_}", "{answer}"),
        ("{premise}\n\nIf this is true, is the following also true?\n\"{hypothesis}\"\n\n{options_}", "{answer}"),
        ("Sentence A: {premise}\nSentence B: {hypothesis}\n\nIf sentence A holds, does sentence B hold?\n{options_}", "{answer}"),
        ("Suppose \"{premise}\". Can we conclude that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("{premise}\n\nBased on the sentence above, is \"{hypothesis}\" a correct conclusion?\n{options_}", "{answer}"),
        ("Decide whether the hypothesis follows from the premise.\n\nPremise: {premise}\n\nHypothesis: {hypothesis}\n\n{options_}", "{answer}"),
        ("Is it possible to infer \"{hypothesis}\" from \"{premise}\"?\n\n{options_}", "{answer}"),
        ("{premise}\nDoes it follow that {hypothesis}\n\n{options_}", "{answer}"),
        ("Premise: {premise}\n\nWrite a hypothesis that {relation} this premise.", "{hypothesis}"),
        ("Come up with a premise and a hypothesis that {relation} it.", "Premise: {premise}\nHypothesis: {hypothesis}"),
    ],
    # relation: "answers" | "does not answer".
    "qnli": [
        ("Question: {question}\nSentence: {sentence}\n\nDoes the sentence answer the question?\n\n{options_}", "{answer}"),
        ("Does the sentence \"{sentence}\" contain the answer to \"{question}\"?\n\n{options_}", "{answer}"),
        ("{question}\n\nIs the answer to the question above found in the following sentence?\n{sentence}\n\n{options_}", "{answer}"),
        ("Here is a question: {question}\n\nAnd here is a sentence: {sentence}\n\nCan the question be answered with the sentence?\n{options_}", "{answer}"),
        ("Someone asked \"{question}\" and was told \"{sentence}\". Was the question answered?\n\n{options_}", "{answer}"),
        ("Check whether this sentence answers the question.\n\nSentence: {sentence}\nQuestion: {question}\n\n{options_}", "{answer}"),
        ("{sentence}\n\nDoes the passage above tell us: {question}\n\n{options_}", "{answer}"),
        ("Q: {question}\nA: {sentence}\n\nIs A a valid answer to Q?\n{options_}", "{answer}"),
        ("Sentence: {sentence}\n\nWrite a question that this sentence {relation}.", "{question}"),
        ("Write a question, and then a sentence that {relation} it.", "Question: {question}\nSentence: {sentence}"),
    ],
    # relation: "follows from" | "does not follow from".
    "rte": [
        ("{premise}\n\nBased on this text, is the statement \"{hypothesis}\" true?\n\n{options_}", "{answer}"),
        ("Text: {premise}\nClaim: {hypothesis}\n\nDoes the text entail the claim?\n{options_}", "{answer}"),
        ("Read the passage below and say whether the sentence that follows it must be true.\n\n{premise}\n\n{hypothesis}\n\n{options_}", "{answer}"),
        ("{premise}\n\nCan one infer that \"{hypothesis}\"?\n{options_}", "{answer}"),
        ("Given that {premise} Is it then the case that {hypothesis}\n\n{options_}", "{answer}"),
        ("Passage: {premise}\n\nDoes this passage imply the following?\n{hypothesis}\n\n{options_}", "{answer}"),
        ("Determine whether the hypothesis is entailed by the premise.\nPremise: {premise}\nHypothesis: {hypothesis}\n{options_}", "{answer}"),
        ("{premise}\n\nQuestion: does that mean \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("{premise}\n\nWrite a one-sentence statement that {relation} the passage above.", "{hypothesis}"),
        ("Write a short news-style passage and a sentence that {relation} it.", "Passage: {premise}\nSentence: {hypothesis}"),
    ],
    # relation: "follows from" | "is neither implied nor contradicted by" | "contradicts".
    "snli": [
        ("Caption: {premise}\n\nDoes the caption imply that \"{hypothesis}\"?\n\n{options_}", "{answer}"),
        ("{premise}\n\nIf the scene above is described correctly, is it also true that {hypothesis}\n\n{options_}", "{answer}"),
        ("Premise: \"{premise}\"\nHypothesis: \"{hypothesis}\"\n\nIs the hypothesis entailed by the premise?\n{options_}", "{answer}"),
        ("A photo is described as: {premise}\n\nCan we say that {hypothesis}\n{options_}", "{answer}"),
        ("Given the sentence \"{premise}\", is the sentence \"{hypothesis}\" true?\n\n{options_}", "{answer}"),
        ("Judge whether the second statement follows from the first.\n\n1. {premise}\n2. {hypothesis}\n\n{options_}", "{answer}"),
        ("{premise}\n\nDoes this tell us that {hypothesis}\n\n{options_}", "{answer}"),
        ("Is \"{hypothesis}\" a safe conclusion from \"{premise}\"?\n\n{options_}", "{answer}"),
        ("Here is a description of a picture: {premise}\n\nWrite a sentence that {relation} the description.", "{hypothesis}"),
        ("Describe a scene, then write a sentence that {relation} your description.", "Scene: {premise}\nSentence: {hypothesis}"),
    ],
    # relation: "follows from" | "does not follow from".
    "wnli": [
        ("{sentence1}\n\nGiven the sentence above, is it true that \"{sentence2}\"?\n\n{options_}", "{answer}"),
        ("Sentence 1: {sentence1}\nSentence 2: {sentence2}\n\nDoes sentence 1 entail sentence 2?\n{options_}", "{answer}"),
        ("Pay attention to what the pronoun refers to.\n\n{sentence1}\n\nDoes it follow that \"{sentence2}\"?\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nIf this is true, is the following true as well?\n{sentence2}\n\n{options_}", "{answer}"),
        ("Read: \"{sentence1}\"\n\nCan we conclude that \"{sentence2}\"?\n\n{options_}", "{answer}"),
        ("Is the second sentence a correct reading of the first?\n\n{sentence1}\n{sentence2}\n\n{options_}", "{answer}"),
        ("Premise: {sentence1}\nHypothesis: {sentence2}\nIs the hypothesis implied by the premise?\n\n{options_}", "{answer}"),
        ("Based on \"{sentence1}\", would you agree that \"{sentence2}\"?\n\n{options_}", "{answer}"),
        ("{sentence1}\n\nRewrite this with the pronoun replaced, as a sentence that {relation} it.", "{sentence2}"),
        ("Write a sentence with an ambiguous pronoun and a second sentence that {relation} it.", "{sentence1}\n{sentence2}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'anli': (8, 9),
    'cb': (8, 9),
    'mnli': (8, 9),
    'qnli': (8, 9),
    'rte': (8, 9),
    'snli': (8, 9),
    'wnli': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


# Answer options per label id, as in FLAN's `_process_*` functions (flan/tasks.py).
ANLI_OPTIONS = ("Yes", "It's impossible to say", "No")  # entailment, neutral, contradiction

CB_OPTIONS = ("Yes", "No", "It's impossible to say")  # entailment, contradiction, neutral
MNLI_OPTIONS = ("yes", "it is not possible to tell", "no")  # also SNLI
YES_NO = ("yes", "no")  # RTE, QNLI: label 0 is entailment

# Relations for turned-around templates ("write a hypothesis that {relation} the text").
_ENT, _NEU, _CON = "follows from", "is neither implied nor contradicted by", "contradicts"

_NOT_ENT = "does not follow from"
_PH = {"premise": "premise", "hypothesis": "hypothesis"}
_NLI3 = {"relation": (_ENT, _NEU, _CON)}  # label order entailment, neutral, contradiction
_CH = {"context": "context", "hypothesis": "hypothesis"}

for _round in ("r1", "r2", "r3"):
    _add(
        f"anli_{_round}", "nli", "ANLI", f"anli/{_round}:0.1.0", TRAIN_VAL_TEST,
        labeled(_CH, ANLI_OPTIONS, _NLI3), label_fields(_CH, "relation"), pattern_key="anli",
        description=f"Adversarial NLI, round {_round[1]} (Nie et al. 2020).",
    )

_add(
    "cb", "nli", "CB", "super_glue/cb:1.0.2", TRAIN_VAL,
    labeled(_PH, CB_OPTIONS, {"relation": (_ENT, _CON, _NEU)}), label_fields(_PH, "relation"),
    description="CommitmentBank (SuperGLUE).",
)

for _variant in ("matched", "mismatched"):
    _add(
        f"mnli_{_variant}", "nli", "MNLI", "glue/mnli:2.0.0",
        {"train": "train", "validation": f"validation_{_variant}"},
        labeled(_PH, MNLI_OPTIONS, _NLI3), label_fields(_PH, "relation"), pattern_key="mnli",
        description=f"MultiNLI; evaluated on the {_variant} validation set.",
    )

_QS = {"question": "question", "sentence": "sentence"}

_add(
    "qnli", "nli", "QNLI", "glue/qnli:2.0.0", TRAIN_VAL,
    labeled(_QS, YES_NO, {"relation": ("answers", "does not answer")}),
    label_fields(_QS, "relation"), description="Question NLI (GLUE).",
)

_add(
    "rte", "nli", "RTE", "super_glue/rte:1.0.2", TRAIN_VAL,
    labeled(_PH, YES_NO, {"relation": (_ENT, _NOT_ENT)}), label_fields(_PH, "relation"),
    description="Recognizing Textual Entailment (SuperGLUE).",
)

_add(
    "snli", "nli", "SNLI", "snli:1.1.0", TRAIN_VAL_TEST,
    labeled(_PH, MNLI_OPTIONS, _NLI3), label_fields(_PH, "relation"),
    description="Stanford NLI; pairs without a gold label (-1) are skipped.",
)

_add(
    "wnli", "nli", "WNLI", "glue/wnli:2.0.0", TRAIN_VAL,
    labeled(S12, NO_YES, {"relation": (_NOT_ENT, _ENT)}), label_fields(S12, "relation"),
    description="Winograd NLI (GLUE).",
)
