"""The grid's and the sweep's runs as command lines: one `flanjax.train` command a cell.

A cell (one training run of the grid or the sweep) is the argument list of
`python -m flanjax.train`: the recipe's gin files (`recipes.recipe_file`, or the grid's
own --gin_file), then the cell's bindings. `python -m flanjax.heldout` runs exactly that
argument list in its own process (`flanjax.cli.cells`) and prints it, with the
`flanjax.plan --compile` command that compiles the same step for the recipe's TPU slice;
`--dry_run` prints every command without running any.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Optional

from flanjax.experiments import recipes
from flanjax.experiments.grid import GridConfig, GridError, collection_of, init_dir, mixture_vocabulary

# Model fields a run may set for itself (activations, layout, dropout); every other field of
# an initial checkpoint's config is its architecture, which the run must match.
_RUN_FIELDS = ("dropout_rate", "dtype", "param_dtype", "scan_layers", "remat_policy")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One training run: its name (`minus_nli`, `k2`), mixture and `flanjax.train` argv."""

    name: str
    mixture: str
    model_dir: str
    argv: tuple[str, ...]
    prefix: tuple[str, ...] = ("python", "-m", "flanjax.train")  # the sweep: `flanjax.heldout train ...`

    @property
    def train_command(self) -> str:
        return shell_line([*self.prefix, *self.argv])

    @property
    def plan_command(self) -> str:
        """`flanjax.plan --compile` of the same gin files and bindings (the recipe's slice)."""
        return shell_line(["python", "-m", "flanjax.plan", "--compile", "--json", *self.argv])


def shell_line(argv: list[str]) -> str:
    """argv as one shell line (`shlex.split` gives it back), quoted only where needed."""
    def quote(arg: str) -> str:
        if re.fullmatch(r"[\w@%+=:,./-]+", arg):
            return arg
        return '"' + re.sub(r'(["$`\\])', r"\\\1", arg) + '"'

    return " ".join(quote(a) for a in argv)


def _gin_str(value: str) -> str:
    return repr(str(value))


def recipe_files(grid: GridConfig) -> tuple[str, ...]:
    """The gin files every cell starts from: --gin_file, else the --size's recipe."""
    if grid.gin_files:
        return tuple(grid.gin_files)
    try:
        return (recipes.recipe_file(grid.mixture, grid.size),)
    except ValueError as e:
        raise GridError(str(e)) from None


def setup_commands(grid: GridConfig) -> list[str]:
    """What makes OUT/init before the cells run: a convert, or the random initialisation."""
    init = init_dir(grid)
    if init == grid.init:
        return []
    if grid.init:
        return [f"python -m flanjax.convert --from_hf {grid.init} --out {init}"]
    return [shell_line(["python", "-m", "flanjax.heldout", "--mixture", grid.mixture, "--size", grid.size,
                        "--clusters", ",".join(grid.clusters), "--out", grid.out_dir, "--write_init"])
            + f"  # {init}: the seeded random initialisation (and the baseline)"]


def _architecture(grid: GridConfig) -> dict[str, Any]:
    """make_config bindings that give the tiny recipe the initial checkpoint's shape.

    The tiny recipe names no model of its own: its cells take the architecture of --init
    (its fields that differ from `T5Config.t5_1_1("tiny")`), or the tiny model with the
    mixture's padded vocabulary. A real size's recipe names its model; an --init that does
    not match it is refused by the trainer, naming the fields.
    """
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top
    from flanjax.data.vocab import padded_vocab_size  # pylint: disable=g-import-not-at-top
    from flanjax.model import T5Config  # pylint: disable=g-import-not-at-top

    if grid.gin_files or grid.size != "tiny":
        return {}
    tiny = T5Config.t5_1_1("tiny")
    if not grid.init:
        return {"vocab_size": padded_vocab_size(mixture_vocabulary(grid.mixture))}
    converted = init_dir(grid)
    if os.path.exists(os.path.join(converted, checkpoints.CONFIG_FILE)):
        with open(os.path.join(converted, checkpoints.CONFIG_FILE)) as f:
            saved = json.load(f)
        config = T5Config(**{k: v for k, v in saved.items() if k in T5Config.__dataclass_fields__})
    else:  # not converted yet (a dry run): the Hugging Face config
        config, _ = checkpoints.load_model(grid.init)
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(T5Config)
            if f.name not in _RUN_FIELDS and getattr(config, f.name) != getattr(tiny, f.name)}


