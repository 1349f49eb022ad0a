"""How a command behaves is set by its flags; the old FLANJAX_* variables still work for one
release, each with a one-line notice (flanjax.cli.runner)."""

from __future__ import annotations

import sys
import types

import pytest

from flanjax.cli import runner


@pytest.fixture(autouse=True)
def _fresh_notices(monkeypatch):
    for name in runner.OLD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runner, "_NOTIFIED", set())


def test_process_flags_are_taken_off_the_command_line():
    flags, rest = runner.split_process_flags(
        ["--gin_file=runs/demo.gin", "--debug", "--host_malloc", "off", "--gin.TRAIN_STEPS=3", "--verbose_startup"])
    assert (flags.debug, flags.verbose_startup, flags.host_malloc) == (True, True, "off")
    assert rest == ["--gin_file=runs/demo.gin", "--gin.TRAIN_STEPS=3"]
    flags, rest = runner.split_process_flags(["--steps", "3"])
    assert (flags.debug, flags.verbose_startup, flags.host_malloc) == (False, False, "auto")
    assert rest == ["--steps", "3"]


def test_old_environment_variables_work_once_more_with_one_notice(monkeypatch, capsys):
    monkeypatch.setenv("FLANJAX_DEBUG", "1")
    monkeypatch.setenv("FLANJAX_HOST_MALLOC", "keep")
    for _ in range(2):
        flags, _ = runner.split_process_flags([])
        assert flags.debug and flags.host_malloc == "keep"
    notices = [l for l in capsys.readouterr().err.splitlines() if l.startswith("notice:")]
    assert sorted(notices) == [
        "notice: FLANJAX_DEBUG is read for one more release; pass --debug instead",
        "notice: FLANJAX_HOST_MALLOC is read for one more release; pass --host_malloc instead",
    ]
    # The flag wins over the old variable.
    assert runner.split_process_flags(["--host_malloc", "off"])[0].host_malloc == "off"


def test_debug_flag_shows_the_traceback_of_bad_input(monkeypatch, capsys):
    module = types.ModuleType("fake_command")

    def main(argv):
        assert argv == ["--x"]  # the process flag never reaches the command's parser
        raise runner.UsageError("bad setting X")

    module.main = main
    monkeypatch.setitem(sys.modules, "fake_command", module)
    assert runner.call("fake_command", ["--x"]) == runner.EXIT_USAGE
    assert capsys.readouterr().err.strip() == "error: bad setting X"
    with pytest.raises(runner.UsageError, match="bad setting X"):
        runner.call("fake_command", ["--debug", "--x"])
