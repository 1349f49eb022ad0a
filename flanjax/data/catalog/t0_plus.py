"""The datasets T0+ and T0++ add to T0 (Sanh et al. 2021, Section 6 and Table 5; t-zero
`t0/datasets.csv` `do_train` = GPT_EVAL and SGLUE) that the T0 catalog does not already have
as held-out entries (HellaSwag, WSC, COPA, WiC), and the ones Flan 2022's T0-SF adds (RACE,
web_questions). Training datasets only: `preprocess` hands promptsource's templates the HF
row as it is; flanjax's own templates (`t0_templates/`) read the same columns.

Importing this module registers the entries; it reads the (local) template files, no data.
"""

from __future__ import annotations

from flanjax.data.catalog.entry import CatalogEntry
from flanjax.data.catalog.registry import register_entry
from flanjax.data.catalog.t0 import TRAIN_TEST, TRAIN_VAL, hf_source, make_entry, passthrough

_ARC = ("id", "question", "choices", "answerKey")
_RACE = ("example_id", "article", "answer", "question", "options")


def entries() -> list[CatalogEntry]:
    cbqa, eqa, mcqa = "closed_book_qa", "extractive_qa", "multiple_choice_qa"
    out = [
        make_entry(f"t0_ai2_arc_{level.lower()}", cbqa, hf_source("ai2_arc", f"ARC-{level}"),
                   _ARC, passthrough, rank=False, metric="exact_match", paper="ai2_arc",
                   templates="t0_ai2_arc")
        for level in ("Challenge", "Easy")
    ]
    out += [
        make_entry("t0_trivia_qa_unfiltered", cbqa, hf_source("trivia_qa", "unfiltered"),
                   ("question", "question_id", "question_source", "entity_pages",
                    "search_results", "answer"), passthrough, rank=False, metric="squad",
                   paper="trivia_qa"),
        make_entry("t0_web_questions", cbqa, hf_source("web_questions", None, TRAIN_TEST),
                   ("url", "question", "answers"), passthrough, rank=False, metric="squad",
                   eval_split="test"),
        make_entry("t0_squad_v2", eqa, hf_source("squad_v2", None, TRAIN_VAL),
                   ("id", "title", "context", "question", "answers"), passthrough, rank=False,
                   metric="squad"),
        make_entry("t0_openbookqa_main", mcqa, hf_source("openbookqa", "main"),
                   ("id", "question_stem", "choices", "answerKey"), passthrough, rank=False,
                   metric="exact_match", paper="openbookqa"),
        make_entry("t0_race_high", mcqa, hf_source("race", "high"), _RACE, passthrough,
                   rank=False, metric="exact_match", paper="race"),
        make_entry("t0_race_middle", mcqa, hf_source("race", "middle"), _RACE, passthrough,
                   rank=False, metric="exact_match", paper="race"),
        make_entry("t0_piqa", mcqa, hf_source("piqa"), ("goal", "sol1", "sol2", "label"),
                   passthrough, rank=False, metric="exact_match"),
        make_entry("t0_super_glue_record", eqa, hf_source("super_glue", "record"),
                   ("passage", "query", "entities", "answers", "idx"), passthrough, rank=False,
                   metric="squad", paper="record"),
        make_entry("t0_super_glue_boolq", mcqa, hf_source("super_glue", "boolq"),
                   ("question", "passage", "idx", "label"), passthrough, rank=False,
                   metric="exact_match", paper="boolq"),
        make_entry("t0_super_glue_multirc", mcqa, hf_source("super_glue", "multirc"),
                   ("paragraph", "question", "answer", "idx", "label"), passthrough, rank=False,
                   metric="exact_match", paper="multirc"),
    ]
    return out


ENTRIES = entries()
for _e in ENTRIES:
    register_entry(_e)
