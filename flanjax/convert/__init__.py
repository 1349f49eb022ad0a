"""Hugging Face T5 <-> flanjax conversion (safetensors only).

`python -m flanjax.convert --from_hf DIR --out DIR` writes a converted checkpoint (its layout
is in `flanjax.checkpoints`); `--to_hf` writes a Hugging Face directory back; `--from_t5x` / `--to_t5x` read and write T5X
checkpoints (`flanjax.convert.t5x`).
"""

from flanjax.convert.hf import check_params_match, load_hf_t5, save_hf_t5
from flanjax.convert.t5x import load_t5x, read_t5x_adafactor_state, save_t5x

__all__ = ["check_params_match", "load_hf_t5", "load_t5x", "read_t5x_adafactor_state", "save_hf_t5", "save_t5x"]
