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

import os
import sys
from typing import Any, Callable, Mapping, Optional, Sequence

import gin

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@gin.configurable
def evaluate(
    *,
    checkpoint_path: str = gin.REQUIRED,
    output_dir: str = gin.REQUIRED,
    eval_on: Optional[str] = None,
    heldout_cluster: Optional[str] = None,
    collection: Optional[str] = None,
    eval_format: str = "zs",
    mode: str = "auto",
    task_feature_lengths: Mapping[str, int] = (("inputs", 512), ("targets", 64)),
    batch_size: int = 32,
    max_examples: Optional[int] = None,
    checkpoint_step: Optional[int] = None,
    decode_method: str = "greedy",
    num_beams: int = 4,
    length_normalize: bool = False,
    run_name: Optional[str] = None,
    mesh_shape: Optional[Sequence[int]] = (-1, 1),
    logical_rules: Any = "data_parallel",
) -> dict[str, Any]:
    """Evaluates one checkpoint and writes the report; returns the results.

    mesh_shape, logical_rules: the (data, model) mesh and the rules preset (or table) of
    `flanjax.train.partitioning`, as in training; `mesh_shape=None` evaluates on one device
    with unplaced parameters.
    """
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.evaluation import batching, checkpoints, heldout, report  # pylint: disable=g-import-not-at-top

    target = eval_on or heldout_cluster
    if not target:
        raise heldout.UnknownEvalTargetError("Set EVAL_ON (or HELDOUT_CLUSTER): what to evaluate on.")
    tasks = heldout.resolve_tasks(target, fmt=eval_format, collection=collection)
    # Before loading anything: a mesh that does not fit the devices is a one-line error.
    mesh = None if mesh_shape is None else batching.make_eval_mesh(mesh_shape, logical_rules)
    # With a mesh the parameters are restored straight into their shardings (never whole
    # on a host); `evaluate_params` then finds them placed.
    config, params = checkpoints.load_model(
        checkpoint_path, step=checkpoint_step, mesh=mesh, dtype="float32"
    )
    for task in tasks:  # before any work: every task must fit the checkpoint's vocabulary
        heldout.check_vocabulary(config, heldout.vocabulary_of(task), task.name)
    settings = heldout.EvalSettings(
        mode=mode, max_examples=max_examples, lengths=tuple(dict(task_feature_lengths).items()),
        batch_size=batch_size, length_normalize=length_normalize, decode_method=decode_method,
        num_beams=num_beams,
    )
    results = evaluate_params(config, params, tasks, settings, mesh=mesh)
    if jax.process_index() != 0:
        return results
    name = run_name or os.path.basename(os.path.normpath(checkpoint_path))
    report.write_report(output_dir, {name: results}, title=f"{name} on {target} ({eval_format})",
                        extra={"checkpoint": os.path.abspath(checkpoint_path), "eval_on": target})
    print(report.cluster_table({name: results}))
    print(f"[eval] {len(tasks)} tasks; report in {output_dir}/results.md")
    return results


def evaluate_params(
    config: Any, params: Any, tasks: Sequence[Any], settings: Any, *, mesh: Optional[Any] = None
) -> dict[str, Any]:
    """`heldout.evaluate` of in-memory parameters, sharded on `mesh` (a `batching.EvalMesh`).

    The parameters are placed with their partitioned shardings (a no-op for parameters
    `checkpoints.load_model(..., mesh=mesh)` restored) and every task is scored inside the
    mesh and rules context; results["mesh"] records the layout. None: one device,
    parameters as given.
    """
    from flanjax.evaluation import heldout  # pylint: disable=g-import-not-at-top

    if mesh is None:
        return heldout.evaluate(config, params, tasks, settings)
    placed = mesh.place_params(config, params)
    with mesh.context():
        results = heldout.evaluate(config, placed, tasks, settings)
    return {**results, "mesh": {**mesh.shape, "rules": mesh.rules_name}}


def bad_input_errors() -> tuple[type, ...]:
    """Exceptions that mean the user's input is wrong (reported as one line, exit 2)."""
    from flanjax.evaluation import checkpoints, heldout, ranking  # pylint: disable=g-import-not-at-top

    return (heldout.UnknownEvalTargetError, heldout.VocabularyMismatchError,
            ranking.NoAnswerOptionsError, checkpoints.CheckpointNotFoundError,
            checkpoints.CheckpointMismatchError)


def run_gin_entry(
    argv: Optional[Sequence[str]], prog: str, doc: str, fn: Callable[[], Any],
    required: Sequence[str], optional: Sequence[str] = (),
) -> int:
    """Parses --gin_file/--gin.KEY=VALUE (shared with the trainer), runs `fn`, maps errors."""
    from flanjax import gin_utils  # pylint: disable=g-import-not-at-top
    from flanjax.train import __main__ as train_main  # pylint: disable=g-import-not-at-top

    try:
        bindings, args = gin_utils.parse_command_line(
            argv, prog, doc, train_main._add_distributed_flags  # pylint: disable=protected-access
        )
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    train_main.maybe_initialize_distributed(args)  # multi-host, as `python -m flanjax.train`
    try:
        gin_utils.parse_gin(args.gin_file, bindings, args.gin_search_paths)
        gin_utils.check_macros(required)
        gin_utils.check_macros(optional, optional=True)
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        fn()
    except bad_input_errors() as e:
        # gin appends "In call to configurable ..." lines; the first line is the message.
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except (TypeError, ValueError, RuntimeError) as e:
        if "mesh shape" in str(e) or "logical rules preset" in str(e):
            print(f"error: {gin_utils.one_line(e)}", file=sys.stderr)  # MESH_SHAPE/LOGICAL_RULES
            return 2
        if "gin" in str(e).lower() or "Required bindings" in str(e):
            print(f"error: gin: {gin_utils.one_line(e)}", file=sys.stderr)
            return 2
        raise
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    # Under `python -m` this file is `__main__`; gin binds the importable `flanjax.eval`.
    from flanjax import eval as eval_lib  # pylint: disable=g-import-not-at-top

    return run_gin_entry(
        argv, "python -m flanjax.eval", __doc__, lambda: eval_lib.evaluate(),
        required=("CHECKPOINT_PATH", "OUTPUT_DIR"),
        optional=("EVAL_ON", "HELDOUT_CLUSTER", "EVAL_COLLECTION", "MESH_SHAPE", "LOGICAL_RULES"),
    )


if __name__ == "__main__":
    from flanjax import hostmem

    hostmem.keep_freed_memory()  # before JAX starts its CPU client; see flanjax/hostmem.py
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # tf.data py_function iterators can hang interpreter shutdown
