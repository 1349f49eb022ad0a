"""Flan 2022 dialog: next-turn prediction on WikiDialog, QReCC and Taskmaster.

Longpre et al. 2023 ("The Flan Collection", Section 2 and Table 3) add a Dialog
sub-mixture: WikiDialog (Dai et al. 2022), QReCC (Anantha et al. 2021) and Taskmaster
(Byrne et al. 2019), each trained to predict the next turn of a conversation, and also in
input-inverted form (response -> preceding dialog; `flan/v2/task_configs.py`
`DIALOG_II_TASK_CONFIGS`). Every entry here has `inversion=True`; the format layer does the
inversion.

Fields (one flat layout for all three datasets):
  context: the previous turns, one per line, each "Person A: ..." or "Person B: ..."
    (the first speaker of the conversation is Person A; a line break inside a turn
    becomes a space so one turn stays one line).
  response: the next turn, the target.
  speaker: the label of whoever says `response` ("Person A" or "Person B").

Which turn is predicted. Without FLAN_SOURCE_DIR the turn is a deterministic function of the
conversation (a CRC32 of its text picks among the candidate turns), so a dataset reads the
same on every host, run and seed:
  WikiDialog: utterances[0] (the opening prompt) is dropped; the response is one of the
    first 20 answers (odd positions of the rest), as in FLAN.
  Taskmaster: the response is any of turns 1..19, as in FLAN.
  QReCC: every TFDS row is already one turn of a conversation (history in `context`), so
    the response is the row's own `answer` after its `question`; rows without an answer
    are skipped.

With FLAN_SOURCE_DIR (a google-research/FLAN checkout) the entries follow v2:
- the fields (`V2_FIELDS`) are v2's: `dialog` the turns before the response, `dialog_` as
  `preprocessors.format_dialog` writes them, `answer` the response as it is;
- the turn is drawn as v2's `preprocessors.wiki_dialog` / `task_master` / `qrecc` draw it,
  uniformly among the same turns, by the renderer of training tasks per (seed, task,
  example) (`CatalogEntry.redraw`, `redraw_turn`; v2 redraws on every pass; eval tasks and
  few-shot exemplars keep the CRC32 pick among those turns); QReCC keeps only rows
  with turn_id > 6 (`filter_qrecc`) and draws an answer inside the row's `context` (odd
  positions, the first 20), not the row's own question and answer;
- Flan 2022's zero-shot-with-options Dialog (`*_zs_varopt`) and Dialog-II (`*_inv`) write
  `dialog_` with `format_dialog_non_deterministic` (`flanjax.data.templates.flan_v2_dialog`,
  `CatalogEntry.flan2022_nondeter`), as v2's zs_opt submixtures hold only the
  `_non_deter_opt_zero_shot` tasks of dialog tasks; few-shot keeps `format_dialog`;
- templates are v2's of `flan/v2/templates.py` (PATTERNS / FEWSHOT_PATTERNS "wiki_dialog",
  "qrecc", "task_master" and their "_input_inversion" forms; `flanjax.data.templates.flan_v2`,
  `tasks.format_view`).

Sources: `wiki_dialog/OQ:1.0.0` and `q_re_cc:1.0.0` are TFDS builders (the data must be
prepared in TFDS_DATA_DIR / FLANJAX_TFDS_DATA_DIR). Taskmaster has no TFDS builder: the user
writes JSON-lines files, one Taskmaster conversation per line in its native layout

    {"conversation_id": "dlg-...", "utterances": [{"speaker": "USER", "text": "..."},
                                                  {"speaker": "ASSISTANT", "text": "..."}]}

(e.g. `jq -c '.[]' self-dialogs.json > task_master_train.jsonl` on Taskmaster-1's files),
as `task_master_train*.jsonl` and `task_master_validation*.jsonl` under env
`FLANJAX_DIALOG_DATA_DIR` (or `entries(data_dir=...)`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import zlib
from typing import Any, Callable, Optional, Sequence

from flanjax.data import sources
from flanjax.data import templates as templates_lib
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields
from flanjax.data.catalog.registry import register_entry
from flanjax.data.templates import flan_v2
from flanjax.data.templates import flan_v2_dialog
from flanjax.data import locations

COLLECTION = "dialog"
CLUSTER = "dialog"
DATA_DIR_ENV = "FLANJAX_DIALOG_DATA_DIR"
# Placeholder: users put the Taskmaster JSONL files there or set FLANJAX_DIALOG_DATA_DIR.
DEFAULT_DATA_DIR = "gs://YOUR_BUCKET/flanjax/dialog"
FIELDS = ("context", "response", "speaker")
# With FLAN_SOURCE_DIR, v2's templates (`flan/v2/templates.py` "predict_next_turn_dialog", aliased
# as wiki_dialog / qrecc / task_master) read the fields of v2's `format_dialog`: dialog_, answer;
# `dialog` is v2's list of the turns before the answer (`preprocessors.wiki_dialog` output).
# `turns` ([speaker, text] of the whole conversation) and `turn_choices` (the turns v2 may
# predict) let the renderer draw the turn per example (`redraw_turn`).
V2_FIELDS = FIELDS + ("dialog", "dialog_", "answer", "turns", "turn_choices")
SPEAKERS = ("Person A", "Person B", "Person C", "Person D")
# FLAN caps the sampled turn at 20 (`preprocessors.wiki_dialog` / `task_master` / `qrecc`).
MAX_TURN_CHOICES = 20
# v2 keeps QReCC rows with turn_id > 6 (`flan/v2/preprocessors.py` `filter_qrecc`).
QRECC_MIN_TURN_ID = 7

# Our own wording, in the conventions of FLAN's `predict_next_turn_dialog` patterns: the
# dialog, an instruction before or after it, the next turn as the target.
_PATTERNS = [
    ("{context}\n{speaker}:", "{response}"),
    ("Read the conversation and write what {speaker} says next.\n\n{context}", "{response}"),
    ("Conversation so far:\n{context}\n\nWhat is the next turn?", "{response}"),
    ("{context}\n\nContinue this dialog with one reply from {speaker}.", "{response}"),
    ("Here is a chat between two people.\n{context}\nHow might {speaker} respond?", "{response}"),
]
PATTERNS = {name: _PATTERNS for name in ("wiki_dialog", "qrecc", "task_master")}


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def format_turns(turns: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """[(speaker_id, text)] -> ("Person A: ...\\nPerson B: ...", speaker_id -> label).

    Labels are given in order of first appearance, so the opener is always Person A.
    """
    labels: dict[str, str] = {}
    lines = []
    for who, text in turns:
        if who not in labels:
            labels[who] = SPEAKERS[min(len(labels), len(SPEAKERS) - 1)]
        lines.append(f"{labels[who]}: {_one_line(text)}")
    return "\n".join(lines), labels


def pick_turn(candidates: Sequence[int], key: str) -> int:
    """A deterministic choice among candidate turn indices (stable across processes)."""
    return candidates[zlib.crc32(key.encode("utf-8")) % len(candidates)]


def format_dialog(turns: Sequence[str]) -> str:
    """v2's `preprocessors.format_dialog`: "DIALOG:\n" + the turns joined by "\n- " + "\n- "."""
    return "DIALOG:\n" + "\n- ".join(turns) + "\n- "


