"""The model's two CPU-tuned layouts against T5X's, in the train step compiled for a TPU.

    python -m benchmarks.tpu_layouts [--size small] [--topology v5e-16] [--batch 64]

No TPU is needed (libtpu's topology description; `flanjax.planner.aot`): for each of the
four combinations of `flanjax.model.layers.Layouts` (head-major attention einsums, stacked
gated-MLP matmul) it compiles the trainer's train step for the slice and prints XLA's FLOPs
and bytes accessed per chip, its temporaries, and the roofline step time (an estimate:
`flanjax.planner.roofline`). Compile-time numbers, not measured TPU time. Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="small", help="T5 v1.1 size (tiny for a smoke run)")
    parser.add_argument("--topology", default="v5e-16")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=512)
    parser.add_argument("--targets", type=int, default=128)
    parser.add_argument("--rules", default="data_parallel")
    parser.add_argument("--layers", type=int, default=None,
                        help="encoder and decoder depth (default: the size's; fewer compile faster)")
    args = parser.parse_args()

    import jax
    import numpy as np

    from flanjax.model import T5Config, flops_per_token
    from flanjax.model.layers import Layouts, layouts_for
    from flanjax.planner import aot, roofline, topology
    from flanjax import partitioning
    from flanjax.train import optimizers
    from flanjax.train.trainer import Trainer

    slice_ = topology.parse_slice(args.topology)
    mesh = partitioning.make_mesh((-1, 1), aot.topology_devices(slice_))
    depth = {} if args.layers is None else {"num_encoder_layers": args.layers, "num_decoder_layers": args.layers}
    config = T5Config.t5_1_1(args.size, **depth)
    shapes = {
        k: jax.ShapeDtypeStruct((args.batch, args.inputs if k.startswith("encoder") else args.targets), np.int32)
        for k in ("encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights")
    }
    model_flops = flops_per_token(config, args.inputs, args.targets) * args.batch * (args.inputs + args.targets)
    rows = []
    for head_major in (True, False):
        for stacked in (True, False):
            layouts = Layouts(head_major_attention=head_major, stacked_gated_mlp=stacked)
            trainer = Trainer(config, optimizers.make_optimizer(1e-3), lambda s: 1e-3, mesh, args.rules, shapes)
            start = time.perf_counter()
            with layouts_for(layouts):
                lowered = trainer.lower_train_step()
            stats = aot.compile_lowered(lowered)
            roof = roofline.roofline(slice_.chip, xla_flops=stats.flops, bytes_accessed=stats.bytes_accessed,
                                     model_flops=model_flops, num_chips=slice_.num_chips)
            row = {
                "head_major_attention": head_major, "stacked_gated_mlp": stacked,
                "xla_flops": stats.flops, "bytes_accessed": stats.bytes_accessed,
                "temp_bytes": stats.temp_bytes, "roofline_ms": 1e3 * roof.step_seconds,
                "bound": roof.bound, "estimated_mfu": roof.mfu,
                "compile_s": round(time.perf_counter() - start, 1),
            }
            rows.append(row)
            print(f"head_major={head_major!s:5} stacked={stacked!s:5}  XLA {stats.flops:.4e} FLOP, "
                  f"{stats.bytes_accessed / 2**30:.3f} GiB accessed, temp {stats.temp_bytes / 2**30:.3f} GiB, "
                  f"roofline {row['roofline_ms']:.2f} ms ({roof.bound}), MFU <= {100 * roof.mfu:.1f}%  "
                  f"[{row['compile_s']} s]", flush=True)
    print(json.dumps({"topology": args.topology, "size": args.size, "layers": args.layers, "batch": args.batch,
                      "lengths": [args.inputs, args.targets], "rows": rows}))


if __name__ == "__main__":
    main()
