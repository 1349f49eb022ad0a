"""Trains the bundled SentencePiece model on the demo data's rendered templates.

    python -m flanjax.data.bundled.train_spm            # rewrites flanjax_demo_spm.{model,vocab}
    python -m flanjax.data.bundled.train_spm --out_prefix /tmp/spm --vocab_size 2000

The corpus is every split of every bundled dataset rendered with every `demo` template
(inputs and targets), plus the template patterns' own words, in a fixed order; training
runs on one thread, so the model is the same byte for byte on every run.

The model follows T5's id convention (pad 0, eos 1, unk 2, no bos) so that
`seqio.SentencePieceVocabulary` uses it like T5's. Normalization is plain NFKC (not T5's
"nmt_nfkc", which turns newlines into spaces) and extra whitespace is kept, so
`decode(encode(text)) == text` for demo text, newlines of FLAN's "OPTIONS:" lists included.
("identity" would round-trip any text too, but SentencePiece then logs a line each time the
model is loaded, twice per task in every pipeline; NFKC's table costs 240 KB.)
`byte_fallback` spells any character the model never saw as UTF-8 bytes instead of <unk>.
Digits are split one per piece, which makes the arithmetic tasks learnable by a tiny model.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from typing import Iterator

import sentencepiece as spm

from flanjax.data.bundled import generators

DEFAULT_PREFIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flanjax_demo_spm")
DEFAULT_VOCAB_SIZE = 2000
NORMALIZATION = "nfkc"  # keeps "\n"; see the module docstring


def _raw(builder: str, example: dict) -> dict:
    """A generated example as TFDS would decode it (ClassLabel names -> ints)."""
    schema = generators.SPECS_BY_NAME[builder].schema
    return {
        k: (schema[k].index(v) if isinstance(schema[k], tuple) else v)
        for k, v in example.items()
    }


def corpus() -> Iterator[str]:
    """Rendered inputs and targets of all demo templates on all splits, then the patterns."""
    from flanjax.data.catalog import demo  # pylint: disable=g-import-not-at-top

    for entry in demo.ENTRIES:
        builder = entry.source.tfds_name.split(":")[0]
        for split, examples in generators.generate_splits(builder).items():
            del split
            for example in examples:
                fields = entry.preprocess(_raw(builder, example))
                for template in entry.templates:
                    rendered = template.render(fields)
                    yield rendered.inputs
                    yield rendered.targets
    for pairs in demo.PATTERNS.values():
        for pair in pairs:
            for pattern in pair:
                yield re.sub(r"\{[a-z_]+\}", " ", pattern)


def _word_list(sentences: list[str]) -> list[str]:
    """Every word and letter run of the corpus, each once, as extra one-word sentences.

    SentencePiece's unigram trainer seeds its pieces from substrings that are followed by
    more than one different character. In templated text a word like "is" is always
    followed by a space and "OPTIONS" always by ":", so they would never be seeded and
    would end up spelled letter by letter; one standalone copy of each fixes that.
    """
    words = {w for s in sentences for w in s.split()}
    words |= {w for s in sentences for w in re.findall(r"[A-Za-z']+", s)}
    return sorted(words)


def train(out_prefix: str = DEFAULT_PREFIX, vocab_size: int = DEFAULT_VOCAB_SIZE) -> str:
    """Trains the model; writes `{out_prefix}.model` and `.vocab`; returns the .model path."""
    sentences = [s for s in corpus() if s.strip()]
    sentences += _word_list(sentences)
    model = io.BytesIO()  # not `model_prefix`: the model would record the output path
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,  # a smaller vocabulary if the corpus cannot fill it
        character_coverage=1.0,
        byte_fallback=True,
        normalization_rule_name=NORMALIZATION,
        remove_extra_whitespaces=False,
        split_digits=True,
        # T5's ids (`t5/data/utils.py` vocabularies): pad 0, eos 1, unk 2, no bos.
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,  # deterministic
        input_sentence_size=0,  # all sentences, in order
        shuffle_input_sentence=False,
        max_sentence_length=8192,
        minloglevel=2,
    )
    with open(out_prefix + ".model", "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    with open(out_prefix + ".vocab", "w", encoding="utf-8") as f:
        for i in range(sp.get_piece_size()):
            f.write(f"{_escape(sp.id_to_piece(i))}\t{sp.get_score(i):g}\n")
    return out_prefix + ".model"


def _escape(piece: str) -> str:
    # One piece per line in the .vocab listing, so newlines and tabs are written escaped.
    return piece.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--vocab_size", type=int, default=DEFAULT_VOCAB_SIZE)
    args = parser.parse_args(argv)
    path = train(args.out_prefix, args.vocab_size)
    sp = spm.SentencePieceProcessor(model_file=path)
    print(f"Wrote {path} ({os.path.getsize(path)} bytes, {sp.get_piece_size()} pieces).")


if __name__ == "__main__":
    main(sys.argv[1:])
