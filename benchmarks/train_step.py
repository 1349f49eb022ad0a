"""Training step: flanjax's jitted train step vs transformers' T5 + Adafactor on CPU.

Both sides train the same architecture (T5 v1.1 small by default, `--size base`) on the
same random, unpacked batch (`--batch` rows of `--inputs` encoder and `--targets` decoder
tokens, every token real), with Adafactor at T5X's settings (factored second moments,
decay 1 - t^-0.8, update clipping 1.0, parameter-scaled step, no momentum, constant
learning rate 1e-3), no dropout, float32 everywhere (bfloat16 is no faster on this CPU;
`--dtype bfloat16` runs flanjax's activations in bfloat16 anyway).

flanjax: `flanjax.train.trainer.Trainer(...).train_step(state, batch, rng)`, the one
compiled step the training loop runs (state donated, T5X's loss with z-loss 1e-4).
transformers: `T5ForConditionalGeneration(labels=...)`, `loss.backward()`,
`transformers.optimization.Adafactor.step()`, `zero_grad(set_to_none=True)`.

Reports tokens/s (encoder + decoder tokens per second) of each, their ratio, and each
one's model-FLOPs utilisation (`flanjax.model.flops_per_token`, 3x forward matmul FLOPs)
against the float32 matmul peak measured in the same run.

    python -m benchmarks.train_step            # small, batch 8, 512 + 128
    python -m benchmarks.train_step --size base --quick
"""

from __future__ import annotations

import time
from typing import Any, Callable

from benchmarks import common


def parse_args(argv=None):
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--size", default="small", choices=["tiny", "small", "base", "large"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--inputs", type=int, default=512)
    p.add_argument("--targets", type=int, default=128)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--no_baseline", action="store_true", help="flanjax only (profiling)")
    args = p.parse_args(argv)
    if args.tiny:
        args.size, args.batch, args.inputs, args.targets = "tiny", 2, 32, 8
    return args


def make_config(args):
    from flanjax.model import T5Config

    overrides: dict[str, Any] = dict(dtype=args.dtype, param_dtype="float32", dropout_rate=0.0)
    if args.size == "tiny":
        return T5Config.tiny(**overrides)
    return T5Config.t5_1_1(args.size, **overrides)


def random_batch(config, batch: int, inputs: int, targets: int, seed: int = 0) -> dict:
    """Unpacked numpy batch with every token real (ids in [2, vocab)), T5X feature names."""
    import numpy as np

    rng = np.random.default_rng(seed)
    enc = rng.integers(2, config.vocab_size, (batch, inputs), dtype=np.int32)
    tgt = rng.integers(2, config.vocab_size, (batch, targets), dtype=np.int32)
    dec_in = np.concatenate([np.full((batch, 1), config.decoder_start_id, np.int32), tgt[:, :-1]], 1)
    return {
        "encoder_input_tokens": enc,
        "decoder_input_tokens": dec_in,
        "decoder_target_tokens": tgt,
        "decoder_loss_weights": np.ones_like(tgt, np.float32),
    }


def flanjax_step(config, batch: dict, learning_rate: float) -> Callable[[], float]:
    """A closure running one flanjax train step (and blocking on it); returns the loss."""
    import jax

    from flanjax import partitioning
    from flanjax.train import optimizers
    from flanjax.train.trainer import Trainer

    schedule = optimizers.make_schedule("constant", learning_rate)
    tx = optimizers.make_optimizer(schedule)
    shapes = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in batch.items()}
    trainer = Trainer(config, tx, schedule, partitioning.make_mesh((1, 1)), "data_parallel", shapes)
    device_batch = {k: jax.device_put(v, trainer.batch_shardings[k]) for k, v in batch.items()}
    rng = jax.random.key(1)
    holder = {"state": trainer.init_state(jax.random.key(0))}

    def step() -> float:
        state, metrics = trainer.train_step(holder["state"], device_batch, rng)
        holder["state"] = state  # the old state was donated
        return float(jax.block_until_ready(metrics["loss"]))

    return step


