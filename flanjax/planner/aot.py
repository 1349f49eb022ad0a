"""Ahead-of-time compilation for a TPU slice that is not attached (libtpu on a CPU host).

`jax.experimental.topologies.get_topology_desc` describes a slice's devices from libtpu
alone; a mesh over them, `ShapeDtypeStruct`s sharded on it and `jit(...).lower(...)
.compile()` give XLA's TPU executable, whose `memory_analysis()` and `cost_analysis()` are
the compiler's own numbers (MaxText's `train_compile.py` does the same for its models).

Nothing here runs at import: libtpu is touched only by `topology_devices`, which first
sets the few environment variables that keep libtpu from probing for a TPU VM's metadata
(its "could not determine TPU accelerator type" warnings). Ordinary CPU runs never call it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from typing import Any, Sequence

from flanjax.planner.topology import Slice

# A single-host placeholder for libtpu's start-up checks; the topology itself comes from
# `get_topology_desc`'s arguments, not from these. No chips are opened, so several
# processes may compile at once: skip libtpu's one-process-per-host lockfile.
_QUIET_LIBTPU_ENV = {
    "TPU_ACCELERATOR_TYPE": "v5litepod-4",
    "TPU_WORKER_HOSTNAMES": "localhost",
    "TPU_SKIP_MDS_QUERY": "1",
    "ALLOW_MULTIPLE_LIBTPU_LOAD": "1",
}
# v4 topologies are described per TensorCore unless asked for megacore (one device a
# chip, what a v4 VM's JAX sees); v5p is megacore by default.
_CHIP_CONFIG = {"v4": "megacore"}

COLLECTIVES = ("all-gather", "all-reduce", "reduce-scatter", "all-to-all", "collective-permute")
_DTYPE_BYTES = {"pred": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "bf16": 2, "f16": 2, "s32": 4,
                "u32": 4, "f32": 4, "s64": 8, "u64": 8, "f64": 8, "c64": 8, "c128": 16,
                "f8e4m3fn": 1, "f8e5m2": 1, "s4": 1, "u4": 1}
# One HLO instruction a line: `%name = <shape> <op>(operands), ...`; the shape may be a
# tuple whose layouts hold parentheses, so it is everything up to the op's name.
_COLLECTIVE_RE = re.compile(
    r"^\s*(?:ROOT\s+)?%\S+\s*=\s*(?P<shape>.*?)\s(?P<op>" + "|".join(COLLECTIVES)
    + r")(?P<start>-start)?\(",
    re.MULTILINE,
)
_ARRAY_RE = re.compile(r"\b([a-z]+\d*(?:e\d+m\d+(?:fn)?)?)\[([\d,]*)\]")


class CompileError(RuntimeError):
    """XLA refused the program; `str()` is the compiler's first error line."""


def require_libtpu() -> None:
    if importlib.util.find_spec("libtpu") is None:
        raise CompileError(
            "compiling for a TPU topology needs libtpu: pip install 'flanjax[aot]' "
            "(the libtpu that jax's tpu extra pins)"
        )


def topology_devices(slice_: Slice, num_slices: int = 1) -> list[Any]:
    """The devices of `num_slices` x `slice_`, as libtpu describes them (no TPU needed)."""
    require_libtpu()
    for key, value in _QUIET_LIBTPU_ENV.items():
        os.environ.setdefault(key, value)
    from jax.experimental import topologies

    kwargs: dict[str, Any] = {}
    if slice_.chip.generation in _CHIP_CONFIG:
        kwargs["chip_config_name"] = _CHIP_CONFIG[slice_.chip.generation]
    if num_slices > 1:
        kwargs["num_slices"] = num_slices
    desc = topologies.get_topology_desc(topology_name=slice_.topology_name, platform="tpu", **kwargs)
    devices = list(desc.devices)
    expected = slice_.num_chips * num_slices
    if len(devices) != expected:
        raise CompileError(
            f"libtpu describes {slice_.topology_name} x {num_slices} as {len(devices)} devices, "
            f"expected {expected} chips"
        )
    return devices


def first_error_line(error: BaseException) -> str:
    """XLA's message without the traceback: the first line that says what went wrong."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "exceeds" in line or "Ran out of memory" in line or "RESOURCE_EXHAUSTED" in line:
            return line
    return lines[0] if lines else type(error).__name__


_SIZE_RE = re.compile(r"([\d.]+)([KMGT]?)\s*(?:i?B)?\b")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def oom_bytes(message: str) -> int | None:
    """The bytes an out-of-memory compile error says it needed ('... (154.08G) exceeds ...')."""
    match = re.search(r"\(([\d.]+)([KMGT])\)\s*exceeds", message) or re.search(
        r"Used ([\d.]+)([KMGT]) of", message
    )
    if not match:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@dataclasses.dataclass
class CompiledStats:
    """Per-chip numbers of one compiled program (XLA's; bytes unless said otherwise)."""

    argument_bytes: int
    output_bytes: int
    alias_bytes: int  # outputs that reuse donated argument buffers (the train state)
    temp_bytes: int
    code_bytes: int
    flops: float  # XLA's count for one chip's program
    bytes_accessed: float  # HBM traffic XLA expects for one chip's program
    collectives: dict[str, int]  # op kind -> bytes (each op in the HLO counted once)

    @property
    def total_bytes(self) -> int:
        """Peak HBM of the program: arguments + outputs - aliased + temporaries."""
        return self.argument_bytes + self.output_bytes - self.alias_bytes + self.temp_bytes


def collective_bytes(hlo_text: str) -> dict[str, int]:
    """Bytes moved by each collective kind in an optimized HLO module's text.

    Each op is counted once as written (an op inside a loop body, e.g. scanned layers or
    microbatches, is not multiplied by the trip count). For async `-start` ops, whose
    shape is a tuple of operand and result, the largest array (the result) is counted.
    """
    totals = {kind: 0 for kind in COLLECTIVES}
    for match in _COLLECTIVE_RE.finditer(hlo_text):
        arrays = []
        for dtype, dims in _ARRAY_RE.findall(match.group("shape")):
            if dtype not in _DTYPE_BYTES:
                continue
            n = _DTYPE_BYTES[dtype]
            for d in filter(None, dims.split(",")):
                n *= int(d)
            arrays.append(n)
        if arrays:
            totals[match.group("op")] += max(arrays) if match.group("start") else sum(arrays)
    return totals


def analyse(compiled: Any) -> CompiledStats:
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else (cost or {})
    return CompiledStats(
        argument_bytes=int(memory.argument_size_in_bytes),
        output_bytes=int(memory.output_size_in_bytes),
        alias_bytes=int(memory.alias_size_in_bytes),
        temp_bytes=int(memory.temp_size_in_bytes),
        code_bytes=int(memory.generated_code_size_in_bytes),
        flops=float(cost.get("flops", 0.0)),
        bytes_accessed=float(cost.get("bytes accessed", 0.0)),
        collectives=collective_bytes(compiled.as_text()),
    )


def compile_lowered(lowered: Any) -> CompiledStats:
    """Compiles a `jit(...).lower(...)` result; CompileError with XLA's first line on failure."""
    try:
        compiled = lowered.compile()
    except Exception as e:  # pylint: disable=broad-except  (XlaRuntimeError and friends)
        raise CompileError(first_error_line(e)) from None
    return analyse(compiled)


def sharded_abstract(tree: Any, shardings: Any) -> Any:
    """ShapeDtypeStructs of `tree`'s leaves carrying `shardings`' leaves."""
    import jax

    return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), tree, shardings)
