"""FLAN 2021 reading comprehension with commonsense cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (cosmos_qa, record).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import TRAIN_VAL, choose, clean_text, unique

# pylint: disable=line-too-long
PATTERNS = {
    # --------------------------------------------- reading comprehension with commonsense
    "cosmos_qa": [
        ("{context}\n\nQuestion: {question}\n\n{options_}", "{answer}"),
        ("{context}\n\n{question}\n\n{options_}", "{answer}"),
        ("Read the story and use common sense to answer.\n\n{context}\n\n{question}\n\n{options_}", "{answer}"),
        ("{context}\n\nReading between the lines, {question}\n\n{options_}", "{answer}"),
        ("Story: {context}\n\nWhich answer is most plausible? {question}\n\n{options_}", "{answer}"),
        ("Here is a short passage:\n{context}\n\nQ: {question}\nChoose the best answer.\n\n{options_}", "{answer}"),
        ("{question}\n\nAnswer based on this text:\n{context}\n\n{options_}", "{answer}"),
        ("Passage: {context}\nQuestion: {question}\nThink about what the writer implies, then answer.\n\n{options_}", "{answer}"),
        ("{context}\n\nWrite a question about this passage that requires reasoning beyond what is stated.", "{question}"),
        ("{context}\n\nAsk a question about the passage above whose answer is \"{answer}\".", "{question}"),
    ],
    "record": [
        ("{passage}\n\n{query}\n\n{options_}", "{answer}"),
        ("Read the news story and finish the last sentence.\n\n{passage}\n\n{query}\n\n{options_}", "{answer}"),
        ("{passage}\n\nHow should the following sentence be completed?\n{query}\n\n{options_}", "{answer}"),
        ("Article: {passage}\n\nFill in the rest of this sentence: {query}\n\n{options_}", "{answer}"),
        ("Pick the ending that fits the article best.\n\n{passage}\n\n{query}\n\n{options_}", "{answer}"),
        ("{passage}\n\nWhat comes next?\n{query}\n\n{options_}", "{answer}"),
        ("Here is a news report:\n{passage}\n\nUsing it, complete: {query}\n\n{options_}", "{answer}"),
        ("Complete the sentence about the story below.\n\nStory: {passage}\n\nSentence: {query}\n\n{options_}", "{answer}"),
        ("{passage}\n\nWhich entity completes the text \"{query}\"?\n\n{options_}", "{answer}"),
        ("Finish this sentence so that it agrees with the passage.\n\n{passage}\n\n{query}\n\n{options_}", "{answer}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'cosmos_qa': (8, 9),
    'record': (),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _cosmos_qa(ex: Example) -> Optional[Fields]:
    out = choose([clean_text(ex[f"answer{i}"]) for i in range(4)], ex["label"])
    return out and {**out, "context": clean_text(ex["context"]), "question": clean_text(ex["question"])}


def _record(ex: Example) -> Optional[Fields]:
    """FLAN's `_process_record`: the query is cut at @placeholder; every entity, followed by
    the rest of the query, is an option; the passage loses its @highlight lines."""
    query_left, _, query_right = clean_text(ex["query"]).partition("@placeholder")
    answers = unique([clean_text(a) + query_right for a in ex.get("answers") or []])
    if not answers:
        return None  # the test split is unlabelled
    options = unique([clean_text(e) + query_right for e in ex.get("entities") or []])
    if answers[0] not in options:  # never in real data; keeps "answer is an option" true
        options.append(answers[0])
    passage = clean_text(ex["passage"]).split("\n@highlight")[0].strip()
    # FLAN's templates print the options themselves, as `options_str` ("OPTIONS:\n- a\n- b").
    options_str = "OPTIONS:\n- " + "\n- ".join(options)
    return {"passage": passage, "query": query_left.strip(), "options": options,
            "options_str": options_str, "answer": answers[0], "answers": answers}

_add("cosmos_qa", "reading_comprehension_with_commonsense", "CosmosQA", "cosmos_qa:1.0.0",
     TRAIN_VAL, _cosmos_qa, ("context", "question", "options", "answer"), "accuracy",
     "Reading comprehension needing commonsense inference about everyday narratives.")

_add("record", "reading_comprehension_with_commonsense", "ReCoRD", "super_glue/record:1.0.2",
     TRAIN_VAL, _record, ("passage", "query", "options", "options_str", "answer", "answers"), "accuracy",
     "Cloze-style news QA: which entity fills the placeholder of the query.")
