"""Offline task caches: seqio's Beam cache job for flanjax tasks, and their fingerprints.

Build (the DirectRunner here; Dataflow, Flink or Spark by Beam pipeline options; needs
the [cache] extra, apache-beam):

    python -m flanjax.data.cache --mixture=flan2022 --output_cache_dir=gs://bucket/cache \
        --pipeline_options=--runner=DataflowRunner,--project=...,--region=...

or `--tasks=demo_addition_zs,demo_reviews_zs` (regexes, as seqio's `cache_tasks_main`).
The flags are seqio's `cache_tasks_main` flags (`--min_shards`, `--overwrite`, ...), parsed
with argparse like every flanjax command (`--help`); absl's spellings (`--nooverwrite`,
`--overwrite=true`) still work this release, with a notice. `--render_seed` sets the seed
templates are drawn with (env FLANJAX_RENDER_SEED). Beam's and seqio's INFO logging is off.

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

import argparse
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

if __name__ == "__main__":  # `python -m flanjax.data.cache`: the commands' preamble first
    from flanjax.cli import runner  # pylint: disable=g-import-not-at-top

    # Quiet start-up (before TensorFlow loads), errors as one `error:` line and exit 2; it
    # imports this module again as `flanjax.data.cache`, runs `main` and exits.
    runner.run("flanjax.data.cache")

import seqio  # pylint: disable=g-import-not-at-top,wrong-import-position
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

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
          overwrite: bool = False, ignore_other_caches: bool = False,
          output_format: str = "tfrecord") -> list[str]:
    """Adds seqio's cache job for each task to a Beam `pipeline`; returns the output dirs.

    seqio's job reads some settings (min_shards, base_seed, ...) from its absl flags:
    `parse_cache_flags` sets them (the command does; tests call it).
    """
    from seqio.scripts import cache_tasks_main  # pylint: disable=g-import-not-at-top

    out = []
    for name in task_names:
        content = json.dumps({"flanjax_fingerprint": fingerprint(name)}, sort_keys=True)
        out += cache_tasks_main.run_pipeline(
            pipeline, [re.escape(name)], output_cache_dir,
            modules_to_import=["flanjax.data.mixtures"], overwrite=overwrite,
            ignore_other_caches=ignore_other_caches, completed_file_contents=content,
            output_format=output_format,
        )
    return out


# -- the command ------------------------------------------------------------------------------

BEAM_MISSING = ("python -m flanjax.data.cache needs Apache Beam, which is not installed: "
                "pip install 'flanjax[cache]' (or pip install -e '.[cache]' in a checkout)")
# seqio's cache flags (`seqio/scripts/cache_tasks_main.py`) that its `run_pipeline` reads from
# absl's FLAGS: argparse parses them, `parse_cache_flags` hands them on.
_SEQIO_FLAGS = ("min_shards", "max_shards", "tfds_data_dir", "base_seed", "enable_char_counts",
                "preserve_random_access")
_BOOLEANS = ("overwrite", "ignore_other_caches", "enable_char_counts", "preserve_random_access")


def _comma_list(text: str) -> list[str]:
    return [t for t in text.split(",") if t]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m flanjax.data.cache",
        description="Builds seqio caches of flanjax tasks with seqio's Beam job (see the module doc).",
        epilog="Example: python -m flanjax.data.cache --mixture=demo --output_cache_dir=/tmp/cache")
    which = p.add_argument_group("what to cache (one of, or both)")
    which.add_argument("--tasks", type=_comma_list, default=[], help="regexes of task names, comma-separated")
    which.add_argument("--mixture", default=None, help="the cacheable tasks of this mixture (e.g. flan2022)")
    p.add_argument("--excluded_tasks", type=_comma_list, default=[], help="regexes of tasks to skip")
    p.add_argument("--output_cache_dir", default=None, help="where the caches go (a local dir or gs://; required)")
    p.add_argument("--tasks_additional_cache_dirs", type=_comma_list, default=[],
                   help="more dirs with existing caches (comma-separated)")
    p.add_argument("--pipeline_options", type=_comma_list, default=["--runner=DirectRunner"],
                   help="Beam options, comma-separated (e.g. --runner=DataflowRunner,--project=P,--region=R)")
    p.add_argument("--overwrite", action="store_true", help="rebuild caches that exist")
    p.add_argument("--ignore_other_caches", action="store_true", help="ignore caches in other dirs")
    p.add_argument("--min_shards", type=int, default=64, help="at least this many output shards (default 64)")
    p.add_argument("--max_shards", type=int, default=0, help="at most this many output shards (0: no limit)")
    p.add_argument("--tfds_data_dir", default=None, help="TFDS data dir for every task")
    p.add_argument("--base_seed", type=int, default=None, help="seqio's preprocessing base seed")
    p.add_argument("--enable_char_counts", action="store_true", help="count characters into stats.json (slow)")
    p.add_argument("--output_format", choices=("tfrecord", "arrayrecord"), default="tfrecord")
    p.add_argument("--preserve_random_access", action="store_true", help="arrayrecord: group size 1")
    p.add_argument("--render_seed", type=int, default=None,
                   help="seed templates are drawn with (default: env FLANJAX_RENDER_SEED, else 0)")
    return p


def _old_spellings(argv: Sequence[str]) -> list[str]:
    """absl's spellings, accepted for one release with a one-line notice each: `-flag=...`,
    `--noflag`, `--flag=true|false` for a switch."""
    out = []
    for arg in argv:
        new = arg
        if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            new = "-" + arg
        name, eq, value = new[2:].partition("=") if new.startswith("--") else ("", "", "")
        if name.startswith("no") and name[2:] in _BOOLEANS and not eq:
            new = None  # the default is off
        elif name in _BOOLEANS and eq:
            new = f"--{name}" if value.lower() in ("true", "1", "yes") else None
        if new != arg:
            shown = " ".join(x for x in [new] if x) or "(nothing: off is the default)"
            print(f"[cache] note: {arg!r} is absl's spelling, accepted this release; write {shown}",
                  file=sys.stderr)
        if new:
            out.append(new)
    return out


def parse_cache_flags(argv: Sequence[str]) -> argparse.Namespace:
    """Parses the command's flags; hands seqio's own to its absl FLAGS (its job reads them)."""
    from absl import flags  # pylint: disable=g-import-not-at-top

    _quiet_beam()  # seqio's cache_tasks_main imports Beam
    from seqio.scripts import cache_tasks_main  # noqa: F401  (defines seqio's flags)

    args = _parser().parse_args(_old_spellings(argv))
    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["flanjax.data.cache"])  # defaults, then ours
    for name in _SEQIO_FLAGS:
        setattr(flags.FLAGS, name, getattr(args, name))
    return args


def _quiet_beam() -> None:
    """Beam's and seqio's INFO (every shard, renamed files, ten dumped examples a task) and
    Beam's import warnings off; a failure still says what failed."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "apitools not found ..." at import
    try:
        import apache_beam  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
    except ImportError:
        raise UsageError(BEAM_MISSING) from None
    finally:
        root.setLevel(level)
    for name in ("apache_beam", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


class UsageError(ValueError):
    """Bad flags or a missing extra: the runner prints it as one `error:` line, exit 2."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    _quiet_beam()  # first: without Beam, even --help is the one line naming the extra
    args = parse_cache_flags(sys.argv[1:] if argv is None else argv)
    if not args.output_cache_dir:
        raise UsageError("say where the caches go: --output_cache_dir=DIR (a local dir or gs://...)")
    if not (args.tasks or args.mixture):
        raise UsageError("say what to cache: --mixture=NAME (e.g. demo) or --tasks=REGEX,... "
                         "(python -m flanjax.data.cache --help)")
    if args.render_seed is not None:
        from flanjax.data import locations  # pylint: disable=g-import-not-at-top

        locations.configure({"RENDER_SEED": str(args.render_seed)})  # before registration
    if args.tfds_data_dir:
        seqio.set_tfds_data_dir_override(args.tfds_data_dir)
    names = cacheable_tasks(args.tasks, args.mixture)  # an unknown mixture: its closest names
    if args.excluded_tasks:
        excluded = re.compile(r"(%s)\Z" % "|".join(args.excluded_tasks))
        names = [n for n in names if not excluded.match(n)]
    if not names:
        raise UsageError(f"no cacheable task matches --tasks={','.join(args.tasks)}"
                         f"{f' --mixture={args.mixture}' if args.mixture else ''}"
                         " (few-shot tasks are rendered live, not cached); "
                         "`python -m flanjax.data.inspect --list` lists the tasks")
    if any(n.startswith("demo_") for n in names):
        from flanjax.data.bundled import ensure_prepared  # pylint: disable=g-import-not-at-top

        ensure_prepared()
    import apache_beam as beam  # pylint: disable=g-import-not-at-top

    seqio.add_global_cache_dirs([args.output_cache_dir] + list(args.tasks_additional_cache_dirs))
    tf.io.gfile.makedirs(args.output_cache_dir)
    print(f"[cache] {len(names)} task(s) -> {args.output_cache_dir} "
          f"({' '.join(args.pipeline_options)})", flush=True)
    options = beam.options.pipeline_options.PipelineOptions(args.pipeline_options)
    with beam.Pipeline(options=options) as pipeline:
        dirs = build(pipeline, names, args.output_cache_dir, overwrite=args.overwrite,
                     ignore_other_caches=args.ignore_other_caches, output_format=args.output_format)
    print(f"[cache] cached {len(dirs)} of {len(names)} cacheable tasks under {args.output_cache_dir}")
    return 0

