"""Leave-one-cluster-out (FLAN Sec. 2.3 / T0 Sec. 3): the grid of `python -m flanjax.heldout`.

For each cluster C: fine-tune on `{mixture}_minus_{C}`, evaluate zero-shot on C's
datasets; evaluate the initial checkpoint on the same tasks as the baseline; report the
gain per cluster in one table (results.md, results.json) and plots.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable, Optional, Sequence


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
    # Held-out scores while training each run (its heldout_curve.png): every `curve_period`
    # steps, `curve_examples_per_cluster` examples per evaluated cluster; 0: off.
    curve_period: int = 0
    curve_examples_per_cluster: int = 60
    # The number-of-clusters sweep (`run_sweep`): the k values, and the order clusters are
    # added in (empty: the mixture's own cluster order).
    sweep_num_clusters: tuple[int, ...] = ()
    cluster_order: tuple[str, ...] = ()
    # The experiment gin file the numbers above come from (`recipes.recipe_for`), e.g.
    # "experiments/flan_t5_xl_finetune.gin"; the printed train commands start from it.
    recipe_gin: Optional[str] = None

    def __post_init__(self) -> None:
        # A run of 0 steps evaluates the initial checkpoint twice and reports a +0.0 gain.
        for name, flag in (("steps", "--steps"), ("batch_size", "--batch_size")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise GridError(f"{flag} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise GridError(f"--learning_rate must be positive, got {self.learning_rate!r}")


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

    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top
    from flanjax.model import init_params  # pylint: disable=g-import-not-at-top

    if grid.init:
        return checkpoints.load_model(grid.init, dtype="float32")
    config = model_config(grid.size, mixture_vocabulary(grid.mixture))
    return config, jax.device_get(init_params(config, jax.random.key(grid.seed)))


def save_initial(grid: GridConfig, config: Any, params: Any) -> str:
    """The starting point of every run, as a checkpoint the trainer reads (out/init)."""
    from flanjax import checkpoints as convert_ckpt  # pylint: disable=g-import-not-at-top

    if grid.init and os.path.exists(os.path.join(grid.init, convert_ckpt.CONFIG_FILE)) and \
            os.path.isdir(os.path.join(grid.init, convert_ckpt.PARAMS_DIR)):
        return grid.init
    return convert_ckpt.save_flanjax_checkpoint(config, params, os.path.join(grid.out_dir, "init"))


# -- dry run ----------------------------------------------------------------------------



def check_clusters_all(mixture: str) -> list[str]:
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top

    return catalog.clusters(collection_of(mixture))


# -- the number-of-clusters sweep -------------------------------------------------------


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
    from flanjax.evaluation import heldout, report  # pylint: disable=g-import-not-at-top
    from flanjax.experiments import finetune  # pylint: disable=g-import-not-at-top

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
            eval_on=",".join([c] + [x for x in grid.extra_eval if x != c]),
            eval_collection=collection, eval_period=grid.curve_period,
            eval_examples_per_cluster=grid.curve_examples_per_cluster,
            eval_batch_size=grid.eval_batch_size,
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
