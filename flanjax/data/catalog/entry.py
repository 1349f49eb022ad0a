"""`CatalogEntry`: everything flanjax knows about one dataset, as plain data."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal, Mapping, Optional, Sequence

from flanjax.data import sources

# A raw example as Python values: TFDS features decoded (bytes -> str, numpy -> lists and
# scalars), nested dicts kept as they are in the TFDS feature spec.
Example = Mapping[str, Any]
# The flat fields a template reads: strings, plus `options` (a list of answer options) and
# any other field the entry declares.
Fields = dict[str, Any]

@dataclasses.dataclass(frozen=True)
class PromptLayout:
    """How a benchmark lays out its prompt (few-shot exemplars, then the query).

    Each exemplar is `{inputs_prefix}{inputs}{x_y_delimiter}{targets_prefix}{targets}
    {separator}`; the query follows as `{inputs_prefix}{inputs}{x_y_delimiter}
    {targets_prefix}`; `header` (e.g. MMLU's "The following are multiple choice questions
    (with answers) about ...") comes first and is never dropped. Zero-shot uses the same
    layout with no exemplars. Defaults are Flan 2022's FewShotPattern delimiters.
    """

    header: str = ""
    inputs_prefix: str = ""
    x_y_delimiter: str = "\n\n"
    targets_prefix: str = ""
    separator: str = "\n\n\n"


@dataclasses.dataclass(frozen=True)
class FixedShots:
    """The exemplars a paper used, in order: field dicts (rendered with the entry's template)
    or `templates.Rendered` pairs (used verbatim, e.g. a published chain-of-thought prompt).

    `header` replaces the layout's header when the prompt file brings its own (BBH's task
    description, the first line of each MMLU-CoT prompt). `origin` names the file or split
    the exemplars came from, for messages and reports. `layout`, when set, replaces the
    entry's layout (MGSM's prefixes are in each language's own words).
    """

    shots: tuple[Any, ...]
    header: Optional[str] = None
    origin: str = ""
    layout: Optional["PromptLayout"] = None  # replaces the entry's (e.g. localized prefixes)


Metric = Literal[
    "accuracy", "exact_match", "squad", "rouge", "bleu", "f1_multiclass", "pearson",
    "numeric_match",
]
EvalMode = Literal["rank", "generate"]


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """One dataset of an instruction-tuning collection.

    Attributes:
      name: the task-name stem (`{name}_{format}` in the registry), e.g. "anli_r1".
      collection: "flan2021" | "t0" | "cot" | "dialog" | "demo".
      cluster: the task cluster used for held-out evaluation, e.g. "nli".
      source: where raw examples come from (`sources.TfdsSource`, `sources.HfSource`, ...).
      preprocess: raw example -> flat fields for the templates, or None to skip the example.
        Must return every name in `fields`. For tasks with answer options it returns
        `options` (list of str) and the gold answer (a string that is one of the options)
        in the field the target patterns use (by convention `answer`).
      fields: the field names `preprocess` returns; templates are checked against them at
        registration time, so a typo fails early and names the template and field.
      templates: the templates (see `flanjax.data.templates`), each with a unique `name`.
      metric: how generation outputs are scored; "accuracy" for rank classification.
      eval_mode: "rank" scores each answer option (needs `options`), "generate" decodes.
      paper_dataset: the dataset as the paper counts it (ANLI R1-R3 are one FLAN dataset).
      rationale_field: for chain-of-thought entries, the field holding the rationale.
      inversion: whether Flan 2022's input inversion applies (dialog, QA).
      train_split / eval_split: canonical seqio split names in `source`.
      fixed_shots: for benchmarks evaluated with the exemplars their paper used (Flan
        2022's MMLU, BBH, TyDiQA, MGSM): a loader, called once and only when a few-shot task
        runs, returning `FixedShots`. Few-shot then uses these, in order, instead of
        exemplars drawn from the train split.
      num_shots: how many of the fixed exemplars few-shot uses (the paper's k); None: all.
      layout: the prompt layout of a benchmark (zero- and few-shot); None: Flan 2022's.
      eval_only: register only eval tasks (held-out benchmarks are never trained on).
      cot_answers: predictions are chain-of-thought: evaluation reads the answer after
        "the answer is" (set by entries with a rationale field, and by CoT benchmarks
        whose exemplars carry the reasoning verbatim).
      vocabulary: the data setting (`flanjax.data.locations`) naming the vocabulary its
        tasks tokenize with, read when they are registered ("VOCAB": T5's by default).
      max_train_examples: at most this many training examples are read, as a split slice
        (FLAN 2021's 30k); a split that is already a slice is kept as it is.
      flan2022_train_split: the source split v2 trains this dataset's Flan 2022 formats on
        (`flan2022_facts.FLAN_V2_TRAIN_SPLITS`), read whole, without `max_train_examples`
        (`tasks.flan2022_split_view`); None: those formats read `train_split` as FLAN 2021.
      flan2022_templates: Flan 2022's templates of this dataset (`flan/v2/templates.py`, read
        from FLAN_SOURCE_DIR), used by its Flan 2022 formats (`*_varopt`, `*_noopt`); empty:
        those formats use `templates`.
      flan2022_noopt_templates: Flan 2022's no-option templates (v2 `PATTERNS_NO_OPTIONS`,
        `flanjax.data.templates.flan_v2`), used by `*_zs_noopt`; empty: that format clears
        the options of `flan2022_templates` (or `templates`) and strips the input.
      flan2022_inversion_templates / flan2022_inversion_fewshot: v2's input-inversion
        patterns (`PATTERNS` / `FEWSHOT_PATTERNS` of e.g. "cot_input_inversion_gsm8k"), used
        by `*_inv` (zero-shot) and `*_fs_inv` (few-shot); empty: `*_inv` inverts the query
        of `templates` (`formats.invert`).
      flan2022_fewshot: Flan 2022's few-shot patterns of this dataset (`FEWSHOT_PATTERNS` of
        `flan/v2/templates.py`, `flanjax.data.templates.fewshot`), used by `*_fs_varopt` /
        `*_fs_noopt` (`flanjax.data.flan2022_fewshot`); empty: those use Flan 2022's defaults.
        For T0-SF, one `templates.t0_sf.T0SFFewShot` per prompt (its type's patterns), and
        `flan2022_templates` one `T0SFTemplate` per (prompt, v2 pattern).
      redraw: a choice the source makes at random per example on every pass (v2's turn of a
        dialog to predict), `(fields, draw) -> fields or None`, `draw(what)` a hash of (seed,
        task, example); made by the renderer of training tasks (`render.Renderer.draw_fields`).
        None: the preprocess's fields as they are.
      flan2022_nondeter: v2's per-example random formatting of its `_non_deter_opt_zero_shot`
        tasks, `(fields, draw) -> fields` with `draw(what)` a hash of (seed, task, example)
        (Dialog: `format_dialog_non_deterministic`); applied by the renderer only in the
        formats `tasks.format_view` marks (`FormatSpec.nondeterministic`). None: none.
      eval_templates: indices into `templates` of those evaluation runs (T0 evaluates the
        prompts of t-zero's `evaluation/template_list.py`); None: every template. Training
        samples from all of `templates`.
    """

    name: str
    collection: str
    cluster: str
    source: sources.Source
    preprocess: Callable[[Example], Optional[Fields]]
    fields: tuple[str, ...]
    templates: tuple[Any, ...]
    metric: Metric = "accuracy"
    eval_mode: EvalMode = "generate"
    paper_dataset: str = ""
    rationale_field: Optional[str] = None
    inversion: bool = False
    train_split: str = "train"
    eval_split: str = "validation"
    has_options: bool = False
    description: str = ""
    fixed_shots: Optional[Callable[[], FixedShots]] = None
    num_shots: Optional[int] = None
    layout: Optional[PromptLayout] = None
    eval_only: bool = False
    cot_answers: bool = False
    vocabulary: str = "VOCAB"
    max_train_examples: Optional[int] = None
    flan2022_train_split: Optional[str] = None
    eval_templates: Optional[tuple[int, ...]] = None
    flan2022_templates: tuple[Any, ...] = ()
    flan2022_fewshot: tuple[Any, ...] = ()
    flan2022_noopt_templates: tuple[Any, ...] = ()
    flan2022_inversion_templates: tuple[Any, ...] = ()
    flan2022_inversion_fewshot: tuple[Any, ...] = ()
    redraw: Optional[Callable[[Fields, Callable[[str], int]], Optional[Fields]]] = None
    flan2022_nondeter: Optional[Callable[[Fields, Callable[[str], int]], Fields]] = None

    def __post_init__(self):
        if not self.templates:
            raise ValueError(f"Catalog entry {self.name!r} has no templates.")
        if self.eval_templates is not None and (
            not self.eval_templates
            or any(not 0 <= i < len(self.templates) for i in self.eval_templates)
        ):
            raise ValueError(
                f"Catalog entry {self.name!r}: eval_templates {self.eval_templates} must be "
                f"indices into its {len(self.templates)} templates."
            )
        names = [t.name for t in self.templates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"Catalog entry {self.name!r} repeats template names {dupes}.")
        if self.eval_mode == "rank" and "options" not in self.fields:
            raise ValueError(
                f"Catalog entry {self.name!r} uses rank classification but its preprocess "
                "declares no `options` field; add `options` to `fields` or use "
                "eval_mode='generate'."
            )
        if self.rationale_field and self.rationale_field not in self.fields:
            raise ValueError(
                f"Catalog entry {self.name!r}: rationale field {self.rationale_field!r} is "
                f"not among its fields {self.fields}."
            )

    @property
    def extracts_cot_answer(self) -> bool:
        """Whether evaluation reads the answer after "the answer is" (chain-of-thought)."""
        return bool(self.rationale_field) or self.cot_answers

    @property
    def eval_template_indices(self) -> tuple[int, ...]:
        """The templates evaluation runs, as indices into `templates`."""
        if self.eval_templates is None:
            return tuple(range(len(self.templates)))
        return self.eval_templates

    @property
    def template_names(self) -> Sequence[str]:
        return [t.name for t in self.templates]

    def fields_of(self, raw: Example) -> Optional[Fields]:
        """Runs `preprocess` and checks it returned every declared field."""
        out = self.preprocess(raw)
        if out is None:
            return None
        missing = [f for f in self.fields if f not in out]
        if missing:
            raise KeyError(
                f"Catalog entry {self.name!r}: preprocess did not return declared fields "
                f"{missing}; it returned {sorted(out)}."
            )
        return out


def tfds_entry(
    *,
    name: str,
    collection: str,
    cluster: str,
    paper_dataset: str,
    tfds_name: str,
    splits: Mapping[str, str],
    preprocess: Callable[[Example], Optional[Fields]],
    fields: Sequence[str],
    templates: Sequence[Any],
    metric: str,
    description: str = "",
    max_train_examples: Optional[int] = None,
) -> CatalogEntry:
    """A TFDS-backed entry in FLAN's convention: rank classification exactly when the
    preprocess gives answer `options`, generation otherwise."""
    has_options = "options" in fields
    return CatalogEntry(
        name=name,
        collection=collection,
        cluster=cluster,
        source=sources.TfdsSource(tfds_name, dict(splits)),
        preprocess=preprocess,
        fields=tuple(fields),
        templates=tuple(templates),
        metric=metric,  # type: ignore[arg-type]
        max_train_examples=max_train_examples,
        eval_mode="rank" if has_options else "generate",
        paper_dataset=paper_dataset,
        has_options=has_options,
        description=description,
    )


def check_templates(entry: CatalogEntry, extra_fields: Mapping[str, Any] | None = None) -> None:
    """Fails if any template of `entry` reads a field the entry does not provide."""
    available = set(entry.fields) | set(extra_fields or ())
    for template in (*entry.templates, *entry.flan2022_templates, *entry.flan2022_fewshot,
                     *entry.flan2022_noopt_templates, *entry.flan2022_inversion_templates,
                     *entry.flan2022_inversion_fewshot):
        origin = getattr(template, "origin", "")
        for field in sorted(template.fields()):
            if field not in available:
                raise KeyError(
                    f"Task {entry.name!r}, template {template.name!r}"
                    f"{f' (from {origin})' if origin else ''} reads field {field!r}, which the "
                    f"entry's preprocess does not provide (fields: {sorted(available)}); map "
                    "the field in the entry's preprocess."
                )
