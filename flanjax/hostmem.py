"""Host memory for runs on JAX's CPU backend: keep freed memory in the process (glibc).

XLA's CPU runtime allocates and frees the temporaries of every step with malloc. With
glibc's defaults, blocks above the mmap threshold are unmapped on free and the heap top is
trimmed, so each step faults its working set back in, page by page, zero-filled by the
kernel. Measured on this project's 2-core CPU machines, T5 v1.1-small training (batch
8 x (512 + 128)): 1.34 M minor page faults and 2.1 s of kernel time in a 4.4 s step;
keeping freed memory in the process removes the faults and the step takes 3.1-3.5 s
(`benchmarks/train_step.py`, BENCHMARKS.md). PyTorch's CPU allocator goes through the
same malloc, so a side-by-side benchmark in one process gives both sides the same setting.

What `keep_freed_memory()` sets (glibc `mallopt`, the same as the MALLOC_*_ environment
variables): one arena (threads share the main heap instead of per-thread mmapped heaps),
no mmap for large blocks, no trimming of the heap top, 512 MiB top padding. Memory that a
step used stays reserved for the next step instead of going back to the OS: the process'
resident size is its peak. It must run before JAX starts its CPU client (its threads'
arenas are fixed when they first allocate); the entry points (`python -m flanjax.train`,
`flanjax.eval`, `flanjax.infer`, `flanjax.heldout`, `flanjax.demo`, the benchmarks) call
it first.

The mode (every command's --host_malloc flag, `flanjax.cli.runner`): "auto" (default) applies it only when JAX will run on the CPU
(JAX_PLATFORMS is "cpu", or no GPU plugin and no attached TPU) - on TPU and GPU hosts device
memory is not malloc'd and a single arena could slow a many-threaded input pipeline;
"keep" always; "off" never. Not glibc (macOS, musl): nothing to do.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import importlib.util
import logging
import os
import platform

MODES = ("auto", "keep", "off")

# glibc <malloc.h> parameter numbers for mallopt.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_TOP_PAD_BYTES = 512 << 20

# Plugins that give JAX an accelerator backend (TPU: libtpu; GPU: the CUDA/ROCm plugins).
_ACCELERATOR_MODULES = ("libtpu", "jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin",
                        "jax_rocm7_plugin")

_applied = False


def tpu_attached() -> bool:
    """Whether this host has TPU chips (/dev/accel* on v4/v5e VMs, /dev/vfio/N on v5p/v6e)."""
    return bool(glob.glob("/dev/accel[0-9]*") or glob.glob("/dev/vfio/[0-9]*"))


def will_run_on_cpu() -> bool:
    """Whether JAX will pick its CPU backend: JAX_PLATFORMS says so or no accelerator is found.

    libtpu alone (the `aot` extra, for compiling for a TPU slice on a CPU host) is not an
    accelerator: without TPU chips attached JAX runs on the CPU.
    """
    platforms = os.environ.get("JAX_PLATFORMS", "").strip().lower()
    if platforms:
        return platforms.split(",")[0].strip() == "cpu"
    return not any(
        importlib.util.find_spec(m) is not None and (m != "libtpu" or tpu_attached())
        for m in _ACCELERATOR_MODULES
    )


def default_to_cpu_without_tpu() -> None:
    """Sets JAX_PLATFORMS=cpu when libtpu is installed but no TPU is attached (and unset).

    Without it, JAX would initialise libtpu at start on a CPU host that has the `aot` extra:
    warnings about TPU_ACCELERATOR_TYPE / TPU_WORKER_HOSTNAMES and a probe for a TPU. AOT
    compilation (`flanjax.planner.aot`) still reaches libtpu for topology descriptions.
    """
    if os.environ.get("JAX_PLATFORMS") or importlib.util.find_spec("libtpu") is None:
        return
    if tpu_attached() or any(importlib.util.find_spec(m) is not None for m in _ACCELERATOR_MODULES[1:]):
        return
    os.environ["JAX_PLATFORMS"] = "cpu"


def keep_freed_memory(mode: str | None = None) -> bool:
    """Applies the glibc settings above (once); returns whether they are in effect."""
    global _applied
    mode = (mode or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"--host_malloc {mode!r}: expected one of {MODES}.")
    if _applied:
        return True
    if mode == "off" or (mode == "auto" and not will_run_on_cpu()):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    # mallopt takes an int: -1 as the trim threshold is SIZE_MAX, "never trim".
    ok = all(
        libc.mallopt(param, value) == 1
        for param, value in (
            (_M_ARENA_MAX, 1),
            (_M_MMAP_MAX, 0),
            (_M_TRIM_THRESHOLD, -1),
            (_M_TOP_PAD, _TOP_PAD_BYTES),
        )
    )
    if not ok:
        logging.warning("glibc mallopt refused a setting; host memory is managed as by default")
        return False
    _applied = True
    return True


def applied() -> bool:
    """Whether `keep_freed_memory` is in effect in this process."""
    return _applied
