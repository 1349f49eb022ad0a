"""Per-example rendering: choose a template, fill it, apply the format (zs / fs / cot / inv).

Plain Python, called from the seqio preprocessor in `flanjax.data.tasks` through
`tf.py_function`. Every choice is a deterministic function of (seed, task, example content),
so two runs with the same seed give the same templates and exemplars whatever the read
order or host sharding.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import re
import threading
from typing import Any, Callable, Literal, Mapping, Optional, Sequence

from flanjax.data import flan2022_fewshot
from flanjax.data import formats
from flanjax.data import templates as templates_lib
from flanjax.data.catalog.entry import CatalogEntry, Fields, FixedShots, PromptLayout

FormatKind = Literal["zs", "fs", "cot", "inv"]
OptionsMode = Literal["opt", "noopt", "varied"]


@dataclasses.dataclass(frozen=True)
class FormatSpec:
    """How examples of a task are laid out.

    kind: "zs" zero-shot; "fs" few-shot with `num_shots` exemplars from the train split;
      "cot" zero-shot chain-of-thought (trigger appended; rationale targets where the entry
      has them); "inv" input inversion (Flan 2022, dialog and QA).
    options: "opt" lists answer options with FLAN's "OPTIONS:" form, "noopt" leaves them out
      of the input (Flan 2022 `*_noopt`), "varied" samples Flan 2022's headers and markers.
    nondeterministic: the entry's `flan2022_nondeter` formats each example's fields (v2's
      `_non_deter_opt_zero_shot` tasks; set by `tasks.format_view`).
    """

    kind: FormatKind = "zs"
    options: OptionsMode = "opt"
    num_shots: int = 3
    nondeterministic: bool = False


def stable_int(*parts: Any) -> int:
    """A 64-bit integer hash of `parts` that is the same in every process and run."""
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little")


def example_key(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False)


def template_id(template: Any, index: int) -> str:
    """A seqio-safe id for a template: FLAN's "{dataset}:{i}" gives "i", others a slug."""
    name = str(getattr(template, "name", index))
    tail = name.rsplit(":", 1)[-1]
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", tail).strip("_").lower()
    return slug or str(index)


# Counts of examples that were skipped, per task, with the reason; reported by
# `python -m flanjax.data.inspect` and logged by the trainer. Never drop silently.
_SKIPPED: collections.Counter = collections.Counter()
_SKIPPED_LOCK = threading.Lock()


def count_skip(task: str, reason: str, n: int = 1) -> None:
    with _SKIPPED_LOCK:
        _SKIPPED[(task, reason)] += n


def skipped_counts() -> dict[tuple[str, str], int]:
    with _SKIPPED_LOCK:
        return dict(_SKIPPED)


# Few-shot exemplars left out so an example fits the input length, per task (benchmarks
# with fixed exemplars should keep them all: raise the inputs length if this is not 0).
_TRIMMED: collections.Counter = collections.Counter()


def count_trimmed(task: str, n: int) -> None:
    with _SKIPPED_LOCK:
        _TRIMMED[task] += n


def trimmed_counts() -> dict[str, int]:
    """{task: exemplars dropped to fit the input length}, summed over examples."""
    with _SKIPPED_LOCK:
        return dict(_TRIMMED)


# Exemplars read once per catalog entry and shared by its tasks: few-shot pools drawn from
# the train split ("pool", one training task and one eval task per template read the same)
# and a benchmark's fixed exemplars ("fixed"). The entry is kept beside its value so its
# id is not reused while the cache holds it.
_EXEMPLARS: dict[tuple[str, int], tuple[CatalogEntry, Any]] = {}
_EXEMPLARS_LOCK = threading.Lock()


def once_per_entry(kind: str, entry: CatalogEntry, load: Callable[[], Any]) -> Any:
    """`load()` the first time (kind, entry) is asked for; the cached value after."""
    with _EXEMPLARS_LOCK:
        key = (kind, id(entry))
        if key not in _EXEMPLARS:
            _EXEMPLARS[key] = (entry, load())
        return _EXEMPLARS[key][1]


def clear_exemplar_caches() -> None:
    """Forgets loaded exemplars (e.g. after pointing an env variable elsewhere)."""
    with _EXEMPLARS_LOCK:
        _EXEMPLARS.clear()


def _candidate_indices(entry: CatalogEntry, spec: FormatSpec) -> list[int]:
    idx = list(range(len(entry.templates)))
    if spec.options == "noopt":
        # promptsource templates declare whether they list the choices; prefer those that don't.
        no_choices = [
            i
            for i in idx
            if getattr(entry.templates[i], "metadata", None) is not None
            and not _choices_in_prompt(entry.templates[i])
        ]
        if no_choices:
            return no_choices
    return idx


