"""`python -m flanjax.train`: a demo run end to end, and one-line configuration errors."""

import glob
import json
import os
import subprocess
import sys

import gin
import pytest

from _train_helpers import HANG_GUARD_S, REPO
from flanjax.cli import gin_setup as gin_utils
from flanjax.cli import runner
from flanjax.cli import train as train_main


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_demo_run_writes_config_metrics_events_and_checkpoint(tmp_path):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    model_dir = tmp_path / "run"
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "flanjax.train", "--gin_file=runs/demo.gin",
         f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=4", "--gin.BATCH_SIZE=4",
         "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}", "--gin.CHECKPOINT_PERIOD=2",
         "--gin.EVAL_PERIOD=4", "--gin.train.log_period=2", "--gin.train.eval_batches=1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "step 4/4 loss" in proc.stdout
    config = (model_dir / "config.gin").read_text()
    assert "TRAIN_STEPS = 4" in config and "train.train_steps = %TRAIN_STEPS" in config
    assert "make_config.size = 'tiny'" in config
    records = [json.loads(l) for l in (model_dir / "train_metrics.jsonl").read_text().splitlines()]
    train = records
    assert [r["step"] for r in train] == [2, 4]
    for key in ("step", "loss", "learning_rate", "tokens_per_second", "token_accuracy",
                "grad_norm", "examples_per_second", "mfu"):
        assert key in train[0], key
    evals = [json.loads(l) for l in (model_dir / "eval_metrics.jsonl").read_text().splitlines()]
    assert evals[0]["step"] == 4 and "eval/cross_entropy" in evals[0] and "eval/token_accuracy" in evals[0]
    assert glob.glob(str(model_dir / "tensorboard" / "events.out.tfevents.*"))
    assert sorted(os.listdir(model_dir / "checkpoints")) == ["2", "4"]
    assert (model_dir / "flanjax_config.json").exists()


def _error_line(capsys, argv):
    assert runner.call("flanjax.cli.train", argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_gin_typo_is_one_line_naming_it(capsys):
    err = _error_line(capsys, ["--gin_file=runs/demo.gin", "--gin.train.trian_steps=3"])
    assert "trian_steps" in err
    err = _error_line(capsys, ["--gin_file=runs/demo.gin", "--gin.trian.train_steps=3"])
    assert "trian" in err


def test_missing_required_macro_is_one_line_naming_it(capsys):
    err = _error_line(capsys, ["--gin_file=runs/train_base.gin", "--gin_file=models/t5_1_1/tiny.gin"])
    assert "MIXTURE_OR_TASK_NAME" in err and "--gin.MIXTURE_OR_TASK_NAME" in err
    err = _error_line(capsys, ["--gin_file=experiments/flan_t5_small_finetune.gin", "--gin.MODEL_DIR=/tmp/x"])
    assert "INITIAL_CHECKPOINT_PATH" in err


def test_batch_size_that_does_not_divide_is_one_line_with_the_fix(capsys, tmp_path):
    err = _error_line(capsys, ["--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={tmp_path}",
                               "--gin.BATCH_SIZE=3", "--gin.train.num_microbatches=2"])
    assert "BATCH_SIZE=3" in err and "--gin.BATCH_SIZE=4" in err


def test_missing_gin_file_is_one_line(capsys):
    err = _error_line(capsys, ["--gin_file=runs/nope.gin"])
    assert "runs/nope.gin" in err


def test_unquoted_string_values_are_strings():
    bindings, rest = gin_utils.split_gin_flags(
        ["--gin.MODEL_DIR=/tmp/run", "--gin.BATCH_SIZE=8", "--gin.X='a'", "--gin.Y=@f()", "--other"]
    )
    assert bindings == ["MODEL_DIR = '/tmp/run'", "BATCH_SIZE = 8", "X = 'a'", "Y = @f()"]
    assert rest == ["--other"]


@pytest.mark.parametrize(
    "path",
    sorted(
        os.path.relpath(p, os.path.join(REPO, "flanjax", "configs"))
        for pattern in ("experiments/*.gin", "heldout/*.gin", "mixtures/*.gin", "partitioning/*.gin")
        for p in glob.glob(os.path.join(REPO, "flanjax", "configs", pattern))
    ),
)
def test_every_gin_file_parses(path):
    gin_utils.register_configurables("train")

    files = [path] if path.startswith("experiments/") else ["runs/demo.gin", path]
    gin_utils.parse_gin(files, ["MODEL_DIR = '/tmp/x'", "INITIAL_CHECKPOINT_PATH = '/tmp/c'"])
    gin_utils.check_macros(train_main.REQUIRED_MACROS)
    name = gin_utils.macro_value("MIXTURE_OR_TASK_NAME")
    if path.startswith(("heldout/", "mixtures/")):
        from flanjax.data import mixtures

        mixtures.get_mixture_or_task(name)  # registered
