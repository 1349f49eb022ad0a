"""`python -m flanjax.eval`: a real run, and one clear message for each kind of bad input."""

import json
import os

import gin
import jax
import pytest

from flanjax.cli import runner
from flanjax.checkpoints import save_flanjax_checkpoint
from flanjax.data.bundled import ensure_prepared
from flanjax.model import T5Config, init_params


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    ensure_prepared()
    root = tmp_path_factory.mktemp("ckpts")
    out = {}
    for name, vocab in (("good", 896), ("t5_vocab", 32128)):
        config = T5Config.tiny(vocab_size=vocab, dtype="float32")
        params = jax.device_get(init_params(config, jax.random.key(0)))
        out[name] = save_flanjax_checkpoint(config, params, str(root / name))
    return out


def _run(capsys, *flags):
    gin.clear_config()
    code = runner.call("flanjax.cli.evaluate", ["--gin_file=runs/eval.gin", *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip().splitlines()


def test_eval_writes_report(checkpoints, tmp_path, capsys):
    out = str(tmp_path / "eval")
    code, stdout, _ = _run(capsys, f"--gin.CHECKPOINT_PATH={checkpoints['good']}", "--gin.EVAL_ON=demo_reviews",
                           f"--gin.OUTPUT_DIR={out}", "--gin.MAX_EVAL_EXAMPLES=2",
                           "--gin.TASK_FEATURE_LENGTHS={'inputs': 128, 'targets': 8}")
    assert code == 0
    assert "| sentiment |" in stdout
    with open(os.path.join(out, "results.json")) as f:
        data = json.load(f)
    (run,) = data["runs"].values()
    assert len(run["tasks"]) == 5 and all(t["num_examples"] == 2 for t in run["tasks"])
    # runs/eval.gin evaluates on the trainer's default mesh (MESH_SHAPE, LOGICAL_RULES).
    assert run["mesh"] == {"data": 1, "model": 1, "rules": "data_parallel"}
    # Progress per task as it finishes; a converted checkpoint has no training step.
    assert "[eval] 1/5 demo_reviews_zs:" in stdout and "[eval] 5/5 " in stdout
    assert "checkpoint_step" in data and data["checkpoint_step"] is None


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--gin.EVAL_ON=nlii", "--gin.EVAL_COLLECTION='demo'"],
         "error: Unknown cluster, mixture or task 'nlii'. Clusters: ['nli', 'sentiment'"),
        (["--gin.EVAL_ON=demo_facts_qa_zs:0", "--gin.EVAL_MODE=rank"],
         "error: Task 'demo_facts_qa_zs:0' (template '0', example 0) has no answer options"),
        (["--gin.EVAL_ON=nli"], "error: Cluster 'nli' exists in collections"),
        # A mesh that does not fit the devices names both (tests run on 1 CPU device).
        (["--gin.EVAL_ON=demo_reviews_zs:0", "--gin.MESH_SHAPE=(2, 1)"],
         "error: mesh shape (2, 1) does not divide the 1 devices"),
        (["--gin.EVAL_ON=demo_reviews_zs:0", "--gin.LOGICAL_RULES='zero3'"],
         "error: Unknown logical rules preset 'zero3'"),
    ],
)
def test_bad_input_one_line(checkpoints, tmp_path, capsys, flags, message):
    code, _, err = _run(capsys, f"--gin.CHECKPOINT_PATH={checkpoints['good']}",
                        f"--gin.OUTPUT_DIR={tmp_path}", "--gin.MAX_EVAL_EXAMPLES=1", *flags)
    assert code == 2
    assert len(err) == 1 and err[0].startswith(message), err


def test_checkpoint_of_another_vocabulary(checkpoints, tmp_path, capsys):
    code, _, err = _run(capsys, f"--gin.CHECKPOINT_PATH={checkpoints['t5_vocab']}", "--gin.EVAL_ON=sentiment",
                        "--gin.EVAL_COLLECTION=demo", f"--gin.OUTPUT_DIR={tmp_path}")
    assert code == 2
    assert len(err) == 1
    assert "embeds 32128 token ids" in err[0] and "trained with another vocabulary" in err[0]


def test_missing_checkpoint_and_macros(tmp_path, capsys):
    code, _, err = _run(capsys, f"--gin.CHECKPOINT_PATH={tmp_path}/nothing", "--gin.EVAL_ON=nli",
                        "--gin.EVAL_COLLECTION=demo", f"--gin.OUTPUT_DIR={tmp_path}")
    assert code == 2 and err == [f"error: Checkpoint directory '{tmp_path}/nothing' does not exist."]
    code, _, err = _run(capsys, "--gin.EVAL_ON=nli", f"--gin.OUTPUT_DIR={tmp_path}")
    assert code == 2 and "CHECKPOINT_PATH is required" in err[-1]


def test_infer_task_and_text_file(checkpoints, tmp_path, capsys):

    out = tmp_path / "pred.jsonl"
    common = ["--gin_file=runs/infer.gin", f"--gin.CHECKPOINT_PATH={checkpoints['good']}",
              f"--gin.OUTPUT_FILE={out}", "--gin.MAX_EXAMPLES=2",
              "--gin.TASK_FEATURE_LENGTHS={'inputs': 128, 'targets': 4}"]
    gin.clear_config()
    assert runner.call("flanjax.cli.infer", common + ["--gin.INFER_INPUTS=demo_addition_zs:0"]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["task"] == "demo_addition_zs:0" and "targets" in rows[0]
    text_file = tmp_path / "inputs.txt"
    text_file.write_text("What is 2 + 3?\nReverse the order of the words: a b c\n")
    gin.clear_config()
    assert runner.call("flanjax.cli.infer", common + [f"--gin.INFER_INPUTS={text_file}", "--gin.VOCAB=bundled"]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["inputs"] for r in rows] == ["What is 2 + 3?", "Reverse the order of the words: a b c"]
    assert all(isinstance(r["prediction"], str) for r in rows)
    gin.clear_config()
    assert runner.call("flanjax.cli.infer", common + ["--gin.INFER_INPUTS=no_such_thing"]) == 2
    assert "neither a file nor an eval task" in capsys.readouterr().err
