"""`python -m flanjax.convert --from_hf DIR --out DIR` and `--to_hf DIR --out DIR`.

--from_hf reads a transformers `save_pretrained` directory (safetensors) and writes a
flanjax checkpoint (flanjax_config.json + orbax params); --to_hf goes back.
"""

from __future__ import annotations

import argparse
import sys

from flanjax.checkpoints import load_flanjax_checkpoint, save_flanjax_checkpoint
from flanjax.convert.hf import load_hf_t5, save_hf_t5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flanjax.convert", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from_hf", metavar="DIR", help="transformers T5 directory")
    source.add_argument("--to_hf", metavar="DIR", help="flanjax checkpoint directory")
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.add_argument(
        "--scan_layers", action="store_true", help="(--from_hf) store layers stacked for nn.scan"
    )
    args = parser.parse_args(argv)
    if args.from_hf:
        config, params = load_hf_t5(args.from_hf, scan_layers=args.scan_layers)
        save_flanjax_checkpoint(config, params, args.out)
    else:
        config, params = load_flanjax_checkpoint(args.to_hf)
        save_hf_t5(config, params, args.out)
    print(f"wrote {args.out}")
    return 0
