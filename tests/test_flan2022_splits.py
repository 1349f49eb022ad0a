"""Flan 2022's training splits (`flan/v2/utils.py` `reset_split_maxes_on_flan_v0_configs` of
`flan/v2/task_configs_v1.py`): the Flan submixture's tasks read v2's split, whole; FLAN 2021's
keep their own split cut to 30k. Expected splits are worked out by hand from v1's split maps
(rte: v1 train "train[:-200]", validation "train[-200:]" -> "train[:-200]"; snli: v1 train
"train[:30000]", validation "validation[:200]" -> "train")."""

from __future__ import annotations

import pytest
import seqio

import flanjax.data.mixtures  # noqa: F401  (registers every task and mixture)
from flanjax.data import catalog
from flanjax.data.catalog import flan2022_facts


def _split(task: str) -> str:
    source = seqio.get_mixture_or_task(task).source
    return source.tfds_dataset._split_map["train"]  # pylint: disable=protected-access


@pytest.mark.parametrize("name,v2", [
    ("snli", "train"),            # v1 train[:30000], validation validation[:200]
    ("anli_r1", "train"),         # v1 train (r1), validation validation[:200]
    ("aeslc", "train"),           # v1 train, validation validation[-200:]: no train reserve
    ("rte", "train[:-200]"),      # v1 train[:-200], validation train[-200:]
    ("cola", "train[:-200]"),
    ("copa", "train[:-50]"),      # v1 train[:-50], validation train[-50:]
    ("wnli", "train[:-30]"),
    ("piqa", "train[:-100]"),
    ("story_cloze", "validation[:-200]"),  # v1 trains on story_cloze's validation split
    ("winogrande", "train_xl[:-200]"),
    ("fix_punct", "train[30200:60200]"),   # one of v2's kept slices
])
def test_flan2022_formats_read_v2_splits_flan2021_keeps_30k(name, v2):
    assert _split(f"{name}_zs_varopt") == v2
    assert _split(f"{name}_fs_noopt") == v2
    flan2021 = _split(f"{name}_zs")
    assert flan2021 != v2 or name == "fix_punct"
    if "[" not in catalog.get_entry(name).source.splits["train"]:
        assert flan2021.endswith("[:30000]")


def test_every_flan_submixture_dataset_has_its_v2_split():
    for collection in ("flan2021", "flan2022_flan"):
        for entry in catalog.entries_in(collection):
            assert entry.flan2022_train_split == flan2022_facts.FLAN_V2_TRAIN_SPLITS[entry.name]


def test_wsc273_is_not_trained_on():
    # reset_split_maxes_on_flan_v0_configs drops wsc273 (no training data).
    assert not any(n.startswith("wsc273") for n in seqio.TaskRegistry.names())
    flan = {t.name for t in seqio.get_mixture_or_task("flan_zsopt").tasks}
    assert not any(n.startswith("wsc273") for n in flan)


def test_cola_sentence_is_not_stripped():
    # FLAN's _process_cola (v1 and v2) passes example['sentence'] through.
    fields = catalog.get_entry("cola").fields_of({"sentence": " Bill ran. ", "label": 1, "idx": 0})
    assert fields["sentence"] == " Bill ran. " and fields["answer"] == "acceptable"
