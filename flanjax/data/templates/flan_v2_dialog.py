"""Flan 2022's non-deterministic dialog format, with its candidate strings read at run time
from the user's google-research/FLAN checkout (FLAN_SOURCE_DIR).

v2 registers, for every task whose preprocessors hold `format_dialog` (wiki_dialog, qrecc,
task_master and their "_input_inversion" copies), a `{task}_template_0to10_non_deter_opt_zero_shot`
task with `format_dialog` replaced by `format_dialog_non_deterministic` (`flan/v2/tasks.py`,
the `prep.format_dialog in config.preprocessors` branch). That function draws, with
`tf.random.uniform` on every pass, one start string, one list of item names (one name per
turn, e.g. alternating "\\nPerson A: " / "\\nPerson B: ") and one list of item endings
(`flan/v2/templates.py` DIALOG_START_STRING_CANDIDATES, DIALOG_ITEM_NAME_CANDIDATES,
DIALOG_ITEM_END_STR_CANDIDATES), and writes

    start + name[0] + turn[0] + end[0] + ... + name[n-1] + turn[n-1] + end[n-1] + name[n]

(the last name announces the turn to predict; `flan/v2/preprocessors.py`
`format_dialog_non_deterministic`). Here each draw is `draw(what) % len(candidates)`, `draw`
a hash of (seed, task, example) (`flanjax.data.render.Renderer`), so a rerun gives the same
text.

The item lists are list comprehensions in v2 (a string repeated `for _ in range(1000)`, or
two alternating with `if x % 2 == 0 else`), so the file is read with `ast` and those
expressions evaluated by a small interpreter of literals: strings, integers, lists, `+`,
`-`, `%` on integers, `==` / `!=`, `if`-`else`, calls of `range` / `chr` / `ord` / `str`, and
one-generator list comprehensions. The file is never imported or executed.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import os
from typing import Any, Callable, Optional, Sequence

from flanjax.data.templates import sources

# flan/v2/templates.py symbols read by `format_dialog_non_deterministic` (preprocessors.py).
START_SYMBOL = "DIALOG_START_STRING_CANDIDATES"
ITEM_NAME_SYMBOL = "DIALOG_ITEM_NAME_CANDIDATES"
ITEM_END_SYMBOL = "DIALOG_ITEM_END_STR_CANDIDATES"
# A bound on `range(...)` in the file (v2's lists have 1000 items), so a malformed file
# cannot ask for an unbounded list.
MAX_RANGE = 100_000

Draw = Callable[[str], int]

_CALLS: dict[str, Callable[..., Any]] = {"range": range, "chr": chr, "ord": ord, "str": str}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mod: operator.mod}


@dataclasses.dataclass(frozen=True)
class DialogCandidates:
    """v2's dialog candidate strings, as read from `path`."""

    start: tuple[str, ...]
    item_names: tuple[tuple[str, ...], ...]
    item_ends: tuple[tuple[str, ...], ...]
    path: str

    def __repr__(self) -> str:  # the lists hold thousands of strings
        return (f"DialogCandidates({self.path}: {len(self.start)} starts, "
                f"{len(self.item_names)} item names, {len(self.item_ends)} item ends)")


def _fail(path: str, node: ast.AST, what: str) -> sources.PromptSourceError:
    return sources.PromptSourceError(
        f"{path}:{getattr(node, 'lineno', '?')}: {ast.unparse(node)[:60]!r} {what}"
    )


def _eval(node: ast.AST, env: dict[str, Any], path: str) -> Any:
    """The value of a literal expression of v2's candidate lists (see the module docstring)."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, env, path) for e in node.elts]
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env, path), _eval(node.right, env, path)
        if isinstance(node.op, (ast.Sub, ast.Mod)) and not (
                type(left) is int and type(right) is int):
            raise _fail(path, node, "is not integer arithmetic.")
        try:
            return _BINOPS[type(node.op)](left, right)
        except (TypeError, ZeroDivisionError) as e:
            raise _fail(path, node, f"cannot be evaluated: {e}.") from None
    if (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.Eq, ast.NotEq))):
        equal = _eval(node.left, env, path) == _eval(node.comparators[0], env, path)
        return equal if isinstance(node.ops[0], ast.Eq) else not equal
    if isinstance(node, ast.IfExp):
        branch = node.body if _eval(node.test, env, path) else node.orelse
        return _eval(branch, env, path)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _CALLS and not node.keywords):
        args = [_eval(a, env, path) for a in node.args]
        if node.func.id == "range":
            if not (1 <= len(args) <= 3 and all(type(a) is int for a in args)
                    and len(range(*args)) <= MAX_RANGE):
                raise _fail(path, node, f"is not a range of at most {MAX_RANGE} integers.")
        try:
            return _CALLS[node.func.id](*args)
        except (TypeError, ValueError) as e:
            raise _fail(path, node, f"cannot be evaluated: {e}.") from None
    if isinstance(node, ast.ListComp) and len(node.generators) == 1:
        gen = node.generators[0]
        if isinstance(gen.target, ast.Name) and not gen.ifs and not gen.is_async:
            items = _eval(gen.iter, env, path)
            if not isinstance(items, (range, list)):
                raise _fail(path, gen.iter, "is not a range or a list.")
            return [_eval(node.elt, {**env, gen.target.id: v}, path) for v in items]
    raise _fail(path, node, "is not a literal expression (strings, lists, range, chr, ord, "
                            "str, +, %, ==, if-else, list comprehensions).")


def read_value(path: str, symbol: str) -> Any:
    """The value of the top-level `symbol = <expression>` of a Python file, read with `ast`
    and evaluated by `_eval` (never imported). Fails naming the file and line."""
    tree = sources.parse_python(path, f"{path} not found (expected {symbol}).")
    value = sources.top_level_value(tree, symbol)
    if value is not None:
        return _eval(value, {}, path)
    raise sources.PromptSourceError(
        f"{path}: no top-level `{symbol} = [...]`; Flan 2022's non-deterministic dialog format "
        "reads it (is FLAN_SOURCE_DIR the google-research/FLAN checkout?)."
    )


def _strings(value: Any, path: str, symbol: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(s, str) for s in value)):
        raise sources.PromptSourceError(f"{path}: {symbol} must be a non-empty list of strings.")
    return tuple(value)


def _lists(value: Any, path: str, symbol: str) -> tuple[tuple[str, ...], ...]:
    if not (isinstance(value, list) and value):
        raise sources.PromptSourceError(f"{path}: {symbol} must be a non-empty list of lists.")
    return tuple(_strings(v, path, f"{symbol}[{i}]") for i, v in enumerate(value))


_CACHE: dict[tuple[str, str], DialogCandidates] = {}


def candidates(collection: str) -> Optional[DialogCandidates]:
    """v2's dialog candidates from FLAN_SOURCE_DIR's `flan/v2/templates.py`, recorded as
    `collection`'s prompts; None when FLAN_SOURCE_DIR is unset."""
    path = sources.flan_source_file(sources.FLAN_V2_TEMPLATES)
    if path is None:
        return None
    key = (os.path.abspath(path), sources.file_sha256(path))
    if key not in _CACHE:
        _CACHE[key] = DialogCandidates(
            start=_strings(read_value(path, START_SYMBOL), path, START_SYMBOL),
            item_names=_lists(read_value(path, ITEM_NAME_SYMBOL), path, ITEM_NAME_SYMBOL),
            item_ends=_lists(read_value(path, ITEM_END_SYMBOL), path, ITEM_END_SYMBOL),
            path=path,
        )
    sources.record(collection, sources.FLAN, path)
    return _CACHE[key]


def format_dialog_non_deterministic(turns: Sequence[str], cands: DialogCandidates,
                                    draw: Draw) -> str:
    """v2's `format_dialog_non_deterministic` of the turns before the one to predict, each
    candidate drawn as `draw(name) % len(candidates)`."""
    start = cands.start[draw("dialog_start") % len(cands.start)]
    names = cands.item_names[draw("dialog_item_names") % len(cands.item_names)]
    ends = cands.item_ends[draw("dialog_item_ends") % len(cands.item_ends)]
    if len(turns) >= min(len(names), len(ends) + 1):
        raise sources.PromptSourceError(
            f"{cands.path}: the dialog candidates have {len(names)} item names and "
            f"{len(ends)} endings; a dialog of {len(turns)} turns needs more (v2 supports 1000)."
        )
    body = "".join(names[i] + turn + ends[i] for i, turn in enumerate(turns))
    return start + body + names[len(turns)]
