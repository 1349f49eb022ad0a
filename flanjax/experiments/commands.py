"""The TPU launch commands of the grid and the sweep (`--dry_run`): gin command lines."""

from __future__ import annotations

import os
from typing import Optional

from flanjax.experiments.grid import GridConfig, collection_of, mixture_vocabulary, model_config
from flanjax.experiments.sweep import sweep_plan


def launch_commands(grid: GridConfig) -> list[str]:
    """The train and eval commands of the grid, for launching on TPU (one per line)."""
    collection = collection_of(grid.mixture)
    cmds: list[str] = []
    init = _converted_init(grid, cmds)
    for c in grid.clusters:
        model_dir = os.path.join(grid.out_dir, f"minus_{c}")
        cmds.append(" ".join(["python -m flanjax.train"] + _train_flags(
            grid, f"{grid.mixture}_minus_{c}", c, model_dir, init)))
        cmds.append(_eval_command(model_dir, c, collection, os.path.join(grid.out_dir, "eval", f"minus_{c}"), grid))
    if init:  # from scratch, the baseline is a random model: run the grid here to see it
        cmds.append(_eval_command(init, ",".join(grid.clusters), collection,
                                  os.path.join(grid.out_dir, "eval", "baseline"), grid))
    return cmds


def _converted_init(grid: GridConfig, cmds: list[str]) -> Optional[str]:
    """The checkpoint runs start from (None: scratch); a convert command for an HF dir."""
    if not grid.init:
        return None
    from flanjax import checkpoints as convert_ckpt  # pylint: disable=g-import-not-at-top

    if os.path.exists(os.path.join(grid.init, convert_ckpt.CONFIG_FILE)):
        return grid.init
    init = os.path.join(grid.out_dir, "init")  # a Hugging Face dir: convert it first
    cmds.append(f"python -m flanjax.convert --from_hf {grid.init} --out {init}")
    return init


def _train_flags(grid: GridConfig, mixture: str, heldout: str, model_dir: str,
                 init: Optional[str]) -> list[str]:
    """`python -m flanjax.train` flags of one run of a grid or sweep."""
    q = lambda v: f"\"'{v}'\""  # noqa: E731  a gin string literal inside shell double quotes
    lengths = ", ".join(f"'{k}': {v}" for k, v in grid.lengths)
    if init and grid.recipe_gin:  # the size's recipe: model, partitioning, remat, dropout
        base = [f"--gin_file={grid.recipe_gin}"]
    else:  # finetune.gin requires INITIAL_CHECKPOINT_PATH; from scratch is pretrain.gin.
        base = [f"--gin_file=runs/{'finetune' if init else 'pretrain'}.gin",
                f"--gin_file=models/t5_1_1/{grid.size}.gin"]
    train = base + [
        f"--gin.MIXTURE_OR_TASK_NAME={q(mixture)}",
        f"--gin.HELDOUT_CLUSTER={q(heldout)}",
        f"--gin.MODEL_DIR={q(model_dir)}",
        f"--gin.TRAIN_STEPS={grid.steps}",
        f"--gin.BATCH_SIZE={grid.batch_size}",
        f"\"--gin.TASK_FEATURE_LENGTHS={{{lengths}}}\"",
        "--gin.make_schedule.kind=\"'constant'\"",
        f"--gin.make_schedule.learning_rate={grid.learning_rate}",
    ]
    if init:
        train.append(f"--gin.INITIAL_CHECKPOINT_PATH={q(init)}")
    elif grid.size == "tiny":  # the tiny model's embedding must fit the task vocabulary
        vocab_size = model_config("tiny", mixture_vocabulary(grid.mixture)).vocab_size
        train.append(f"--gin.make_config.vocab_size={vocab_size}")
    return train


def _eval_command(checkpoint: str, eval_on: str, collection: str, out: str, grid: GridConfig) -> str:
    """The eval command with the grid's eval settings (examples per template, batch, lengths)."""
    q = lambda v: f"\"'{v}'\""  # noqa: E731
    lengths = ", ".join(f"'{k}': {v}" for k, v in grid.lengths)
    return " ".join([
        "python -m flanjax.eval", "--gin_file=runs/eval.gin",
        f"--gin.CHECKPOINT_PATH={q(checkpoint)}", f"--gin.EVAL_ON={q(eval_on)}",
        f"--gin.EVAL_COLLECTION={q(collection)}", f"--gin.OUTPUT_DIR={q(out)}",
        f"--gin.MAX_EVAL_EXAMPLES={grid.max_eval_examples}",
        f"--gin.BATCH_SIZE={grid.eval_batch_size}",
        f"\"--gin.TASK_FEATURE_LENGTHS={{{lengths}}}\"",
    ])


# -- the grid ---------------------------------------------------------------------------


def sweep_launch_commands(grid: GridConfig) -> list[str]:
    """The sweep's train and eval commands, for launching on TPU (one per line).

    Training goes through `python -m flanjax.heldout train`, which registers the subset
    mixture (it exists only in the process that registers it) and runs the trainer's
    command line; evaluation is `python -m flanjax.eval` on the held-out clusters.
    """
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    plan = sweep_plan(grid)
    collection = collection_of(grid.mixture)
    cmds: list[str] = []
    init = _converted_init(grid, cmds)
    eval_on = ",".join(plan.heldout)
    for k in plan.num_clusters:
        clusters = plan.training_clusters(k)
        mixture = mixtures.register_cluster_subset(grid.mixture, clusters)
        model_dir = os.path.join(grid.out_dir, f"k{k}")
        cmds.append(" ".join(
            ["python -m flanjax.heldout train", f"--mixture {grid.mixture}",
             f"--train_clusters {','.join(clusters)}"]
            + _train_flags(grid, mixture, eval_on, model_dir, init)
        ))
        cmds.append(_eval_command(model_dir, eval_on, collection, os.path.join(grid.out_dir, "eval", f"k{k}"), grid))
    if init:  # k = 0; from scratch it is a random model: run the sweep here to see it
        cmds.append(_eval_command(init, eval_on, collection, os.path.join(grid.out_dir, "eval", "k0"), grid))
    return cmds
