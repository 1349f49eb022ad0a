"""seqio Tasks for every catalog entry: training tasks per format, eval tasks per template.

Names (see DESIGN.md):
  `{entry}_{format}`          training; a template sampled per example (deterministic by seed)
                              format: zs, fs, zs_noopt, fs_noopt, zs_varopt, fs_varopt,
                              cot (entries with rationales), inv (entries with inversion)
  `{entry}_{zs|fs}:{tid}`     evaluation with template `tid`; keeps `answer_options`,
                              `template_id`, `references` (every acceptable answer) and
                              the raw `targets_pretokenized`.

The pipeline of each task: source -> render (Python, `tf.py_function`, or worker processes:
`flanjax.data.parallel`) -> tokenize -> [cache] -> count over-length examples -> trim and
append EOS. Registration reads no data.

Rendering is a pure function of (render seed, task, example content): the render seed is
fixed when tasks are registered (the RENDER_SEED data setting, default 0), not drawn per
position from seqio's map seeds, so seqio's offline cache (`python -m flanjax.data.cache`)
holds exactly what the uncached task yields, in whatever order or sharding it is read.
The training seed still shuffles and mixes.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import os
import re
import threading
from typing import Any, Callable, Mapping, Optional, Sequence

import seqio
import tensorflow as tf

from flanjax.data import exemplar_pool
from flanjax.data import catalog as catalog_lib
from flanjax.data import formats
from flanjax.data import render as render_lib
from flanjax.data import sources
from flanjax.data import vocab as vocab_lib
from flanjax.data.catalog import flan2022_facts
from flanjax.data.catalog.entry import CatalogEntry
from flanjax.data import metrics as metrics_lib
from flanjax.data import locations

# Candidate exemplars per few-shot task, one from each of this many strata of its training
# split (`flanjax.data.exemplar_pool`).
EXEMPLAR_POOL_SIZE = 64
DEFAULT_NUM_SHOTS = 3

TRAIN_FORMATS: dict[str, render_lib.FormatSpec] = {
    "zs": render_lib.FormatSpec("zs", "opt"),
    "fs": render_lib.FormatSpec("fs", "opt", DEFAULT_NUM_SHOTS),
    "zs_noopt": render_lib.FormatSpec("zs", "noopt"),
    # Flan 2022's few-shot formats: 5 exemplars (flan/v2/tasks.py ShotConfig.FIVE, the
    # "mix_five_shot" tasks), pruned to FEW_SHOT_MAX_LEN tokens for training.
    "fs_noopt": render_lib.FormatSpec("fs", "noopt", flan2022_facts.FEW_SHOT_NUM_SHOTS),
    "zs_varopt": render_lib.FormatSpec("zs", "varied"),
    "fs_varopt": render_lib.FormatSpec("fs", "varied", flan2022_facts.FEW_SHOT_NUM_SHOTS),
    "cot": render_lib.FormatSpec("cot", "opt"),
    "inv": render_lib.FormatSpec("inv", "opt"),
    # Input inversion few-shot (v2's FS_OPT tasks of CoT-II / Dialog-II), only for entries
    # with v2's inversion FEWSHOT_PATTERNS (FLAN_SOURCE_DIR).
    "fs_inv": render_lib.FormatSpec("fs", "varied", flan2022_facts.FEW_SHOT_NUM_SHOTS),
}
EVAL_FORMATS = ("zs", "fs")

def vocabulary_name(setting: str = "VOCAB") -> Optional[str]:
    """The vocabulary a data setting names (read when tasks are registered).

    Entries name their setting (`CatalogEntry.vocabulary`): "VOCAB" (default T5's, by gs://
    path) for every collection but the bundled demo, whose "DEMO_VOCAB" defaults to its own
    small SentencePiece model (set it to a checkpoint's `spiece.model` to fine-tune that
    checkpoint on the demo).
    """
    return locations.get(setting)


def output_features(vocabulary: str = "VOCAB") -> dict[str, seqio.Feature]:
    vocab = _vocabulary(vocabulary_name(vocabulary))
    return {
        "inputs": seqio.Feature(vocabulary=vocab, add_eos=True, required=True),
        "targets": seqio.Feature(vocabulary=vocab, add_eos=True, required=True),
    }


@functools.lru_cache(maxsize=None)
def _vocabulary(name: Optional[str]) -> seqio.Vocabulary:
    # One object per vocabulary: seqio loads the SentencePiece model lazily, once.
    return vocab_lib.get_vocabulary(name)


# ---------------------------------------------------------------------------------------
# Over-length examples: counted per task, reported by `flanjax.data.inspect` and the
# trainer. seqio trims them (keeping EOS); they are never dropped without a count.

_OVERFLOW: collections.Counter = collections.Counter()
_OVERFLOW_LOCK = threading.Lock()


def overflow_counts() -> dict[tuple[str, str], int]:
    """{(task, feature): number of examples longer than that feature's length}."""
    with _OVERFLOW_LOCK:
        return dict(_OVERFLOW)


def _bump_overflow(task: str, over_inputs, over_targets):
    with _OVERFLOW_LOCK:
        if bool(over_inputs):
            _OVERFLOW[(task, "inputs")] += 1
        if bool(over_targets):
            _OVERFLOW[(task, "targets")] += 1
    return True


def count_overflow(
    dataset: tf.data.Dataset, sequence_length: Optional[Mapping[str, int]], task_name: str
) -> tf.data.Dataset:
    if not sequence_length:
        return dataset

    def fn(ex):
        # +1 for the EOS that append_eos_after_trim adds.
        over_in = tf.size(ex["inputs"]) + 1 > sequence_length["inputs"]
        over_tg = tf.size(ex["targets"]) + 1 > sequence_length["targets"]
        # Python only for the (rare) over-length example: a per-example py_function would
        # hold the GIL for every example and cap the cached pipeline.
        done = tf.cond(
            over_in | over_tg,
            lambda: tf.py_function(
                functools.partial(_bump_overflow, task_name), [over_in, over_tg], tf.bool
            ),
            lambda: tf.constant(True),
        )
        ex = dict(ex)
        with tf.control_dependencies([done]):
            ex["inputs"] = tf.identity(ex["inputs"])
        return ex

    return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------------------
# The render preprocessor.


def render_seed() -> int:
    """The seed that templates and exemplars are drawn with (read at registration): the
    RENDER_SEED data setting (gin macro, env FLANJAX_RENDER_SEED, default 0)."""
    value = locations.get("RENDER_SEED")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"RENDER_SEED={value!r} is not an integer; set {locations.describe('RENDER_SEED')} "
                         "to e.g. 0.") from None


