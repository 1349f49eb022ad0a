"""Leave-one-cluster-out (FLAN Sec. 2.3 / T0 Sec. 3): `python -m flanjax.heldout`.

For each cluster C: fine-tune on `{mixture}_minus_{C}`, evaluate zero-shot on C's
datasets; evaluate the initial checkpoint on the same tasks as the baseline; report the
gain per cluster in one table (results.md, results.json) and plots under --out.

  python -m flanjax.heldout --mixture demo --size tiny --clusters nli,sentiment --steps 300
  python -m flanjax.heldout --mixture flan2021 --size base --init /ckpt/t5_lm_adapt \\
      --clusters nli,closed_book_qa --dry_run      # prints the TPU launch commands

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

The sweep's TPU commands train through `python -m flanjax.heldout train --mixture M
--train_clusters c1,c2 [python -m flanjax.train flags]`, which registers the subset
mixture in that process, then runs the trainer's command line unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from typing import Any, Callable, Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@dataclasses.dataclass(frozen=True)
class GridConfig:
    mixture: str
    clusters: tuple[str, ...]
    out_dir: str
    size: str = "tiny"
    init: Optional[str] = None  # a checkpoint dir (MODEL_DIR, converted, or Hugging Face)
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-3
    lengths: tuple[tuple[str, int], ...] = (("inputs", 256), ("targets", 32))
    max_eval_examples: Optional[int] = 100
    eval_batch_size: int = 32
    extra_eval: tuple[str, ...] = ()  # also evaluate these (e.g. a seen cluster)
    seed: int = 0
    log_every: int = 50
    # The number-of-clusters sweep (`run_sweep`): the k values, and the order clusters are
    # added in (empty: the mixture's own cluster order).
    sweep_num_clusters: tuple[int, ...] = ()
    cluster_order: tuple[str, ...] = ()


class GridError(ValueError):
    pass


def collection_of(mixture: str) -> str:
    """The catalog collection of a base mixture ("demo", "flan2021", ...)."""
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top

    base = mixture.split("_minus_")[0]
    collections = {e.collection for e in catalog.all_entries()}
    if base not in collections:
        raise GridError(f"Mixture {mixture!r} is not one collection's mixture; known: {sorted(collections)}.")
    return base


def check_clusters(mixture: str, clusters: Sequence[str]) -> str:
    """Fails with the known clusters if any `{mixture}_minus_{C}` does not exist."""
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import catalog, mixtures  # noqa: F401  pylint: disable=g-import-not-at-top

    collection = collection_of(mixture)
    known = catalog.clusters(collection)
    for c in clusters:
        if c not in known or f"{mixture}_minus_{c}" not in seqio.MixtureRegistry.names():
            raise GridError(
                f"Unknown cluster {c!r} for mixture {mixture!r}: there is no "
                f"{mixture}_minus_{c}. Clusters of {collection!r}: {known}."
            )
    return collection


def model_config(size: str, vocabulary: Any):
    """The T5 v1.1 config of `size`; the tiny model's embedding fits the task vocabulary."""
    from flanjax.data.vocab import padded_vocab_size  # pylint: disable=g-import-not-at-top
    from flanjax.model import T5Config  # pylint: disable=g-import-not-at-top

    overrides: dict[str, Any] = {"dtype": "float32"}
    if size == "tiny":
        overrides["vocab_size"] = padded_vocab_size(vocabulary)
    return T5Config.t5_1_1(size, **overrides)


def mixture_vocabulary(mixture: str) -> Any:
    import seqio  # pylint: disable=g-import-not-at-top

    provider = seqio.get_mixture_or_task(mixture)
    tasks = provider.tasks if isinstance(provider, seqio.Mixture) else [provider]
    return tasks[0].output_features["targets"].vocabulary


def initial_model(grid: GridConfig) -> tuple[Any, Any]:
    """(config, params) to start every run from: --init, or a seeded random init."""
    import jax  # pylint: disable=g-import-not-at-top

    from flanjax.evaluation import checkpoints  # pylint: disable=g-import-not-at-top
    from flanjax.model import init_params  # pylint: disable=g-import-not-at-top

    if grid.init:
        return checkpoints.load_model(grid.init, dtype="float32")
    config = model_config(grid.size, mixture_vocabulary(grid.mixture))
    return config, jax.device_get(init_params(config, jax.random.key(grid.seed)))


