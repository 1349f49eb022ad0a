"""promptsource templates (Bach et al. 2022), read from their `templates.yaml` unchanged.

A promptsource template is one Jinja string whose output is split on "|||" into the
prompt and the target; an optional `answer_choices` Jinja string renders to the
"|||"-separated answer options, available to the template as `answer_choices`. The
semantics below follow `promptsource/templates.py` (`Template.apply`,
`get_answer_choices_list`, `_escape_pipe`) and the T0 seqio pipeline built on it:

- One Jinja `Environment` with a `BaseLoader` and no autoescaping; globals `zip` and
  filters `choice` and `most_frequent`, as promptsource registers them.
- "|||" inside an example's top-level string values is swapped for a protector string
  before rendering and swapped back after splitting, so it never splits the output.
- `answer_choices` is rendered with the example (no truncation), split on "|||", stripped.
- The template is rendered with every `{{ ... }}` piped through `string | truncate(2048)`
  (promptsource's `apply(truncate=True)` default, TEXT_VAR_LENGTH = 2048); the output is
  split on "|||" and each part stripped.
- Keys with "-" in the example are renamed with "_" (promptsource's `removeHyphen`,
  applied by the T0 pipeline before `apply`).
- The example is skipped (`render` returns None) unless the output has exactly two parts,
  both non-empty, as the T0 pipeline filtered (a template guarded by `{% if %}` renders
  nothing for the examples it does not apply to).

Deviations, on purpose: answer choices stay pipe-protected while the template prints them
(promptsource passes them unprotected, so a choice holding "|||" split the output and T0
dropped the example). promptsource's `choice` filter is `random.choice`, different on each
call. Here it draws from a `random.Random` seeded with SHA-256 of the template id and the
example (JSON, sorted keys), so rendering is reproducible; it is also a global,
`choice(seq)`, besides the filter `seq | choice`.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import json
import os
import random
import re
from typing import Any, Mapping, Optional, Sequence

import jinja2
import jinja2.sandbox
import yaml
from jinja2 import meta

from flanjax.data.templates.base import Rendered

SEPARATOR = "|||"
# Truncation of each substituted variable, in characters (promptsource TEXT_VAR_LENGTH).
TEXT_VAR_LENGTH = 2048
_PIPE_PROTECTOR = "\x00flanjax-pipe\x00"
_RNG_KEY = "__flanjax_rng__"
METADATA_KEYS = ("original_task", "choices_in_prompt", "metrics", "languages")


@jinja2.pass_context
def _choice(context: jinja2.runtime.Context, choices: Sequence[Any]) -> Any:
    rng = context.get(_RNG_KEY)
    if rng is None:  # rendered outside `PromptsourceTemplate.render`
        rng = random.Random(0)
    return rng.choice(list(choices))


def _most_frequent(items: Sequence[Any]) -> Optional[list[Any]]:
    """The items that occur most often (promptsource's `most_frequent` filter)."""
    if not items:
        return None
    counts = collections.Counter(items).most_common()
    return [item for item, count in counts if count == counts[0][1]]


# Jinja's sandbox: templates come from files the user points at (a promptsource checkout),
# so a template that reaches for Python internals (`x.__class__`, `str.format`, ...) fails
# with a SecurityError instead of running.
_ENV = jinja2.sandbox.SandboxedEnvironment(loader=jinja2.BaseLoader())
_ENV.globals.update(zip=zip, choice=_choice)
_ENV.filters["choice"] = _choice
_ENV.filters["most_frequent"] = _most_frequent


class TemplateRenderError(ValueError):
    """A template that fails to render an example (Jinja's sandbox refused it, an undefined
    filter, ...); names the template and its file.

    Templates render inside tf.data, so the error reaches a command wrapped in a TensorFlow
    error; `flanjax.cli.runner` finds it there by this class name and reports this one line.
    """


def _render_error(template: "PromptsourceTemplate", what: str, error: jinja2.TemplateError) -> TemplateRenderError:
    if isinstance(error, jinja2.sandbox.SecurityError):
        return TemplateRenderError(
            f"promptsource template {template.describe()}: {what} refused by Jinja's sandbox ({error}): "
            "a template may not reach Python internals; fix or remove it in that file")
    return TemplateRenderError(f"promptsource template {template.describe()}: {what} failed: {error}")


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


def _with_truncation(jinja_source: str, max_chars: Optional[int]) -> str:
    # promptsource replaces every "}}" by " | string | truncate(N) }}"; keeping a "-" of
    # whitespace control ("-}}") after the filter is the only difference.
    if max_chars is None:
        return jinja_source
    return re.sub(r"(-?)\}\}", rf" | string | truncate({max_chars}) \1}}}}", jinja_source)


def _protect_text(text: str) -> str:
    return text.replace(SEPARATOR, _PIPE_PROTECTOR)


def _protect(example: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key.replace("-", "_"): _protect_text(value) if isinstance(value, str) else value
        for key, value in example.items()
    }


def _unprotect(text: str) -> str:
    return text.replace(_PIPE_PROTECTOR, SEPARATOR)


@dataclasses.dataclass(frozen=True)
class PromptsourceTemplate:
    """One promptsource template.

    Attributes:
      name: the template's (per-dataset unique) name.
      jinja: the Jinja source; "|||" separates the prompt from the target.
      answer_choices: Jinja source of the "|||"-separated answer options, or None.
      metadata: original_task, choices_in_prompt, metrics, languages.
      id: the template's UUID in promptsource.
      reference: free-text provenance.
      truncate_chars: per-variable truncation (promptsource's default); None disables it.
    """

    name: str
    jinja: str
    answer_choices: Optional[str] = None
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    id: str = ""
    reference: str = ""
    truncate_chars: Optional[int] = TEXT_VAR_LENGTH
    origin: str = ""  # the templates.yaml it was read from

    def describe(self) -> str:
        """'name' (from FILE): how messages name the template."""
        return f"{self.name!r}" + (f" (from {self.origin})" if self.origin else "")

    def fields(self) -> frozenset[str]:
        """Example fields the template (and its answer choices) read."""
        names: set[str] = set()
        for source in (self.jinja, self.answer_choices):
            if source:
                try:
                    names |= meta.find_undeclared_variables(_ENV.parse(source))
                except jinja2.TemplateSyntaxError as e:
                    raise ValueError(
                        f"promptsource template {self.describe()} is not valid Jinja: {e}"
                    ) from e
        return frozenset(names - {"answer_choices"} - set(_ENV.globals))

    @property
    def original_task(self) -> Optional[bool]:
        return self.metadata.get("original_task")

    def answer_choices_list(self, example: Mapping[str, Any]) -> Optional[list[str]]:
        """The rendered answer options of `example`, or None for an open-ended template."""
        if self.answer_choices is None:
            return None
        try:
            text = _compile(self.answer_choices).render(**self._context(_protect(example), example))
        except jinja2.TemplateError as e:
            raise _render_error(self, "rendering answer_choices", e) from e
        return [_unprotect(choice.strip()) for choice in text.split(SEPARATOR)]

    def render(self, example: Mapping[str, Any]) -> Optional[Rendered]:
        """Inputs, targets and answer options of `example`; None if the template skips it."""
        if "answer_choices" in example:
            raise ValueError(
                f"Template {self.name!r}: the example has the reserved key 'answer_choices'."
            )
        protected = _protect(example)
        choices = self.answer_choices_list(example)
        protected_choices = None if choices is None else [_protect_text(c) for c in choices]
        template = _compile(_with_truncation(self.jinja, self.truncate_chars))
        try:
            context = self._context(protected, example)
            text = template.render(answer_choices=protected_choices, **context)
        except jinja2.TemplateError as e:
            raise _render_error(self, "rendering", e) from e
        parts = [_unprotect(part).strip() for part in text.split(SEPARATOR)]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            return None
        return Rendered(inputs=parts[0], targets=parts[1], answer_options=tuple(choices or ()))

    def _context(self, protected: dict[str, Any], example: Mapping[str, Any]) -> dict[str, Any]:
        # The `choice` filter's generator: fixed by the template and the example. Only
        # built for templates that mention `choice` (hashing a long example costs time).
        if "choice" not in self.jinja and "choice" not in (self.answer_choices or ""):
            return protected
        try:
            blob = json.dumps(example, sort_keys=True, default=str, ensure_ascii=False)
        except TypeError:  # keys JSON cannot sort or write
            blob = repr(sorted(example.items(), key=lambda kv: repr(kv[0])))
        seed = hashlib.sha256(f"{self.id or self.name}\x00{blob}".encode("utf-8")).digest()
        return {**protected, _RNG_KEY: random.Random(int.from_bytes(seed[:8], "big"))}


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that also knows promptsource's `!Template` and `!TemplateMetadata` tags."""


_STRING_KEYS = ("name", "jinja", "answer_choices", "id", "reference")


def _construct_template(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in _STRING_KEYS and isinstance(value_node, yaml.ScalarNode):
            # Raw text: an unquoted `answer_choices: Yes` must stay "Yes", not True.
            null = value_node.tag == "tag:yaml.org,2002:null"
            values[key] = None if null else value_node.value
        else:
            values[key] = loader.construct_object(value_node, deep=True)
    return {"__template__": values, "__line__": node.start_mark.line + 1}


def _construct_metadata(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    values = loader.construct_mapping(node, deep=True)
    return {key: values.get(key) for key in METADATA_KEYS}


_YamlLoader.add_constructor("!Template", _construct_template)
_YamlLoader.add_constructor("!TemplateMetadata", _construct_metadata)


def load_promptsource_yaml(path: str | os.PathLike[str]) -> list[PromptsourceTemplate]:
    """The templates of a promptsource `templates.yaml`, in file order.

    The file has `dataset:`, optionally `subset:`, and `templates:` mapping each template id
    to a `!Template` (answer_choices, id, jinja, metadata: `!TemplateMetadata`, name,
    reference). Template names must be unique in the file.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_YamlLoader)  # noqa: S506 (a SafeLoader subclass)
    except FileNotFoundError:
        raise FileNotFoundError(f"promptsource templates file not found: {path}") from None
    except yaml.YAMLError as e:
        from flanjax.data.templates import sources  # pylint: disable=g-import-not-at-top

        # PyYAML's message spans lines (context, problem, marks): one line, line:column first.
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        what = "; ".join(str(x) for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x)
        raise sources.PromptSourceError(
            f"{path}{where}: not valid promptsource YAML: {what or str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("templates"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'templates:' mapping.")
    templates = []
    for key, entry in data["templates"].items():
        if not isinstance(entry, dict) or "__template__" not in entry:
            raise ValueError(f"{path}: template {key!r} is not a !Template object.")
        values = entry["__template__"]
        for required in ("name", "jinja"):
            if not values.get(required):
                raise ValueError(
                    f"{path}:{entry['__line__']}: template {key!r} has no {required!r}."
                )
        metadata = values.get("metadata") or {}
        templates.append(
            PromptsourceTemplate(
                name=values["name"],
                jinja=values["jinja"],
                answer_choices=values.get("answer_choices"),
                metadata=dict(metadata),
                id=values.get("id") or str(key),
                reference=values.get("reference") or "",
                origin=path,
            )
        )
    names = collections.Counter(t.name for t in templates)
    duplicates = sorted(name for name, count in names.items() if count > 1)
    if duplicates:
        raise ValueError(f"{path}: template names used more than once: {duplicates}.")
    return templates
