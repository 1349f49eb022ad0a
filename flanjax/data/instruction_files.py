"""Instruction files as tasks: JSON-lines, Parquet or TSV rows with `inputs` and `targets`.

One data setting, INSTRUCTION_FILES (gin macro; env FLANJAX_INSTRUCTION_FILES), names file
sets; each becomes a catalog entry of collection `instruction_files` whose one template
passes the row's text through unchanged, so the usual tasks exist for it:

    {set}_zs                 training (the rows as they are)
    {set}_zs:0               evaluation, where the set has a `validation` split
    instruction_files        every set, examples-proportional (or each set's `rate`)
    instruction_files_minus_{cluster}   leave-one-cluster-out, a set's `cluster` its name

The setting is a dict `{set: spec}` (a Python or JSON literal), or a bare glob (one set
named `instructions`). A spec is a glob (its train split) or a dict:

    {"train": "/data/flan/cot/*.parquet", "validation": "/data/val.jsonl",
     "inputs": "prompt", "targets": "completion",   # field names (default inputs / targets)
     "cluster": "cot",                                # default: the set's name
     "task_names": ["cot_gsm8k", "cot_esnli"],        # keep rows of these task_name values
     "template_types": ["zs_opt", "fs_opt"],          # ... and of these template_type values
     "columns": ["inputs", "targets"],                # TSV without a header row
     "rate": 1.0}                                     # mixing rate; default: the row count

`task_name` and `template_type` are the fields of the Flan 2022 release (FLAN's
`flan/v2/run_example.py` passthrough features `_task_name`, `_template_type`; the released
submixtures, and `python -m flanjax.data.export`, name them without the underscore): when a
row has them they must be text, and `task_names` / `template_types` select rows by them (a
value is a name or a regular expression matching the whole name). Their field names are
set with `task_name_field` / `template_type_field`.

A bad row (not a JSON object, a missing field, a value that is not text, an empty input)
fails naming the file, the line (a Parquet file's row) and the field. The first rows of
every file are checked before training starts; later rows as they are read.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import tensorflow as tf

from flanjax.data import locations
from flanjax.data import sources
from flanjax.data import templates as templates_lib
from flanjax.data.catalog.entry import CatalogEntry

COLLECTION = "instruction_files"
MIXTURE = "instruction_files"
SETTING = "INSTRUCTION_FILES"
DEFAULT_SET = "instructions"
# Rows of each file checked before any training step (the rest as they are read).
ROWS_CHECKED_FIRST = 100
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".tsv": "tsv"}
_SPEC_KEYS = ("train", "validation", "inputs", "targets", "cluster", "task_names",
              "template_types", "task_name_field", "template_type_field", "columns", "rate",
              "format")


class BadRowError(ValueError):
    """A row of an instruction file that cannot be trained on; names file, line and field.

    Raised inside tf.data it reaches the command wrapped in a TensorFlow error, which
    `flanjax.cli.runner` turns back into this one line.
    """


@dataclasses.dataclass(frozen=True)
class FileSet:
    """One set of instruction files (see the module docstring for the keys)."""

    name: str
    splits: Mapping[str, str]  # split -> glob (comma-separated globs allowed)
    inputs: str = "inputs"
    targets: str = "targets"
    cluster: str = ""
    task_names: tuple[str, ...] = ()
    template_types: tuple[str, ...] = ()
    task_name_field: str = "task_name"
    template_type_field: str = "template_type"
    columns: tuple[str, ...] = ()
    rate: Optional[float] = None
    format: Optional[str] = None  # jsonl | parquet | tsv; default: each file's extension


# -- the setting ------------------------------------------------------------------------


def parse_setting(value: Optional[str]) -> list[FileSet]:
    """The file sets an INSTRUCTION_FILES value names ([] for None or "")."""
    if value is None or not str(value).strip():
        return []
    text = str(value).strip()
    if text[0] not in "{[":
        return [file_set(DEFAULT_SET, text)]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = ast.literal_eval(text)
        except (ValueError, SyntaxError) as e:
            raise ValueError(f"{locations.describe(SETTING)} is neither a glob nor a dict literal "
                             f"({e}); e.g. {{'mine': {{'train': '/data/*.jsonl'}}}}") from None
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{SETTING} must map set names to specs, e.g. "
                         "{'mine': {'train': '/data/*.jsonl'}}; got " + repr(data)[:200])
    return [file_set(str(name), spec) for name, spec in data.items()]


def file_set(name: str, spec: Any) -> FileSet:
    """A `FileSet` from one spec (a glob or a dict); ValueError naming a wrong key."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise ValueError(f"{SETTING}: set name {name!r} must be letters, digits and _ "
                         "(it becomes the task name {name}_zs)")
    if isinstance(spec, str):
        spec = {"train": spec}
    if not isinstance(spec, Mapping):
        raise ValueError(f"{SETTING}[{name!r}] must be a glob or a dict; got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(_SPEC_KEYS))
    if unknown:
        import difflib  # pylint: disable=g-import-not-at-top

        close = {k: difflib.get_close_matches(k, _SPEC_KEYS, n=1) for k in unknown}
        raise ValueError(f"{SETTING}[{name!r}]: unknown key(s) {unknown} (closest: "
                         f"{[c[0] for c in close.values() if c] or list(_SPEC_KEYS)})")
    splits = {s: str(spec[s]) for s in ("train", "validation") if spec.get(s)}
    if "train" not in splits:
        raise ValueError(f"{SETTING}[{name!r}] names no 'train' files")
    fmt = spec.get("format")
    if fmt is not None and fmt not in FORMATS.values():
        raise ValueError(f"{SETTING}[{name!r}]: format {fmt!r} is not one of "
                         f"{sorted(set(FORMATS.values()))}")
    rate = spec.get("rate")
    return FileSet(
        name=name, splits=splits,
        inputs=str(spec.get("inputs", "inputs")), targets=str(spec.get("targets", "targets")),
        cluster=str(spec.get("cluster") or name),
        task_names=tuple(str(t) for t in spec.get("task_names") or ()),
        template_types=tuple(str(t) for t in spec.get("template_types") or ()),
        task_name_field=str(spec.get("task_name_field", "task_name")),
        template_type_field=str(spec.get("template_type_field", "template_type")),
        columns=tuple(str(c) for c in spec.get("columns") or ()),
        rate=None if rate is None else float(rate), format=fmt,
    )


# -- reading rows -----------------------------------------------------------------------


def file_format(path: str, fixed: Optional[str] = None) -> str:
    if fixed:
        return fixed
    for ext, fmt in FORMATS.items():
        if path.endswith(ext):
            return fmt
    raise ValueError(f"{path}: cannot tell the format from the extension; name files "
                     f"{', '.join(FORMATS)} or set the set's 'format'")


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
    except ImportError:
        raise ImportError("Parquet files need pyarrow: pip install 'flanjax[export]'") from None
    return pq


def read_file(path: str, fmt: str, columns: Sequence[str] = ()) -> Iterator[tuple[int, Any]]:
    """(line, row) of a file: the 1-based line of a JSON-lines or TSV file (blank lines
    skipped, a TSV header counted), the 1-based row of a Parquet file."""
    if fmt == "parquet":
        pq = _pyarrow_parquet()
        if "://" in path:  # pyarrow reads local paths; other filesystems through TensorFlow's
            import pyarrow  # pylint: disable=g-import-not-at-top

            with tf.io.gfile.GFile(path, "rb") as f:
                handle = pyarrow.BufferReader(f.read())
        else:
            handle = path
        n = 0
        for batch in pq.ParquetFile(handle).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                n += 1
                yield n, row
        return
    with tf.io.gfile.GFile(path, "r") as f:
        header: Optional[list[str]] = list(columns) or None
        for n, line in enumerate(f, start=1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            if fmt == "tsv":
                values = line.split("\t")
                if header is None:
                    header = values
                    continue
                yield n, dict(zip(header, values))
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                raise BadRowError(f"{path} line {n}: not JSON ({e.msg} at column {e.colno})") from None


def _matches(value: str, wanted: Sequence[str]) -> bool:
    return any(value == w or re.fullmatch(w, value) for w in wanted)


def checked_row(fs: FileSet, path: str, line: int, row: Any) -> Optional[dict[str, Any]]:
    """The row's fields for the template, None when a filter drops it; BadRowError else."""
    where = f"{path} line {line}"
    if not isinstance(row, Mapping):
        raise BadRowError(f"{where}: a row must be an object with {fs.inputs!r} and "
                          f"{fs.targets!r}, not {type(row).__name__}")
    out = {}
    for key, field in (("inputs", fs.inputs), ("targets", fs.targets)):
        if field not in row or row[field] is None:
            raise BadRowError(f"{where}: field {field!r} is missing (the row has "
                              f"{sorted(row)[:12]}); name the field with the set's {key!r} key")
        if not isinstance(row[field], str):
            raise BadRowError(f"{where}: field {field!r} is {type(row[field]).__name__}, "
                              "not text")
        out[key] = row[field]
    if not out["inputs"].strip():
        raise BadRowError(f"{where}: field {fs.inputs!r} is empty")
    for field, wanted in ((fs.task_name_field, fs.task_names),
                          (fs.template_type_field, fs.template_types)):
        value = row.get(field)
        if value is not None and not isinstance(value, str):
            raise BadRowError(f"{where}: field {field!r} is {type(value).__name__}, not text")
        if wanted and (value is None or not _matches(value, wanted)):
            return None
    return out


def _paths(fs: FileSet, split: str) -> list[str]:
    paths: list[str] = []
    for pattern in fs.splits[split].split(","):
        paths += sorted(tf.io.gfile.glob(pattern.strip()))
    if not paths:
        raise FileNotFoundError(f"{SETTING}[{fs.name!r}]: no file matches "
                                f"{fs.splits[split]!r} for split {split!r}")
    return paths


def rows(fs: FileSet, split: str, limit: Optional[int] = None) -> Iterator[dict[str, Any]]:
    """The kept rows of a split, each checked; at most `limit` rows read per file."""
    for path in _paths(fs, split):
        fmt = file_format(path, fs.format)
        for i, (line, row) in enumerate(read_file(path, fmt, fs.columns)):
            if limit is not None and i >= limit:
                break
            fields = checked_row(fs, path, line, row)
            if fields is not None:
                yield fields


def check_files(fs: FileSet, split: str) -> None:
    """Called before tf.data reads a split: files exist, their first rows are good."""
    for _ in rows(fs, split, limit=ROWS_CHECKED_FIRST):
        pass


# -- catalog entries --------------------------------------------------------------------


def _fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"inputs": raw["inputs"], "targets": raw["targets"]}


def entry(fs: FileSet) -> CatalogEntry:
    """The catalog entry of a file set: one template, "{inputs}" -> "{targets}"."""
    template = templates_lib.FlanTemplate(f"{fs.name}:0", "{inputs}", "{targets}",
                                          origin=", ".join(fs.splits.values()))
    source = sources.FunctionSource(
        rows=functools.partial(rows, fs), splits={s: s for s in fs.splits}, name=f"files:{fs.name}",
        check=functools.partial(check_files, fs))
    return CatalogEntry(
        name=fs.name, collection=COLLECTION, cluster=fs.cluster, source=source,
        preprocess=_fields, fields=("inputs", "targets"), templates=(template,),
        metric="exact_match", eval_mode="generate", paper_dataset=fs.name,
        train_split="train", eval_split="validation" if "validation" in fs.splits else "train",
        description=f"instruction files {dict(fs.splits)}",
    )


_SETS: dict[str, FileSet] = {}


def register_entries(value: Optional[str] = None) -> list[CatalogEntry]:
    """Registers the entries of the INSTRUCTION_FILES setting (or `value`); idempotent."""
    from flanjax.data.catalog import registry  # pylint: disable=g-import-not-at-top

    out = []
    for fs in parse_setting(locations.get(SETTING) if value is None else value):
        if fs.name in _SETS and _SETS[fs.name] == fs:
            out.append(registry.get_entry(fs.name))
            continue
        try:
            registry.get_entry(fs.name)
        except KeyError:
            pass
        else:
            raise ValueError(f"{SETTING}: set name {fs.name!r} is already a catalog entry; "
                             "rename the set")
        _SETS[fs.name] = fs
        out.append(registry.register_entry(entry(fs)))
    return out


def mixture_tasks(keep: Callable[[str], bool], rows_rate: Any) -> list[tuple[str, Any]]:
    """(task, rate) of the `instruction_files` mixture: each set whose cluster `keep`s, its
    training task at its `rate`, else at `rows_rate` (mixtures: examples-proportional)."""
    return [(f"{fs.name}_zs", fs.rate if fs.rate is not None else rows_rate)
            for fs in _SETS.values() if keep(fs.cluster)]


def describe_sets() -> dict[str, dict[str, Any]]:
    """The registered sets, for records: their files and field names."""
    return {name: {k: v for k, v in dataclasses.asdict(fs).items() if v not in ((), None, "")}
            for name, fs in _SETS.items()}
