"""Evaluation reports: results.json (every number), results.md, TensorBoard scalars, plots.

`runs` below is `{run_name: results}` where `results` is what
`flanjax.evaluation.heldout.evaluate` returns (tasks, datasets, clusters, overall). One
run is a single checkpoint; several compare checkpoints dataset by dataset.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from flanjax.data.templates import sources as prompt_sources
from flanjax.train.metrics import ScalarWriter

Results = Mapping[str, Any]


# -- tables -----------------------------------------------------------------------------


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def dataset_table(runs: Mapping[str, Results]) -> str:
    """One row per (cluster, dataset): each run's mean over templates [min-max], median."""
    names = list(runs)
    datasets: dict[str, dict[str, Any]] = {}
    for results in runs.values():
        for key, d in results["datasets"].items():
            datasets.setdefault(key, d)
    header = ["cluster", "dataset", "metric", "templates"] + [
        f"{n} mean [min-max] / median" for n in names
    ]
    rows = []
    for key, d in sorted(datasets.items(), key=lambda kv: (kv[1]["cluster"], kv[0])):
        row = [d["cluster"], key, d["metric"], d["num_templates"]]
        for n in names:
            r = runs[n]["datasets"].get(key)
            row.append(
                "-" if r is None else f"{r['mean']:.1f} [{r['min']:.1f}-{r['max']:.1f}] / {r['median']:.1f}"
            )
        rows.append(row)
    return markdown_table(header, rows)


def cluster_table(runs: Mapping[str, Results]) -> str:
    """One row per cluster: each run's FLAN-style mean (datasets' template means averaged)."""
    names = list(runs)
    clusters: list[str] = []
    for results in runs.values():
        clusters += [c for c in results["clusters"] if c not in clusters]
    rows = [
        [c] + [runs[n]["clusters"][c]["mean"] if c in runs[n]["clusters"] else "-" for n in names]
        for c in clusters
    ]
    rows.append(["**overall**"] + [runs[n]["overall"] for n in names])
    return markdown_table(["cluster"] + names, rows)


def sni_table(runs: Mapping[str, Results]) -> str:
    """Super-NaturalInstructions' table (Wang et al. 2022, Table 3): ROUGE-L and exact match
    per task (metric "rouge"), each run side by side, and their means over tasks. Empty when
    no task is scored by ROUGE."""
    names = list(runs)
    keys: list[tuple[str, str]] = []
    values: dict[tuple[str, str, str], dict[str, float]] = {}
    for n in names:
        for t in runs[n]["tasks"]:
            if t["metric"] != "rouge":
                continue
            key = (t["dataset"], t["format"])
            if key not in keys:
                keys.append(key)
            values[(n, *key)] = t["values"]
    if not keys:
        return ""
    header = ["task", "format"] + [f"{n} {m}" for n in names for m in ("ROUGE-L", "EM")]
    rows = []
    for key in keys:
        row: list[Any] = list(key)
        for n in names:
            v = values.get((n, *key))
            row += ["-", "-"] if v is None else [v.get("rougeL", float("nan")), v.get("exact_match", float("nan"))]
        rows.append(row)
    mean: list[Any] = ["**mean**", ""]
    for n in names:
        got = [values[(n, *k)] for k in keys if (n, *k) in values]
        mean += [float(np.mean([v.get("rougeL", np.nan) for v in got])),
                 float(np.mean([v.get("exact_match", np.nan) for v in got]))]
    rows.append(mean)
    return markdown_table(header, rows)


def sni_category_table(runs: Mapping[str, Results]) -> str:
    """niv2_test (`evaluation.sni_test`): ROUGE-L and exact match per task category and
    overall, each run side by side (Wang et al. 2022 Table 3; Tk-Instruct
    `compute_grouped_metrics` keys `{metric}_for_{group}`, tasks being `task{N}_...`). Empty
    when no run scored niv2_test."""
    names = [n for n in runs if runs[n].get("sni_test")]
    if not names:
        return ""
    categories: list[str] = []
    for n in names:
        for key in runs[n]["sni_test"]:
            group = key.split("_for_", 1)[1] if key.startswith("rougeL_for_") else None
            if group and not _SNI_TASK.match(group) and group not in categories:
                categories.append(group)
    header = ["category"] + [f"{n} {m}" for n in names for m in ("ROUGE-L", "EM")]
    rows = []
    for group in sorted(categories) + [None]:
        row: list[Any] = [group or "**overall**"]
        for n in names:
            got = runs[n]["sni_test"]
            suffix = f"_for_{group}" if group else ""
            row += [got.get(f"rougeL{suffix}", "-"), got.get(f"exact_match{suffix}", "-")]
        rows.append(row)
    return markdown_table(header, rows)


