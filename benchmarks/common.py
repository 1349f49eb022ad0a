"""Timing helpers shared by the benchmarks: alternating repeats, medians, peak, MFU, JSON.

Protocol (every script):
  1. warm up each side (compilation, allocator, caches) outside the timed region;
  2. time the sides alternately, A B A B ..., `repeats` times each, each call blocking
     until its results are ready (`jax.block_until_ready`; PyTorch on CPU is synchronous);
  3. report the median of each side and the ratio of medians;
  4. print one last line of JSON with the figures and `ratio` (flanjax / baseline).
The float32 matmul peak (a jitted 2048^3 `jnp.dot`) is measured in the same run, so model
FLOPs utilisation is against what this machine actually sustains at that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU benchmarks unless told otherwise


def base_parser(description: str | None) -> argparse.ArgumentParser:
    """Flags every benchmark takes: --quick, --tiny, --repeats, --warmup, --json_out, --host_malloc."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repeats: under 2 minutes here")
    parser.add_argument(
        "--tiny", action="store_true", help="toy model and shapes (smoke tests; numbers mean nothing)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per side")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed calls per side before the timed ones (default 1; PyTorch's first call "
        "of a shape is several times slower than the next, so keep at least 1 for fair numbers)",
    )
    parser.add_argument("--json_out", default=None, help="also write the final JSON here")
    parser.add_argument("--host_malloc", choices=("auto", "keep", "off"), default=None,
                        help="keep freed host memory in the process (flanjax.hostmem; default auto)")
    return parser


def keep_freed_memory(args: argparse.Namespace) -> None:
    """`flanjax.hostmem.keep_freed_memory` with --host_malloc (the old FLANJAX_HOST_MALLOC
    is read for one more release, with a notice); before JAX starts its CPU client."""
    from flanjax import hostmem  # pylint: disable=g-import-not-at-top
    from flanjax.cli import runner  # pylint: disable=g-import-not-at-top

    hostmem.keep_freed_memory(args.host_malloc or runner.old_env("FLANJAX_HOST_MALLOC"))


def repeats(args: argparse.Namespace, full: int, quick: int) -> int:
    if args.repeats is not None:
        return max(1, args.repeats)
    return quick if (args.quick or args.tiny) else full


def warmups(args: argparse.Namespace, full: int = 1, quick: int = 0) -> int:
    if args.warmup is not None:
        return max(0, args.warmup)
    return quick if (args.quick or args.tiny) else full


def alternate(
    fns: Mapping[str, Callable[[], Any]],
    *,
    repeats: int,
    warmup: int = 1,
    verbose: bool = True,
    between: Callable[[], Any] | None = None,
) -> dict[str, list[float]]:
    """Seconds of each call, timed alternately; every fn must block until its work is done.

    `between`, if given, runs (untimed) after each round, e.g. to sample the matmul peak
    under the same load as the round it follows.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
        if between is not None:
            between()
        if verbose:
            line = "  ".join(f"{n}={times[n][-1]:.3f}s" for n in fns)
            print(f"  repeat {r + 1}/{repeats}: {line}", flush=True)
    return times


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def spread(xs: Sequence[float]) -> float:
    """(max - min) / median: how noisy a side's repeats were."""
    m = median(xs)
    return float((max(xs) - min(xs)) / m) if m > 0 else 0.0


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Median float32 GFLOP/s of a jitted n^3 `jnp.dot` (2 n^3 FLOPs a call)."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(a, b))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(dot(a, b))
        times.append(time.perf_counter() - start)
    return 2.0 * n**3 / median(times) / 1e9


def machine_line() -> dict[str, Any]:
    """What ran this: CPU, cores, library versions, the load average at the start."""
    import jax

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    from flanjax import hostmem  # pylint: disable=g-import-not-at-top

    # Both sides run in this process, so both get the same malloc behaviour.
    info["host_malloc"] = "keep freed memory" if hostmem.applied() else "glibc default"
    if hasattr(os, "getloadavg"):
        info["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_table(title: str, rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    """A plain fixed-width table on stdout."""
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 10 else f"{x:,.1f}"
    return str(x)


def emit(result: dict[str, Any], json_out: str | None = None) -> None:
    """Prints the result as the last line of output (one line of JSON); optionally saves it."""
    line = json.dumps(result, sort_keys=True)
    if json_out:
        os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
        with open(json_out, "w") as f:
            f.write(line + "\n")
    print(line, flush=True)
