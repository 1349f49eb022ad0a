"""Every `python -m flanjax.*` command in README.md and docs/*.md still works as written.

Commands that run offline (`--dry_run`, `data.inspect` of the demo data, `--help`) are run.
The gin commands (`train`, `eval`, `infer`), which need checkpoints or TPUs, are checked as
far as their start: every gin file is found, every binding parses, every required macro is
set, no macro is unknown or ill-typed. A command whose flags or files break fails here.
"""

import glob
import os
import re
import shlex

import gin

from flanjax.cli import evaluate as cli_evaluate
from flanjax.cli import infer as cli_infer
from flanjax.cli import train as cli_train
import pytest

from _train_helpers import REPO

# The macro lists each command itself checks (so the docs are checked as the commands would).
GIN_COMMANDS = {
    "flanjax.train": ("train", cli_train.REQUIRED_MACROS, cli_train.OPTIONAL_MACROS),
    "flanjax.eval": ("evaluate", cli_evaluate.REQUIRED_MACROS, cli_evaluate.OPTIONAL_MACROS),
    "flanjax.infer": ("infer", cli_infer.REQUIRED_MACROS, cli_infer.OPTIONAL_MACROS),
}


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) for each `python -m flanjax...` line of a bash block, continuations joined."""
    out = []
    for path in [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))):
        text = open(path).read()
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            joined = re.sub(r"\\\n\s*", " ", block)
            for line in joined.splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if "python -m flanjax." not in line:
                    continue
                if "run.sh --dry_run" in line:
                    continue  # shows what run.sh sends to the workers, not a complete command
                out.append((os.path.relpath(path, REPO), line[line.index("python -m flanjax."):]))
    return out


COMMANDS = documented_commands()


def test_the_docs_have_commands():
    modules = {shlex.split(c)[2] for _, c in COMMANDS}
    assert {"flanjax.train", "flanjax.eval", "flanjax.heldout"} <= modules, modules


def _check_gin_command(module: str, args: list[str]) -> None:
    from flanjax.cli import gin_setup

    configurable, required, optional = GIN_COMMANDS[module]
    bindings, parsed = gin_setup.parse_command_line(args, module, "", None)
    gin.clear_config()
    gin_setup.register_configurables("model", configurable)
    gin_setup.parse_gin(parsed.gin_file, bindings, parsed.gin_search_paths)
    gin_setup.check_macros(required)
    gin_setup.check_macros(optional, optional=True)
    gin_setup.check_known_and_typed(required + optional, module)
    gin.clear_config()


@pytest.mark.parametrize("where, command", COMMANDS, ids=[f"{w}:{c[:60]}" for w, c in COMMANDS])
def test_documented_command(where, command, capsys):
    from flanjax.cli import runner

    words = shlex.split(command)
    module, args = words[2], words[3:]
    if "..." in args or any(a.endswith("=...") for a in args):
        pytest.skip("a placeholder command (`...`)")
    if module in GIN_COMMANDS:
        _check_gin_command(module, args)
    elif module == "flanjax.heldout" and "--dry_run" in args:
        assert runner.call("flanjax.cli.heldout", args) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "python -m flanjax.train" in out or "python -m flanjax.heldout train" in out, out
    elif module == "flanjax.data.inspect" and (args == ["--list"] or args[0].startswith("demo")):
        from flanjax.data.bundled import ensure_prepared

        ensure_prepared()
        assert runner.call("flanjax.cli.inspect_data", args) == 0, capsys.readouterr().err
    else:  # needs data or checkpoints that are not here: its flags must at least parse
        cli = {"flanjax.convert": "flanjax.cli.convert", "flanjax.contamination": "flanjax.cli.contamination",
               "flanjax.data.inspect": "flanjax.cli.inspect_data", "flanjax.heldout": "flanjax.cli.heldout",
               "flanjax.data.export": "flanjax.cli.export_data",
               "flanjax.plan": None}.get(module)
        if cli is None:
            pytest.skip(f"{module}: not checkable offline")
        assert runner.call(cli, ["--help"]) == 0
        usage = capsys.readouterr().out
        for flag in (a.split("=")[0] for a in args if a.startswith("--")):
            assert flag in usage, f"{where}: {module} has no flag {flag}"
