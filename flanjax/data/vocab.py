"""Vocabularies: T5's SentencePiece model (by gs:// path) and the bundled demo model.

`get_vocabulary(name)` returns a `seqio.SentencePieceVocabulary`; seqio loads the model file
lazily (on first encode/decode or `vocab_size`), so constructing T5's vocabulary touches no
network. Both follow T5's id convention: pad 0, eos 1, unk 2, no bos.
"""

from __future__ import annotations

import functools
import os
from typing import Optional, Union

import seqio
from flanjax.data import locations

# T5's vocabulary (Raffel et al. 2020): 32,000 SentencePiece pieces trained on C4, plus 100
# sentinel ids <extra_id_0..99> for span corruption = 32,100 ids (`t5/data/utils.py`).
T5_SPM_PATH = "gs://t5-data/vocabs/cc_all.32000/sentencepiece.model"
T5_EXTRA_IDS = 100
T5_NUM_PIECES = 32_000

# The small unigram model trained on the bundled demo data (`bundled/train_spm.py`).
BUNDLED_SPM_PATH = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "bundled", "flanjax_demo_spm.model"
)
BUNDLED_EXTRA_IDS = 0

VOCAB_ENV = "FLANJAX_VOCAB"
_ALIASES = {"t5": (T5_SPM_PATH, T5_EXTRA_IDS), "bundled": (BUNDLED_SPM_PATH, BUNDLED_EXTRA_IDS)}


def get_vocabulary(
    name: Optional[str] = None, extra_ids: Optional[int] = None
) -> seqio.SentencePieceVocabulary:
    """A SentencePiece vocabulary by name: "t5", "bundled", or a model path (gs:// ok).

    `name` defaults to env FLANJAX_VOCAB, else "t5". `extra_ids` defaults to 100 for T5's
    model (its span-corruption sentinels), to the number recorded beside a checkpoint's
    `spiece.model` (`vocab_files`, its `vocab.json`), and 0 otherwise. A local path that does not exist
    fails here, with the path in the message; remote paths are only opened when used.
    """
    name = name or locations.get("VOCAB")
    path, default_extra = _ALIASES.get(name, (name, 0))
    if path == T5_SPM_PATH:
        default_extra = T5_EXTRA_IDS
    if "://" not in path and not os.path.exists(os.path.expanduser(path)):
        hint = (
            " (the bundled model ships with the package; reinstall flanjax or run "
            "`python -m flanjax.data.bundled.train_spm`)"
            if path == BUNDLED_SPM_PATH
            else f"; use 't5', 'bundled' or a SentencePiece .model path (env {VOCAB_ENV})"
        )
        raise FileNotFoundError(f"SentencePiece model not found: {path!r}{hint}.")
    if "://" not in path:
        path = os.path.expanduser(path)
        check_model_file(path)
    if extra_ids is None and path not in (T5_SPM_PATH, BUNDLED_SPM_PATH):
        # A checkpoint's recorded spiece.model: the extra ids it was trained with.
        from flanjax.data import vocab_files  # pylint: disable=g-import-not-at-top

        extra_ids = vocab_files.recorded_extra_ids_of(path)
    return seqio.SentencePieceVocabulary(
        path, extra_ids=default_extra if extra_ids is None else extra_ids
    )


class VocabularyUnreadableError(ValueError):
    """A SentencePiece model file that cannot be read (one line: the path and the fix)."""


def load_or_explain(vocab: seqio.Vocabulary, setting: str = "VOCAB") -> None:
    """Reads `vocab`'s model file now (seqio reads it lazily, deep inside a tf.data pipeline)
    and turns a failure into one line naming the file and the setting that chose it.

    T5's default is a gs:// path: offline, or without Google Cloud credentials, TensorFlow's
    GCS client fails with a 60-line traceback from the first tokenization.
    """
    if not isinstance(vocab, seqio.SentencePieceVocabulary):
        return
    try:
        vocab.load_model()
    except Exception as e:  # pylint: disable=broad-except  # tf.errors.*, OSError, DecodeError
        path = vocab.sentencepiece_model_file
        lines = [l.strip() for l in (getattr(e, "message", None) or str(e)).splitlines() if l.strip()]
        why = lines[0][:300] if lines else type(e).__name__
        if "://" in path:
            fix = (f"copy it to local disk and set {setting} (gin) or env {VOCAB_ENV} to the copy, or "
                   f"'bundled' for the bundled demo data")
        else:
            fix = f"it is not a readable SentencePiece model; set {setting} (gin) or env {VOCAB_ENV} to one"
        raise VocabularyUnreadableError(
            f"cannot read the SentencePiece model {path} ({type(e).__name__}: {why}); {fix}"
        ) from None


def check_model_file(path: str) -> None:
    """A local SentencePiece model must load; a damaged one (truncated, emptied, another
    file under the name) is named here, at start-up, rather than by a protobuf traceback at
    the first encode (seqio loads the model lazily)."""
    stat = os.stat(path)
    _check_model_file(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=None)
def _check_model_file(path: str, mtime_ns: int, size: int) -> None:  # once per file version
    import sentencepiece  # pylint: disable=g-import-not-at-top

    try:
        sentencepiece.SentencePieceProcessor(model_file=path)
    except (RuntimeError, OSError) as e:
        raise ValueError(
            f"{path} is not a readable SentencePiece model ({size} bytes; sentencepiece: "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}); replace it with "
            "the model the checkpoint was trained with, or choose another with VOCAB "
            f"(env {VOCAB_ENV}: 't5', 'bundled' or a .model path)") from None


def padded_vocab_size(vocab: Union[seqio.Vocabulary, int], multiple: int = 128) -> int:
    """The embedding size for `vocab`: its size rounded up to a multiple of `multiple`.

    TPU matrix units work on 128-wide tiles, so T5 pads 32,100 ids to 32,128 (the extra rows
    are never produced by the tokenizer). For T5's own model the size is known without
    reading the gs:// file, so model configs can be built offline.
    """
    if isinstance(vocab, int):
        size = vocab
    elif (
        isinstance(vocab, seqio.SentencePieceVocabulary)
        and vocab.sentencepiece_model_file == T5_SPM_PATH
    ):
        size = T5_NUM_PIECES + vocab.extra_ids
    else:
        size = vocab.vocab_size
    return -(-size // multiple) * multiple

