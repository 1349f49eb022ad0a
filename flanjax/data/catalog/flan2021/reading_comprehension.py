"""FLAN 2021 reading comprehension cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (bool_q, drop, multirc, openbookqa, squad_v1, squad_v2).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import (
    TRAIN_VAL,
    TRAIN_VAL_TEST,
    choose,
    clean_text,
    unique,
)

# pylint: disable=line-too-long
PATTERNS = {
    # ------------------------------------------------------------ reading comprehension
    "bool_q": [
        ("{text}\n\nBased on the passage, {question}?\n\n{options_}", "{answer}"),
        ("Passage: {text}\n\nQuestion: {question}?\n\n{options_}", "{answer}"),
        ("Read the text and answer the yes/no question.\n\n{text}\n\n{question}?\n\n{options_}", "{answer}"),
        ("{title}\n\n{text}\n\nAccording to this article, {question}?\n\n{options_}", "{answer}"),
        ("{text}\n\nAnswer the question using the text above: {question}?\n\n{options_}", "{answer}"),
        ("Here is an article about {title}:\n{text}\n\nDoes the article say yes or no to this question: {question}?\n\n{options_}", "{answer}"),
        ("Question: {question}?\nUse this passage to decide:\n{text}\n\n{options_}", "{answer}"),
        ("{text}\n\nYes or no: {question}?\n\n{options_}", "{answer}"),
        ("I read this passage: {text}\n\nNow I wonder: {question}?\n\n{options_}", "{answer}"),
        ("{title}\n\n{text}\n\nWrite a yes-or-no question about this passage whose answer is \"{answer}\".", "{question}?"),
    ],
    "drop": [
        ("Read the passage and answer the question.\n\n{context}\n\nQuestion: {question}", "{answer}"),
        ("{context}\n\nUsing the passage above, answer: {question}", "{answer}"),
        ("Passage: {context}\nQuestion: {question}\nAnswer:", "{answer}"),
        ("{context}\n\n{question}", "{answer}"),
        ("Answer the question below. It may take counting, sorting or a little arithmetic over the passage.\n\n{context}\n\n{question}", "{answer}"),
        ("Here is some text:\n{context}\n\nWhat is the answer to \"{question}\"?", "{answer}"),
        ("{question}\n\nFind the answer in this passage:\n{context}", "{answer}"),
        ("Give a short answer to the question based on the text.\nText: {context}\nQuestion: {question}", "{answer}"),
        ("{context}\n\nWrite a question about this passage whose answer is \"{answer}\".", "{question}"),
        ("Come up with a question that can be answered from the following text.\n\n{context}", "{question}"),
    ],
    "multirc": [
        ("{paragraph}\n\nQuestion: {question}\nProposed answer: {response}\n\nIs the proposed answer right?\n\n{options_}", "{answer}"),
        ("Read the paragraph and judge the answer.\n\n{paragraph}\n\nQ: {question}\nA: {response}\n\nIs A a correct answer to Q?\n\n{options_}", "{answer}"),
        ("{paragraph}\n\nSomeone was asked \"{question}\" and replied \"{response}\". Does the paragraph back up that reply?\n\n{options_}", "{answer}"),
        ("Paragraph: {paragraph}\nQuestion: {question}\nCandidate answer: {response}\n\nGiven the paragraph, is the candidate answer true?\n\n{options_}", "{answer}"),
        ("{paragraph}\n\nWould \"{response}\" be a valid answer to \"{question}\" according to the text above?\n\n{options_}", "{answer}"),
        ("Text:\n{paragraph}\n\nIf the question is \"{question}\", is \"{response}\" correct?\n\n{options_}", "{answer}"),
        ("{paragraph}\n\nAfter reading this, can one answer \"{question}\" with \"{response}\"?\n\n{options_}", "{answer}"),
        ("Check this answer against the paragraph.\n\nParagraph: {paragraph}\n\nQuestion: {question}\n\nAnswer: {response}\n\n{options_}", "{answer}"),
        ("{paragraph}\n\nWhat question could a reader ask about this paragraph?", "{question}"),
        ("Write a question that needs information from several sentences of this paragraph.\n\n{paragraph}", "{question}"),
    ],
    "openbookqa": [
        ("{fact}\n{question}\n\n{options_}", "{answer}"),
        ("Use this fact to answer: {fact}\n\nQuestion: {question}\n\n{options_}", "{answer}"),
        ("Fact: {fact}\nQuestion: {question}\nWhich choice is right?\n\n{options_}", "{answer}"),
        ("Keeping in mind that {fact}, how would you complete or answer this: {question}\n\n{options_}", "{answer}"),
        ("Here is a science fact: \"{fact}\"\n\nApply it to this question: {question}\n\n{options_}", "{answer}"),
        ("{question}\n\nHint: {fact}\n\n{options_}", "{answer}"),
        ("Answer the question with the help of the fact below.\n\nFact: {fact}\n\n{question}\n\n{options_}", "{answer}"),
        ("Pick the best answer.\n\nQuestion: {question}\nUseful fact: {fact}\n\n{options_}", "{answer}"),
        ("Which science fact would help answer this question: \"{question}\"?", "{fact}"),
        ("Fact: {fact}\n\nWrite a multiple-choice question that tests this fact.", "{question}"),
    ],
    "squad_v1": [
        ("Read the passage about {title} and answer the question.\n\n{context}\n\n{question}", "{answer}"),
        ("{context}\n\nAnswer using a span of the text above: {question}", "{answer}"),
        ("Passage: {context}\nQuestion: {question}\nAnswer:", "{answer}"),
        ("{context}\n{question}", "{answer}"),
        ("Here is a paragraph from a Wikipedia article on {title}:\n{context}\n\nQ: {question}", "{answer}"),
        ("Answer the question from the passage.\n\nQuestion: {question}\n\nPassage: {context}", "{answer}"),
        ("{title}\n\n{context}\n\nWhat is the answer to this question: {question}", "{answer}"),
        ("Context: {context}\n\nExtract the answer to \"{question}\" from the context.", "{answer}"),
        ("{context}\n\nWrite a question about this passage whose answer is \"{answer}\".", "{question}"),
        ("Which topic is this passage about?\n\n{context}", "{title}"),
    ],
    "squad_v2": [
        ("Read the passage about {title} and answer the question. If the passage does not contain the answer, reply \"unanswerable\".\n\n{context}\n\n{question}", "{answer}"),
        ("{context}\n\nAnswer from the text above, or say \"unanswerable\" if it cannot be answered: {question}", "{answer}"),
        ("Passage: {context}\nQuestion: {question}\nAnswer (write \"unanswerable\" if the passage does not say):", "{answer}"),
        ("{context}\n{question} (Reply \"unanswerable\" when the text has no answer.)", "{answer}"),
        ("Here is a paragraph on {title}:\n{context}\n\nIf possible, answer this; otherwise write \"unanswerable\": {question}", "{answer}"),
        ("Can the question be answered from the passage? If yes, give the answer; if not, write \"unanswerable\".\n\nQuestion: {question}\n\nPassage: {context}", "{answer}"),
        ("{title}\n\n{context}\n\nQ: {question}\nA (or \"unanswerable\"):", "{answer}"),
        ("Context: {context}\n\nExtract the answer to \"{question}\" from the context. Some questions have no answer there; for those, output \"unanswerable\".", "{answer}"),
        ("Some questions below cannot be answered. Answer this one if the text allows it, else say \"unanswerable\".\n\n{context}\n\n{question}", "{answer}"),
        ("Which topic is this passage about?\n\n{context}", "{title}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'bool_q': (9,),
    'drop': (8, 9),
    'multirc': (8, 9),
    'openbookqa': (8, 9),
    'squad_v1': (8, 9),
    'squad_v2': (9,),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _bool_q(ex: Example) -> Optional[Fields]:
    out = choose(["no", "yes"], int(bool(ex["answer"])))
    return out and {**out, "title": clean_text(ex["title"]), "text": clean_text(ex["passage"]),
                    "question": clean_text(ex["question"])}


def _drop(ex: Example) -> Optional[Fields]:
    answer = clean_text(ex["answer"])
    if not answer:
        return None
    answers = unique([answer] + [clean_text(a) for a in ex.get("validated_answers") or []])
    return {"context": clean_text(ex["passage"]), "question": clean_text(ex["question"]),
            "answer": answer, "answers": answers}


def _multirc(ex: Example) -> Optional[Fields]:
    out = choose(["no", "yes"], ex["label"])
    return out and {**out, "paragraph": clean_text(ex["paragraph"]), "question": clean_text(ex["question"]),
                    "response": clean_text(ex["answer"])}


def _openbookqa(ex: Example) -> Optional[Fields]:
    q = ex["question"]
    options = [clean_text(q[f"choice_{c}"]) for c in "ABCD"]
    out = choose(options, ex["answerKey"])
    return out and {**out, "question": clean_text(q["stem"]), "fact": clean_text(ex["fact1"])}


def _squad(unanswerable: bool) -> Callable[[Example], Optional[Fields]]:
    """FLAN's `_process_squad_v1/_v2`: first answer trains, all answers evaluate."""

    def preprocess(ex: Example) -> Optional[Fields]:
        if unanswerable and ex.get("is_impossible"):
            answers = ["unanswerable"]  # FLAN's _UNANSWERABLE_RESPONSE
        else:
            answers = unique([clean_text(a) for a in (ex["answers"] or {}).get("text", [])])
        if not answers:
            return None
        return {"title": clean_text(ex["title"]).replace("_", " "), "context": clean_text(ex["context"]),
                "question": clean_text(ex["question"]), "answer": answers[0], "answers": answers}

    preprocess.__name__ = "squad_v2" if unanswerable else "squad_v1"
    return preprocess