_SNI_TASK = re.compile(r"^task\d+_")


def template_table(results: Results) -> str:
    """Every (dataset, template) score of one run: the raw numbers behind the aggregates."""
    rows = [
        [t["cluster"], t["dataset"], t["format"], t["template"], t["metric"], t["score"],
         t["num_examples"], f"{t['num_ranked']}/{t['num_generated']}"]
        for t in results["tasks"]
    ]
    return markdown_table(
        ["cluster", "dataset", "format", "template", "metric", "score", "examples",
         "ranked/generated"],
        rows,
    )


def sweep_table(points: Sequence[Mapping[str, Any]]) -> str:
    """FLAN's number-of-clusters ablation as a table: one row per number of clusters.

    points: as for `plot_clusters_vs_num_training`, with "training_clusters" (the clusters
    trained on) on each; columns: k, the clusters, each held-out cluster's score, average.
    """
    heldout = list(dict.fromkeys(p["heldout"] for p in points))
    by_k: dict[int, dict[str, Any]] = {}
    for p in points:
        row = by_k.setdefault(int(p["num_training_clusters"]), {"clusters": p.get("training_clusters", [])})
        row[p["heldout"]] = float(p["score"])
    rows = []
    for k in sorted(by_k):
        row = by_k[k]
        scores = [row[h] for h in heldout if h in row]
        names = ", ".join(row["clusters"]) if row["clusters"] else "none (initial checkpoint)"
        rows.append([k, names] + [row.get(h, "-") for h in heldout] + [float(np.mean(scores))])
    return markdown_table(["training clusters", "trained on"] + [f"{h} (held out)" for h in heldout]
                          + ["average"], rows)


# -- files ------------------------------------------------------------------------------


def write_json(path: str, data: Any) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=float)
    return path


def write_tensorboard(log_dir: str, results: Results, step: int = 0, prefix: str = "eval") -> None:
    """Scalars `{prefix}/overall`, per cluster, per dataset (template mean/median), per task."""
    writer = ScalarWriter(log_dir)  # the trainer's writer: one TensorBoard writer in flanjax
    writer.scalar(f"{prefix}/overall", results["overall"], step)
    for name, c in results["clusters"].items():
        writer.scalar(f"{prefix}/cluster/{name}", c["mean"], step)
    for name, d in results["datasets"].items():
        writer.scalar(f"{prefix}/dataset/{name}/mean", d["mean"], step)
        writer.scalar(f"{prefix}/dataset/{name}/median", d["median"], step)
    for t in results["tasks"]:
        writer.scalar(f"{prefix}/task/{t['task'].replace(':', '/')}", t["score"], step)
    writer.close()


def _pyplot():
    import matplotlib  # pylint: disable=g-import-not-at-top

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

    return plt


def plot_datasets(runs: Mapping[str, Results], path: str, title: str = "") -> str:
    """Grouped bars: per dataset, each run's mean over templates, min-max as error bars."""
    plt = _pyplot()
    keys: list[str] = []
    for results in runs.values():
        keys += [k for k in results["datasets"] if k not in keys]
    width = 0.8 / max(len(runs), 1)
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(keys) + 2), 4.0))
    for i, (name, results) in enumerate(runs.items()):
        d = [results["datasets"].get(k) for k in keys]
        means = [v["mean"] if v else np.nan for v in d]
        # max(0, .): the mean of equal scores can round a hair past them.
        lo = [max(0.0, v["mean"] - v["min"]) if v else 0.0 for v in d]
        hi = [max(0.0, v["max"] - v["mean"]) if v else 0.0 for v in d]
        ax.bar(x + (i - (len(runs) - 1) / 2) * width, means, width, yerr=[lo, hi], capsize=2,
               label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [f"{k}\n({runs[next(iter(runs))]['datasets'].get(k, {}).get('cluster', '')})" for k in keys],
        rotation=30, ha="right", fontsize=8,
    )
    ax.set_ylabel("score (mean over templates; bars: min-max)")
    return _finish(plt, fig, ax, path, title or "zero-shot score per dataset")


