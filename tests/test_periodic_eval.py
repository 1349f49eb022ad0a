"""Held-out evaluation while training (flanjax.evaluation.periodic), its curve and keep-best.

The in-training numbers are checked against an independent reference: `flanjax.eval` on
the checkpoint the same run saved at that step. This file is also the worker of the
multi-device check: `python tests/test_periodic_eval.py mesh`.
"""

import functools
import json
import os
import sys
import types

import numpy as np
import pytest

from _train_helpers import HANG_GUARD_S, finish, spawn, subprocess_env

LENGTHS = (("inputs", 128), ("targets", 32))


def _fake_tasks(counts):
    from flanjax.evaluation.heldout import EvalTask

    out = []
    for cluster, n in counts.items():
        entry = types.SimpleNamespace(cluster=cluster, name=f"{cluster}_ds")
        out += [EvalTask(f"{cluster}_ds_zs:{i}", entry, "zs", str(i)) for i in range(n)]
    return out


def test_cluster_budget_is_split_over_its_tasks():
    from flanjax.evaluation.periodic import task_caps

    tasks = _fake_tasks({"nli": 4, "sentiment": 3})
    caps = task_caps(tasks, 20, None)
    assert [caps[t.name] for t in tasks] == [5] * 4 + [6] * 3
    caps = task_caps(tasks, 20, 4)  # MAX_EVAL_EXAMPLES caps every template
    assert set(caps.values()) == {4}
    assert set(task_caps(tasks, 2, None).values()) == {1}  # at least one example a task
    assert set(task_caps(tasks, None, None).values()) == {None}
    with pytest.raises(ValueError, match="EVAL_EXAMPLES_PER_CLUSTER must be a positive"):
        task_caps(tasks, 0, None)


def test_keep_best_names_resolve_or_list_the_choices():
    from flanjax.evaluation.periodic import metric_key

    clusters, datasets = ["nli", "sentiment"], ["demo_entailment", "demo_reviews"]
    assert metric_key("nli", clusters, datasets) == "cluster/nli/mean"
    assert metric_key("nli/median", clusters, datasets) == "cluster/nli/median"
    assert metric_key("demo_reviews/iqr", clusters, datasets) == "dataset/demo_reviews/iqr"
    assert metric_key("overall", clusters, datasets) == "overall"
    with pytest.raises(ValueError, match=r"KEEP_BEST='nlii' names no held-out score.*nli, sentiment"):
        metric_key("nlii", clusters, datasets)


def test_missing_data_fails_at_construction_naming_the_cluster(monkeypatch):
    from flanjax.data.bundled import ensure_prepared
    from flanjax.data.sources import DatasetNotPreparedError
    from flanjax.evaluation import heldout, periodic

    ensure_prepared()
    real = heldout.load_examples

    def load(task, **kwargs):
        if task.entry.cluster == "sentiment":
            raise DatasetNotPreparedError("TFDS dataset 'x' is not prepared in /nowhere. Build it with `tfds build x`")
        return real(task, **kwargs)

    monkeypatch.setattr(heldout, "load_examples", load)
    with pytest.raises(periodic.PeriodicEvalDataError) as info:
        periodic.PeriodicEvaluator("nli,sentiment", collection="demo", examples_per_cluster=2,
                                   settings=heldout.EvalSettings(lengths=LENGTHS))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("held-out cluster 'sentiment': cannot read demo_reviews")
    assert "tfds build x" in message and "drop 'sentiment' from EVAL_ON" in message


