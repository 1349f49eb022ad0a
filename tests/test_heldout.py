"""Held-out evaluation: aggregates by hand, task resolution, modes, and the 2-cluster grid."""

import json
import os

import jax
import pytest

from flanjax.data.bundled import ensure_prepared
from flanjax.evaluation import heldout, ranking
from flanjax.model import T5Config, init_params


@pytest.fixture(scope="module")
def demo_data():
    return ensure_prepared()


@pytest.fixture(scope="module")
def tiny(demo_data):
    config = T5Config.tiny(vocab_size=896, dtype="float32")
    return config, jax.device_get(init_params(config, jax.random.key(0)))


def _row(dataset, cluster, template, score, metric="accuracy", fmt="zs"):
    return {"dataset": dataset, "cluster": cluster, "template": template, "score": score,
            "metric": metric, "format": fmt}


def test_aggregates_hand_computed():
    rows = [
        _row("a", "x", "0", 10.0), _row("a", "x", "1", 20.0), _row("a", "x", "2", 60.0),
        _row("b", "x", "0", 50.0), _row("b", "x", "1", 70.0),
        _row("c", "y", "0", 40.0),
        _row("a", "x", "0", 90.0, fmt="fs"),  # few-shot results are a dataset of their own
    ]
    agg = heldout.aggregate(rows)
    a = agg["datasets"]["a"]
    assert (a["median"], a["mean"], a["min"], a["max"], a["num_templates"]) == (20.0, 30.0, 10.0, 60.0, 3)
    assert a["iqr"] == pytest.approx(25.0)  # numpy's linear quantiles: q75 40, q25 15
    assert a["std"] == pytest.approx((((10 - 30) ** 2 + (20 - 30) ** 2 + (60 - 30) ** 2) / 3) ** 0.5)
    assert agg["datasets"]["b"]["median"] == 60.0 and agg["datasets"]["a_fs"]["mean"] == 90.0
    x = agg["clusters"]["x"]
    assert sorted(x["datasets"]) == ["a", "a_fs", "b"]
    assert x["mean"] == pytest.approx((30 + 60 + 90) / 3)
    assert x["median"] == pytest.approx((20 + 60 + 90) / 3)
    assert agg["clusters"]["y"]["mean"] == 40.0
    assert agg["overall"] == pytest.approx(((30 + 60 + 90) / 3 + 40) / 2)


def test_resolve_tasks(demo_data):
    tasks = heldout.resolve_tasks("nli", collection="demo")
    assert {t.entry.name for t in tasks} == {"demo_entailment", "demo_numeric_nli"}
    assert len(tasks) == 9 and all(t.fmt == "zs" for t in tasks)
    assert [t.name for t in heldout.resolve_tasks("demo_addition_zs:1")] == ["demo_addition_zs:1"]
    fs = heldout.resolve_tasks("demo_reviews", fmt="fs")
    assert all(t.name.startswith("demo_reviews_fs:") for t in fs)
    # A mixture: the datasets it trains on.
    minus = {t.entry.cluster for t in heldout.resolve_tasks("demo_minus_nli")}
    assert "nli" not in minus and "sentiment" in minus
    with pytest.raises(heldout.UnknownEvalTargetError, match="Unknown cluster.*'nlii'.*Clusters: \\["):
        heldout.resolve_tasks("nlii", collection="demo")
    with pytest.raises(heldout.UnknownEvalTargetError, match="exists in collections"):
        heldout.resolve_tasks("nli")  # nli is a cluster of several collections


def test_evaluate_task_modes(tiny):
    config, params = tiny
    settings = heldout.EvalSettings(max_examples=3, batch_size=4, lengths=(("inputs", 128), ("targets", 8)))
    (rank_task,) = heldout.resolve_tasks("demo_reviews_zs:0")
    result = heldout.evaluate_task(config, params, rank_task, settings)
    assert (result.num_ranked, result.num_generated, result.num_examples) == (3, 0, 3)
    assert result.metric == "accuracy" and len(result.samples) == 3
    # Accuracy over the 3 examples, recomputed from their predictions and targets.
    hits = [s["prediction"] == s["target"] for s in result.samples]
    assert result.score == pytest.approx(100 * sum(hits) / 3)
    assert all(s["prediction"] in ("positive", "negative") for s in result.samples)
    (gen_task,) = heldout.resolve_tasks("demo_addition_zs:0")
    result = heldout.evaluate_task(config, params, gen_task, settings)
    assert (result.num_ranked, result.num_generated) == (0, 3)
    assert result.metric == "exact_match"
    import dataclasses

    with pytest.raises(ranking.NoAnswerOptionsError, match="demo_addition_zs:0"):
        heldout.evaluate_task(config, params, gen_task, dataclasses.replace(settings, mode="rank"))


