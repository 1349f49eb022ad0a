"""A fine-tuned run as a Hugging Face directory: weights, config and the SentencePiece tokenizer.

`transformers.T5ForConditionalGeneration.from_pretrained(out)` and
`AutoTokenizer.from_pretrained(out)` both load the result. Files are written readable by
group and others (0644): safetensors' writer creates 0600 files, which a shared model
directory cannot serve.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Optional

from flanjax.convert.hf import CONFIG_NAME, SAFE_WEIGHTS_NAME, save_hf_t5
from flanjax.model import T5Config

SPM_FILE = "spiece.model"
TOKENIZER_CONFIG = "tokenizer_config.json"


def save_hf_export(config: T5Config, params: Any, out_dir: str, *, spm_model: Optional[str],
                   extra_ids: int = 0, model_max_length: int = 512) -> list[str]:
    """Writes the model and, when `spm_model` is given, its tokenizer; returns the file names."""
    save_hf_t5(config, params, out_dir)
    written = [CONFIG_NAME, SAFE_WEIGHTS_NAME]
    if spm_model is not None:
        shutil.copyfile(spm_model, os.path.join(out_dir, SPM_FILE))
        with open(os.path.join(out_dir, TOKENIZER_CONFIG), "w") as f:
            json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": int(extra_ids),
                       "model_max_length": int(model_max_length), "eos_token": "</s>",
                       "pad_token": "<pad>", "unk_token": "<unk>"}, f, indent=2)
        written += [SPM_FILE, TOKENIZER_CONFIG]
    umask = os.umask(0)
    os.umask(umask)
    for name in written:
        os.chmod(os.path.join(out_dir, name), 0o666 & ~umask)
    return written
