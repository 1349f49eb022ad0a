"""Fine-tuning continues the initial checkpoint's step, as T5X's does.

T5X (`t5x/train.py`) starts the loop at the restored `train_state.step`, and its
`TRAIN_STEPS` is the step to stop at, pre-training included (`t5x/configs/runs/finetune.gin`:
"if pre-trained ckpt has 1M steps, TRAIN_STEPS = 1.1M will perform 0.1M fine-tuning
steps"). Adafactor's decay and the learning-rate schedule read that step.
"""

import functools
import json
import os

import jax
import numpy as np
import pytest

from flanjax.checkpoints import save_flanjax_checkpoint
from flanjax.model import init_params
from flanjax.train import loop, optimizers
from _train_helpers import tiny_config

START = 1000
WARMUP = 4000  # a linear warm-up: the learning rate at step s is 1e-2 * s / 4000


def _train(model_dir, init, train_steps, **kwargs):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    return loop.train(
        model_config=tiny_config(vocab_size=896), mixture_or_task_name="demo",
        task_feature_lengths={"inputs": 32, "targets": 8}, batch_size=8, train_steps=train_steps,
        model_dir=model_dir, log_period=1, checkpoint_period=2, async_checkpointing=False,
        initial_checkpoint_path=init,
        make_schedule=functools.partial(optimizers.make_schedule, "linear_warmup_rsqrt", 1e-2, WARMUP),
        **kwargs,
    )


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("converted"))
    save_flanjax_checkpoint(tiny_config(vocab_size=896), init_params(tiny_config(vocab_size=896), jax.random.key(3)),
                            out, step=START)
    return out


def _records(model_dir):
    return [json.loads(l) for l in open(os.path.join(model_dir, "train_metrics.jsonl"))]


def test_finetuning_continues_the_step_and_resumes_exactly(converted, tmp_path, capsys):
    whole = str(tmp_path / "whole")
    result = _train(whole, converted, START + 4)
    assert result.step == START + 4
    assert int(result.state.step) == int(result.state.opt_state.count) == START + 4
    assert sorted(os.listdir(os.path.join(whole, "checkpoints"))) == [str(START + 2), str(START + 4)]
    records = _records(whole)
    assert [r["step"] for r in records] == [START + 1, START + 2, START + 3, START + 4]
    # The schedule reads the continued step: step s (1-based) is taken at step count s - 1.
    np.testing.assert_allclose([r["learning_rate"] for r in records],
                               [1e-2 * (START + i) / WARMUP for i in range(4)], rtol=1e-6)
    out = capsys.readouterr().out
    assert f"starting at step {START}" in out and "optimizer state not restored" in out

    # Interrupted after one step and resumed: the same parameters and losses (the input
    # stream restarts at batch step - START, not at batch step).
    cut = str(tmp_path / "cut")
    assert _train(cut, converted, START + 4, stop_after_steps=1).step == START + 1
    resumed = _train(cut, converted, START + 4)
    assert resumed.step == START + 4
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
                 resumed.state.params, result.state.params)
    losses = {r["step"]: r["loss"] for r in _records(cut)}
    assert losses == {r["step"]: r["loss"] for r in records}

    # A flanjax run as the initial checkpoint: its step and its optimizer state continue.
    follow = str(tmp_path / "follow")
    capsys.readouterr()
    after = _train(follow, whole, START + 5)
    assert "optimizer state restored" in capsys.readouterr().out
    assert int(after.state.opt_state.count) == START + 5
    # Restored second moments: v' = decay v + (1 - decay) g^2 >= decay v elementwise, with
    # decay = 1 - 1005^-0.8 (step 1004); from a fresh state v' = (1 - decay) g^2 alone,
    # about a quarter of the run's four-step sums.
    decay = np.float32(1) - np.float32(START + 5) ** np.float32(-0.8)
    before = np.asarray(result.state.opt_state.v["encoder"]["layers_0"]["mlp"]["wo"]["kernel"])  # [128, 64]: full v
    now = np.asarray(after.state.opt_state.v["encoder"]["layers_0"]["mlp"]["wo"]["kernel"])
    assert np.all(now >= decay * before * (1 - 1e-5))


def test_train_steps_below_the_initial_step_is_one_clear_error(converted, tmp_path):
    with pytest.raises(ValueError, match=f"TRAIN_STEPS=500 is not above the initial step {START}.*"
                                         f"TRAIN_STEPS={START} \\+ N"):
        _train(str(tmp_path / "run"), converted, 500)
    assert not os.path.exists(os.path.join(tmp_path, "run", "checkpoints"))


def test_initial_step_setting_overrides_the_checkpoints(converted, tmp_path):
    result = _train(str(tmp_path / "run"), converted, 3, initial_step=1)
    records = _records(str(tmp_path / "run"))
    assert [r["step"] for r in records] == [2, 3]
    assert int(result.state.opt_state.count) == 3
    # Whatever the step count, a fine-tuning run reads its input stream from the first
    # batch: the first loss (same parameters, same batch) is the one a run at START sees.
    at_start = _train(str(tmp_path / "at_start"), converted, START + 1)
    assert _records(str(tmp_path / "at_start"))[0]["loss"] == records[0]["loss"]
    assert at_start.step == START + 1
