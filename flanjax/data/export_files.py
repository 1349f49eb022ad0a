"""A task or mixture written out as files, in the fields of the Flan 2022 release.

Each row: `inputs`, `targets` (the text training sees, before tokenization: seqio's
`*_pretokenized`), `task_source`, `task_name`, `template_type`, `template_idx`: the
passthrough features FLAN's `flan/v2/run_example.py` reads out (`_task_source`,
`_task_name`, `_template_type`, `_template_idx`, set by `flan/v2/preprocessors.py`
`add_source_info` / `add_template_info`), named without the underscore as in the released
submixture files.

How many examples of each task (`plan`):
  --num_examples N   allocated exactly: task i gets N * r_i / sum(r) rounded by largest
                     remainder (ties: mixture order), r_i the mixture's rate (seqio
                     `Mixture.get_rate`, sub-mixtures multiplied through). A task with
                     fewer examples than its share repeats them, in a new order each pass,
                     as examples-proportional training does.
  --epochs E         every training example of every task E times (FLAN's run_example
                     with num_epochs=1 read to the end); the rates only order nothing, and
                     are recorded.
Which examples: the task's seqio dataset, shuffled with seed stable_int(seed, task, pass).
Where they go: the i-th example of a task to shard (stable_int(seed, task) + i) % num_shards
(round robin, so shards are even), ordered inside a shard by stable_int(seed, task, i), so
the files are a fixed function of the seed whatever order the workers run in: the same
seed gives byte-identical files. A shard that gets no example is not written (Hugging Face
`datasets` cannot read an empty Parquet file); the manifest lists the files written.

The tasks render in parallel as an Apache Beam pipeline (`run_pipeline`; the DirectRunner
by default, Dataflow / Flink / Spark by pipeline options).
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import re
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

FORMATS = ("jsonl", "parquet", "tfrecord")
FIELDS = ("inputs", "targets", "task_source", "task_name", "template_type", "template_idx")
MANIFEST = "manifest.json"
DEFAULT_LENGTHS = {"inputs": 2048, "targets": 512}  # run_example.py: 2056 / 512
EXAMPLES_PER_SHARD = 50_000

# v2's `_task_source` of each flanjax collection (flan/v2/task_configs.py add_source_info:
# "Flan2021", "P3", "NIv2", "CoT", "Dialog"); other collections keep their own name.
TASK_SOURCES = {"flan2021": "Flan2021", "flan2022_flan": "Flan2021", "t0": "P3",
                "t0_plus": "P3", "niv2": "NIv2", "cot": "CoT", "dialog": "Dialog"}
# v2's `_template_type` of each flanjax training format (flan/v2/tasks.py: "zs_opt",
# "zs_noopt", "fs_opt", "fs_noopt"; the inverted "_ii" tasks register as zs_opt / fs_opt).
# flanjax's FLAN 2021-style `zs` / `fs` list the options as v2's *_opt do; `cot` (zero-shot
# chain-of-thought trigger) has no v2 counterpart and keeps its name.
TEMPLATE_TYPES = {"zs": "zs_opt", "fs": "fs_opt", "zs_noopt": "zs_noopt", "fs_noopt": "fs_noopt",
                  "zs_varopt": "zs_opt", "fs_varopt": "fs_opt", "inv": "zs_opt",
                  "fs_inv": "fs_opt", "cot": "cot"}


class ExportError(ValueError):
    """Bad export arguments or data: one line naming what to change."""


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    name: str  # mixture or task
    out_dir: str
    split: str = "train"
    num_examples: Optional[int] = None  # None: `epochs` passes over every task
    epochs: int = 1
    seed: int = 0
    fmt: str = "jsonl"
    num_shards: Optional[int] = None
    lengths: Mapping[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_LENGTHS))
    # Data settings (`flanjax.data.locations`) that Beam workers register the tasks with.
    settings: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TaskPlan:
    task: str
    rate: float  # the mixture's rate (1.0 for a task exported alone)
    share: float  # rate / sum of rates
    count: Optional[int]  # examples to write; None: `epochs` passes
    task_source: str
    task_name: str
    template_type: str


# -- what each task is --------------------------------------------------------------------


def describe_task(task: str) -> tuple[str, str, str]:
    """(task_source, task_name, template_type) of a registered task, in v2's vocabulary."""
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    base = task.split(":", 1)[0]
    try:
        entry = tasks_lib.entry_of_task(task)
    except KeyError:  # outside the catalog (Super-NaturalInstructions: niv2_zs, niv2_fs)
        cluster = tasks_lib.cluster_of_task(task) or "seqio"
        fmt = base.rsplit("_", 1)[-1]
        return TASK_SOURCES.get(cluster, cluster), base, TEMPLATE_TYPES.get(fmt, fmt)
    fmt = base[len(entry.name) + 1:] if base.startswith(entry.name + "_") else "zs"
    name = entry.name + ("_ii" if fmt in ("inv", "fs_inv") else "")  # v2: wiki_dialog_ii
    return TASK_SOURCES.get(entry.collection, entry.collection), name, TEMPLATE_TYPES.get(fmt, fmt)


