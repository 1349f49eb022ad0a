"""Super-NaturalInstructions (Wang et al. 2022): task files, splits and the Tk-Instruct encoding.

A task is one JSON file `tasks/{name}.json` of the natural-instructions repository with keys
"Definition" (a list of strings), "Positive Examples" / "Negative Examples" (lists of
{input, output, explanation}), "Instances" (lists of {id, input, output: [str, ...]}) and
metadata ("Categories", "Domains", "Source", "Input_language", "Output_language"). The
official splits (`splits/default/train_tasks.txt`, `test_tasks.txt`) list one task name a
line.

`encode` writes the model input as Tk-Instruct's `DataCollatorForNI` (`src/ni_collator.py`)
does, quirks included (a space before "Positive Example", "Output:" and "Explanation:" of
demonstrations; a "." added after a part that does not end in punctuation):

    {Task}. Definition: {definition}.\n\n
     Positive Example 1 -\nInput: {input}.\n Output: {output}.\n Explanation: {...}.\n\n
     Negative Example 1 -\nInput: ...\n Output: ...\n\n
    Now complete the following example -\nInput: {input}.\nOutput:

The target is the instance's first output (the collator draws one at random; we keep it
deterministic); `references(instance)` gives all of them for evaluation (ROUGE-L against the
best reference, as the paper scores).

As seqio tasks: `niv2_zs` (definition only) and `niv2_fs` (definition + 2 positive examples),
the encodings of Wang et al. 2022 (Tk-Instruct's default is "Definition + 2 positive
examples"), read at run time from the `SNI_DIR` data setting (`flanjax.data.locations`),
honouring `SNI_SPLIT` (the official `splits/default/train_tasks.txt`) when set. Flan 2022 caps
each SNI task at 5k examples (`mixtures.FLAN2022_CAPS`); the same cap is applied when reading
(`SNI_MAX_PER_TASK`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import string
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import seqio
import tensorflow as tf

from flanjax.data import locations
from flanjax.data.catalog import flan2022_facts
from flanjax.data.templates.base import Rendered

REQUIRED_KEYS = ("Definition", "Positive Examples", "Instances")


class SNIError(ValueError):
    """Super-NaturalInstructions input that cannot be read (a task file, a split file, the
    SNI_DIR setting); the message names the file and the key.

    seqio reads task files inside tf.data (`Dataset.from_generator`), so the error reaches a
    command wrapped in a TensorFlow error; `flanjax.cli.runner` finds it there by this class
    name and reports this one line (exit 2) for every command that reads SNI: train, eval,
    `python -m flanjax.data.inspect`.
    """


class SNIFileNotFoundError(SNIError, FileNotFoundError):
    """A task directory, task file or split file that is not there."""


@dataclasses.dataclass(frozen=True)
class SNITask:
    """One Super-NaturalInstructions task file."""

    name: str
    definition: str
    positive_examples: list[dict[str, str]]
    negative_examples: list[dict[str, str]]
    instances: list[dict[str, Any]]
    categories: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    input_language: tuple[str, ...] = ()
    output_language: tuple[str, ...] = ()
    source: tuple[str, ...] = ()

    @property
    def category(self) -> str:
        return self.categories[0] if self.categories else ""


def _as_strings(value: Any, path: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SNIError(f"{path}: {key!r} must be a list of strings.")
    return tuple(value)


def _demonstrations(value: Any, path: str, key: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SNIError(f"{path}: {key!r} must be a list of examples.")
    out = []
    for i, demo in enumerate(value):
        if not isinstance(demo, dict) or "input" not in demo or "output" not in demo:
            raise SNIError(f"{path}: {key!r}[{i}] needs 'input' and 'output'.")
        out.append(
            {
                "input": str(demo["input"]),
                "output": str(demo["output"]),
                "explanation": str(demo.get("explanation") or ""),
            }
        )
    return out


def _instances(value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise SNIError(f"{path}: 'Instances' must be a list.")
    out = []
    for i, instance in enumerate(value):
        for key in ("input", "output"):
            if not isinstance(instance, dict) or key not in instance:
                raise SNIError(f"{path}: 'Instances'[{i}] has no {key!r} key.")
        outputs = instance["output"]
        outputs = [outputs] if isinstance(outputs, str) else [str(o) for o in outputs]
        if not outputs:
            raise SNIError(f"{path}: 'Instances'[{i}] has an empty 'output' list.")
        instance_id = str(instance.get("id", f"{os.path.basename(path)}-{i}"))
        out.append({"id": instance_id, "input": str(instance["input"]), "output": outputs})
    return out


def load_task(path: str | os.PathLike[str]) -> SNITask:
    """Reads one task file; errors name the file and the missing or malformed key."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise SNIFileNotFoundError(f"Super-NaturalInstructions task file not found: {path}") from None
    except json.JSONDecodeError as e:  # a truncated or hand-edited file
        raise SNIError(f"{path}: not valid JSON ({e}).") from e
    except UnicodeDecodeError as e:
        raise SNIError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); the released "
                       "task files are UTF-8.") from e
    if not isinstance(data, dict):
        raise SNIError(f"{path}: expected a JSON object at the top level.")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise SNIError(f"{path}: required key {key!r} is missing.")
    definition = data["Definition"]
    # The released files hold a one-string list; several strings are joined by a newline.
    definition = "\n".join(_as_strings(definition, path, "Definition"))
    return SNITask(
        name=os.path.splitext(os.path.basename(path))[0],
        definition=definition,
        positive_examples=_demonstrations(data["Positive Examples"], path, "Positive Examples"),
        negative_examples=_demonstrations(data.get("Negative Examples"), path, "Negative Examples"),
        instances=_instances(data["Instances"], path),
        categories=_as_strings(data.get("Categories"), path, "Categories"),
        domains=_as_strings(data.get("Domains"), path, "Domains"),
        input_language=_as_strings(data.get("Input_language"), path, "Input_language"),
        output_language=_as_strings(data.get("Output_language"), path, "Output_language"),
        source=_as_strings(data.get("Source"), path, "Source"),
    )