def make_render_preprocessor(
    renderer: render_lib.Renderer, *, uses_length: bool, seed: int = 0,
    max_input_tokens: Optional[int] = None,
) -> Callable[..., tf.data.Dataset]:
    """A seqio preprocessor that renders raw examples with `renderer` and render `seed`.

    Few-shot tasks take `sequence_length` so exemplars are trimmed to fit the inputs, and to
    at most `max_input_tokens` when given (Flan 2022's FEW_SHOT_MAX_LEN for training).
    """

    def run(dataset: tf.data.Dataset, max_len: int) -> tf.data.Dataset:
        from flanjax.data.templates import sources as prompt_sources  # pylint: disable=g-import-not-at-top

        prompt_sources.check_not_broken(renderer.entry.name, used_by=renderer.task_name)
        if renderer.spec.kind == "fs":
            # Read the exemplars now, outside the tf.data runtime (errors surface here).
            renderer.pool()
            renderer.fixed_shots()
        from flanjax.data import parallel  # pylint: disable=g-import-not-at-top

        if parallel.render_processes() > 1:
            return parallel.render_in_processes(
                dataset, renderer.task_name, seed=seed, max_len=max_len
            )
        spec = dataset.element_spec

        def py_render(*flat):
            raw = tf.nest.pack_sequence_as(spec, [t.numpy() for t in flat])
            out = renderer(
                sources.decode_example(raw),
                seed=seed,
                max_input_length=max_len if max_len > 0 else None,
            )
            if out is None:
                return False, "", "", tf.constant([], tf.string), "", tf.constant([], tf.string)
            return (
                True,
                out["inputs"],
                out["targets"],
                tf.constant([str(o) for o in out["answer_options"]], tf.string),
                out["template_id"],
                tf.constant([str(r) for r in out["references"]], tf.string),
            )

        @seqio.map_over_dataset
        def render_one(ex):
            keep, inputs, targets, options, tid, refs = tf.py_function(
                py_render,
                tf.nest.flatten(ex),
                [tf.bool, tf.string, tf.string, tf.string, tf.string, tf.string],
            )
            keep.set_shape([])
            inputs.set_shape([])
            targets.set_shape([])
            options.set_shape([None])
            tid.set_shape([])
            refs.set_shape([None])
            return {
                "_keep": keep,
                "inputs": inputs,
                "targets": targets,
                "answer_options": options,
                "template_id": tid,
                "references": refs,
            }

        ds = render_one(dataset)
        ds = ds.filter(lambda ex: ex["_keep"])
        return ds.map(lambda ex: {k: v for k, v in ex.items() if k != "_keep"})

    if uses_length:

        def render_fs(dataset, sequence_length=None):
            # -1 leaves room for EOS.
            max_len = (sequence_length or {}).get("inputs") or 0
            max_len = max_len - 1 if max_len else 0
            if max_input_tokens:
                max_len = min(max_len, max_input_tokens) if max_len else max_input_tokens
            return run(dataset, max_len)

        return render_fs

    def render_zs(dataset):
        return run(dataset, 0)

    return render_zs




