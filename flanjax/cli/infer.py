"""`python -m flanjax.infer --gin_file=runs/infer.gin --gin.CHECKPOINT_PATH=... --gin.INFER_INPUTS=...`

Decodes inputs with a checkpoint and writes one JSON object per line to OUTPUT_FILE:
{"inputs", "prediction"} (+ "targets" and "task" for task inputs).

INFER_INPUTS is either a seqio task name (e.g. `demo_addition_zs:0`; its INFER_SPLIT is
read) or a text file: one input per line, or JSONL with an "inputs" field. Text is
tokenized with VOCAB (the data setting every command reads, `flanjax.data.locations`: 't5',
'bundled' or a SentencePiece .model path); by default the vocabulary the checkpoint was
trained with (a run records it; a Hugging Face checkpoint's own `spiece.model`), else env
FLANJAX_VOCAB.

MESH_SHAPE and LOGICAL_RULES (the trainer's macros; a partitioning/*.gin file sets both)
decode on a sharded mesh, as `python -m flanjax.eval` does; process 0 writes OUTPUT_FILE.
"""

from __future__ import annotations

from typing import Sequence

from flanjax.cli.evaluate import run_gin_command

REQUIRED_MACROS = ("CHECKPOINT_PATH", "INFER_INPUTS", "OUTPUT_FILE")
OPTIONAL_MACROS = ("MESH_SHAPE", "LOGICAL_RULES")


def main(argv: Sequence[str] | None = None) -> int:
    return run_gin_command(argv, "python -m flanjax.infer", __doc__, "infer",
                           required=REQUIRED_MACROS, optional=OPTIONAL_MACROS)
