"""TPU generations, their published per-chip figures, and slice names -> topologies.

Cloud TPU names a slice by generation and a count: `v5e-256` / `v5litepod-256` and
`v6e-64` count chips, but `v4-32` and `v5p-128` count TensorCores (two per chip, fused
into one "megacore" JAX device), so a v4-32 is 16 chips and a v5p-128 is 64. libtpu's
topology descriptions take the physical chip grid instead (`v5e:4x4`, `v4:2x2x4`); this
module turns either spelling into a `Slice` with its chip count, and checks what libtpu
returns against it (`flanjax.planner.aot.topology_devices`).
"""

from __future__ import annotations

import dataclasses
import math
import re

GIB = 1024**3

# Published per-chip figures (peak bf16 FLOP/s, HBM capacity, HBM bandwidth), from the
# Google Cloud TPU documentation's system-architecture pages
# (https://cloud.google.com/tpu/docs/v4, .../v5e, .../v5p, .../v6e), read 2024-2025.
# Peak FLOP/s is dense bf16 matmul throughput; the roofline uses it as "peak".
#   generation  bf16 TFLOP/s  HBM GiB  HBM GB/s  cores/chip  2-D/3-D torus
CHIP_TABLE: dict[str, tuple[float, float, float, int, int]] = {
    "v4": (275.0, 32.0, 1200.0, 2, 3),
    "v5e": (197.0, 16.0, 819.0, 1, 2),
    "v5p": (459.0, 95.0, 2765.0, 2, 3),
    "v6e": (918.0, 32.0, 1640.0, 1, 2),
}
# Aliases people type for a generation.
_ALIASES = {"v5litepod": "v5e", "v5lite": "v5e", "trillium": "v6e"}


@dataclasses.dataclass(frozen=True)
class Chip:
    generation: str
    peak_flops: float  # bf16 FLOP/s per chip
    hbm_bytes: int  # per chip
    hbm_bandwidth: float  # bytes/s per chip


@dataclasses.dataclass(frozen=True)
class Slice:
    """One TPU slice: `name` as Cloud TPU spells it, `grid` the chip grid libtpu takes."""

    name: str
    chip: Chip
    grid: tuple[int, ...]  # chips along each torus dimension

    @property
    def num_chips(self) -> int:
        return math.prod(self.grid)

    @property
    def topology_name(self) -> str:
        """The name `jax.experimental.topologies.get_topology_desc` takes, e.g. 'v5e:4x4'."""
        return f"{self.chip.generation}:" + "x".join(str(d) for d in self.grid)


def chip(generation: str) -> Chip:
    generation = _ALIASES.get(generation, generation)
    if generation not in CHIP_TABLE:
        raise ValueError(f"unknown TPU generation {generation!r}; known: {sorted(CHIP_TABLE)}")
    tflops, hbm_gib, gbps, _, _ = CHIP_TABLE[generation]
    return Chip(generation, tflops * 1e12, int(hbm_gib * GIB), gbps * 1e9)


def _grid_for(num_chips: int, dims: int) -> tuple[int, ...]:
    """The most cube-like grid of `num_chips` chips (powers of two), largest dimension last."""
    if num_chips < 1 or num_chips & (num_chips - 1):
        raise ValueError(f"{num_chips} chips: slice sizes are powers of two")
    exponent = num_chips.bit_length() - 1
    grid = [1] * dims
    for i in range(exponent):
        grid[-1 - i % dims] *= 2
    grid = sorted(grid)
    if dims == 3 and num_chips <= 4:  # one v4/v5p host: 2x2x1 (libtpu's spelling)
        grid = sorted(grid, reverse=True)
    return tuple(grid)


def known_names() -> list[str]:
    """How each generation's slices are spelled."""
    out = []
    for g, (_, _, _, cores, dims) in CHIP_TABLE.items():
        unit = "TensorCores, 2 a chip" if cores == 2 else "chips"
        out.append(f"{g}-N (N {unit}) or {g}:{'AxBxC' if dims == 3 else 'AxB'}")
    return out


def parse_slice(name: str) -> Slice:
    """'v5p-128', 'v5litepod-16', 'v6e-64' or 'v5e:4x4', 'v4:2x2x4' -> Slice."""
    text = name.strip().lower()
    match = re.fullmatch(r"([a-z0-9]+?)(?:-(\d+)|:(\d+(?:x\d+)+))", text)
    generation = match and _ALIASES.get(match.group(1), match.group(1))
    if not match or generation not in CHIP_TABLE:
        raise ValueError(
            f"unknown TPU topology {name!r}; known: {'; '.join(known_names())} "
            f"(e.g. v4-32, v5e-256, v5p-128, v6e-64, v5e:4x4)"
        )
    c = chip(generation)
    cores, dims = CHIP_TABLE[generation][3], CHIP_TABLE[generation][4]
    if match.group(3):
        grid = tuple(int(d) for d in match.group(3).split("x"))
        if len(grid) != dims:
            raise ValueError(f"{name!r}: {generation} slices are {dims}-D grids (e.g. "
                             f"{'2x2x2' if dims == 3 else '4x4'})")
        return Slice(name, c, grid)
    count = int(match.group(2))
    if count % cores:
        raise ValueError(f"{name!r}: {generation}-N counts TensorCores ({cores} a chip)")
    return Slice(name, c, _grid_for(count // cores, dims))
