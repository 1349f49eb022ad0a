"""One run per MODEL_DIR: a lease file naming the holder, refreshed while the run lives.

`MODEL_DIR/run.lease` is a small JSON object: host, pid, start time, last refresh time and
a random token. A run takes the lease before it writes anything else into MODEL_DIR and
refreshes it every `refresh_s` seconds from a daemon thread; a second run that finds a live
lease refuses with one line naming the holder. A lease is stale, and is taken over with a
warning, when its holder stopped refreshing it for `stale_s` seconds (a crashed run, a
preempted VM), or at once when it names a process of this host that no longer exists.

Taking the lease, the same code on local disks and on object stores (gs://, through
`etils.epath`). Object stores have no exclusive create or rename through the libraries in
use: tf.io.gfile's `rename(overwrite=False)` on GCS is an existence check then copy and
delete, and GCS's `if_generation_match=0` needs google-cloud-storage, not a dependency.
So each claimant writes its own uniquely named claim, `run.lease.claim-<token>` (nobody
overwrites anyone's object), waits `settle_s`, then lists the claims:

1. another live claim is there: withdraw (delete ours) and retry after a random back-off;
2. ours is alone: read the lease (refuse if live, take over if stale), write ours, and
   only then delete the claim.

Of two claimants, the one that lists second sees the other's claim, or (if that one
already finished) its lease, written before its claim was deleted: at most one wins,
also when several take over the same stale lease. Both may withdraw in the same round;
the random back-off makes that rare, and after `attempts` rounds the run refuses
("being claimed by another run") rather than guess.

What remains: the argument needs the store's strong read-after-write and list-after-write
consistency (GCS and S3 give both today; a store that does not is covered only as far as
`settle_s` exceeds its lag). A holder stopped for longer than `stale_s` (a suspended VM)
can lose its lease to a new run; both then run until its next refresh finds the other
token and sets `lost` (the trainer stops on it). A claim left by a run killed while
claiming blocks others for `stale_s` at most.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets
import socket
import threading
import time
from typing import Callable

from etils import epath

LEASE_FILE = "run.lease"
CLAIM_PREFIX = LEASE_FILE + ".claim-"  # run.lease.claim-<token>: one per run taking the lease


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
        settle_s: float | None = None,
        attempts: int = 8,
        backoff_s: float = 0.05,
        command: str = "",
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if stale_s <= refresh_s:
            raise ValueError(f"stale_s ({stale_s}) must exceed refresh_s ({refresh_s})")
        self.model_dir = model_dir if not _is_local(model_dir) else os.path.abspath(model_dir)
        self.path = epath.Path(self.model_dir) / LEASE_FILE
        # settle_s: the wait between writing a claim and listing the claims; 0 on a local
        # disk (consistent at once), 1 s on an object store (margin over its latency).
        if settle_s is None:
            settle_s = 0.0 if _is_local(self.model_dir) else 1.0
        self.refresh_s, self.stale_s, self.settle_s = refresh_s, stale_s, settle_s
        self.attempts, self.backoff_s = attempts, backoff_s
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

    def _write(self, lease: Lease) -> None:
        """Writes the lease whole or not at all, on every store: the text goes to a temporary
        name first, then `replace` puts it in place (a rename on a local disk; on an object
        store a server-side copy, which creates the new object whole). Writing `run.lease`
        in place would truncate it first, and a reader between the truncation and the write
        would find an empty lease and take it for a dead run's."""
        tmp = self.path.parent / f".{LEASE_FILE}.{lease.token}.tmp"  # not matched by the claims' glob
        tmp.write_text(json.dumps(dataclasses.asdict(lease)))
        tmp.replace(self.path)

    # -- claiming (see the module docstring) -------------------------------------------
    def _claim_path(self, token: str) -> epath.Path:
        return self.path.parent / f"{CLAIM_PREFIX}{token}"

    def _write_claim(self, claim: epath.Path, lease: Lease) -> None:
        """A new object under a unique name, written as the lease is (whole or not at all)."""
        tmp = claim.parent / f".{claim.name}.tmp"  # not matched by the claims' glob
        tmp.write_text(json.dumps(dataclasses.asdict(lease)))
        tmp.replace(claim)

    def _other_live_claims(self, mine: epath.Path) -> list[epath.Path]:
        """Other claims, less abandoned ones (older than stale_s), which are deleted."""
        live = []
        for claim in self.path.parent.glob(f"{CLAIM_PREFIX}*"):
            if claim.name == mine.name:
                continue
            try:
                age = self._clock() - Lease(**json.loads(claim.read_text())).refreshed
            except FileNotFoundError:
                continue  # withdrawn meanwhile
            except (json.JSONDecodeError, TypeError, ValueError):
                try:  # half-written on a store without atomic puts: live while young
                    age = time.time() - claim.stat().mtime
                except (FileNotFoundError, OSError):
                    continue
            if age > self.stale_s:
                self._log(f"[lock] removing an abandoned claim {claim}")
                claim.unlink(missing_ok=True)
            else:
                live.append(claim)
        return live

    def _refuse_if_live(self, current: Lease | None) -> None:
        if current is not None and self._is_stale(current) is None:
            raise RunLockError(
                f"MODEL_DIR {self.model_dir} is in use by {current.describe(self._clock())}; "
                f"wait for it, stop it, or choose another MODEL_DIR (lease: {self.path})."
            )

    def acquire(self) -> Lease:
        self._check_dir()
        rng = random.Random(secrets.randbits(64))
        for attempt in range(self.attempts):
            self._refuse_if_live(self.holder())  # the common case: one look, no claim
            lease = self._new_lease()
            claim = self._claim_path(lease.token)
            self._write_claim(claim, lease)
            try:
                if self.settle_s:
                    time.sleep(self.settle_s)
                if self._other_live_claims(claim):  # someone else is claiming: withdraw
                    claim.unlink(missing_ok=True)
                    time.sleep(rng.uniform(0, self.backoff_s * 2 ** min(attempt, 5)))
                    continue
                current = self.holder()  # ours is the only claim: decide under it
                self._refuse_if_live(current)
                if current is not None:
                    why = self._is_stale(current)
                    self._log(f"[lock] taking over the stale lease of {current.describe(self._clock())}: {why}")
                elif self.path.exists():  # unreadable (half-written by a killed run): stale
                    self._log(f"[lock] replacing an unreadable lease {self.path}")
                self._write(lease)
            finally:
                claim.unlink(missing_ok=True)  # after the lease is written: see the docstring
            self.lease = lease
            self._start_refresh()
            return lease
        raise RunLockError(f"MODEL_DIR {self.model_dir} is being claimed by another run at the same "
                           f"moment ({self.attempts} tries); wait for it, or choose another MODEL_DIR.")

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
        self._write(self.lease)
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
