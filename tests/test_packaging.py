"""A plain (non-editable) install carries what the commands need: the gin configs included.

Builds flanjax's wheel, installs it into a directory of its own (the test environment
provides the dependencies), and runs a short training from another directory with
`--gin_file=runs/demo.gin`: the file must come from the installed package, not the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys

from _train_helpers import HANG_GUARD_S, REPO, subprocess_env


def test_wheel_install_runs_train_from_another_directory(tmp_path):
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), REPO],
        capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    installed = target / "flanjax" / "configs" / "runs" / "demo.gin"
    assert installed.exists(), "the wheel does not ship flanjax/configs"

    env = subprocess_env(devices=1)
    env["PYTHONPATH"] = str(target)  # the installed copy only, not the checkout
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "flanjax.train", "--gin_file=runs/demo.gin",
         "--gin.TRAIN_STEPS=2", f"--gin.MODEL_DIR={tmp_path / 'run'}", "--gin.CHECKPOINT_PERIOD=2",
         "--gin.EVAL_PERIOD=0", "--gin.BATCH_SIZE=4",
         "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "done at step 2" in run.stdout
    # The run used the installed package.
    assert os.path.exists(tmp_path / "run" / "train_metrics.jsonl")
    check = subprocess.run([sys.executable, "-c", "import flanjax, sys; print(flanjax.__file__)"],
                           cwd=workdir, env=env, capture_output=True, text=True)
    assert check.stdout.strip().startswith(str(target))
