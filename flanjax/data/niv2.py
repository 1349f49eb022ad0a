"""Super-NaturalInstructions as seqio tasks: `niv2_zs` (definition only) and `niv2_fs`
(definition + 2 positive examples), the encodings of Wang et al. 2022 (Tk-Instruct uses
"Definition + 2 positive examples" as its default).

The task files are read at run time from `FLANJAX_SNI_DIR` (a directory of task JSON files,
e.g. natural-instructions' `tasks/`), honouring `FLANJAX_SNI_SPLIT` (the official
`splits/default/train_tasks.txt`) when set. Flan 2022 caps each SNI task at 5k examples
(`mixtures.FLAN2022_CAPS`); the same cap is applied when reading (`FLANJAX_SNI_MAX_PER_TASK`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Iterator, Optional

import seqio
import tensorflow as tf

from flanjax.data import sni
from flanjax.data import tasks as tasks_lib

DEFAULT_MAX_PER_TASK = 5_000
TASK_NAMES = ("niv2_zs", "niv2_fs")
_NUM_POS = {"niv2_zs": 0, "niv2_fs": 2}


@dataclasses.dataclass(frozen=True)
class _Pseudo:
    """Lets mixture filters treat SNI like a catalog entry of cluster "niv2"."""

    name: str = "niv2"
    collection: str = "niv2"
    cluster: str = "niv2"


PSEUDO_ENTRY = _Pseudo()


def _sni_dir() -> str:
    path = os.environ.get("FLANJAX_SNI_DIR")
    if not path:
        raise ValueError(
            "Super-NaturalInstructions tasks need FLANJAX_SNI_DIR: the directory of SNI task "
            "JSON files (natural-instructions/tasks). Optionally FLANJAX_SNI_SPLIT names the "
            "official splits/default/{train,test}_tasks.txt file."
        )
    if not tf.io.gfile.isdir(path):
        raise FileNotFoundError(f"FLANJAX_SNI_DIR={path!r} is not a directory.")
    return path


def _rows(split: str, *, num_pos: int) -> Iterator[dict]:
    del split  # SNI splits are by task (FLANJAX_SNI_SPLIT), not by example.
    max_per_task = int(os.environ.get("FLANJAX_SNI_MAX_PER_TASK", DEFAULT_MAX_PER_TASK))
    for row in sni.iter_examples(
        _sni_dir(),
        os.environ.get("FLANJAX_SNI_SPLIT") or None,
        max_per_task=max_per_task,
        num_pos_examples=num_pos,
    ):
        yield {
            "inputs": row["inputs"],
            "targets": row["targets"],
            "template_id": f"sni_pos{num_pos}",
            "task_name": row.get("task_name", ""),
        }


def _dataset_fn(split: str, shuffle_files: bool, seed: Optional[int] = None, *, num_pos: int):
    del shuffle_files, seed
    signature = {k: tf.TensorSpec([], tf.string) for k in ("inputs", "targets", "template_id", "task_name")}
    return tf.data.Dataset.from_generator(
        functools.partial(_rows, split, num_pos=num_pos), output_signature=signature
    )


def register_tasks() -> None:
    for name in TASK_NAMES:
        if name in seqio.TaskRegistry.names():
            continue
        seqio.TaskRegistry.add(
            name,
            source=seqio.FunctionDataSource(
                functools.partial(_dataset_fn, num_pos=_NUM_POS[name]), splits=["train"]
            ),
            preprocessors=[
                seqio.preprocessors.tokenize,
                seqio.CacheDatasetPlaceholder(),
                functools.partial(tasks_lib.count_overflow, task_name=name),
                seqio.preprocessors.append_eos_after_trim,
            ],
            output_features=tasks_lib.output_features("niv2"),
        )
