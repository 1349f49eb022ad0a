"""Gin for the commands: flag parsing, the configs search path, and the only gin bindings.

Library code never imports gin. This module registers the library functions the gin files
configure (`register_configurables`: `train`, `make_config`, `make_schedule`,
`make_optimizer`, `evaluate`, `infer`) under their documented names, parses the command
line, and hands the data-location macros to `flanjax.data.locations`.

    --gin_file=PATH        (repeatable) a gin file, found as given or under a search path
    --gin.KEY=VALUE        (repeatable) a binding; `--gin.MODEL_DIR=/tmp/run` works without
                           quotes (a value that is not a Python literal, `@ref` or `%MACRO`
                           is taken as a string)
    --gin_search_paths=A,B (repeatable) where `include` and --gin_file look; the repository's
                           configs (`flanjax/configs/`, shipped with the package) and the
                           current directory are always searched; `gin_configs/X` (the
                           old repository path) is read as the packaged `X`

Errors in gin files, typos in bindings and missing required macros become one line,
`error: ...`, naming the culprit, and exit status 2 (`GinError`).
"""

from __future__ import annotations

import argparse
import ast
import logging
import os
import sys
from typing import Callable, Optional, Sequence

import gin

from flanjax.cli import runner

# The gin files travel with the package (setup.py package_data), so `--gin_file=runs/demo.gin`
# works from any directory and after a non-editable `pip install`.
CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
LEGACY_PREFIX = "gin_configs" + os.sep


class GinError(runner.UsageError):
    """A gin problem, reported to the user as one line."""


one_line = runner.one_line


def _as_binding(key: str, value: str) -> str:
    value = value.strip()
    if value.startswith(("@", "%", "'", '"')) or value in ("None", "True", "False"):
        return f"{key} = {value}"
    try:
        ast.literal_eval(value)
        return f"{key} = {value}"
    except (ValueError, SyntaxError):
        return f"{key} = {value!r}"


