"""FLAN's number-of-training-clusters sweep (Wei et al. 2021, Sec. 4.1, Fig. 6).

The held-out clusters (with the clusters that overlap them) are left out of a fixed cluster
order and, for each k, the model is trained on `{mixture}_only_{c1}_..._{ck}` (the first k
remaining clusters, the base mixture's rates) and evaluated zero-shot on every held-out
cluster; k = 0 is the initial checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable, Optional, Sequence

from flanjax.experiments.grid import (
    CellRunner,
    GridConfig,
    GridError,
    collection_of,
    initial_model,
    save_initial,
    train_cell,
)


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


def run_sweep(grid: GridConfig, runner: CellRunner, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Trains on the first k clusters for each k, evaluates the held-out clusters; reports.

    Each k is one `flanjax.train` run (`commands.sweep_cells`) that `runner` runs here.
    Writes under grid.out_dir: k{k}/ (each run's checkpoint and logs), eval/k{k}/ (each
    run's report), results.json / results.md (every run; the sweep table appended),
    heldout_vs_num_clusters.png (FLAN's Fig. 6) and sweep.json (the points). Returns the
    summary written to sweep.json.
    """
    from flanjax.evaluation import heldout, report  # pylint: disable=g-import-not-at-top
    from flanjax.experiments import commands  # pylint: disable=g-import-not-at-top

    plan = sweep_plan(grid)
    collection = collection_of(grid.mixture)
    tasks = [t for c in plan.heldout for t in heldout.resolve_tasks(c, collection=collection)]
    config, params0 = initial_model(grid)
    heldout.check_vocabulary(config, heldout.vocabulary_of(tasks[0]), tasks[0].name)
    save_initial(grid, config, params0)
    cells = commands.sweep_cells(grid)
    settings = heldout.EvalSettings(  # evaluated with the lengths the runs train with
        max_examples=grid.max_eval_examples, lengths=tuple(runner.lengths(cells[0][2].argv).items()),
        batch_size=grid.eval_batch_size,
    )
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
    for k, clusters, cell in cells:
        t = time.time()
        trained_config, trained_params = train_cell(runner, cell, lambda m: log(m.replace("[heldout]", "[sweep]")))
        result = heldout.evaluate(trained_config, trained_params, tasks, settings)
        runs[cell.name] = result
        report.write_report(os.path.join(grid.out_dir, "eval", cell.name), {cell.name: result},
                            title=f"{cell.mixture} ({k} training clusters)")
        points += points_of(k, clusters, cell.mixture, result)
        log(f"[sweep] k={k}: trained {cell.mixture} and evaluated in "
            f"{time.time() - t:.0f}s: " + ", ".join(f"{c} {result['clusters'][c]['mean']:.1f}"
                                                    for c in plan.heldout))
    summary = {
        "mixture": grid.mixture, "heldout": list(plan.heldout), "excluded": list(plan.excluded),
        "cluster_order": list(plan.order), "training_order": list(plan.remaining),
        "num_training_clusters": [0, *plan.num_clusters], "size": grid.size,
        "init": grid.init, "commands": {c.name: c.train_command for _, _, c in cells}, "points": points,
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
