"""Rank classification (FLAN, T0): pick the answer option the model finds most likely.

Each option is tokenized with the task's vocabulary (plus EOS, as training targets are),
every option of an example is scored against one encoding of its input
(`flanjax.model.score_options`), and the prediction is the option with the highest summed
log-likelihood, or the highest per-token mean with `length_normalize=True` (T0 reports the
sum; the mean is the usual alternative for options of very different lengths).

On a mesh (`mesh=batching.EvalMesh`, or inside `EvalMesh.context()`), the parameters are
expected placed by `EvalMesh.place_params`; each batch is rounded up to a multiple of the
data-parallel size and split over the data axes, and the padding rows are dropped after.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from flanjax.data import sources
from flanjax.evaluation import batching
from flanjax.model import T5Config, score_options

EOS_ID = 1


class NoAnswerOptionsError(ValueError):
    """A task asked for rank classification has examples without answer options."""


@dataclasses.dataclass(frozen=True)
class RankResult:
    predictions: list[str]  # the chosen option of each example
    scores: list[list[float]]  # [example][option] summed log-likelihood
    mean_scores: list[list[float]]  # [example][option] per-token mean log-likelihood




def options_of(example: Mapping[str, Any]) -> list[str]:
    return [sources.as_text(o) for o in example.get("answer_options", ())]


def tokenize_option(vocabulary: Any, option: str, max_length: Optional[int] = None) -> list[int]:
    """Token ids of an option as a training target: encoded text + EOS, EOS kept on trim."""
    ids = list(vocabulary.encode(option))
    if max_length is not None and len(ids) + 1 > max_length:
        ids = ids[: max_length - 1]
    return ids + [EOS_ID]


def check_has_options(examples: Sequence[Mapping[str, Any]], task_name: str) -> None:
    """Raises `NoAnswerOptionsError` naming the task if any example has no options."""
    for i, example in enumerate(examples):
        if not options_of(example):
            tid = sources.as_text(example.get("template_id", "?"))
            raise NoAnswerOptionsError(
                f"Task {task_name!r} (template {tid!r}, example {i}) has no answer options, so "
                "it cannot be evaluated by rank classification: its target is not one of a "
                "fixed set of options (e.g. a turned-around template). Evaluate it by "
                "generation (mode='generate', or 'auto' to choose per example)."
            )


def rank_classify(
    config: T5Config,
    params: Any,
    vocabulary: Any,
    examples: Sequence[Mapping[str, Any]],
    *,
    task_name: str = "<task>",
    batch_size: int = 32,
    length_normalize: bool = False,
    max_option_length: Optional[int] = None,
    mesh: Optional[batching.EvalMesh] = None,
) -> RankResult:
    """Scores every answer option of every example; returns the argmax option per example.

    examples: dicts with `inputs` (token ids, EOS included) and `answer_options` (strings).
    mesh: evaluate sharded on this mesh (params placed with `mesh.place_params`); None: the
    mesh in context, if any, else one device.
    """
    check_has_options(examples, task_name)
    options = [options_of(ex) for ex in examples]
    option_ids = [[tokenize_option(vocabulary, o, max_option_length) for o in opts] for opts in options]
    scores: list[list[float]] = []
    means: list[list[float]] = []
    with batching.mesh_scope(mesh) as data_parallel:
        for rows, enc in batching.encoder_batches(examples, batch_size, data_parallel):
            rows_total = enc.shape[0]
            num_options = max(len(option_ids[i]) for i in rows)
            opt_width = batching.bucket(max(len(o) for i in rows for o in option_ids[i]), 8)
            opts = np.zeros((rows_total, num_options, opt_width), np.int32)  # [batch, options, length]
            for b, i in enumerate(rows):
                opts[b, : len(option_ids[i])] = batching.pad_rows(option_ids[i], opt_width, len(option_ids[i]))
            out = batching.to_host(score_options(config, params, enc, opts))
            total, mean = out["sum"], out["mean"]
            for b, i in enumerate(rows):  # rows past len(rows) are padding
                n = len(option_ids[i])  # padding options (all 0) are not candidates
                scores.append([float(s) for s in total[b, :n]])
                means.append([float(s) for s in mean[b, :n]])
    chosen = means if length_normalize else scores
    predictions = [opts[int(np.argmax(s))] for opts, s in zip(options, chosen)]
    return RankResult(predictions=predictions, scores=scores, mean_scores=means)
