"""`python -m flanjax.eval --gin_file=runs/eval.gin --gin.CHECKPOINT_PATH=... --gin.EVAL_ON=nli`

Evaluates a checkpoint (a training run's MODEL_DIR, a converted checkpoint or a Hugging
Face directory) zero- or few-shot on clusters, mixtures, datasets or eval tasks, and writes
results.json, results.md, datasets.png and TensorBoard scalars to OUTPUT_DIR.

Macros (runs/eval.gin): CHECKPOINT_PATH, EVAL_ON (or HELDOUT_CLUSTER), EVAL_COLLECTION,
OUTPUT_DIR, EVAL_FORMAT ('zs' | 'fs'), EVAL_MODE ('auto' | 'rank' | 'generate'),
TASK_FEATURE_LENGTHS, BATCH_SIZE, MAX_EVAL_EXAMPLES, CHECKPOINT_STEP, and the trainer's
MESH_SHAPE and LOGICAL_RULES (runs/train_base.gin; a partitioning/*.gin file sets both):

  python -m flanjax.eval --gin_file=runs/eval.gin --gin_file=partitioning/fsdp_tp.gin ...

Sharded evaluation (`flanjax.evaluation.batching.EvalMesh`): the parameters are restored
straight into the shardings the trainer gives them on the (data, model) mesh (each process
reads only its devices' shards of a MODEL_DIR or converted checkpoint; a Hugging Face
directory is read to host, then placed), eval batches are split
over `data` (BATCH_SIZE rounded up to a multiple of the data-parallel size), and results
are gathered back. Multi-host: as `python -m flanjax.train` (jax.distributed.initialize
on a pod slice or with --distributed); every process reads the same eval examples and
process 0 writes the report.

Bad input (an unknown cluster, a checkpoint of another vocabulary, rank classification of a
task without answer options, a missing checkpoint, a checkpoint whose parameters do not
have its config's shapes) ends with one `error: ...` line and exit status 2.
"""

from __future__ import annotations

from typing import Sequence

from flanjax.cli import gin_setup, runner

REQUIRED_MACROS = ("CHECKPOINT_PATH", "OUTPUT_DIR")
OPTIONAL_MACROS = ("EVAL_ON", "HELDOUT_CLUSTER", "EVAL_COLLECTION", "MESH_SHAPE", "LOGICAL_RULES")


def run_gin_command(
    argv: Sequence[str] | None, prog: str, doc: str, configurable: str,
    required: Sequence[str], optional: Sequence[str] = (),
) -> int:
    """Parses --gin_file/--gin.KEY=VALUE, initialises multi-host JAX, calls `configurable`."""
    bindings, args = gin_setup.parse_command_line(argv, prog, doc, runner.add_distributed_flags)
    runner.initialize_distributed(args)  # multi-host, as `python -m flanjax.train`

    import gin  # pylint: disable=g-import-not-at-top

    gin_setup.register_configurables(configurable)
    gin_setup.parse_gin(args.gin_file, bindings, args.gin_search_paths)
    gin_setup.check_macros(required)
    gin_setup.check_macros(optional, optional=True)
    gin_setup.check_known_and_typed(tuple(required) + tuple(optional), prog)
    chosen = gin_setup.configure_data_locations()
    _use_recorded_vocabulary(gin_setup.macro_value("CHECKPOINT_PATH"), chosen, label=configurable)
    gin.get_configurable(configurable)()
    return runner.EXIT_OK


def _use_recorded_vocabulary(checkpoint_path: str, chosen: dict, label: str = "evaluate") -> None:
    """Tasks tokenize with the vocabulary the checkpoint was trained with (a training run
    records it beside its checkpoints) unless VOCAB is set explicitly (gin or FLANJAX_VOCAB)."""
    import os  # pylint: disable=g-import-not-at-top

    from flanjax.data import locations, vocab_files  # pylint: disable=g-import-not-at-top

    if "VOCAB" in chosen or os.environ.get("FLANJAX_VOCAB"):
        return
    recorded = vocab_files.recorded_vocabulary(str(checkpoint_path))
    if recorded is not None:
        tag = {"evaluate": "eval"}.get(label, label)  # the command's own tag: [eval], [infer]
        print(f"[{tag}] vocabulary recorded with the checkpoint: {recorded.sentencepiece_model_file}", flush=True)
        locations.configure({"VOCAB": recorded.sentencepiece_model_file})


def main(argv: Sequence[str] | None = None) -> int:
    return run_gin_command(argv, "python -m flanjax.eval", __doc__, "evaluate",
                           REQUIRED_MACROS, OPTIONAL_MACROS)
