"""`niv2_test` in evaluation reports: Super-NaturalInstructions' 119 test tasks x 100 instances
(`flanjax.data.sni_eval`, Def + Pos(2)) scored by generation with Tk-Instruct's metrics,
overall, per task category and per task (`metrics.sni_grouped`; Wang et al. 2022 Table 3 /
Tk-Instruct `compute_grouped_metrics`). `flanjax.eval` runs it when EVAL_ON names `niv2_test`
and puts the scores in results.json ("sni_test") and results.md (`report.sni_category_table`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from flanjax.data import metrics, sni_eval
from flanjax.evaluation import generation, heldout

TASK_NAME = sni_eval.TASK_NAME


def score(
    examples: Sequence[Mapping[str, Any]], predictions: Sequence[str],
    postprocess: Callable[..., Any] = sni_eval.postprocess,
) -> dict[str, float]:
    """Tk-Instruct's grouped exact match and ROUGE-L of `predictions` on niv2_test examples."""
    targets = [postprocess(ex.get("targets_pretokenized", ""), example=ex, is_target=True)
               for ex in examples]
    return metrics.sni_grouped(targets, [postprocess(p) for p in predictions])


def evaluate(config: Any, params: Any, settings: heldout.EvalSettings, *,
             mesh: Optional[Any] = None,
             lengths: Optional[Mapping[str, int]] = None) -> dict[str, float]:
    """Decodes every niv2_test example (the first `settings.max_examples` when set) and scores
    them with `score`. `lengths`: input / target tokens, Tk-Instruct's 1,024 / 128 by default
    (`sni_eval.TK_FEATURE_LENGTHS`); the inputs length is also the demonstrations' budget."""
    seqio = heldout.registry()
    sni_eval.register_task()
    task = seqio.get_mixture_or_task(TASK_NAME)
    vocabulary = task.output_features["targets"].vocabulary
    heldout.check_vocabulary(config, vocabulary, TASK_NAME)
    lengths = dict(lengths or sni_eval.TK_FEATURE_LENGTHS)
    ds = task.get_dataset(sequence_length=lengths, split="test", shuffle=False, num_epochs=1)
    if settings.max_examples:
        ds = ds.take(settings.max_examples)
    examples = list(ds.as_numpy_iterator())
    texts = generation.decode(
        config, params, vocabulary, examples, batch_size=settings.batch_size,
        max_decode_length=lengths["targets"], method=settings.decode_method,
        num_beams=settings.num_beams, mesh=mesh,
    )
    return score(examples, texts, task.postprocess_fn)
