"""Offline task caches: seqio's Beam cache job for flanjax tasks, and their fingerprints.

Build (the DirectRunner here; Dataflow, Flink or Spark by Beam pipeline options):

    python -m flanjax.data.cache --mixture=flan2022 --output_cache_dir=gs://bucket/cache \
        --pipeline_options=--runner=DataflowRunner,--project=...,--region=...

or `--tasks=demo_addition_zs,demo_reviews_zs` (regexes, as seqio's `cache_tasks_main`).
Every flag of seqio's `cache_tasks_main` applies (`--min_shards`, `--overwrite`, ...);
`--render_seed` sets the seed templates are drawn with (env FLANJAX_RENDER_SEED).

The job is seqio's own (`seqio.scripts.cache_tasks_main.run_pipeline`, one call per task).
What flanjax adds is a fingerprint of each task's definition (templates, format, field
preprocessing, source, vocabulary, render seed), written as JSON into the cache's
COMPLETED marker, which seqio writes last. Training and evaluation read the cache with
seqio's `use_cached` (gin macro USE_CACHED_TASKS, as in T5X) after `check_cached` has
compared every task's fingerprint with the registered task: a cache built from other
templates or another seed is refused, naming the task and what differs.

Few-shot tasks are not cacheable (their rendering depends on the feature lengths, which
seqio only knows after the cache): they are rendered live, and said so.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import logging
import os
import re
import sys
from typing import Any, Optional, Sequence

import seqio
import tensorflow as tf

# Bump when the fingerprint's meaning changes (old caches then read as stale).
FINGERPRINT_VERSION = 1
COMPLETED = "COMPLETED"
# Where training and evaluation look for caches, besides seqio's global cache dirs.


class CacheError(ValueError):
    """A cache was asked for but is missing or was built from another task definition."""


# -- fingerprints -----------------------------------------------------------------------


# Where data lies on this machine, not what it is: left out so a cache built on a Beam
# cluster matches the same task read on a training host.
_LOCAL_FIELDS = frozenset({"data_dir", "prepare"})


def _stable(value: Any) -> Any:
    """`value` as plain data that is the same in every process (no object addresses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, tuple(
            (f.name, _stable(getattr(value, f.name))) for f in dataclasses.fields(value)
            if f.name not in _LOCAL_FIELDS))
    if isinstance(value, functools.partial):
        return ("partial", _stable(value.func), _stable(value.args), _stable(value.keywords))
    if isinstance(value, dict):
        return tuple(sorted((str(k), _stable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_stable(v) for v in value)
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    text = repr(value)
    return type(value).__qualname__ if " at 0x" in text else text


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(_stable(value)).encode("utf-8")).hexdigest()[:16]


def _code_of(fn: Any) -> str:
    fn = getattr(fn, "func", fn)  # functools.partial
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def _vocabulary_id(vocab: seqio.Vocabulary) -> str:
    path = getattr(vocab, "sentencepiece_model_file", None)
    extra = f"extra_ids={getattr(vocab, 'extra_ids', None)}"
    if path and "://" not in path and os.path.exists(path):
        with open(path, "rb") as f:  # a local model is known by its bytes, not its path
            return f"{type(vocab).__name__}|{extra}|{hashlib.sha256(f.read()).hexdigest()}"
    return f"{type(vocab).__name__}|{path}|{extra}"


def fingerprint(task_name: str) -> dict[str, Any]:
    """What a flanjax task's cached examples depend on, one entry per part.

    Digests for templates, format, field preprocessing, source and vocabulary; the render
    seed as is, so a mismatch message can say which seed each side used.
    """
    from flanjax.data import tasks as tasks_lib  # pylint: disable=g-import-not-at-top

    task = seqio.get_mixture_or_task(task_name)
    try:
        renderer = tasks_lib.renderer_of_task(task_name)
    except KeyError:  # a task registered outside the catalog (e.g. SNI's niv2_zs / niv2_fs)
        return _plain_fingerprint(task)
    entry = renderer.entry
    return {
        "version": FINGERPRINT_VERSION,
        "task": task_name,
        "templates": _digest((entry.templates, renderer.template_index)),
        "format": _digest((renderer.spec, entry.layout, entry.rationale_field, entry.inversion,
                           entry.fields)),
        "preprocess": _digest(_code_of(entry.preprocess)),
        "source": _digest(entry.source),
        "vocabulary": _digest(_vocabulary_id(task.output_features["inputs"].vocabulary)),
        "render_seed": tasks_lib.render_seed_of_task(task_name),
    }


def _plain_fingerprint(task: seqio.Task) -> dict[str, Any]:
    """For a task without a flanjax renderer: its source function and preprocessors."""
    source = task.source
    fn = getattr(source, "_dataset_fn", None)
    return {
        "version": FINGERPRINT_VERSION,
        "task": task.name,
        "templates": _digest(_code_of(fn) if fn else type(source).__name__),
        "format": _digest([getattr(getattr(p, "func", p), "__qualname__", type(p).__name__)
                           for p in task.preprocessors]),
        "preprocess": _digest(getattr(fn, "keywords", None)),
        "source": _digest((type(source).__name__, tuple(source.splits))),
        "vocabulary": _digest(_vocabulary_id(task.output_features["inputs"].vocabulary)),
        "render_seed": None,
    }


def _mismatch(built: dict[str, Any], now: dict[str, Any]) -> list[str]:
    out = []
    for key in ("version", "templates", "format", "preprocess", "source", "vocabulary"):
        if built.get(key) != now[key]:
            out.append({"version": "an older flanjax cache format"}.get(key, f"other {key}"))
    if built.get("render_seed") != now["render_seed"]:
        out.append(f"render seed {built.get('render_seed')} (this run: {now['render_seed']}, "
                   "env FLANJAX_RENDER_SEED)")
    return out


def read_fingerprint(cache_dir: str) -> Optional[dict[str, Any]]:
    """The fingerprint a cache was built with, or None (a cache built by plain seqio)."""
    with tf.io.gfile.GFile(os.path.join(cache_dir, COMPLETED)) as f:
        text = f.read().strip()
    try:
        return json.loads(text).get("flanjax_fingerprint") if text else None
    except (json.JSONDecodeError, AttributeError):
        return None


# -- reading: which tasks come from the cache ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class CachePlan:
    """Which leaf tasks of a mixture read a cache, and which are rendered live."""

    cached: dict[str, str]  # task -> cache dir
    live: list[str]  # not cacheable (few-shot), or use_cached off

    def log_line(self) -> str:
        if not self.cached:
            return f"input: no task from a cache; {len(self.live)} rendered live"
        line = f"input: {len(self.cached)} tasks from the cache ({', '.join(sorted(self.cached))})"
        if self.live:
            line += f"; {len(self.live)} rendered live ({', '.join(sorted(self.live))})"
        return line


# The last plan of each (mixture or task, split): the trainer's first log line shows it.
_PLANS: dict[tuple[str, str], CachePlan] = {}


def last_plan(mixture_or_task_name: str, split: str) -> Optional[CachePlan]:
    return _PLANS.get((mixture_or_task_name, split))


def add_cache_dirs(cache_dirs: Sequence[str] = ()) -> list[str]:
    """Adds `cache_dirs` and the CACHE_DIRS data setting (gin macro, env FLANJAX_CACHE_DIRS;
    comma-separated) to seqio's cache dirs."""
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    dirs = list(cache_dirs) + [d for d in (locations.get("CACHE_DIRS") or "").split(",") if d]
    new = [d for d in dirs if d not in seqio.get_global_cache_dirs()]
    if new:
        seqio.add_global_cache_dirs(new)
    return list(seqio.get_global_cache_dirs())


def _leaf_tasks(name: str) -> list[seqio.Task]:
    provider = seqio.get_mixture_or_task(name)
    return list(provider.tasks) if isinstance(provider, seqio.Mixture) else [provider]


def _build_hint(names: Sequence[str], cache_dir: str, overwrite: bool = False) -> str:
    tasks = ",".join(re.escape(n) for n in names[:20]) + (",..." if len(names) > 20 else "")
    return (f"python -m flanjax.data.cache --tasks={tasks} --output_cache_dir={cache_dir}"
            + (" --overwrite" if overwrite else ""))


def check_cached(mixture_or_task_name: str, split: str, use_cached: bool,
                 cache_dirs: Sequence[str] = ()) -> CachePlan:
    """Checks the caches `seqio.get_dataset(..., use_cached=...)` will read; returns (and
    keeps, for `last_plan`) the plan. Silent: the trainer's first line says it, once, for
    every pipeline it builds (train, validation, held-out) checking the same caches.

    With `use_cached`, every cacheable leaf task must have a cache of `split` whose
    fingerprint matches the registered task; otherwise a `CacheError` says which tasks,
    why, and the command that builds their caches.
    """
    if not use_cached:
        plan = CachePlan({}, [t.name for t in _leaf_tasks(mixture_or_task_name)])
        _PLANS[(mixture_or_task_name, split)] = plan
        return plan
    dirs = add_cache_dirs(cache_dirs)
    cached, live, missing = {}, [], []
    for task in _leaf_tasks(mixture_or_task_name):
        if not task.supports_caching:
            live.append(task.name)
            continue
        cache_dir = task.cache_dir
        if not cache_dir or not tf.io.gfile.exists(seqio.get_cached_info_path(cache_dir, split)):
            missing.append(task.name)
            continue
        built, now = read_fingerprint(cache_dir), fingerprint(task.name)
        problems = ["no flanjax fingerprint (built by plain seqio?)"] if built is None else _mismatch(built, now)
        if problems:
            raise CacheError(
                f"Task {task.name!r}: the cache at {cache_dir} was built from {' and '.join(problems)}; "
                f"rebuild it ({_build_hint([task.name], os.path.dirname(cache_dir), True)}) "
                "or set USE_CACHED_TASKS=False.")
        cached[task.name] = cache_dir
    if missing:
        where = dirs[0] if dirs else "CACHE_DIR"
        raise CacheError(
            f"USE_CACHED_TASKS is on but {len(missing)} task(s) have no {split!r} cache in "
            f"{dirs or 'any cache dir (set FLANJAX_CACHE_DIRS)'}: {', '.join(missing[:10])}"
            f"{', ...' if len(missing) > 10 else ''}; build them ({_build_hint(missing, where)}) "
            "or set USE_CACHED_TASKS=False.")
    plan = CachePlan(cached, live)
    _PLANS[(mixture_or_task_name, split)] = plan
    return plan


# -- building: seqio's Beam job, one call per task ----------------------------------------


def cacheable_tasks(task_patterns: Sequence[str] = (), mixture: Optional[str] = None) -> list[str]:
    """Registered flanjax tasks matching the regexes or leaves of `mixture` that can be cached."""
    from flanjax.data import mixtures  # registers every task; pylint: disable=g-import-not-at-top

    names: list[str] = []
    if mixture:
        mixtures.get_mixture_or_task(mixture)  # a clear error for unknown names
        names += [t.name for t in _leaf_tasks(mixture)]
    if task_patterns:
        regex = re.compile(r"(%s)\Z" % "|".join(task_patterns))
        names += [n for n in seqio.TaskRegistry.names() if regex.match(n)]
    names = list(dict.fromkeys(names))
    out = []
    for name in names:
        if seqio.get_mixture_or_task(name).supports_caching:
            out.append(name)
        else:
            logging.info("Not cacheable, rendered live: %s (few-shot)", name)
    return out


def build(pipeline: Any, task_names: Sequence[str], output_cache_dir: str, *,
          overwrite: bool = False) -> list[str]:
    """Adds seqio's cache job for each task to a Beam `pipeline`; returns the output dirs.

    The absl flags of `seqio.scripts.cache_tasks_main` (min_shards, base_seed, ...) must be
    parsed; `main` does it, tests call `parse_cache_flags`.
    """
    from seqio.scripts import cache_tasks_main  # pylint: disable=g-import-not-at-top

    out = []
    for name in task_names:
        content = json.dumps({"flanjax_fingerprint": fingerprint(name)}, sort_keys=True)
        out += cache_tasks_main.run_pipeline(
            pipeline, [re.escape(name)], output_cache_dir,
            modules_to_import=["flanjax.data.mixtures"], overwrite=overwrite,
            completed_file_contents=content,
        )
    return out


def parse_cache_flags(argv: Sequence[str]) -> list[str]:
    """Defines (by import) and parses seqio's cache flags plus flanjax's; returns the rest."""
    from absl import flags  # pylint: disable=g-import-not-at-top
    from seqio.scripts import cache_tasks_main  # noqa: F401  (defines the flags)

    if "mixture" not in flags.FLAGS:
        flags.DEFINE_string("mixture", None, "Cache the cacheable tasks of this mixture.")
        flags.DEFINE_integer("render_seed", None, "Seed templates are drawn with "
                             "(default: env FLANJAX_RENDER_SEED, else 0).")
    return flags.FLAGS(list(argv))


def main(argv: Optional[Sequence[str]] = None) -> int:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
    from absl import flags  # pylint: disable=g-import-not-at-top

    logging.getLogger().setLevel(logging.INFO)
    parse_cache_flags(sys.argv if argv is None else ["flanjax.data.cache", *argv])
    FLAGS = flags.FLAGS
    if not FLAGS.output_cache_dir or not (FLAGS.tasks or FLAGS.mixture):
        print("usage: python -m flanjax.data.cache (--tasks=REGEX,... | --mixture=NAME) "
              "--output_cache_dir=DIR [--pipeline_options=--runner=...]", file=sys.stderr)
        return 2
    if FLAGS.render_seed is not None:
        from flanjax.data import locations  # pylint: disable=g-import-not-at-top

        locations.configure({"RENDER_SEED": str(FLAGS.render_seed)})  # before registration
    if FLAGS.tfds_data_dir:
        seqio.set_tfds_data_dir_override(FLAGS.tfds_data_dir)
    names = cacheable_tasks(FLAGS.tasks or (), FLAGS.mixture)
    if any(n.startswith("demo_") for n in names):
        from flanjax.data.bundled import ensure_prepared  # pylint: disable=g-import-not-at-top

        ensure_prepared()
    seqio.add_global_cache_dirs([FLAGS.output_cache_dir] + list(FLAGS.tasks_additional_cache_dirs))
    tf.io.gfile.makedirs(FLAGS.output_cache_dir)
    options = beam.options.pipeline_options.PipelineOptions(FLAGS.pipeline_options)
    with beam.Pipeline(options=options) as pipeline:
        dirs = build(pipeline, names, FLAGS.output_cache_dir, overwrite=FLAGS.overwrite)
    print(f"cached {len(dirs)} of {len(names)} cacheable tasks under {FLAGS.output_cache_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
