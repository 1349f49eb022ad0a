"""MGSM's 11 languages read as google-research/url-nlp releases them (`mgsm/mgsm_{lang}.tsv`
and `mgsm/exemplars.py`): exemplars and query carry the native prefixes exactly as
`exemplars.py` writes them, full-width colons (Japanese, Chinese) and the French space before
the colon included. The prefixes below were copied by hand from the real `exemplars.py`
(`MGSM_EXEMPLARS[lang][k]["q"]` / `["a"]`, the same for all 8 exemplars of a language)."""

from __future__ import annotations

import json

import pytest
import seqio

from flanjax.data import mixtures, render  # noqa: F401  (registers the catalog's tasks)
from flanjax.data.catalog import flan2022_eval as fe

NATIVE = {
    "bn": ("প্রশ্ন: ", "ধাপে ধাপে উত্তর: "),
    "de": ("Frage: ", "Schritt-für-Schritt-Antwort: "),
    "en": ("Question: ", "Step-by-Step Answer: "),
    "es": ("Pregunta: ", "Respuesta paso a paso: "),
    "fr": ("Question : ", "Réponse étape par étape : "),
    "ja": ("問題：", "ステップごとの答え："),
    "ru": ("Задача: ", "Пошаговое решение: "),
    "sw": ("Swali: ", "Jibu la Hatua kwa Hatua: "),
    "te": ("ప్రశ్న: ", "దశలవారీగా సమాధానం: "),
    "th": ("โจทย์: ", "คำตอบทีละขั้นตอน: "),
    "zh": ("问题：", "逐步解答："),
}


def _literal(text: str) -> str:
    # The real file writes non-ASCII text as \\u escapes, split over implicitly joined strings.
    half = len(text) // 2
    return f"{json.dumps(text[:half])}\n                 {json.dumps(text[half:])}"


def _exemplars_py() -> str:
    langs = []
    for lang, (q, a) in NATIVE.items():
        shots = ",\n".join(
            f'        "{k}": {{\n            "q": {_literal(f"{q}{lang} problem {k}?")},\n'
            f'            "a": {_literal(f"{a}{lang} steps {k}. {k}")}\n        }}'
            for k in range(1, 9))
        langs.append(f'    "{lang}": {{\n{shots}\n    }}')
    return ('"""Prompts for mgsm."""\n# pylint: disable=line-too-long\n\n'
            "EXEMPLAR_NUMBER_ANSWERS = [11, 29, 39, 9, 33, 8, 8, 5]\n\n"
            "MGSM_EXEMPLARS = {\n" + ",\n".join(langs) + "\n}\n")


@pytest.fixture
def release(tmp_path, monkeypatch):
    folder = tmp_path / "mgsm"
    folder.mkdir()
    (folder / "exemplars.py").write_text(_exemplars_py(), encoding="utf-8")
    for lang in NATIVE:
        (folder / f"mgsm_{lang}.tsv").write_text(f"{lang} test problem?\t7\n", encoding="utf-8")
    monkeypatch.setenv(fe.MGSM_DIR_ENV, str(tmp_path))
    render.clear_exemplar_caches()
    yield folder
    render.clear_exemplar_caches()


def _prompt(lang: str) -> str:
    ds = seqio.get_mixture_or_task(f"mgsm_{lang}_fs:cot").get_dataset(
        sequence_length={"inputs": 2048, "targets": 64}, split="test", shuffle=False)
    (row,) = list(ds.as_numpy_iterator())
    assert row["targets_pretokenized"].decode() == "7"
    return row["inputs_pretokenized"].decode()


@pytest.mark.parametrize("lang", sorted(NATIVE))
def test_every_language_reads_as_exemplars_py_writes_it(release, lang):
    q, a = NATIVE[lang]
    shots = "".join(f"{q}{lang} problem {k}?\n{a}{lang} steps {k}. {k}\n\n" for k in range(1, 9))
    # The query asks in the exemplars' words; the prompt ends at the answer prefix (its
    # trailing space, where it has one, stripped with the rest of the input's end).
    assert _prompt(lang) == f"{shots}{q}{lang} test problem?\n{a.rstrip()}"


def test_japanese_and_chinese_never_fall_back_to_english(release):
    for lang in ("ja", "zh"):
        text = _prompt(lang)
        assert "Question" not in text and "Step-by-Step" not in text
        assert text.count(NATIVE[lang][0]) == 9 and text.count(NATIVE[lang][1]) == 9