def _end_with_punctuation(text: str) -> str:
    # The collator adds "." unless the text already ends in punctuation (string.punctuation).
    return text if text and text[-1] in string.punctuation else text + "."


def _demonstration(kind: str, index: int, demo: Mapping[str, str], explain: bool) -> str:
    text = f" {kind} Example {index} -\n"
    text += _end_with_punctuation(f"Input: {demo['input'].strip()}") + "\n"
    text += _end_with_punctuation(f" Output: {demo['output'].strip()}") + "\n"
    if explain and demo.get("explanation"):
        text += _end_with_punctuation(f" Explanation: {demo['explanation'].strip()}") + "\n"
    return text + "\n"


@dataclasses.dataclass(frozen=True)
class Parts:
    """The pieces of one Tk-Instruct input, before the length budget picks demonstrations."""

    name: str  # "{task}. " or ""
    definition: str  # "Definition: ....\n\n" or ""
    positive: tuple[str, ...]  # " Positive Example i -\n..." (the first num_pos_examples)
    negative: tuple[str, ...]
    query: str  # "Now complete the following example -\nInput: ....\nOutput: "


def parts(
    task: SNITask,
    instance: Mapping[str, Any],
    *,
    num_pos_examples: int = 2,
    num_neg_examples: int = 0,
    add_explanation: bool = False,
    add_task_name: bool = False,
    add_task_definition: bool = True,
) -> Parts:
    """The collator's strings for `instance` (`DataCollatorForNI.__call__`)."""
    query = _end_with_punctuation(
        f"Now complete the following example -\nInput: {instance['input'].strip()}"
    )
    definition = ""
    if add_task_definition:
        definition = _end_with_punctuation("Definition: " + task.definition.strip()) + "\n\n"
    return Parts(
        name=f"{task.name}. " if add_task_name else "",
        definition=definition,
        positive=tuple(_demonstration("Positive", i + 1, d, add_explanation)
                       for i, d in enumerate(task.positive_examples[:num_pos_examples])),
        negative=tuple(_demonstration("Negative", i + 1, d, add_explanation)
                       for i, d in enumerate(task.negative_examples[:num_neg_examples])),
        query=query + "\nOutput: ",
    )


def compose(
    p: Parts, max_input_length: Optional[int] = None, length_fn: Callable[[str], int] = len
) -> str:
    """The input, with Tk-Instruct's length budget (`DataCollatorForNI.__call__`).

    Each positive demonstration is added, in order, only while
    `length_fn(definition + " ".join(kept) + candidate + query) <= max_input_length`; the first
    that does not fit stops the positives. Negatives likewise, measured on definition +
    " ".join(positives) + " ".join(kept negatives) + candidate + query. The task name is not
    measured, and the joins inside the measured text have spaces that the input does not,
    both as Tk writes them. Tk's `length_fn` counts tokenizer ids, EOS included. The
    definition and the query are always kept (a still too long input is cut from the end).
    """

    def fits(text: str) -> bool:
        return max_input_length is None or length_fn(text) <= max_input_length

    positive: list[str] = []
    for candidate in p.positive:
        if not fits(p.definition + " ".join(positive) + candidate + p.query):
            break
        positive.append(candidate)
    negative: list[str] = []
    for candidate in p.negative:
        if not fits(p.definition + " ".join(positive) + " ".join(negative) + candidate + p.query):
            break
        negative.append(candidate)
    return p.name + p.definition + "".join(positive) + "".join(negative) + p.query


