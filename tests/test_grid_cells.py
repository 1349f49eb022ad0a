"""A grid cell is `python -m flanjax.train` with the recipe: same operative config, same curve.

The grid runs each cell in its own process through `flanjax.cli.cells`, prints the train
command, and the test runs that printed command (split as a shell would) through
`python -m flanjax.train`'s main into another MODEL_DIR: the two operative configurations
(config.gin) must be the same text but for MODEL_DIR, and the two loss curves
(train_metrics.jsonl) the same numbers. The recipe is an experiment gin file written here
with dropout, microbatches, remat and a loss normalizing factor; the test also checks,
against that file, that each of its bindings is in the cell's operative config.
"""

from __future__ import annotations

import json
import os
import shlex

import gin
import pytest

from flanjax.cli import runner
from flanjax.data.bundled import ensure_prepared

RECIPE = """
include 'runs/heldout_tiny.gin'
TASK_FEATURE_LENGTHS = {'inputs': 64, 'targets': 8}
TRAIN_STEPS = 3
BATCH_SIZE = 4
DROPOUT_RATE = 0.3
make_config.remat_policy = 'full'
train.num_microbatches = 2
train.loss_normalizing_factor = 1234.0
train.log_period = 1
make_config.vocab_size = 896  # the bundled vocabulary (811 ids) padded to a multiple of 128
"""
# What the recipe must make the cell's model and trainer do (read from the text above).
EXPECTED = ("DROPOUT_RATE = 0.3", "make_config.dropout_rate = %DROPOUT_RATE", "make_config.remat_policy = 'full'",
            "train.num_microbatches = 2", "train.loss_normalizing_factor = 1234.0")


@pytest.fixture(scope="module")
def demo_data():
    return ensure_prepared()


def _losses(model_dir: str) -> list[tuple[int, float]]:
    with open(os.path.join(model_dir, "train_metrics.jsonl")) as f:
        return [(r["step"], r["loss"]) for r in map(json.loads, f) if "loss" in r]


def _train_lines(out: str) -> list[str]:
    return [l.split(": ", 1)[1] for l in out.splitlines()
            if l.startswith("[heldout] minus_") and ": python -m flanjax.train " in l]


@pytest.mark.parametrize("recipe", ["tiny", "experiment"])
def test_grid_cell_is_the_printed_train_command(demo_data, tmp_path, capsys, recipe):
    out = str(tmp_path / "grid")
    argv = ["--mixture", "demo", "--clusters", "nli", "--out", out, "--max_eval_examples", "1"]
    if recipe == "experiment":
        path = tmp_path / "my_experiment.gin"
        path.write_text(RECIPE)
        argv += [f"--gin_file={path}"]
    else:
        argv += ["--steps", "2", "--batch_size", "4", "--gin.TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 8}",
                 "--gin.train.log_period=1"]
    assert runner.call("flanjax.cli.heldout", argv) == 0
    (line,) = _train_lines(capsys.readouterr().out)
    cell_dir = os.path.join(out, "minus_nli")
    grid_config = open(os.path.join(cell_dir, "config.gin")).read()
    grid_losses = _losses(cell_dir)
    assert len(grid_losses) == (3 if recipe == "experiment" else 2)

    # The printed command, run as typed, into the same MODEL_DIR after the grid's is moved.
    os.rename(cell_dir, cell_dir + "_grid")
    words = shlex.split(line)
    assert words[:3] == ["python", "-m", "flanjax.train"]
    gin.clear_config()
    assert runner.call("flanjax.cli.train", words[3:]) == 0
    gin.clear_config()
    assert open(os.path.join(cell_dir, "config.gin")).read() == grid_config
    assert _losses(cell_dir) == grid_losses
    if recipe == "experiment":
        for binding in EXPECTED:
            assert binding in grid_config, binding
        assert "HELDOUT_CLUSTER = 'nli'" in grid_config  # from demo_minus_nli
    else:
        assert "train.num_microbatches" not in grid_config or "train.num_microbatches = 1" in grid_config


def test_dry_run_prints_each_cells_commands(demo_data, capsys):
    assert runner.call("flanjax.cli.heldout", ["--mixture", "demo", "--clusters", "nli,sentiment", "--dry_run",
                                               "--out", "/tmp/x", "--steps", "7"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("python -m flanjax.heldout --mixture demo --size tiny ") and "--write_init" in lines[0]
    train = [l for l in lines if l.startswith("python -m flanjax.train ")]
    plans = [l for l in lines if l.startswith("# compile check: python -m flanjax.plan --compile ")]
    assert len(train) == len(plans) == 2
    for t, p in zip(train, plans):
        assert shlex.split(t)[3:] == shlex.split(p)[8:]  # the same gin files and bindings
    assert shlex.split(train[0])[3:] == [
        "--gin_file=runs/heldout_tiny.gin", "--gin.MIXTURE_OR_TASK_NAME='demo_minus_nli'",
        "--gin.MODEL_DIR='/tmp/x/minus_nli'", "--gin.INITIAL_CHECKPOINT_PATH='/tmp/x/init'",
        "--gin.make_config.vocab_size=896", "--gin.TRAIN_STEPS=7"]
    # A real size starts from its experiment file, every binding of it left to gin.
    assert runner.call("flanjax.cli.heldout", ["--mixture", "flan2021", "--size", "xl", "--clusters", "nli",
                                               "--dry_run", "--out", "/tmp/x", "--init", "/ckpt/hf_xl"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "python -m flanjax.convert --from_hf /ckpt/hf_xl --out /tmp/x/init"
    assert shlex.split(lines[1])[3:] == [
        "--gin_file=experiments/flan_t5_xl_finetune.gin", "--gin.MIXTURE_OR_TASK_NAME='flan2021_minus_nli'",
        "--gin.MODEL_DIR='/tmp/x/minus_nli'", "--gin.INITIAL_CHECKPOINT_PATH='/tmp/x/init'"]
    assert "{'inputs': 2048, 'targets': 512}" in lines[3]  # eval with the recipe's lengths


def test_heldout_cluster_follows_from_the_mixture(demo_data, tmp_path, capsys):
    common = ["--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={tmp_path}/run", "--gin.TRAIN_STEPS=1",
              "--gin.MIXTURE_OR_TASK_NAME='demo_minus_nli'"]
    gin.clear_config()
    assert runner.call("flanjax.cli.train", common + ["--gin.HELDOUT_CLUSTER='sentiment'"]) == 2
    gin.clear_config()
    err = capsys.readouterr().err
    assert "HELDOUT_CLUSTER='sentiment' contradicts MIXTURE_OR_TASK_NAME='demo_minus_nli'" in err
    assert "holds out 'nli'" in err
    assert not os.path.exists(tmp_path / "run" / "config.gin")
