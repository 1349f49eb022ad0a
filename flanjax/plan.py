"""Plan a pod run on a laptop: per-device memory of params, optimizer state and activations.

    python -m flanjax.plan --gin_file=experiments/flan_t5_xxl_finetune.gin \
        --mesh data=32,model=8 --device tpu-v4

Nothing is allocated: the parameter and optimizer-state shapes come from `jax.eval_shape`,
their per-device shards from the logical-axis rules and the mesh sizes (no devices needed),
and the activations from the residuals that `jax.vjp` keeps for the backward pass, traced
abstractly for one device's share of the batch (batch / data-parallel size). Activations
carrying a heads, mlp or vocab dimension are divided by the mesh axes the rules map those
names to (tensor parallelism); with `remat_policy` set they shrink accordingly (the trace
sees it). Compiler temporaries and fragmentation are not counted: keep ~10% headroom.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Sequence

HBM_GIB = {"tpu-v4": 32, "tpu-v5e": 16, "tpu-v5p": 95, "h100": 80, "a100": 40, "cpu": None}
GIB = 1024**3


def _parse_mesh(text: str) -> tuple[int, int]:
    sizes = dict(item.split("=") for item in text.split(","))
    unknown = set(sizes) - {"data", "model"}
    if unknown:
        raise SystemExit(f"error: --mesh axes are data and model, got {sorted(unknown)}")
    return int(sizes.get("data", 1)), int(sizes.get("model", 1))


def plan(
    config: Any,
    *,
    mesh_shape: tuple[int, int],
    rules: Any,
    batch_size: int,
    feature_lengths: dict[str, int],
    min_dim_size_to_factor: int = 128,
    num_microbatches: int = 1,
) -> dict[str, float]:
    """Bytes per device: params, grads, opt_state, activations (and a parameter count)."""
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    from flanjax.model import T5, abstract_params
    from flanjax import partitioning
    from flanjax.train import optimizers
    from flanjax.train.trainer import LossConfig, loss_sums

    rules = partitioning.get_rules(rules)
    sizes = {"data": mesh_shape[0], "model": mesh_shape[1]}
    boxed = abstract_params(config, boxed=True)
    params = abstract_params(config)
    specs = partitioning.param_specs(boxed, rules)
    tx = optimizers.make_optimizer(1e-3, min_dim_size_to_factor=min_dim_size_to_factor)
    opt_shapes = jax.eval_shape(tx.init, params)
    opt_specs = partitioning.opt_state_specs(opt_shapes, params, specs, min_dim_size_to_factor=min_dim_size_to_factor)

    def total(shapes: Any, spec_tree: Any) -> int:
        leaves = jax.tree.leaves(shapes)
        spec_leaves = jax.tree.leaves(spec_tree, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec))
        return sum(
            partitioning.shard_bytes(a.shape, jnp.dtype(a.dtype).itemsize, s, sizes)
            for a, s in zip(leaves, spec_leaves)
        )

    dp = partitioning.data_parallel_size(_SizesOnly(sizes), rules)
    local = max(batch_size // dp // max(num_microbatches, 1), 1)
    in_len, tgt_len = feature_lengths["inputs"], feature_lengths["targets"]
    batch = {
        "encoder_input_tokens": jax.ShapeDtypeStruct((local, in_len), jnp.int32),
        "decoder_input_tokens": jax.ShapeDtypeStruct((local, tgt_len), jnp.int32),
        "decoder_target_tokens": jax.ShapeDtypeStruct((local, tgt_len), jnp.int32),
        "decoder_loss_weights": jax.ShapeDtypeStruct((local, tgt_len), jnp.int32),
        "encoder_segment_ids": jax.ShapeDtypeStruct((local, in_len), jnp.int32),
        "decoder_segment_ids": jax.ShapeDtypeStruct((local, tgt_len), jnp.int32),
    }
    model = T5(config)

    def residuals(p, b):
        def f(p):
            return loss_sums(p, b, None, model=model, loss_config=LossConfig())[0]

        return jax.vjp(f, p)[1]

    saved = jax.eval_shape(residuals, params, batch)
    # Tensor parallelism splits the activations that carry a heads/mlp/vocab dimension
    # (attention scores and values, MLP hidden, logits) over `model`; recognised by size.
    model_split = {}
    for name, dim in (("heads", config.num_heads), ("mlp", config.d_ff), ("vocab", config.vocab_size)):
        axes = nn.logical_to_mesh_axes((name,), rules)[0]
        if axes is not None:
            axes = (axes,) if isinstance(axes, str) else tuple(axes)
            model_split[dim] = math.prod(sizes[a] for a in axes)

    def activation(a) -> int:
        n = math.prod(a.shape) * jnp.dtype(a.dtype).itemsize
        split = max((model_split.get(d, 1) for d in a.shape[1:]), default=1)
        return -(-n // split)

    activation_bytes = sum(
        activation(a) for a in jax.tree.leaves(saved) if a.ndim >= 2 and a.shape[0] == local
    )
    return {
        "num_params": float(sum(math.prod(a.shape) for a in jax.tree.leaves(params))),
        "params": float(total(params, specs)),
        "grads": float(total(params, specs)),
        "opt_state": float(total(opt_shapes, opt_specs)),
        "activations": float(activation_bytes),
        "local_batch": float(local),
    }


class _SizesOnly:
    """What `data_parallel_size` reads from a mesh: axis names and sizes."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.axis_names = tuple(sizes)
        self.axis_sizes = tuple(sizes.values())