def allocate(rates: Mapping[str, float], n: int) -> dict[str, int]:
    """`n` split over tasks in proportion to `rates`, by largest remainder (Hamilton)."""
    total = sum(rates.values())
    if n < 0 or total <= 0:
        raise ExportError(f"cannot allocate {n} examples over rates summing to {total}")
    exact = {t: n * r / total for t, r in rates.items()}
    out = {t: math.floor(x) for t, x in exact.items()}
    order = sorted(rates, key=lambda t: (-(exact[t] - out[t]), list(rates).index(t)))
    for t in order[: n - sum(out.values())]:
        out[t] += 1
    return out


def plan(config: ExportConfig) -> list[TaskPlan]:
    """The tasks of `config.name` with their rates and, for --num_examples, counts."""
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    provider = mixtures.get_mixture_or_task(config.name)
    if isinstance(provider, seqio.Mixture):
        rates = {t.name: float(provider.get_rate(t)) for t in provider.tasks}
    else:
        rates = {provider.name: 1.0}
    rates = {t: r for t, r in rates.items() if r > 0}
    total = sum(rates.values())
    counts = allocate(rates, config.num_examples) if config.num_examples is not None else {}
    out = []
    for task, rate in rates.items():
        source, name, template_type = describe_task(task)
        out.append(TaskPlan(task, rate, rate / total, counts.get(task), source, name, template_type))
    return out


def default_num_shards(config: ExportConfig, tasks: Sequence[TaskPlan]) -> int:
    if config.num_shards:
        return config.num_shards
    if config.num_examples is not None:
        total = config.num_examples
    else:
        from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top
        import seqio  # pylint: disable=g-import-not-at-top

        total = config.epochs * sum(mixtures.num_train_examples(seqio.get_mixture_or_task(t.task),
                                                                config.split) for t in tasks)
    return max(1, math.ceil(total / EXAMPLES_PER_SHARD))


# -- rendering one task ---------------------------------------------------------------------


def _template_idx(task: str, template_id: str) -> int:
    """v2's `_template_idx` (an int): the position of the template in the task's entry, or
    the leading number of the id (FLAN's "{dataset}:{i}" templates and v2's few-shot
    patterns); -1 where the id has none."""
    from flanjax.data import render as render_lib  # pylint: disable=g-import-not-at-top
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    try:
        templates = tasks_lib.renderer_of_task(task).entry.templates
    except KeyError:
        templates = ()
    for i, t in enumerate(templates):
        if render_lib.template_id(t, i) == template_id:
            return i
    m = re.match(r"\d+", template_id)
    return int(m.group()) if m else -1


def examples_of_task(config: ExportConfig, tp: TaskPlan) -> Iterator[dict[str, Any]]:
    """The rows of one task, in its draw order (see the module docstring)."""
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import render as render_lib  # pylint: disable=g-import-not-at-top

    task = seqio.get_mixture_or_task(tp.task)
    written, passes = 0, 0
    while (written < tp.count) if tp.count is not None else (passes < config.epochs):
        ds = task.get_dataset(
            sequence_length=dict(config.lengths), split=config.split, shuffle=True,
            seed=render_lib.stable_int(config.seed, tp.task, passes) % (2**31), num_epochs=1,
            use_cached=False)
        in_pass = 0
        for ex in ds.as_numpy_iterator():
            tid = ex.get("template_id", b"")
            tid = tid.decode("utf-8") if isinstance(tid, bytes) else str(tid)
            yield {
                "inputs": ex["inputs_pretokenized"].decode("utf-8"),
                "targets": ex["targets_pretokenized"].decode("utf-8"),
                "task_source": tp.task_source,
                "task_name": tp.task_name,
                "template_type": tp.template_type,
                "template_idx": _template_idx(tp.task, tid) if tid else -1,
            }
            in_pass += 1
            written += 1
            if tp.count is not None and written >= tp.count:
                return
        if in_pass == 0:
            raise ExportError(f"Task {tp.task!r}: split {config.split!r} gave no examples "
                              "(every example skipped, or the split is empty)")
        passes += 1


