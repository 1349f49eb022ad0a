"""Super-NaturalInstructions' evaluation (Wang et al. 2022), read from the repository as
allenai/natural-instructions ships it: `tasks/*.json` and `splits/default/test_tasks.txt`.

- The test set: the 119 tasks of `splits/default/test_tasks.txt`, each with its first 100
  instances (Tk-Instruct `src/ni_dataset.py`, `max_num_instances_per_eval_task=100`; the
  repository's README: the first 100 instances of each test task are the evaluation set).
- The encoding: "Definition + 2 positive examples" (Tk-Instruct's default, Table 3's
  headline setting), written by `flanjax.data.sni.encode`.
- The scores: ROUGE-L and Tk-Instruct's exact match (`flanjax.data.metrics.sni`), overall,
  per task category (the first of a task's "Categories", lower case, spaces as "_") and per
  task, as Tk-Instruct's `src/compute_metrics.py` reports them.

`SNI_DIR` may be the repository (with `tasks/` and `splits/`) or its `tasks/` directory;
the split file is then `../splits/default/test_tasks.txt`. The seqio task is `niv2_test`.
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Mapping, Optional

import seqio
import tensorflow as tf

from flanjax.data import locations
from flanjax.data import metrics as metrics_lib
from flanjax.data import sni

TASK_NAME = "niv2_test"
# Wang et al. 2022, Section 6.1 / Tk-Instruct `ni_dataset.py`: 100 instances per test task.
INSTANCES_PER_TASK = 100
# Definition + 2 positive examples (Tk-Instruct's default encoding).
NUM_POS_EXAMPLES = 2
# `splits/default/test_tasks.txt` lists 119 tasks (Wang et al. 2022, Section 6.1).
NUM_TEST_TASKS = 119


def category_key(category: str) -> str:
    """Tk-Instruct's group name of a category: "Textual Entailment" -> "textual_entailment"."""
    return "_".join(category.lower().split())


def test_examples(sni_dir: str) -> Iterator[dict[str, Any]]:
    """The test set, encoded: {inputs, targets, references, task_name, category}."""
    tasks_dir, root = sni.repository_layout(sni_dir)
    split = sni.split_file(root, sni.TEST_SPLIT)
    for row in sni.iter_examples(
        tasks_dir, split, max_per_task=INSTANCES_PER_TASK, num_pos_examples=NUM_POS_EXAMPLES
    ):
        yield {**row, "category": category_key(row["category"])}


def _sni_dir() -> str:
    path = locations.get("SNI_DIR")
    if not path:
        raise ValueError(
            f"{TASK_NAME} needs {locations.describe('SNI_DIR')}: a natural-instructions checkout."
        )
    return path


def _dataset_fn(split: str, shuffle_files: bool, seed: Optional[int] = None) -> tf.data.Dataset:
    del split, shuffle_files, seed  # one test set

    def rows():
        for row in test_examples(_sni_dir()):
            yield {"inputs": row["inputs"], "targets": row["targets"],
                   "references": row["references"], "task_name": row["task_name"],
                   "category": row["category"]}

    scalar = tf.TensorSpec([], tf.string)
    signature = {"inputs": scalar, "targets": scalar, "references": tf.TensorSpec([None], tf.string),
                 "task_name": scalar, "category": scalar}
    return tf.data.Dataset.from_generator(rows, output_signature=signature)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def postprocess(output: Any, example: Optional[Mapping[str, Any]] = None,
                is_target: bool = False) -> Any:
    """Targets become {references, category, task} for `metrics.sni_grouped`."""
    if is_target and example is not None:
        return {"references": [_text(r) for r in example["references"]],
                "category": _text(example["category"]), "task": _text(example["task_name"])}
    return _text(output).strip()


def register_task() -> str:
    """Registers `niv2_test` (idempotent): the 119 test tasks x 100 instances, Def + Pos(2)."""
    from flanjax.data import tasks as tasks_lib  # the task layer sits above the file reader

    tasks_lib.register_task_cluster(TASK_NAME, sni.CLUSTER)
    if TASK_NAME not in seqio.TaskRegistry.names():
        seqio.TaskRegistry.add(
            TASK_NAME,
            source=seqio.FunctionDataSource(functools.partial(_dataset_fn), splits=["test"]),
            preprocessors=[seqio.preprocessors.tokenize, seqio.preprocessors.append_eos_after_trim],
            output_features=tasks_lib.output_features(),
            postprocess_fn=postprocess,
            metric_fns=[metrics_lib.sni_grouped],
        )
    return TASK_NAME
