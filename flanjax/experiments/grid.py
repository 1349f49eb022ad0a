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
from typing import Any, Callable, Optional, Protocol, Sequence


@dataclasses.dataclass(frozen=True)
class GridConfig:
    """A leave-one-cluster-out grid (or, with `sweep_num_clusters`, a number-of-clusters sweep).

    Each run is `python -m flanjax.train` with the recipe's gin files (`gin_files`, else
    the `size`'s recipe: `recipes.recipe_file`), the run's own bindings, the overrides
    below that are not None, and `bindings` (`--gin.KEY=VALUE` flags) last.
    """

    mixture: str
    clusters: tuple[str, ...]
    out_dir: str
    size: str = "tiny"
    gin_files: tuple[str, ...] = ()  # the recipe; () -> the size's experiment gin file
    bindings: tuple[str, ...] = ()  # --gin.KEY=VALUE flags added to every run
    init: Optional[str] = None  # a checkpoint dir (MODEL_DIR, converted, or Hugging Face)
    # Overrides of the recipe's TRAIN_STEPS, BATCH_SIZE, make_schedule.learning_rate,
    # TASK_FEATURE_LENGTHS, SEED and train.log_period (None: the recipe's).
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    learning_rate: Optional[float] = None
    lengths: Optional[tuple[tuple[str, int], ...]] = None
    seed: Optional[int] = None  # also seeds the tiny grid's random initialisation
    log_every: Optional[int] = None
    max_eval_examples: Optional[int] = 100
    eval_batch_size: int = 32
    extra_eval: tuple[str, ...] = ()  # also evaluate these (e.g. a seen cluster)
    # Held-out scores while training each run (its heldout_curve.png): every `curve_period`
    # steps, `curve_examples_per_cluster` examples per evaluated cluster; 0: off.
    curve_period: int = 0
    curve_examples_per_cluster: int = 60
    # The number-of-clusters sweep (`run_sweep`): the k values, and the order clusters are
    # added in (empty: the mixture's own cluster order).
    sweep_num_clusters: tuple[int, ...] = ()
    cluster_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A run of 0 steps evaluates the initial checkpoint twice and reports a +0.0 gain.
        for name, flag in (("steps", "--steps"), ("batch_size", "--batch_size")):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise GridError(f"{flag} must be a positive integer, got {value!r}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise GridError(f"--learning_rate must be positive, got {self.learning_rate!r}")


class CellRunner(Protocol):
    """Runs a cell's `python -m flanjax.train` arguments in this process (`flanjax.cli.cells`)."""

    def train(self, argv: Sequence[str]) -> None: ...

    def lengths(self, argv: Sequence[str]) -> dict[str, int]:
        """TASK_FEATURE_LENGTHS as these arguments set it (nothing is run)."""


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
    return config, jax.device_get(init_params(config, jax.random.key(grid.seed or 0)))


def init_dir(grid: GridConfig) -> str:
    """The checkpoint every run starts from: --init when it is a converted flanjax checkpoint,
    else OUT/init (--init converted, or the seeded random initialisation)."""
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

    if grid.init and os.path.exists(os.path.join(grid.init, checkpoints.CONFIG_FILE)) and \
            os.path.isdir(os.path.join(grid.init, checkpoints.PARAMS_DIR)):
        return grid.init
    return os.path.join(grid.out_dir, "init")


def save_initial(grid: GridConfig, config: Any, params: Any) -> str:
    """The starting point of every run, as a checkpoint the trainer reads (`init_dir`)."""
    from flanjax import checkpoints as convert_ckpt  # pylint: disable=g-import-not-at-top

    if init_dir(grid) == grid.init:
        return grid.init
    return convert_ckpt.save_flanjax_checkpoint(config, params, init_dir(grid))


def train_cell(runner: CellRunner, cell: Any, log: Callable[[str], None]) -> tuple[Any, Any]:
    """Runs one cell (its command printed first); returns its final (config, params) as
    `flanjax.eval` reads them from its MODEL_DIR."""
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

    log(f"[heldout] {cell.name}: {cell.train_command}")
    log(f"[heldout] {cell.name} compiles for its TPU slice with: {cell.plan_command}")
    runner.train(cell.argv)
    return checkpoints.load_model(cell.model_dir, dtype="float32")


def check_clusters_all(mixture: str) -> list[str]:
    from flanjax.data import catalog  # pylint: disable=g-import-not-at-top

    return catalog.clusters(collection_of(mixture))


def gain_table(summary: dict[str, Any]) -> str:
    from flanjax.evaluation import report  # pylint: disable=g-import-not-at-top

    rows = [
        [r["run"], r["cluster"], r["kind"], r["baseline"], r["finetuned"], f"{r['gain']:+.1f}"]
        for r in summary["rows"]
    ]
    return report.markdown_table(
        ["run", "eval cluster", "in training?", "baseline (init)", "fine-tuned", "gain"], rows
    )


def run_grid(grid: GridConfig, runner: CellRunner, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Trains every cell with `runner` (`flanjax.train` in this process), evaluates; writes
    the report; returns the summary."""
    from flanjax.evaluation import heldout, report  # pylint: disable=g-import-not-at-top
    from flanjax.experiments import commands  # pylint: disable=g-import-not-at-top

    collection = check_clusters(grid.mixture, grid.clusters)
    eval_clusters = list(dict.fromkeys(list(grid.clusters) + list(grid.extra_eval)))
    tasks = {c: heldout.resolve_tasks(c, collection=collection) for c in eval_clusters}
    config, params0 = initial_model(grid)
    for c in eval_clusters:
        heldout.check_vocabulary(config, heldout.vocabulary_of(tasks[c][0]), tasks[c][0].name)
    save_initial(grid, config, params0)
    cells = commands.grid_cells(grid)  # the tiny recipe reads the initial checkpoint's shape
    settings = heldout.EvalSettings(  # evaluated with the lengths the runs train with
        max_examples=grid.max_eval_examples, lengths=tuple(runner.lengths(cells[0].argv).items()),
        batch_size=grid.eval_batch_size,
    )
    os.makedirs(grid.out_dir, exist_ok=True)

    t = time.time()
    baseline = heldout.evaluate(config, params0, [x for c in eval_clusters for x in tasks[c]], settings)
    log(f"[heldout] baseline (initial checkpoint) evaluated in {time.time() - t:.0f}s: "
        + ", ".join(f"{c} {baseline['clusters'][c]['mean']:.1f}" for c in eval_clusters))
    runs = {"baseline": baseline}
    rows, points = [], []
    num_clusters = len(check_clusters_all(grid.mixture))
    for c, cell in zip(grid.clusters, cells):
        t = time.time()
        trained_config, trained_params = train_cell(runner, cell, log)
        log(f"[heldout] trained {cell.mixture} in {time.time() - t:.0f}s")
        evaluated = [c] + [x for x in grid.extra_eval if x != c]
        result = heldout.evaluate(trained_config, trained_params, [x for e in evaluated for x in tasks[e]], settings)
        runs[cell.name] = result
        report.write_report(os.path.join(grid.out_dir, "eval", cell.name), {cell.name: result},
                            title=cell.mixture)
        for e in evaluated:
            rows.append({
                "cluster": e, "run": cell.name,
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
    summary = {"mixture": grid.mixture, "clusters": list(grid.clusters), "size": grid.size,
               "init": grid.init, "commands": {c.name: c.train_command for c in cells},
               "rows": rows, "points": points}
    report.write_report(grid.out_dir, runs, title=f"leave-one-cluster-out on {grid.mixture}",
                        extra={"summary": summary})
    report.plot_clusters_vs_num_training(points, os.path.join(grid.out_dir, "heldout_vs_clusters.png"))
    with open(os.path.join(grid.out_dir, "results.md"), "a") as f:
        f.write("\n## Gain per cluster (zero-shot)\n\n" + gain_table(summary) + "\n")
    with open(os.path.join(grid.out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary
