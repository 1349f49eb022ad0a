"""Checks of the parsed gin config before any work starts: unknown macros and macro types.

gin accepts any `NAME = value` (a macro) and only complains about a misspelled one if
something asks for it, so `--gin.TRAIN_STESP=20` would silently leave TRAIN_STEPS at its
default. Here a macro is known when a binding refers to it (`%NAME`) or the command reads it
itself (the entry point's macro list); any other macro is an error naming the closest known
name. Each known macro with a declared type is checked once, with a message naming it.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Callable, Iterable, Mapping

import gin


class GinCheckError(ValueError):
    """A gin macro is unknown or of the wrong type (one line, names the macro and the fix)."""


def _macro_refs(value: Any, out: set[str]) -> None:
    if isinstance(value, gin.config.ConfigurableReference):
        if value.selector == "gin.macro":
            out.add(value.scoped_selector.split("/")[0])
        return
    if isinstance(value, Mapping):
        for v in value.values():
            _macro_refs(v, out)
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            _macro_refs(v, out)


def bound_macros() -> dict[str, Any]:
    """{macro name: its (unevaluated) value} for every macro the parsed config defines."""
    return {scope: params["value"] for (scope, selector), params in gin.config._CONFIG.items()  # pylint: disable=protected-access
            if selector == "gin.macro" and "value" in params}


def referenced_macros() -> set[str]:
    """Macros some binding refers to with %NAME (macros referring to macros included)."""
    out: set[str] = set()
    for params in gin.config._CONFIG.values():  # pylint: disable=protected-access
        for value in params.values():
            _macro_refs(value, out)
    return out


def check_unknown_macros(read_by_command: Iterable[str], command: str) -> None:
    """Raises GinCheckError for a macro that nothing refers to and the command does not read."""
    known = set(read_by_command) | referenced_macros()
    for name in sorted(bound_macros()):
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"macros {command} reads: {', '.join(sorted(known))}"
        raise GinCheckError(f"unknown gin macro {name}: nothing in {command}'s config reads it; {hint}")


# -- types -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MacroType:
    describe: str  # what a good value is, for the message
    ok: Callable[[Any], bool]


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _lengths(x: Any) -> bool:
    return (isinstance(x, Mapping) and {"inputs", "targets"} <= set(x)
            and all(isinstance(k, str) and _int(v) and v > 0 for k, v in x.items()))


POSITIVE_INT = MacroType("a positive integer", lambda x: _int(x) and x > 0)
NON_NEGATIVE_INT = MacroType("an integer >= 0", lambda x: _int(x) and x >= 0)
INT = MacroType("an integer", _int)
STRING = MacroType("a quoted string", lambda x: isinstance(x, str) and bool(x))
OPTIONAL_STRING = MacroType("a quoted string or None", lambda x: x is None or isinstance(x, str))
OPTIONAL_STEP = MacroType("an integer >= 0 or None", lambda x: x is None or (_int(x) and x >= 0))
BOOL = MacroType("True or False", lambda x: isinstance(x, bool))
LENGTHS = MacroType(
    "a dict of positive integers with 'inputs' and 'targets', e.g. {'inputs': 512, 'targets': 128}",
    _lengths,
)

# The T5X-style macros every command shares; a command adds its own.
MACRO_TYPES: dict[str, MacroType] = {
    "MIXTURE_OR_TASK_NAME": STRING,
    "TASK_FEATURE_LENGTHS": LENGTHS,
    "SNI_TEST_FEATURE_LENGTHS": LENGTHS,
    "TRAIN_STEPS": POSITIVE_INT,
    "BATCH_SIZE": POSITIVE_INT,
    "MODEL_DIR": STRING,
    "INITIAL_CHECKPOINT_PATH": OPTIONAL_STRING,
    "INITIAL_STEP": OPTIONAL_STEP,
    "HELDOUT_CLUSTER": OPTIONAL_STRING,
    "SEED": INT,
    "CHECKPOINT_PERIOD": POSITIVE_INT,
    "EVAL_PERIOD": NON_NEGATIVE_INT,
    "RESUME_FROM_LAST_GOOD": BOOL,
}


def _type_name(x: Any) -> str:
    return type(x).__name__


def check_macro_types(values: Mapping[str, Any], types: Mapping[str, MacroType] = MACRO_TYPES) -> None:
    """`values`: {macro: evaluated value}; a wrong one raises GinCheckError naming it."""
    for name, value in values.items():
        kind = types.get(name)
        if kind is None or value is gin.REQUIRED or kind.ok(value):
            continue
        extra = ""
        if kind is LENGTHS and isinstance(value, Mapping) and not {"inputs", "targets"} <= set(value):
            extra = f" (missing {sorted({'inputs', 'targets'} - set(value))})"
        raise GinCheckError(
            f"gin macro {name} must be {kind.describe}, got {value!r} ({_type_name(value)}){extra}; "
            f"e.g. --gin.{name}={_example(kind)}"
        )


def _example(kind: MacroType) -> str:
    return {id(POSITIVE_INT): "100", id(NON_NEGATIVE_INT): "0", id(INT): "0", id(STRING): "'name'",
            id(OPTIONAL_STRING): "None", id(BOOL): "True",
            id(LENGTHS): "\"{'inputs': 512, 'targets': 128}\""}[id(kind)]
