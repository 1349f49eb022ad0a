"""FLAN 2021 translation cluster (Wei et al. 2021, Figure 3): preprocessors, catalog entries and
flanjax's own instruction patterns (eight WMT / ParaCrawl language pairs).

The patterns are flanjax's own wording, shaped like FLAN's `flan/templates.py` (see
`flanjax.data.catalog.flan2021`); `TURNED_AROUND` lists the turned-around ones.
Importing this module registers the entries; it reads no data.
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

from flanjax.data.catalog.entry import Example, Fields
from flanjax.data.catalog.flan2021 import common
from flanjax.data.catalog.flan2021.common import TRAIN_VAL_TEST, clean_text

# pylint: disable=line-too-long
# One set of translation patterns serves all eight language pairs (FLAN, too, shared its
# WMT patterns). Fields: lang1 = "English", sent1 = the English side, lang2 / sent2 = the
# other language.
_TRANSLATION = [
    ("{sent1}\n\nPlease translate this into {lang2}.", "{sent2}"),
    ("{sent2}\n\nPlease translate this into {lang1}.", "{sent1}"),
    ("Translate the following {lang1} text to {lang2}:\n\n{sent1}", "{sent2}"),
    ("Translate the following {lang2} text to {lang1}:\n\n{sent2}", "{sent1}"),
    ("What is the {lang2} translation of \"{sent1}\"?", "{sent2}"),
    ("What does \"{sent2}\" mean in {lang1}?", "{sent1}"),
    ("{lang1}: {sent1}\n{lang2}:", "{sent2}"),
    ("Render this sentence in {lang1}.\n\n{sent2}", "{sent1}"),
    ("Express the following in {lang2}: {sent1}", "{sent2}"),
    ("{sent2}\n\nWhich language is the text above written in?", "{lang2}"),
]
_TRANSLATION_TURNED = (9,)

TRANSLATION_DATASETS = (
    "para_crawl_enes",
    "wmt14_enfr",
    "wmt16_translate_deen",
    "wmt16_translate_tren",
    "wmt16_translate_csen",
    "wmt16_translate_fien",
    "wmt16_translate_roen",
    "wmt16_translate_ruen",
)

PATTERNS = {name: list(_TRANSLATION) for name in TRANSLATION_DATASETS}

# Indices into PATTERNS[dataset] of the turned-around patterns.
TURNED_AROUND = {name: _TRANSLATION_TURNED for name in TRANSLATION_DATASETS}

_add = functools.partial(common.add, own_patterns=PATTERNS)


# para_crawl has only a train split: FLAN's PARACRAWL_SPLITS_DICT (`flan/tasks.py`) trains on
# its first 30k examples and validates / tests on its tail.
_PARACRAWL = {
    "train": "train[:30000]", "validation": "train[-1200:-1000]", "test": "train[-1000:]"
}

_TRANSLATION_FIELDS = ("lang1", "lang2", "sent1", "sent2")


def _translation(code: str, language: str) -> Callable[[Example], Optional[Fields]]:
    """English is always lang1 / sent1, as in FLAN's `_process_wmt16_translate_*`."""

    def preprocess(ex: Example) -> Optional[Fields]:
        english, other = clean_text(ex["en"]), clean_text(ex[code])
        if not english or not other:
            return None
        return {"lang1": "English", "lang2": language, "sent1": english, "sent2": other}

    preprocess.__name__ = f"translation_{code}_en"
    return preprocess

_add("para_crawl_enes", "translation", "ParaCrawl EN/ES", "para_crawl/enes:1.2.0", _PARACRAWL,
     _translation("es", "Spanish"), _TRANSLATION_FIELDS, "bleu",
     "ParaCrawl English-Spanish web-crawled parallel sentences.", flan_key="para_crawl")

_add("wmt14_enfr", "translation", "WMT-14 EN/FR", "wmt14_translate/fr-en:1.0.0", TRAIN_VAL_TEST,
     _translation("fr", "French"), _TRANSLATION_FIELDS, "bleu",
     "WMT 2014 English-French news translation.")

for _code, _language in (("de", "German"), ("tr", "Turkish"), ("cs", "Czech"),
                         ("fi", "Finnish"), ("ro", "Romanian"), ("ru", "Russian")):
    _add(f"wmt16_translate_{_code}en", "translation", f"WMT-16 EN/{_code.upper()}",
         f"wmt16_translate/{_code}-en:1.0.0", TRAIN_VAL_TEST, _translation(_code, _language),
         _TRANSLATION_FIELDS, "bleu", f"WMT 2016 English-{_language} news translation.",
         flan_key="wmt16_translate")