def _prompt_groups(templates: Sequence[Any], candidates: Sequence[int]) -> list[list[int]]:
    """`candidates` grouped by the prompt their template wraps (`prompt` attribute, T0-SF's
    `templates.t0_sf.T0SFTemplate`), in order; [] when no template wraps a prompt."""
    groups: dict[str, list[int]] = {}
    for i in candidates:
        prompt = getattr(templates[i], "prompt", None)
        if prompt is None:
            return []
        groups.setdefault(prompt.name, []).append(i)
    return list(groups.values())


def _choices_in_prompt(template: Any) -> bool:
    meta = getattr(template, "metadata", None)
    if isinstance(meta, Mapping):
        return bool(meta.get("choices_in_prompt", True))
    return bool(getattr(meta, "choices_in_prompt", True))


class Renderer:
    """Renders raw examples of one catalog entry in one format.

    Args:
      entry: the catalog entry.
      spec: the format.
      task_name: used in hashes and skip counts.
      template_index: a fixed template (eval tasks); None samples one per example.
      exemplar_pool: for few-shot, returns candidate exemplars as field dicts; called for
        every example, so it reads the data once and caches (`flanjax.data.tasks` shares one
        pool per catalog entry).
      length_fn: token count of a string (few-shot trimming); default characters.
    """

    def __init__(
        self,
        entry: CatalogEntry,
        spec: FormatSpec,
        *,
        task_name: str,
        template_index: Optional[int] = None,
        exemplar_pool: Optional[Callable[[], Sequence[Fields]]] = None,
        length_fn: Callable[[str], int] = len,
    ):
        if spec.kind == "fs" and exemplar_pool is None and entry.fixed_shots is None:
            raise ValueError(f"Task {task_name!r}: few-shot needs an exemplar pool.")
        if spec.kind == "inv" and not entry.inversion:
            raise ValueError(
                f"Task {task_name!r}: entry {entry.name!r} does not support input inversion."
            )
        self.entry = entry
        self.spec = spec
        self.task_name = task_name
        self.template_index = template_index
        self._pool_fn = exemplar_pool
        self.length_fn = length_fn
        self._candidates = _candidate_indices(entry, spec)
        # Templates that wrap a prompt (Flan 2022's T0-SF: one per prompt and v2 pattern) are
        # drawn prompt first, uniformly, then a pattern of that prompt.
        self._groups = _prompt_groups(entry.templates, self._candidates)
        # Flan 2022's few-shot training formats with v2's FEWSHOT_PATTERNS (fs_varopt, fs_noopt).
        self._v2_patterns: tuple[Any, ...] = ()
        if spec.kind == "fs" and spec.options in ("noopt", "varied") and entry.flan2022_fewshot:
            patterns = tuple(entry.flan2022_fewshot)
            self._v2_patterns = (
                tuple(p.no_options() for p in patterns) if spec.options == "noopt" else patterns
            )

    # -- pieces --------------------------------------------------------------------------

    def choose_template(self, seed: int, key: str) -> int:
        if self.template_index is not None:
            return self.template_index
        if self._groups:
            groups = self._groups
            group = groups[stable_int(seed, self.task_name, "prompt", key) % len(groups)]
            return group[stable_int(seed, self.task_name, key) % len(group)]
        return self._candidates[stable_int(seed, self.task_name, key) % len(self._candidates)]

    def render_fields(
        self, fields: Fields, index: int, seed: int, key: str
    ) -> Optional[templates_lib.Rendered]:
        """Fills template `index` with `fields`, applying the options mode and CoT target."""
        template = self.entry.templates[index]
        options = list(fields.get(templates_lib.OPTIONS_FIELD) or [])
        kwargs = {}
        values = dict(fields)
        flan = isinstance(template, templates_lib.FlanTemplate)
        # v2's no-option text (PATTERNS_NO_OPTIONS) is rendered as it is; other templates in a
        # no-option format have their options cleared and the input stripped.
        cut = self.spec.options == "noopt" and not (flan and template.options_removed)
        if cut and flan:
            values[templates_lib.OPTIONS_FIELD] = []
        elif self.spec.options == "varied" and flan:
            kwargs["options_style"] = templates_lib.sample_options_style(seed, key)
        rendered = template.render(values, **kwargs)
        if rendered is None or not rendered.inputs.strip():
            return None
        inputs = rendered.inputs.strip() if cut else rendered.inputs
        targets = rendered.targets
        if self.entry.rationale_field and self.spec.kind in ("zs", "fs", "cot"):
            targets = formats.cot_target(str(fields[self.entry.rationale_field]), targets)
        answer_options = tuple(rendered.answer_options) or tuple(str(o) for o in options)
        if rendered.targets not in answer_options:
            # A turned-around template (FLAN: e.g. "write a hypothesis that ...") targets a
            # field, not an option: its examples are scored by generation, not by rank.
            answer_options = ()
        return templates_lib.Rendered(inputs, targets, answer_options)

    def pool(self) -> Sequence[Fields]:
        return self._pool_fn() if self._pool_fn else ()

    def fixed_shots(self) -> Optional[FixedShots]:
        """The entry's fixed exemplars (loaded once per entry), cut to its `num_shots`."""
        if self.entry.fixed_shots is None:
            return None
        return once_per_entry("fixed", self.entry, self._load_fixed_shots)

    def _load_fixed_shots(self) -> FixedShots:
        fixed = self.entry.fixed_shots()
        k = self.entry.num_shots
        if k is not None and len(fixed.shots) < k:
            origin = fixed.origin or "its exemplar source"
            raise ValueError(
                f"Task {self.task_name!r} is {k}-shot but {origin} has only "
                f"{len(fixed.shots)} exemplars; point it at the full exemplar file."
            )
        shots = fixed.shots if k is None else fixed.shots[:k]
        return dataclasses.replace(fixed, shots=tuple(shots))

    def _layout(self, fixed: Optional[FixedShots]) -> dict[str, str]:
        layout = (fixed.layout if fixed is not None else None) or self.entry.layout or PromptLayout()
        header = layout.header if fixed is None or fixed.header is None else fixed.header
        return dict(
            header=header,
            inputs_prefix=layout.inputs_prefix,
            x_y_delimiter=layout.x_y_delimiter,
            targets_prefix=layout.targets_prefix,
            separator=layout.separator,
        )

    def _fixed_exemplars(self, fixed: FixedShots, index: int, seed: int) -> list[templates_lib.Rendered]:
        out = []
        for shot in fixed.shots:
            if isinstance(shot, templates_lib.Rendered):
                out.append(shot)
                continue
            rendered = self.render_fields(shot, index, seed, example_key(shot))
            if rendered is None:
                raise ValueError(
                    f"Task {self.task_name!r}: exemplar {example_key(shot)[:200]} from "
                    f"{fixed.origin or 'the exemplar source'} renders empty with template "
                    f"{template_id(self.entry.templates[index], index)!r}."
                )
            out.append(rendered)
        return out

    # -- the whole thing -----------------------------------------------------------------

    def __call__(
        self, raw: Mapping[str, Any], seed: int = 0, max_input_length: Optional[int] = None
    ) -> Optional[dict[str, Any]]:
        """Raw example -> {inputs, targets, answer_options, template_id} or None (skipped)."""
        fields = self.entry.fields_of(raw)
        if fields is None:
            count_skip(self.task_name, "preprocess returned None (e.g. unlabelled)")
            return None
        fields = self.draw_fields(fields, seed)
        if fields is None:
            count_skip(self.task_name, "the drawn turn is empty")
            return None
        key = example_key(fields)
        if self._v2_patterns:
            return self._flan2022_few_shot(fields, key, seed, max_input_length)
        index = self.choose_template(seed, key)
        tid = template_id(self.entry.templates[index], index)
        query = self.render_fields(fields, index, seed, key)
        if query is None:
            count_skip(self.task_name, f"template {tid} renders empty")
            return None
        kind = self.spec.kind
        if kind in ("zs", "fs") and (
            self.entry.layout is not None or self.entry.fixed_shots is not None
        ):
            # A benchmark with its paper's prompt layout and (few-shot) fixed exemplars.
            fixed = self.fixed_shots() if kind == "fs" else None
            shots = self._fixed_exemplars(fixed, index, seed) if fixed is not None else []
            out = formats.few_shot(
                query,
                shots,
                template_id=tid,
                max_input_length=max_input_length,
                length_fn=self.length_fn,
                keep_layout=True,
                **self._layout(fixed),
            )
            if out["num_exemplars"] < len(shots):
                count_trimmed(self.task_name, len(shots) - out["num_exemplars"])
        elif kind == "zs":
            out = formats.zero_shot(query, template_id=tid)
        elif kind == "cot":
            out = formats.zero_shot_cot(query)
            out["template_id"] = tid
        elif kind == "inv":
            out = formats.zero_shot(formats.invert(query), template_id=tid)
        elif kind == "fs":
            candidates = formats.select_exemplars(
                self.pool(),
                self.spec.num_shots,
                seed=seed,
                key=f"{self.task_name}|{key}",
                exclude=lambda f: example_key(f) == key,
            )
            exemplars = []
            for ex_fields in candidates:
                r = self.render_fields(ex_fields, index, seed, example_key(ex_fields))
                if r is not None:
                    exemplars.append(r)
            # Chain-of-thought exemplars use the "Q: ... A: ..." layout of Wei et al. 2022.
            layout = (
                dict(inputs_prefix="Q: ", targets_prefix="A: ", x_y_delimiter="\n", separator="\n\n")
                if self.entry.rationale_field
                else {}
            )
            out = formats.few_shot(
                query,
                exemplars,
                template_id=tid,
                max_input_length=max_input_length,
                length_fn=self.length_fn,
                **layout,
            )
        else:  # pragma: no cover - FormatSpec is a Literal
            raise ValueError(f"Unknown format kind {kind!r}.")
        out.setdefault("answer_options", list(query.answer_options))
        out["answer_options"] = list(out["answer_options"])
        out["template_id"] = tid
        out["references"] = self.references(fields, out["targets"])
        return out

    def draw_fields(self, fields: Fields, seed: int) -> Optional[Fields]:
        """`fields` after the entry's per-example draws, each `stable_int(seed, task, what,
        example)`: the entry's `redraw` in training tasks (an eval task, one fixed template,
        keeps the preprocess's fields so every template scores the same examples), then v2's
        random formatting in a `nondeterministic` format. None: the drawn example is empty."""
        key = example_key(fields)

        def draw(what: str) -> int:
            return stable_int(seed, self.task_name, what, key)

        if self.entry.redraw is not None and self.template_index is None:
            fields = self.entry.redraw(fields, draw)
            if fields is None:
                return None
        if self.spec.nondeterministic and self.entry.flan2022_nondeter is not None:
            fields = self.entry.flan2022_nondeter(fields, draw)
        return fields

    def _flan2022_few_shot(
        self, fields: Fields, key: str, seed: int, max_input_length: Optional[int]
    ) -> Optional[dict[str, Any]]:
        """v2's few-shot example (`flanjax.data.flan2022_fewshot`), or None (counted)."""
        patterns, prompt_id = self._v2_patterns, ""
        if hasattr(patterns[0], "fill"):
            # T0-SF: one group per promptsource prompt, drawn first, uniformly; the query and
            # its exemplars go through that prompt, in its task type's patterns.
            group = patterns[stable_int(seed, self.task_name, "prompt", key) % len(patterns)]
            patterns, group_fill = group.patterns, group.fill
            prompt_id = "_" + template_id(group.prompt, 0)
        else:
            group_fill = None
        variant = flan2022_fewshot.variant_of(
            patterns, self.spec.options == "noopt", seed=seed, task=self.task_name, key=key
        )

        def fill(pattern: Any, values: Fields) -> Optional[templates_lib.Rendered]:
            if group_fill is not None:
                return group_fill(pattern, values)
            # v2's few-shot tasks format options deterministically (prep.format_options).
            rendered = pattern.template().render(dict(values))
            return rendered if rendered is not None and rendered.inputs.strip() else None

        out, why = flan2022_fewshot.render(
            patterns, variant=variant, fields=fields, key=key, pool=self.pool(),
            key_of=example_key, fill=fill, seed=seed, task=self.task_name,
            max_input_length=max_input_length, length_fn=self.length_fn,
        )
        if out is None:
            count_skip(self.task_name, why)
            return None
        pattern = out.pop("pattern")
        out["template_id"] = template_id(pattern, patterns.index(pattern)) + prompt_id
        out["references"] = self.references(fields, out["targets"])
        return out

    def references(self, fields: Fields, targets: str) -> list[str]:
        """Every acceptable answer, for metrics that take several (SQuAD F1, BLEU, ROUGE).

        Entries list them in an `answers` field; they count when the rendered target is one
        of them (a turned-around or inverted template targets something else: only its own
        target is right).
        """
        answers = fields.get("answers")
        if isinstance(answers, (list, tuple)):
            refs = list(dict.fromkeys(str(a) for a in answers if str(a).strip()))
            if targets in refs:
                return refs
        return [targets]
