"""Rendering in worker processes yields exactly what in-process rendering yields."""

from __future__ import annotations

import numpy as np
import pytest
import seqio

from flanjax.data import mixtures, parallel  # noqa: F401  (mixtures registers the tasks)
from flanjax.data.bundled import ensure_prepared

LENGTHS = {"inputs": 200, "targets": 32}


@pytest.fixture(autouse=True)
def _reset():
    ensure_prepared()
    yield
    parallel.set_render_processes(None)


def _examples(name: str, split: str, processes: int, n: int = 150) -> list[dict]:
    parallel.set_render_processes(processes)
    ds = seqio.get_mixture_or_task(name).get_dataset(
        sequence_length=LENGTHS, split=split, shuffle=False, num_epochs=1)
    return list(ds.take(n).as_numpy_iterator())


@pytest.mark.parametrize("name,split", [
    ("demo_entailment_zs", "train"),      # sampled FLAN templates, answer options
    ("demo_reverse_words_fs", "train"),   # few-shot: exemplars trimmed to the length
    ("demo_entailment_zs:1", "validation"),  # eval task, fixed template
])
def test_two_processes_yield_the_single_process_examples_in_order(name, split):
    one = _examples(name, split, 1)
    two = _examples(name, split, 2)
    assert len(one) == len(two) > 0
    for a, b in zip(one, two):
        assert a.keys() == b.keys()
        for k in a:
            assert type(a[k]) is type(b[k]), k
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}: {k}")

