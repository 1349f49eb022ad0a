"""A run's recipe (what `flanjax.train` would build from its gin) compiled for a TPU slice.

`flanjax.plan` fills a `Recipe` from what `train` is bound to (model config, batch,
lengths, mesh, rules, microbatches, loss) and the run's own `make_schedule` /
`make_optimizer`, after the gin files are parsed (gin stays in the command). `compile_recipe` builds the trainer's `Trainer` on a
mesh of the topology's devices and compiles its jitted train step, then the jitted eval
functions the evaluation code calls (`score_options` for rank classification, greedy
decoding), with the same parameters' shardings. Nothing is re-written for the planner.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Mapping

from flanjax.model.layers import layouts_for
from flanjax.planner import aot
from flanjax.planner.roofline import Roofline, roofline
from flanjax.planner.topology import Slice

_PACKED = ("encoder_segment_ids", "encoder_positions", "decoder_segment_ids", "decoder_positions")
_FEATURES = ("encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights")


@dataclasses.dataclass(frozen=True)
class Recipe:
    config: Any  # T5Config
    batch_size: int  # global, sequences
    feature_lengths: Mapping[str, int]  # {"inputs": ..., "targets": ...}
    mesh_shape: tuple[int, ...]  # one slice's (data, model); may hold one -1
    rules: Any  # preset name or table
    num_microbatches: int = 1
    num_slices: int = 1
    loss_config: Any = None  # trainer.LossConfig
    pack: bool = True
    tx: Any = None  # optax transformation (the run's Adafactor)
    schedule: Any = None


def batch_shapes(recipe: Recipe) -> dict[str, Any]:
    """The global batch's features, as seqio's EncDec converter gives them."""
    import jax
    import numpy as np

    b = recipe.batch_size
    in_len, tgt_len = recipe.feature_lengths["inputs"], recipe.feature_lengths["targets"]
    names = _FEATURES + (_PACKED if recipe.pack else ())
    return {
        k: jax.ShapeDtypeStruct((b, in_len if k.startswith("encoder") else tgt_len), np.int32)
        for k in names
    }


def check_mesh(recipe: Recipe, slice_: Slice) -> tuple[int, ...]:
    """One slice's mesh shape with -1 resolved; a ValueError naming both chip counts."""
    shape = recipe.mesh_shape
    known = math.prod(s for s in shape if s != -1)
    chips = slice_.num_chips
    if (-1 in shape and chips % known) or (-1 not in shape and known != chips):
        raise ValueError(
            f"MESH_SHAPE {shape} needs {known}{' x N' if -1 in shape else ''} chips but "
            f"{slice_.name} has {chips} chips per slice; pass a matching --topology or "
            f"--gin.MESH_SHAPE=(-1, {shape[-1] if shape[-1] != -1 else 1})"
        )
    return tuple(chips // known if s == -1 else s for s in shape)


def check_batch(recipe: Recipe, mesh: Any, rules: Any) -> None:
    """The batch must split evenly over the mesh axes `batch` maps to (x microbatches)."""
    import flax.linen as nn

    axes = nn.logical_to_mesh_axes(("batch",), rules)[0]
    axes = () if axes is None else ((axes,) if isinstance(axes, str) else tuple(axes))
    sizes = dict(zip(mesh.axis_names, mesh.axis_sizes))
    ways = math.prod(sizes[a] for a in axes) * max(recipe.num_microbatches, 1)
    if recipe.batch_size % ways:
        split = " x ".join(f"{a}={sizes[a]}" for a in axes) or "none"
        raise ValueError(
            f"BATCH_SIZE {recipe.batch_size} does not divide over the data axes ({split}) x "
            f"num_microbatches {recipe.num_microbatches} = {ways} ways; use a multiple of {ways}"
        )


@dataclasses.dataclass
class Report:
    topology: str
    num_slices: int
    slice_: Slice
    mesh: dict[str, int]
    rules: str
    train: aot.CompiledStats | None
    eval: dict[str, aot.CompiledStats]
    model_flops: float
    roof: Roofline | None
    compile_seconds: float
    error: str | None = None  # XLA's first line when the train step did not compile
    error_bytes: int | None = None  # what an out-of-memory error said it needed
    num_microbatches: int = 1

    @property
    def num_chips(self) -> int:
        return self.slice_.num_chips * self.num_slices

    @property
    def bytes_per_chip(self) -> int | None:
        return self.train.total_bytes if self.train else self.error_bytes

    @property
    def fits(self) -> bool:
        return self.train is not None and self.train.total_bytes <= self.slice_.chip.hbm_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "topology": self.topology,
            "num_slices": self.num_slices,
            "num_microbatches": self.num_microbatches,
            "num_chips": self.num_chips,
            "mesh": self.mesh,
            "rules": self.rules,
            "fits": self.fits,
            "bytes_per_chip": self.bytes_per_chip,
            "hbm_bytes_per_chip": self.slice_.chip.hbm_bytes,
            "argument_bytes": self.train.argument_bytes if self.train else None,
            "temp_bytes": self.train.temp_bytes if self.train else None,
            "flops_per_step": self.model_flops,
            "xla_flops_per_chip": self.train.flops if self.train else None,
            "collective_bytes": self.train.collectives if self.train else None,
            "estimated_step_seconds": self.roof.step_seconds if self.roof else None,
            "estimated_mfu": self.roof.mfu if self.roof else None,
            "xla_counts_loops_once": self.roof.loops_undercounted if self.roof else None,
            "eval_bytes_per_chip": {k: v.total_bytes for k, v in self.eval.items()},
            "compile_seconds": round(self.compile_seconds, 1),
            "error": self.error,
        }