def plot_clusters_vs_num_training(
    points: Sequence[Mapping[str, Any]], path: str, title: str = "",
    tick_labels: Optional[Mapping[int, str]] = None,
) -> str:
    """FLAN's Fig. 6: held-out cluster score against the number of training clusters.

    points: [{"heldout": cluster, "num_training_clusters": n, "score": s}, ...]; one line per
    held-out cluster, plus their average. tick_labels: {n: label} under the x ticks (e.g.
    the cluster added at n, as FLAN labels its axis).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    by_cluster: dict[str, list[tuple[int, float]]] = {}
    for p in points:
        by_cluster.setdefault(p["heldout"], []).append((int(p["num_training_clusters"]), float(p["score"])))
    all_x = sorted({x for v in by_cluster.values() for x, _ in v})
    for name, values in sorted(by_cluster.items()):
        values.sort()
        ax.plot([v[0] for v in values], [v[1] for v in values], marker="o", label=name)
    if len(by_cluster) > 1:
        avg = [np.mean([s for v in by_cluster.values() for x, s in v if x == n]) for n in all_x]
        ax.plot(all_x, avg, marker="s", linestyle="--", color="black", label="average")
    scores = [float(p["score"]) for p in points]
    if scores and min(scores) >= 0 and max(scores) <= 100:
        ax.set_ylim(0, 100)  # percent: keep small differences from looking large
    ax.set_xticks(all_x)
    if tick_labels:
        ax.set_xticklabels([f"{n}\n{tick_labels[n]}" if tick_labels.get(n) else str(n) for n in all_x],
                           fontsize=7)
    ax.set_xlabel("number of training clusters")
    ax.set_ylabel("held-out cluster score")
    return _finish(plt, fig, ax, path, title or "held-out cluster vs. number of training clusters")


def _finish(plt, fig, ax, path: str, title: str) -> str:
    """Title, legend, layout; writes the PNG (creating its folder) and closes the figure."""
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_report(
    out_dir: str,
    runs: Mapping[str, Results],
    *,
    title: str = "flanjax evaluation",
    extra: Optional[Mapping[str, Any]] = None,
    tensorboard: bool = True,
    step: int = 0,
) -> dict[str, str]:
    """results.json, results.md, datasets.png and TensorBoard scalars (per run) in out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    # Which prompts the tasks used: flanjax's own, or the papers' files with their SHA-256.
    record = {"runs": dict(runs), "prompt_sources": prompt_sources.prompt_sources()}
    files = {"json": write_json(os.path.join(out_dir, "results.json"), {**record, **dict(extra or {})})}
    parts = [f"# {title}", "", "## Clusters (FLAN: mean over templates, then datasets)", "",
             cluster_table(runs), "", "## Datasets (T0: spread over templates)", "",
             dataset_table(runs), ""]
    sni = sni_table(runs)
    if sni:
        parts += ["## Super-NaturalInstructions (ROUGE-L and exact match per task)", "", sni, ""]
    sni_test = sni_category_table(runs)
    if sni_test:
        parts += ["## Super-NaturalInstructions test set (niv2_test): ROUGE-L and exact match "
                  "per category", "", sni_test, ""]
    for name, results in runs.items():
        parts += [f"## Templates: {name}", "", template_table(results), ""]
    files["md"] = os.path.join(out_dir, "results.md")
    with open(files["md"], "w") as f:
        f.write("\n".join(parts))
    files["plot"] = plot_datasets(runs, os.path.join(out_dir, "datasets.png"), title)
    if tensorboard:
        for name, results in runs.items():
            log_dir = os.path.join(out_dir, "tensorboard", name)
            write_tensorboard(log_dir, results, step=step)
        files["tensorboard"] = os.path.join(out_dir, "tensorboard")
    return files
