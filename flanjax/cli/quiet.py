"""Start-up noise off: TensorFlow's C++ log lines and orbax's spurious metadata warning.

TensorFlow 2.21 logs through absl's C++ logger, which `TF_CPP_MIN_LOG_LEVEL` no longer
reaches before `absl::InitializeLog()` ("WARNING: All log messages before
absl::InitializeLog() ...", oneDNN and "Could not find cuda drivers" lines). The import is
therefore done with file descriptor 2 pointed at a temporary file; what it wrote is replayed
only if the import fails. orbax warns "Metadata file does not exist" when it restores a
checkpoint written without the optional per-item metadata (converted checkpoints): that
warning is dropped, every other one kept. Every command's --verbose_startup shows everything.

When an orbax restore fails part-way (a truncated array file), its other TensorStore reads
still finish afterwards and call `loop.call_soon_threadsafe` on the event loop orbax has
already closed: each prints a `RuntimeError: Event loop is closed` traceback through
`sys.unraisablehook` (hundreds of them, interleaved with the command's one `error:` line).
Those are dropped; every other unraisable exception goes to the default hook. A checkpoint
write that fails with an OSError (a full disk) is logged by each of orbax's background
threads with its traceback; the trainer reports it in one line, so those records are dropped.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

# orbax's metadata warning (above); gin's INFO line for each packaged config it finds.
_SPURIOUS = ("Metadata file does not exist", "system_path_file_exists:")


class _DropSpurious(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not any(s in message for s in _SPURIOUS) and not _is_failed_save_log(record)


def _is_failed_save_log(record: logging.LogRecord) -> bool:
    """orbax's own reports of a checkpoint write that failed with an OSError (a full disk):
    each of its background threads logs the traceback (about 100 lines), while the trainer
    reports the failure as one line (`checkpoints.CheckpointSaveError`, exit 74)."""
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, OSError) and "orbax" in record.pathname


def _import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401  # pylint: disable=g-import-not-at-top,unused-import
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _is_abandoned_read(unraisable) -> bool:
    error = unraisable.exc_value
    if not (isinstance(error, RuntimeError) and str(error) == "Event loop is closed"):
        return False
    tb = unraisable.exc_traceback
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "call_soon_threadsafe":
            return True
        tb = tb.tb_next
    return False


def _drop_abandoned_reads(unraisable) -> None:
    if not _is_abandoned_read(unraisable):
        sys.__unraisablehook__(unraisable)


def silence_startup_noise(verbose: bool = False) -> None:
    """Call first thing in an entry point, before jax/tensorflow/seqio are imported;
    `verbose` (--verbose_startup) leaves everything as it is."""
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    try:
        _import_tensorflow_quietly()
    except ImportError:
        pass  # TensorFlow-free installs: nothing to silence
    for name in ("absl", "orbax", ""):
        logging.getLogger(name).addFilter(_DropSpurious())
    sys.unraisablehook = _drop_abandoned_reads
