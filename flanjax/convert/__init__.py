"""Hugging Face T5 <-> flanjax conversion (safetensors only).

`python -m flanjax.convert --from_hf DIR --out DIR` writes a converted checkpoint (its layout
is in `flanjax.checkpoints`); `--to_hf` writes a Hugging Face directory back.
"""

from flanjax.convert.hf import check_params_match, load_hf_t5, save_hf_t5

__all__ = ["check_params_match", "load_hf_t5", "save_hf_t5"]
