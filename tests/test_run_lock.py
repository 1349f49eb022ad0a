"""The MODEL_DIR lease: one live run per directory, stale leases taken over, bad dirs named."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from _train_helpers import HANG_GUARD_S

from flanjax.train import run_lock


def _lock(path, **kw):
    logs = []
    kw.setdefault("refresh_s", 0.05)
    kw.setdefault("stale_s", 5.0)
    return run_lock.RunLock(str(path), log=logs.append, **kw), logs


def test_second_run_refuses_naming_the_holder(tmp_path):
    first, _ = _lock(tmp_path / "run", command="train demo")
    lease = first.acquire()
    try:
        on_disk = json.loads((tmp_path / "run" / run_lock.LEASE_FILE).read_text())
        assert on_disk["pid"] == os.getpid() and on_disk["host"] == socket.gethostname()
        assert on_disk["token"] == lease.token and on_disk["command"] == "train demo"
        second, _ = _lock(tmp_path / "run")
        with pytest.raises(run_lock.RunLockError) as e:
            second.acquire()
        msg = str(e.value)
        assert len(msg.splitlines()) == 1
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in msg and "choose another MODEL_DIR" in msg
        # The holder keeps refreshing while it lives.
        time.sleep(0.3)
        assert json.loads((tmp_path / "run" / run_lock.LEASE_FILE).read_text())["refreshed"] > lease.refreshed
    finally:
        first.release()
    assert not (tmp_path / "run" / run_lock.LEASE_FILE).exists()
    again, _ = _lock(tmp_path / "run")  # free once released
    again.acquire()
    again.release()


def test_stale_leases_are_taken_over_with_a_warning(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "checkpoints").mkdir()  # keeps the directory after release
    # A dead process of this host: stale at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = dict(host=socket.gethostname(), pid=dead.pid, started=time.time(), refreshed=time.time(),
                 token="old", command="")
    (d / run_lock.LEASE_FILE).write_text(json.dumps(stale))
    lock, logs = _lock(d)
    lock.acquire()
    assert any("taking over the stale lease" in m and f"process {dead.pid}" in m for m in logs), logs
    lock.release()
    # Another host that stopped refreshing: stale after stale_s, refused before.
    old = dict(stale, host="elsewhere", pid=1, refreshed=time.time() - 60)
    (d / run_lock.LEASE_FILE).write_text(json.dumps(old))
    with pytest.raises(run_lock.RunLockError, match="host elsewhere"):
        _lock(d, stale_s=120)[0].acquire()
    lock, logs = _lock(d, stale_s=30)
    lock.acquire()
    assert any("not refreshed for" in m for m in logs), logs
    # A lease taken over from under us is noticed at the next refresh.
    (d / run_lock.LEASE_FILE).write_text(json.dumps(dict(old, token="thief", refreshed=time.time())))
    assert lock.lost.wait(2.0)
    assert any("now held by" in m for m in logs), logs
    lock.release()
    assert json.loads((d / run_lock.LEASE_FILE).read_text())["token"] == "thief"  # not ours to remove


def test_bad_model_dirs_are_one_line(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(run_lock.RunLockError, match="is a file, not a directory"):
        _lock(f)[0].acquire()
    with pytest.raises(run_lock.RunLockError, match="cannot create MODEL_DIR"):
        _lock(f / "sub")[0].acquire()
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(run_lock.RunLockError, match="not writable"):
            _lock(ro)[0].acquire()
    # A directory the lock created, left empty by a refused run, is removed again.
    fresh = tmp_path / "fresh"
    lock = _lock(fresh)[0]
    lock.acquire()
    lock.release()
    assert not fresh.exists()


def test_two_processes_race_one_wins(tmp_path):
    code = (
        "import sys, time; from flanjax.train import run_lock\n"
        "try:\n    run_lock.RunLock(sys.argv[1], log=lambda m: None).acquire(); print('WON', flush=True); time.sleep(3)\n"
        "except run_lock.RunLockError as e:\n    print('LOST', e, flush=True)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")], stdout=subprocess.PIPE,
                              text=True, env=env) for _ in range(4)]
    outs = [p.communicate(timeout=HANG_GUARD_S)[0] for p in procs]
    assert sorted(o.split()[0] for o in outs) == ["LOST", "LOST", "LOST", "WON"], outs


def _race(make_lock, n=8):
    """n threads acquire at the same moment; returns (winners, one-line refusals)."""
    import threading

    barrier, won, lost = threading.Barrier(n), [], []

    def one(i):
        lock = make_lock(i)
        barrier.wait()
        try:
            lock.acquire()
            won.append(lock)
        except run_lock.RunLockError as e:
            lost.append(str(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return won, lost


@pytest.mark.parametrize("store", ["local", "object_store"])
def test_concurrent_acquirers_exactly_one_wins(tmp_path, monkeypatch, store):
    """Threads racing for a free lease, then for one stale lease (a dead run's): one winner
    each time. "object_store" runs the gs:// code path (no rename, a settle wait) on a
    local directory standing in for the bucket."""
    if store == "object_store":
        monkeypatch.setattr(run_lock, "_is_local", lambda path: False)
    d = tmp_path / "run"
    d.mkdir()
    (d / "checkpoints").mkdir()
    kw = dict(settle_s=0.05) if store == "object_store" else {}
    for round_ in range(3):
        won, lost = _race(lambda i: _lock(d, **kw)[0])
        assert len(won) == 1 and len(lost) == 7, (round_, len(won), lost)
        assert all(len(m.splitlines()) == 1 and ("in use by" in m or "being claimed" in m) for m in lost), lost
        assert json.loads((d / run_lock.LEASE_FILE).read_text())["token"] == won[0].lease.token
        won[0].release()
    # A stale lease (its process is gone): every racer sees it stale, one takes it over.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = dict(host=socket.gethostname(), pid=dead.pid, started=time.time(), refreshed=time.time(),
                 token="old", command="")
    (d / run_lock.LEASE_FILE).write_text(json.dumps(stale))
    won, lost = _race(lambda i: _lock(d, **kw)[0])
    assert len(won) == 1 and len(lost) == 7, (len(won), lost)
    assert json.loads((d / run_lock.LEASE_FILE).read_text())["token"] == won[0].lease.token
    won[0].release()
    assert not [p for p in os.listdir(d) if p.startswith(run_lock.CLAIM_PREFIX)]  # no claim left behind


@pytest.mark.parametrize("store", ["local", "object_store"])
def test_no_reader_ever_sees_a_partial_lease(tmp_path, monkeypatch, store):
    """Every write of a lease (taking it, each refresh) is seen by a reader in the middle of
    the write: the reader must find the previous lease or the new one, whole. A write in
    place (truncate, then write) shows it an empty or half file, which `holder()` would
    take for a dead run's lease (under load the suite's race test read one: JSONDecodeError)."""
    if store == "object_store":
        monkeypatch.setattr(run_lock, "_is_local", lambda path: False)
    lease_path = tmp_path / "run" / run_lock.LEASE_FILE
    seen = []
    original = type(run_lock.epath.Path(str(tmp_path))).write_text

    def write_text_with_a_reader_in_the_middle(self, data, *args, **kwargs):
        with open(os.fspath(self), "w") as f:  # the first half, flushed, as a slow write shows it
            f.write(data[: len(data) // 2])
        if lease_path.exists():
            seen.append(lease_path.read_text())
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(type(run_lock.epath.Path(str(tmp_path))), "write_text",
                        write_text_with_a_reader_in_the_middle)
    lock, _ = _lock(tmp_path / "run", settle_s=0.0, refresh_s=60, stale_s=600)
    token = lock.acquire().token
    try:
        assert lock.refresh() and lock.refresh()
    finally:
        lock.release()
    assert len(seen) >= 2, seen  # the refreshes were read mid-write
    for text in seen:
        assert json.loads(text)["token"] == token, text