def save_initial(grid: GridConfig, config: Any, params: Any) -> str:
    """The starting point of every run, as a checkpoint the trainer reads (out/init)."""
    from flanjax.convert import checkpoint as convert_ckpt  # pylint: disable=g-import-not-at-top

    if grid.init and os.path.exists(os.path.join(grid.init, convert_ckpt.CONFIG_FILE)) and \
            os.path.isdir(os.path.join(grid.init, convert_ckpt.PARAMS_DIR)):
        return grid.init
    return convert_ckpt.save_flanjax_checkpoint(config, params, os.path.join(grid.out_dir, "init"))


# -- dry run ----------------------------------------------------------------------------


def launch_commands(grid: GridConfig) -> list[str]:
    """The train and eval commands of the grid, for launching on TPU (one per line)."""
    collection = collection_of(grid.mixture)
    cmds: list[str] = []
    init = _converted_init(grid, cmds)
    for c in grid.clusters:
        model_dir = os.path.join(grid.out_dir, f"minus_{c}")
        cmds.append(" ".join(["python -m flanjax.train"] + _train_flags(
            grid, f"{grid.mixture}_minus_{c}", c, model_dir, init)))
        cmds.append(_eval_command(model_dir, c, collection, os.path.join(grid.out_dir, "eval", f"minus_{c}")))
    if init:  # from scratch, the baseline is a random model: run the grid here to see it
        cmds.append(_eval_command(init, ",".join(grid.clusters), collection,
                                  os.path.join(grid.out_dir, "eval", "baseline")))
    return cmds


def _converted_init(grid: GridConfig, cmds: list[str]) -> Optional[str]:
    """The checkpoint runs start from (None: scratch); a convert command for an HF dir."""
    if not grid.init:
        return None
    from flanjax.convert import checkpoint as convert_ckpt  # pylint: disable=g-import-not-at-top

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
    train = [
        # finetune.gin requires INITIAL_CHECKPOINT_PATH; from scratch is pretrain.gin.
        f"--gin_file=gin_configs/runs/{'finetune' if init else 'pretrain'}.gin",
        f"--gin_file=gin_configs/models/t5_1_1/{grid.size}.gin",
        f"--gin.MIXTURE_OR_TASK_NAME={q(mixture)}",
        f"--gin.HELDOUT_CLUSTER={q(heldout)}",
        f"--gin.MODEL_DIR={q(model_dir)}",
        f"--gin.TRAIN_STEPS={grid.steps}",
        f"--gin.BATCH_SIZE={grid.batch_size}",
        f"\"--gin.TASK_FEATURE_LENGTHS={{{lengths}}}\"",
    ]
    if init:
        train.append(f"--gin.INITIAL_CHECKPOINT_PATH={q(init)}")
    elif grid.size == "tiny":  # the tiny model's embedding must fit the task vocabulary
        vocab_size = model_config("tiny", mixture_vocabulary(grid.mixture)).vocab_size
        train.append(f"--gin.make_config.vocab_size={vocab_size}")
    return train


def _eval_command(checkpoint: str, eval_on: str, collection: str, out: str) -> str:
    q = lambda v: f"\"'{v}'\""  # noqa: E731
    return " ".join([
        "python -m flanjax.eval", "--gin_file=gin_configs/runs/eval.gin",
        f"--gin.CHECKPOINT_PATH={q(checkpoint)}", f"--gin.EVAL_ON={q(eval_on)}",
        f"--gin.EVAL_COLLECTION={q(collection)}", f"--gin.OUTPUT_DIR={q(out)}",
    ])


# -- the grid ---------------------------------------------------------------------------


def gain_table(summary: dict[str, Any]) -> str:
    from flanjax.evaluation import report  # pylint: disable=g-import-not-at-top

    rows = [
        [r["run"], r["cluster"], r["kind"], r["baseline"], r["finetuned"], f"{r['gain']:+.1f}"]
        for r in summary["rows"]
    ]
    return report.markdown_table(
        ["run", "eval cluster", "in training?", "baseline (init)", "fine-tuned", "gain"], rows
    )


