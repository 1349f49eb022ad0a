"""What the FLAN 2021 cluster modules share: splits, preprocess helpers and `add`.

`add` builds one TFDS-backed `CatalogEntry` in FLAN's convention (rank classification
exactly when the preprocess gives answer `options`; at most `MAX_TRAIN_EXAMPLES` training
examples), takes its templates from the cluster module's patterns and registers it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, Sequence

from flanjax.data import templates
from flanjax.data.templates import flan_v2
from flanjax.data.templates import sources as prompt_sources
from flanjax.data.catalog import flan2022_facts
from flanjax.data.catalog.entry import CatalogEntry, Example, Fields, tfds_entry
from flanjax.data.catalog.registry import register_entry

COLLECTION = "flan2021"

# FLAN 2021 trains on at most 30k examples per dataset (Wei et al. 2021, Section 2.3/
# Appendix: "we limit the number of training examples per dataset to 30k"), applied as a
# split slice of the train split (`CatalogEntry.max_train_examples`).
MAX_TRAIN_EXAMPLES = 30_000

# Every FLAN 2021 entry, in registration order.
ENTRIES: list[CatalogEntry] = []

# ------------------------------------------------------------------------------ splits
# FLAN's standard splits (`SPLITS_DICT` in flan/tasks.py) without the 30k / 200 caps.
TRAIN_VAL = {"train": "train", "validation": "validation"}
TRAIN_VAL_TEST = {"train": "train", "validation": "validation", "test": "test"}
# Builders whose labelled evaluation data is their "test" split: evaluate on test, as FLAN.
TRAIN_TEST = {"train": "train", "validation": "test"}

# ----------------------------------------------------------------------------- options
NO_YES = ("no", "yes")  # WNLI (1 is entailment), MRPC / QQP / PAWS (1 is paraphrase)
S12 = {"sentence1": "sentence1", "sentence2": "sentence2"}


# ----------------------------------------------------------------------------- helpers
def pick(options: Sequence[str], label: Any) -> Optional[str]:
    """`options[label]`, or None for a missing label (-1) or one out of range."""
    if label is None or isinstance(label, bool):
        return None
    i = int(label)
    return options[i] if 0 <= i < len(options) else None


def labeled(
    text_fields: Mapping[str, str],
    options: Sequence[str],
    per_label: Optional[Mapping[str, Sequence[str]]] = None,
    clean: Callable[[str], str] = lambda s: s,
) -> Callable[[Example], Optional[Fields]]:
    """Preprocess for `(texts..., label)` classification examples.

    Args:
      text_fields: output field name -> raw feature name.
      options: the answer options, indexed by the raw `label`.
      per_label: extra fields whose value depends on the label (turned-around templates).
      clean: applied to every text field.
    """

    def preprocess(raw: Example) -> Optional[Fields]:
        answer = pick(options, raw.get("label"))
        if answer is None:
            return None
        out: Fields = {k: clean(raw[v]) for k, v in text_fields.items()}
        out["options"] = list(options)
        out["answer"] = answer
        for name, values in (per_label or {}).items():
            out[name] = values[int(raw["label"])]
        return out

    return preprocess


def label_fields(text_fields: Mapping[str, str], *extra: str) -> tuple[str, ...]:
    """The fields `labeled` returns."""
    return tuple(text_fields) + ("options", "answer") + extra


def references(raw: Example) -> tuple[str, list[str]]:
    """GEM's (target, all references): FLAN scores against references + target."""
    refs = [r for r in raw.get("references", []) if r]
    target = raw.get("target") or (refs[0] if refs else "")
    answers = refs + ([target] if target and target not in refs else [])
    return target, answers


def clean_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def choose(options: Sequence[str], label: Any) -> Optional[Fields]:
    """`options` plus the gold option; None for unlabelled rows (label -1 or out of range)."""
    label = int(label)
    if not 0 <= label < len(options):
        return None
    return {"options": list(options), "answer": options[label]}


def numbered(items: Sequence[str], limit: Optional[int] = None) -> str:
    """FLAN's `enumerate_items`: "1. a\\n2. b"."""
    items = [clean_text(i) for i in items][:limit]
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))


def unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


# ------------------------------------------------------------------------------ entries
def add(
    name: str,
    cluster: str,
    paper_dataset: str,
    tfds_name: str,
    splits: Mapping[str, str],
    preprocess: Callable[[Example], Optional[Fields]],
    fields: Sequence[str],
    metric: str = "accuracy",
    description: str = "",
    *,
    own_patterns: Mapping[str, Sequence[tuple[str, str]]],
    pattern_key: Optional[str] = None,
    flan_key: Optional[str] = None,
) -> CatalogEntry:
    """Registers one FLAN 2021 entry with the templates of `pattern_key` (default: `name`).

    With FLAN_SOURCE_DIR set, the templates are FLAN's own `PATTERNS[flan_key]` of
    `flan/templates.py` (default key: `pattern_key`), read by
    `flanjax.data.templates.sources`; registration then checks that the preprocess gives
    every field they read.
    """
    key = pattern_key or name
    entry_templates = templates_for(name, key, own_patterns, flan_key or key)
    # Flan 2022's templates (flan/v2/templates.py PATTERNS, PATTERNS_NO_OPTIONS,
    # FEWSHOT_PATTERNS) under FLAN_SOURCE_DIR; {} without it.
    v2 = flan_v2.entry_fields(name, flan_key or key, "flan2022", name=key)
    entry = tfds_entry(
        name=name, collection=COLLECTION, cluster=cluster, paper_dataset=paper_dataset,
        tfds_name=tfds_name, splits=splits, preprocess=preprocess, fields=fields,
        templates=entry_templates, metric=metric, description=description,
        max_train_examples=MAX_TRAIN_EXAMPLES,
    )
    entry = dataclasses.replace(
        entry, flan2022_train_split=flan2022_facts.FLAN_V2_TRAIN_SPLITS.get(name))
    if v2:
        entry = dataclasses.replace(entry, **v2)
    ENTRIES.append(register_entry(entry))
    return entry


_TEMPLATE_CACHE: dict[tuple[int, str], tuple[Any, ...]] = {}


def templates_for(
    name: str, key: str, own_patterns: Mapping[str, Sequence[tuple[str, str]]], flan_key: str
) -> tuple[Any, ...]:
    """Entry `name`'s templates (named `{key}:{i}`): FLAN's `PATTERNS[flan_key]` of
    `flan/templates.py` under FLAN_SOURCE_DIR when that is set, else `own_patterns[key]`."""
    source = prompt_sources.flan_patterns(prompt_sources.FLAN_V1_TEMPLATES, COLLECTION)
    if source is None:
        return _templates(key, own_patterns)
    patterns, path = source
    pairs = prompt_sources.require_patterns(patterns, flan_key, path, name)
    return templates.from_flan_patterns({key: pairs}, origin=path)[key]


def _templates(key: str, own_patterns: Mapping[str, Sequence[tuple[str, str]]]) -> tuple[Any, ...]:
    # One tuple per pattern key, shared by the entries that read it (ANLI R1-R3, ...).
    cache_key = (id(own_patterns), key)
    if cache_key not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[cache_key] = templates.from_flan_patterns({key: own_patterns[key]})[key]
    return _TEMPLATE_CACHE[cache_key]
