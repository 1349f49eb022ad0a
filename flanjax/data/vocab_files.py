"""The vocabulary recorded with a checkpoint: `spiece.model` + `vocab.json` beside the weights.

A training run copies its tasks' SentencePiece model into MODEL_DIR (and `--to_hf` exports
copy it on), so `infer` and `eval` tokenize with the vocabulary the weights were trained
with, not whatever FLANJAX_VOCAB or T5's gs:// default says. `vocab.json` keeps what the
model file alone does not: the number of extra ids (T5's 100 sentinels) and where it came from.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Optional

import seqio

SPM_FILE = "spiece.model"  # the name transformers' T5Tokenizer looks for
INFO_FILE = "vocab.json"


def _copy_model(src: str, dst: str) -> None:
    if "://" in src:
        import tensorflow as tf  # pylint: disable=g-import-not-at-top  # gs:// reads

        tf.io.gfile.copy(src, dst, overwrite=True)
    else:
        shutil.copyfile(src, dst)


def record_vocabulary(vocab: seqio.Vocabulary, directory: str) -> bool:
    """Writes `directory`/spiece.model + vocab.json (atomically); False if not SentencePiece."""
    if not isinstance(vocab, seqio.SentencePieceVocabulary):
        return False
    os.makedirs(directory, exist_ok=True)
    src = vocab.sentencepiece_model_file
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".spiece.")
    os.close(fd)
    _copy_model(src, tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(directory, SPM_FILE))
    info = {"source": src, "extra_ids": int(vocab.extra_ids)}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".vocab.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=2)
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(directory, INFO_FILE))
    return True


HF_TOKENIZER_CONFIG = "tokenizer_config.json"  # transformers' T5Tokenizer settings


def recorded_extra_ids_of(spm_path: str) -> Optional[int]:
    """The extra ids recorded beside `spm_path`, or None: its directory's vocab.json (flanjax),
    else a Hugging Face directory's tokenizer_config.json (`extra_ids`, which T5Tokenizer
    saves; or the number of `<extra_id_N>` special tokens listed there)."""
    if "://" in spm_path:
        return None
    directory = os.path.dirname(os.path.abspath(os.path.expanduser(spm_path)))
    info = os.path.join(directory, INFO_FILE)
    if os.path.exists(info):
        with open(info) as f:
            return int(json.load(f).get("extra_ids", 0))
    hf = os.path.join(directory, HF_TOKENIZER_CONFIG)
    if not os.path.exists(hf):
        return None
    with open(hf) as f:
        settings = json.load(f)
    if "extra_ids" in settings:
        return int(settings["extra_ids"])
    special = settings.get("additional_special_tokens") or settings.get("extra_special_tokens") or []
    count = sum(1 for t in special if isinstance(t, str) and t.startswith("<extra_id_"))
    return count or None


def forget_vocabulary(directory: str) -> None:
    """Removes a recorded vocabulary (an output rewritten from a source that has none)."""
    for name in (SPM_FILE, INFO_FILE):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            os.remove(path)


def recorded_vocabulary(directory: str) -> Optional[seqio.SentencePieceVocabulary]:
    """The vocabulary recorded in `directory` (a run, converted, exported or Hugging Face
    dir), or None.

    Exactly the training vocabulary: the same model file and the same number of extra ids
    (`seqio.SentencePieceVocabulary(path, extra_ids=N)`; T5 trains with N = 100 sentinels,
    so its ids run to 32,100, not the model file's 32,000).
    """
    path = os.path.join(directory, SPM_FILE)
    if not os.path.exists(path):
        return None
    from flanjax.data.vocab import check_model_file  # pylint: disable=g-import-not-at-top

    check_model_file(path)  # a damaged copy is named now, not at the first encode
    return seqio.SentencePieceVocabulary(path, extra_ids=recorded_extra_ids_of(path) or 0)


class VocabularyMismatchError(ValueError):
    """A checkpoint's embedding does not fit a vocabulary (one line)."""


def check_embedding(embed_rows: int, vocab: seqio.Vocabulary, what: str, hint: str) -> None:
    """Refuses a vocabulary whose ids do not all embed, or that is more than a tile smaller.

    Embeddings are padded to a multiple of 128 rows (T5: 32,100 ids -> 32,128 rows), so
    up to 127 rows beyond the vocabulary are normal; more mean another vocabulary, or the
    same model file with another number of extra ids (T5's 32,000 pieces + 100 sentinels:
    an embedding of 32,128 rows does not fit 32,000 ids, whose padding would be 32,000).
    """
    from flanjax.data import vocab as vocab_lib  # pylint: disable=g-import-not-at-top

    vocab_lib.load_or_explain(vocab)  # an unreachable gs:// model: one line, not a traceback
    size = vocab.vocab_size
    if not size <= embed_rows < size + 128:
        extra = getattr(vocab, "extra_ids", 0)
        raise VocabularyMismatchError(
            f"The checkpoint embeds {embed_rows} token ids but {what} uses a vocabulary of {size} ids "
            f"({extra} of them extra ids; expected an embedding of {size} to {size + 127} rows): the "
            f"checkpoint was trained with another vocabulary. {hint}"
        )
