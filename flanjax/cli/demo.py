"""`make demo`: instruction tuning and held-out cluster evaluation, offline, on a CPU.

  1. builds the bundled offline datasets (five clusters, two datasets each);
  2. trains the tiny T5 on `demo_minus_{heldout}` (every cluster but the held-out one),
     scoring the held-out and the seen cluster every --eval_every steps while it trains
     (minus_{heldout}/heldout_curve.png: each cluster against step, beside the loss);
  3. evaluates the initial and the trained model zero-shot, on every template, on the
     held-out cluster and on a cluster seen in training (rank classification over the
     answer options);
  4. prints the table and writes, under --out: results.md/json, datasets.png (per dataset),
     heldout_vs_clusters.png, TensorBoard logs (training and evaluation) and the checkpoint.

`--init DIR` starts from a Hugging Face T5 directory instead of a random tiny model (it is
converted first). What a tiny model trained for minutes on synthetic data can show: the
pipeline end to end, and a clear gain on clusters it was trained on; not FLAN's zero-shot
gain on the held-out cluster, which needs a pre-trained model of billions of parameters.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="demo_output")
    p.add_argument("--init", default=None, help="a Hugging Face T5 directory to fine-tune from")
    p.add_argument("--heldout", default="nli", help="the cluster held out of training")
    p.add_argument("--seen", default="sentiment", help="a training cluster, evaluated too")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--learning_rate", type=float, default=0.01)
    p.add_argument("--max_eval_examples", type=int, default=50, help="per template")
    p.add_argument("--eval_every", type=int, default=100,
                   help="held-out scores while training, every N steps (0: off)")
    from flanjax.cli import runner  # pylint: disable=g-import-not-at-top

    runner.add_process_flags(p)
    return p.parse_args(argv)


def use_checkpoint_vocabulary(init_dir: str) -> None:
    """Tokenizes the demo tasks with a Hugging Face checkpoint's own `spiece.model`.

    It must run before the tasks are registered (importing `flanjax.data.mixtures`): the
    demo tasks read the DEMO_VOCAB data setting then (`flanjax.data.locations`).
    """
    spm = os.path.join(init_dir, "spiece.model")
    if not os.path.exists(spm):
        print(f"[demo] {init_dir} has no spiece.model: the demo tasks keep the bundled vocabulary")
        return
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    locations.configure({"DEMO_VOCAB": spm})
    print(f"[demo] demo tasks tokenized with {spm}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    start = time.time()

    if args.init:
        use_checkpoint_vocabulary(args.init)
    from flanjax.cli import cells  # pylint: disable=g-import-not-at-top
    from flanjax.experiments import grid as heldout_driver  # pylint: disable=g-import-not-at-top
    from flanjax.data.bundled import ensure_prepared  # pylint: disable=g-import-not-at-top
    from flanjax import checkpoints
    from flanjax.evaluation import heldout  # pylint: disable=g-import-not-at-top

    data_dir = ensure_prepared()
    print(f"[demo] bundled data in {data_dir} ({time.time() - start:.0f}s)", flush=True)
    if args.seen == args.heldout:
        print("error: --seen must differ from --heldout", file=sys.stderr)
        return 2
    grid = heldout_driver.GridConfig(
        mixture="demo", clusters=(args.heldout,), out_dir=args.out, size="tiny",
        init=args.init, steps=args.steps, batch_size=args.batch_size,
        learning_rate=args.learning_rate, lengths=(("inputs", 128), ("targets", 32)),
        max_eval_examples=args.max_eval_examples or None, extra_eval=(args.seen,),
        log_every=100, curve_period=args.eval_every,
    )
    try:
        heldout_driver.check_clusters("demo", (args.heldout, args.seen))
        summary = heldout_driver.run_grid(
            grid, cells.GIN_CELLS, log=lambda m: print(m.replace("[heldout]", "[demo]"), flush=True)
        )
    except (heldout_driver.GridError, heldout.UnknownEvalTargetError,
            heldout.VocabularyMismatchError, checkpoints.CheckpointNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    minutes = (time.time() - start) / 60
    print()
    print(f"Zero-shot accuracy (%), mean over templates and datasets; tiny T5 "
          f"{'from ' + args.init if args.init else 'from scratch'}, {args.steps} steps on "
          f"demo_minus_{args.heldout}:")
    print(heldout_driver.gain_table(summary))
    print()
    print(f"[demo] done in {minutes:.1f} min. Under {args.out}/: results.md, results.json, "
          f"datasets.png, heldout_vs_clusters.png, tensorboard/ (eval), "
          f"minus_{args.heldout}/ (checkpoints, train_metrics.jsonl, tensorboard/).")
    curve = os.path.join(args.out, f"minus_{args.heldout}", "heldout_curve.png")
    if os.path.exists(curve):
        print(f"[demo] held-out curve while training: {curve}")
    print(f"[demo] tensorboard --logdir {args.out}   (the viewer: pip install -e '.[viz]')")
    return 0