def _fields(turns: Sequence[tuple[str, str]], idx: int, v2: bool = False) -> Optional[Fields]:
    """The conversation up to turn `idx` as context, turn `idx` as response; with `v2`, also
    v2's fields (`V2_FIELDS`: the turns as `format_dialog` writes them, the turn as it is)."""
    response = _one_line(turns[idx][1])
    if not response or idx < 1:
        return None
    context, labels = format_turns(turns[:idx])
    who = turns[idx][0]
    speaker = labels.get(who) or SPEAKERS[min(len(labels), len(SPEAKERS) - 1)]
    out = {"context": context, "response": response, "speaker": speaker}
    if v2:
        before = [t for _, t in turns[:idx]]
        out.update(dialog=before, dialog_=format_dialog(before), answer=turns[idx][1])
    return out


def nondeterministic_dialog(fields: Fields, draw: flan_v2_dialog.Draw,
                            cands: flan_v2_dialog.DialogCandidates) -> Fields:
    """`fields` with `dialog_` as v2's `format_dialog_non_deterministic` writes `dialog`."""
    text = flan_v2_dialog.format_dialog_non_deterministic(fields["dialog"], cands, draw)
    return {**fields, "dialog_": text}


def _v2_fields(turns: Sequence[tuple[str, str]], choices: Sequence[int], key: str) -> Optional[Fields]:
    """v2's fields at the turn the CRC32 of `key` picks among `choices`, with the conversation
    and the choices, so the renderer can draw the turn again per example (`redraw_turn`)."""
    out = _fields(turns, pick_turn(choices, key), v2=True)
    if out is None:
        return None
    return {**out, "turns": [list(t) for t in turns], "turn_choices": list(choices)}


