"""Evaluate one checkpoint on held-out clusters, mixtures, datasets or tasks; write the report.

The library behind `python -m flanjax.eval` (`flanjax.cli.evaluate` binds its arguments with
gin): resolve what to evaluate, restore the checkpoint (into its shardings on the eval mesh),
score every task (`flanjax.evaluation.heldout`), write results.json / results.md / plots
(`flanjax.evaluation.report`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence


def evaluate(
    *,
    checkpoint_path: str,
    output_dir: str,
    eval_on: Optional[str] = None,
    heldout_cluster: Optional[str] = None,
    collection: Optional[str] = None,
    eval_format: str = "zs",
    mode: str = "auto",
    task_feature_lengths: Mapping[str, int] = (("inputs", 512), ("targets", 64)),
    batch_size: int = 32,
    max_examples: Optional[int] = None,
    examples_per_cluster: Optional[int] = None,
    checkpoint_step: Optional[int | str] = None,
    decode_method: str = "greedy",
    num_beams: int = 4,
    length_normalize: bool = False,
    run_name: Optional[str] = None,
    mesh_shape: Optional[Sequence[int]] = (-1, 1),
    logical_rules: Any = "data_parallel",
    use_cached: bool = False,
    sni_test_feature_lengths: Optional[Mapping[str, int]] = None,
) -> dict[str, Any]:
    """Evaluates one checkpoint and writes the report; returns the results.

    sni_test_feature_lengths: niv2_test's input / target tokens; None: Tk-Instruct's 1,024 /
    128 (`sni_eval.TK_FEATURE_LENGTHS`, its `scripts/eval_tk_instruct.sh`), whatever
    task_feature_lengths says for the other tasks.
    mesh_shape, logical_rules: the (data, model) mesh and the rules preset (or table) of
    `flanjax.partitioning`, as in training; `mesh_shape=None` evaluates on one device
    with unplaced parameters. examples_per_cluster: the in-training evaluator's budget
    (EVAL_EXAMPLES_PER_CLUSTER, `periodic.task_caps`): the same setting scores the same
    examples. checkpoint_step: a number, None / 'latest', or 'best' (KEEP_BEST's step).
    """
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax import checkpoints
    from flanjax.evaluation import batching, heldout, outputs, report, sni_test  # pylint: disable=g-import-not-at-top

    outputs.check_output_dir(output_dir, "OUTPUT_DIR")  # before hours of scoring, not after
    target = eval_on or heldout_cluster
    if not target:
        raise heldout.UnknownEvalTargetError("Set EVAL_ON (or HELDOUT_CLUSTER): what to evaluate on.")
    # niv2_test (SNI's test set, Tk-Instruct's metrics per category) is scored apart
    # (`sni_test`); the rest resolves to catalog eval tasks.
    items = [s.strip() for s in target.split(",") if s.strip()]
    with_sni = sni_test.TASK_NAME in items
    rest = [s for s in items if s != sni_test.TASK_NAME]
    tasks = heldout.resolve_tasks(rest, fmt=eval_format, collection=collection) if rest or not with_sni else []
    # Before loading anything: a mesh that does not fit the devices is a one-line error.
    mesh = None if mesh_shape is None else batching.make_eval_mesh(mesh_shape, logical_rules)
    if jax.process_index() == 0:
        output_dir = report_dir(output_dir)
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
        num_beams=num_beams, use_cached=use_cached,
    )
    results = evaluate_params(config, params, tasks, settings, mesh=mesh,
                              examples_per_cluster=examples_per_cluster) if tasks else {
        "tasks": [], "datasets": {}, "clusters": {}, "overall": 0.0}
    if with_sni:
        results["sni_test"] = sni_test.evaluate(config, params, settings, mesh=mesh,
                                                lengths=sni_test_feature_lengths)
    if jax.process_index() != 0:
        return results
    name = run_name or os.path.basename(os.path.normpath(checkpoint_path))
    report.write_report(output_dir, {name: results}, title=f"{name} on {target} ({eval_format})",
                        extra={"checkpoint": os.path.abspath(checkpoint_path), "eval_on": target,
                               "checkpoint_step": _step_of(checkpoint_path, checkpoint_step)})
    print(report.cluster_table({name: results}))
    print(f"[eval] {len(tasks)} tasks; report in {output_dir}/results.md")
    return results


REPORT_FILES = ("results.json", "results.md", "datasets.png", "tensorboard")  # report.write_report's
INFERENCE_EVAL = "inference_eval"  # T5X's folder for evaluations (t5x/train.py, t5x/eval.py log_dir)


def report_dir(output_dir: str) -> str:
    """Where the report goes, settled before any work, and said.

    OUTPUT_DIR a training run's MODEL_DIR (checkpoints/ + flanjax_config.json): the report
    goes to MODEL_DIR/inference_eval, where T5X writes its evaluations (`t5x/train.py` and
    `t5x/eval.py`: `os.path.join(..., 'inference_eval')`), so the run's own files
    (tensorboard/, metrics, checkpoints) are never written over and TensorBoard on MODEL_DIR
    shows the evaluation as a run of its own. An earlier report in the folder is moved to
    previous/<its time>/ with a line, never overwritten without a word.
    """
    import shutil  # pylint: disable=g-import-not-at-top
    import time  # pylint: disable=g-import-not-at-top

    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

    out = output_dir
    if (os.path.isdir(os.path.join(output_dir, checkpoints.CHECKPOINTS_SUBDIR))
            and os.path.exists(os.path.join(output_dir, checkpoints.CONFIG_FILE))):
        out = os.path.join(output_dir, INFERENCE_EVAL)
        print(f"[eval] OUTPUT_DIR {output_dir} is a training run's MODEL_DIR: the report goes to "
              f"{out} (T5X's inference_eval), not over the run's files", flush=True)
    earlier = os.path.join(out, REPORT_FILES[0])
    if os.path.exists(earlier):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(os.path.getmtime(earlier)))
        keep = os.path.join(out, "previous", stamp)
        os.makedirs(keep, exist_ok=True)
        for name in REPORT_FILES:
            if os.path.exists(os.path.join(out, name)):
                shutil.move(os.path.join(out, name), os.path.join(keep, name))
        print(f"[eval] the earlier report in {out} is kept in {keep}", flush=True)
    return out


def evaluate_params(
    config: Any, params: Any, tasks: Sequence[Any], settings: Any, *, mesh: Optional[Any] = None,
    examples_per_cluster: Optional[int] = None,
) -> dict[str, Any]:
    """`heldout.evaluate` of in-memory parameters, sharded on `mesh` (a `batching.EvalMesh`).

    The parameters are placed with their partitioned shardings (a no-op for parameters
    `checkpoints.load_model(..., mesh=mesh)` restored) and every task is scored inside the
    mesh and rules context; results["mesh"] records the layout. None: one device,
    parameters as given. The in-training evaluator scores through the same function
    (`periodic.evaluate_budgeted`).
    """
    from flanjax.evaluation import periodic  # pylint: disable=g-import-not-at-top

    return periodic.evaluate_budgeted(config, params, tasks, settings,
                                      examples_per_cluster=examples_per_cluster, mesh=mesh, log=True)


def bad_input_errors() -> tuple[type, ...]:
    """Exceptions that mean the user's input is wrong (reported as one line, exit 2)."""
    from flanjax import checkpoints
    from flanjax.evaluation import heldout, ranking  # pylint: disable=g-import-not-at-top

    return (heldout.UnknownEvalTargetError, heldout.VocabularyMismatchError,
            ranking.NoAnswerOptionsError, checkpoints.CheckpointNotFoundError,
            checkpoints.CheckpointMismatchError)


def _step_of(checkpoint_path: str, step: Optional[int | str]) -> Optional[int]:
    """The training step evaluated: `step` ('best', 'latest' or a number) resolved in a run,
    else a run's latest step; None when the checkpoint is not a training run."""
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

    if not os.path.isdir(os.path.join(checkpoint_path, checkpoints.CHECKPOINTS_SUBDIR)):
        return int(step) if isinstance(step, int) or (isinstance(step, str) and step.isdigit()) else None
    return checkpoints.resolve_step(checkpoint_path, step)
