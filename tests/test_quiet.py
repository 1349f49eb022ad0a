"""Entry points start without TensorFlow's C++ log lines."""

import os
import subprocess
import sys

from _train_helpers import HANG_GUARD_S, REPO


def test_tensorflow_import_is_silent_but_failures_are_not():
    env = dict(os.environ)
    for k in ("TF_CPP_MIN_LOG_LEVEL", "FLANJAX_VERBOSE_STARTUP"):
        env.pop(k, None)
    code = ("from flanjax.cli import quiet; quiet.silence_startup_noise(); import tensorflow as tf; "
            "import logging; logging.getLogger('absl').warning('Metadata file does not exist: x'); "
            "logging.getLogger('absl').warning('kept'); print(tf.constant(2).numpy())")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2"
    assert proc.stderr.strip() == "kept", proc.stderr
    # Without the helper the same import is noisy (so the test can tell).
    noisy = subprocess.run([sys.executable, "-c", "import tensorflow"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert noisy.stderr.strip(), "TensorFlow printed nothing: the check above proves nothing"


def test_closed_loop_callbacks_are_dropped_other_unraisables_kept():
    """orbax's abandoned TensorStore reads call back into a closed asyncio loop after a failed
    restore; those tracebacks are dropped, any other unraisable exception is still printed."""
    code = r"""
import asyncio, gc, sys, threading
from flanjax.cli import quiet
quiet.silence_startup_noise()
loop = asyncio.new_event_loop(); loop.close()
class Callback:  # what a TensorStore future does on its own thread: raise inside a callback
    def __del__(self):
        loop.call_soon_threadsafe(print)
def drop():
    Callback()
t = threading.Thread(target=drop); t.start(); t.join()
class Other:
    def __del__(self):
        raise RuntimeError("a real problem")
Other(); gc.collect()
print("done")
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr
    assert "Event loop is closed" not in proc.stderr, proc.stderr
    assert "a real problem" in proc.stderr, proc.stderr