def seqio_postprocess(
    output: Any, example: Optional[Mapping[str, Any]] = None, is_target: bool = False,
    *, chain_of_thought: bool = False,
) -> Any:
    """seqio `postprocess_fn` of eval tasks: the answer of a prediction, or every acceptable
    answer of a target (`metrics.answer`, `metrics.gold_answers`: what flanjax.eval scores)."""
    if is_target:
        return metrics_lib.gold_answers(output, example, chain_of_thought=chain_of_thought)
    return metrics_lib.answer(output, chain_of_thought=chain_of_thought)


def _token_length_fn(vocabulary: seqio.Vocabulary) -> Callable[[str], int]:
    def length(text: str) -> int:
        return len(vocabulary.encode(text))

    return length


def _exemplar_pool(entry: CatalogEntry) -> Callable[[], list[dict]]:
    """The entry's few-shot pool, read once and shared by all its few-shot tasks."""
    return lambda: render_lib.once_per_entry("pool", entry, lambda: _read_exemplar_pool(entry))


def _read_exemplar_pool(entry: CatalogEntry) -> list[dict]:
    """EXEMPLAR_POOL_SIZE candidates from across the split the task trains on
    (`flanjax.data.exemplar_pool`), the same on every host and worker."""
    out = exemplar_pool.read_pool(_train_source(entry), entry.train_split, EXEMPLAR_POOL_SIZE,
                                  entry.name, entry.fields_of, sources.decode_example)
    if not out:
        raise ValueError(f"Few-shot for {entry.name!r}: the train split gave no usable exemplars.")
    return out


_SLICE = re.compile(r"^(?P<name>[^\[]+)\[(?P<start>-?\d*):(?P<end>-?\d*)\]$")


def cap_split(split: str, cap: int) -> str:
    """`split` cut to its first `cap` examples, as a TFDS split string.

    "train" -> "train[:cap]"; a slice with a non-negative start and end (or none) is
    narrowed ("train[30200:90200]" -> "train[30200:60200]" for cap 30000). A slice that ends
    relative to the end of the split ("train[:-1200]") cannot be narrowed without its size
    and is kept: FLAN's own such slices are the small datasets' (`flan/tasks.py`), and the
    catalog gives the large ones FLAN's explicit slices (PARACRAWL_SPLITS_DICT, fix_punct).
    """
    if "[" not in split:
        return f"{split}[:{cap}]"
    m = _SLICE.match(split)
    if not m or m["start"].startswith("-") or m["end"].startswith("-"):
        return split
    start = int(m["start"] or 0)
    end = start + cap if not m["end"] else min(int(m["end"]), start + cap)
    return f"{m['name']}[{m['start']}:{end}]"


# The training formats of Flan 2022 (its zs/fs opt/noopt variants and input inversion); "zs",
# "fs" and "cot" are FLAN 2021's and the CoT collection's.
FLAN2022_FORMATS = ("zs_noopt", "fs_noopt", "zs_varopt", "fs_varopt", "inv", "fs_inv")


def flan2022_split_view(entry: CatalogEntry, fmt: str) -> CatalogEntry:
    """`entry` as Flan 2022 format `fmt` trains on it: v2's training split
    (`CatalogEntry.flan2022_train_split`, `flan/v2/utils.py`
    `reset_split_maxes_on_flan_v0_configs`) read whole, no 30k slice; other formats and
    entries without a v2 split: `entry` unchanged."""
    split = entry.flan2022_train_split
    if fmt not in FLAN2022_FORMATS or not split or not isinstance(entry.source, sources.TfdsSource):
        return entry
    source = dataclasses.replace(entry.source, splits={**entry.source.splits, entry.train_split: split})
    return dataclasses.replace(entry, source=source, max_train_examples=None)


