"""Held-out evaluation: a checkpoint on a cluster, a mixture or a list of tasks.

Each eval task (`{entry}_{zs|fs}:{template}`) is scored on its entry's eval split:
rank classification over the answer options where the entry is a classification task
(`eval_mode="rank"`) and the example has options, generation + the entry's metric
otherwise. Results are kept per dataset x template and summarised as the papers do:

  T0 (Sanh et al. 2021, Fig. 4 / Table 6): per dataset, the median over templates and the
     spread (min, max, interquartile range);
  FLAN (Wei et al. 2021, Sec. 3): per dataset, the mean over templates; per cluster, the
     mean of its datasets; overall, the mean over clusters;
  SNI (Wang et al. 2022): ROUGE-L and exact match per task (metric "rouge" reports both).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import time
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from flanjax.data import catalog as catalog_lib
from flanjax.data import render as render_lib
from flanjax.data import tasks as tasks_lib
from flanjax.data.catalog.entry import CatalogEntry
from flanjax.data import metrics
from flanjax.data import sources
from flanjax.data import vocab_files
from flanjax.evaluation import generation, ranking
from flanjax.model import T5Config

MODES = ("auto", "rank", "generate")
DEFAULT_LENGTHS = {"inputs": 512, "targets": 64}


class UnknownEvalTargetError(ValueError):
    """A cluster, mixture or task name that does not exist."""


VocabularyMismatchError = vocab_files.VocabularyMismatchError  # the embedding does not fit the tasks' vocabulary


# -- what to evaluate -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EvalTask:
    name: str  # the seqio eval task, e.g. "demo_entailment_zs:0"
    entry: CatalogEntry
    fmt: str  # "zs" | "fs"
    template: str


def registry():
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import mixtures  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import

    return seqio


def entry_of_task(name: str) -> Optional[CatalogEntry]:
    """The catalog entry of a registered training or eval task, or None (e.g. an SNI task)."""
    registry()  # registers every catalog entry's tasks
    try:
        return tasks_lib.entry_of_task(name)
    except KeyError:
        return None


def _all_clusters() -> dict[str, list[str]]:
    """{cluster: [collections that have it]}."""
    out: dict[str, list[str]] = {}
    for entry in catalog_lib.all_entries():
        out.setdefault(entry.cluster, [])
        if entry.collection not in out[entry.cluster]:
            out[entry.cluster].append(entry.collection)
    return out


def entries_of_mixture(name: str) -> list[CatalogEntry]:
    seqio = registry()
    provider = seqio.get_mixture_or_task(name)
    tasks = provider.tasks if isinstance(provider, seqio.Mixture) else [provider]
    out: dict[str, CatalogEntry] = {}
    for task in tasks:
        entry = entry_of_task(task.name)
        if entry is not None:
            out.setdefault(entry.name, entry)
    return list(out.values())


def resolve_tasks(
    spec: Union[str, Sequence[str]], *, fmt: str = "zs", collection: Optional[str] = None
) -> list[EvalTask]:
    """Eval tasks of a comma-separated list (or list) of clusters, mixtures, entries, tasks.

    A cluster takes every dataset of that cluster in `collection` (needed only when several
    collections have the cluster); a mixture takes the datasets it trains on; an entry all
    its templates; an eval task name (`{entry}_{fmt}:{template}`) itself.
    """
    if fmt not in tasks_lib.EVAL_FORMATS:
        raise ValueError(f"eval format must be one of {tasks_lib.EVAL_FORMATS}, got {fmt!r}")
    seqio = registry()
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise UnknownEvalTargetError("Nothing to evaluate: give a cluster, mixture or task name.")
    clusters = _all_clusters()
    names: list[str] = []
    for item in items:
        if ":" in item:
            if item not in seqio.TaskRegistry.names():
                close = difflib.get_close_matches(item, seqio.TaskRegistry.names(), n=5)
                raise UnknownEvalTargetError(f"Unknown eval task {item!r}; closest: {close}.")
            names.append(item)
            continue
        if item in clusters:
            owners = clusters[item]
            if collection is None and len(owners) > 1:
                raise UnknownEvalTargetError(
                    f"Cluster {item!r} exists in collections {owners}; say which one "
                    "(gin EVAL_COLLECTION, --collection, or collection=...)."
                )
            coll = collection or owners[0]
            entries = catalog_lib.entries_in(coll, [item])
            if not entries:
                raise UnknownEvalTargetError(
                    f"Collection {coll!r} has no cluster {item!r}; its clusters: "
                    f"{catalog_lib.clusters(coll)}."
                )
        elif item in seqio.MixtureRegistry.names() or item in seqio.TaskRegistry.names():
            entries = entries_of_mixture(item)
        else:
            try:
                entries = [catalog_lib.get_entry(item)]
            except KeyError:
                known = sorted(clusters) if collection is None else catalog_lib.clusters(collection)
                close = difflib.get_close_matches(
                    item, list(clusters) + list(seqio.MixtureRegistry.names()), n=5
                )
                raise UnknownEvalTargetError(
                    f"Unknown cluster, mixture or task {item!r}. Clusters: {known}. "
                    f"Closest names: {close}."
                ) from None
        for entry in entries:
            if entry.eval_split == entry.train_split:
                logging.warning("%s has no held-out split; skipped", entry.name)
                continue
            names.extend(tasks_lib.eval_task_names(entry, fmt))
    out = []
    for name in dict.fromkeys(names):
        entry = entry_of_task(name)
        base, template = name.split(":", 1)
        out.append(EvalTask(name, entry, base.rsplit("_", 1)[1], template))
    return out


# -- data -------------------------------------------------------------------------------


def load_examples(
    task: EvalTask, *, max_examples: Optional[int], lengths: Mapping[str, int],
    use_cached: bool = False,
) -> list[dict[str, Any]]:
    """The first `max_examples` examples of a task's eval split, as numpy dicts."""
    seqio = registry()
    if use_cached:  # a missing or stale cache fails here, naming the task
        from flanjax.data import cache  # pylint: disable=g-import-not-at-top

        cache.check_cached(task.name, task.entry.eval_split, use_cached)
    ds = seqio.get_mixture_or_task(task.name).get_dataset(
        sequence_length=dict(lengths), split=task.entry.eval_split, shuffle=False, num_epochs=1,
        use_cached=use_cached,
    )
    if max_examples:
        ds = ds.take(max_examples)
    return list(ds.as_numpy_iterator())


