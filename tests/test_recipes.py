"""Recipe numbers checked against their sources (FIDELITY.md, "Recipes")."""

from __future__ import annotations

import os
import re

import pytest

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "flanjax", "configs", "experiments")


def _macro(name: str, file: str) -> str:
    text = open(os.path.join(CONFIGS, file)).read()
    return re.search(rf"^{name} = (.+)$", text, re.M).group(1).strip()


# t5x docs/models.md: Flan-T5 checkpoint step - 1,100,000 (the LM-100K start).
@pytest.mark.parametrize("size, steps", [
    ("small", 1_198_000), ("base", 1_184_000), ("large", 1_164_000), ("xl", 1_138_000),
    ("xxl", 1_114_000),
])
def test_flan_t5_steps_match_released_checkpoints(size, steps):
    # T5X's count: the fine-tuning continues the LM-100K checkpoint's step and stops at the
    # released checkpoint's (t5x configs/runs/finetune.gin: TRAIN_STEPS includes pre-training).
    assert int(_macro("INITIAL_STEP", f"flan_t5_{size}_finetune.gin")) == 1_100_000
    assert int(_macro("TRAIN_STEPS", f"flan_t5_{size}_finetune.gin")) == steps


def test_t0_recipe_matches_t_zero_training_readme():
    # t-zero training/README.md: train_steps 1112200 from 1,100,000; tokens_per_batch
    # 1048576 at 1,024 input tokens; sequence_length 1024 / 256; constant 0.001.
    for file in ("t0_xxl.gin", "t0_3b.gin"):
        assert int(_macro("INITIAL_STEP", file)) == 1_100_000
        assert int(_macro("TRAIN_STEPS", file)) == 1_112_200
        assert int(_macro("BATCH_SIZE", file)) == 1_048_576 // 1024
        assert _macro("TASK_FEATURE_LENGTHS", file) == "{'inputs': 1024, 'targets': 256}"
        assert float(_macro("make_schedule.learning_rate", file)) == 1e-3
    assert "mixtures/t0.gin" in open(os.path.join(CONFIGS, "t0_3b.gin")).read()  # not T0++