def test_vocabulary_mismatch(tiny):
    (task,) = heldout.resolve_tasks("demo_reviews_zs:0")
    vocab = heldout.vocabulary_of(task)
    heldout.check_vocabulary(tiny[0], vocab, task.name)
    for size in (512, 32128):
        with pytest.raises(heldout.VocabularyMismatchError, match=f"embeds {size} token ids.*another vocabulary"):
            heldout.check_vocabulary(T5Config.tiny(vocab_size=size), vocab, task.name)


def test_leave_one_cluster_out_grid_end_to_end(demo_data, tmp_path):
    from flanjax.cli import runner
    from flanjax.experiments import grid as driver

    out = str(tmp_path / "grid")
    grid = driver.GridConfig(
        mixture="demo", clusters=("nli", "sentiment"), out_dir=out, size="tiny", steps=2,
        batch_size=8, lengths=(("inputs", 128), ("targets", 16)), max_eval_examples=2,
        eval_batch_size=8, extra_eval=("arithmetic",), log_every=1,
    )
    from flanjax.cli import cells

    summary = driver.run_grid(grid, cells.GIN_CELLS, log=lambda m: None)
    rows = {(r["run"], r["cluster"]): r for r in summary["rows"]}
    assert set(rows) == {("minus_nli", "nli"), ("minus_nli", "arithmetic"),
                         ("minus_sentiment", "sentiment"), ("minus_sentiment", "arithmetic")}
    assert rows[("minus_nli", "nli")]["kind"] == "held out"
    for r in rows.values():
        assert r["gain"] == pytest.approx(r["finetuned"] - r["baseline"])
    for name in ("results.json", "results.md", "datasets.png", "heldout_vs_clusters.png", "summary.json"):
        assert os.path.exists(os.path.join(out, name)), name
    for c in ("nli", "sentiment"):
        run_dir = os.path.join(out, f"minus_{c}")
        assert os.path.exists(os.path.join(run_dir, "train_metrics.jsonl"))
        assert os.listdir(os.path.join(run_dir, "checkpoints"))
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    assert set(results["runs"]) == {"baseline", "minus_nli", "minus_sentiment"}
    assert "nli" not in results["runs"]["minus_sentiment"]["clusters"]
    assert "Gain per cluster" in open(os.path.join(out, "results.md")).read()
    # The trained run's checkpoint evaluates through the generic loader.
    from flanjax import checkpoints

    config, _ = checkpoints.load_model(os.path.join(out, "minus_nli"))
    assert config.vocab_size == 896


def test_dry_run_prints_launch_commands(capsys):
    from flanjax.cli import runner

    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli,sentiment", "--dry_run",
                        "--out", "/tmp/x", "--size", "small", "--init", "/ckpt/hf_t5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "python -m flanjax.convert --from_hf /ckpt/hf_t5 --out /tmp/x/init"
    assert sum(l.startswith("python -m flanjax.train") for l in lines) == 2
    assert "\"--gin.MIXTURE_OR_TASK_NAME='demo_minus_nli'\"" in lines[1]
    assert "\"--gin.INITIAL_CHECKPOINT_PATH='/tmp/x/init'\"" in lines[1]
    assert lines[-1].startswith("python -m flanjax.eval") and "EVAL_ON='nli,sentiment'" in lines[-1]
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli,sentimnt", "--dry_run"]) == 2
    assert "Unknown cluster 'sentimnt'" in capsys.readouterr().err
    # Every setting given on the command line reaches the printed commands.
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--dry_run", "--out", "/tmp/x",
                        "--learning_rate", "3e-4", "--max_eval_examples", "7", "--batch_size", "16"]) == 0
    _, train, _, evaluate, _ = capsys.readouterr().out.strip().splitlines()
    assert "--gin.make_schedule.learning_rate=0.0003" in train and "--gin.BATCH_SIZE=16" in train
    assert "--gin.MAX_EVAL_EXAMPLES=7" in evaluate and "{'inputs': 256, 'targets': 32}" in evaluate
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--size", "huge",
                                               "--dry_run"]) == 2
    assert "--size 'huge' has no recipe" in capsys.readouterr().err
