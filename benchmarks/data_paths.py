"""Input paths side by side: uncached on 1 and 2 cores, cached, against the consumers.

Each configuration runs in its own child process pinned to its cores
(`os.sched_setaffinity` before TensorFlow starts, so tf.data's thread pools and the render
workers see only those cores): the figures are "what N cores of this host deliver".

  uncached, 1 core    render in the tf.data thread (FLANJAX_RENDER_PROCESSES=1)
  uncached, 2 cores   the same, GIL-bound: what more cores give without workers
  uncached, 2 cores, 2 render processes (`flanjax.data.parallel`)
  cached, 1 and 2 cores   seqio's offline cache (built here once with Beam's DirectRunner,
                          `python -m flanjax.data.cache`), `use_cached=True`
  ..._seqio_packing       the same 2-core paths with seqio's own packing loop instead of
                          `flanjax.data.packing` (what training used before it)

Consumers, in packed sequences/s of the benchmark's shape and in examples/s (x the
measured examples per packed sequence):
  - this machine's train step (`benchmarks.data` measures or reads it);
  - T5-small / T5-base on one TPU v4 host (4 chips, 275 bf16 TFLOP/s each) and one 8-GPU
    A100 host (312 bf16 TFLOP/s each), from flanjax's training FLOPs per token
    (`flanjax.model.flops_per_token`) at MFU `--mfu` (default 0.4);
  - T5-small on one 8 x A100-80G host as published: ~5,712 sequences/s (NVIDIA
    JAX-Toolbox, rosetta/projects/t5x/README.md, "Convergence and performance" table,
    T5-v1.1-small, bf16, 8 GPUs, batch 256/GPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Optional

# Published: NVIDIA JAX-Toolbox rosetta/projects/t5x/README.md (T5-v1.1-small, 8 x A100).
T5_SMALL_8XA100_SEQ_PER_S = 5712.0
TPU_V4_CHIP_BF16_FLOPS = 275e12  # Cloud TPU v4 system architecture page
A100_BF16_FLOPS = 312e12  # NVIDIA A100 datasheet, dense bf16
CONFIGS = [
    # (label, cores, render processes, cached, packer)
    ("uncached_1core", 1, 1, False, "numpy"),
    ("uncached_2cores_gil", 2, 1, False, "numpy"),
    ("uncached_2cores", 2, 2, False, "numpy"),
    ("cached_1core", 1, 1, True, "numpy"),
    ("cached_2cores", 2, 1, True, "numpy"),
    # seqio's own packing (`trim_and_pack_dataset`'s tf.while_loop), for comparison
    ("uncached_2cores_seqio_packing", 2, 2, False, "seqio"),
    ("cached_2cores_seqio_packing", 2, 1, True, "seqio"),
]


class CacheUnavailable(Exception):
    """The cached paths cannot be measured here; the message says why and what to install."""


def ensure_cache(mixture: str, cache_dir: str) -> float:
    """Builds seqio caches of the mixture's cacheable tasks unless valid ones exist; seconds.

    Raises CacheUnavailable when Apache Beam (the `cache` extra) is missing or the cache job
    fails, with the job's last error line."""
    import importlib.util

    from flanjax.data import cache

    cache.add_cache_dirs([cache_dir])
    try:
        cache.check_cached(mixture, "train", use_cached=True)
        return 0.0
    except cache.CacheError as e:
        print(f"  building the cache ({e.__class__.__name__}: {str(e)[:120]}...)", flush=True)
    if importlib.util.find_spec("apache_beam") is None:
        raise CacheUnavailable("Apache Beam is not installed (pip install 'flanjax[cache]')")
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "flanjax.data.cache", f"--mixture={mixture}",
           f"--output_cache_dir={cache_dir}", "--min_shards=4", "--overwrite"]
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        raise CacheUnavailable(f"the cache job failed ({' '.join(cmd[1:3])}, exit {proc.returncode}): "
                               f"{lines[-1] if lines else 'no message'}")
    return time.perf_counter() - start


