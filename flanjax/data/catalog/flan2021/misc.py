"""FLAN 2021 misc cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (quac, coqa, wic, trec, cola, math_dataset, fix_punct).

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
from flanjax.data.catalog.flan2021.common import (
    TRAIN_TEST,
    TRAIN_VAL,
    choose,
    clean_text,
    numbered,
    unique,
)

# pylint: disable=line-too-long
PATTERNS = {
    # ------------------------------------------------------------------------------- misc
    "quac": [
        ("{title}\n\n{background}\n\n{context}\n\nAnswer with a quote from the section above: {question}", "{answer}"),
        ("Background: {background}\n\nSection: {context}\n\nQuestion: {question}\n\nAnswer:", "{answer}"),
        ("Read about {title} and answer by copying the relevant words from the text.\n\n{context}\n\n{question}", "{answer}"),
        ("{background}\n\n{context}\n\n{question}", "{answer}"),
        ("{context}\n\nUsing an excerpt from the passage, respond to: {question}", "{answer}"),
        ("Here is some background on {title}: {background}\n\nAnd a section from the article: {context}\n\nWhat is the answer to \"{question}\"? Quote the text.", "{answer}"),
        ("Question: {question}\n\nFind the answer in this text:\n{background}\n\n{context}", "{answer}"),
        ("{title} - {background}\n\n{context}\n\nQ: {question}\nA:", "{answer}"),
        ("{background}\n\n{context}\n\nWho or what is this text about?", "{title}"),
        ("{background}\n\n{context}\n\nWrite a question a curious reader might ask about this section.", "{question}"),
    ],
    "coqa": [
        ("{text}\n\nAnswer each of these questions in turn:\n{numbered_questions}", "{numbered_answers}"),
        ("Read the story, then answer the numbered questions.\n\n{text}\n\n{numbered_questions}", "{numbered_answers}"),
        ("Story:\n{text}\n\nQuestions:\n{numbered_questions}\n\nGive a numbered list of short answers.", "{numbered_answers}"),
        ("{text}\n\n{numbered_questions}", "{numbered_answers}"),
        ("Use the passage to answer the conversation's questions one by one.\n\n{text}\n\n{numbered_questions}", "{numbered_answers}"),
        ("{text}\n\nConversation so far:\n{history}\n\nQ: {question}\nA:", "{answer}"),
        ("Passage: {text}\n\nEarlier questions and answers:\n{history}\n\nNow answer the next question: {question}", "{answer}"),
        ("Continue this conversation about the story by answering the last question.\n\n{text}\n\n{history}\nQ: {question}", "{answer}"),
        ("{text}\n\nGiven the earlier exchange\n{history}\nhow would you answer \"{question}\"?", "{answer}"),
        ("{text}\n\nHere are numbered answers about the story above. Write the numbered questions they answer.\n\n{numbered_answers}", "{numbered_questions}"),
    ],
    "wic": [
        ("Sentence A: {sentence1}\nSentence B: {sentence2}\n\nIs \"{word}\" used with the same meaning in A and B?\n\n{options_}", "{answer}"),
        ("{sentence1}\n{sentence2}\n\nDoes \"{word}\" have the same sense in both sentences?\n\n{options_}", "{answer}"),
        ("Compare how the word \"{word}\" is used in these two sentences.\n\n1. {sentence1}\n2. {sentence2}\n\n{options_}", "{answer}"),
        ("Word: {word}\nFirst use: {sentence1}\nSecond use: {sentence2}\n\nSame meaning or different?\n\n{options_}", "{answer}"),
        ("Does \"{word}\" mean the same in \"{sentence1}\" as in \"{sentence2}\"?\n\n{options_}", "{answer}"),
        ("Here are two sentences that both contain \"{word}\":\n\n{sentence1}\n\n{sentence2}\n\nIn them, the word has\n\n{options_}", "{answer}"),
        ("Word-sense check for \"{word}\".\n\n(a) {sentence1}\n(b) {sentence2}\n\n{options_}", "{answer}"),
        ("{sentence1}\n\n{sentence2}\n\nWould a dictionary give the same definition of \"{word}\" for both sentences?\n\n{options_}", "{answer}"),
        ("Is the meaning of the word \"{word}\" shared by the next two sentences?\n\n{sentence1}\n{sentence2}\n\n{options_}", "{answer}"),
        ("Think about the word \"{word}\".\n\nSentence one: {sentence1}\nSentence two: {sentence2}\n\nDo the two sentences use it in the same sense?\n\n{options_}", "{answer}"),
    ],
    "trec": [
        ("What kind of answer does this question expect?\n\n{text}\n\n{options_}", "{answer}"),
        ("Question: {text}\n\nWhich category does the answer belong to?\n\n{options_}", "{answer}"),
        ("Classify the question by the type of its answer: {text}\n\n{options_}", "{answer}"),
        ("{text}\n\nIs this question asking for a description, an entity, an abbreviation, a person, a number or a location?\n\n{options_}", "{answer}"),
        ("Here is a question: \"{text}\". What sort of thing would answer it?\n\n{options_}", "{answer}"),
        ("{text}\n\nThe answer to this question would be a\n\n{options_}", "{answer}"),
        ("Pick the answer type of the following question.\n\n{text}\n\n{options_}", "{answer}"),
        ("Q: {text}\n\nWhat type of information is being requested?\n\n{options_}", "{answer}"),
        ("Someone asks: {text}\n\nWhat are they asking about?\n\n{options_}", "{answer}"),
        ("Write a question whose answer would be of this type: {answer}.", "{text}"),
    ],
    "cola": [
        ("Is the following sentence grammatically acceptable English?\n\n{sentence}\n\n{options_}", "{answer}"),
        ("Sentence: {sentence}\n\nHow would a linguist judge this sentence?\n\n{options_}", "{answer}"),
        ("{sentence}\n\nIs the sentence above well-formed?\n\n{options_}", "{answer}"),
        ("Judge the grammaticality of this sentence: \"{sentence}\"\n\n{options_}", "{answer}"),
        ("Would a native English speaker accept this sentence as correct?\n{sentence}\n\n{options_}", "{answer}"),
        ("Here is a sentence: {sentence}\n\nRate its linguistic acceptability.\n\n{options_}", "{answer}"),
        ("{sentence}\n\nGrammatically, this sentence is\n\n{options_}", "{answer}"),
        ("Check the sentence for grammar and meaning.\n\n\"{sentence}\"\n\n{options_}", "{answer}"),
        ("Does this sentence follow the rules of English syntax and semantics?\n\n{sentence}\n\n{options_}", "{answer}"),
        ("Write a short English sentence that a linguist would call {answer}.", "{sentence}"),
    ],
    "math_dataset": [
        ("{question}", "{answer}"),
        ("Solve the following.\n\n{question}", "{answer}"),
        ("Math question: {question}\nAnswer:", "{answer}"),
        ("{question}\n\nWhat is the answer?", "{answer}"),
        ("Work out this algebra problem: {question}", "{answer}"),
        ("Find the solution.\n{question}", "{answer}"),
        ("Problem: {question}\nSolution:", "{answer}"),
        ("{question} Give only the final value.", "{answer}"),
        ("Here is an equation to solve: {question}", "{answer}"),
        ("Compute the answer to this problem.\n\n{question}", "{answer}"),
    ],
    "fix_punct": [
        ("{no_punct}\n\nRestore the punctuation in the text above.", "{answer}"),
        ("Add the missing punctuation: {no_punct}", "{answer}"),
        ("This sentence lost its punctuation marks. Put them back.\n\n{no_punct}", "{answer}"),
        ("Text without punctuation: {no_punct}\nPunctuated text:", "{answer}"),
        ("{no_punct}\n\nRewrite this with correct punctuation.", "{answer}"),
        ("Insert commas, periods and other punctuation where they belong:\n\n{no_punct}", "{answer}"),
        ("Please punctuate the following sentence.\n{no_punct}", "{answer}"),
        ("{no_punct}\n\nHow should this be punctuated?", "{answer}"),
        ("Fix the punctuation of this text: {no_punct}", "{answer}"),
        ("Strip every punctuation mark from this sentence.\n\n{answer}", "{no_punct}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'quac': (8, 9),
    'coqa': (9,),
    'wic': (),
    'trec': (9,),
    'cola': (9,),
    'math_dataset': (),
    'fix_punct': (9,),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


# fix_punct: FLAN carved it out of para_crawl/enda after true_case's 30k + 200 examples
# (`flan/tasks.py`: train[true_case_val_end:fix_punct_train_end], the next 200 validate, the
# last 3000 test), so the three tasks never share a sentence.
_FIX_PUNCT = {
    "train": "train[30200:60200]", "validation": "train[60200:60400]", "test": "train[-3000:]"
}


def _quac(ex: Example) -> Optional[Fields]:
    """One QuAC turn per TFDS example (the builder keeps no dialogue history); FLAN's
    `_process_quac` answers from the background and section text."""
    answer = clean_text((ex.get("orig_answer") or {}).get("text"))
    if not answer:
        return None
    answers = unique([answer] + [clean_text(a) for a in (ex.get("answers") or {}).get("text", [])])
    return {"title": clean_text(ex["title"]), "background": clean_text(ex["background"]),
            "context": clean_text(ex["context"]), "question": clean_text(ex["question"]),
            "answer": answer, "answers": answers}


def _coqa(ex: Example) -> Optional[Fields]:
    """A whole CoQA conversation, flattened two ways: FLAN's numbered list of all questions ->
    numbered list of all answers, and (story + earlier turns) -> answer of the last turn."""
    questions = [clean_text(q) for q in ex.get("questions") or []]
    answers = [clean_text(a) for a in (ex.get("answers") or {}).get("input_text", [])]
    n = min(len(questions), len(answers))
    if n == 0:
        return None
    questions, answers = questions[:n], answers[:n]
    history = "\n".join(f"Q: {q}\nA: {a}" for q, a in zip(questions[:-1], answers[:-1]))
    return {"text": clean_text(ex["story"]), "numbered_questions": numbered(questions),
            "numbered_answers": numbered(answers), "history": history,
            "question": questions[-1], "answer": answers[-1], "answers": [answers[-1]]}


def _wic(ex: Example) -> Optional[Fields]:
    out = choose(["different meanings", "the same meaning"], ex["label"])
    return out and {**out, "sentence1": clean_text(ex["sentence1"]), "sentence2": clean_text(ex["sentence2"]),
                    "word": clean_text(ex["word"])}

# The order of TFDS's coarse ClassLabel: DESC, ENTY, ABBR, HUM, NUM, LOC.
_TREC_OPTIONS = ["description", "entity", "abbreviation", "human", "numeric", "location"]


def _trec(ex: Example) -> Optional[Fields]:
    out = choose(_TREC_OPTIONS, ex["label-coarse"])
    return out and {**out, "text": clean_text(ex["text"])}


def _cola(ex: Example) -> Optional[Fields]:
    # The sentence as TFDS gives it, not stripped: FLAN's `_process_cola` (`flan/tasks.py`,
    # and v2's `flan/v2/task_configs_v1.py`) passes `example['sentence']` through.
    out = choose(["unacceptable", "acceptable"], ex["label"])
    return out and {**out, "sentence": str(ex["sentence"])}


def _math_dataset(ex: Example) -> Optional[Fields]:
    question, answer = clean_text(ex["question"]), clean_text(ex["answer"])
    return {"question": question, "answer": answer} if question and answer else None

_PUNCTUATION = re.compile(r"[^\w\s]")  # FLAN's regex in `_process_fix_punct`


def _fix_punct(ex: Example) -> Optional[Fields]:
    """Input: the English side of ParaCrawl EN/DA with all punctuation removed; target: the
    original. Sentences without punctuation are skipped, as FLAN's `_filter_fix_punct` does."""
    text = clean_text(ex["en"])
    no_punct = _PUNCTUATION.sub("", text)
    if not text or no_punct == text:
        return None
    return {"no_punct": no_punct, "answer": text}

