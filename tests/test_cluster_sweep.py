"""FLAN's number-of-training-clusters sweep (Wei et al. 2021, Sec. 4.1, Fig. 6) on the demo.

The demo catalog (flanjax/data/catalog/demo.py), in the mixture's cluster order:
  nli                    demo_entailment, demo_numeric_nli
  sentiment              demo_reviews, demo_restaurant
  arithmetic             demo_addition, demo_comparison
  text_transform         demo_reverse_words, demo_sort_words
  reading_comprehension  demo_facts_qa, demo_facts_yesno
"""

import json
import os
import shlex
import subprocess
import sys

import pytest
import seqio

from flanjax.cli import runner
from flanjax.experiments import grid as driver
from flanjax.experiments import sweep
from flanjax.data import mixtures
from flanjax.data.bundled import ensure_prepared
from _train_helpers import HANG_GUARD_S

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENTIMENT = {"demo_reviews_zs", "demo_restaurant_zs"}
ARITHMETIC = {"demo_addition_zs", "demo_comparison_zs"}
TEXT_TRANSFORM = {"demo_reverse_words_zs", "demo_sort_words_zs"}
NLI = {"demo_entailment_zs", "demo_numeric_nli_zs"}


@pytest.fixture(scope="module")
def demo_data():
    yield ensure_prepared()
    # The subset mixtures registered here are not left for the tests that list mixtures.
    for name in list(seqio.MixtureRegistry.names()):
        if "_only_" in name:
            seqio.MixtureRegistry.remove(name)


def _tasks(name):
    return set(seqio.get_mixture_or_task(name).rate_per_task_name)


def test_cluster_subset_mixtures(demo_data):
    base = seqio.get_mixture_or_task("demo")
    name = mixtures.register_cluster_subset("demo", ["sentiment", "arithmetic"])
    assert name == "demo_only_sentiment_arithmetic"
    assert _tasks(name) == SENTIMENT | ARITHMETIC
    sub = seqio.get_mixture_or_task(name)
    for task in sub.tasks:  # the base mixture's rates (examples-proportional, capped)
        assert sub.get_rate(task) == base.get_rate(task) > 0
    # Any order, named in that order; a `_minus_` mixture works as a base too.
    assert mixtures.register_cluster_subset("demo", ["text_transform", "nli"]) == "demo_only_text_transform_nli"
    assert _tasks("demo_only_text_transform_nli") == TEXT_TRANSFORM | NLI
    assert _tasks(mixtures.register_cluster_subset("demo_minus_nli", ["arithmetic"])) == ARITHMETIC
    with pytest.raises(ValueError, match=r"has no cluster 'nlii'; its clusters: \['nli', 'sentiment'"):
        mixtures.register_cluster_subset("demo", ["nlii"])
    with pytest.raises(ValueError, match="no cluster 'nli'"):
        mixtures.register_cluster_subset("demo_minus_nli", ["nli"])
    with pytest.raises(ValueError, match="is a task, not a mixture"):
        mixtures.register_cluster_subset("demo_reviews_zs", ["sentiment"])


def test_sweep_plan_order_and_errors(demo_data):
    grid = driver.GridConfig(mixture="demo", clusters=("nli",), out_dir="/tmp/x", sweep_num_clusters=(4, 1, 2))
    plan = sweep.sweep_plan(grid)
    assert plan.order == ("nli", "sentiment", "arithmetic", "text_transform", "reading_comprehension")
    assert plan.remaining == ("sentiment", "arithmetic", "text_transform", "reading_comprehension")
    assert plan.num_clusters == (1, 2, 4) and plan.added_at(4) == ("text_transform", "reading_comprehension")
    ordered = sweep.sweep_plan(driver.GridConfig(
        mixture="demo", clusters=("nli", "sentiment"), out_dir="/tmp/x", sweep_num_clusters=(2,),
        cluster_order=("text_transform", "sentiment", "arithmetic")))
    assert ordered.training_clusters(2) == ("text_transform", "arithmetic")
    for kwargs, message in (
        ({"sweep_num_clusters": (5,)}, r"--sweep_num_clusters 5: each must be between 1 and 4.*holding out nli:"),
        ({"sweep_num_clusters": (1,), "cluster_order": ("sentiment", "sentimnt")}, "does not train on 'sentimnt'"),
        ({"sweep_num_clusters": (1,), "clusters": ("nlii",)}, "Unknown cluster 'nlii'"),
    ):
        with pytest.raises(driver.GridError, match=message):
            sweep.sweep_plan(driver.GridConfig(**{"mixture": "demo", "clusters": ("nli",), "out_dir": "/x", **kwargs}))


