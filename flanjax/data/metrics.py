"""Metrics of the papers' evaluations, each as a plain function and as a seqio metric fn.

Every function takes `targets` (one reference string per example, or a list of reference
strings per example where the dataset has several) and `predictions` (one string per
example; floats or numeric strings for `pearson`), and returns `{name: value}` with values
in percent (0-100), as T5's `t5.evaluation.metrics` reports them. The same functions are the
seqio metric fns (`fn(targets, predictions) -> dict`), so `seqio.Evaluator` can use them.

  accuracy        exact string equality (after strip), FLAN's and T0's classification score
  exact_match     SQuAD normalisation (lower case, no punctuation/articles/extra spaces), max
                  over references (Rajpurkar et al. 2016, the official v1.1 script)
  squad           exact match and token F1, each the max over references (same script)
  rouge           ROUGE-1/2/L F-measure with Porter stemming (Google's `rouge-score`), max over
                  references; FLAN reports it for summarisation, SNI reports ROUGE-L
  bleu            corpus BLEU of sacrebleu's defaults (13a tokenisation, exp smoothing)
  f1_multiclass   macro-averaged F1 over the classes seen in the targets
  pearson         Pearson correlation of predictions parsed as floats (STS-B)
  sni             Super-NaturalInstructions: Tk-Instruct's exact match (SQuAD's normalisation
                  without removing articles) and ROUGE-L, max over references
"""

from __future__ import annotations

import collections
import re
import string
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

Reference = Union[str, Sequence[str]]
MetricFn = Callable[[Sequence[Any], Sequence[Any]], dict[str, float]]

# -- helpers ------------------------------------------------------------------------------


def _check_lengths(targets: Sequence[Any], predictions: Sequence[Any]) -> None:
    if len(targets) != len(predictions):
        raise ValueError(
            f"{len(targets)} targets but {len(predictions)} predictions; they must pair up."
        )


def _as_references(target: Reference) -> list[str]:
    """One example's references as a non-empty list of strings."""
    if isinstance(target, bytes):
        return [target.decode("utf-8")]
    if isinstance(target, str):
        return [target]
    refs = [r.decode("utf-8") if isinstance(r, bytes) else str(r) for r in target]
    return refs or [""]


def _as_text(prediction: Any) -> str:
    return prediction.decode("utf-8") if isinstance(prediction, bytes) else str(prediction)


_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_squad(text: str) -> str:
    """The SQuAD v1.1 evaluation script's `normalize_answer`."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _token_f1(prediction: str, reference: str) -> float:
    pred = normalize_squad(prediction).split()
    ref = normalize_squad(reference).split()
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _mean_percent(values: Sequence[float]) -> float:
    return 100.0 * float(np.mean(values)) if len(values) else 0.0


# -- metrics ------------------------------------------------------------------------------


def accuracy(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """Percent of predictions equal (after strip) to the target, or to any reference."""
    _check_lengths(targets, predictions)
    hits = [
        float(_as_text(p).strip() in {r.strip() for r in _as_references(t)})
        for t, p in zip(targets, predictions)
    ]
    return {"accuracy": _mean_percent(hits)}


def exact_match(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """SQuAD-normalised exact match, max over references, in percent."""
    _check_lengths(targets, predictions)
    hits = [
        max(float(normalize_squad(_as_text(p)) == normalize_squad(r)) for r in _as_references(t))
        for t, p in zip(targets, predictions)
    ]
    return {"exact_match": _mean_percent(hits)}


def squad(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """SQuAD exact match and token F1, each the max over references, in percent."""
    _check_lengths(targets, predictions)
    f1 = [
        max(_token_f1(_as_text(p), r) for r in _as_references(t))
        for t, p in zip(targets, predictions)
    ]
    return {**exact_match(targets, predictions), "f1": _mean_percent(f1)}


ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """ROUGE-1/2/L F-measure (rouge-score, Porter stemmer), mean over examples, in percent.

    With several references an example takes, per ROUGE type, the best-scoring reference.
    """
    from rouge_score import rouge_scorer  # pylint: disable=g-import-not-at-top

    _check_lengths(targets, predictions)
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = {k: [] for k in ROUGE_TYPES}
    for target, prediction in zip(targets, predictions):
        pred = _as_text(prediction)
        scores = [scorer.score(ref, pred) for ref in _as_references(target)]
        for k in ROUGE_TYPES:
            totals[k].append(max(s[k].fmeasure for s in scores))
    return {k: _mean_percent(v) for k, v in totals.items()}


def bleu(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """sacrebleu's corpus BLEU with its defaults; several references per example allowed."""
    import sacrebleu  # pylint: disable=g-import-not-at-top

    _check_lengths(targets, predictions)
    refs = [_as_references(t) for t in targets]
    width = max((len(r) for r in refs), default=1)
    # sacrebleu wants one stream per reference position; examples with fewer references
    # repeat their first one (sacrebleu forbids None/empty streams of unequal use).
    streams = [[r[i] if i < len(r) else r[0] for r in refs] for i in range(width)]
    result = sacrebleu.corpus_bleu([_as_text(p) for p in predictions], streams)
    return {"bleu": float(result.score)}


