"""`python -m flanjax.convert --from_hf DIR --out DIR` and `--to_hf DIR [--step N] --out DIR`.

--from_hf reads a transformers `save_pretrained` directory (safetensors) and writes a
flanjax checkpoint (flanjax_config.json + orbax params). --to_hf exports a converted
checkpoint or a training run's MODEL_DIR (its latest step, or --step N) as a Hugging Face
directory with the run's SentencePiece tokenizer, which `transformers` loads. --out must be
new, empty, or an earlier output of the same kind: it is never written into a training run.
"""

from __future__ import annotations

import argparse
import os
import sys

from flanjax.cli.runner import UsageError


class OutDirError(UsageError):
    """--out holds something else than what this conversion writes (one line)."""


def check_out_dir(out: str, kind: str) -> None:
    """`kind`: "converted" (flanjax_config.json + checkpoint/) or "hf" (config.json + safetensors)."""
    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise OutDirError(f"--out {out} is a file; choose a new directory")
    names = set(os.listdir(out))
    if not names:
        return
    allowed = ({"flanjax_config.json", "checkpoint", "spiece.model", "vocab.json"} if kind == "converted"
               else {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json",
                     "generation_config.json"})
    if not names <= allowed:
        extra = sorted(names - allowed)
        what = "a training run" if "checkpoints" in names else "other files"
        raise OutDirError(
            f"--out {out} is not empty and is not a {'converted flanjax checkpoint' if kind == 'converted' else 'Hugging Face export'} "
            f"(it holds {what}: {', '.join(extra[:5])}); choose a new or empty directory"
        )


def _step(text: str) -> int | str:
    """--step: a number, or 'latest' / 'best' (`flanjax.checkpoints.resolve_step`)."""
    if text.isdigit():
        return int(text)
    if text in ("latest", "best"):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither a step number, 'latest' nor 'best'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flanjax.convert", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from_hf", metavar="DIR", help="transformers T5 directory")
    source.add_argument("--to_hf", metavar="DIR", help="converted checkpoint or training run's MODEL_DIR")
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.add_argument("--step", type=_step, default=None,
                        help="(--to_hf of a run) step to export: a number, 'latest' or 'best' (KEEP_BEST's); default latest")
    parser.add_argument(
        "--scan_layers", action="store_true", help="(--from_hf) store layers stacked for nn.scan"
    )
    args = parser.parse_args(argv)
    check_out_dir(args.out, "converted" if args.from_hf else "hf")  # errors: one line, exit 2
    if args.from_hf:
        from flanjax.checkpoints import save_flanjax_checkpoint  # pylint: disable=g-import-not-at-top
        from flanjax.convert.hf import load_hf_t5  # pylint: disable=g-import-not-at-top

        config, params = load_hf_t5(args.from_hf, scan_layers=args.scan_layers)
        save_flanjax_checkpoint(config, params, args.out)
    else:
        _to_hf(args.to_hf, args.out, args.step)
    print(f"wrote {args.out}")
    return 0


def _to_hf(path: str, out: str, step: int | str | None) -> None:
    from flanjax import checkpoints  # pylint: disable=g-import-not-at-top  # run, converted, HF layouts
    from flanjax.convert import export  # pylint: disable=g-import-not-at-top
    from flanjax.data import vocab_files  # pylint: disable=g-import-not-at-top

    config, params = checkpoints.load_model(path, step=step)
    vocab = vocab_files.recorded_vocabulary(path)
    if vocab is not None:  # the exported tokenizer must produce exactly the ids the model embeds
        vocab_files.check_embedding(
            config.vocab_size, vocab, f"the SentencePiece model recorded in {path}",
            f"Fix {os.path.join(path, vocab_files.INFO_FILE)} (its extra_ids) or the recorded "
            f"{vocab_files.SPM_FILE} before exporting.")
    written = export.save_hf_export(
        config, params, out, spm_model=None if vocab is None else vocab.sentencepiece_model_file,
        extra_ids=0 if vocab is None else vocab.extra_ids,
    )
    if vocab is None:
        print(f"warning: no SentencePiece model recorded in {path}; the export has no tokenizer", file=sys.stderr)
    print(f"exported {path}{'' if step is None else f' step {step}'}: {', '.join(written)}")

