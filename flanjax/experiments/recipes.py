"""The training recipe of a real model size: what the grid and sweep train with by default.

A held-out run of a real size (`--size xl`) trains with the numbers of the experiment gin
file written for that size (`flanjax/configs/experiments/*.gin`, each citing where its
numbers come from and which are unverified): steps, batch, constant learning rate and
feature lengths. `--size tiny` (no experiment file) keeps the demo-sized numbers below.
Command-line flags override any of them.

Which file: the T0 mixture at xl / xxl uses T0's recipes (`t0_3b.gin`, `t0_xxl.gin`);
every other mixture uses Flan-T5's recipe of that size (`flan_t5_{size}_finetune.gin`),
the instruction-tuning recipe this codebase has for T5 v1.1 models. FLAN 2021 itself
fine-tuned LaMDA-PT 137B, not a T5, so it has no T5 recipe of its own here.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from typing import Optional

EXPERIMENTS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "configs", "experiments")
_T0_FILES = {"xl": "t0_3b.gin", "xxl": "t0_xxl.gin"}
_BINDING = re.compile(r"^(TRAIN_STEPS|BATCH_SIZE|TASK_FEATURE_LENGTHS|make_schedule\.learning_rate)\s*=\s*(.+?)\s*(#.*)?$")


@dataclasses.dataclass(frozen=True)
class Recipe:
    gin_file: Optional[str]  # relative to the gin search path ("experiments/..."); None: demo
    steps: int
    batch_size: int
    learning_rate: float
    lengths: tuple[tuple[str, int], ...]


# Demo-sized (the bundled data on a CPU in minutes), for --size tiny.
DEMO = Recipe(gin_file=None, steps=300, batch_size=32, learning_rate=1e-3,
              lengths=(("inputs", 256), ("targets", 32)))


def recipe_file(mixture: str, size: str) -> Optional[str]:
    """The experiment gin file (name) of `size` for `mixture`, or None (no recipe: demo)."""
    base = mixture.split("_minus_")[0].split("_only_")[0]
    name = _T0_FILES.get(size) if base == "t0" else None
    name = name or f"flan_t5_{size}_finetune.gin"
    return name if os.path.exists(os.path.join(EXPERIMENTS_DIR, name)) else None


def read_recipe(name: str) -> Recipe:
    """Steps, batch, learning rate and lengths as `experiments/{name}` binds them."""
    found: dict[str, object] = {}
    with open(os.path.join(EXPERIMENTS_DIR, name)) as f:
        for line in f:
            m = _BINDING.match(line.strip())
            if m:
                found[m.group(1)] = ast.literal_eval(m.group(2))
    missing = {"TRAIN_STEPS", "BATCH_SIZE", "TASK_FEATURE_LENGTHS", "make_schedule.learning_rate"} - set(found)
    if missing:
        raise ValueError(f"experiments/{name} does not bind {sorted(missing)}")
    lengths = found["TASK_FEATURE_LENGTHS"]
    return Recipe(gin_file=f"experiments/{name}", steps=int(found["TRAIN_STEPS"]),
                  batch_size=int(found["BATCH_SIZE"]),
                  learning_rate=float(found["make_schedule.learning_rate"]),
                  lengths=tuple((k, int(lengths[k])) for k in ("inputs", "targets")))


def recipe_for(mixture: str, size: str) -> Recipe:
    """The recipe `--size` trains with on `mixture` (DEMO when the size has none)."""
    name = recipe_file(mixture, size)
    return DEMO if name is None else read_recipe(name)


def defaults_help(field: str) -> str:
    """e.g. "small 98000, base 84000, ...; t0: xl 12200, ...; tiny 300" for --help."""
    def value(r: Recipe):
        return getattr(r, field) if field != "lengths" else dict(r.lengths)

    sizes = ("small", "base", "large", "xl", "xxl")
    flan = ", ".join(f"{s} {value(recipe_for('flan2022', s))}" for s in sizes if recipe_file("flan2022", s))
    t0 = ", ".join(f"{s} {value(recipe_for('t0', s))}" for s in _T0_FILES if recipe_file("t0", s))
    return f"{flan}; t0 mixture: {t0}; tiny {value(DEMO)}"