def redraw_turn(fields: Fields, draw: flan_v2_dialog.Draw) -> Optional[Fields]:
    """`fields` at the turn `draw("turn")` picks uniformly among `turn_choices`, as v2's
    `preprocessors.wiki_dialog` / `task_master` / `qrecc` draw it (`tf.random.uniform`)."""
    choices = fields["turn_choices"]
    turns = [(str(who), str(text)) for who, text in fields["turns"]]
    out = _fields(turns, choices[draw("turn") % len(choices)], v2=True)
    return None if out is None else {**fields, **out}


def _alternating(texts: Sequence[str]) -> list[tuple[str, str]]:
    return [(str(i % 2), str(t)) for i, t in enumerate(texts)]


def preprocess_wiki_dialog(raw: Example, v2: bool = False) -> Optional[Fields]:
    """TFDS wiki_dialog: `utterances` alternate asker / passage-answerer after the opener."""
    turns = _alternating(list(raw.get("utterances") or [])[1:])
    candidates = [2 * k + 1 for k in range(min(len(turns) // 2, MAX_TURN_CHOICES))]
    if not candidates:
        return None
    key = str(raw.get("pid") or "") + "\n".join(t for _, t in turns)
    if v2:
        return _v2_fields(turns, candidates, key)
    return _fields(turns, pick_turn(candidates, key), v2)


def preprocess_qrecc(raw: Example, v2: bool = False) -> Optional[Fields]:
    """TFDS q_re_cc: history (`context`, alternating Q / A) + `question` -> `answer`.

    With `v2`, as `flan/v2/preprocessors.py` `filter_qrecc` + `qrecc`: rows with turn_id > 6
    only, the answer to predict one of the first 20 answers inside `context` (odd positions).
    """
    if v2:
        if int(raw.get("turn_id") or 0) < QRECC_MIN_TURN_ID:
            return None
        context = [str(t) for t in raw.get("context") or []]
        turns = _alternating(context)
        candidates = [2 * k + 1 for k in range(min(len(context) // 2, MAX_TURN_CHOICES))]
        if not candidates:
            return None
        return _v2_fields(turns, candidates, str(raw.get("conversation_id") or "") + "\n".join(context))
    answer = str(raw.get("answer") or "").strip()
    question = str(raw.get("question") or "").strip()
    if not (answer and question):
        return None
    turns = _alternating(list(raw.get("context") or []) + [question, answer])
    return _fields(turns, len(turns) - 1, v2)


def preprocess_task_master(raw: Example, v2: bool = False) -> Optional[Fields]:
    """A Taskmaster conversation (`utterances` of {speaker, text}) -> one next-turn example.

    Also accepts FLAN's flattened layout, `text`: a list of alternating turns.
    """
    if raw.get("utterances"):
        turns = [(str(u.get("speaker", "")), str(u.get("text", ""))) for u in raw["utterances"]]
    else:
        turns = _alternating(list(raw.get("text") or []))
    candidates = list(range(1, min(len(turns), MAX_TURN_CHOICES)))
    if not candidates:
        return None
    key = str(raw.get("conversation_id") or "") + "\n".join(t for _, t in turns)
    if v2:
        return _v2_fields(turns, candidates, key)
    return _fields(turns, pick_turn(candidates, key), v2)


def default_data_dir() -> str:
    return locations.get("DIALOG_DATA_DIR") or DEFAULT_DATA_DIR


def _entry(
    name: str,
    source: sources.Source,
    preprocess: Callable[[Example], Optional[Fields]],
    paper: str,
    what: str,
) -> CatalogEntry:
    entry = CatalogEntry(
        name=f"dialog_{name}",
        collection=COLLECTION,
        cluster=CLUSTER,
        source=source,
        preprocess=preprocess,
        fields=FIELDS,
        templates=templates_lib.from_flan_patterns({f"dialog_{name}": PATTERNS[name]})[
            f"dialog_{name}"
        ],
        # FLAN scored these by accuracy of the generated turn; ROUGE is more informative
        # for free-form replies.
        metric="rouge",
        eval_mode="generate",
        paper_dataset=paper,
        inversion=True,
        train_split="train",
        eval_split="validation",
        description=f"{paper}: {what} Next-turn prediction (context -> response).",
    )
    # With FLAN_SOURCE_DIR: v2's templates of the task (`flan/v2/task_configs.py`
    # DIALOG_TASK_CONFIGS[name], DIALOG_II_TASK_CONFIGS[f"{name}_input_inversion"]).
    v2 = flan_v2.entry_fields(entry.name, name, COLLECTION)
    if not v2:
        return entry
    v2.update(flan_v2.inversion_fields(entry.name, f"{name}_input_inversion", COLLECTION))
    # v2's zs_opt Dialog / Dialog-II tasks: `{name}[_input_inversion]_template_0to10_non_deter_
    # opt_zero_shot` (`flan/v2/tasks.py`), the dialog written by format_dialog_non_deterministic.
    cands = flan_v2_dialog.candidates(COLLECTION)
    assert cands is not None  # FLAN_SOURCE_DIR is set
    return dataclasses.replace(entry, preprocess=functools.partial(preprocess, v2=True),
                               fields=V2_FIELDS, redraw=redraw_turn,
                               flan2022_nondeter=functools.partial(nondeterministic_dialog,
                                                                   cands=cands), **v2)


def entries(
    data_dir: Optional[str] = None, tfds_data_dir: Optional[str] = None
) -> list[CatalogEntry]:
    """The three dialog entries; Taskmaster reads JSONL under `data_dir`."""
    root = data_dir or default_data_dir()
    return [
        _entry(
            "wiki_dialog",
            sources.TfdsSource(
                "wiki_dialog/OQ:1.0.0",
                {"train": "train", "validation": "validation"},
                data_dir=tfds_data_dir,
            ),
            preprocess_wiki_dialog,
            "WikiDialog",
            "TFDS wiki_dialog/OQ (dialogs inpainted from Wikipedia passages).",
        ),
        _entry(
            "qrecc",
            sources.TfdsSource(
                "q_re_cc:1.0.0", {"train": "train", "validation": "test"}, data_dir=tfds_data_dir
            ),
            preprocess_qrecc,
            "QReCC",
            "TFDS q_re_cc (conversational QA; test split used as validation).",
        ),
        _entry(
            "task_master",
            sources.JsonlSource(
                files={
                    "train": os.path.join(root, "task_master_train*.jsonl"),
                    "validation": os.path.join(root, "task_master_validation*.jsonl"),
                }
            ),
            preprocess_task_master,
            "Taskmaster",
            "JSONL prepared by the user, one Taskmaster conversation per line.",
        ),
    ]


ENTRIES = entries()
for _entry_ in ENTRIES:
    register_entry(_entry_)