def test_curve_keeps_the_last_record_of_a_step_and_plots(tmp_path):
    from flanjax.evaluation import curves

    rows = [{"step": 0, "heldout/cluster/nli/mean": 30.0}, {"step": 10, "eval/cross_entropy": 2.0},
            {"step": 10, "heldout/cluster/nli/mean": 40.0}, {"step": 10, "heldout/cluster/nli/mean": 45.0}]
    with open(tmp_path / curves.EVAL_FILE, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 2')  # torn last line
    with open(tmp_path / curves.TRAIN_FILE, "w") as f:
        f.write("".join(json.dumps({"step": s, "loss": 5.0 - s / 10}) + "\n" for s in (5, 10)))
    assert curves.prefixed(curves.read_jsonl(str(tmp_path / curves.EVAL_FILE)), "heldout") == {
        0: {"cluster/nli/mean": 30.0}, 10: {"cluster/nli/mean": 45.0}}
    path = curves.plot_run(str(tmp_path))
    assert path == str(tmp_path / curves.CURVE_FILE) and os.path.getsize(path) > 1000


def test_best_step_survives_rotation_and_resolves(tmp_path):
    from flanjax import checkpoints as best_lib

    assert best_lib.surplus_steps([1, 2, 3, 4, 5], 2, {2}) == [1, 3]
    assert best_lib.surplus_steps([1, 2, 3], None, set()) == []
    run = str(tmp_path)
    for step in (2, 5, 6):
        os.makedirs(os.path.join(run, "checkpoints", str(step)))
    os.makedirs(os.path.join(run, "checkpoints", "7.orbax-checkpoint-tmp-1"))  # unfinished save
    with pytest.raises(best_lib.CheckpointNotFoundError, match="no best checkpoint.*KEEP_BEST"):
        best_lib.resolve_step(run, "best")
    best = best_lib.BestCheckpoint.load(run, "cluster/nli/mean")
    assert best.improves(10.0)
    best.record(2, 10.0)
    assert not best.improves(10.0) and best.improves(10.5)
    assert best_lib.resolve_step(run, "best") == 2
    assert best_lib.resolve_step(run, "latest") == best_lib.resolve_step(run, None) == 6
    assert best_lib.resolve_step(run, "5") == 5
    with pytest.raises(best_lib.CheckpointNotFoundError, match=r"No step 3 .*steps: \[2, 5, 6\]"):
        best_lib.resolve_step(run, 3)
    # A resumed run keeps its best only if it was kept by the same metric.
    assert best_lib.BestCheckpoint.load(run, "cluster/nli/mean").step == 2
    assert best_lib.BestCheckpoint.load(run, "overall").step is None


# -- training: the loop's curve, flanjax.eval on its checkpoints, keep-best, resume -------


def _train(model_dir, **kwargs):
    import gin

    from flanjax.evaluation import heldout, periodic
    from flanjax.train import loop, optimizers
    from _train_helpers import tiny_config

    # A new evaluator each call, as a new process (a resumed run) builds one.
    evaluator = periodic.PeriodicEvaluator(
        "nli", collection="demo", examples_per_cluster=18, model_dir=model_dir,
        settings=heldout.EvalSettings(lengths=LENGTHS, batch_size=8),
    )
    gin.clear_config()
    try:
        return loop.train(
            model_config=tiny_config(vocab_size=896), mixture_or_task_name="demo_minus_nli",
            make_schedule=functools.partial(optimizers.make_schedule, "constant", 0.05),
            task_feature_lengths=dict(LENGTHS), batch_size=8, train_steps=6, model_dir=model_dir,
            log_period=1, checkpoint_period=2, eval_period=2, eval_batches=1, keep_checkpoints=1,
            async_checkpointing=False, periodic_eval=evaluator,
            keep_best=evaluator.metric_key("nli"), **kwargs,
        )
    finally:
        gin.clear_config()


def _eval_of_checkpoint(model_dir, step, out_dir, capsys):
    """The independent reference: `python -m flanjax.eval` on the run's saved checkpoint of
    `step`, with the trainer's budget setting (EVAL_EXAMPLES_PER_CLUSTER)."""
    import gin

    from flanjax.cli import runner

    gin.clear_config()
    try:
        code = runner.call("flanjax.cli.evaluate", [
            "--gin_file=runs/eval.gin", f"--gin.CHECKPOINT_PATH={model_dir}", f"--gin.OUTPUT_DIR={out_dir}",
            "--gin.EVAL_ON=nli", "--gin.EVAL_COLLECTION=demo", "--gin.EVAL_EXAMPLES_PER_CLUSTER=18",
            f"--gin.CHECKPOINT_STEP={step}", "--gin.BATCH_SIZE=8",
            f"--gin.TASK_FEATURE_LENGTHS={dict(LENGTHS)}",
        ])
    finally:
        gin.clear_config()
    assert code == 0, capsys.readouterr().err
    with open(os.path.join(out_dir, "results.json")) as f:
        (results,) = json.load(f)["runs"].values()
    return results


def test_training_curve_equals_eval_of_checkpoints_keeps_best_and_resumes(tmp_path, capsys):
    from flanjax.data.bundled import ensure_prepared
    from flanjax.evaluation import curves, periodic
    from flanjax import checkpoints as best_lib

    ensure_prepared()
    run = str(tmp_path / "run")
    first = _train(run, stop_after_steps=3)  # stops after step 3; the last checkpoint is step 2
    assert first.step == 3
    out = capsys.readouterr().out
    assert "[eval] held-out nli every 2 steps" in out and "9 tasks, 18 examples" in out
    assert "[eval] eval every 2 steps, about " in out and "% of training time" in out
    _train(run)  # resumes from step 2: steps 3..6 again
    evals = curves.read_jsonl(os.path.join(run, curves.EVAL_FILE))
    held = [r["step"] for r in evals if "heldout/overall" in r]
    assert held == [0, 2, 4, 6], held  # the start point once, step 2 not repeated after resume
    train_steps = [r["step"] for r in curves.read_jsonl(os.path.join(run, curves.TRAIN_FILE))]
    assert train_steps == [1, 2, 3, 4, 5, 6], train_steps
    assert os.path.getsize(os.path.join(run, curves.CURVE_FILE)) > 1000

    curve = curves.prefixed(evals, "heldout")
    scores = {s: curve[s]["cluster/nli/mean"] for s in (2, 4, 6)}
    best_step = max(scores, key=lambda s: (scores[s], -s))  # the first best on ties
    assert best_lib.read_best(run)["step"] == best_step
    # The last checkpoint and the best one; rotation (keep 1) deleted the rest.
    assert best_lib.saved_steps(run) == sorted({best_step, 6})
    assert best_lib.resolve_step(run, "best") == best_step

    for step in ("best", 6):
        reference = _eval_of_checkpoint(run, step, str(tmp_path / f"eval{step}"), capsys)
        at = best_step if step == "best" else step
        assert periodic.curve_scalars(reference) == curve[at], step
        assert all(t["num_examples"] == 2 for t in reference["tasks"])


def test_train_command_fails_at_start_on_bad_held_out_settings(tmp_path, capsys):
    """Through `python -m flanjax.train`: one line, exit 2, before any training step."""
    import gin

    from flanjax.cli import runner
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    run = str(tmp_path / "run")
    common = ["--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={run}", "--gin.EVAL_PERIOD=2"]
    for flags, message in (
        (["--gin.EVAL_ON=nli"], "error: Cluster 'nli' exists in collections"),
        (["--gin.EVAL_ON=nli", "--gin.EVAL_COLLECTION=demo", "--gin.KEEP_BEST=sentiment"],
         "error: KEEP_BEST='sentiment' names no held-out score of EVAL_ON; use 'overall', a cluster (nli)"),
        (["--gin.KEEP_BEST=nli"], "error: KEEP_BEST='nli' needs held-out scores: set EVAL_ON"),
    ):
        gin.clear_config()
        try:
            code = runner.call("flanjax.cli.train", common + flags)
        finally:
            gin.clear_config()
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith(message), err
        assert not os.path.exists(os.path.join(run, "checkpoints")), "training started"


# -- sharded: the multi-device mesh gives the one-device scores ---------------------------


def test_mesh_scores_equal_one_device(tmp_path):
    (out,) = finish([spawn(__file__, ["mesh", tmp_path], subprocess_env(8))], timeout=HANG_GUARD_S)
    assert "PERIODIC_MESH_OK" in out, out[-3000:]


def _mesh_worker(tmp: str) -> None:
    import jax

    from flanjax.data.bundled import ensure_prepared
    from flanjax.evaluation import heldout, periodic
    from flanjax.model import T5Config, init_params
    from flanjax import partitioning

    assert jax.device_count() == 8
    ensure_prepared()
    config = T5Config.tiny(vocab_size=896, dtype="float32")
    params = jax.device_get(init_params(config, jax.random.key(3)))
    evaluator = periodic.PeriodicEvaluator(
        "nli", collection="demo", examples_per_cluster=27,
        settings=heldout.EvalSettings(lengths=LENGTHS, batch_size=5), plot=False,
    )
    runs = {}
    for shape, rules in (((1, 1), "data_parallel"), ((4, 2), "fsdp_tp"), ((8, 1), "data_parallel")):
        devices = jax.devices()[:1] if shape == (1, 1) else None
        mesh = partitioning.make_mesh(shape, devices)
        evaluator.prepare(config, mesh, rules)
        runs[shape] = evaluator.evaluate(params)
    one = runs[(1, 1)]
    assert one["tasks"] and all(t["num_examples"] == 3 for t in one["tasks"])
    for shape, results in runs.items():
        assert results["mesh"]["data"] * results["mesh"]["model"] == shape[0] * shape[1]
        assert periodic.curve_scalars(results) == periodic.curve_scalars(one), shape
        for a, b in zip(results["tasks"], one["tasks"]):
            assert a["task"] == b["task"] and a["values"] == b["values"], (shape, a, b)
            assert [s["prediction"] for s in a["samples"]] == [s["prediction"] for s in b["samples"]]
    print("PERIODIC_MESH_OK", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "mesh":
        _mesh_worker(sys.argv[2])
    sys.stdout.flush()
    os._exit(0)


def test_eval_cost_in_flops_is_said_before_step_one():
    """The FLOPs share of periodic evaluation, before any step is timed (hand-computed:
    1e9 eval FLOPs, every 10 steps of 9e8 training FLOPs -> 1e9 / (1e9 + 9e9) = 10.0%)."""
    import types

    from flanjax.train.heldout_eval import HeldoutSchedule

    lines = []
    logger = types.SimpleNamespace(log_text=lines.append, log_eval=lambda *a, **k: None)
    plan = types.SimpleNamespace(description="[eval] plan", flops=1e9, evaluated_steps=(0,))
    evaluator = types.SimpleNamespace(prepare=lambda *a, **k: plan)
    schedule = HeldoutSchedule(evaluator, period=10, logger=logger, flops_per_step=9e8)
    assert schedule.start(None, None, None, start_step=0, params=None) is None  # step 0 on the curve
    assert lines[0] == "[eval] plan"
    assert lines[1].startswith("[eval] one evaluation is 1e+09 forward FLOPs, 10.0% of the FLOPs")
    assert "10 training steps" in lines[1]
