"""`make demo`: the main job on the bundled offline data.

Today it builds the bundled TFDS datasets, shows the `demo` mixture (tasks, rates, example
counts), a leave-one-cluster-out variant, rendered examples, and a packed batch from seqio's
`EncDecFeatureConverter` — everything the trainer consumes. (Training and held-out
evaluation join the demo when the trainer lands.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="demo_output")
    parser.add_argument("--init", default=None, help="a Hugging Face T5 directory to start from")
    parser.add_argument("--heldout", default="nli", help="the cluster to hold out")
    parser.add_argument("--num_examples", type=int, default=2)
    args = parser.parse_args(argv)

    import numpy as np  # pylint: disable=g-import-not-at-top
    import seqio  # pylint: disable=g-import-not-at-top

    from flanjax.data import inspect as inspect_lib  # pylint: disable=g-import-not-at-top
    from flanjax.data import mixtures  # pylint: disable=g-import-not-at-top
    from flanjax.data.bundled import ensure_prepared  # pylint: disable=g-import-not-at-top

    start = time.time()
    data_dir = ensure_prepared()
    print(f"[demo] bundled TFDS data in {data_dir} ({time.time() - start:.1f}s)")
    os.makedirs(args.out, exist_ok=True)
    if args.init:
        print(f"[demo] --init {args.init}: fine-tuning from a checkpoint needs the trainer (issue 4).")

    for name in ("demo", f"demo_minus_{args.heldout}"):
        mixture = mixtures.get_mixture_or_task(name)
        rows = inspect_lib.mixture_table(mixture)
        print(f"\n[demo] mixture {name}: {len(rows)} tasks")
        print(f"  {'task':<40} {'rate':>7} {'examples':>9}")
        for task, rate, n in rows:
            print(f"  {task:<40} {rate:>7.3f} {n:>9}")

    print(f"\n[demo] rendered examples of demo_minus_{args.heldout} (seed 0):")
    inspect_lib.show_examples(
        f"demo_minus_{args.heldout}", split="train", num_examples=args.num_examples, seed=0,
        lengths={"inputs": 256, "targets": 32},
    )

    lengths = {"inputs": 256, "targets": 32}
    ds = seqio.get_dataset(
        f"demo_minus_{args.heldout}", task_feature_lengths=lengths, dataset_split="train",
        shuffle=True, seed=0, num_epochs=1, batch_size=8,
        feature_converter=seqio.EncDecFeatureConverter(pack=True),
    )
    batch = next(ds.as_numpy_iterator())
    print("\n[demo] one packed batch (EncDecFeatureConverter, pack=True):")
    for key, value in sorted(batch.items()):
        print(f"  {key:<28} {str(value.shape):<12} {value.dtype}")
    seg = batch["encoder_segment_ids"]
    per_row = [int(np.max(r)) for r in seg]
    print(f"  examples packed per row: {per_row}")
    inspect_lib.report_counts()
    print(f"\n[demo] done in {time.time() - start:.1f}s; outputs under {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
