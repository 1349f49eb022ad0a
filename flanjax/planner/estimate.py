"""The fast estimate: per-device bytes of params, optimizer state and activations.

Nothing is allocated and nothing is compiled: the parameter and optimizer-state shapes come
from `jax.eval_shape`, their per-device shards from the logical-axis rules and the mesh
sizes (no devices needed), and the activations from the residuals that `jax.vjp` keeps for
the backward pass, traced abstractly for one device's share of the batch (batch /
data-parallel size). Activations carrying a heads, mlp or vocab dimension are divided by
the mesh axes the rules map those names to (tensor parallelism), recognised by their size,
which breaks when sizes collide. Compiler temporaries are not counted: on TPU they dominate
for long sequences (XLA's own numbers: `python -m flanjax.plan --compile`, which should be
trusted over this estimate).
"""

from __future__ import annotations

import math
from typing import Any

HBM_GIB = {"tpu-v4": 32, "tpu-v5e": 16, "tpu-v5p": 95, "tpu-v6e": 32, "h100": 80, "a100": 40, "cpu": None}
GIB = 1024**3


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
    tx = tx.bind(nn.get_partition_spec(boxed))  # factored by logical names, as the Trainer does
    opt_shapes = jax.eval_shape(tx.init, params)
    opt_specs = nn.logical_to_mesh(tx.state_axes(params), rules)

    def total(shapes: Any, spec_tree: Any) -> int:
        leaves = jax.tree.leaves(shapes)
        spec_leaves = jax.tree.leaves(spec_tree, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec))
        return sum(
            partitioning.shard_bytes(a.shape, jnp.dtype(a.dtype).itemsize, s, sizes)
            for a, s in zip(leaves, spec_leaves)
        )

    dp = partitioning.data_parallel_size(_SizesOnly(sizes), rules)
    partitioning.check_batch_split(batch_size, dp, num_microbatches)  # what the trainer refuses
    local = batch_size // dp // max(num_microbatches, 1)
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
