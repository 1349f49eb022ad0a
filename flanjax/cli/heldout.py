"""Leave-one-cluster-out (FLAN Sec. 2.3 / T0 Sec. 3): `python -m flanjax.heldout`.

For each cluster C: fine-tune on `{mixture}_minus_{C}`, evaluate zero-shot on C's
datasets; evaluate the initial checkpoint on the same tasks as the baseline; report the
gain per cluster in one table (results.md, results.json) and plots under --out.

  python -m flanjax.heldout --mixture demo --size tiny --clusters nli,sentiment --steps 300
  python -m flanjax.heldout --mixture flan2021 --size base --init /ckpt/t5_lm_adapt \\
      --clusters nli,closed_book_qa --dry_run      # prints every command

Every run is one `python -m flanjax.train` command: the recipe's gin file (--gin_file, or
the --size's experiment file: flanjax/configs/experiments/flan_t5_{size}_finetune.gin, T0's
for the t0 mixture, runs/heldout_tiny.gin for --size tiny), then the run's mixture,
MODEL_DIR and initial checkpoint, then --steps / --batch_size / --learning_rate where
given, then any --gin.KEY=VALUE given here. The grid runs exactly that command line in
this process (the run's MODEL_DIR holds its config.gin, as any run's does) and prints it
with the `python -m flanjax.plan --compile` command that compiles the same step for the
recipe's TPU slice; --dry_run prints every command and runs nothing.

Number of training clusters (FLAN, Wei et al. 2021, Sec. 4.1 and Fig. 6): with
--sweep_num_clusters 1,2,4 the held-out clusters (--clusters, with the clusters that
overlap them) are left out of a fixed cluster order (--cluster_order; default the
mixture's own order) and, for each k, the model is trained on `{mixture}_only_{c1}_..._{ck}`
(the first k remaining clusters, the base mixture's rates) and evaluated zero-shot on every
held-out cluster; k = 0 is the initial checkpoint. Writes the line plot
(heldout_vs_num_clusters.png), results.md with the table, results.json and sweep.json.

  python -m flanjax.heldout --mixture demo --clusters nli --sweep_num_clusters 1,2,4
  python -m flanjax.heldout --mixture flan2021 --size xl --init /ckpt/t5_xl_lm_adapt \\
      --clusters nli,closed_book_qa,commonsense --sweep_num_clusters 1,2,3,4,5,6,7 --dry_run

The sweep's commands train through `python -m flanjax.heldout train --mixture M
--train_clusters c1,c2 [python -m flanjax.train flags]`, which registers the subset
mixture in that process, then runs the trainer's command line unchanged."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from flanjax.cli import cells, gin_setup, runner
from flanjax.experiments import commands
from flanjax.experiments.grid import (GridConfig, GridError, check_clusters, gain_table, initial_model,
                                      run_grid, save_initial)
from flanjax.experiments.sweep import run_sweep, sweep_plan


def train_subset_main(argv: Sequence[str]) -> int:
    """`python -m flanjax.heldout train --mixture M --train_clusters a,b [train flags]`.

    Registers `M_only_a_b` (`mixtures.register_cluster_subset`) in this process, then runs
    `python -m flanjax.train`'s command line with the other flags (MIXTURE_OR_TASK_NAME
    set to it unless given; given, it must name it).
    """
    p = argparse.ArgumentParser(prog="python -m flanjax.heldout train", allow_abbrev=False,
                                description=train_subset_main.__doc__)
    p.add_argument("--mixture", required=True, help="the base mixture, e.g. flan2021")
    p.add_argument("--train_clusters", required=True, help="comma-separated clusters to keep")
    args, rest = p.parse_known_args(list(argv))
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    try:
        name = mixtures.register_cluster_subset(args.mixture, args.train_clusters.split(","))
    except ValueError as e:
        print(f"error: {runner.one_line(e)}", file=sys.stderr)
        return 2
    flag = "--gin.MIXTURE_OR_TASK_NAME="
    given = [a[len(flag):].strip().strip("\"'") for a in rest if a.startswith(flag)]
    if any(g != name for g in given):
        print(f"error: --gin.MIXTURE_OR_TASK_NAME={given[-1]!r} is not the subset mixture "
              f"{name!r} that --mixture/--train_clusters register", file=sys.stderr)
        return 2
    if not given:
        rest.append(f"{flag}'{name}'")
    from flanjax.cli import train  # pylint: disable=g-import-not-at-top

    return train.main(rest)


# -- command line -----------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m flanjax.heldout", description=__doc__,
                                formatter_class=_HelpFormatter)  # shows defaults
    p.add_argument("--mixture", default="demo", help="the base mixture")
    p.add_argument("--size", default="tiny", help="whose recipe: tiny, small, base, large, xl, xxl")
    p.add_argument("--gin_file", action="append", default=[],
                   help="the recipe's gin file(s) instead of the --size's (repeatable)")
    p.add_argument("--gin_search_paths", action="append", default=[], help="as flanjax.train's")
    p.add_argument("--clusters", required=True, help="comma-separated clusters to hold out")
    p.add_argument("--init", default=None, help="initial checkpoint (MODEL_DIR, converted or HF dir)")
    p.add_argument("--out", default="outputs/heldout", help="output directory of the runs and reports")
    p.add_argument("--steps", type=int, default=None, help="TRAIN_STEPS, the step to stop at: the size recipes continue T5X's count from INITIAL_STEP 1100000, so N more steps is 1100000 + N (default: the recipe's)")
    p.add_argument("--batch_size", type=int, default=None, help="BATCH_SIZE (default: the recipe's)")
    p.add_argument("--learning_rate", type=float, default=None,
                   help="make_schedule.learning_rate (default: the recipe's)")
    p.add_argument("--seed", type=int, default=None, help="SEED, and the tiny grid's random init (default 0)")
    p.add_argument("--max_eval_examples", type=int, default=100, help="per template; 0: all")
    p.add_argument("--extra_eval", default="", help="clusters also evaluated after each run")
    p.add_argument("--sweep_num_clusters", default="",
                   help="e.g. 1,2,4: train on the first k non-held-out clusters for each k "
                        "(FLAN's number-of-clusters ablation) instead of the leave-one-out grid")
    p.add_argument("--cluster_order", default="",
                   help="with --sweep_num_clusters: the order clusters are added in "
                        "(default: the mixture's cluster order)")
    p.add_argument("--dry_run", action="store_true", help="print every command; run nothing")
    p.add_argument("--write_init", action="store_true",
                   help="write OUT/init (the initial checkpoint every run starts from) and stop")
    runner.add_process_flags(p)
    return p.parse_args(argv)


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise GridError(f"{flag}: expected comma-separated integers, got {text!r}") from None


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every flag's default in --help (flags whose
    default depends on others, None here, say it in their own help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return train_subset_main(argv[1:])
    bindings = [a for a in argv if a.startswith("--gin.")]  # passed on to every run
    gin_setup.split_gin_flags(bindings)  # a malformed one is an error now
    args = parse_args([a for a in argv if not a.startswith("--gin.")])
    grid = GridConfig(
        mixture=args.mixture, clusters=tuple(c.strip() for c in args.clusters.split(",") if c.strip()),
        out_dir=args.out, size=args.size, init=args.init,
        gin_files=tuple(args.gin_file),
        bindings=tuple(f"--gin_search_paths={p}" for p in args.gin_search_paths) + tuple(bindings),
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        max_eval_examples=args.max_eval_examples or None,
        extra_eval=tuple(c for c in args.extra_eval.split(",") if c),
        sweep_num_clusters=_int_list(args.sweep_num_clusters, "--sweep_num_clusters"),
        cluster_order=tuple(c.strip() for c in args.cluster_order.split(",") if c.strip()),
    )
    if grid.sweep_num_clusters:
        if grid.extra_eval:
            raise GridError("--extra_eval is for the leave-one-cluster-out grid; the sweep "
                            "evaluates the held-out --clusters only.")
        sweep_plan(grid)
    else:
        if grid.cluster_order:
            raise GridError("--cluster_order needs --sweep_num_clusters.")
        check_clusters(grid.mixture, grid.clusters + grid.extra_eval)
    if args.write_init:
        config, params = initial_model(grid)
        print(f"[heldout] initial checkpoint in {save_initial(grid, config, params)}")
        return 0
    if args.dry_run:
        print("\n".join(commands.launch_commands(grid, cells.GIN_CELLS.lengths)))
        return 0
    if grid.sweep_num_clusters:
        from flanjax.evaluation import report  # pylint: disable=g-import-not-at-top

        summary = run_sweep(grid, cells.GIN_CELLS)
        print(report.sweep_table(summary["points"]))
    else:
        summary = run_grid(grid, cells.GIN_CELLS)
        print(gain_table(summary))
    print(f"[heldout] report in {args.out}/results.md, plots in {args.out}/; each run's "
          f"command in its MODEL_DIR's config.gin and in {args.out}/results.json")
    return 0