def main(argv: Sequence[str] | None = None) -> int:
    from flanjax.cli import gin_setup as gin_utils

    def add_plan_flags(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--mesh", default=None, help="e.g. data=32,model=8 (default: MESH_SHAPE)")
        parser.add_argument("--device", default="tpu-v4", choices=sorted(HBM_GIB))
        parser.add_argument("--rules", default=None, help="preset (default: LOGICAL_RULES)")

    try:
        bindings, args = gin_utils.parse_command_line(argv, "python -m flanjax.plan", __doc__, add_plan_flags)
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    import gin

    from flanjax.model.config import make_config
    from flanjax.train import loop  # noqa: F401  (registers `train`)

    # Planning needs no run directory or checkpoint.
    defaults = ["MODEL_DIR = '/tmp/unused'", "INITIAL_CHECKPOINT_PATH = None"]
    try:
        gin_utils.parse_gin(args.gin_file, defaults + bindings, args.gin_search_paths)
        lengths = gin_utils.macro_value("TASK_FEATURE_LENGTHS")
        batch_size = int(gin_utils.macro_value("BATCH_SIZE"))
        rules = args.rules or gin_utils.macro_value("LOGICAL_RULES", optional=True)
        config = make_config()
    except gin_utils.GinError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not isinstance(rules, str):
        rules = "data_parallel"
    if args.mesh:
        mesh = _parse_mesh(args.mesh)
    else:
        shape = gin_utils.macro_value("MESH_SHAPE", optional=True)
        if not isinstance(shape, (tuple, list)) or -1 in shape:
            print("error: pass --mesh data=N,model=M (MESH_SHAPE has -1 or is unset)", file=sys.stderr)
            return 2
        mesh = tuple(shape)
    gin.clear_config()

    result = plan(config, mesh_shape=mesh, rules=rules, batch_size=batch_size, feature_lengths=dict(lengths))
    hbm = HBM_GIB[args.device]
    total = result["params"] + result["grads"] + result["opt_state"] + result["activations"]
    print(f"model: {result['num_params'] / 1e9:.2f}B parameters ({config.param_dtype} params, "
          f"{config.dtype} activations, remat {config.remat_policy}, scan {config.scan_layers})")
    print(f"mesh: data={mesh[0]} x model={mesh[1]} ({mesh[0] * mesh[1]} devices), rules {rules}, "
          f"device {args.device}" + (f" ({hbm} GiB)" if hbm else ""))
    print(f"batch {batch_size} ({int(result['local_batch'])} per data shard), lengths {dict(lengths)}")
    print("per device:")
    for key, label in (("params", "parameters"), ("grads", "gradients"), ("opt_state", "optimizer state"),
                       ("activations", "activations (saved for backward)")):
        print(f"  {label:<34} {result[key] / GIB:9.3f} GiB")
    verdict = "" if not hbm else ("  fits" if total < 0.9 * hbm * GIB else "  does NOT fit (keep ~10% headroom)")
    print(f"  {'total':<34} {total / GIB:9.3f} GiB{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
