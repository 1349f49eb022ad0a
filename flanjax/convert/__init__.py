"""Hugging Face T5 <-> flanjax conversion (safetensors only) and flanjax checkpoints."""

from flanjax.convert.checkpoint import load_flanjax_checkpoint, save_flanjax_checkpoint
from flanjax.convert.hf import check_params_match, load_hf_t5, save_hf_t5

__all__ = [
    "check_params_match",
    "load_flanjax_checkpoint",
    "load_hf_t5",
    "save_flanjax_checkpoint",
    "save_hf_t5",
]
