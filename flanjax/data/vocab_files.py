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


def recorded_vocabulary(directory: str) -> Optional[seqio.SentencePieceVocabulary]:
    """The vocabulary recorded in `directory` (a run, converted or exported dir), or None."""
    path = os.path.join(directory, SPM_FILE)
    if not os.path.exists(path):
        return None
    extra_ids = 0
    info = os.path.join(directory, INFO_FILE)
    if os.path.exists(info):
        with open(info) as f:
            extra_ids = int(json.load(f).get("extra_ids", 0))
    return seqio.SentencePieceVocabulary(path, extra_ids=extra_ids)


def recorded_extra_ids(directory: str) -> int:
    vocab = recorded_vocabulary(directory)
    return 0 if vocab is None else int(vocab.extra_ids)
