"""`python -m flanjax.convert --from_hf DIR --out DIR` and `--to_hf DIR [--step N] --out DIR`;
`--from_t5x CHECKPOINT --out DIR` and `--to_t5x DIR [--step N] --out T5X_MODEL_DIR`.

--from_hf reads a transformers `save_pretrained` directory (safetensors) and writes a
flanjax checkpoint (flanjax_config.json + orbax params; with --step N also
flanjax_step.json, the step fine-tuning continues from) with the directory's SentencePiece
model (spiece.model + vocab.json: its extra ids from tokenizer_config.json), which eval,
infer and --to_hf then use. --to_hf exports a converted
checkpoint or a training run's MODEL_DIR (its latest step, or --step N) as a Hugging Face
directory with the run's SentencePiece tokenizer, which `transformers` loads. --out must be
new, empty, or an earlier output of the same kind: it is never written into a training run.
--from_t5x reads a T5X checkpoint (a MODEL_DIR's latest checkpoint_N, or --step N, a
checkpoint_N folder or its msgpack file; local or gs://) into a converted checkpoint that
records T5X's step and keeps its Adafactor state (--out/optimizer, which fine-tuning
restores); --to_t5x writes --out/checkpoint_{step} that T5X restores, with the run's
Adafactor state, and --out/model.gin with the network.T5Config bindings
(flanjax.convert.t5x and flanjax.train.t5x_state say how).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from flanjax.cli.runner import UsageError


class OutDirError(UsageError):
    """--out holds something else than what this conversion writes (one line)."""


def check_out_dir(out: str, kind: str) -> None:
    """`kind`: "converted" (flanjax_config.json + checkpoint/), "hf" (config.json + safetensors)
    or "t5x" (a T5X MODEL_DIR of checkpoint_N folders)."""
    if not os.path.exists(out):
        return
    if not os.path.isdir(out):
        raise OutDirError(f"--out {out} is a file; choose a new directory")
    names = set(os.listdir(out))
    if not names:
        return
    if kind == "converted":
        allowed = {"flanjax_config.json", "checkpoint", "spiece.model", "vocab.json", "flanjax_step.json", "optimizer"}
    elif kind == "t5x":
        allowed = {n for n in names if re.fullmatch(r"checkpoint_\d+", n)} | {"model.gin"}
    else:
        allowed = {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json",
                   "generation_config.json"}
    if not names <= allowed:
        extra = sorted(names - allowed)
        what = "a training run" if "checkpoints" in names else "other files"
        label = {"converted": "converted flanjax checkpoint", "t5x": "T5X export"}.get(kind, "Hugging Face export")
        raise OutDirError(
            f"--out {out} is not empty and is not a {label} "
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
    source.add_argument("--from_t5x", metavar="CHECKPOINT", help="T5X MODEL_DIR, checkpoint_N folder or file (local or gs://)")
    source.add_argument("--to_t5x", metavar="DIR", help="converted checkpoint or training run's MODEL_DIR")
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.add_argument(
        "--step", type=_step, default=None,
        help="(--to_hf / --to_t5x of a run) step to export: a number, 'latest' or 'best' "
        "(KEEP_BEST's), default latest; (--from_t5x of a MODEL_DIR) its step, default latest; "
        "(--from_hf) the step the weights were trained to, which fine-tuning continues (Hugging "
        "Face directories do not record it): 1000000 for T5 1.1, 1100000 for the LM-adapted T5 1.1 "
        "that Flan-T5 and T0 start from (t5x docs/models.md: t5_1_1_base/checkpoint_1000000, "
        "t5_1_1_lm100k_base/checkpoint_1100000)")
    parser.add_argument(
        "--scan_layers", action="store_true", help="(--from_hf, --from_t5x) store layers stacked for nn.scan"
    )
    args = parser.parse_args(argv)
    if isinstance(args.step, str) and (args.from_hf or args.from_t5x):
        raise UsageError(f"--step {args.step}: --from_hf / --from_t5x take a step number")
    if isinstance(args.step, str) and args.to_t5x:
        from flanjax import checkpoints  # pylint: disable=g-import-not-at-top

        latest_of_converted = args.step == "latest" and not checkpoints.saved_steps(args.to_t5x)
        args.step = None if latest_of_converted else checkpoints.resolve_step(args.to_t5x, args.step)
    kind = "converted" if args.from_hf or args.from_t5x else "t5x" if args.to_t5x else "hf"
    check_out_dir(args.out, kind)  # errors: one line, exit 2
    if args.from_t5x or args.to_t5x:
        from flanjax.cli import convert_t5x  # pylint: disable=g-import-not-at-top

        if args.from_t5x:
            convert_t5x.from_t5x(args.from_t5x, args.out, step=args.step, scan_layers=args.scan_layers)
        else:
            convert_t5x.to_t5x(args.to_t5x, args.out, step=args.step)
    elif args.from_hf:
        from flanjax.checkpoints import save_flanjax_checkpoint  # pylint: disable=g-import-not-at-top
        from flanjax.convert.hf import load_hf_t5  # pylint: disable=g-import-not-at-top

        config, params = load_hf_t5(args.from_hf, scan_layers=args.scan_layers)
        if args.step is not None and args.step < 0:
            raise UsageError(f"--step {args.step}: the step the weights reached must be >= 0")
        vocab = _hf_vocabulary(args.from_hf, config.vocab_size)
        save_flanjax_checkpoint(config, params, args.out, step=args.step)
        _record(vocab, args.from_hf, args.out)
    else:
        _to_hf(args.to_hf, args.out, args.step)
    print(f"wrote {args.out}")
    return 0


def _hf_vocabulary(path: str, embed_rows: int):
    """The SentencePiece vocabulary of a Hugging Face directory (its `spiece.model`, with the
    extra ids its tokenizer_config.json gives), checked against the embedding; or None."""
    from flanjax.data import vocab_files  # pylint: disable=g-import-not-at-top

    vocab = vocab_files.recorded_vocabulary(path)
    if vocab is not None:
        vocab_files.check_embedding(
            embed_rows, vocab, f"the tokenizer of {path} ({vocab_files.SPM_FILE})",
            f"Fix extra_ids in {os.path.join(path, vocab_files.HF_TOKENIZER_CONFIG)} or convert the "
            "directory the tokenizer belongs to.")
    return vocab


def _record(vocab, source: str, out: str) -> None:
    """The converted checkpoint carries the vocabulary: infer / eval / --to_hf use it."""
    from flanjax.data import vocab_files  # pylint: disable=g-import-not-at-top

    if vocab is not None:
        vocab_files.record_vocabulary(vocab, out)
        print(f"vocabulary: {vocab_files.SPM_FILE} ({vocab.vocab_size} ids, {vocab.extra_ids} extra) "
              f"recorded in {out}")
        return
    vocab_files.forget_vocabulary(out)  # never a stale tokenizer of an earlier conversion
    print(f"warning: no {vocab_files.SPM_FILE} in {source} (a tokenizer saved by transformers 5 "
          "has only tokenizer.json): the converted checkpoint records no vocabulary; give infer "
          "and eval VOCAB (or env FLANJAX_VOCAB), or copy the model's spiece.model "
          f"into {source} and convert again", file=sys.stderr)


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

