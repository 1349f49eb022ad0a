"""Flan 2022's T0-SF formats of a T0 catalog entry, as google-research/FLAN `flan/v2/` composes
them, when both FLAN_SOURCE_DIR and PROMPTSOURCE_TEMPLATES_DIR are set (else nothing changes:
the entry's Flan 2022 formats keep its own prompts).

For each promptsource prompt the entry trains on (t-zero's blacklist already removed):
- v2's task name is "t0_task_adaptation:" + t-zero's task name (`t0_facts.flan_v2_task_key`;
  `flan/v2/constants_t0.py` T0_TASK_PREFIX);
- `T0_TRAIN_TASK_METADATA[name]` of `flan/v2/constants_t0.py` gives its task type; v2 drops a
  task whose `in_flan` is true or whose name has "_score_eval" (`flan/v2/task_configs.py`, the
  T0 loop), and so does this;
- its Flan 2022 templates are v2's `PATTERNS`, `PATTERNS_NO_OPTIONS` and `FEWSHOT_PATTERNS` of
  that task type (`flan/v2/templates.py`), wrapped around the prompt
  (`flanjax.data.templates.t0_sf`).

A prompt missing from `constants_t0.py`, or a v2 pattern reading a field v2's example of its
type lacks, fails at registration naming the file, the key and the entry.
"""

from __future__ import annotations

from typing import Any, Sequence

from flanjax.data import locations
from flanjax.data.catalog import flan2022_facts, t0_facts
from flanjax.data.templates import fewshot, flan_v2, sources
from flanjax.data.templates import t0_sf
from flanjax.data.templates.flan import pattern_fields

COLLECTION = "t0"  # v2's files are recorded with the T0 collection's promptsource files
SCORE_EVAL = "_score_eval"  # flan/v2/task_configs.py: `if "_score_eval" in subtask_id: continue`


def active() -> bool:
    """Whether T0-SF is composed as v2 does: both prompt sources are set."""
    return all(locations.get(s) for s in ("FLAN_SOURCE_DIR", "PROMPTSOURCE_TEMPLATES_DIR"))


def _check_fields(entry: str, key: str, task_type: str, name: str, origin: str,
                  pieces: Sequence[str]) -> None:
    read = frozenset().union(*(pattern_fields(p) for p in pieces))
    extra = sorted(read - t0_sf.V2_FIELDS[task_type] - {"inputs"})
    if extra:
        raise sources.PromptSourceError(
            f"{origin}: pattern {name!r} of {task_type!r} reads {extra}, which v2's T0 example "
            f"({key}, entry {entry!r}) does not have: {sorted(t0_sf.V2_FIELDS[task_type])}."
        )


def _patterns(entry: str, key: str, task_type: str) -> dict[str, tuple[Any, ...]]:
    """v2's zero-shot, no-options and few-shot patterns of `task_type`, their fields checked."""
    zs = flan_v2.templates_for(entry, task_type, COLLECTION)
    noopt = flan_v2.no_options_templates_for(entry, task_type, COLLECTION)
    fs = fewshot.flan2022_fewshot_for(entry, task_type, COLLECTION)
    for t in (*zs, *noopt):
        _check_fields(entry, key, task_type, t.name, t.origin, (t.input_pattern, t.target_pattern))
    for p in fs:
        outer = p.input_pattern.format(final_suffix=p.final_suffix)
        _check_fields(entry, key, task_type, p.name, p.origin,
                      (p.combined_inputs, p.targets, outer))
    return {"zs": zs, "noopt": noopt, "fs": fs}


def _wrap(prompt: Any, task_type: str, templates: Sequence[Any]) -> list[t0_sf.T0SFTemplate]:
    # Named "{v2 pattern}|{prompt}": unique in the entry; template ids read "{i}_{prompt}".
    return [t0_sf.T0SFTemplate(f"{t.name}|{prompt.name}", t.input_pattern, t.target_pattern,
                               origin=t.origin, options_removed=t.options_removed,
                               prompt=prompt, task_type=task_type) for t in templates]


def entry_fields(entry: str, prompts: Sequence[Any]) -> dict[str, Any]:
    """The `CatalogEntry` fields of v2's T0-SF formats of `entry` with promptsource `prompts`;
    {} unless both sources are set and the entry is one of T0-SF's datasets."""
    dataset, subset = t0_facts.PROMPTSOURCE_DATASETS[entry]
    if not active() or (dataset, subset) not in flan2022_facts.T0_SF_DATASETS:
        return {}
    sources.record(COLLECTION, sources.FLAN, sources.flan_source_file(flan_v2.FLAN_V2_CONSTANTS_T0))
    by_type: dict[str, dict[str, tuple[Any, ...]]] = {}
    zero_shot, no_options, few_shot = [], [], []
    for prompt in prompts:
        key = t0_facts.flan_v2_task_key(dataset, subset, prompt.name)
        if SCORE_EVAL in key.split(":")[-1]:
            continue
        metadata = flan_v2.t0_task_metadata(entry, key)
        if metadata.get("in_flan"):
            continue
        task_type = metadata["task_type"]
        if task_type not in by_type:
            by_type[task_type] = _patterns(entry, key, task_type)
        patterns = by_type[task_type]
        zero_shot += _wrap(prompt, task_type, patterns["zs"])
        no_options += _wrap(prompt, task_type, patterns["noopt"])
        few_shot.append(t0_sf.T0SFFewShot(prompt, task_type, tuple(patterns["fs"])))
    if not zero_shot:
        origin = getattr(prompts[0], "origin", "") if prompts else ""
        raise sources.PromptSourceError(
            f"T0-SF entry {entry!r}: every prompt of {origin or dataset} is `in_flan` or "
            f"{SCORE_EVAL} in {flan_v2.FLAN_V2_CONSTANTS_T0}; v2 trains none of them."
        )
    return dict(flan2022_templates=tuple(zero_shot), flan2022_noopt_templates=tuple(no_options),
                flan2022_fewshot=tuple(few_shot))


def num_prompt_tasks(entry: Any) -> int:
    """How many of v2's T0 tasks (one per prompt, each capped on its own in the T0
    submixture: `flan/v2/mixtures_utils.py` `register_mixture`, min(mix_ex_cap, size)) an entry
    stands for: its wrapped prompts; 1 for any other entry."""
    return sum(isinstance(g, t0_sf.T0SFFewShot) for g in entry.flan2022_fewshot) or 1


def task_types(entry: Any) -> dict[str, str]:
    """{prompt name: v2 task type} of an entry's T0-SF few-shot groups (for inspection)."""
    return {g.prompt.name: g.task_type for g in entry.flan2022_fewshot
            if isinstance(g, t0_sf.T0SFFewShot)}

