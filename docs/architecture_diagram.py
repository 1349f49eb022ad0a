"""Draws docs/architecture.png: the data path, each arrow labelled with its module.

    python docs/architecture_diagram.py
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (box, module that produces the next box)
STEPS = [
    ("catalog entry\n(dataset, cluster, fields, metric)", "data/sources.py"),
    ("raw examples\n(TFDS | HF | JSONL | SNI | bundled)", "data/templates/ + data/render.py"),
    ("rendered instruction\n(inputs, targets, options)", "data/formats.py"),
    ("zero-shot | few-shot | CoT | inverted", "data/tasks.py"),
    ("seqio.Task\n(tokenize, EOS; eval keeps options)", "data/mixtures.py"),
    ("seqio.Mixture\n(examples-proportional, caps, rates)", "train/input_pipeline.py"),
    ("packed global batch\n(one shard per host)", "train/trainer.py + partitioning.py"),
    ("train_step on the mesh\n(Flax T5 in model/, Adafactor)", "checkpoints.py"),
    ("orbax checkpoint", "evaluation/heldout.py (ranking.py | generation.py)"),
    ("held-out cluster scores", "evaluation/report.py"),
    ("results.json / results.md / plots", None),
]


def main() -> None:
    fig, ax = plt.subplots(figsize=(9, 15))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, len(STEPS) * 1.4)
    ax.axis("off")
    for i, (box, module) in enumerate(STEPS):
        y = (len(STEPS) - i - 0.5) * 1.4
        ax.text(3.2, y, box, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.4", fc="#e8f0fe", ec="#3c6fd1"))
        if module:
            ax.annotate("", xy=(3.2, y - 0.95), xytext=(3.2, y - 0.45),
                        arrowprops=dict(arrowstyle="->", lw=1.5))
            ax.text(3.6, y - 0.7, module, ha="left", va="center", fontsize=9, family="monospace",
                    color="#8a3b00")
    ax.set_title("flanjax: from a catalog entry to a held-out score\n"
                 "(arrows name the module that does the step; commands in flanjax/cli/)", fontsize=11)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "architecture.png")
    fig.savefig(out, dpi=90, bbox_inches="tight")
    print(out)


if __name__ == "__main__":
    main()