_SQUAD_FIELDS = ("title", "context", "question", "answer", "answers")

_add("bool_q", "reading_comprehension", "BoolQ", "bool_q:1.0.0", TRAIN_VAL, _bool_q,
     ("title", "text", "question", "options", "answer"), "accuracy",
     "Naturally occurring yes/no questions about Wikipedia passages.")

_add("drop", "reading_comprehension", "DROP", "drop:2.0.0", {"train": "train", "validation": "dev"},
     _drop, ("context", "question", "answer", "answers"), "squad",
     "Questions needing discrete reasoning (counting, sorting, arithmetic) over paragraphs.")

_add("multirc", "reading_comprehension", "MultiRC", "super_glue/multirc:1.0.2", TRAIN_VAL,
     _multirc, ("paragraph", "question", "response", "options", "answer"), "accuracy",
     "Multi-sentence reading comprehension: is a candidate answer correct?")

_add("openbookqa", "reading_comprehension", "OBQA", "openbookqa:0.1.0", TRAIN_VAL_TEST, _openbookqa,
     ("question", "fact", "options", "answer"), "accuracy",
     "Elementary science questions with the supporting core fact given.")

_add("squad_v1", "reading_comprehension", "SQuAD", "squad/v1.1:3.0.0", TRAIN_VAL,
     _squad(False), _SQUAD_FIELDS, "squad", "Extractive QA over Wikipedia paragraphs (v1.1).")

_add("squad_v2", "reading_comprehension", "SQuAD", "squad/v2.0:3.0.0", TRAIN_VAL,
     _squad(True), _SQUAD_FIELDS, "squad",
     "Extractive QA with unanswerable questions (v2.0); target 'unanswerable' for those.")
