"""FLAN 2021 choices pinned to google-research/FLAN: the 30k cap on sliced splits
(`flan/tasks.py` NUM_TRAIN_EXAMPLES, PARACRAWL_SPLITS_DICT, fix_punct), the held-out-cluster
overlap rules (`flan/task_splits.py` generate_inter_cluster_splits), registration order."""

from __future__ import annotations

import pytest

from flanjax.data import catalog, tasks
from flanjax.data.catalog import flan2021


@pytest.mark.parametrize("split, capped", [
    ("train", "train[:30000]"),
    ("train[:50000]", "train[:30000]"),
    ("train[:1000]", "train[:1000]"),
    ("train[30200:90000]", "train[30200:60200]"),
    ("train[100:]", "train[100:30100]"),
    ("train[:-1200]", "train[:-1200]"),  # relative to the end: kept (small datasets only)
])
def test_cap_split(split, capped):
    assert tasks.cap_split(split, 30_000) == capped


def test_large_train_only_builders_use_flan_slices():
    by_name = {e.name: e for e in flan2021.ENTRIES}
    assert by_name["para_crawl_enes"].source.splits == {
        "train": "train[:30000]", "validation": "train[-1200:-1000]", "test": "train[-1000:]"}
    # fix_punct: after true_case's 30,000 + 200 examples of para_crawl/enda.
    assert by_name["fix_punct"].source.splits == {
        "train": "train[30200:60200]", "validation": "train[60200:60400]", "test": "train[-3000:]"}


def test_overlap_rules_are_flans():
    assert flan2021.OVERLAPPING_CLUSTERS == {
        "nli": ("paraphrase",), "paraphrase": ("nli",),
        "commonsense": ("reading_comprehension_with_commonsense",),
        "reading_comprehension": ("reading_comprehension_with_commonsense",),
        "reading_comprehension_with_commonsense": ("commonsense", "reading_comprehension"),
    }
    assert "closed_book_qa" not in flan2021.OVERLAPPING_CLUSTERS


def test_entries_register_in_cluster_order():
    clusters = [e.cluster for e in catalog.all_entries() if e.collection == "flan2021"]
    first_seen = list(dict.fromkeys(clusters))
    assert first_seen == list(flan2021.CLUSTERS)
    assert clusters == sorted(clusters, key=flan2021.CLUSTERS.index)