def vocabulary_of(task: EvalTask) -> Any:
    return registry().get_mixture_or_task(task.name).output_features["targets"].vocabulary


def check_vocabulary(config: T5Config, vocabulary: Any, task_name: str) -> None:
    """A checkpoint fits a vocabulary if every id embeds and the table is not far larger
    (`vocab_files.check_embedding`)."""
    vocab_files.check_embedding(
        config.vocab_size, vocabulary, f"task {task_name!r}",
        "Evaluate it on tasks tokenized with its own SentencePiece model (env FLANJAX_VOCAB) "
        "or pick the matching checkpoint.")


# -- scoring ----------------------------------------------------------------------------


@dataclasses.dataclass
class TaskResult:
    task: str
    dataset: str
    cluster: str
    collection: str
    format: str
    template: str
    metric: str
    values: dict[str, float]
    score: float  # the metric's headline number (metrics.PRIMARY)
    num_examples: int
    num_ranked: int
    num_generated: int
    seconds: float
    samples: list[dict[str, str]] = dataclasses.field(default_factory=list)
    exemplars_dropped: int = 0  # few-shot exemplars left out to fit the inputs length

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class EvalSettings:
    mode: str = "auto"  # "auto": rank where options exist and the entry ranks; "rank"; "generate"
    max_examples: Optional[int] = None
    lengths: tuple[tuple[str, int], ...] = tuple(DEFAULT_LENGTHS.items())
    batch_size: int = 32
    length_normalize: bool = False
    decode_method: str = "greedy"
    num_beams: int = 4
    num_samples: int = 3  # predictions kept per task in results.json
    use_cached: bool = False  # read seqio's offline caches (USE_CACHED_TASKS)




