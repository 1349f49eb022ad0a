"""Writes a task or mixture as files with the Flan 2022 release's fields, and a manifest.

  python -m flanjax.data.export demo --out /tmp/demo_files --num_examples 1000
  python -m flanjax.data.export flan2022 --out gs://bucket/flan2022 --epochs 1 \\
      --format parquet --runner=DataflowRunner --project=P --region=R --temp_location=gs://...

Rows: inputs, targets, task_source, task_name, template_type (zs_opt / zs_noopt / fs_opt /
fs_noopt as flan/v2 names them; cot), template_idx. MANIFEST: the mixture, each task's rate
and share, the count written per task, the prompt sources with their SHA-256, the seed,
the flanjax version. --num_examples N allocates N exactly by the mixture's rates (largest
remainder); --epochs E (default 1) writes every example of every task E times. The same
--seed writes byte-identical files. Data settings come from the environment
(FLANJAX_FLAN_SOURCE_DIR, ...; see README "Data locations"); --render_seed sets the seed
templates are drawn with (RENDER_SEED).

The export is an Apache Beam pipeline (tasks render in parallel, then one writer per
shard): flags this command does not know go to Beam (`--runner`, `--direct_num_workers=4
--direct_running_mode=multi_processing`, Dataflow / Flink / Spark options).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence


def _lengths(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in ("inputs", "targets") or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"expected inputs=N,targets=M; got {text!r}")
        out[key.strip()] = int(value)
    return out


def parse_args(argv: Optional[Sequence[str]]) -> tuple[argparse.Namespace, list[str]]:
    p = argparse.ArgumentParser(prog="python -m flanjax.data.export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("name", help="mixture or task (python -m flanjax.data.inspect --list)")
    p.add_argument("--out", required=True, help="output directory (local or gs://)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--num_examples", type=int, help="this many examples, split by the rates")
    how.add_argument("--epochs", type=int, help="every example of every task this many times (default 1)")
    p.add_argument("--split", default="train")
    p.add_argument("--seed", type=int, default=0, help="draw order, repeats and sharding")
    p.add_argument("--format", default="jsonl", choices=("jsonl", "parquet", "tfrecord"))
    p.add_argument("--num_shards", type=int, default=None, help="default: one per 50,000 examples")
    p.add_argument("--lengths", type=_lengths, default="inputs=2048,targets=512",
                   help="feature lengths few-shot exemplars are fitted to (inputs=N,targets=M)")
    p.add_argument("--render_seed", type=int, default=None, help="RENDER_SEED (default: env, else 0)")
    p.add_argument("--overwrite", action="store_true", help="replace an export in --out")
    args, beam_args = p.parse_known_args(argv)
    if args.num_examples is not None and args.num_examples < 1:
        p.error("--num_examples must be at least 1")
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.num_shards is not None and args.num_shards < 1:
        p.error("--num_shards must be at least 1")
    unknown = [a for a in beam_args if not a.startswith("--")]
    if unknown:
        p.error(f"unexpected argument(s) {unknown}")
    return args, beam_args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args, beam_args = parse_args(sys.argv[1:] if argv is None else argv)
    from flanjax.data import export_files, locations  # pylint: disable=g-import-not-at-top

    if args.render_seed is not None:
        locations.configure({"RENDER_SEED": str(args.render_seed)})
    settings = {s.name: locations.get(s.name) for s in locations.SETTINGS if locations.get(s.name)}
    config = export_files.ExportConfig(
        name=args.name, out_dir=args.out, split=args.split, num_examples=args.num_examples,
        epochs=args.epochs or 1, seed=args.seed, fmt=args.format, num_shards=args.num_shards,
        lengths=args.lengths if isinstance(args.lengths, dict) else _lengths(args.lengths),
        settings=settings)
    logging.getLogger().setLevel(logging.INFO)
    result = export_files.run_pipeline(config, beam_args, overwrite=args.overwrite)
    width = max([len(t) for t in result["tasks"]] + [4])
    print(f"{'task':<{width}} {'share':>7} {'count':>9}")
    for task, info in result["tasks"].items():
        print(f"{task:<{width}} {info['share']:>7.4f} {info['count']:>9}")
    print(f"[export] {result['total']} examples of {result['mixture']} in {len(result['files'])} "
          f"{result['format']} file(s) under {args.out} (manifest.json)")
    return 0
