"""MGSM as google-research/url-nlp ships it (Shi et al. 2022), read with no conversion step:
`mgsm/mgsm_{lang}.tsv` (one problem a line: question TAB numeric answer, no header) and the
native chain-of-thought exemplars in `mgsm/exemplars.py` (`MGSM_EXEMPLARS[lang]["1".."8"]`
with "q" and "a", read as data with `ast`, never imported).

Rows come out in the shape of the Hugging Face copy (`juletxara/mgsm`) the catalog also
reads: test rows {question, answer_number, answer: None}; train rows (the exemplars)
{question: "Question: ...", answer: "Step-by-Step Answer: ...", answer_number: None}, with
the localized prefixes the release writes.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Optional

from flanjax.data.templates import sources as literal_sources

EXEMPLARS_FILE = "exemplars.py"
EXEMPLARS_SYMBOL = "MGSM_EXEMPLARS"


def release_dir(data_dir: str) -> Optional[str]:
    """The folder holding `mgsm_*.tsv` (`data_dir` or its `mgsm/`), or None: not a release."""
    for folder in (data_dir, os.path.join(data_dir, "mgsm")):
        if os.path.isdir(folder) and any(
            f.startswith("mgsm_") and f.endswith(".tsv") for f in os.listdir(folder)
        ):
            return folder
    return None


def tsv_path(folder: str, lang: str) -> str:
    return os.path.join(folder, f"mgsm_{lang}.tsv")


def check(folder: str, lang: str, split: str) -> None:
    path = tsv_path(folder, lang) if split == "test" else os.path.join(folder, EXEMPLARS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: the MGSM release (google-research/url-nlp mgsm/) has "
            f"mgsm_{{lang}}.tsv and {EXEMPLARS_FILE}."
        )


def test_rows(folder: str, lang: str) -> Iterator[dict[str, Any]]:
    path = tsv_path(folder, lang)
    check(folder, lang, "test")
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise ValueError(
                    f"{path}:{line_no}: expected 2 tab-separated columns (question, answer "
                    f"number), got {len(parts)}."
                )
            yield {"question": parts[0], "answer_number": parts[1].strip(), "answer": None}


def exemplar_rows(folder: str, lang: str) -> Iterator[dict[str, Any]]:
    path = os.path.join(folder, EXEMPLARS_FILE)
    check(folder, lang, "train")
    table = literal_sources.read_literal(path, EXEMPLARS_SYMBOL)
    if not isinstance(table, dict) or lang not in table or not isinstance(table[lang], dict):
        raise ValueError(f"{path}: {EXEMPLARS_SYMBOL} has no exemplars for {lang!r}.")
    shots = table[lang]
    for key in sorted(shots, key=lambda k: int(k) if str(k).isdigit() else str(k)):
        shot = shots[key]
        if not isinstance(shot, dict) or not isinstance(shot.get("q"), str) or not isinstance(
            shot.get("a"), str
        ):
            raise ValueError(f"{path}: {EXEMPLARS_SYMBOL}[{lang!r}][{key!r}] needs 'q' and 'a'.")
        yield {"question": shot["q"], "answer": shot["a"], "answer_number": None}


def rows(folder: str, lang: str, split: str) -> Iterator[dict[str, Any]]:
    return test_rows(folder, lang) if split == "test" else exemplar_rows(folder, lang)
