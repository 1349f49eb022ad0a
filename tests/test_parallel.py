"""Rendering in worker processes yields exactly what in-process rendering yields."""

from __future__ import annotations

import os

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



def test_render_settings_are_data_settings(monkeypatch):
    """RENDER_PROCESSES / RENDER_SEED / CACHE_DIRS: gin macro (locations.configure) over the
    environment over the default; a bad value names the setting and how to set it."""
    import seqio

    from flanjax.data import cache, locations, tasks

    monkeypatch.delenv("FLANJAX_RENDER_PROCESSES", raising=False)
    monkeypatch.delenv("FLANJAX_RENDER_SEED", raising=False)
    parallel.set_render_processes(None)
    assert parallel.render_processes() == 1 and tasks.render_seed() == 0  # defaults
    monkeypatch.setenv("FLANJAX_RENDER_PROCESSES", "3")
    monkeypatch.setenv("FLANJAX_RENDER_SEED", "11")
    assert parallel.render_processes() == 3 and tasks.render_seed() == 11
    locations.configure({"RENDER_PROCESSES": "2", "RENDER_SEED": "5"})
    try:
        assert parallel.render_processes() == 2 and tasks.render_seed() == 5
        locations.configure({"RENDER_SEED": "five"})
        with pytest.raises(ValueError, match=r"RENDER_SEED='five'.*--gin.RENDER_SEED.*FLANJAX_RENDER_SEED"):
            tasks.render_seed()
    finally:
        locations.configure({"RENDER_PROCESSES": None, "RENDER_SEED": None})
    before = list(seqio.get_global_cache_dirs())
    locations.configure({"CACHE_DIRS": "/tmp/flanjax_c1,/tmp/flanjax_c2"})
    try:
        dirs = cache.add_cache_dirs()
        assert dirs[-2:] == ["/tmp/flanjax_c1", "/tmp/flanjax_c2"]
    finally:
        locations.configure({"CACHE_DIRS": None})
        seqio.set_global_cache_dirs(before)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie has ended, only not yet been reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_render_workers_end_when_their_parent_is_killed():
    """kill -9 of the process that started the render workers runs no atexit hook and no
    executor shutdown; the workers must end anyway instead of waiting for work forever."""
    import signal
    import subprocess
    import sys
    import time

    from _train_helpers import HANG_GUARD_S, REPO

    code = ("import os, sys, time\n"
            "from flanjax.data import parallel\n"
            "pool = parallel._pool(1)\n"
            "print(pool.submit(os.getpid).result(), flush=True)  # the worker has started\n"
            "time.sleep(3600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 1 and _alive(workers[0]), workers
        parent.send_signal(signal.SIGKILL)
        parent.wait(HANG_GUARD_S)
        deadline = time.monotonic() + 120  # a hang guard: they exit within about a second
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), [p for p in workers if _alive(p)]
    finally:
        parent.kill()
        for p in locals().get("workers", []):
            if _alive(p):
                os.kill(p, signal.SIGKILL)
