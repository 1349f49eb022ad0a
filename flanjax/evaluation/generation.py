"""Generation for evaluation: decode (greedy or beam), detokenize, extract CoT answers."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from flanjax.data.formats import extract_cot_answer
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
) -> list[str]:
    """Decoded text of each example's `inputs` (token ids, EOS included)."""
    if method not in ("greedy", "beam"):
        raise ValueError(f"evaluation decodes with 'greedy' or 'beam', got {method!r}")
    texts: list[str] = []
    for rows in batching.chunks(len(examples), batch_size):
        inputs = [examples[i]["inputs"] for i in rows]
        width = batching.bucket(max(len(x) for x in inputs), 32)
        enc = batching.pad_rows(inputs, width, batch_size)  # [batch, in_length]
        ids = np.asarray(
            generate(
                config, params, enc, max_decode_length=max_decode_length, method=method,
                num_beams=num_beams, alpha=alpha,
            )
        )  # [batch, max_decode_length]
        texts.extend(detokenize(vocabulary, ids[b]) for b in range(len(rows)))
    return texts


def postprocess(text: str, *, chain_of_thought: bool) -> str:
    """The answer in a prediction or target: after "the answer is" for CoT, else stripped."""
    return extract_cot_answer(text) if chain_of_thought else text.strip()