def evaluate_task(
    config: T5Config, params: Any, task: EvalTask, settings: EvalSettings = EvalSettings(),
    examples: Optional[Sequence[dict[str, Any]]] = None,
) -> TaskResult:
    """Scores one eval task; see the module docstring for how the mode is chosen.

    `examples`: the task's examples as `load_examples` returned them for these settings
    (the in-training evaluator reads them once); None reads them here.
    """
    if settings.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {settings.mode!r}")
    start = time.time()
    vocabulary = vocabulary_of(task)
    check_vocabulary(config, vocabulary, task.name)
    lengths = dict(settings.lengths)
    trimmed_before = render_lib.trimmed_counts().get(task.name, 0)
    if examples is None:
        examples = load_examples(task, max_examples=settings.max_examples, lengths=lengths,
                                 use_cached=settings.use_cached)
    dropped = render_lib.trimmed_counts().get(task.name, 0) - trimmed_before
    if dropped:
        logging.warning(
            "%s: %d few-shot exemplar(s) left out so examples fit %d input tokens; the "
            "paper's prompt had them all: raise the inputs length.", task.name, dropped,
            lengths["inputs"],
        )
    if settings.mode == "rank":
        ranking.check_has_options(examples, task.name)
    rank_idx, gen_idx = [], []
    for i, ex in enumerate(examples):
        use_rank = settings.mode == "rank" or (
            settings.mode == "auto" and task.entry.eval_mode == "rank" and ranking.options_of(ex)
        )
        (rank_idx if use_rank else gen_idx).append(i)
    predictions: list[str] = [""] * len(examples)
    if rank_idx:
        result = ranking.rank_classify(
            config, params, vocabulary, [examples[i] for i in rank_idx], task_name=task.name,
            batch_size=settings.batch_size, length_normalize=settings.length_normalize,
            max_option_length=lengths["targets"],
        )
        for i, p in zip(rank_idx, result.predictions):
            predictions[i] = p
    if gen_idx:
        texts = generation.decode(
            config, params, vocabulary, [examples[i] for i in gen_idx],
            batch_size=settings.batch_size, max_decode_length=lengths["targets"],
            method=settings.decode_method, num_beams=settings.num_beams,
        )
        for i, t in zip(gen_idx, texts):
            predictions[i] = t
    # The one answer extraction and scoring the task's seqio metric_fns use too.
    cot = task.entry.extracts_cot_answer
    targets = [metrics.gold_answers(ex["targets_pretokenized"], ex, chain_of_thought=cot) for ex in examples]
    answers = [metrics.answer(p, chain_of_thought=cot) for p in predictions]
    metric = task.entry.metric
    values = metrics.score(metric, targets, answers)
    samples = [
        {"inputs": sources.as_text(ex["inputs_pretokenized"]), "target": sources.as_text(ex["targets_pretokenized"]),
         "prediction": p}
        for ex, p in list(zip(examples, predictions))[: settings.num_samples]
    ]
    return TaskResult(
        task=task.name, dataset=task.entry.name, cluster=task.entry.cluster,
        collection=task.entry.collection, format=task.fmt, template=task.template,
        metric=metric, values=values, score=metrics.primary_value(metric, values),
        num_examples=len(examples), num_ranked=len(rank_idx), num_generated=len(gen_idx),
        seconds=time.time() - start, samples=samples, exemplars_dropped=dropped,
    )


def evaluate(
    config: T5Config,
    params: Any,
    tasks: Iterable[EvalTask],
    settings: EvalSettings = EvalSettings(),
    *,
    log: bool = True,
) -> dict[str, Any]:
    """Every task's result plus the aggregates: {"tasks", "datasets", "clusters", "overall"}."""
    results = []
    tasks = list(tasks)
    for i, task in enumerate(tasks, start=1):
        result = evaluate_task(config, params, task, settings)
        if log:  # progress as each task finishes (eval can run for hours)
            log_progress(i, len(tasks), result)
        results.append(result)
    return {"tasks": [r.to_dict() for r in results], **aggregate(results)}


def log_progress(i: int, n: int, result: "TaskResult") -> None:
    """`[eval] i/n task: metric = score (k examples, s)`, as each task finishes."""
    print(f"[eval] {i}/{n} {result.task}: {result.metric} = {result.score:.2f} "
          f"({result.num_examples} examples, {result.seconds:.1f}s)", flush=True)


# -- aggregates -------------------------------------------------------------------------


def _spread(scores: Sequence[float]) -> dict[str, float]:
    a = np.asarray(scores, np.float64)
    q25, q75 = np.percentile(a, [25, 75])
    return {
        "median": float(np.median(a)),
        "mean": float(np.mean(a)),
        "min": float(np.min(a)),
        "max": float(np.max(a)),
        "std": float(np.std(a)),
        "iqr": float(q75 - q25),
        "num_templates": int(a.size),
    }


def aggregate(results: Sequence[Union[TaskResult, Mapping[str, Any]]]) -> dict[str, Any]:
    """T0's and FLAN's summaries of per-template results.

    datasets: {dataset: {median, mean, min, max, std, iqr, num_templates, cluster, metric}}
      over the templates of each (dataset, format);
    clusters: {cluster: {mean (of dataset means), median (of dataset medians), datasets}};
    overall: mean of the cluster means.
    """
    rows = [r.to_dict() if isinstance(r, TaskResult) else dict(r) for r in results]
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row["dataset"] if row.get("format", "zs") == "zs" else f"{row['dataset']}_{row['format']}"
        by_dataset.setdefault(key, []).append(row)
    datasets = {}
    for key, group in by_dataset.items():
        datasets[key] = {
            **_spread([g["score"] for g in group]),
            "cluster": group[0]["cluster"],
            "metric": group[0]["metric"],
            "templates": {g["template"]: g["score"] for g in group},
        }
    clusters: dict[str, dict[str, Any]] = {}
    for key, d in datasets.items():
        clusters.setdefault(d["cluster"], {"datasets": []})["datasets"].append(key)
    for name, c in clusters.items():
        c["mean"] = float(np.mean([datasets[k]["mean"] for k in c["datasets"]]))
        c["median"] = float(np.mean([datasets[k]["median"] for k in c["datasets"]]))
    overall = float(np.mean([c["mean"] for c in clusters.values()])) if clusters else 0.0
    return {"datasets": datasets, "clusters": clusters, "overall": overall}
