"""Flan 2022's templates of one catalog entry, read from the user's google-research/FLAN
checkout (FLAN_SOURCE_DIR): what `flan/v2/tasks.py` formats each task with.

- zero-shot with options: `PATTERNS[key]` of `flan/v2/templates.py`;
- zero-shot without options: `PATTERNS_NO_OPTIONS[key]`, which v2 builds as a copy of
  `PATTERNS` updated with `PATTERNS` of `flan/v2/flan_templates_branched.py` (the original
  FLAN templates), each input pattern then cut with `ZS_NO_OPTIONS_REMOVALS` in order;
- few-shot: `FEWSHOT_PATTERNS[key]` (`flanjax.data.templates.fewshot`).

`key` is v2's pattern name of the task (`flan/v2/utils.py` `t_name_to_flan_pattern_name`).
Every function returns an empty result when FLAN_SOURCE_DIR is unset; a key the files lack
fails naming the file and the entry. Files are read as data (`sources`), never imported.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from flanjax.data.templates import fewshot
from flanjax.data.templates import sources
from flanjax.data.templates.flan import FlanTemplate, from_flan_patterns

# `flan/v2/templates.py` imports it as `flan_templates`; PATTERNS_NO_OPTIONS.update(its PATTERNS).
FLAN_V2_BRANCHED = os.path.join("flan", "v2", "flan_templates_branched.py")
# `flan/v2/templates.py` PATTERNS_NO_OPTIONS loop: `in_template.replace(...)` with these, in order.
ZS_NO_OPTIONS_REMOVALS = ("\n\n{options_}", "\n{options_}", "{options_}", "\n\n{options_str}")


def templates_for(entry: str, key: str, collection: str, name: str = "") -> tuple[FlanTemplate, ...]:
    """v2 `PATTERNS[key]` as templates named `{name or key}:{i}`; () when FLAN_SOURCE_DIR is unset."""
    source = sources.flan_patterns(sources.FLAN_V2_TEMPLATES, collection)
    if source is None:
        return ()
    patterns, path = source
    pairs = sources.require_patterns(patterns, key, path, entry)
    return from_flan_patterns({name or key: pairs}, origin=path)[name or key]


def no_options_templates_for(entry: str, key: str, collection: str,
                             name: str = "") -> tuple[FlanTemplate, ...]:
    """v2 `PATTERNS_NO_OPTIONS[key]`: the branched file's `PATTERNS[key]` when it has the key,
    else `PATTERNS[key]` of `flan/v2/templates.py`, options cut out of each input pattern."""
    if sources.flan_source_file(sources.FLAN_V2_TEMPLATES) is None:
        sources.record(collection, sources.OWN)
        return ()
    branched = sources.flan_patterns(FLAN_V2_BRANCHED, collection)
    assert branched is not None  # FLAN_SOURCE_DIR is set
    patterns, path = branched
    if key not in patterns:
        patterns, path = sources.flan_patterns(sources.FLAN_V2_TEMPLATES, collection)  # type: ignore[misc]
    pairs = sources.require_patterns(patterns, key, path, entry)
    cut = []
    for inputs, targets in pairs:
        for piece in ZS_NO_OPTIONS_REMOVALS:
            inputs = inputs.replace(piece, "")
        cut.append((inputs, targets))
    out = from_flan_patterns({name or key: cut}, origin=path)[name or key]
    return tuple(dataclasses.replace(t, options_removed=True) for t in out)


def entry_fields(entry: str, key: str, collection: str, name: str = "") -> dict[str, Any]:
    """The `CatalogEntry` fields of Flan 2022's formats for pattern `key` (zero-shot with and
    without options, few-shot); {} when FLAN_SOURCE_DIR is unset."""
    with_options = templates_for(entry, key, collection, name)
    if not with_options:
        return {}
    return dict(
        flan2022_templates=with_options,
        flan2022_noopt_templates=no_options_templates_for(entry, key, collection, name),
        flan2022_fewshot=fewshot.flan2022_fewshot_for(entry, key, collection),
    )


def inversion_fields(entry: str, key: str, collection: str) -> dict[str, Any]:
    """The `CatalogEntry` fields of input inversion from v2's `PATTERNS[key]` and
    `FEWSHOT_PATTERNS[key]` (e.g. "cot_input_inversion_gsm8k"); {} when FLAN_SOURCE_DIR is unset."""
    zero_shot = templates_for(entry, key, collection)
    if not zero_shot:
        return {}
    return dict(
        flan2022_inversion_templates=zero_shot,
        flan2022_inversion_fewshot=fewshot.flan2022_fewshot_for(entry, key, collection),
    )


# ------------------------------------------------------------------ T0-SF task types
FLAN_V2_CONSTANTS_T0 = os.path.join("flan", "v2", "constants_t0.py")
T0_METADATA_SYMBOL = "T0_TRAIN_TASK_METADATA"
# The task types v2 formats T0 tasks with (`flan/v2/task_configs.py` T0 loop): keys of
# PATTERNS / FEWSHOT_PATTERNS of `flan/v2/templates.py`.
T0_TASK_TYPES = ("t0_question_answer", "t0_multiple_choice", "t0_multiple_choice_separated_options")
_T0_CACHE: dict[tuple[str, str], dict[str, Any]] = {}


def t0_task_metadata(entry: str, key: str) -> dict[str, Any]:
    """`T0_TRAIN_TASK_METADATA[key]` of `flan/v2/constants_t0.py` under FLAN_SOURCE_DIR ({}
    when unset), `key` being v2's T0 task name ("t0_task_adaptation:{t-zero task name}").
    Fails naming the file, the key and the entry."""
    path = sources.flan_source_file(FLAN_V2_CONSTANTS_T0)
    if path is None:
        return {}
    cache_key = (os.path.abspath(path), sources.file_sha256(path))
    if cache_key not in _T0_CACHE:
        _T0_CACHE[cache_key] = sources.read_literal(path, T0_METADATA_SYMBOL)
    metadata = _T0_CACHE[cache_key]
    if key not in metadata:
        raise sources.PromptSourceError(
            f"{path} has no {T0_METADATA_SYMBOL}[{key!r}], which catalog entry {entry!r} reads "
            "for its Flan 2022 task type; is PROMPTSOURCE_TEMPLATES_DIR promptsource's templates "
            "as P3 used them?"
        )
    task_type = metadata[key].get("task_type") if isinstance(metadata[key], dict) else None
    if task_type not in T0_TASK_TYPES:
        raise sources.PromptSourceError(
            f"{path}: {T0_METADATA_SYMBOL}[{key!r}]['task_type'] is {task_type!r}; expected one "
            f"of {T0_TASK_TYPES}."
        )
    return metadata[key]


def t0_task_type(entry: str, key: str) -> str:
    """`T0_TRAIN_TASK_METADATA[key]["task_type"]` ("" when FLAN_SOURCE_DIR is unset)."""
    return t0_task_metadata(entry, key).get("task_type", "")
