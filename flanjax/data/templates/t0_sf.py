"""Flan 2022's T0-SF prompts: a promptsource prompt wrapped in v2's patterns of its task type.

google-research/FLAN `flan/v2/` trains on P3 (T0's prompted datasets) as text that is then
formatted once more (`flan/v2/task_configs.py`, the T0 loop; `flan/v2/preprocessors.py` `t0`):

- `question` is the prompt's rendered input with each newline turned into a space, stripped;
- `answer` is its rendered target with newlines removed, stripped;
- for the task types "t0_multiple_choice" and "t0_multiple_choice_separated_options",
  `options` are the prompt's answer choices with newlines removed, stripped (the answer must
  be one of them: v2 looks its index up);
- the example is then formatted with v2's `PATTERNS[task_type]` (zero-shot; the separated-options
  type alone gets `{options_}`, from `prep.format_options`), `PATTERNS_NO_OPTIONS[task_type]`
  and `FEWSHOT_PATTERNS[task_type]` (and its no-options version).

`T0SFTemplate` is one (prompt, v2 zero-shot pattern) pair, a `FlanTemplate` whose fields are
the prompt's. `T0SFFewShot` is one prompt with its task type's few-shot patterns: a few-shot
query and its exemplars go through the same prompt (`flanjax.data.render`). Which task type a
prompt has, and the files read: `flanjax.data.catalog.flan2022_t0`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from flanjax.data.templates.base import Rendered
from flanjax.data.templates.fewshot import FewShotPattern
from flanjax.data.templates.flan import FlanTemplate, OptionsStyle

QUESTION_ANSWER = "t0_question_answer"
MULTIPLE_CHOICE = "t0_multiple_choice"
SEPARATED_OPTIONS = "t0_multiple_choice_separated_options"
# The placeholders v2's example of each task type fills (`prep.t0`: `options` for both
# multiple-choice types; `options_` only where the config has `prep.format_options`).
V2_FIELDS = {
    QUESTION_ANSWER: frozenset({"question", "answer"}),
    MULTIPLE_CHOICE: frozenset({"question", "answer", "options"}),
    SEPARATED_OPTIONS: frozenset({"question", "answer", "options", "options_"}),
}
# tf.strings.strip strips ASCII whitespace only (Python's str.strip also strips Unicode's).
_ASCII_SPACE = " \t\n\v\f\r"


def v2_example(rendered: Rendered, task_type: str) -> Optional[dict[str, Any]]:
    """v2's fields of one rendered P3 example (`flan/v2/preprocessors.py` `t0`); None when a
    multiple-choice target is not among the answer choices (v2's index lookup fails)."""
    question = rendered.inputs.replace("\n", " ").strip(_ASCII_SPACE)
    answer = rendered.targets.replace("\n", "").strip(_ASCII_SPACE)
    if task_type == QUESTION_ANSWER:
        return {"question": question, "answer": answer}
    options = [o.replace("\n", "").strip(_ASCII_SPACE) for o in rendered.answer_options]
    if answer not in options:
        return None
    return {"question": question, "answer": answer, "options": options}


@dataclasses.dataclass(frozen=True)
class T0SFTemplate(FlanTemplate):
    """v2's zero-shot pattern (`input_pattern`, `target_pattern`) of `prompt`'s task type,
    filled with v2's example of `prompt`. Reads the prompt's fields."""

    prompt: Any = None  # a `PromptsourceTemplate`
    task_type: str = ""

    def fields(self) -> frozenset[str]:
        return self.prompt.fields()

    def pattern(self) -> FlanTemplate:
        """v2's pattern alone, as a template of v2's example fields."""
        return FlanTemplate(self.name, self.input_pattern, self.target_pattern,
                            self.options_style, self.origin, self.options_removed)

    def render(self, example: Mapping[str, Any], *,
               options_style: Optional[OptionsStyle] = None) -> Optional[Rendered]:
        rendered = self.prompt.render(example)
        values = None if rendered is None else v2_example(rendered, self.task_type)
        if values is None:
            return None
        # Varied option styles only where v2 formats options (format_options_non_deterministic
        # replaces format_options, which only the separated-options type has).
        style = options_style if self.task_type == SEPARATED_OPTIONS else None
        return self.pattern().render(values, options_style=style)


@dataclasses.dataclass(frozen=True)
class T0SFFewShot:
    """One promptsource prompt and v2's `FEWSHOT_PATTERNS[task_type]` (or their no-options
    versions): `fill(pattern, example)` renders an example of the prompt in `pattern`."""

    prompt: Any  # a `PromptsourceTemplate`
    task_type: str
    patterns: tuple[FewShotPattern, ...]

    @property
    def name(self) -> str:
        return f"{self.task_type}|{self.prompt.name}"

    @property
    def origin(self) -> str:
        return self.patterns[0].origin if self.patterns else ""

    def fields(self) -> frozenset[str]:
        return self.prompt.fields()

    def no_options(self) -> "T0SFFewShot":
        """v2's FEWSHOT_PATTERNS_NO_OPTIONS version."""
        return dataclasses.replace(self, patterns=tuple(p.no_options() for p in self.patterns))

    def fill(self, pattern: FewShotPattern, example: Mapping[str, Any]) -> Optional[Rendered]:
        rendered = self.prompt.render(example)
        values = None if rendered is None else v2_example(rendered, self.task_type)
        if values is None:
            return None
        # v2's few-shot tasks format options deterministically ("OPTIONS:\n- a").
        out = pattern.template().render(values)
        return out if out is not None and out.inputs.strip() else None
