"""flanjax.hostmem: freed memory stays in the process (no page faults when it is reused).

Each case runs in a fresh interpreter: glibc's settings are per process and must be made
before threads allocate. The check is behavioural: allocate, touch, free and allocate again
a 256 MiB block through libc and count the minor page faults of the second touch.
"""

import os
import subprocess
import sys

import pytest

PROBE = r"""
import ctypes, ctypes.util, resource, sys
from flanjax import hostmem
applied = hostmem.keep_freed_memory(sys.argv[1])
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
n = 256 << 20
p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
p = libc.malloc(n); ctypes.memset(p, 2, n); libc.free(p)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(applied, faults)
"""


def _probe(mode, **env):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
        env={**os.environ, **env}, cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc settings")
def test_kept_memory_is_reused_without_page_faults():
    pages = (256 << 20) // os.sysconf("SC_PAGE_SIZE")
    applied, faults = _probe("off")
    assert not applied and faults > pages // 2  # unmapped on free: faulted in again
    applied, faults = _probe("keep")
    assert applied and faults < pages // 100  # the same pages, still mapped


def test_auto_only_on_the_cpu_backend():
    assert _probe("auto", JAX_PLATFORMS="cpu")[0]
    assert not _probe("auto", JAX_PLATFORMS="tpu")[0]
    with pytest.raises(subprocess.CalledProcessError):
        _probe("sometimes")  # an unknown mode is an error naming the variable
