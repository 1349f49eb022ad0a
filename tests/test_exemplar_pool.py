"""Few-shot exemplar pools drawn from across the whole training split
(`flanjax.data.exemplar_pool`), the same in every process: one candidate per stratum."""

from __future__ import annotations

import seqio

from flanjax.data import exemplar_pool, render, sources
from flanjax.data import tasks as tasks_lib
from flanjax.data.catalog.entry import CatalogEntry
from flanjax.data.templates import from_flan_patterns

N = 1000


def _rows(split):
    del split
    # Every 7th row is unlabelled: its preprocess returns None.
    return [{"i": i, "text": f"t{i}", "label": -1 if i % 7 == 3 else i % 2} for i in range(N)]


def _entry(name="pool_probe"):
    def preprocess(raw):
        return None if int(raw["label"]) < 0 else {"i": int(raw["i"]), "text": str(raw["text"])}

    return CatalogEntry(
        name=name, collection="demo", cluster="probe",
        source=sources.FunctionSource(rows=_rows, splits={"train": "train"}, name=name),
        preprocess=preprocess, fields=("i", "text"),
        templates=from_flan_patterns({"p": [("{text}", "{i}")]})["p"])


def test_strata_cover_the_whole_split():
    strata = exemplar_pool.strata_indices(N, 64, "pool_probe")
    assert len(strata) == 64
    for j, picks in enumerate(strata):
        lo, hi = j * N // 64, (j + 1) * N // 64  # 15 or 16 rows each: [0, 15), ..., [984, 1000)
        assert picks and all(lo <= i < hi for i in picks)
    # A pure function of (task, stratum): the offsets are stable_int("exemplar_pool", task, j, c).
    assert strata[63][0] == 984 + render.stable_int("exemplar_pool", "pool_probe", 63, 0) % 16
    assert exemplar_pool.strata_indices(N, 64, "pool_probe") == strata
    assert exemplar_pool.strata_indices(N, 64, "other_task") != strata
    assert exemplar_pool.strata_indices(10, 64, "x") == [[i] for i in range(10)]  # small split


def test_pool_reads_one_usable_row_per_stratum_from_across_the_split():
    entry = _entry()
    pool = tasks_lib._read_exemplar_pool(entry)  # pylint: disable=protected-access
    strata = exemplar_pool.strata_indices(N, tasks_lib.EXEMPLAR_POOL_SIZE, entry.name)
    expected = []
    for picks in strata:  # hand rule: the first candidate that is not unlabelled (i % 7 == 3)
        usable = [i for i in picks if i % 7 != 3]
        if usable:
            expected.append(usable[0])
    assert [f["i"] for f in pool] == expected
    assert max(expected) >= 900 and len(expected) >= 60  # not the first 64 rows
    assert tasks_lib._read_exemplar_pool(_entry()) == pool  # another process, same pool


def test_split_size_counts_a_source_without_metadata():
    source = _entry().source.to_seqio()
    assert source.num_input_examples("train") is None
    assert exemplar_pool.split_size(source, "train") == N
    assert isinstance(source, seqio.FunctionDataSource)
