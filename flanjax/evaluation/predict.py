"""Decode inputs with a checkpoint: the library behind `python -m flanjax.infer`.

INFER_INPUTS is either a seqio task name (its split is read) or a text file (one input a
line, or JSONL with an "inputs" field); predictions go to a JSONL file, one object a line:
{"inputs", "prediction"} (+ "targets" and "task" for task inputs).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Sequence


def _read_text_inputs(path: str) -> list[str]:
    """One input a line, or JSONL rows with an "inputs" field. A bad line is named as
    `path:line` (the file's own line number), with what is wrong and the fix."""
    out = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\n")
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"INFER_INPUTS {path}:{number}: not UTF-8 (byte {raw[e.start]:#04x} at column "
                    f"{e.start + 1}); save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)") from None
            if not line.strip():
                continue
            if not path.endswith(".jsonl"):
                out.append(line.replace("\\n", "\n"))
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                at = "" if e.msg.endswith(" at") else " at"  # "Unterminated string starting at"
                raise ValueError(f"INFER_INPUTS {path}:{number}: not a JSON object ({e.msg}{at} column "
                                 f"{e.colno}); a .jsonl file holds one JSON object a line") from None
            if not isinstance(row, dict) or "inputs" not in row:
                has = f"keys {sorted(row)[:8]}" if isinstance(row, dict) else f"a JSON {type(row).__name__}"
                raise ValueError(f"INFER_INPUTS {path}:{number}: no \"inputs\" field ({has}); each "
                                 'line needs {"inputs": "..."}')
            if not isinstance(row["inputs"], str):  # null would become the text "None"
                raise ValueError(f"INFER_INPUTS {path}:{number}: \"inputs\" must be a string, "
                                 f"got {json.dumps(row['inputs'])}")
            out.append(row["inputs"])
    return out


def _vocabulary(name: Optional[str], checkpoint_path: str) -> Any:
    from flanjax.data import vocab as vocab_lib  # pylint: disable=g-import-not-at-top

    from flanjax.data import vocab_files  # pylint: disable=g-import-not-at-top

    if name is None:  # the vocabulary the checkpoint was trained with (runs record it)
        recorded = vocab_files.recorded_vocabulary(checkpoint_path)
        if recorded is not None:
            return recorded
    vocab = vocab_lib.get_vocabulary(name)
    vocab_lib.load_or_explain(vocab, "VOCAB")  # before encoding: one line, not a traceback
    return vocab


def infer(
    *,
    checkpoint_path: str,
    inputs: str,
    output_file: str,
    vocabulary: Optional[str] = None,
    split: str = "validation",
    max_examples: Optional[int] = None,
    task_feature_lengths: Mapping[str, int] = (("inputs", 512), ("targets", 64)),
    batch_size: int = 32,
    decode_method: str = "greedy",
    num_beams: int = 4,
    checkpoint_step: Optional[int] = None,
    mesh_shape: Optional[Sequence[int]] = (-1, 1),
    logical_rules: Any = "data_parallel",
) -> str:
    """Decodes every input; returns the path of the JSONL written.

    mesh_shape, logical_rules: decode on the trainer's (data, model) mesh with that rules
    preset (`flanjax.evaluation.batching.EvalMesh`); None: one device.
    """
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top

    from flanjax import checkpoints
    from flanjax.data import sources  # pylint: disable=g-import-not-at-top
    from flanjax.evaluation import batching, generation, heldout, outputs  # pylint: disable=g-import-not-at-top

    outputs.check_output_file(output_file, "OUTPUT_FILE")  # before the checkpoint is read
    texts = _read_text_inputs(inputs)[:max_examples] if os.path.isfile(inputs) else None
    lengths = dict(task_feature_lengths)
    mesh = None if mesh_shape is None else batching.make_eval_mesh(mesh_shape, logical_rules)
    # With a mesh: restored straight into the parameters' shardings (never whole on a host).
    config, params = checkpoints.load_model(
        checkpoint_path, step=checkpoint_step, mesh=mesh, dtype="float32"
    )
    if texts is not None:
        vocab = _vocabulary(vocabulary, checkpoint_path)
        examples = [
            {"inputs": np.array(vocab.encode(t)[: lengths["inputs"] - 1] + [1], np.int32),
             "inputs_pretokenized": t}
            for t in texts
        ]
        task_name = None
    else:
        (task,) = heldout.resolve_tasks(inputs) if ":" in inputs else (None,)
        if task is None:
            raise heldout.UnknownEvalTargetError(
                f"INFER_INPUTS {inputs!r} is neither a file nor an eval task name "
                "(`{dataset}_{zs|fs}:{template}`)."
            )
        vocab = heldout.vocabulary_of(task)
        examples = heldout.registry().get_mixture_or_task(task.name).get_dataset(
            sequence_length=lengths, split=split, shuffle=False, num_epochs=1
        )
        examples = list((examples.take(max_examples) if max_examples else examples).as_numpy_iterator())
        task_name = task.name
    heldout.check_vocabulary(config, vocab, task_name or inputs)
    writer = jax.process_index() == 0  # every process decodes; process 0 writes
    if writer:
        os.makedirs(os.path.dirname(os.path.abspath(output_file)), exist_ok=True)
    # Written batch by batch as they are decoded: a long run stopped midway keeps its lines.
    written = 0
    with open(output_file, "w") if writer else _Discard() as f:
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            predictions = generation.decode(
                config, params, vocab, chunk, batch_size=batch_size,
                max_decode_length=lengths["targets"], method=decode_method, num_beams=num_beams,
                mesh=mesh,
            )
            for ex, pred in zip(chunk, predictions):
                row = {"inputs": sources.as_text(ex["inputs_pretokenized"]), "prediction": pred}
                if task_name:
                    row.update(task=task_name, targets=sources.as_text(ex["targets_pretokenized"]))
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            written += len(predictions)
    if writer:
        print(f"[infer] {written} predictions -> {output_file}")
    return output_file


class _Discard:
    """The output of a process that does not write (multi-host: process 0 writes)."""

    def __enter__(self) -> "_Discard":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def write(self, text: str) -> None:
        del text

    def flush(self) -> None:
        pass