def encode(
    task: SNITask,
    instance: Mapping[str, Any],
    *,
    num_pos_examples: int = 2,
    num_neg_examples: int = 0,
    add_explanation: bool = False,
    add_task_name: bool = False,
    add_task_definition: bool = True,
    max_input_length: Optional[int] = None,
    length_fn: Callable[[str], int] = len,
) -> Rendered:
    """The Tk-Instruct input for `instance` and its first output as the target; with
    `max_input_length`, demonstrations within Tk's length budget (`compose`)."""
    p = parts(task, instance, num_pos_examples=num_pos_examples,
              num_neg_examples=num_neg_examples, add_explanation=add_explanation,
              add_task_name=add_task_name, add_task_definition=add_task_definition)
    outputs = references(instance)
    return Rendered(inputs=compose(p, max_input_length, length_fn), targets=outputs[0])


def references(instance: Mapping[str, Any]) -> list[str]:
    """All reference outputs of an instance (evaluation scores against the best match)."""
    outputs = instance["output"]
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    if not outputs:
        raise ValueError(f"Instance {instance.get('id')!r} has no output.")
    return outputs


def load_split(split_file: str | os.PathLike[str]) -> list[str]:
    """Task names of an official split file (one a line; blank lines are skipped)."""
    split_file = os.fspath(split_file)
    try:
        with open(split_file, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        raise SNIFileNotFoundError(
            f"Super-NaturalInstructions split file not found: {split_file}"
        ) from None


def task_files(
    directory: str | os.PathLike[str], split_file: str | os.PathLike[str] | None = None
) -> list[str]:
    """Task files of `directory` (sorted), or those the split file names (in its order)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise SNIFileNotFoundError(f"Super-NaturalInstructions task directory not found: {directory}")
    if split_file is None:
        names = sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".json"))
    else:
        names = load_split(split_file)
        missing = [n for n in names if not os.path.isfile(os.path.join(directory, n + ".json"))]
        if missing:
            raise SNIFileNotFoundError(
                f"{os.fspath(split_file)} names {len(missing)} task(s) not in {directory}: "
                f"{missing[:20]}{' ...' if len(missing) > 20 else ''}"
            )
    return [os.path.join(directory, n + ".json") for n in names]


def iter_examples(
    directory: str | os.PathLike[str],
    split_file: str | os.PathLike[str] | None = None,
    *,
    max_per_task: Optional[int] = None,
    num_pos_examples: int = 2,
    num_neg_examples: int = 0,
    add_explanation: bool = False,
    add_task_name: bool = False,
    add_task_definition: bool = True,
) -> Iterator[dict[str, Any]]:
    """Encoded instances of every task: {inputs, targets, references, task_name, category}.

    `max_per_task` keeps each task's first instances (the official test instances are the
    first 100 of each file, label-balanced, as Tk-Instruct's `ni_dataset.py` notes).
    """
    for path in task_files(directory, split_file):
        task = load_task(path)
        instances = task.instances if max_per_task is None else task.instances[:max_per_task]
        for instance in instances:
            rendered = encode(
                task,
                instance,
                num_pos_examples=num_pos_examples,
                num_neg_examples=num_neg_examples,
                add_explanation=add_explanation,
                add_task_name=add_task_name,
                add_task_definition=add_task_definition,
            )
            yield {
                "inputs": rendered.inputs,
                "targets": rendered.targets,
                "references": references(instance),
                "task_name": task.name,
                "category": task.category,
            }


# ---------------------------------------------------------------- seqio tasks
DEFAULT_MAX_PER_TASK = 5_000
TASK_NAMES = ("niv2_zs", "niv2_fs")
# Flan 2022's NIv2 leaves out the tasks made from MMLU (flan/v2/task_configs.py
# filter_mmlu_fn; `flan2022_facts.NIV2_MMLU_TASK_NUMBERS`).
NO_MMLU_TASK_NAMES = ("niv2_zs_no_mmlu", "niv2_fs_no_mmlu")
_NUM_POS = {"niv2_zs": 0, "niv2_fs": 2, "niv2_zs_no_mmlu": 0, "niv2_fs_no_mmlu": 2}
# SNI is its own collection and cluster in the mixtures (Flan 2022's "NIv2" submixture).
COLLECTION = CLUSTER = "niv2"


TEST_SPLIT = os.path.join("splits", "default", "test_tasks.txt")
TRAIN_SPLIT = os.path.join("splits", "default", "train_tasks.txt")


def repository_layout(path: str) -> tuple[str, str]:
    """(tasks directory, repository root) of `path`: the repository or its `tasks/`."""
    path = os.path.expanduser(path)
    if os.path.isdir(os.path.join(path, "tasks")):
        return os.path.join(path, "tasks"), path
    if os.path.isdir(path):
        return path, os.path.dirname(os.path.abspath(path))
    raise SNIFileNotFoundError(
        f"{path} is not a directory: {locations.describe('SNI_DIR')} must be a checkout of "
        "allenai/natural-instructions (with tasks/ and splits/) or its tasks/ directory."
    )


def split_file(root: str, relative: str) -> str:
    path = os.path.join(root, relative)
    if not os.path.isfile(path):
        raise SNIFileNotFoundError(
            f"{path} not found: expected natural-instructions' {relative} beside tasks/ "
            f"(set {locations.describe('SNI_DIR')} to the repository)."
        )
    return path


def _sni_dir() -> str:
    path = locations.get("SNI_DIR")
    if not path:
        raise SNIError(
            f"Super-NaturalInstructions tasks need {locations.describe('SNI_DIR')}: the directory "
            f"of SNI task JSON files (natural-instructions/tasks). Optionally "
            f"{locations.describe('SNI_SPLIT')} names the official "
            "splits/default/{train,test}_tasks.txt file."
        )
    if not tf.io.gfile.isdir(path):
        raise SNIFileNotFoundError(f"SNI_DIR={path!r} is not a directory.")
    return path


def _rows(split: str, *, num_pos: int, exclude_mmlu: bool = False) -> Iterator[dict]:
    del split  # SNI splits are by task (SNI_SPLIT), not by example.
    max_per_task = int(locations.get("SNI_MAX_PER_TASK") or DEFAULT_MAX_PER_TASK)
    tasks_dir, root = repository_layout(_sni_dir())
    split = locations.get("SNI_SPLIT") or None
    if split is None and tasks_dir != os.path.expanduser(_sni_dir()):
        # The repository as released: train on its official training split.
        split = split_file(root, TRAIN_SPLIT)
    for row in iter_examples(
        tasks_dir,
        split,
        max_per_task=max_per_task,
        num_pos_examples=num_pos,
    ):
        if exclude_mmlu and flan2022_facts.is_mmlu_task(row["task_name"]):
            continue
        yield {
            "inputs": row["inputs"],
            "targets": row["targets"],
            "template_id": f"sni_pos{num_pos}",
            "task_name": row.get("task_name", ""),
        }


def _dataset_fn(split: str, shuffle_files: bool, seed: Optional[int] = None, *, num_pos: int,
                exclude_mmlu: bool = False):
    del shuffle_files, seed
    signature = {k: tf.TensorSpec([], tf.string) for k in ("inputs", "targets", "template_id", "task_name")}
    return tf.data.Dataset.from_generator(
        functools.partial(_rows, split, num_pos=num_pos, exclude_mmlu=exclude_mmlu),
        output_signature=signature
    )


def register_tasks() -> None:
    """Registers `niv2_zs` and `niv2_fs` (idempotent); their cluster is `CLUSTER`."""
    from flanjax.data import tasks as tasks_lib  # the task layer sits above the file reader

    for name in TASK_NAMES + NO_MMLU_TASK_NAMES:
        tasks_lib.register_task_cluster(name, CLUSTER)
        if name in seqio.TaskRegistry.names():
            continue
        seqio.TaskRegistry.add(
            name,
            source=seqio.FunctionDataSource(
                functools.partial(_dataset_fn, num_pos=_NUM_POS[name],
                                  exclude_mmlu=name in NO_MMLU_TASK_NAMES),
                splits=["train"]
            ),
            preprocessors=[
                seqio.preprocessors.tokenize,
                seqio.CacheDatasetPlaceholder(),
                functools.partial(tasks_lib.count_overflow, task_name=name),
                seqio.preprocessors.append_eos_after_trim,
            ],
            output_features=tasks_lib.output_features(),
        )