def cell(grid: GridConfig, name: str, mixture: str, *, heldout: Optional[str] = None,
         eval_on: Optional[str] = None, prefix: tuple[str, ...] = ()) -> Cell:
    """The cell `name` training `mixture` (HELDOUT_CLUSTER follows from a `_minus_` name;
    `heldout` sets it where it does not). `eval_on`: its held-out curve's clusters."""
    model_dir = os.path.join(grid.out_dir, name)
    argv = [f"--gin_file={f}" for f in recipe_files(grid)]
    argv += [f"--gin.MIXTURE_OR_TASK_NAME={_gin_str(mixture)}", f"--gin.MODEL_DIR={_gin_str(model_dir)}"]
    if heldout:
        argv.append(f"--gin.HELDOUT_CLUSTER={_gin_str(heldout)}")
    argv.append(f"--gin.INITIAL_CHECKPOINT_PATH={_gin_str(init_dir(grid))}")
    argv += [f"--gin.make_config.{k}={v!r}" for k, v in _architecture(grid).items()]
    overrides = {"TRAIN_STEPS": grid.steps, "BATCH_SIZE": grid.batch_size,
                 "make_schedule.learning_rate": grid.learning_rate, "SEED": grid.seed,
                 "train.log_period": grid.log_every,
                 "TASK_FEATURE_LENGTHS": dict(grid.lengths) if grid.lengths else None}
    argv += [f"--gin.{k}={v!r}" for k, v in overrides.items() if v is not None]
    if eval_on and grid.curve_period:
        argv += [f"--gin.EVAL_ON={_gin_str(eval_on)}",
                 f"--gin.EVAL_COLLECTION={_gin_str(collection_of(grid.mixture))}",
                 f"--gin.EVAL_PERIOD={grid.curve_period}",
                 f"--gin.EVAL_EXAMPLES_PER_CLUSTER={grid.curve_examples_per_cluster}",
                 f"--gin.periodic_evaluator.batch_size={grid.eval_batch_size}"]
    argv += list(grid.bindings)
    return Cell(name, mixture, model_dir, tuple(argv), prefix or Cell.prefix)


def grid_cells(grid: GridConfig) -> list[Cell]:
    """One cell per held-out cluster C: `{mixture}_minus_{C}`, its curve on C and --extra_eval."""
    return [cell(grid, f"minus_{c}", f"{grid.mixture}_minus_{c}",
                 eval_on=",".join([c] + [x for x in grid.extra_eval if x != c]))
            for c in grid.clusters]


def sweep_cells(grid: GridConfig) -> list[tuple[int, tuple[str, ...], Cell]]:
    """(k, training clusters, cell) of each point of the number-of-clusters sweep.

    The subset mixture exists only in a process that registers it, so the printed command
    is `python -m flanjax.heldout train --mixture M --train_clusters ...` (which registers
    it, then runs `flanjax.train`'s command line with the same arguments).
    """
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top
    from flanjax.experiments.sweep import sweep_plan  # pylint: disable=g-import-not-at-top

    plan = sweep_plan(grid)
    out = []
    for k in plan.num_clusters:
        clusters = plan.training_clusters(k)
        mixture = mixtures.register_cluster_subset(grid.mixture, clusters)
        prefix = ("python", "-m", "flanjax.heldout", "train", "--mixture", grid.mixture,
                  "--train_clusters", ",".join(clusters))
        out.append((k, clusters, cell(grid, f"k{k}", mixture, heldout=",".join(plan.heldout), prefix=prefix)))
    return out


def eval_command(checkpoint: str, eval_on: str, out: str, grid: GridConfig, lengths: dict) -> str:
    """The `flanjax.eval` command with the grid's eval settings (examples, batch, lengths)."""
    return shell_line([
        "python", "-m", "flanjax.eval", "--gin_file=runs/eval.gin",
        f"--gin.CHECKPOINT_PATH={_gin_str(checkpoint)}", f"--gin.EVAL_ON={_gin_str(eval_on)}",
        f"--gin.EVAL_COLLECTION={_gin_str(collection_of(grid.mixture))}", f"--gin.OUTPUT_DIR={_gin_str(out)}",
        f"--gin.MAX_EVAL_EXAMPLES={grid.max_eval_examples}", f"--gin.BATCH_SIZE={grid.eval_batch_size}",
        f"--gin.TASK_FEATURE_LENGTHS={dict(lengths)!r}",
    ])


def launch_commands(grid: GridConfig, lengths_of) -> list[str]:
    """Every command of the grid (or the sweep, with --sweep_num_clusters), in order: the
    initial checkpoint, then per cell its train command, its compile check (a comment) and
    its eval command, then the baseline's eval. `lengths_of(argv)`: the cell's
    TASK_FEATURE_LENGTHS as its argv sets it (the eval commands use the same)."""
    cmds = setup_commands(grid)
    if grid.sweep_num_clusters:
        from flanjax.experiments.sweep import sweep_plan  # pylint: disable=g-import-not-at-top

        eval_on = ",".join(sweep_plan(grid).heldout)
        runs = [(c, eval_on) for _, _, c in sweep_cells(grid)]
        baseline = ("k0", eval_on)
    else:
        runs = [(c, ",".join([c.name[len("minus_"):]] + [x for x in grid.extra_eval if x != c.name[len("minus_"):]]))
                for c in grid_cells(grid)]
        baseline = ("baseline", ",".join(dict.fromkeys(list(grid.clusters) + list(grid.extra_eval))))
    lengths = {}
    for c, eval_on in runs:
        lengths = lengths_of(c.argv)
        cmds += [c.train_command, f"# compile check: {c.plan_command}",
                 eval_command(c.model_dir, eval_on, os.path.join(grid.out_dir, "eval", c.name), grid, lengths)]
    if runs:
        cmds.append(eval_command(init_dir(grid), baseline[1], os.path.join(grid.out_dir, "eval", baseline[0]), grid, lengths))
    return cmds