def split_gin_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separates `--gin.KEY=VALUE` flags (as gin bindings) from the other arguments."""
    bindings, rest = [], []
    for arg in argv:
        if arg.startswith("--gin."):
            body = arg[len("--gin."):]
            if "=" not in body:
                raise GinError(f"--gin.{body}: expected --gin.KEY=VALUE")
            key, value = body.split("=", 1)
            bindings.append(_as_binding(key, value))
        else:
            rest.append(arg)
    return bindings, rest


def add_gin_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gin_file", action="append", default=[], help="gin file (repeatable)")
    parser.add_argument("--gin_search_paths", action="append", default=[], help="comma-separated dirs")


def parse_command_line(
    argv: Optional[Sequence[str]],
    prog: str,
    doc: Optional[str],
    add_arguments: Optional[Callable[[argparse.ArgumentParser], None]] = None,
) -> tuple[list[str], argparse.Namespace]:
    """An entry point's command line: the `--gin.KEY=VALUE` bindings and the other flags.

    `argv` defaults to `sys.argv[1:]`; `add_arguments` adds the entry point's own flags.
    Raises GinError for a malformed binding.
    """
    bindings, rest = split_gin_flags(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(
        prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_gin_flags(parser)
    runner.add_process_flags(parser)  # taken off argv by runner.run; listed in --help
    if add_arguments is not None:
        add_arguments(parser)
    return bindings, parser.parse_args(rest)


def parse_gin(gin_files: Sequence[str], bindings: Sequence[str], search_paths: Sequence[str] = ()) -> None:
    """Parses files then bindings (later wins), as T5X's `gin_utils.parse_gin_flags`."""
    paths = [p for group in search_paths for p in group.split(",") if p] + [CONFIGS_DIR, os.getcwd()]
    for path in paths:
        gin.add_config_file_search_path(os.path.abspath(path))
    files = []
    for name in gin_files:
        if not os.path.exists(name) and name.startswith(LEGACY_PREFIX):
            name = name[len(LEGACY_PREFIX):]
        found = name if os.path.exists(name) else next(
            (os.path.join(p, name) for p in paths if os.path.exists(os.path.join(p, name))), None
        )
        if found is None:
            raise GinError(f"gin file not found: {name} (searched {', '.join(paths)})")
        files.append(found)
    # gin logs "Path not found" for each search path it tries before the one that works.
    quiet = _DropPathNotFound()
    logging.getLogger().addFilter(quiet)
    try:
        gin.parse_config_files_and_bindings(files, list(bindings), finalize_config=False)
    except Exception as e:  # gin raises ValueError/SyntaxError/IOError/...: all mean bad config
        raise GinError(f"gin: {one_line(e)}") from e
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropPathNotFound(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Path not found")


_UNSET = object()


def macro_value(name: str, optional: bool = False):
    """The value bound to macro `name`; GinError if %gin.REQUIRED (or unset, unless optional)."""
    try:
        value = gin.query_parameter(f"%{name}")
    except ValueError:
        if optional:
            return _UNSET
        raise GinError(f"gin macro {name} is required but not set; pass --gin.{name}=...") from None
    if repr(value) == "%gin.REQUIRED":
        raise GinError(f"gin macro {name} is required but not set; pass --gin.{name}=...")
    return value


def check_macros(names: Sequence[str], optional: bool = False) -> None:
    for name in names:
        macro_value(name, optional)


def write_config(path: str, operative: bool = False) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(gin.operative_config_str() if operative else gin.config_str())




# ------------------------------------------------------------- the configurable functions
_REGISTERED: set[str] = set()


def register_configurables(*groups: str) -> None:
    """Makes library functions gin-configurable under their documented names.

    groups: "model" (`make_config`), "train" (`train`, `make_schedule`, `make_optimizer`,
    `periodic_evaluator`),
    "evaluate" (`evaluate`, module `flanjax.eval`), "infer" (`infer`, module `flanjax.infer`).
    Idempotent. The module names keep fully qualified bindings of the gin files valid
    (`flanjax.eval.evaluate.batch_size = 32`).
    """
    for group in groups:
        if group in _REGISTERED:
            continue
        if group == "model":
            from flanjax.model import config  # pylint: disable=g-import-not-at-top

            gin.external_configurable(config.make_config, "make_config", module="flanjax.model.config")
        elif group == "train":
            register_configurables("model")
            from flanjax.train import loop, optimizers  # pylint: disable=g-import-not-at-top

            gin.external_configurable(optimizers.make_schedule, "make_schedule",
                                      module="flanjax.train.optimizers")
            gin.external_configurable(optimizers.make_optimizer, "make_optimizer",
                                      module="flanjax.train.optimizers")
            gin.external_configurable(loop.train, "train", module="flanjax.train.loop",
                                      denylist=["host_batches", "eval_host_batches", "periodic_eval", "startup",
                                                "keep_best"])
            # The held-out evaluator the train command hands the loop (training never
            # imports evaluation; the command does).
            from flanjax.evaluation import periodic  # pylint: disable=g-import-not-at-top

            gin.external_configurable(periodic.make_evaluator, "periodic_evaluator",
                                      module="flanjax.evaluation.periodic")
        elif group == "evaluate":
            from flanjax.evaluation import run  # pylint: disable=g-import-not-at-top

            gin.external_configurable(run.evaluate, "evaluate", module="flanjax.eval")
        elif group == "infer":
            from flanjax.evaluation import predict  # pylint: disable=g-import-not-at-top

            gin.external_configurable(predict.infer, "infer", module="flanjax.infer")
        else:
            raise ValueError(f"unknown configurable group {group!r}")
        _REGISTERED.add(group)


def configure_data_locations() -> dict[str, str]:
    """Hands the data-location macros set in gin (`SNI_DIR`, ...) to `flanjax.data.locations`.

    Returns the ones that were set. Call after parsing and before `flanjax.data.mixtures` is
    imported (registration reads some of them).
    """
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    values = {}
    for setting in locations.SETTINGS:
        value = macro_value(setting.name, optional=True)
        if value is not _UNSET and value is not None:
            values[setting.name] = str(value)
    locations.configure(values)
    return values


# Macros the gin files set for another command that reads the same files: the slice a recipe
# is planned for (`python -m flanjax.plan` reads TPU_TOPOLOGY from the experiment gin).
SHARED_MACROS = ("TPU_TOPOLOGY",)


def check_known_and_typed(read_by_command: Sequence[str], command: str) -> dict:
    """Before any work: no macro nothing reads (closest known name named), every macro of a
    declared type well typed (see `flanjax.cli.gin_checks`). Returns {macro: value} of
    `read_by_command` that are set."""
    from flanjax.cli import gin_checks  # pylint: disable=g-import-not-at-top
    from flanjax.data import locations  # pylint: disable=g-import-not-at-top

    known = tuple(read_by_command) + tuple(s.name for s in locations.SETTINGS) + SHARED_MACROS
    gin_checks.check_unknown_macros(known, command)
    values = {n: macro_value(n, optional=True) for n in read_by_command}
    values = {k: v for k, v in values.items() if v is not _UNSET}
    gin_checks.check_macro_types(values)
    return values
