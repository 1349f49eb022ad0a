"""Held-out scores against training step: MODEL_DIR/heldout_curve.png, from the run's logs.

The trainer writes `train_metrics.jsonl` (one record per logged step) and
`eval_metrics.jsonl` (validation `eval/...` and held-out `heldout/...` records, one per
evaluated step). A resumed run may have logged a step twice before its logs were cut back
to the restored step; the readers here keep the last record of each step, so a curve never
shows a step twice.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Sequence

EVAL_FILE = "eval_metrics.jsonl"
TRAIN_FILE = "train_metrics.jsonl"
CURVE_FILE = "heldout_curve.png"


def read_jsonl(path: str) -> list[dict[str, Any]]:
    """The JSON records of a file (none if it does not exist); a torn last line is skipped."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill mid-write
                continue
    return out


def prefixed(records: Sequence[Mapping[str, Any]], prefix: str) -> dict[int, dict[str, float]]:
    """{step: {key: value}} of the records' `{prefix}/key` entries, the last record per step."""
    out: dict[int, dict[str, float]] = {}
    head = prefix + "/"
    for record in records:
        values = {k[len(head):]: float(v) for k, v in record.items() if k.startswith(head)}
        if values:
            out[int(record["step"])] = values
    return dict(sorted(out.items()))


def train_losses(model_dir: str) -> list[tuple[int, float]]:
    """(step, loss) of train_metrics.jsonl, one per step, in step order."""
    losses = {int(r["step"]): float(r["loss"]) for r in read_jsonl(os.path.join(model_dir, TRAIN_FILE))
              if "loss" in r}
    return sorted(losses.items())


def plot_heldout_curve(
    curve: Mapping[int, Mapping[str, float]],
    losses: Sequence[tuple[int, float]],
    path: str,
    title: str = "",
) -> str:
    """Each held-out cluster's score (FLAN mean, T0 median dashed) against step, beside
    the training loss. `curve`: {step: `periodic.curve_scalars`}."""
    from flanjax.evaluation import report  # pylint: disable=g-import-not-at-top

    plt = report._pyplot()  # pylint: disable=protected-access
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(10.0, 4.0))
    steps = sorted(curve)
    clusters = sorted({k.split("/")[1] for s in steps for k in curve[s] if k.startswith("cluster/")})
    for i, name in enumerate(clusters):
        color = f"C{i % 10}"
        for stat, style in (("mean", "-"), ("median", "--")):
            points = [(s, curve[s][f"cluster/{name}/{stat}"]) for s in steps
                      if f"cluster/{name}/{stat}" in curve[s]]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style, marker="o",
                        color=color, markersize=3, label=f"{name} ({stat})")
    if len(clusters) > 1:
        overall = [(s, curve[s]["overall"]) for s in steps if "overall" in curve[s]]
        ax.plot([p[0] for p in overall], [p[1] for p in overall], ":", color="black", label="overall")
    ax.set_xlabel("training step")
    ax.set_ylabel("held-out score (mean / median over templates)")
    ax.set_title(title or "held-out clusters")
    ax.legend(fontsize=7)
    if losses:
        ax_loss.plot([s for s, _ in losses], [v for _, v in losses], color="gray")
    ax_loss.set_xlabel("training step")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("training loss")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_run(model_dir: str, path: Optional[str] = None, prefix: str = "heldout") -> Optional[str]:
    """heldout_curve.png of a run from its logs (None if it has no held-out records)."""
    curve = prefixed(read_jsonl(os.path.join(model_dir, EVAL_FILE)), prefix)
    if not curve:
        return None
    return plot_heldout_curve(curve, train_losses(model_dir), path or os.path.join(model_dir, CURVE_FILE))