_add("quac", "misc", "QuAC", "quac:1.0.0", TRAIN_VAL, _quac,
     ("title", "background", "context", "question", "answer", "answers"), "squad",
     "Question answering in context: information-seeking dialogue over Wikipedia sections.")

# TFDS's coqa "test" split is CoQA's (labelled) development set.
_add("coqa", "misc", "CoQA", "coqa:1.0.0", TRAIN_TEST, _coqa,
     ("text", "numbered_questions", "numbered_answers", "history", "question", "answer", "answers"),
     "squad", "Conversational question answering over short stories.")

_add("wic", "misc", "WIC", "super_glue/wic:1.0.2", TRAIN_VAL, _wic,
     ("sentence1", "sentence2", "word", "options", "answer"), "accuracy",
     "Words in context: is a word used with the same sense in two sentences?")

_add("trec", "misc", "TREC", "trec:1.0.0", TRAIN_TEST, _trec,
     ("text", "options", "answer"), "accuracy", "Question classification by coarse answer type.")

_add("cola", "misc", "CoLA", "glue/cola:2.0.0", TRAIN_VAL, _cola,
     ("sentence", "options", "answer"), "accuracy", "Linguistic acceptability judgements.")

_add("math_dataset", "misc", "Math", "math_dataset/algebra__linear_1d:1.0.0", TRAIN_TEST,
     _math_dataset, ("question", "answer"), "exact_match",
     "DeepMind mathematics: solve linear equations in one variable (FLAN's config).")

# FLAN scored fix_punct with edit distance, which flanjax's metric set does not have; exact
# match is the strict version of the same comparison.
_add("fix_punct", "misc", "Fix Punctuation (NLG)", "para_crawl/enda:1.2.0", _FIX_PUNCT,
     _fix_punct, ("no_punct", "answer"), "exact_match",
     "Restore the punctuation of an English sentence (ParaCrawl EN/DA English side).")
