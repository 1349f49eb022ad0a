"""Output locations checked before the work: a command that runs for hours must not find out
at the end that it cannot write its results.

`check_output_dir(path, setting)` and `check_output_file(path, setting)` refuse, naming the
setting and the path, an output that is the wrong kind of thing (a file where a directory
goes, a directory where a file goes, a path below a file) or that cannot be written: they
create and delete a probe file where the output will go, which also catches read-only
file systems and, unlike `os.access`, holds for root.
"""

from __future__ import annotations

import os
import tempfile


class OutputLocationError(ValueError):
    """An output path that cannot receive the command's results (one line)."""


def _nearest_existing(path: str) -> str:
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _probe(directory: str, setting: str, shown: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".flanjax-write-probe-")
    except OSError as e:
        raise OutputLocationError(
            f"{setting} {shown} cannot be written ({e.strerror or e} in {directory}); choose "
            "a location this process can write"
        ) from None
    os.close(fd)
    os.remove(probe)


def _check_parents(path: str, setting: str, shown: str) -> str:
    """The nearest existing ancestor of `path`, which must be a directory."""
    existing = _nearest_existing(os.path.dirname(path))
    if not os.path.isdir(existing):
        raise OutputLocationError(
            f"{setting} {shown} lies below {existing}, which is a file, not a directory; choose "
            "another path"
        )
    return existing


def check_output_dir(path: str, setting: str) -> str:
    """Refuses a directory output that cannot be created or written; returns its absolute path."""
    full = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.exists(full):
        if not os.path.isdir(full):
            raise OutputLocationError(
                f"{setting} {path} is a file, not a directory; choose a directory for the results"
            )
        _probe(full, setting, str(path))
    else:
        _probe(_check_parents(full, setting, str(path)), setting, str(path))
    return full


def check_output_file(path: str, setting: str) -> str:
    """Refuses a file output that is a directory or cannot be written; returns its absolute path."""
    full = os.path.abspath(os.path.expanduser(str(path)))
    if os.path.isdir(full):
        raise OutputLocationError(
            f"{setting} {path} is a directory; give the path of the file to write, e.g. "
            f"{os.path.join(str(path), 'out.jsonl')}"
        )
    if os.path.exists(full):
        try:
            with open(full, "a"):
                pass
        except OSError as e:
            raise OutputLocationError(f"{setting} {path} cannot be written ({e.strerror or e})") from None
    else:
        _probe(_check_parents(full, setting, str(path)), setting, str(path))
    return full
