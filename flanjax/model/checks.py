"""Host-side input checks, run before anything is traced or sent to a device.

Out-of-range token ids would otherwise be clamped silently by the embedding gather (XLA
does not raise on out-of-bounds indices), giving plausible but wrong outputs.
"""

from __future__ import annotations

import numpy as np


def check_token_ids(tokens: object, vocab_size: int, name: str = "tokens") -> np.ndarray:
    """Returns `tokens` as an int32 numpy array; ValueError if any id is outside [0, vocab)."""
    array = np.asarray(tokens)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer token ids, got dtype {array.dtype}")
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= vocab_size:
            bad = array[(array < 0) | (array >= vocab_size)]
            raise ValueError(
                f"{name} holds token ids outside [0, {vocab_size}) (the model's vocab_size): "
                f"min {low}, max {high}, e.g. {bad[:5].tolist()}"
            )
    return array.astype(np.int32)


def check_rank(array: np.ndarray, rank: int, name: str, layout: str) -> None:
    if array.ndim != rank:
        raise ValueError(f"{name} must be {layout}, got shape {array.shape}")
