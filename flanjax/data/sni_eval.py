"""Super-NaturalInstructions' evaluation (Wang et al. 2022), read from the repository as
allenai/natural-instructions ships it: `tasks/*.json` and `splits/default/test_tasks.txt`.

- The test set: the 119 tasks of `splits/default/test_tasks.txt`, each with its first 100
  instances (Tk-Instruct `src/ni_dataset.py`, `max_num_instances_per_eval_task=100`; the
  repository's README: the first 100 instances of each test task are the evaluation set).
- The encoding: "Definition + 2 positive examples" (Tk-Instruct's default, Table 3's
  headline setting), written by `flanjax.data.sni.compose` with Tk's length budget: each
  demonstration is kept only while definition + demonstrations + the instance fit the
  inputs length in the run's vocabulary's tokens, EOS included (`DataCollatorForNI`), so the
  instance and its "Output:" cue are never cut for a demonstration.
- The lengths: Tk-Instruct evaluates at 1,024 input / 128 target tokens
  (`scripts/eval_tk_instruct.sh`: --max_source_length 1024 --max_target_length 128
  --generation_max_length 128): `TK_FEATURE_LENGTHS`, the default of `flanjax.eval`'s
  `sni_test_feature_lengths` (gin macro SNI_TEST_FEATURE_LENGTHS).
- The scores: ROUGE-L and Tk-Instruct's exact match (`flanjax.data.metrics.sni`), overall,
  per task category (the first of a task's "Categories", lower case, spaces as "_") and per
  task, as Tk-Instruct's `src/compute_metrics.py` reports them.

`SNI_DIR` may be the repository (with `tasks/` and `splits/`) or its `tasks/` directory;
the split file is then `../splits/default/test_tasks.txt`. The seqio task is `niv2_test`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterator, Mapping, Optional

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
# Tk-Instruct `scripts/eval_tk_instruct.sh`: --max_source_length 1024, --max_target_length 128.
TK_FEATURE_LENGTHS = {"inputs": 1024, "targets": 128}
# `splits/default/test_tasks.txt` lists 119 tasks (Wang et al. 2022, Section 6.1).
NUM_TEST_TASKS = 119


def category_key(category: str) -> str:
    """Tk-Instruct's group name of a category: "Textual Entailment" -> "textual_entailment"."""
    return "_".join(category.lower().split())


def test_parts(sni_dir: str) -> Iterator[dict[str, Any]]:
    """The test set before the length budget: {parts (`sni.Parts`), targets, references,
    task_name, category}."""
    tasks_dir, root = sni.repository_layout(sni_dir)
    for path in sni.task_files(tasks_dir, sni.split_file(root, sni.TEST_SPLIT)):
        task = sni.load_task(path)
        for instance in task.instances[:INSTANCES_PER_TASK]:
            refs = sni.references(instance)
            yield {"parts": sni.parts(task, instance, num_pos_examples=NUM_POS_EXAMPLES),
                   "targets": refs[0], "references": refs, "task_name": task.name,
                   "category": category_key(task.category)}


def test_examples(sni_dir: str, max_input_length: Optional[int] = None,
                  length_fn: Callable[[str], int] = len) -> Iterator[dict[str, Any]]:
    """The test set, encoded (Tk's budget with `max_input_length` tokens per `length_fn`):
    {inputs, targets, references, task_name, category}."""
    for row in test_parts(sni_dir):
        parts = row.pop("parts")
        yield {"inputs": sni.compose(parts, max_input_length, length_fn), **row}


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
        for row in test_parts(_sni_dir()):
            p = row["parts"]
            yield {"definition": p.name + p.definition, "positive": list(p.positive),
                   "query": p.query, "targets": row["targets"], "references": row["references"],
                   "task_name": row["task_name"], "category": row["category"]}

    scalar, vector = tf.TensorSpec([], tf.string), tf.TensorSpec([None], tf.string)
    signature = {"definition": scalar, "positive": vector, "query": scalar, "targets": scalar,
                 "references": vector, "task_name": scalar, "category": scalar}
    return tf.data.Dataset.from_generator(rows, output_signature=signature)


def token_length_fn(vocabulary: seqio.Vocabulary) -> Callable[[str], int]:
    """Tk's measure: `len(tokenizer(text)["input_ids"])`, the ids and the EOS the T5
    tokenizer appends (seqio appends the same EOS after trimming to the inputs length)."""
    return lambda text: len(vocabulary.encode(text)) + 1


def apply_length_budget(dataset: tf.data.Dataset,
                        sequence_length: Optional[Mapping[str, int]] = None,
                        output_features: Optional[Mapping[str, seqio.Feature]] = None
                        ) -> tf.data.Dataset:
    """seqio preprocessor: "inputs" = `sni.compose` of the parts within the inputs length, in
    tokens of the task's vocabulary (no length: every demonstration)."""
    max_len = (sequence_length or {}).get("inputs")
    length_fn = token_length_fn(output_features["inputs"].vocabulary) if output_features else len

    def compose(definition, positive, query) -> str:
        p = sni.Parts(name="", definition=_text(definition.numpy()), negative=(),
                      positive=tuple(_text(x) for x in positive.numpy()), query=_text(query.numpy()))
        return sni.compose(p, max_len, length_fn)

    def fn(ex):
        inputs = tf.py_function(compose, [ex["definition"], ex["positive"], ex["query"]], tf.string)
        inputs.set_shape([])
        out = {k: v for k, v in ex.items() if k not in ("definition", "positive", "query")}
        return {**out, "inputs": inputs}

    return dataset.map(fn, num_parallel_calls=tf.data.AUTOTUNE)


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
            preprocessors=[apply_length_budget, seqio.preprocessors.tokenize,
                           seqio.preprocessors.append_eos_after_trim],
            output_features=tasks_lib.output_features(),
            postprocess_fn=postprocess,
            metric_fns=[metrics_lib.sni_grouped],
        )
    return TASK_NAME
