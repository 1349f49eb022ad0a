"""The Flan submixture's datasets beyond FLAN 2021's 62 (Longpre et al. 2023; google-research/
FLAN `flan/v2/task_configs_v1.py` TASK_CONFIGS and `flan/v2/task_configs.py`
FLAN_V0_TASK_CONFIGS): true_case, word_segment, lambada, unified_qa_science_inst. (wsc273 is
in TASK_CONFIGS but v2's `flan/v2/utils.py` `reset_split_maxes_on_flan_v0_configs` drops it:
it has no training data.)

Collection `flan2022_flan`: the Flan 2022 Flan submixture trains on these next to the
`flan2021` entries; the FLAN 2021 mixture does not. Preprocessors give FLAN's field names;
with FLAN_SOURCE_DIR set the templates are `flan/v2/templates.py`'s, else flanjax's own.
Splits are FLAN's: true_case and word_segment are carved from para_crawl/enda around
fix_punct (train[:30000], train[60400:90400], kept by v2); lambada and
unified_qa/ai2_science_middle read their whole train split
(`flan2022_facts.FLAN_V2_TRAIN_SPLITS`).

Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from flanjax.data import templates
from flanjax.data.catalog import flan2022_facts
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields, tfds_entry
from flanjax.data.catalog.registry import register_entry
from flanjax.data.templates import flan_v2
from flanjax.data.templates import sources as prompt_sources

COLLECTION = "flan2022_flan"

# flanjax's own wording, FLAN's field names (pure data, as `flan/templates.py` is shaped).
PATTERNS = {
    "true_case": [("{lower}\n\nRewrite this with proper capitalization.", "{answer}"),
                  ("Capitalize the following text correctly: {lower}", "{answer}")],
    "word_segment": [("{no_space}\n\nAdd the spaces between the words.", "{answer}"),
                     ("Split this run-together text into words: {no_space}", "{answer}")],
    "lambada": [("{sentence}\n\nWhat is the missing last word?", "{answer}"),
                ("Give the word that ends this passage: {sentence}", "{answer}")],
    "unified_qa_science_inst": [("{question}\n\n{options_}", "{answer}"),
                                ("Science question: {question}\nChoose one.\n{options_}", "{answer}")],
}


def _true_case(ex: Example) -> Optional[Fields]:
    text = str(ex["en"])
    return None if text.lower() == text else {"lower": text.lower(), "answer": text}


def _word_segment(ex: Example) -> Optional[Fields]:
    text = str(ex["en"])
    return {"no_space": text.replace(" ", ""), "answer": text}


def _lambada(ex: Example) -> Optional[Fields]:
    passage = str(ex["passage"]).strip()
    sentence, _, answer = passage.rpartition(" ")
    return {"sentence": sentence, "answer": answer} if sentence and answer else None


_OPTION = re.compile(r"\(([A-E])\)")


def _unified_qa_science(ex: Example) -> Optional[Fields]:
    """FLAN's filter (exactly options A-D) and `unified_qa_science_inst` split of the input."""
    text = str(ex["input"]).replace("\\n", "\n")
    if "(D)" not in text or "(E)" in text:
        return None
    parts = _OPTION.split(text)
    question, options = parts[0].strip(), [p.strip() for p in parts[2::2]]
    answer = str(ex["output"]).replace("\\n", "\n").strip()
    return {"question": question, "options": options, "answer": answer} if answer in options else None


def _templates(key: str) -> tuple:
    source = prompt_sources.flan_patterns(prompt_sources.FLAN_V2_TEMPLATES, COLLECTION)
    if source is None:
        return templates.from_flan_patterns({key: PATTERNS[key]})[key]
    patterns, path = source
    pairs = prompt_sources.require_patterns(patterns, key, path, key)
    return templates.from_flan_patterns({key: pairs}, origin=path)[key]


def _add(name: str, cluster: str, tfds_name: str, splits: dict, preprocess, fields, metric: str,
         description: str) -> CatalogEntry:
    entry = tfds_entry(
        name=name, collection=COLLECTION, cluster=cluster, paper_dataset=name,
        tfds_name=tfds_name, splits=splits, preprocess=preprocess, fields=fields,
        templates=_templates(name), metric=metric, description=description,
        max_train_examples=30_000,  # FLAN 2021's slice; Flan 2022 formats read v2's split
    )
    entry = dataclasses.replace(entry, flan2022_train_split=flan2022_facts.FLAN_V2_TRAIN_SPLITS[name])
    v2 = flan_v2.entry_fields(name, name, COLLECTION)
    if v2:  # FLAN_SOURCE_DIR set: the templates are v2's; Flan 2022 formats too
        entry = dataclasses.replace(entry, **v2)
    return register_entry(entry)


ENTRIES = [
    _add("true_case", "misc", "para_crawl/enda:1.2.0",
         {"train": "train[:30000]", "validation": "train[30000:30200]", "test": "train[-3000:]"},
         _true_case, ("lower", "answer"), "exact_match", "Restore the capitalization of a sentence."),
    _add("word_segment", "misc", "para_crawl/enda:1.2.0",
         {"train": "train[60400:90400]", "validation": "train[90400:90600]", "test": "train[-3000:]"},
         _word_segment, ("no_space", "answer"), "exact_match", "Put the spaces back into a sentence."),
    _add("lambada", "commonsense", "lambada:1.0.0", {"train": "train", "validation": "test"},
         _lambada, ("sentence", "answer"), "exact_match", "LAMBADA: the last word of a passage."),
    _add("unified_qa_science_inst", "closed_book_qa", "unified_qa/ai2_science_middle:1.0.0",
         {"train": "train", "validation": "validation"}, _unified_qa_science,
         ("question", "options", "answer"), "accuracy",
         "UnifiedQA's AI2 middle-school science questions with four options."),
]
