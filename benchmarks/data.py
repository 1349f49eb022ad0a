"""Input pipeline: seqio on a flan-style mixture vs what the train step consumes.

The pipeline is the one training runs: `seqio.get_dataset(mixture, ...)` on the bundled
offline data (`demo` mixture by default: FLAN-pattern templating in Python, SentencePiece
tokenisation, EOS, examples-proportional mixing), then seqio's `EncDecFeatureConverter(pack=True)`
(flanjax's subclass, `flanjax.data.packing`, whose packing runs in numpy: seqio's rows) packing into `--batch` rows of `--inputs` + `--targets` tokens, read as numpy batches
exactly as the trainer reads them. Nothing is cached: every example is rendered and
tokenised on the fly.

Reports examples/s, real (non-padding) tokens/s and token slots/s (batch x (inputs +
targets) per batch: what the train step is fed), against the train step's consumption in
slots/s: from `--train_json` (the JSON line of `benchmarks.train_step`), or
`--train_tokens_per_s`, or else measured here with flanjax's train step at the same shape.
`ratio` = pipeline slots/s / train-step slots/s: how many train steps one input pipeline
could feed (target >= 10). Measured alone: in training both share the same CPU cores.

    python -m benchmarks.data
"""

from __future__ import annotations

import json
import time
from typing import Any

from benchmarks import common


def parse_args(argv=None):
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--mixture", default="demo")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--inputs", type=int, default=512)
    p.add_argument("--targets", type=int, default=128)
    p.add_argument("--batches", type=int, default=None, help="timed batches per repeat")
    p.add_argument("--size", default="small", help="train step to compare with, when measured here")
    p.add_argument("--train_json", default=None)
    p.add_argument("--train_tokens_per_s", type=float, default=None)
    # The path comparison (benchmarks/data_paths.py): uncached on 1 and 2 cores, cached.
    p.add_argument("--no_paths", action="store_true", help="skip the uncached/cached comparison")
    p.add_argument("--cache_dir", default=None, help="seqio caches of the mixture (built if absent)")
    p.add_argument("--mfu", type=float, default=0.4, help="MFU of the TPU/GPU consumers")
    p.add_argument("--path_repeats", type=int, default=3)
    args = p.parse_args(argv)
    if args.tiny:
        args.inputs, args.targets, args.batch, args.size = 64, 16, 2, "tiny"
    if args.batches is None:
        args.batches = 10 if args.tiny else (40 if args.quick else 100)
    return args


def train_consumption(args) -> tuple[float, str]:
    """The train step's token slots per second, and where the figure came from."""
    if args.train_tokens_per_s:
        return args.train_tokens_per_s, "--train_tokens_per_s"
    if args.train_json:
        with open(args.train_json) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        result = json.loads(lines[-1])
        same = (result["batch"], result["inputs"], result["targets"]) == (args.batch, args.inputs, args.targets)
        if not same:
            print(f"  note: {args.train_json} is for another shape; tokens/s compared anyway")
        return float(result["flanjax_tokens_per_s"]), args.train_json
    from benchmarks import train_step

    targv = ["--no_baseline", "--repeats", "2", "--size", args.size, "--batch", str(args.batch),
             "--inputs", str(args.inputs), "--targets", str(args.targets)]
    if args.tiny:
        targv = ["--tiny", "--no_baseline", "--repeats", "2"]
    result = train_step.main(targv)
    return float(result["flanjax_tokens_per_s"]), "measured here (flanjax train step)"


def main(argv=None) -> dict:
    args = parse_args(argv)
    n = common.repeats(args, full=3, quick=2)
    import numpy as np
    import seqio

    from flanjax.data import mixtures, packing
    from flanjax.data.bundled import ensure_prepared

    machine = common.machine_line()
    print(f"[data] mixture {args.mixture}, packed batches of {args.batch} x ({args.inputs} + "
          f"{args.targets}), {args.batches} batches x {n} repeats; {machine}", flush=True)
    ensure_prepared()
    mixtures.get_mixture_or_task(args.mixture)  # fails early, with suggestions, if unknown
    lengths = {"inputs": args.inputs, "targets": args.targets}
    start = time.perf_counter()
    ds = seqio.get_dataset(
        args.mixture, task_feature_lengths=lengths, dataset_split="train", shuffle=True,
        seed=0, num_epochs=None, batch_size=args.batch,
        feature_converter=packing.EncDecFeatureConverter(pack=True),
    )
    it = ds.as_numpy_iterator()
    next(it)
    first_s = time.perf_counter() - start
    print(f"  pipeline built, first batch after {first_s:.1f}s", flush=True)

    slots = args.batch * (args.inputs + args.targets)
    runs = []
    for r in range(n):
        examples = real = 0
        t0 = time.perf_counter()
        for _ in range(args.batches):
            b = next(it)
            examples += int(np.max(b["decoder_segment_ids"], axis=1).sum())
            real += int((b["encoder_segment_ids"] > 0).sum() + (b["decoder_segment_ids"] > 0).sum())
        dt = time.perf_counter() - t0
        runs.append((dt, examples, real))
        print(f"  repeat {r + 1}/{n}: {args.batches} batches in {dt:.2f}s, {examples / dt:,.0f} examples/s",
              flush=True)
    # Medians over repeats of each rate; packing density = real tokens / token slots.
    examples = common.median([e / t for t, e, _ in runs])
    real = common.median([r / t for t, _, r in runs])
    slots_per_s = common.median([args.batches * slots / t for t, _, _ in runs])
    density = sum(r for _, _, r in runs) / (len(runs) * args.batches * slots)

    train_tps, source = train_consumption(args)
    result: dict[str, Any] = {
        "benchmark": "data", "mixture": args.mixture, "batch": args.batch, "inputs": args.inputs,
        "targets": args.targets, "batches": args.batches, "repeats": n, "machine": machine,
        "first_batch_s": round(first_s, 1),
        "examples_per_s": round(examples, 1),
        "real_tokens_per_s": round(real, 1),
        "slot_tokens_per_s": round(slots_per_s, 1),
        "packing_density": round(density, 3),
        "batches_per_s": round(slots_per_s / slots, 2),
        "train_tokens_per_s": round(train_tps, 1),
        "train_source": source,
        "ratio": round(slots_per_s / train_tps, 2),
        "target": 10.0,
    }
    common.print_table(
        f"input pipeline, mixture {args.mixture}, {args.batch} x ({args.inputs} + {args.targets}) packed",
        [["seqio pipeline", examples, real, slots_per_s],
         ["train step (flanjax)", "", "", train_tps]],
        ["", "examples/s", "real tokens/s", "token slots/s"],
    )
    print(f"  ratio pipeline/train step: {result['ratio']} (target >= 10); packing density "
          f"{result['packing_density']:.2f}")
    if args.tiny or args.no_paths:
        result.update(cached_over_uncached=None, uncached_2_over_1_cores=None)
    else:
        from benchmarks import data_paths

        print("[data] paths side by side, each in a child process pinned to its cores:", flush=True)
        result.update(data_paths.compare(args, train_tps))
        for what, why in result.get("skipped", {}).items():
            print(f"  skipped {what}: {why}")
        print(f"  cached/uncached {result['cached_over_uncached']} (target >= 10), uncached "
              f"2/1 cores {result['uncached_2_over_1_cores']} (target >= 1.7)")
    common.emit(result, args.json_out)
    return result


if __name__ == "__main__":
    common.keep_freed_memory(parse_args())  # before JAX starts its CPU client; see flanjax/hostmem.py
    main()