def _train_source(entry: CatalogEntry) -> seqio.DataSource:
    source = entry.source
    if entry.max_train_examples and isinstance(source, sources.TfdsSource):
        splits = dict(source.splits)
        split = splits.get(entry.train_split)
        if split:
            splits[entry.train_split] = cap_split(split, entry.max_train_examples)
        source = dataclasses.replace(source, splits=splits)
    return source.to_seqio()


def _register(
    name: str,
    entry: CatalogEntry,
    spec: render_lib.FormatSpec,
    *,
    template_index: Optional[int],
    train: bool,
) -> None:
    features = output_features(entry.vocabulary)
    vocabulary = features["inputs"].vocabulary
    renderer = render_lib.Renderer(
        entry,
        spec,
        task_name=name,
        template_index=template_index,
        exemplar_pool=(
            _exemplar_pool(entry) if spec.kind == "fs" and entry.fixed_shots is None else None
        ),
        length_fn=_token_length_fn(vocabulary),
    )
    few_shot = spec.kind == "fs"
    _RENDERERS[name] = renderer
    _RENDER_SEEDS[name] = render_seed()
    preprocessors = [
        make_render_preprocessor(
            renderer, uses_length=few_shot, seed=_RENDER_SEEDS[name],
            # Flan 2022 prunes training exemplars to FEW_SHOT_MAX_LEN tokens (flan/v2/constants.py).
            max_input_tokens=flan2022_facts.FEW_SHOT_MAX_LEN if train else None,
        ),
        seqio.preprocessors.tokenize,
    ]
    if not few_shot:  # Few-shot rendering depends on the feature length: not cacheable.
        preprocessors.append(seqio.CacheDatasetPlaceholder())
    preprocessors += [
        functools.partial(count_overflow, task_name=name),
        seqio.preprocessors.append_eos_after_trim,
    ]
    # Eval tasks carry the entry's metric and answer postprocessing, so seqio's Evaluator
    # (e.g. T5X's eval/infer loop) scores their generations as `flanjax.eval` does.
    seqio.TaskRegistry.add(
        name,
        source=_train_source(entry) if train else entry.source.to_seqio(),
        preprocessors=preprocessors,
        output_features=features,
        postprocess_fn=None if train else functools.partial(
            seqio_postprocess, chain_of_thought=entry.extracts_cot_answer
        ),
        metric_fns=[] if train else metrics_lib.seqio_metric_fns(entry.metric),
    )


def format_view(entry: CatalogEntry, fmt: str) -> tuple[CatalogEntry, render_lib.FormatSpec]:
    """The entry as training format `fmt` renders it, and the format's spec: Flan 2022's
    formats render Flan 2022's own templates (flan/v2/templates.py, FLAN_SOURCE_DIR) where
    the entry has them; v2's inversion patterns are already inverted (rendered zero-shot)."""
    spec, swap = TRAIN_FORMATS[fmt], {}
    if fmt in ("inv", "fs_inv") and entry.flan2022_inversion_templates:
        swap = dict(templates=entry.flan2022_inversion_templates,
                    flan2022_fewshot=entry.flan2022_inversion_fewshot)
        spec = TRAIN_FORMATS["zs" if fmt == "inv" else fmt]
    elif spec.kind == "zs" and spec.options == "noopt" and entry.flan2022_noopt_templates:
        swap = dict(templates=entry.flan2022_noopt_templates)
    elif spec.options in ("noopt", "varied") and entry.flan2022_templates:
        swap = dict(templates=entry.flan2022_templates)
    if not swap:
        return entry, spec
    if fmt in ("zs_varopt", "inv") and entry.flan2022_nondeter is not None:
        # v2's zs_opt submixtures take a task's `_non_deter_opt_zero_shot` variant where it has
        # one (flan/v2/mixtures_utils.py register_mixture, use_all_templates=False).
        spec = dataclasses.replace(spec, nondeterministic=True)
    # v2's CoT templates write the rationale themselves ({chain_of_thought} in the target).
    return dataclasses.replace(entry, rationale_field=None, eval_templates=None, **swap), spec