def transformers_step(config, batch: dict, learning_rate: float) -> Callable[[], float]:
    """The same step in transformers/PyTorch: forward with labels, backward, Adafactor."""
    import torch
    import transformers
    from transformers.optimization import Adafactor

    from flanjax.convert.hf import config_to_hf

    hf_config = transformers.T5Config(**{**config_to_hf(config), "dropout_rate": 0.0})
    torch.manual_seed(0)
    model = transformers.T5ForConditionalGeneration(hf_config).float().train()
    # T5X's Adafactor: parameter-scaled step, decay 1 - t^-0.8, clip 1.0, no momentum.
    opt = Adafactor(
        model.parameters(),
        lr=learning_rate,
        scale_parameter=True,
        relative_step=False,
        warmup_init=False,
        clip_threshold=1.0,
        decay_rate=-0.8,
        beta1=None,
    )
    input_ids = torch.from_numpy(batch["encoder_input_tokens"]).long()
    labels = torch.from_numpy(batch["decoder_target_tokens"]).long()
    attention_mask = torch.ones_like(input_ids)

    def step() -> float:
        loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    return step


def main(argv=None) -> dict:
    args = parse_args(argv)
    n = common.repeats(args, full=7, quick=3)
    from flanjax.model import flops_per_token

    config = make_config(args)
    machine = common.machine_line()
    print(f"[train_step] {args.size} {args.dtype}, batch {args.batch} x ({args.inputs} + "
          f"{args.targets}) tokens, {n} alternating repeats; {machine}", flush=True)
    peak_before = common.matmul_peak_gflops()
    batch = random_batch(config, args.batch, args.inputs, args.targets)
    tokens = args.batch * (args.inputs + args.targets)

    start = time.perf_counter()
    sides: dict[str, Callable[[], float]] = {"flanjax": flanjax_step(config, batch, args.learning_rate)}
    sides["flanjax"]()  # compiles
    compile_s = time.perf_counter() - start
    print(f"  flanjax: built and compiled in {compile_s:.1f}s", flush=True)
    if not args.no_baseline:
        sides["transformers"] = transformers_step(config, batch, args.learning_rate)
    peaks = [peak_before]
    times = common.alternate(
        sides,
        repeats=n,
        warmup=common.warmups(args, 1, 1),
        between=lambda: peaks.append(common.matmul_peak_gflops()),
    )
    peak = common.median(peaks)  # sampled before and after every round, under the same load

    flops = flops_per_token(config, args.inputs, args.targets)
    result: dict[str, Any] = {
        "benchmark": "train_step",
        "size": args.size,
        "dtype": args.dtype,
        "batch": args.batch,
        "inputs": args.inputs,
        "targets": args.targets,
        "repeats": n,
        "peak_gflops": round(peak, 1),
        "peak_gflops_samples": [round(x, 1) for x in peaks],
        "flops_per_token": flops,
        "flanjax_compile_s": round(compile_s, 1),
        "machine": machine,
    }
    rows = []
    for name, ts in times.items():
        step_s = common.median(ts)
        tps = tokens / step_s
        mfu = flops * tps / (peak * 1e9)
        result[f"{name}_step_s"] = round(step_s, 4)
        result[f"{name}_tokens_per_s"] = round(tps, 1)
        result[f"{name}_mfu"] = round(mfu, 3)
        result[f"{name}_spread"] = round(common.spread(ts), 3)
        result[f"{name}_best_step_s"] = round(min(ts), 4)
        rows.append([name, step_s, tps, f"{100 * mfu:.1f}%", f"{100 * common.spread(ts):.0f}%"])
    if "transformers" in times:
        result["ratio"] = round(result["flanjax_tokens_per_s"] / result["transformers_tokens_per_s"], 3)
        # Best (least disturbed) step of each side: on a shared machine, less load-sensitive.
        result["ratio_best"] = round(result["transformers_best_step_s"] / result["flanjax_best_step_s"], 3)
    else:
        result["ratio"] = None
    result["target"] = 1.25
    common.print_table(
        f"train step, T5 v1.1 {args.size}, {tokens} tokens/step, peak {peak:.0f} GFLOP/s",
        rows,
        ["side", "step s (median)", "tokens/s", "MFU", "spread"],
    )
    print(f"  ratio flanjax/transformers: {result['ratio']} of medians, {result.get('ratio_best')} of best "
          "steps (target >= 1.25)")
    common.emit(result, args.json_out)
    return result


if __name__ == "__main__":
    common.keep_freed_memory(parse_args())  # before JAX starts its CPU client; see flanjax/hostmem.py
    main()
