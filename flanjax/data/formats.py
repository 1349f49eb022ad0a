"""Flan 2022 formats: zero-shot, few-shot, chain-of-thought and input inversion.

Each format turns rendered examples (`flanjax.data.templates.Rendered`) into the dict a
seqio task carries: "inputs", "targets", and for evaluation "answer_options" and
"template_id".

Few-shot follows Flan 2022 (`flan/v2/few_shot.py`, `FewShotPattern` in
`flan/v2/templates.py`, seqio's `fewshot_preprocessor`): each exemplar is
`{inputs_prefix}{inputs}{x_y_delimiter}{targets_prefix}{targets}{separator}`, the query
follows as `{inputs_prefix}{inputs}{x_y_delimiter}{targets_prefix}`, and trailing spaces
(not newlines) are removed. Flan 2022 dropped exemplars that did not fit the input length;
here the last ones go first and, if none fits, the zero-shot form is returned with
"num_exemplars" 0 (Flan 2022 filtered those; callers may too).

Chain-of-thought targets are "{rationale} So the answer is {answer}." (the most common of
Flan 2022's CoT target patterns); zero-shot CoT appends Kojima et al. (2022)'s trigger
"Let's think step by step."; few-shot CoT uses "Q: "/"A: " prefixes as Wei et al. (2022).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable, Optional, Sequence, TypeVar

from flanjax.data.templates.base import Rendered

T = TypeVar("T")

# Flan 2022 FewShotPattern defaults.
X_Y_DELIMITER = "\n\n"
EXAMPLE_SEPARATOR = "\n\n\n"
HEADER_SEPARATOR = "\n\n"  # after a benchmark's task description (MMLU, BBH)
ZERO_SHOT_COT_TRIGGER = "Let's think step by step."  # Kojima et al. 2022
DEFAULT_INVERSION_INSTRUCTION = "Write the request that the following text is the answer to."


def _record(rendered: Rendered, template_id: str, inputs: str, targets: str) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "targets": targets,
        "answer_options": list(rendered.answer_options),
        "template_id": template_id,
    }


def zero_shot(rendered: Rendered, template_id: str) -> dict[str, Any]:
    """The rendered example as it is."""
    return _record(rendered, template_id, rendered.inputs, rendered.targets)


def few_shot(
    query: Rendered,
    exemplars: Sequence[Rendered],
    *,
    template_id: str,
    max_input_length: Optional[int] = None,
    length_fn: Callable[[str], int] = len,
    separator: str = EXAMPLE_SEPARATOR,
    x_y_delimiter: str = X_Y_DELIMITER,
    inputs_prefix: str = "",
    targets_prefix: str = "",
    header: str = "",
    keep_layout: bool = False,
) -> dict[str, Any]:
    """Exemplars (in the order given) then the query; exemplars dropped from the last to fit.

    The query is never cut: if it does not fit even alone, the zero-shot form is returned
    (and a too-long input is left to the task's truncation). The result has
    "num_exemplars", the count kept. A benchmark's prompt (`keep_layout=True`) keeps its
    `header` (task description, always first) and query prefixes with no exemplars too.
    """

    def compose(shots: Sequence[Rendered]) -> str:
        parts = [f"{header}{HEADER_SEPARATOR}"] if header else []
        parts += [
            f"{inputs_prefix}{ex.inputs}{x_y_delimiter}{targets_prefix}{ex.targets}{separator}"
            for ex in shots
        ]
        parts.append(f"{inputs_prefix}{query.inputs}{x_y_delimiter}{targets_prefix}")
        return re.sub(r" +$", "", "".join(parts))  # trailing spaces only, as Flan 2022

    shots = list(exemplars)
    while True:
        inputs = compose(shots)
        if max_input_length is None or length_fn(inputs) <= max_input_length or not shots:
            if shots or keep_layout:
                record = _record(query, template_id, inputs, query.targets)
                record["num_exemplars"] = len(shots)
                return record
            break
        shots.pop()
    record = zero_shot(query, template_id)
    record["num_exemplars"] = 0
    return record


def select_exemplars(
    pool: Sequence[T],
    k: int,
    *,
    seed: int,
    key: str,
    exclude: Optional[Callable[[T], bool]] = None,
) -> list[T]:
    """`k` distinct items of `pool` (fewer if the pool is short), fixed by `(seed, key)`.

    Items are ranked by SHA-256 of (seed, key, position in pool): the draw is the same in
    every process, and growing `k` keeps the earlier picks. `exclude` drops candidates, e.g.
    the query itself.
    """
    if k <= 0:
        return []

    def rank(index: int) -> bytes:
        return hashlib.sha256(f"{seed}\x00{key}\x00{index}".encode("utf-8")).digest()

    candidates = [i for i, item in enumerate(pool) if exclude is None or not exclude(item)]
    return [pool[i] for i in sorted(candidates, key=rank)[:k]]


# --- chain-of-thought --------------------------------------------------------------------


def cot_target(rationale: str, answer: str) -> str:
    """'{rationale} So the answer is {answer}.' with sentence punctuation kept single."""
    rationale, answer = rationale.strip(), answer.strip()
    if not answer:
        raise ValueError("A chain-of-thought target needs a non-empty answer.")
    if rationale and rationale[-1] not in ".!?":
        rationale += "."
    if not answer.endswith((".", "!", "?")):
        answer += "."
    return f"{rationale} So the answer is {answer}" if rationale else f"So the answer is {answer}"


_ANSWER_IS = re.compile(r"the answer is", re.IGNORECASE)


def extract_cot_answer(text: str) -> str:
    """The answer after the last "the answer is" (to the end of its line), without a final
    period; the whole stripped text if the phrase is absent."""
    matches = list(_ANSWER_IS.finditer(text))
    answer = text[matches[-1].end() :] if matches else text
    answer = answer.strip().lstrip(":").strip()
    if matches:
        answer = answer.split("\n", 1)[0].strip()
    return answer[:-1].rstrip() if answer.endswith(".") else answer


def zero_shot_cot(
    rendered: Rendered, template_id: str = "", *, trigger: str = ZERO_SHOT_COT_TRIGGER
) -> dict[str, Any]:
    """The input followed by the zero-shot CoT trigger on its own line."""
    return _record(rendered, template_id, f"{rendered.inputs}\n{trigger}", rendered.targets)


# --- input inversion ---------------------------------------------------------------------


def invert(rendered: Rendered, *, instruction: Optional[str] = None) -> Rendered:
    """The target becomes the input and the original input the target (Flan 2022's
    inverted dialog and QA tasks: from the answer or response, write the question or
    context). The instruction line comes first; the result has no answer options."""
    if not rendered.targets.strip():
        raise ValueError("Cannot invert an example with an empty target.")
    instruction = DEFAULT_INVERSION_INSTRUCTION if instruction is None else instruction
    inputs = f"{instruction}\n\n{rendered.targets}" if instruction else rendered.targets
    return Rendered(inputs=inputs, targets=rendered.inputs)