def train_formats(entry: CatalogEntry) -> list[str]:
    """The training formats registered for `entry` (none for an eval-only benchmark)."""
    if entry.eval_only:
        return []
    out = ["zs", "fs"]
    # Flan 2022's formats: entries with options, and with v2's templates (FLAN_SOURCE_DIR)
    # every Flan entry, so the Flan submixture renders v2's templates (mixtures._fmt).
    if entry.has_options or entry.flan2022_templates or entry.flan2022_train_split:
        out += ["zs_noopt", "fs_noopt", "zs_varopt", "fs_varopt"]
    if entry.rationale_field:
        out.append("cot")
    if entry.inversion:
        out.append("inv")
    if entry.flan2022_inversion_fewshot:
        out.append("fs_inv")
    return out


def train_task_name(entry: CatalogEntry, fmt: str) -> str:
    return f"{entry.name}_{fmt}"


def eval_task_name(entry: CatalogEntry, fmt: str, template_index: int) -> str:
    tid = render_lib.template_id(entry.templates[template_index], template_index)
    return f"{entry.name}_{fmt}:{tid}"


def eval_task_names(entry: CatalogEntry, fmt: str = "zs") -> list[str]:
    return [eval_task_name(entry, fmt, i) for i in entry.eval_template_indices]


# Every registered task's catalog entry: lets mixtures find a task's cluster by name.
_TASK_ENTRIES: dict[str, CatalogEntry] = {}
# Every registered task's renderer: render worker processes and cache fingerprints use it.
_RENDERERS: dict[str, render_lib.Renderer] = {}
_RENDER_SEEDS: dict[str, int] = {}


def renderer_of_task(name: str) -> render_lib.Renderer:
    """The renderer of a flanjax task (its entry, format, template and task name)."""
    if name not in _RENDERERS:
        raise KeyError(f"{name!r} is not a task registered from the flanjax catalog.")
    return _RENDERERS[name]


def render_seed_of_task(name: str) -> int:
    """The render seed a flanjax task was registered with."""
    renderer_of_task(name)
    return _RENDER_SEEDS[name]
_REGISTERED_ENTRIES: set[str] = set()


# Tasks registered outside the catalog (Super-NaturalInstructions) and their cluster.
_TASK_CLUSTERS: dict[str, str] = {}


def entry_of_task(name: str) -> CatalogEntry:
    """The catalog entry a flanjax task was registered from."""
    if name not in _TASK_ENTRIES:
        raise KeyError(f"{name!r} is not a task registered from the flanjax catalog.")
    return _TASK_ENTRIES[name]


def register_task_cluster(name: str, cluster: str) -> None:
    """Records the cluster of a task that has no catalog entry (`flanjax.data.sni`)."""
    _TASK_CLUSTERS[name] = cluster


def cluster_of_task(name: str) -> Optional[str]:
    """The cluster a registered flanjax task belongs to; None for other seqio tasks.

    The one answer to "which cluster is this task in", used by mixtures, held-out
    evaluation and the experiments.
    """
    if name in _TASK_CLUSTERS:
        return _TASK_CLUSTERS[name]
    entry = _TASK_ENTRIES.get(name)
    return entry.cluster if entry is not None else None


def register_entry_tasks(entry: CatalogEntry) -> list[str]:
    """Registers the training and eval tasks of one entry; returns their names."""
    names = []
    for fmt in train_formats(entry):
        name = train_task_name(entry, fmt)
        view, spec = format_view(flan2022_split_view(entry, fmt), fmt)
        _register(name, view, spec, template_index=None, train=True)
        names.append(name)
    # Entries with only a train split (e.g. Flan 2022's CoT TSVs) get no eval tasks:
    # evaluating on training data would mislead.
    eval_formats = EVAL_FORMATS if entry.eval_split != entry.train_split else ()
    for fmt in eval_formats:
        for i in entry.eval_template_indices:
            name = eval_task_name(entry, fmt, i)
            _register(name, entry, TRAIN_FORMATS[fmt], template_index=i, train=False)
            names.append(name)
    _TASK_ENTRIES.update(dict.fromkeys(names, entry))
    _REGISTERED_ENTRIES.add(entry.name)
    return names


def register_all() -> None:
    """Registers the tasks of every catalog entry (idempotent)."""
    for entry in catalog_lib.all_entries():
        if entry.name in _REGISTERED_ENTRIES:
            continue
        register_entry_tasks(entry)
    logging.debug("flanjax registered %d tasks", len(_TASK_ENTRIES))