def run_grid(grid: GridConfig, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Trains and evaluates the grid; writes the report; returns the summary."""
    from flanjax.evaluation import finetune, heldout, report  # pylint: disable=g-import-not-at-top

    collection = check_clusters(grid.mixture, grid.clusters)
    settings = heldout.EvalSettings(
        max_examples=grid.max_eval_examples, lengths=grid.lengths, batch_size=grid.eval_batch_size
    )
    eval_clusters = list(dict.fromkeys(list(grid.clusters) + list(grid.extra_eval)))
    tasks = {c: heldout.resolve_tasks(c, collection=collection) for c in eval_clusters}
    config, params0 = initial_model(grid)
    init_dir = save_initial(grid, config, params0)
    for c in eval_clusters:
        heldout.check_vocabulary(config, heldout.vocabulary_of(tasks[c][0]), tasks[c][0].name)
    os.makedirs(grid.out_dir, exist_ok=True)

    t = time.time()
    baseline = heldout.evaluate(config, params0, [x for c in eval_clusters for x in tasks[c]], settings)
    log(f"[heldout] baseline (initial checkpoint) evaluated in {time.time() - t:.0f}s: "
        + ", ".join(f"{c} {baseline['clusters'][c]['mean']:.1f}" for c in eval_clusters))
    runs = {"baseline": baseline}
    rows, points = [], []
    num_clusters = len(check_clusters_all(grid.mixture))
    for c in grid.clusters:
        model_dir = os.path.join(grid.out_dir, f"minus_{c}")
        t = time.time()
        request = finetune.FinetuneRequest(
            mixture=f"{grid.mixture}_minus_{c}", model_dir=model_dir, config=config,
            steps=grid.steps, batch_size=grid.batch_size, lengths=grid.lengths,
            learning_rate=grid.learning_rate, seed=grid.seed, log_every=grid.log_every,
            init_dir=init_dir, heldout_cluster=c,
        )
        trained = finetune.finetune(request)
        log(f"[heldout] trained {grid.mixture}_minus_{c} for {grid.steps} steps in "
            f"{time.time() - t:.0f}s (final loss {trained.last_metrics.get('loss', float('nan')):.3f})")
        evaluated = [c] + [x for x in grid.extra_eval if x != c]
        result = heldout.evaluate(config, trained.params, [x for e in evaluated for x in tasks[e]], settings)
        runs[f"minus_{c}"] = result
        report.write_report(os.path.join(grid.out_dir, "eval", f"minus_{c}"), {f"minus_{c}": result},
                            title=f"{grid.mixture}_minus_{c}")
        for e in evaluated:
            rows.append({
                "cluster": e, "run": f"minus_{c}",
                "kind": "held out" if e == c else "seen",
                "baseline": baseline["clusters"][e]["mean"],
                "finetuned": result["clusters"][e]["mean"],
                "gain": result["clusters"][e]["mean"] - baseline["clusters"][e]["mean"],
            })
        points += [
            {"heldout": c, "num_training_clusters": 0, "score": baseline["clusters"][c]["mean"]},
            {"heldout": c, "num_training_clusters": num_clusters - 1,
             "score": result["clusters"][c]["mean"]},
        ]
    summary = {"mixture": grid.mixture, "clusters": list(grid.clusters), "steps": grid.steps,
               "size": grid.size, "init": grid.init, "rows": rows, "points": points}
    report.write_report(grid.out_dir, runs, title=f"leave-one-cluster-out on {grid.mixture}",
                        extra={"summary": summary})
    report.plot_clusters_vs_num_training(points, os.path.join(grid.out_dir, "heldout_vs_clusters.png"))
    with open(os.path.join(grid.out_dir, "results.md"), "a") as f:
        f.write("\n## Gain per cluster (zero-shot)\n\n" + gain_table(summary) + "\n")
    with open(os.path.join(grid.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


def check_clusters_all(mixture: str) -> list[str]:
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top

    return catalog.clusters(collection_of(mixture))


# -- the number-of-clusters sweep -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Which clusters each point of the sweep trains on."""

    heldout: tuple[str, ...]  # evaluated zero-shot, never trained on
    excluded: tuple[str, ...]  # the held-out clusters and the clusters overlapping them
    order: tuple[str, ...]  # the order clusters are added in
    remaining: tuple[str, ...]  # `order` without the excluded clusters
    num_clusters: tuple[int, ...]  # the k values, ascending

    def training_clusters(self, k: int) -> tuple[str, ...]:
        return self.remaining[:k]

    def added_at(self, k: int) -> tuple[str, ...]:
        """The clusters point k adds to the previous point of the sweep."""
        previous = max([0] + [n for n in self.num_clusters if n < k])
        return self.remaining[previous:k]


def mixture_clusters(mixture: str) -> list[str]:
    """The clusters a mixture trains on, in its collection's (registration) order."""
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top
    from flanjax.evaluation import heldout  # pylint: disable=g-import-not-at-top

    has = {e.cluster for e in heldout.entries_of_mixture(mixture)}
    return [c for c in catalog.clusters(collection_of(mixture)) if c in has]


def sweep_plan(grid: GridConfig) -> SweepPlan:
    """Checks the sweep's clusters, order and k values; GridError says what is wrong.

    As FLAN's ablation (Wei et al. 2021, Sec. 4.1), every held-out cluster is left out of
    every run (with the clusters that overlap it, as `{mixture}_minus_{C}` does), so one
    training run per k serves all held-out clusters.
    """
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top
    from flanjax.data.catalog import flan2021 as flan2021_catalog  # pylint: disable=g-import-not-at-top

    collection = collection_of(grid.mixture)
    known = catalog.clusters(collection)
    if not grid.clusters:
        raise GridError("--clusters: give the held-out cluster(s) to evaluate the sweep on.")
    for c in grid.clusters:
        if c not in known:
            raise GridError(f"Unknown cluster {c!r} for mixture {grid.mixture!r}. "
                            f"Clusters of {collection!r}: {known}.")
    trained = mixture_clusters(grid.mixture)
    order = list(grid.cluster_order) or trained
    unknown = [c for c in order if c not in trained]
    if unknown:
        raise GridError(f"--cluster_order: mixture {grid.mixture!r} does not train on "
                        f"{', '.join(map(repr, unknown))}; its clusters: {trained}.")
    if len(set(order)) != len(order):
        raise GridError(f"--cluster_order names a cluster twice: {order}.")
    excluded: dict[str, None] = {}
    for c in grid.clusters:
        overlapping = [o for o in flan2021_catalog.OVERLAPPING_CLUSTERS.get(c, ()) if o in known]
        excluded.update(dict.fromkeys([c, *overlapping]))
    remaining = [c for c in order if c not in excluded]
    ks = sorted(set(int(k) for k in grid.sweep_num_clusters))
    if not ks:
        raise GridError("--sweep_num_clusters: give the numbers of training clusters, e.g. 1,2,4.")
    bad = [k for k in ks if not 1 <= k <= len(remaining)]
    if bad:
        raise GridError(
            f"--sweep_num_clusters {','.join(map(str, bad))}: each must be between 1 and "
            f"{len(remaining)}, the clusters left to train on after holding out "
            f"{', '.join(excluded)}: {remaining}."
        )
    return SweepPlan(tuple(grid.clusters), tuple(excluded), tuple(order), tuple(remaining), tuple(ks))


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
        cmds.append(_eval_command(model_dir, eval_on, collection, os.path.join(grid.out_dir, "eval", f"k{k}")))
    if init:  # k = 0; from scratch it is a random model: run the sweep here to see it
        cmds.append(_eval_command(init, eval_on, collection, os.path.join(grid.out_dir, "eval", "k0")))
    return cmds


def run_sweep(grid: GridConfig, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Trains on the first k clusters for each k, evaluates the held-out clusters; reports.

    Writes under grid.out_dir: k{k}/ (each run's checkpoint and logs), eval/k{k}/ (each
    run's report), results.json / results.md (every run; the sweep table appended),
    heldout_vs_num_clusters.png (FLAN's Fig. 6) and sweep.json (the points). Returns the
    summary written to sweep.json.
    """
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top
    from flanjax.evaluation import finetune, heldout, report  # pylint: disable=g-import-not-at-top

    plan = sweep_plan(grid)
    collection = collection_of(grid.mixture)
    settings = heldout.EvalSettings(
        max_examples=grid.max_eval_examples, lengths=grid.lengths, batch_size=grid.eval_batch_size
    )
    tasks = [t for c in plan.heldout for t in heldout.resolve_tasks(c, collection=collection)]
    config, params0 = initial_model(grid)
    init_dir = save_initial(grid, config, params0)
    heldout.check_vocabulary(config, heldout.vocabulary_of(tasks[0]), tasks[0].name)
    os.makedirs(grid.out_dir, exist_ok=True)

    def points_of(k: int, clusters: Sequence[str], mixture: Optional[str], result: dict) -> list[dict]:
        return [{"heldout": c, "num_training_clusters": k, "score": result["clusters"][c]["mean"],
                 "training_clusters": list(clusters), "mixture": mixture} for c in plan.heldout]

    t = time.time()
    baseline = heldout.evaluate(config, params0, tasks, settings)
    log(f"[sweep] k=0 (initial checkpoint) evaluated in {time.time() - t:.0f}s: "
        + ", ".join(f"{c} {baseline['clusters'][c]['mean']:.1f}" for c in plan.heldout))
    runs = {"k0": baseline}
    points = points_of(0, (), None, baseline)
    for k in plan.num_clusters:
        clusters = plan.training_clusters(k)
        mixture = mixtures.register_cluster_subset(grid.mixture, clusters)
        model_dir = os.path.join(grid.out_dir, f"k{k}")
        t = time.time()
        trained = finetune.finetune(finetune.FinetuneRequest(
            mixture=mixture, model_dir=model_dir, config=config, steps=grid.steps,
            batch_size=grid.batch_size, lengths=grid.lengths, learning_rate=grid.learning_rate,
            seed=grid.seed, log_every=grid.log_every, init_dir=init_dir,
            heldout_cluster=",".join(plan.heldout),
        ))
        result = heldout.evaluate(config, trained.params, tasks, settings)
        runs[f"k{k}"] = result
        report.write_report(os.path.join(grid.out_dir, "eval", f"k{k}"), {f"k{k}": result},
                            title=f"{mixture} ({k} training clusters)")
        points += points_of(k, clusters, mixture, result)
        log(f"[sweep] k={k}: trained {mixture} for {grid.steps} steps and evaluated in "
            f"{time.time() - t:.0f}s: " + ", ".join(f"{c} {result['clusters'][c]['mean']:.1f}"
                                                     for c in plan.heldout))
    summary = {
        "mixture": grid.mixture, "heldout": list(plan.heldout), "excluded": list(plan.excluded),
        "cluster_order": list(plan.order), "training_order": list(plan.remaining),
        "num_training_clusters": [0, *plan.num_clusters], "steps": grid.steps, "size": grid.size,
        "init": grid.init, "points": points,
    }
    report.write_report(grid.out_dir, runs, title=f"number of training clusters on {grid.mixture}",
                        extra={"sweep": summary})
    labels = {0: "init", **{k: "+" + "+".join(plan.added_at(k)) for k in plan.num_clusters}}
    report.plot_clusters_vs_num_training(
        points, os.path.join(grid.out_dir, "heldout_vs_num_clusters.png"),
        title=f"held out {', '.join(plan.heldout)} vs. training clusters ({grid.mixture})",
        tick_labels=labels,
    )
    with open(os.path.join(grid.out_dir, "results.md"), "a") as f:
        f.write("\n## Held-out clusters vs. number of training clusters (zero-shot)\n\n"
                + report.sweep_table(points) + "\n")
    with open(os.path.join(grid.out_dir, "sweep.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


def train_subset_main(argv: Sequence[str]) -> int:
    """`python -m flanjax.heldout train --mixture M --train_clusters a,b [train flags]`.

    Registers `M_only_a_b` (`mixtures.register_cluster_subset`) in this process, then runs
    `python -m flanjax.train`'s command line with the other flags (MIXTURE_OR_TASK_NAME
    set to it unless given; given, it must name it).
    """
    from flanjax import gin_utils  # pylint: disable=g-import-not-at-top

    p = argparse.ArgumentParser(prog="python -m flanjax.heldout train", allow_abbrev=False,
                                description=train_subset_main.__doc__)
    p.add_argument("--mixture", required=True, help="the base mixture, e.g. flan2021")
    p.add_argument("--train_clusters", required=True, help="comma-separated clusters to keep")
    args, rest = p.parse_known_args(list(argv))
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top

    try:
        name = mixtures.register_cluster_subset(args.mixture, args.train_clusters.split(","))
    except ValueError as e:
        print(f"error: {gin_utils.one_line(e)}", file=sys.stderr)
        return 2
    flag = "--gin.MIXTURE_OR_TASK_NAME="
    given = [a[len(flag):].strip().strip("\"'") for a in rest if a.startswith(flag)]
    if any(g != name for g in given):
        print(f"error: --gin.MIXTURE_OR_TASK_NAME={given[-1]!r} is not the subset mixture "
              f"{name!r} that --mixture/--train_clusters register", file=sys.stderr)
        return 2
    if not given:
        rest.append(f"{flag}'{name}'")
    from flanjax.train import __main__ as train_main  # pylint: disable=g-import-not-at-top

    return train_main.main(rest)


# -- command line -----------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mixture", default="demo")
    p.add_argument("--size", default="tiny", help="t5_1_1 size: tiny, small, base, ...")
    p.add_argument("--clusters", required=True, help="comma-separated clusters to hold out")
    p.add_argument("--init", default=None, help="initial checkpoint (MODEL_DIR, converted or HF dir)")
    p.add_argument("--out", default="outputs/heldout")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--max_eval_examples", type=int, default=100, help="per template; 0: all")
    p.add_argument("--extra_eval", default="", help="clusters also evaluated after each run")
    p.add_argument("--sweep_num_clusters", default="",
                   help="e.g. 1,2,4: train on the first k non-held-out clusters for each k "
                        "(FLAN's number-of-clusters ablation) instead of the leave-one-out grid")
    p.add_argument("--cluster_order", default="",
                   help="with --sweep_num_clusters: the order clusters are added in "
                        "(default: the mixture's cluster order)")
    p.add_argument("--dry_run", action="store_true", help="print the launch commands only")
    return p.parse_args(argv)


def _int_list(text: str, flag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise GridError(f"{flag}: expected comma-separated integers, got {text!r}") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        return train_subset_main(argv[1:])
    args = parse_args(argv)
    from flanjax.evaluation import checkpoints, heldout  # pylint: disable=g-import-not-at-top

    try:
        grid = GridConfig(
            mixture=args.mixture, clusters=tuple(c.strip() for c in args.clusters.split(",") if c.strip()),
            out_dir=args.out, size=args.size, init=args.init, steps=args.steps,
            batch_size=args.batch_size, learning_rate=args.learning_rate,
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
            if args.dry_run:
                print("\n".join(sweep_launch_commands(grid)))
                return 0
            summary = run_sweep(grid)
        else:
            if grid.cluster_order:
                raise GridError("--cluster_order needs --sweep_num_clusters.")
            check_clusters(grid.mixture, grid.clusters + grid.extra_eval)
            if args.dry_run:
                print("\n".join(launch_commands(grid)))
                return 0
            summary = run_grid(grid)
    except (GridError, heldout.UnknownEvalTargetError, heldout.VocabularyMismatchError,
            checkpoints.CheckpointNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if grid.sweep_num_clusters:
        from flanjax.evaluation import report  # pylint: disable=g-import-not-at-top

        print(report.sweep_table(summary["points"]))
    else:
        print(gain_table(summary))
    print(f"[heldout] report in {args.out}/results.md, plots in {args.out}/")
    return 0


if __name__ == "__main__":
    from flanjax import hostmem

    hostmem.keep_freed_memory()  # before JAX starts its CPU client; see flanjax/hostmem.py
    if sys.argv[1:2] == ["train"]:
        code = main()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # as `python -m flanjax.train`: tf.data iterators can hang shutdown
    sys.exit(main())