def keyed_examples(config: ExportConfig, tp: TaskPlan,
                   num_shards: int) -> Iterator[tuple[int, tuple[int, str]]]:
    """(shard, (sort key, serialized row)) of every row of a task; logs progress."""
    from flanjax.data import render as render_lib  # pylint: disable=g-import-not-at-top

    n = 0
    every = max(1, (tp.count or 10_000) // 10)
    offset = render_lib.stable_int(config.seed, tp.task, "shard")
    for n, row in enumerate(examples_of_task(config, tp), start=1):
        # Round robin from a per-task offset (shards even in size); the key orders a shard.
        key = render_lib.stable_int(config.seed, tp.task, n - 1)
        yield (offset + n - 1) % num_shards, (key, json.dumps(row, ensure_ascii=False))
        if n % every == 0:
            logging.info("[export] %s: %d%s examples", tp.task, n,
                         f" of {tp.count}" if tp.count is not None else "")
    logging.info("[export] %s: done, %d examples", tp.task, n)


# -- writing ----------------------------------------------------------------------------------


def shard_name(split: str, shard: int, num_shards: int, fmt: str) -> str:
    return f"{split}-{shard:05d}-of-{num_shards:05d}.{fmt}"


def _pyarrow():
    try:
        import pyarrow  # pylint: disable=g-import-not-at-top
        import pyarrow.parquet  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    except ImportError:
        raise ExportError("--format parquet needs pyarrow: pip install 'flanjax[export]'") from None
    return pyarrow


def encode_shard(rows: Sequence[Mapping[str, Any]], fmt: str) -> bytes:
    """The bytes of one shard file in `fmt`."""
    if fmt == "jsonl":
        return "".join(json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n"
                       for r in rows).encode("utf-8")
    if fmt == "parquet":
        pa = _pyarrow()
        schema = pa.schema([(k, pa.int64() if k == "template_idx" else pa.string()) for k in FIELDS])
        table = pa.Table.from_pylist([{k: r[k] for k in FIELDS} for r in rows], schema=schema)
        buf = io.BytesIO()
        pa.parquet.write_table(table, buf, compression="snappy")
        return buf.getvalue()
    raise ExportError(f"unknown format {fmt!r}; one of {FORMATS}")


def _tf_example(row: Mapping[str, Any]) -> bytes:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    feature = {k: tf.train.Feature(int64_list=tf.train.Int64List(value=[row[k]]))
               if k == "template_idx" else
               tf.train.Feature(bytes_list=tf.train.BytesList(value=[row[k].encode("utf-8")]))
               for k in FIELDS}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(
        deterministic=True)


def write_shard(config: ExportConfig, shard: int, num_shards: int,
                keyed_rows: Iterable[tuple[int, str]]) -> Optional[str]:
    """Writes one shard (rows sorted by key); returns its file name (None: no rows)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    rows = [json.loads(text) for _, text in sorted(keyed_rows)]
    if not rows:
        return None
    name = shard_name(config.split, shard, num_shards, config.fmt)
    path = os.path.join(config.out_dir, name)
    if config.fmt == "tfrecord":
        with tf.io.TFRecordWriter(path) as writer:
            for row in rows:
                writer.write(_tf_example(row))
        return name
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(encode_shard(rows, config.fmt))
    return name


# -- the manifest ---------------------------------------------------------------------------


def prompt_record(tasks: Sequence[TaskPlan]) -> dict[str, Any]:
    """The prompt sources of the exported tasks' collections (files with their SHA-256,
    `flanjax.data.templates.sources`) and each task's template digest (`flanjax.data.cache`
    fingerprint: the templates it renders, as the offline cache records them)."""
    from flanjax.data import cache  # pylint: disable=g-import-not-at-top
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top
    from flanjax.data.templates import sources as prompt_sources  # pylint: disable=g-import-not-at-top

    collections = set()
    for t in tasks:
        try:
            collections.add(tasks_lib.entry_of_task(t.task).collection)
        except KeyError:
            pass
    used = prompt_sources.prompt_sources()
    return {
        "collections": {c: used.get(c, {"prompts": prompt_sources.OWN, "files": {}})
                        for c in sorted(collections)},
        "task_templates_sha256": {t.task: cache.fingerprint(t.task)["templates"] for t in tasks},
    }


def manifest(config: ExportConfig, tasks: Sequence[TaskPlan], counts: Mapping[str, int],
             files: Sequence[str], prompts: Mapping[str, Any]) -> dict[str, Any]:
    import flanjax  # pylint: disable=g-import-not-at-top
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    by_task = {}
    for t in tasks:
        by_task[t.task] = {
            "rate": t.rate, "share": t.share, "allocated": t.count, "count": int(counts.get(t.task, 0)),
            "task_source": t.task_source, "task_name": t.task_name, "template_type": t.template_type,
            "cluster": tasks_lib.cluster_of_task(t.task),
            "render_seed": _render_seed(t.task),
        }
    return {
        "mixture": config.name,
        "split": config.split,
        "counts_rule": ("allocated exactly: largest remainder of num_examples x rate / sum of rates"
                        if config.num_examples is not None else
                        f"every example of every task, {config.epochs} epoch(s)"),
        "num_examples": config.num_examples,
        "epochs": None if config.num_examples is not None else config.epochs,
        "total": int(sum(counts.values())),
        "tasks": by_task,
        "seed": config.seed,
        "lengths": dict(config.lengths),
        "format": config.fmt,
        "fields": list(FIELDS),
        "files": sorted(files),
        "prompt_sources": dict(prompts),
        "flanjax_version": flanjax.__version__,
    }


def _render_seed(task: str) -> Optional[int]:
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    try:
        return tasks_lib.render_seed_of_task(task)
    except KeyError:
        return None


def write_manifest(config: ExportConfig, data: Mapping[str, Any]) -> str:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    path = os.path.join(config.out_dir, MANIFEST)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


# -- the Beam pipeline ---------------------------------------------------------------------


def _beam():
    try:
        import apache_beam as beam  # pylint: disable=g-import-not-at-top
    except ImportError:
        raise ExportError("exporting runs an Apache Beam pipeline: pip install 'flanjax[export]'") from None
    return beam


def _register(settings: Mapping[str, str]) -> None:
    """Registers the tasks in a Beam worker as the driver did (its data settings)."""
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    locations.configure(dict(settings))
    from flanjax.data import mixtures  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import


def prepare_out_dir(config: ExportConfig, overwrite: bool) -> None:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    if tf.io.gfile.exists(os.path.join(config.out_dir, MANIFEST)) and not overwrite:
        raise ExportError(f"{config.out_dir} already holds an export ({MANIFEST}); choose another "
                          "--out or pass --overwrite")
    tf.io.gfile.makedirs(config.out_dir)
    for old in tf.io.gfile.glob(os.path.join(config.out_dir, f"{config.split}-*-of-*.*")):
        tf.io.gfile.remove(old)


def run_pipeline(config: ExportConfig, pipeline_args: Sequence[str] = (), *,
                 overwrite: bool = False) -> dict[str, Any]:
    """Exports `config.name` with Beam: one worker task per seqio task, then one per shard.
    Returns the manifest written to `config.out_dir`."""
    beam = _beam()
    from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=g-import-not-at-top

    if config.fmt not in FORMATS:
        raise ExportError(f"--format {config.fmt!r}: one of {', '.join(FORMATS)}")
    if config.fmt == "parquet":
        _pyarrow()
    _register(config.settings)
    tasks = plan(config)
    num_shards = default_num_shards(config, tasks)
    prompts = prompt_record(tasks)
    prepare_out_dir(config, overwrite)
    logging.info("[export] %s: %d task(s) -> %d %s shard(s) in %s", config.name, len(tasks),
                 num_shards, config.fmt, config.out_dir)
    def finish(counts: Mapping[str, int], files: Sequence[Optional[str]]) -> None:
        write_manifest(config, manifest(config, tasks, counts, [f for f in files if f], prompts))

    class RenderTask(beam.DoFn):
        def setup(self):
            _register(config.settings)

        def process(self, task: str):
            tp = next(t for t in tasks if t.task == task)
            n = 0
            for shard, keyed in keyed_examples(config, tp, num_shards):
                n += 1
                yield shard, keyed
            yield beam.pvalue.TaggedOutput("counts", (task, n))

    with beam.Pipeline(options=PipelineOptions(list(pipeline_args))) as p:
        rendered = (p | "Tasks" >> beam.Create([t.task for t in tasks])
                    | "Spread" >> beam.Reshuffle()
                    | "Render" >> beam.ParDo(RenderTask()).with_outputs("counts", main="rows"))
        every_shard = p | "Shards" >> beam.Create([(s, None) for s in range(num_shards)])
        files = ((rendered.rows, every_shard) | beam.Flatten() | beam.GroupByKey()
                 | "Write" >> beam.MapTuple(lambda s, rows: write_shard(
                     config, s, num_shards, [r for r in rows if r is not None]))
                 | "Files" >> beam.combiners.ToList())
        _ = (rendered.counts | beam.combiners.ToDict()
             | "Manifest" >> beam.Map(finish, files=beam.pvalue.AsSingleton(files)))
    import tensorflow as tf  # pylint: disable=g-import-not-at-top

    with tf.io.gfile.GFile(os.path.join(config.out_dir, MANIFEST)) as f:
        return json.load(f)
