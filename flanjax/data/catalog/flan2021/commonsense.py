"""FLAN 2021 commonsense cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (copa, hellaswag, piqa, story_cloze).

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
from flanjax.data.catalog.flan2021.common import TRAIN_VAL, pick

# pylint: disable=line-too-long
PATTERNS = {
    # question: "cause" | "effect"; premise_role: the premise's role relative to the answer.
    "copa": [
        ("{premise}\n\nWhich is the more likely {question}?\n\n{options_}", "{answer}"),
        ("Event: {premise}\n\nPick the most plausible {question} of this event.\n\n{options_}", "{answer}"),
        ("Consider the following situation: {premise}\n\nWhat was its {question}?\n\n{options_}", "{answer}"),
        ("Choose the {question} that makes the most sense.\n\n{premise}\n\n{options_}", "{answer}"),
        ("{premise}\nWhat is a likely {question} of this?\n{options_}", "{answer}"),
        ("Premise: {premise}\nQuestion: which option is the {question}?\n\n{options_}", "{answer}"),
        ("Use common sense to find the {question} of the statement below.\n\n{premise}\n\n{options_}", "{answer}"),
        ("\"{premise}\" Which of the following is the {question}?\n\n{options_}", "{answer}"),
        ("Here is something that happened: {answer}\n\nWrite a sentence describing a plausible {premise_role} of it.", "{premise}"),
        ("Write a sentence about an everyday event, and then its {question}.", "{premise} {answer}"),
    ],
    "hellaswag": [
        ("{context}\n\nHow does the text most likely continue?\n\n{options_}", "{answer}"),
        ("Topic: {activity_label}\n\n{context}\n\nWhat comes next?\n{options_}", "{answer}"),
        ("Finish the following passage about {activity_label}.\n\n{context}\n\n{options_}", "{answer}"),
        ("Choose the most sensible ending.\n\n{context}\n\n{options_}", "{answer}"),
        ("{context}\n\nWhich of these is the best continuation?\n{options_}", "{answer}"),
        ("Here is the start of a description of {activity_label}: {context}\n\nPick the sentence that should follow.\n\n{options_}", "{answer}"),
        ("Complete this text so that it makes sense.\n{context}\n\n{options_}", "{answer}"),
        ("What happens next in this passage?\n\n{context}\n\n{options_}", "{answer}"),
        ("Write the opening of a text about \"{activity_label}\" that leads up to this: {answer}", "{context}"),
        ("Write a few sentences about {activity_label}.", "{context} {answer}"),
    ],
    "piqa": [
        ("Goal: {goal}\n\nWhich way of doing it is better?\n\n{options_}", "{answer}"),
        ("How would you accomplish the following?\n{goal}\n\n{options_}", "{answer}"),
        ("{goal}\n\nPick the most sensible method.\n{options_}", "{answer}"),
        ("I want to do this: {goal}\n\nWhat should I do?\n\n{options_}", "{answer}"),
        ("Use physical common sense to choose the right solution.\n\nTask: {goal}\n\n{options_}", "{answer}"),
        ("Which of these solutions achieves the goal \"{goal}\"?\n\n{options_}", "{answer}"),
        ("Here is a goal: {goal}\n\nHow would you reach it?\n\n{options_}", "{answer}"),
        ("To {goal}, which option works?\n\n{options_}", "{answer}"),
        ("{answer}\n\nWhat goal could these steps achieve?", "{goal}"),
        ("Describe a practical task and how to do it.", "Task: {goal}\nSolution: {answer}"),
    ],
    "story_cloze": [
        ("{context}\n\nHow does this story end?\n\n{options_}", "{answer}"),
        ("Read the story and choose the right ending.\n\n{context}\n\n{options_}", "{answer}"),
        ("Story so far: {context}\n\nWhich sentence should come last?\n{options_}", "{answer}"),
        ("{context}\n\nWhat is the most fitting final sentence?\n{options_}", "{answer}"),
        ("Finish this short story.\n\n{context}\n\n{options_}", "{answer}"),
        ("Here are the first four sentences of a story: {context}\n\nPick the fifth.\n\n{options_}", "{answer}"),
        ("Which ending makes sense for the story below?\n\n{context}\n\n{options_}", "{answer}"),
        ("{context}\nWhat happened in the end?\n\n{options_}", "{answer}"),
        ("Write a short story whose final sentence is: {answer}", "{context} {answer}"),
        ("Here is the ending of a story: \"{answer}\"\n\nWrite the four sentences that come before it.", "{context}"),
    ],
}

# Indices into PATTERNS[key] of the turned-around patterns (at most three per key).
TURNED_AROUND = {
    'copa': (8, 9),
    'hellaswag': (8, 9),
    'piqa': (8, 9),
    'story_cloze': (8, 9),
}

_add = functools.partial(common.add, own_patterns=PATTERNS)


def _copa(raw: Example) -> Optional[Fields]:
    options = [raw["choice1"], raw["choice2"]]
    answer = pick(options, raw.get("label"))
    if answer is None:
        return None
    question = raw["question"]  # "cause" | "effect"
    return {
        "premise": raw["premise"],
        "question": question,
        # The premise is the effect of a cause-answer and the cause of an effect-answer.
        "premise_role": "effect" if question == "cause" else "cause",
        "options": options,
        "answer": answer,
    }


def _strip_hellaswag_markup(text: str) -> str:
    # WikiHow contexts carry "[header]", "[title]", "[step]" markers (FLAN `_process_hellaswag`
    # drops the header marker and turns the others into line breaks).
    text = re.sub(r"\[header\]\s", "", text)
    return re.sub(r"\[[^\]]*\]\s", "\n", text).strip()


def _hellaswag(raw: Example) -> Optional[Fields]:
    options = [re.sub(r"\[[^\]]*\]\s", "", e).strip() for e in raw["endings"]]
    answer = pick(options, raw.get("label"))  # the test split has label -1
    if answer is None:
        return None
    return {
        "context": _strip_hellaswag_markup(raw["context"]),
        "activity_label": raw["activity_label"],
        "options": options,
        "answer": answer,
    }


def _piqa(raw: Example) -> Optional[Fields]:
    options = [raw["sol1"], raw["sol2"]]
    answer = pick(options, raw.get("label"))
    if answer is None:
        return None
    return {"goal": raw["goal"], "options": options, "answer": answer}


def _story_cloze(raw: Example) -> Optional[Fields]:
    options = list(raw["endings"])
    label = raw.get("label")  # AnswerRightEnding: 1 or 2; -1 when missing
    answer = pick(options, int(label) - 1) if label is not None and int(label) > 0 else None
    if answer is None:
        return None
    return {"context": raw["context"], "options": options, "answer": answer}

_add(
    "copa", "commonsense", "COPA", "super_glue/copa:1.0.2", TRAIN_VAL, _copa,
    ("premise", "question", "premise_role", "options", "answer"),
    description="Choice of Plausible Alternatives (SuperGLUE).",
)

_add(
    "hellaswag", "commonsense", "HellaSwag", "hellaswag:1.1.0", TRAIN_VAL, _hellaswag,
    ("context", "activity_label", "options", "answer"),
    description="HellaSwag sentence completion.",
)

_add(
    "piqa", "commonsense", "PiQA", "piqa:1.0.0", TRAIN_VAL, _piqa,
    ("goal", "options", "answer"), description="Physical Interaction QA.",
)

_add(
    # Manual download (the ROCStories site); only validation and test exist: train on the
    # 2016 validation set, evaluate on its test set (FLAN: validation[:-200] / test).
    "story_cloze", "commonsense", "StoryCloze", "story_cloze/2016:1.0.0",
    {"train": "validation", "validation": "test"}, _story_cloze,
    ("context", "options", "answer"), description="Story Cloze Test (2016).",
)
