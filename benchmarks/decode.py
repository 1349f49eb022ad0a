"""Decoding: flanjax's cached decoder (`flanjax.model.generate`) vs transformers' generate().

The same weights on both sides (flanjax's parameters written with
`flanjax.convert.save_hf_t5` and loaded by `T5ForConditionalGeneration.from_pretrained`),
float32, a batch of `--batch` random inputs of `--inputs` tokens, `--new_tokens` new tokens:
greedy, then beam search with `--num_beams` beams (length penalty 0.6 in transformers'
convention on both sides, `early_stopping="never"`, which flanjax's beam search reproduces
token for token). The EOS column of the output layer is zeroed, so that neither side can
stop early and both always produce exactly `--new_tokens` tokens per row (random weights
would otherwise end rows at arbitrary points); the tokens each side produced are compared
as a sanity check.

Reports new tokens/s (batch x new tokens / seconds) of each side and method, and the ratios;
`ratio` in the JSON is greedy's, `beam_ratio` beam search's.

    python -m benchmarks.decode
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from benchmarks import common


def parse_args(argv=None):
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--size", default="small", choices=["tiny", "small", "base", "large"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--inputs", type=int, default=256)
    p.add_argument("--new_tokens", type=int, default=64)
    p.add_argument("--num_beams", type=int, default=4)
    p.add_argument("--no_beam", action="store_true", help="greedy only")
    args = p.parse_args(argv)
    if args.tiny:
        args.size, args.batch, args.inputs, args.new_tokens = "tiny", 2, 16, 8
    return args


def make_weights(config, seed: int = 0):
    """flanjax parameters with the EOS logit pinned to 0 (no row ever ends early)."""
    import jax
    import numpy as np

    from flanjax.model import init_params

    params = jax.tree.map(np.asarray, init_params(config, jax.random.key(seed)))
    kernel = params["decoder"]["logits_dense"]["kernel"].copy()  # [embed, vocab]
    kernel[:, config.eos_id] = 0.0
    params["decoder"]["logits_dense"]["kernel"] = kernel
    return params


def main(argv=None) -> dict:
    args = parse_args(argv)
    n = common.repeats(args, full=3, quick=1)
    import jax
    import numpy as np
    import torch
    import transformers

    from flanjax.convert import save_hf_t5
    from flanjax.model import T5Config, generate

    overrides: dict[str, Any] = dict(dtype="float32", dropout_rate=0.0)
    config = T5Config.tiny(**overrides) if args.size == "tiny" else T5Config.t5_1_1(args.size, **overrides)
    machine = common.machine_line()
    print(f"[decode] {args.size} float32, batch {args.batch} x {args.inputs} input tokens, "
          f"{args.new_tokens} new tokens, {n} alternating repeats; {machine}", flush=True)

    params = make_weights(config)
    with tempfile.TemporaryDirectory() as tmp:
        save_hf_t5(config, params, tmp)
        hf = transformers.T5ForConditionalGeneration.from_pretrained(tmp).float().eval()
    params = jax.device_put(params)
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, config.vocab_size, (args.batch, args.inputs), dtype=np.int32)
    input_ids = torch.from_numpy(tokens).long()
    mask = torch.ones_like(input_ids)
    out: dict[str, Any] = {}

    def fj(method: str):
        def run():
            kwargs = dict(num_beams=args.num_beams, alpha=0.6, length_penalty_style="hf")
            out[f"flanjax_{method}"] = np.asarray(
                jax.block_until_ready(
                    generate(config, params, tokens, max_decode_length=args.new_tokens, method=method, **kwargs)
                )
            )
        return run

    def tf(method: str):
        beams = args.num_beams if method == "beam" else 1
        def run():
            with torch.inference_mode():
                ids = hf.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=args.new_tokens,
                    min_new_tokens=args.new_tokens,
                    do_sample=False,
                    num_beams=beams,
                    length_penalty=0.6,
                    early_stopping="never" if beams > 1 else False,
                    eos_token_id=config.eos_id,
                    pad_token_id=config.pad_id,
                    decoder_start_token_id=config.decoder_start_id,
                )
            out[f"transformers_{method}"] = ids[:, 1:].numpy()  # drop the start token
        return run

    result: dict[str, Any] = {
        "benchmark": "decode", "size": args.size, "batch": args.batch, "inputs": args.inputs,
        "new_tokens": args.new_tokens, "num_beams": args.num_beams, "repeats": n, "machine": machine,
    }
    rows = []
    methods = ["greedy"] if args.no_beam else ["greedy", "beam"]
    new_tokens = args.batch * args.new_tokens
    for method in methods:
        start = time.perf_counter()
        fj(method)()
        result[f"flanjax_{method}_compile_s"] = round(time.perf_counter() - start, 1)
        print(f"  flanjax {method}: compiled and ran once in {result[f'flanjax_{method}_compile_s']}s", flush=True)
        times = common.alternate(
            {"flanjax": fj(method), "transformers": tf(method)}, repeats=n, warmup=common.warmups(args, 1, 1)
        )
        a, b = out[f"flanjax_{method}"], out[f"transformers_{method}"]
        agree = float(np.mean(a == b)) if a.shape == b.shape else 0.0
        for side, ts in times.items():
            s = common.median(ts)
            result[f"{side}_{method}_s"] = round(s, 4)
            result[f"{side}_{method}_tokens_per_s"] = round(new_tokens / s, 1)
            rows.append([method, side, s, new_tokens / s, f"{100 * common.spread(ts):.0f}%"])
        result[f"{method}_ratio"] = round(
            result[f"flanjax_{method}_tokens_per_s"] / result[f"transformers_{method}_tokens_per_s"], 3
        )
        result[f"{method}_token_agreement"] = round(agree, 3)
    result["ratio"] = result["greedy_ratio"]
    result["target"] = 2.0
    common.print_table(
        f"decoding, T5 v1.1 {args.size}, {args.batch} x {args.inputs} inputs, {args.new_tokens} new tokens",
        rows,
        ["method", "side", "seconds (median)", "new tokens/s", "spread"],
    )
    for method in methods:
        print(f"  {method}: ratio {result[f'{method}_ratio']} (target >= 2), "
              f"same tokens as transformers: {100 * result[f'{method}_token_agreement']:.1f}%")
    common.emit(result, args.json_out)
    return result


if __name__ == "__main__":
    common.keep_freed_memory(parse_args())  # before JAX starts its CPU client; see flanjax/hostmem.py
    main()
