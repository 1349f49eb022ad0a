"""The recipe of a held-out grid: which gin file its runs start from.

A grid or sweep cell is one `python -m flanjax.train` run: the recipe's gin file(s), then
the cell's own bindings (mixture, MODEL_DIR, initial checkpoint, any override). The recipe
of a real size is the experiment gin file written for it (`flanjax/configs/experiments/`,
each citing where its numbers come from): every binding it makes applies to every cell,
as it does to `python -m flanjax.train --gin_file=experiments/...`. `--size tiny` trains
with `runs/heldout_tiny.gin` (the tiny T5 v1.1 on the bundled data, on a CPU).

Which file: the T0 mixture at xl / xxl uses T0's recipes (`t0_3b.gin`, `t0_xxl.gin`);
every other mixture uses Flan-T5's recipe of that size (`flan_t5_{size}_finetune.gin`),
the instruction-tuning recipe this codebase has for T5 v1.1 models. FLAN 2021 itself
fine-tuned LaMDA-PT 137B, not a T5, so it has no T5 recipe of its own here.
"""

from __future__ import annotations

import glob
import os

CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
EXPERIMENTS_DIR = os.path.join(CONFIGS_DIR, "experiments")
TINY = "runs/heldout_tiny.gin"
_T0_FILES = {"xl": "t0_3b.gin", "xxl": "t0_xxl.gin"}


def recipe_file(mixture: str, size: str) -> str:
    """The gin file (relative to the packaged configs) the grid's `size` trains `mixture` with."""
    if size == "tiny":
        return TINY
    base = mixture.split("_minus_")[0].split("_only_")[0]
    name = (_T0_FILES.get(size) if base == "t0" else None) or f"flan_t5_{size}_finetune.gin"
    if not os.path.exists(os.path.join(EXPERIMENTS_DIR, name)):
        sizes = sorted(os.path.basename(p)[len("flan_t5_"):-len("_finetune.gin")]
                       for p in glob.glob(os.path.join(EXPERIMENTS_DIR, "flan_t5_*_finetune.gin")))
        raise ValueError(f"--size {size!r} has no recipe (experiments/{name}); sizes with one: "
                         f"tiny, {', '.join(sizes)}; or give the recipe with --gin_file")
    return f"experiments/{name}"
