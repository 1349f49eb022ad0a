"""Generation for evaluation: decode (greedy or beam), detokenize, extract CoT answers."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np

from flanjax.data import metrics
from flanjax.evaluation import batching
from flanjax.model import T5Config, generate

EOS_ID = 1


def detokenize(vocabulary: Any, ids: Sequence[int]) -> str:
    """Text of decoded ids: cut at the first EOS, padding dropped."""
    out = []
    for token in np.asarray(ids).tolist():
        if token == EOS_ID:
            break
        if token > 0:
            out.append(int(token))
    return vocabulary.decode(out)


def decode_ids(
    config: T5Config,
    params: Any,
    examples: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = 32,
    max_decode_length: int = 32,
    method: str = "greedy",
    num_beams: int = 4,
    alpha: float = 0.6,
    mesh: Optional[batching.EvalMesh] = None,
) -> np.ndarray:
    """Decoded token ids of each example's `inputs`: [num_examples, max_decode_length].

    mesh: decode sharded on this mesh (params placed with `mesh.place_params`); None: the
    mesh in context, if any, else one device. Each batch is rounded up to a multiple of the
    data-parallel size; the padding rows are dropped.
    """
    if method not in ("greedy", "beam"):
        raise ValueError(f"evaluation decodes with 'greedy' or 'beam', got {method!r}")
    out = np.zeros((len(examples), max_decode_length), np.int32)
    with batching.mesh_scope(mesh) as data_parallel:
        for rows, enc in batching.encoder_batches(examples, batch_size, data_parallel):
            ids = batching.to_host(
                generate(
                    config, params, enc, max_decode_length=max_decode_length, method=method,
                    num_beams=num_beams, alpha=alpha,
                )
            )  # [batch, max_decode_length]
            out[rows.start : rows.stop] = ids[: len(rows)]
    return out


def decode(
    config: T5Config,
    params: Any,
    vocabulary: Any,
    examples: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = 32,
    max_decode_length: int = 32,
    method: str = "greedy",
    num_beams: int = 4,
    alpha: float = 0.6,
    mesh: Optional[batching.EvalMesh] = None,
) -> list[str]:
    """Decoded text of each example's `inputs` (token ids, EOS included); see `decode_ids`."""
    ids = decode_ids(
        config, params, examples, batch_size=batch_size, max_decode_length=max_decode_length,
        method=method, num_beams=num_beams, alpha=alpha, mesh=mesh,
    )
    return [detokenize(vocabulary, row) for row in ids]


def postprocess(text: str, *, chain_of_thought: bool) -> str:
    """The answer in a prediction or target (`flanjax.data.metrics.answer`)."""
    return metrics.answer(text, chain_of_thought=chain_of_thought)
