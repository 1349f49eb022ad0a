"""Flan 2022 few-shot training examples as google-research/FLAN `flan/v2/tasks.py` builds them
from v2's `FEWSHOT_PATTERNS` (`flanjax.data.templates.fewshot`, read from FLAN_SOURCE_DIR).

v2's few-shot submixtures (`flan/v2/mixtures_utils.py` FS_OPT_TEMPLATES, FS_NOOPT_TEMPLATES):
- fs_opt  = "{t}_template_mix_five_shot" + "{t}_template_0to10_x_shot";
- fs_noopt = "{t}_template_0to10_no_opt_x_shot" (patterns of FEWSHOT_PATTERNS_NO_OPTIONS).
flanjax's `{entry}_fs_varopt` draws one of v2's two fs_opt tasks per example (half each: both
have the same example cap in v2), `{entry}_fs_noopt` is the no-option x-shot task.

- "mix" (five-shot): 5 exemplars from the train split (`ShotConfig.FIVE`), each (and the query)
  in a pattern drawn from those with `in_template_mix`, shown as `combined_inputs_w_target_prefix`
  + targets; exemplars end with one separator of `MIX_SEPARATORS`, drawn once per task as v2's
  `random.choice`; the input goes through the 2nd pattern's `input_pattern` / `final_suffix`.
- "x_shot": 25 candidate exemplars (`num_shots_int = 25`), each in a pattern drawn from all of
  the dataset's; only those in the query's pattern stay (`prune_fewshot_examples_by_template_idx`,
  2.5 a query on average with 10 patterns); each ends with its pattern's `example_separator`,
  and the target is stripped (`strip_targets=True`).
Both then keep exemplars while the running sum of their input and target token counts stays
within `max_input_length` minus the query's input tokens (`prune_fewshot_examples_by_length`,
with v2's `constants.FEW_SHOT_MAX_LEN` for training); an example left with no exemplar is
dropped (`filter_zero_shot_in_few_shot`). Trailing spaces of the input are removed
(`remove_trailing_spaces_escape_newlines`).

A pattern is drawn from SHA-256 of (seed, task, example content), so an example shows the
same pattern as a query and as an exemplar, in every process.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any, Callable, Mapping, Optional, Sequence

from flanjax.data import formats
from flanjax.data.templates.base import Rendered
from flanjax.data.templates.fewshot import FewShotPattern

MIX_NUM_SHOTS = 5  # flan/v2/tasks.py: ShotConfig.FIVE for "template_mix_five_shot"
XSHOT_CANDIDATES = 25  # flan/v2/tasks.py: num_shots_int = 25 for "template_0to10_x_shot"
MIX_SEPARATORS = ("\n", "\n\n", "\n\n\n")  # flan/v2/tasks.py: example_separator=random.choice
VARIANTS = ("mix", "x_shot")

Fields = Mapping[str, Any]
Fill = Callable[[FewShotPattern, Fields], Optional[Rendered]]


def _draw(n: int, *parts: Any) -> int:
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little") % n


@dataclasses.dataclass(frozen=True)
class Piece:
    """An exemplar as v2 counts it: `inputs` and `targets` tokens count toward the length;
    `separator` (added later by seqio's `fewshot_preprocessor`) does not."""

    inputs: str
    targets: str
    separator: str = ""


def prune_by_length(pieces: Sequence[Piece], query_inputs: str, max_input_length: Optional[int],
                    length_fn: Callable[[str], int]) -> list[Piece]:
    """v2 `prune_fewshot_examples_by_length`: the exemplars whose cumulative input + target
    token count is at most `max_input_length` minus the query's input tokens."""
    if max_input_length is None:
        return list(pieces)
    budget, total, kept = max_input_length - length_fn(query_inputs), 0, []
    for piece in pieces:
        total += length_fn(piece.inputs) + length_fn(piece.targets)
        if total > budget:
            break
        kept.append(piece)
    return kept


def compose(pieces: Sequence[Piece], query_inputs: str) -> str:
    """Exemplars then the query, trailing spaces (not newlines) removed, as v2."""
    text = "".join(p.inputs + p.targets + p.separator for p in pieces) + query_inputs
    # v2's regex_replace(r" *$") is RE2's: `$` is the end of the text only (Python's `$` also
    # matches before a final newline, hence `\Z`).
    return re.sub(r" *\Z", "", text)


def variant_of(patterns: Sequence[FewShotPattern], noopt: bool, *, seed: int, task: str,
               key: str) -> str:
    """"x_shot" for fs_noopt; for fs_opt "mix" or "x_shot", half each ("x_shot" alone when no
    pattern is `in_template_mix`: v2 then registers no mix task)."""
    if noopt or not any(p.in_template_mix for p in patterns):
        return "x_shot"
    return VARIANTS[_draw(2, seed, task, "variant", key)]


def render(
    patterns: Sequence[FewShotPattern],
    *,
    variant: str,
    fields: Fields,
    key: str,
    pool: Sequence[Fields],
    key_of: Callable[[Fields], str],
    fill: Fill,
    seed: int,
    task: str,
    max_input_length: Optional[int],
    length_fn: Callable[[str], int],
) -> tuple[Optional[dict[str, Any]], str]:
    """One v2 few-shot example, or (None, why) when it has no exemplar left.

    Returns ({inputs, targets, answer_options, num_exemplars, pattern}, "") on success.
    """
    usable = list(patterns) if variant == "x_shot" else [p for p in patterns if p.in_template_mix]
    choose = lambda k: usable[_draw(len(usable), seed, task, "pattern", k)]  # noqa: E731
    query_pattern = choose(key)
    query = fill(query_pattern, fields)
    if query is None:
        return None, f"pattern {query_pattern.name} renders empty"
    k = XSHOT_CANDIDATES if variant == "x_shot" else MIX_NUM_SHOTS
    candidates = formats.select_exemplars(pool, k, seed=seed, key=f"{task}|{key}",
                                          exclude=lambda f: key_of(f) == key)
    pieces = []
    separator = MIX_SEPARATORS[_draw(len(MIX_SEPARATORS), seed, task, "separator")]
    for candidate in candidates:
        pattern = choose(key_of(candidate))
        if variant == "x_shot" and pattern is not query_pattern:
            continue  # prune_fewshot_examples_by_template_idx
        shot = fill(pattern, candidate)
        if shot is None:
            continue
        if variant == "x_shot":
            pieces.append(Piece(shot.inputs, shot.targets + pattern.example_separator))
        else:
            pieces.append(Piece(shot.inputs, shot.targets, separator))
    kept = prune_by_length(pieces, query.inputs, max_input_length, length_fn)
    if not kept:
        return None, f"no {variant} exemplar kept (v2 filter_zero_shot_in_few_shot)"
    text = compose(kept, query.inputs)
    if variant == "x_shot":
        # x_shot tasks keep v2's default input_pattern and strip the target (strip_targets).
        inputs = text
        targets = (query.targets + query_pattern.example_separator).strip()
    else:
        # "We always use the 2nd template's final_suffix and input_pattern" (flan/v2/tasks.py).
        outer = patterns[min(1, len(patterns) - 1)]
        inputs, targets = outer.format_input(text, dict(fields)), query.targets
    return {
        "inputs": inputs,
        "targets": targets,
        "answer_options": list(query.answer_options),
        "num_exemplars": len(kept),
        "pattern": query_pattern,
    }, ""
