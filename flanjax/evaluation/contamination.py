"""Train/eval overlap: the share of eval examples with a long n-gram seen in training.

The FLAN paper (Wei et al. 2021, Appendix C) checked by hand whether evaluation examples
appear in the instruction-tuning data; GPT-3 (Brown et al. 2020, Appendix C) made it a
rule: an eval example is "dirty" if it shares a 13-gram with the training data. We apply
that rule to the raw text fields (what the catalog entry's `preprocess` returns, templates
left out: template wording is shared on purpose and would flag everything) of every
dataset in the training mixture against each eval dataset.

Words are lower-cased runs of letters/digits; n-grams never cross a field boundary. Reads
are bounded (`max_train_examples` per training dataset, `max_eval_examples` per eval
dataset) so the check is cheap on large mixtures; say so when a bound was hit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from flanjax.data import sources
from flanjax.data.catalog.entry import CatalogEntry

DEFAULT_N = 13
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _hash(gram: Sequence[str]) -> int:
    # 8-byte digests: sets of millions of n-grams stay small, and are the same every run.
    return int.from_bytes(hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest(), "little")


def ngrams(text: str, n: int = DEFAULT_N) -> Iterator[int]:
    """Hashes of the word n-grams of `text` (none if it has fewer than n words)."""
    w = words(text)
    for i in range(len(w) - n + 1):
        yield _hash(w[i : i + n])


def text_fields(fields: Mapping[str, Any]) -> list[str]:
    """The string values of an example's fields (options lists included, one per option)."""
    out = []
    for value in fields.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(v for v in value if isinstance(v, str))
    return out


def example_ngrams(fields: Mapping[str, Any], n: int = DEFAULT_N) -> set[int]:
    return {g for text in text_fields(fields) for g in ngrams(text, n)}


def read_fields(entry: CatalogEntry, split: str, limit: Optional[int]) -> Iterator[dict[str, Any]]:
    """Up to `limit` preprocessed examples of one split of an entry (skipped ones dropped)."""
    ds = entry.source.to_seqio().get_dataset(split, shuffle=False)
    if limit:
        ds = ds.take(limit)
    for raw in ds.as_numpy_iterator():
        fields = entry.fields_of(sources.decode_example(raw))
        if fields is not None:
            yield fields


@dataclasses.dataclass
class DatasetContamination:
    dataset: str
    cluster: str
    num_examples: int
    num_contaminated: int
    hit_limit: bool  # the eval read stopped at max_eval_examples

    @property
    def fraction(self) -> float:
        return self.num_contaminated / self.num_examples if self.num_examples else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "fraction": self.fraction}


def train_ngram_set(
    entries: Iterable[CatalogEntry], *, n: int = DEFAULT_N, max_examples: Optional[int] = None
) -> tuple[set[int], dict[str, int]]:
    """(n-gram hashes of the training split of every entry, {entry: examples read})."""
    grams: set[int] = set()
    counts: dict[str, int] = {}
    for entry in entries:
        count = 0
        for fields in read_fields(entry, entry.train_split, max_examples):
            grams |= example_ngrams(fields, n)
            count += 1
        counts[entry.name] = count
    return grams, counts


def contamination(
    train_entries: Sequence[CatalogEntry],
    eval_entries: Sequence[CatalogEntry],
    *,
    n: int = DEFAULT_N,
    max_train_examples: Optional[int] = 100_000,
    max_eval_examples: Optional[int] = 10_000,
    train_grams: Optional[set[int]] = None,
) -> dict[str, Any]:
    """Per eval dataset, how many of its eval examples share an n-gram with training."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the n-gram length must be a positive number of words, got {n!r}")
    counts: dict[str, int] = {}
    if train_grams is None:
        train_grams, counts = train_ngram_set(train_entries, n=n, max_examples=max_train_examples)
    results = []
    for entry in eval_entries:
        total = dirty = 0
        for fields in read_fields(entry, entry.eval_split, max_eval_examples):
            total += 1
            dirty += bool(example_ngrams(fields, n) & train_grams)
        results.append(
            DatasetContamination(entry.name, entry.cluster, total, dirty,
                                 bool(max_eval_examples) and total >= max_eval_examples)
        )
    return {
        "n": n,
        "train_examples_read": counts,
        "train_hit_limit": sorted(k for k, v in counts.items()
                                  if max_train_examples and v >= max_train_examples),
        "datasets": [r.to_dict() for r in results],
    }


def format_table(report: Mapping[str, Any]) -> str:
    lines = [f"{'dataset':<32} {'cluster':<22} {'examples':>9} {'dirty':>7} {'fraction':>9}"]
    for r in report["datasets"]:
        flag = " (read limit)" if r["hit_limit"] else ""
        lines.append(
            f"{r['dataset']:<32} {r['cluster']:<22} {r['num_examples']:>9} "
            f"{r['num_contaminated']:>7} {r['fraction']:>9.3f}{flag}"
        )
    if report.get("train_hit_limit"):
        lines.append(f"training reads stopped at the limit for: {report['train_hit_limit']}")
    return "\n".join(lines)