def test_sweep_end_to_end(demo_data, tmp_path):
    out = str(tmp_path / "sweep")
    grid = driver.GridConfig(
        mixture="demo", clusters=("nli",), out_dir=out, size="tiny", steps=2, batch_size=8,
        lengths=(("inputs", 128), ("targets", 8)), max_eval_examples=2, eval_batch_size=8,
        log_every=1, sweep_num_clusters=(1, 2),
    )
    from flanjax.cli import cells

    summary = sweep.run_sweep(grid, cells.GIN_CELLS, log=lambda m: None)
    # The training mixtures: the first k clusters after nli, with the base rates.
    assert _tasks("demo_only_sentiment") == SENTIMENT
    assert _tasks("demo_only_sentiment_arithmetic") == SENTIMENT | ARITHMETIC
    with open(os.path.join(out, "sweep.json")) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(summary))
    assert [(p["heldout"], p["num_training_clusters"]) for p in saved["points"]] == [("nli", 0), ("nli", 1), ("nli", 2)]
    assert [p["mixture"] for p in saved["points"]] == [None, "demo_only_sentiment", "demo_only_sentiment_arithmetic"]
    assert saved["points"][2]["training_clusters"] == ["sentiment", "arithmetic"]
    scores = [p["score"] for p in saved["points"]]
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    assert set(results["runs"]) == {"k0", "k1", "k2"}
    assert all(set(r["clusters"]) == {"nli"} for r in results["runs"].values())
    assert [results["runs"][f"k{k}"]["clusters"]["nli"]["mean"] for k in range(3)] == scores
    for name in ("heldout_vs_num_clusters.png", "results.md", "datasets.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    md = open(os.path.join(out, "results.md")).read()
    assert "number of training clusters" in md and "| 2 | sentiment, arithmetic |" in md
    for k in (1, 2):
        assert os.listdir(os.path.join(out, f"k{k}", "checkpoints"))


def test_sweep_dry_run(demo_data, capsys, tmp_path):
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--sweep_num_clusters", "1,3",
                        "--cluster_order", "arithmetic,nli,sentiment,text_transform", "--dry_run",
                        "--out", "/tmp/sw", "--size", "small", "--init", "/ckpt/hf_t5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "python -m flanjax.convert --from_hf /ckpt/hf_t5 --out /tmp/sw/init"
    train = [l for l in lines if l.startswith("python -m flanjax.heldout train")]
    assert len(train) == 2
    assert "--mixture demo --train_clusters arithmetic " in train[0]
    assert "\"--gin.MIXTURE_OR_TASK_NAME='demo_only_arithmetic'\"" in train[0]
    assert "--train_clusters arithmetic,sentiment,text_transform " in train[1]
    assert "\"--gin.MIXTURE_OR_TASK_NAME='demo_only_arithmetic_sentiment_text_transform'\"" in train[1]
    assert "\"--gin.INITIAL_CHECKPOINT_PATH='/tmp/sw/init'\"" in train[1]
    evals = [l for l in lines if l.startswith("python -m flanjax.eval")]
    assert len(evals) == 3 and all("EVAL_ON='nli'" in l for l in evals)
    assert "OUTPUT_DIR='/tmp/sw/eval/k3'" in evals[1] and "CHECKPOINT_PATH='/tmp/sw/init'" in evals[2]
    # Bad input: one line each.
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--sweep_num_clusters", "1,9", "--dry_run"]) == 2
    assert "--sweep_num_clusters 9: each must be between 1 and 4" in capsys.readouterr().err
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--sweep_num_clusters", "x", "--dry_run"]) == 2
    assert "expected comma-separated integers" in capsys.readouterr().err


def test_printed_train_command_runs(demo_data, tmp_path, capsys):
    """The dry run's train command works as printed (shrunk to one tiny step)."""
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli", "--sweep_num_clusters", "1",
                        "--dry_run", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("python -m flanjax.heldout ") and " --write_init" in printed[0]
    (train,) = [l for l in printed if " flanjax.heldout train " in l]
    # The first line writes the initial checkpoint the train command starts from.
    assert runner.call("flanjax.cli.heldout", shlex.split(printed[0].split("  #")[0])[3:]) == 0
    argv = shlex.split(train)[1:] + ["--gin.TRAIN_STEPS=1", "--gin.BATCH_SIZE=2", "--gin.CHECKPOINT_PERIOD=1",
                                     "--gin.TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 8}"]
    assert argv[:2] == ["-m", "flanjax.heldout"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "[train] done at step 1" in run.stdout
    assert os.listdir(os.path.join(str(tmp_path), "k1", "checkpoints"))
    bad = subprocess.run([sys.executable, "-m", "flanjax.heldout", "train", "--mixture", "demo",
                          "--train_clusters", "sentiment", "--gin.MIXTURE_OR_TASK_NAME='demo'"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert bad.returncode == 2 and "is not the subset mixture 'demo_only_sentiment'" in bad.stderr