def compile_recipe(recipe: Recipe, slice_: Slice, num_slices: int | None = None, *,
                   eval_steps: bool = True, eval_batch_size: int | None = None,
                   num_options: int = 4) -> Report:
    """Compiles the recipe's train step (and eval steps) for `num_slices` x `slice_`."""
    from flanjax.model import flops_per_token
    from flanjax import partitioning
    from flanjax.train.trainer import Trainer

    num_slices = recipe.num_slices if num_slices is None else num_slices
    shape = check_mesh(recipe, slice_)
    devices = aot.topology_devices(slice_, num_slices)
    mesh = partitioning.make_mesh(shape, devices, num_slices=num_slices)
    rules = partitioning.rules_for_mesh(partitioning.get_rules(recipe.rules), mesh)
    check_batch(recipe, mesh, rules)
    in_len, tgt_len = recipe.feature_lengths["inputs"], recipe.feature_lengths["targets"]
    model_flops = flops_per_token(recipe.config, in_len, tgt_len) * recipe.batch_size * (in_len + tgt_len)

    start = time.perf_counter()
    trainer = Trainer(recipe.config, recipe.tx, recipe.schedule, mesh, rules, batch_shapes(recipe),
                      recipe.loss_config, recipe.num_microbatches)
    report = Report(
        topology=slice_.name, num_slices=num_slices, slice_=slice_,
        mesh=dict(zip(mesh.axis_names, mesh.axis_sizes)),
        rules=recipe.rules if isinstance(recipe.rules, str) else "custom",
        train=None, eval={}, model_flops=model_flops, roof=None, compile_seconds=0.0,
        num_microbatches=max(recipe.num_microbatches, 1),
    )
    try:
        # Traced here on the CPU host, but for the TPU: the model takes the TPU's layouts.
        with layouts_for("tpu"):
            lowered = trainer.lower_train_step()
        report.train = aot.compile_lowered(lowered)
    except aot.CompileError as e:
        report.error, report.error_bytes = str(e), aot.oom_bytes(str(e))
    if report.train is not None:
        report.roof = roofline(slice_.chip, xla_flops=report.train.flops,
                               bytes_accessed=report.train.bytes_accessed,
                               model_flops=model_flops, num_chips=report.num_chips,
                               remat_policy=recipe.config.remat_policy)
        if eval_steps:
            report.eval = compile_eval_steps(trainer, eval_batch_size or recipe.batch_size,
                                             in_len, tgt_len, num_options)
    report.compile_seconds = time.perf_counter() - start
    return report


def compile_eval_steps(trainer: Any, batch_size: int, in_len: int, tgt_len: int,
                       num_options: int) -> dict[str, aot.CompiledStats]:
    """Rank scoring and greedy decoding, the jitted functions evaluation calls, on the mesh."""
    import jax
    import numpy as np
    from jax.sharding import NamedSharding

    from flanjax.model import decoding, scoring
    from flanjax import partitioning

    params = aot.sharded_abstract(trainer.abstract_params, trainer.param_shardings)
    rows = NamedSharding(trainer.mesh, partitioning.batch_spec(trainer.rules, 2))
    rows3 = NamedSharding(trainer.mesh, partitioning.batch_spec(trainer.rules, 3))
    enc = jax.ShapeDtypeStruct((batch_size, in_len), np.int32, sharding=rows)
    options = jax.ShapeDtypeStruct((batch_size, num_options, tgt_len), np.int32, sharding=rows3)
    key = jax.eval_shape(lambda: jax.random.key(0))
    rng = jax.ShapeDtypeStruct(key.shape, key.dtype, sharding=trainer.replicated)
    out: dict[str, aot.CompiledStats] = {}
    with trainer.context(), layouts_for("tpu"):
        lowered = {
            "rank_scoring": scoring._score_options.lower(trainer.config, params, enc, options),  # pylint: disable=protected-access
            "greedy_decoding": decoding._sample_or_greedy.lower(  # pylint: disable=protected-access
                trainer.config, params, enc, rng, max_decode_length=tgt_len, greedy=True,
                temperature=1.0, top_k=0, top_p=1.0,
            ),
        }
    for name, low in lowered.items():
        try:
            out[name] = aot.compile_lowered(low)
        except aot.CompileError as e:
            print(f"  {name}: did not compile: {e}")
    return out
