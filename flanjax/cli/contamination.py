"""`python -m flanjax.contamination --train MIXTURE --eval CLUSTER_OR_TASKS`

Per eval dataset: the fraction of its eval examples sharing an n-gram (13 words by
default) with the training mixture's datasets. See `flanjax.evaluation.contamination`.

  python -m flanjax.contamination --train demo_minus_nli --eval nli --collection demo
  python -m flanjax.contamination --train flan2021_minus_nli --eval anli_r1,rte --out c.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional, Sequence

def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="training mixture or task")
    parser.add_argument("--eval", required=True, help="clusters, mixtures, datasets or eval tasks")
    parser.add_argument("--collection", default=None, help="collection of the --eval clusters")
    parser.add_argument("--n", type=int, default=13, help="n-gram length in words")
    parser.add_argument("--max_train_examples", type=int, default=100_000,
                        help="examples read per training dataset (0: all)")
    parser.add_argument("--max_eval_examples", type=int, default=10_000,
                        help="examples read per eval dataset (0: all)")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    if args.n < 1:  # 0-grams are in every example: 100% "contamination"
        print(f"error: --n must be a positive number of words, got {args.n}", file=sys.stderr)
        return 2
    for flag in ("max_train_examples", "max_eval_examples"):
        if getattr(args, flag) < 0:
            print(f"error: --{flag} must be >= 0 (0: all), got {getattr(args, flag)}", file=sys.stderr)
            return 2

    from flanjax.evaluation import contamination as lib  # pylint: disable=g-import-not-at-top
    from flanjax.evaluation import heldout, outputs  # pylint: disable=g-import-not-at-top

    if args.out:  # before reading every training dataset
        outputs.check_output_file(args.out, "--out")

    try:
        train_entries = heldout.entries_of_mixture(args.train)
    except ValueError as e:
        print(f"error: unknown training mixture or task {args.train!r}: {e}", file=sys.stderr)
        return 2
    try:
        tasks = heldout.resolve_tasks(args.eval, collection=args.collection)
    except heldout.UnknownEvalTargetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    eval_entries = list({t.entry.name: t.entry for t in tasks}.values())
    report = lib.contamination(
        train_entries, eval_entries, n=args.n,
        max_train_examples=args.max_train_examples or None,
        max_eval_examples=args.max_eval_examples or None,
    )
    report["train"] = args.train
    print(f"{args.n}-gram overlap of eval datasets with {args.train} "
          f"({len(train_entries)} training datasets):")
    print(lib.format_table(report))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.out}")
    return 0
