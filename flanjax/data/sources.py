"""Where raw examples come from: TFDS, Hugging Face `datasets`, JSON-lines files.

Every source becomes a `seqio.DataSource`. TFDS keeps its structured features; the other
sources yield one `_json` string feature per example (the row serialised as JSON), decoded
back to a dict in Python before templating. Nothing here reads data or touches the network
until a dataset is asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Sequence

import numpy as np
import seqio
import tensorflow as tf
from flanjax.data import locations

JSON_FEATURE = "_json"


class Source(Protocol):
    splits: Mapping[str, str]

    def to_seqio(self) -> seqio.DataSource: ...

    def describe(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class TfdsSource:
    """A TensorFlow Datasets builder, e.g. `TfdsSource("anli/r1:0.1.0", {"train": "train"})`.

    `splits` maps canonical seqio split names to TFDS splits or slices ("train[:30000]").
    `data_dir` defaults to TFDS's (env TFDS_DATA_DIR, or gs://... on TPU VMs).
    """

    tfds_name: str
    splits: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"train": "train", "validation": "validation"}
    )
    data_dir: Optional[str] = None
    # Builds the dataset offline when it is missing (datasets whose examples come from code,
    # such as the bundled demo builders); None: the dataset must be prepared beforehand.
    prepare: Optional[Callable[[], Any]] = None

    def to_seqio(self) -> seqio.DataSource:
        source = CheckedTfdsDataSource(
            tfds_name=self.tfds_name,
            splits=dict(self.splits),
            tfds_data_dir=self.data_dir or locations.get("TFDS_DATA_DIR"),
        )
        source.prepare_fn = self.prepare
        return source

    def describe(self) -> str:
        return f"tfds:{self.tfds_name}"


class DatasetNotPreparedError(FileNotFoundError):
    """A TFDS dataset is not in the data directory (and flanjax never downloads it)."""


def downloads_allowed() -> bool:
    """Whether seqio may ask TFDS to download and prepare a missing dataset.

    Off by default: a pod run reads datasets prepared beforehand (`tfds build`, or a
    gs:// data_dir), and a missing one should fail at once, not after minutes of download
    retries on a machine without access. FLANJAX_TFDS_DOWNLOAD=1 turns it on.
    """
    return str(locations.get("TFDS_DOWNLOAD") or "0").lower() in ("1", "true", "yes")


class CheckedTfdsDataSource(seqio.TfdsDataSource):
    """`seqio.TfdsDataSource` that says clearly, and at once, when a dataset is missing.

    With a `prepare_fn` (set from `TfdsSource.prepare`) the dataset is built offline on
    first use instead.
    """

    prepare_fn: Optional[Callable[[], Any]] = None

    def _check_prepared(self) -> None:
        name = self.tfds_dataset.name or ""
        if self.prepare_fn is not None:
            self.prepare_fn()
            return
        if downloads_allowed():
            return
        try:
            builder = self.tfds_dataset.builder
            prepared = builder.is_prepared()
            where = str(builder.data_dir_root)
        except Exception as e:  # pylint: disable=broad-except
            raise DatasetNotPreparedError(
                f"TFDS dataset {name!r} could not be opened (data_dir "
                f"{self.tfds_dataset.data_dir or 'TFDS default'}): {type(e).__name__}: {e}"
            ) from e
        if not prepared:
            raise DatasetNotPreparedError(
                f"TFDS dataset {name!r} is not prepared in {where}. Build it with "
                f"`tfds build {name.split(':')[0]}` (manual-download datasets need their files in "
                "~/tensorflow_datasets/downloads/manual), point FLANJAX_TFDS_DATA_DIR at a "
                "directory where it is prepared (e.g. gs://your-bucket/tensorflow_datasets), or "
                "set FLANJAX_TFDS_DOWNLOAD=1 to let TFDS download it now."
            )

    def get_dataset(self, split=None, shuffle=True, seed=None, shard_info=None, **kwargs):
        self._check_prepared()
        return super().get_dataset(split, shuffle, seed, shard_info, **kwargs)

    def num_input_examples(self, split: str) -> Optional[int]:
        self._check_prepared()
        try:
            return super().num_input_examples(split)
        except KeyError:  # the dataset info does not record this split's size: unknown
            return None


@dataclasses.dataclass(frozen=True)
class HfSource:
    """A Hugging Face `datasets` dataset (optional extra `[hf]`), e.g. T0's P3 sources.

    `splits` maps canonical split names to `datasets` split strings. Rows are read with
    `datasets.load_dataset(path, name, split=...)`, which uses the local HF cache (or
    `data_files` for files already on disk) and the hub only where the machine has one.
    """

    path: str
    name: Optional[str] = None
    splits: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"train": "train", "validation": "validation"}
    )
    data_files: Optional[Mapping[str, str]] = None

    def _rows(self, split: str) -> Iterable[Mapping[str, Any]]:
        try:
            import datasets  # pylint: disable=g-import-not-at-top
        except ImportError as e:  # pragma: no cover - depends on the install
            raise ImportError(
                f"Source {self.describe()} needs Hugging Face `datasets`: pip install 'flanjax[hf]'."
            ) from e
        kwargs = {"data_files": dict(self.data_files)} if self.data_files else {}
        return datasets.load_dataset(self.path, self.name, split=self.splits[split], **kwargs)

    def to_seqio(self) -> seqio.DataSource:
        return seqio.FunctionDataSource(
            dataset_fn=functools.partial(_json_dataset_fn, self._rows, self.describe()),
            splits=list(self.splits),
        )

    def describe(self) -> str:
        return f"hf:{self.path}" + (f"/{self.name}" if self.name else "")


@dataclasses.dataclass(frozen=True)
class JsonlSource:
    """JSON-lines (or TSV with `columns`) files per split: paths or glob patterns, gs:// ok."""

    files: Mapping[str, str]
    columns: Optional[Sequence[str]] = None  # set for TSV files without a header

    @property
    def splits(self) -> Mapping[str, str]:
        return {k: k for k in self.files}

    def paths(self, split: str) -> list[str]:
        """The files of `split`; fails naming the pattern when there are none."""
        pattern = self.files[split]
        paths = sorted(tf.io.gfile.glob(pattern))
        if not paths:
            raise FileNotFoundError(
                f"Source {self.describe()}: no file matches {pattern!r} for split {split!r}. "
                "Point the entry at the files (see README, 'Data that needs a download')."
            )
        return paths

    def _rows(self, split: str) -> Iterable[Mapping[str, Any]]:
        for path in self.paths(split):
            with tf.io.gfile.GFile(path) as f:
                for line in f:
                    line = line.rstrip("\n")
                    if not line.strip():
                        continue
                    if self.columns:
                        yield dict(zip(self.columns, line.split("\t")))
                    else:
                        yield json.loads(line)

    def to_seqio(self) -> seqio.DataSource:
        return seqio.FunctionDataSource(
            dataset_fn=functools.partial(
                _json_dataset_fn, self._rows, self.describe(), check=self.paths
            ),
            splits=list(self.files),
        )

    def describe(self) -> str:
        return f"files:{dict(self.files)}"


@dataclasses.dataclass(frozen=True)
class FunctionSource:
    """Rows from a Python function `rows(split) -> iterable of dicts` (SNI directories)."""

    rows: Callable[[str], Iterable[Mapping[str, Any]]]
    splits: Mapping[str, str]
    name: str = "function"
    # Called with the split before any row is read (outside tf.data, so a missing file is
    # one clear Python error, not a wrapped generator failure).
    check: Optional[Callable[[str], Any]] = None

    def to_seqio(self) -> seqio.DataSource:
        return seqio.FunctionDataSource(
            dataset_fn=functools.partial(
                _json_dataset_fn, self.rows, self.describe(), check=self.check
            ),
            splits=list(self.splits),
        )

    def describe(self) -> str:
        return f"fn:{self.name}"


def _json_dataset_fn(
    rows: Callable[[str], Iterable[Mapping[str, Any]]],
    what: str,
    split: str,
    shuffle_files: bool,
    seed: Optional[int] = None,
    check: Optional[Callable[[str], Any]] = None,
) -> tf.data.Dataset:
    del shuffle_files, seed  # Row order is the file order; seqio shuffles after.
    if check is not None:
        check(split)

    def gen():
        n = 0
        for row in rows(split):
            n += 1
            yield json.dumps(row, default=_json_default, ensure_ascii=False)
        if n == 0:
            raise ValueError(f"Source {what}: split {split!r} is empty.")

    ds = tf.data.Dataset.from_generator(gen, output_signature=tf.TensorSpec([], tf.string))
    return ds.map(lambda s: {JSON_FEATURE: s})


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8")
    raise TypeError(f"Cannot serialise {type(value).__name__} to JSON.")


def as_text(value: Any) -> str:
    """A tf.data string feature (bytes) or any value as text: the one bytes-to-str helper."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def to_python(value: Any) -> Any:
    """Decodes a numpy/TFDS value: bytes -> str, arrays -> lists, numpy scalars -> Python."""
    if isinstance(value, Mapping):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in ("S", "O"):
            return [to_python(v) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    return value


def decode_example(example: Mapping[str, Any]) -> dict[str, Any]:
    """A numpy example from any source -> a Python dict (JSON rows are parsed)."""
    if set(example) == {JSON_FEATURE}:
        raw = example[JSON_FEATURE]
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    return to_python(dict(example))