def f1_multiclass(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """Macro F1 over the target classes (a prediction outside them only costs recall)."""
    _check_lengths(targets, predictions)
    gold = [_as_references(t)[0].strip() for t in targets]
    pred = [_as_text(p).strip() for p in predictions]
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"f1_multiclass": _mean_percent(scores)}


def _to_float(value: Any, default: float = -1.0) -> float:
    """A number from a value or string; `default` when it does not parse (as T5 does)."""
    if isinstance(value, (int, float, np.number)):
        return float(value)
    if not isinstance(value, (str, bytes)):  # a list of references: the first one
        value = _as_references(value)[0]
    try:
        return float(_as_text(value).strip())
    except ValueError:
        return default


def pearson(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """Pearson correlation x 100; unparsable predictions count as -1 (T5's `string_to_float`)."""
    _check_lengths(targets, predictions)
    gold = np.array([_to_float(t) for t in targets])
    pred = np.array([_to_float(p) for p in predictions])
    if len(gold) < 2 or np.std(gold) == 0 or np.std(pred) == 0:
        return {"pearson": 0.0}
    return {"pearson": 100.0 * float(np.corrcoef(gold, pred)[0, 1])}


# A number as written in answers: sign, digits with optional thousands separators, decimals.
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def last_number(text: str) -> Optional[float]:
    """The last number in `text` ("... so she pays $1,250.00." -> 1250.0), or None."""
    found = _NUMBER.findall(_as_text(text))
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def numeric_match(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """Percent of predictions whose last number equals the gold number (any reference).

    Math word problems in many languages (MGSM, Shi et al. 2022; GSM8K) are scored on the
    final number: the chain-of-thought's "the answer is" phrase is localized, so the answer
    is read as the last number of the (extracted) prediction.
    """
    _check_lengths(targets, predictions)
    hits = []
    for t, p in zip(targets, predictions):
        pred = last_number(_as_text(p))
        golds = [last_number(r) for r in _as_references(t)]
        hits.append(float(pred is not None and any(g is not None and abs(g - pred) < 1e-6 for g in golds)))
    return {"numeric_match": _mean_percent(hits)}


def normalize_tk_instruct(text: str) -> str:
    """Tk-Instruct's `normalize_answer` (`src/compute_metrics.py`): lower case, no
    punctuation, single spaces. Unlike SQuAD's it keeps the articles (a, an, the)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(text.split())


def sni(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """Super-NaturalInstructions' scores (Wang et al. 2022; Tk-Instruct `compute_metrics`):
    exact match under `normalize_tk_instruct` and ROUGE-L (rouge-score, Porter stemmer),
    each the max over an example's references, mean over examples, in percent."""
    _check_lengths(targets, predictions)
    hits = [
        max(float(normalize_tk_instruct(_as_text(p)) == normalize_tk_instruct(r))
            for r in _as_references(t))
        for t, p in zip(targets, predictions)
    ]
    return {"exact_match": _mean_percent(hits), "rougeL": rouge(targets, predictions)["rougeL"]}


def sni_grouped(targets: Sequence[Mapping[str, Any]], predictions: Sequence[Any]) -> dict[str, float]:
    """`sni` overall, per task category and per task, as Tk-Instruct's
    `compute_grouped_metrics` names them: `exact_match`, `rougeL`, `{metric}_for_{group}`.

    Each target is `{"references": [...], "category": ..., "task": ...}`; the category is
    Tk-Instruct's key (first category, lower case, spaces as "_").
    """
    _check_lengths(targets, predictions)
    refs = [t["references"] for t in targets]
    out = sni(refs, predictions)
    for key in ("category", "task"):
        groups: dict[str, list[int]] = collections.defaultdict(list)
        for i, t in enumerate(targets):
            groups[_as_text(t[key])].append(i)
        for group, idx in groups.items():
            scores = sni([refs[i] for i in idx], [predictions[i] for i in idx])
            out.update({f"{m}_for_{group}": v for m, v in scores.items()})
    return out


METRICS: dict[str, MetricFn] = {
    "accuracy": accuracy,
    "exact_match": exact_match,
    "squad": squad,
    "rouge": rouge,
    "bleu": bleu,
    "f1_multiclass": f1_multiclass,
    "pearson": pearson,
    "numeric_match": numeric_match,
    "sni": sni,
}

# The number each metric is summarised by in tables and aggregates (the papers' headline).
PRIMARY: dict[str, str] = {
    "accuracy": "accuracy",
    "exact_match": "exact_match",
    "squad": "f1",
    "rouge": "rougeL",
    "bleu": "bleu",
    "f1_multiclass": "f1_multiclass",
    "pearson": "pearson",
    "numeric_match": "numeric_match",
    "sni": "rougeL",
}


def get_metric(name: str) -> MetricFn:
    """The metric fn of a catalog entry's `metric` name (also usable as a seqio metric fn)."""
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}; known: {sorted(METRICS)}.")
    return METRICS[name]


def primary_value(metric: str, values: Mapping[str, float]) -> float:
    """The headline number of `values` computed by metric `metric`."""
    return float(values[PRIMARY[metric]])


# -- the one scoring path: flanjax.eval, in-training evaluation and seqio's Evaluator ---------


def answer(text: Any, *, chain_of_thought: bool = False) -> str:
    """The answer in a prediction or reference: after the last "the answer is" for a
    chain-of-thought task (`formats.extract_cot_answer`), else the stripped text."""
    from flanjax.data import formats  # pylint: disable=g-import-not-at-top

    text = _as_text(text)
    return formats.extract_cot_answer(text) if chain_of_thought else text.strip()


def gold_answers(target: Any, example: Optional[Mapping[str, Any]] = None, *,
                 chain_of_thought: bool = False) -> Reference:
    """An example's acceptable answers: each of its `references` where it has them (several
    gold answers), else the answer in its target text."""
    refs = example.get("references", ()) if example is not None else ()
    if len(refs):
        return [answer(r, chain_of_thought=chain_of_thought) for r in refs]
    return answer(target, chain_of_thought=chain_of_thought)


def score(metric: str, targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
    """A task's scores from its answers (`answer` / `gold_answers` applied): the metric's
    values, plus exact match beside ROUGE (SNI's table reports both). No examples: the
    headline number is 0."""
    if not len(targets) and not len(predictions):
        return {PRIMARY[metric]: 0.0}
    values = get_metric(metric)(targets, predictions)
    if metric == "rouge":
        values.update(exact_match(targets, predictions))
    return values


def seqio_metric_fns(metric: str) -> list[MetricFn]:
    """`metric_fns` for a `seqio.Task` scored by `metric`: `score`, so seqio's Evaluator
    reports what `flanjax.eval` does (seqio passes (targets, predictions) after the task's
    postprocess_fn, `flanjax.data.tasks.seqio_postprocess`)."""
    get_metric(metric)

    def fn(targets: Sequence[Reference], predictions: Sequence[Any]) -> dict[str, float]:
        return score(metric, targets, predictions)

    fn.__name__ = metric
    return [fn]
