"""A roofline step time and MFU from XLA's per-chip FLOPs and HBM traffic (an estimate).

    step time >= max(XLA FLOPs per chip / peak FLOP/s, XLA bytes accessed per chip / HBM B/s)
    MFU        = model FLOPs per step / (chips x peak FLOP/s x step time)

Both bounds assume perfect overlap and ignore communication (ICI/DCN collectives), kernel
launch gaps and the host: a real step is slower, so the MFU here is an upper bound. "Model
FLOPs" are the matmul FLOPs of the network (`flanjax.model.flops_per_token`, 3x forward),
the same definition the training log's MFU uses; XLA's count also has the rematerialised
forward, softmax, norms and the optimizer.

XLA's cost analysis visits a while loop's body once, whatever its trip count: a step whose
layers are scanned (`scan_layers`) or whose batch is split into microbatches reports a
fraction of its FLOPs and bytes. The compute bound therefore never goes below the model's
own FLOPs a chip (with the forward pass that full remat recomputes: 4/3 of them), and
`loops_undercounted` says when XLA's count fell below that floor; XLA's bytes are then a
lower bound too, so the step time stays a lower bound and the MFU an upper bound.
"""

from __future__ import annotations

import dataclasses

from flanjax.planner.topology import Chip


@dataclasses.dataclass(frozen=True)
class Roofline:
    compute_seconds: float  # XLA FLOPs / peak
    memory_seconds: float  # XLA bytes accessed / HBM bandwidth
    model_flops: float  # per step, all chips
    num_chips: int
    peak_flops: float  # per chip
    loops_undercounted: bool = False  # XLA's FLOPs < the model's: loop bodies counted once

    @property
    def step_seconds(self) -> float:
        return max(self.compute_seconds, self.memory_seconds)

    @property
    def bound(self) -> str:
        return "compute" if self.compute_seconds >= self.memory_seconds else "memory"

    @property
    def mfu(self) -> float:
        if self.step_seconds <= 0:
            return 0.0
        return self.model_flops / (self.num_chips * self.peak_flops * self.step_seconds)


# Model FLOPs are 3 forward passes (forward + backward); full remat runs the forward twice.
REMAT_FLOPS_FACTOR = {"full": 4 / 3}


def roofline(chip: Chip, *, xla_flops: float, bytes_accessed: float, model_flops: float,
             num_chips: int, remat_policy: str = "none") -> Roofline:
    """xla_flops and bytes_accessed are one chip's (XLA's per-device program)."""
    floor = model_flops * REMAT_FLOPS_FACTOR.get(remat_policy, 1.0) / num_chips
    return Roofline(
        compute_seconds=max(xla_flops, floor) / chip.peak_flops,
        memory_seconds=bytes_accessed / chip.hbm_bandwidth,
        model_flops=model_flops,
        num_chips=num_chips,
        peak_flops=chip.peak_flops,
        loops_undercounted=xla_flops < floor,
    )
