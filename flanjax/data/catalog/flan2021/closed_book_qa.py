"""FLAN 2021 closed-book QA cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (arc, natural_questions, trivia_qa).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import TRAIN_VAL, TRAIN_VAL_TEST, pick

# pylint: disable=line-too-long
PATTERNS = {
    "arc": [
        ("{question}\n\n{options_}", "{answer}"),
        ("Science question: {question}\n\nWhich answer is correct?\n{options_}", "{answer}"),
        ("Answer this grade-school science question.\n\n{question}\n\n{options_}", "{answer}"),
        ("Q: {question}\n\nChoose the best answer.\n\n{options_}", "{answer}"),
        ("Here is a multiple-choice question from a science exam: {question}\n\n{options_}", "{answer}"),
        ("{question}\nPick one of the following.\n{options_}", "{answer}"),
        ("Use your knowledge of science to answer: {question}\n\n{options_}", "{answer}"),
        ("Which option answers the question \"{question}\"?\n\n{options_}", "{answer}"),
        ("Write a science exam question whose answer is \"{answer}\".", "{question}"),
        ("What is a question a student might see on a science test?", "{question}"),
    ],
    "natural_questions": [
        ("{question}", "{answer}"),
        ("Answer the following question from memory.\n\n{question}", "{answer}"),
        ("Q: {question}\nA:", "{answer}"),
        ("Please give a short answer: {question}", "{answer}"),
        ("Someone searched the web for \"{question}\". What is the answer?", "{answer}"),
        ("Question: {question}\n\nWhat is the answer?", "{answer}"),
        ("Without looking anything up, answer: {question}", "{answer}"),
        ("Tell me the answer to this question. {question}", "{answer}"),
        ("Write a question that people search online and whose answer is \"{answer}\".", "{question}"),
        ("What is something people often ask a search engine?", "{question}"),
    ],
    "trivia_qa": [
        ("{question}", "{answer}"),
        ("Trivia question: {question}\nAnswer:", "{answer}"),
        ("Answer this quiz question.\n\n{question}", "{answer}"),
        ("Q: {question}\n\nWhat is the answer?", "{answer}"),
        ("Here is a pub quiz question: {question}", "{answer}"),
        ("Test your general knowledge: {question}", "{answer}"),
        ("What is the answer to the following trivia question?\n{question}", "{answer}"),
        ("Give a short answer. {question}", "{answer}"),
        ("Write a trivia question whose answer is {answer}.", "{question}"),
        ("Ask me a trivia question.", "{question}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'arc': (8, 9),
    'natural_questions': (8, 9),
    'trivia_qa': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _arc(raw: Example) -> Optional[Fields]:
    # FLAN keeps only 4-option questions; rank classification handles 3 or 5 as well, so
    # every question with a valid answer key is kept.
    options = list(raw["choices"]["text"])
    answer = pick(options, raw.get("answerKey"))
    if answer is None:
        return None
    return {"question": raw["question"], "options": options, "answer": answer}


def _natural_questions(raw: Example) -> Optional[Fields]:
    answers = [a for a in raw["answer"] if a]
    if not answers:
        return None
    question = raw["question"].strip()
    # NQ-open questions are lower-cased search queries without "?"; FLAN appends one.
    if not question.endswith("?"):
        question += "?"
    return {"question": question, "answer": answers[0], "answers": answers}


def _trivia_qa(raw: Example) -> Optional[Fields]:
    answer = raw["answer"]
    value = answer.get("normalized_value", "")
    if not value:  # unlabelled test split
        return None
    aliases = [a for a in answer.get("normalized_aliases", []) if a]
    return {
        "question": raw["question"],
        "answer": value,
        "answers": aliases or [value],
    }

for _level in ("Challenge", "Easy"):
    _add(
        f"arc_{_level.lower()}", "closed_book_qa", "ARC", f"ai2_arc/ARC-{_level}:1.0.0",
        TRAIN_VAL_TEST, _arc, ("question", "options", "answer"), pattern_key="arc",
        description=f"AI2 Reasoning Challenge, {_level} set.",
    )

_add(
    "natural_questions", "closed_book_qa", "NQ", "natural_questions_open:1.0.0", TRAIN_VAL,
    _natural_questions, ("question", "answer", "answers"), metric="squad",
    description="Natural Questions, open-domain version (no context).",
)

_add(
    # FLAN reads `trivia_qa/rc`; `rc.nocontext` has the same question-answer pairs without
    # the evidence documents, which a closed-book task never shows the model.
    "trivia_qa", "closed_book_qa", "TQA", "trivia_qa/rc.nocontext:1.1.0", TRAIN_VAL,
    _trivia_qa, ("question", "answer", "answers"), metric="squad",
    description="TriviaQA without evidence documents.",
)
