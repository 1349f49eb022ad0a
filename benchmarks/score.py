"""Rank classification: flanjax's encode-once scorer vs the per-option forward pass.

`--examples` random inputs of `--inputs` tokens, each with `--options` answer options of
up to `--option_length` tokens (random lengths 1..option_length, right-padded with 0),
same weights on both sides (`flanjax.convert.save_hf_t5`), float32, processed in batches of
`--batch` examples.

flanjax: `flanjax.model.score_options(config, params, inputs [B, L], options [B, O, T])`:
the encoder runs once per example and every option is scored against that encoding.
baseline: what most codebases do (lm-eval-harness, T0's and many FLAN eval scripts): one
transformers forward pass per option, the input re-encoded each time, summed per-token
log-likelihood from the logits.
`--flanjax_per_option` adds flanjax running the baseline's algorithm (`flanjax.model.score`
once per option), to separate the algorithm's gain from the framework's.

Reports examples/s of each and the ratio; checks the two sides pick the same option.

    python -m benchmarks.score
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from benchmarks import common


def parse_args(argv=None):
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--size", default="small", choices=["tiny", "small", "base", "large"])
    p.add_argument("--examples", type=int, default=256)
    p.add_argument("--options", type=int, default=4)
    p.add_argument("--inputs", type=int, default=256)
    p.add_argument("--option_length", type=int, default=8)
    p.add_argument("--batch", type=int, default=32, help="examples per call")
    p.add_argument("--flanjax_per_option", action="store_true")
    args = p.parse_args(argv)
    if args.tiny:
        args.size, args.examples, args.inputs, args.option_length, args.batch = "tiny", 8, 16, 4, 4
    elif args.quick and args.examples == 256:
        args.examples = 32  # one batch: same per-example work, an eighth of the examples
    return args


def make_data(config, args, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    inputs = rng.integers(2, config.vocab_size, (args.examples, args.inputs), dtype=np.int32)
    options = rng.integers(2, config.vocab_size, (args.examples, args.options, args.option_length), dtype=np.int32)
    lengths = rng.integers(1, args.option_length + 1, (args.examples, args.options))
    options[np.arange(args.option_length)[None, None, :] >= lengths[..., None]] = 0
    return inputs, options


def main(argv=None) -> dict:
    args = parse_args(argv)
    n = common.repeats(args, full=3, quick=2)
    import jax
    import numpy as np
    import torch
    import transformers

    from flanjax.convert import save_hf_t5
    from flanjax.model import T5Config, init_params, score, score_options

    overrides: dict[str, Any] = dict(dtype="float32", dropout_rate=0.0)
    config = T5Config.tiny(**overrides) if args.size == "tiny" else T5Config.t5_1_1(args.size, **overrides)
    machine = common.machine_line()
    print(f"[score] {args.size} float32, {args.examples} examples x {args.options} options, inputs "
          f"{args.inputs}, options <= {args.option_length} tokens, batch {args.batch}, {n} "
          f"alternating repeats; {machine}", flush=True)
    params = jax.tree.map(np.asarray, init_params(config, jax.random.key(0)))
    with tempfile.TemporaryDirectory() as tmp:
        save_hf_t5(config, params, tmp)
        hf = transformers.T5ForConditionalGeneration.from_pretrained(tmp).float().eval()
    params = jax.device_put(params)
    inputs, options = make_data(config, args)
    batches = [(inputs[i : i + args.batch], options[i : i + args.batch]) for i in range(0, args.examples, args.batch)]
    picks: dict[str, np.ndarray] = {}

    def flanjax_encode_once():
        sums = [score_options(config, params, x, o)["sum"] for x, o in batches]
        picks["flanjax"] = np.concatenate([np.asarray(s) for s in jax.block_until_ready(sums)]).argmax(-1)

    def flanjax_per_option():
        sums = [
            np.stack([np.asarray(score(config, params, x, o[:, j])) for j in range(args.options)], -1)
            for x, o in batches
        ]
        picks["flanjax_per_option"] = np.concatenate(sums).argmax(-1)

    def transformers_per_option():
        out = []
        with torch.inference_mode():
            for x, o in batches:
                ids = torch.from_numpy(x).long()
                mask = ids.ne(0).long()
                per_option = []
                for j in range(args.options):
                    labels = torch.from_numpy(o[:, j]).long()
                    dec_in = torch.cat([torch.zeros_like(labels[:, :1]), labels[:, :-1]], 1)
                    logits = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_in).logits
                    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels[..., None])[..., 0]
                    per_option.append((logp * labels.ne(0)).sum(-1))
                out.append(torch.stack(per_option, -1).numpy())
        picks["transformers"] = np.concatenate(out).argmax(-1)

    start = time.perf_counter()
    flanjax_encode_once()  # compiles (one program per batch shape)
    compile_s = time.perf_counter() - start
    if args.flanjax_per_option:
        flanjax_per_option()
    print(f"  flanjax: compiled and ran once in {compile_s:.1f}s", flush=True)
    sides = {"flanjax": flanjax_encode_once, "transformers": transformers_per_option}
    if args.flanjax_per_option:
        sides["flanjax_per_option"] = flanjax_per_option
    times = common.alternate(sides, repeats=n, warmup=common.warmups(args, 1, 1))

    result: dict[str, Any] = {
        "benchmark": "score", "size": args.size, "examples": args.examples, "options": args.options,
        "inputs": args.inputs, "option_length": args.option_length, "batch": args.batch,
        "repeats": n, "machine": machine, "flanjax_compile_s": round(compile_s, 1),
    }
    rows = []
    for side, ts in times.items():
        s = common.median(ts)
        result[f"{side}_s"] = round(s, 3)
        result[f"{side}_examples_per_s"] = round(args.examples / s, 2)
        rows.append([side, s, args.examples / s, f"{100 * common.spread(ts):.0f}%"])
    result["ratio"] = round(result["flanjax_examples_per_s"] / result["transformers_examples_per_s"], 3)
    if args.flanjax_per_option:
        result["algorithm_ratio"] = round(
            result["flanjax_examples_per_s"] / result["flanjax_per_option_examples_per_s"], 3
        )
    result["same_choice"] = round(float(np.mean(picks["flanjax"] == picks["transformers"])), 3)
    result["target"] = 3.0
    common.print_table(
        f"rank classification, T5 v1.1 {args.size}, {args.examples} x {args.options} options",
        rows,
        ["side", "seconds (median)", "examples/s", "spread"],
    )
    print(f"  ratio flanjax/transformers: {result['ratio']} (target >= 3); "
          f"same option chosen: {100 * result['same_choice']:.1f}%")
    common.emit(result, args.json_out)
    return result


if __name__ == "__main__":
    common.keep_freed_memory(parse_args())  # before JAX starts its CPU client; see flanjax/hostmem.py
    main()
