"""One run per MODEL_DIR: a lease file naming the holder, refreshed while the run lives.

`MODEL_DIR/run.lease` is a small JSON object: host, pid, start time, last refresh time and
a random token. A run takes the lease before it writes anything else into MODEL_DIR and
refreshes it every `refresh_s` seconds from a daemon thread; a second run that finds a live
lease refuses with one line naming the holder. A lease is stale, and is taken over with a
warning, when its holder stopped refreshing it for `stale_s` seconds (a crashed run, a
preempted VM), or at once when it names a process of this host that no longer exists.

Works on local disks and on object stores (gs://) through `etils.epath`. Locally the
lease is created by a hard link (atomic, fails if it exists), so two runs racing for it cannot both win. Object stores
have no exclusive create through epath: the lease is written, then read back after
`settle_s`; of two racing writers only the one whose token survived keeps it (the window
is the store's write latency, far below any human's double launch).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import socket
import threading
import time
from typing import Callable

from etils import epath

LEASE_FILE = "run.lease"


class RunLockError(RuntimeError):
    """MODEL_DIR is held by another live run, or cannot hold a lease at all (one line)."""


@dataclasses.dataclass(frozen=True)
class Lease:
    host: str
    pid: int
    started: float  # seconds since the epoch
    refreshed: float
    token: str
    command: str = ""

    def describe(self, now: float) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        return (f"pid {self.pid} on host {self.host} since {started} "
                f"(lease refreshed {max(now - self.refreshed, 0):.0f}s ago)")


def _is_local(path: str) -> bool:
    return "://" not in path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """`with RunLock(model_dir): ...` or `acquire()` / `release()`."""

    def __init__(
        self,
        model_dir: str,
        *,
        refresh_s: float = 30.0,
        stale_s: float = 300.0,
        settle_s: float = 1.0,
        command: str = "",
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if stale_s <= refresh_s:
            raise ValueError(f"stale_s ({stale_s}) must exceed refresh_s ({refresh_s})")
        self.model_dir = model_dir if not _is_local(model_dir) else os.path.abspath(model_dir)
        self.path = epath.Path(self.model_dir) / LEASE_FILE
        self.refresh_s, self.stale_s, self.settle_s = refresh_s, stale_s, settle_s
        self.command, self._log, self._clock = command, log, clock
        self.lease: Lease | None = None
        self.lost = threading.Event()  # set when another run took the lease from us
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._created_dir = False

    # -- reading ---------------------------------------------------------------------
    def holder(self) -> Lease | None:
        """The lease on disk, or None (none, or unreadable: a half-written lease is stale)."""
        try:
            return Lease(**json.loads(self.path.read_text()))
        except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
            return None

    def _is_stale(self, lease: Lease) -> str | None:
        """Why `lease` may be taken over, or None while its holder lives."""
        now = self._clock()
        if lease.host == socket.gethostname() and not _pid_alive(lease.pid):
            return f"process {lease.pid} on this host is gone"
        if now - lease.refreshed > self.stale_s:
            return f"not refreshed for {now - lease.refreshed:.0f}s (> {self.stale_s:.0f}s)"
        return None

    # -- taking and keeping ----------------------------------------------------------
    def _check_dir(self) -> None:
        if not _is_local(self.model_dir):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        d = self.model_dir
        if os.path.exists(d) and not os.path.isdir(d):
            raise RunLockError(f"MODEL_DIR {d} is a file, not a directory; choose another MODEL_DIR.")
        if not os.path.exists(d):
            try:
                os.makedirs(d)
            except OSError as e:
                raise RunLockError(f"cannot create MODEL_DIR {d}: {e.strerror}; choose a writable directory.") from None
            self._created_dir = True
        if not os.access(d, os.W_OK | os.X_OK):
            raise RunLockError(f"MODEL_DIR {d} is not writable by this user; choose a writable directory.")

    def _new_lease(self) -> Lease:
        now = self._clock()
        return Lease(host=socket.gethostname(), pid=os.getpid(), started=now, refreshed=now,
                     token=secrets.token_hex(8), command=self.command)

    def _write(self, lease: Lease, *, exclusive: bool) -> bool:
        text = json.dumps(dataclasses.asdict(lease))
        if not _is_local(self.model_dir):
            self.path.write_text(text)
            return True
        tmp = f"{self.path}.{lease.token}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        if exclusive:  # link: atomic, fails if the lease exists, never shows a half-written one
            try:
                os.link(tmp, str(self.path))
                return True
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        os.replace(tmp, str(self.path))  # refreshes never leave a half-written lease
        return True

    def acquire(self) -> Lease:
        self._check_dir()
        for _ in range(3):  # a stale lease removed by someone else between our two looks
            current = self.holder()
            if current is not None:
                why = self._is_stale(current)
                if why is None:
                    raise RunLockError(
                        f"MODEL_DIR {self.model_dir} is in use by {current.describe(self._clock())}; "
                        f"wait for it, stop it, or choose another MODEL_DIR (lease: {self.path})."
                    )
                self._log(f"[lock] taking over the stale lease of {current.describe(self._clock())}: {why}")
                self.path.unlink(missing_ok=True)
            elif self.path.exists():  # unreadable (half-written by a killed run): stale
                self._log(f"[lock] removing an unreadable lease {self.path}")
                self.path.unlink(missing_ok=True)
            lease = self._new_lease()
            if not self._write(lease, exclusive=True):
                continue
            if not _is_local(self.model_dir):
                time.sleep(self.settle_s)
                back = self.holder()
                if back is None or back.token != lease.token:
                    continue
            self.lease = lease
            self._start_refresh()
            return lease
        holder = self.holder()
        who = holder.describe(self._clock()) if holder else "another run"
        raise RunLockError(f"MODEL_DIR {self.model_dir} is in use by {who}; choose another MODEL_DIR.")

    def refresh(self) -> bool:
        """Rewrites the lease with a new refresh time; False (and `lost` set) if it was taken."""
        if self.lease is None:
            return False
        current = self.holder()
        if current is None or current.token != self.lease.token:
            if not self.lost.is_set():
                who = current.describe(self._clock()) if current else "nobody (lease removed)"
                self._log(f"[lock] WARNING: the lease on {self.model_dir} is now held by {who}")
            self.lost.set()
            return False
        self.lease = dataclasses.replace(self.lease, refreshed=self._clock())
        self._write(self.lease, exclusive=False)
        return True

    def _start_refresh(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.refresh_s):
                try:
                    self.refresh()
                except OSError as e:  # a flaky store: try again next period
                    self._log(f"[lock] could not refresh the lease: {e}")

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="flanjax-run-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.lease is not None:
            current = self.holder()
            if current is not None and current.token == self.lease.token:
                self.path.unlink(missing_ok=True)
            self.lease = None
        if self._created_dir and _is_local(self.model_dir):
            try:
                os.rmdir(self.model_dir)  # only if the run left nothing in it
            except OSError:
                pass

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