def run_child(label: str, cores: int, processes: int, cached: bool, packer: str, args: Any,
              cache_dir: str) -> dict[str, Any]:
    spec = dict(label=label, cores=cores, processes=processes, cached=cached, packer=packer,
                mixture=args.mixture,
                batch=args.batch, inputs=args.inputs, targets=args.targets,
                batches=args.batches, repeats=args.path_repeats, cache_dir=cache_dir)
    out = subprocess.run([sys.executable, "-m", "benchmarks.data_paths", json.dumps(spec)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {label:22s} {result['examples_per_s']:>9,.0f} examples/s "
          f"{result['sequences_per_s']:>8,.1f} packed sequences/s (load {result['loadavg_1m']})",
          flush=True)
    return result


def _child(spec: dict[str, Any]) -> None:
    """One configuration, in this (pinned) process; prints one JSON line."""
    cores = set(sorted(os.sched_getaffinity(0))[: spec["cores"]])
    os.sched_setaffinity(0, cores)
    os.environ["FLANJAX_RENDER_PROCESSES"] = str(spec["processes"])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import seqio

    from flanjax.data import cache, mixtures, packing
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    mixtures.get_mixture_or_task(spec["mixture"])
    if spec["cached"]:
        cache.add_cache_dirs([spec["cache_dir"]])
    plan = cache.check_cached(spec["mixture"], "train", spec["cached"])
    ds = seqio.get_dataset(
        spec["mixture"], task_feature_lengths={"inputs": spec["inputs"], "targets": spec["targets"]},
        dataset_split="train", shuffle=True, seed=0, num_epochs=None, batch_size=spec["batch"],
        use_cached=spec["cached"],
        feature_converter=(packing.EncDecFeatureConverter if spec["packer"] == "numpy"
                           else seqio.EncDecFeatureConverter)(pack=True))
    it = ds.as_numpy_iterator()
    for _ in range(3):  # start-up (render workers spawn, files open) is not throughput
        next(it)
    rates = []
    for _ in range(spec["repeats"]):
        examples, t0 = 0, time.perf_counter()
        for _ in range(spec["batches"]):
            b = next(it)
            examples += int(np.max(b["decoder_segment_ids"], axis=1).sum())
        dt = time.perf_counter() - t0
        rates.append((examples / dt, spec["batches"] * spec["batch"] / dt))
    rates.sort()
    ex, seq = rates[len(rates) // 2]
    print(json.dumps({"examples_per_s": ex, "sequences_per_s": seq, "cores": sorted(cores),
                      "from_cache": len(plan.cached), "loadavg_1m": round(os.getloadavg()[0], 2)}))


def consumers(inputs: int, targets: int, mfu: float, train_seq_per_s: float) -> dict[str, dict]:
    """Packed sequences/s each consumer trains on, and where the figure comes from."""
    from flanjax.model import T5Config, flops_per_token

    out = {"this machine's train step": {"sequences_per_s": train_seq_per_s, "source": "measured"}}
    tokens = inputs + targets
    for size in ("small", "base"):
        fpt = flops_per_token(T5Config.t5_1_1(size), inputs, targets)
        for host, peak in (("TPU v4 host (4 chips)", 4 * TPU_V4_CHIP_BF16_FLOPS),
                           ("8 x A100 host", 8 * A100_BF16_FLOPS)):
            out[f"T5-{size}, {host}"] = {
                "sequences_per_s": peak * mfu / (fpt * tokens),
                "source": f"{fpt / 1e9:.2f} GFLOP/token at MFU {mfu}"}
    out["T5-small, 8 x A100 host (published)"] = {
        "sequences_per_s": T5_SMALL_8XA100_SEQ_PER_S,
        "source": "NVIDIA JAX-Toolbox t5x README (~5,712 seq/s)"}
    return out


def uncached_only(paths: dict[str, dict], skipped: str) -> dict[str, Any]:
    """`compare`'s figures when the cached paths cannot be measured: those are None and
    `skipped` says why."""
    u1, u2 = paths["uncached_1core"]["examples_per_s"], paths["uncached_2cores"]["examples_per_s"]
    return {
        "paths": {k: {kk: (round(vv, 1) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                  for k, v in paths.items()},
        "skipped": {"cached paths": skipped},
        "cache_build_s": None, "cached_over_uncached": None, "cached_over_uncached_1core": None,
        "numpy_over_seqio_packing_cached": None,
        "uncached_2_over_1_cores": round(u2 / u1, 2),
        "numpy_over_seqio_packing_uncached": round(
            u2 / paths["uncached_2cores_seqio_packing"]["examples_per_s"], 2),
        "uncached_2_over_1_cores_without_workers": round(
            paths["uncached_2cores_gil"]["examples_per_s"] / u1, 2),
        "targets": {"cached_over_uncached": 10.0, "uncached_2_over_1_cores": 1.7},
    }


def compare(args: Any, train_tokens_per_s: float, cache_dir: Optional[str] = None) -> dict[str, Any]:
    """Runs every configuration and returns the figures for `benchmarks.data`'s JSON."""
    cache_dir = cache_dir or args.cache_dir or os.path.expanduser("~/.cache/flanjax/bench_cache")
    try:
        build_s, skipped = ensure_cache(args.mixture, cache_dir), None
    except CacheUnavailable as e:
        build_s, skipped = None, str(e)
        print(f"  skipped the cached paths: {skipped}", flush=True)
    paths = {label: run_child(label, c, p, cached, packer, args, cache_dir)
             for label, c, p, cached, packer in CONFIGS if not (cached and skipped)}
    if skipped:
        return uncached_only(paths, skipped)
    ex_per_seq = paths["uncached_1core"]["examples_per_s"] / paths["uncached_1core"]["sequences_per_s"]
    tokens = args.inputs + args.targets
    per_core = {  # examples/s one core of each path delivers (the best measured per core)
        "uncached": max(paths["uncached_1core"]["examples_per_s"],
                        paths["uncached_2cores"]["examples_per_s"] / 2),
        "cached": max(paths["cached_1core"]["examples_per_s"],
                      paths["cached_2cores"]["examples_per_s"] / 2),
    }
    table = {}
    for name, c in consumers(args.inputs, args.targets, args.mfu, train_tokens_per_s / tokens).items():
        need = c["sequences_per_s"] * ex_per_seq
        table[name] = dict(c, examples_per_s=round(need, 1),
                           cores_uncached=round(need / per_core["uncached"], 2),
                           cores_cached=round(need / per_core["cached"], 2))
    print(f"\n  {'consumer':40s} {'seq/s':>9s} {'examples/s':>11s} {'cores uncached':>15s} "
          f"{'cores cached':>13s}")
    for name, row in table.items():
        print(f"  {name:40s} {row['sequences_per_s']:>9,.1f} {row['examples_per_s']:>11,.0f} "
              f"{row['cores_uncached']:>15,.2f} {row['cores_cached']:>13,.2f}")
    u1, u2 = paths["uncached_1core"]["examples_per_s"], paths["uncached_2cores"]["examples_per_s"]
    return {
        "paths": {k: {kk: (round(vv, 1) if isinstance(vv, float) else vv) for kk, vv in v.items()}
                  for k, v in paths.items()},
        "consumers": table,
        "examples_per_packed_sequence": round(ex_per_seq, 2),
        "cache_build_s": round(build_s, 1),
        "cached_over_uncached": round(paths["cached_2cores"]["examples_per_s"] / u2, 2),
        "cached_over_uncached_1core": round(paths["cached_1core"]["examples_per_s"] / u1, 2),
        "uncached_2_over_1_cores": round(u2 / u1, 2),
        "numpy_over_seqio_packing_cached": round(
            paths["cached_2cores"]["examples_per_s"] / paths["cached_2cores_seqio_packing"]["examples_per_s"], 2),
        "numpy_over_seqio_packing_uncached": round(
            u2 / paths["uncached_2cores_seqio_packing"]["examples_per_s"], 2),
        "uncached_2_over_1_cores_without_workers": round(
            paths["uncached_2cores_gil"]["examples_per_s"] / u1, 2),
        "targets": {"cached_over_uncached": 10.0, "uncached_2_over_1_cores": 1.7},
    }


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
