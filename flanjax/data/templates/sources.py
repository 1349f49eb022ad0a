"""Original prompts, read at run time from the user's own copy of their source.

flanjax ships its own wording of every prompt. With a data setting (`flanjax.data.locations`)
pointing at a copy of the papers' sources, the catalog uses the original prompts instead:

- `FLAN_SOURCE_DIR`: a checkout of google-research/FLAN. FLAN 2021 reads `PATTERNS` of
  `flan/templates.py` (Wei et al. 2021); Flan 2022's Flan submixture, CoT and Dialog read
  `PATTERNS` and `FEWSHOT_PATTERNS` of `flan/v2/templates.py` and, for zs_noopt, `PATTERNS`
  of `flan/v2/flan_templates_branched.py` (Longpre et al. 2023; `flanjax.data.templates.flan_v2`).
- `PROMPTSOURCE_TEMPLATES_DIR`: promptsource's `promptsource/templates` directory
  (`{dataset}/[{subset}/]templates.yaml`), for T0 (Sanh et al. 2021). With both set, Flan
  2022's T0-SF wraps these prompts in v2's patterns of the task type that
  `flan/v2/constants_t0.py` gives each (`flanjax.data.catalog.flan2022_t0`).

The files are read as data and never imported or executed: a FLAN `templates.py` is parsed
with `ast` and only literal dicts, lists, tuples and strings are accepted (plus FLAN v2's
`PATTERNS["a"] = PATTERNS["b"]` aliases); promptsource YAML is read with a safe loader and
its Jinja rendered in Jinja's sandbox. A missing or malformed file fails at once, naming the
file and what was expected; nothing falls back to the own prompts once a source is set.

Every file read is recorded with its SHA-256 (`prompt_sources()`), and runs and results
write that record beside their metrics.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import string
import threading
from typing import Any, Optional

from flanjax.data import locations

FLAN_V1_TEMPLATES = os.path.join("flan", "templates.py")
FLAN_V2_TEMPLATES = os.path.join("flan", "v2", "templates.py")
PATTERNS_SYMBOL = "PATTERNS"

OWN = "flanjax"
FLAN = "google-research/FLAN"
PROMPTSOURCE = "promptsource"

Patterns = dict[str, list[tuple[str, str]]]

_LOCK = threading.Lock()
# collection -> {"prompts": OWN | FLAN | PROMPTSOURCE, "files": {path: sha256}}
_USED: dict[str, dict[str, Any]] = {}


class PromptSourceError(ValueError):
    """A prompt source file is missing or not in the shape of the original."""


# Catalog entries whose prompt source did not load: entry name -> the error. The entry is
# still registered (its task names exist), so that one broken file fails only the runs
# that use it (`check_not_broken`), not every command at import.
_BROKEN: dict[str, PromptSourceError] = {}


def mark_broken(entry: str, error: PromptSourceError) -> None:
    _BROKEN[entry] = error


def check_not_broken(entry: str, used_by: str = "") -> None:
    """Raises the entry's prompt-source error (naming file, line and column) if it has one."""
    error = _BROKEN.get(entry)
    if error is not None:
        raise PromptSourceError(f"{used_by + ' needs ' if used_by else ''}{entry}, whose prompts did "
                                f"not load: {error}")


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def record(collection: str, prompts: str, path: Optional[str] = None) -> None:
    """Notes that `collection` uses `prompts` (and, for a source, the file at `path`)."""
    with _LOCK:
        entry = _USED.setdefault(collection, {"prompts": prompts, "files": {}})
        kinds = entry["prompts"].split("+")
        if prompts not in kinds:  # a collection with entries of both kinds: "flanjax+..."
            entry["prompts"] = "+".join(kinds + [prompts])
        if path is not None:
            entry["files"][os.path.abspath(path)] = file_sha256(path)


def prompt_sources() -> dict[str, dict[str, Any]]:
    """Which prompts each registered collection uses, with every source file's SHA-256."""
    with _LOCK:
        return {k: {"prompts": v["prompts"], "files": dict(v["files"])} for k, v in _USED.items()}


# ----------------------------------------------------------------- FLAN templates.py


def _where(path: str, node: ast.AST) -> str:
    return f"{path}:{getattr(node, 'lineno', '?')}"


def _literal(node: ast.AST, path: str, numbers: bool = False) -> Any:
    """The value of a literal dict / list / tuple / str (and, with `numbers`, int / float)
    node; fails on anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if numbers and isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, path, numbers) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise PromptSourceError(f"{_where(path, v)}: `**` unpacking in a pattern dict is "
                                        "not a literal; expected {name: [(input, target), ...]}.")
            out[_literal(k, path, numbers)] = _literal(v, path, numbers)
        return out
    raise PromptSourceError(
        f"{_where(path, node)}: {type(node).__name__} ({ast.unparse(node)[:60]!r}) is not a "
        "literal; the patterns must be literal dicts, lists, tuples and strings."
    )


def _is_symbol(node: ast.AST, symbol: str) -> bool:
    return isinstance(node, ast.Name) and node.id == symbol


def _key_of(node: ast.Subscript, path: str) -> str:
    key = node.slice
    if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
        raise PromptSourceError(f"{_where(path, node)}: subscript {ast.unparse(node)!r} is not "
                                "a literal string key.")
    return key.value


def _mutates(stmt: ast.stmt, symbol: str) -> Optional[ast.AST]:
    """A node of `stmt` that changes `symbol` in a way this reader does not follow."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if _is_symbol(node.value, symbol):
                return node
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _is_symbol(node.func.value, symbol):
                return node
        if isinstance(node, ast.AugAssign) and _is_symbol(node.target, symbol):
            return node
    return None


def parse_python(path: str, missing: str) -> ast.Module:
    """A user's Python file parsed with `ast` (never imported or run). `missing`: the error
    when it does not exist; a syntax error names the file and line."""
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except FileNotFoundError:
        raise PromptSourceError(missing) from None
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as e:
        raise PromptSourceError(f"{path}:{e.lineno}: not valid Python: {e.msg}") from None


def top_level_value(tree: ast.Module, symbol: str) -> Optional[ast.AST]:
    """The expression of the module's top-level `symbol = <expression>`, or None."""
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and _is_symbol(stmt.targets[0], symbol)):
            return stmt.value
    return None


def read_literal(path: str, symbol: str) -> Any:
    """The value of a top-level `symbol = <literal>` of a Python file, read with `ast` (never
    imported): dicts, lists, tuples, strings and numbers. Fails naming the file and line."""
    tree = parse_python(path, f"{path} not found (expected a file defining {symbol}).")
    value = top_level_value(tree, symbol)
    if value is None:
        raise PromptSourceError(f"{path}: no top-level `{symbol} = ...` literal found.")
    return _literal(value, path, numbers=True)


def read_patterns(path: str, symbol: str = PATTERNS_SYMBOL) -> Patterns:
    """`symbol` of a FLAN `templates.py`, read as data: `{name: [(input, target), ...]}`.

    Accepted: one `symbol = {...}` literal, then `symbol["a"] = symbol["b"]` aliases or
    `symbol["a"] = [...]` literals. Any other change to `symbol` fails, naming the line.
    """
    tree = parse_python(path, f"FLAN templates file not found: {path}")
    patterns: Optional[dict[str, Any]] = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if _is_symbol(target, symbol):
                patterns = _literal(stmt.value, path)
                if not isinstance(patterns, dict):
                    raise PromptSourceError(f"{_where(path, stmt)}: {symbol} is not a dict.")
                continue
            if isinstance(target, ast.Subscript) and _is_symbol(target.value, symbol):
                if patterns is None:
                    raise PromptSourceError(f"{_where(path, stmt)}: {symbol}[...] set before "
                                            f"{symbol} is defined.")
                key = _key_of(target, path)
                value = stmt.value
                if isinstance(value, ast.Subscript) and _is_symbol(value.value, symbol):
                    other = _key_of(value, path)
                    if other not in patterns:
                        raise PromptSourceError(f"{_where(path, stmt)}: alias of unknown "
                                                f"{symbol}[{other!r}].")
                    patterns[key] = patterns[other]
                else:
                    patterns[key] = _literal(value, path)
                continue
        node = _mutates(stmt, symbol)
        if node is not None:
            raise PromptSourceError(
                f"{_where(path, node)}: {ast.unparse(node)[:60]!r} changes {symbol} in a way "
                "that is not a literal assignment; expected the FLAN file unchanged."
            )
    if patterns is None:
        raise PromptSourceError(f"{path}: no top-level `{symbol} = {{...}}` literal found; is "
                                "this FLAN's templates.py?")
    return {name: _pairs(name, pairs, path) for name, pairs in patterns.items()}


def _pairs(name: Any, pairs: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(name, str) or not isinstance(pairs, list) or not pairs:
        raise PromptSourceError(f"{path}: {name!r} must map to a non-empty list of "
                                "(input_pattern, target_pattern) pairs.")
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise PromptSourceError(f"{path}: pattern {i} of {name!r} must be a pair of strings "
                                    "(input_pattern, target_pattern).")
        for part in pair:
            for _, field, _, _ in string.Formatter().parse(part):
                if field is not None and not field.isidentifier():
                    raise PromptSourceError(
                        f"{path}: pattern {i} of {name!r} has placeholder {{{field}}}; only "
                        "plain field names are read from source files."
                    )
        out.append((pair[0], pair[1]))
    return out


def flan_source_file(relative: str) -> Optional[str]:
    """The path of `relative` in FLAN_SOURCE_DIR; None when the setting is unset."""
    root = locations.get("FLAN_SOURCE_DIR")
    if not root:
        return None
    root = os.path.expanduser(root)
    path = os.path.join(root, relative)
    if not os.path.isfile(path):
        raise PromptSourceError(
            f"{path} not found: {locations.describe('FLAN_SOURCE_DIR')} must be a checkout of "
            f"google-research/FLAN containing {relative}."
        )
    return path


_FLAN_CACHE: dict[tuple[str, str], Patterns] = {}


def flan_patterns(relative: str, collection: str) -> Optional[tuple[Patterns, str]]:
    """FLAN's `PATTERNS` from FLAN_SOURCE_DIR/`relative` and that file's path, recorded as
    `collection`'s prompts; None (the own prompts recorded) when FLAN_SOURCE_DIR is unset."""
    path = flan_source_file(relative)
    if path is None:
        record(collection, OWN)
        return None
    key = (os.path.abspath(path), file_sha256(path))
    if key not in _FLAN_CACHE:
        _FLAN_CACHE[key] = read_patterns(path)
    record(collection, FLAN, path)
    return _FLAN_CACHE[key], path


def require_patterns(patterns: Patterns, key: str, path: str, entry: str) -> list[tuple[str, str]]:
    """`patterns[key]`; fails naming the file and the entry that needs it."""
    if key not in patterns:
        raise PromptSourceError(
            f"{path} has no {PATTERNS_SYMBOL}[{key!r}], which catalog entry {entry!r} reads; is "
            "FLAN_SOURCE_DIR the google-research/FLAN checkout?"
        )
    return patterns[key]


# ----------------------------------------------------------------------- promptsource


def promptsource_file(dataset: str, subset: Optional[str]) -> Optional[str]:
    """`{PROMPTSOURCE_TEMPLATES_DIR}/{dataset}[/{subset}]/templates.yaml`; None when unset."""
    root = locations.get("PROMPTSOURCE_TEMPLATES_DIR")
    if not root:
        return None
    root = os.path.expanduser(root)
    if not os.path.isdir(root):
        raise PromptSourceError(
            f"{root} is not a directory: {locations.describe('PROMPTSOURCE_TEMPLATES_DIR')} "
            "must be promptsource's promptsource/templates directory."
        )
    parts = [root, dataset] + ([subset] if subset else []) + ["templates.yaml"]
    path = os.path.join(*parts)
    if not os.path.isfile(path):
        raise PromptSourceError(
            f"{path} not found: expected promptsource's templates for {dataset}"
            f"{'/' + subset if subset else ''} under "
            f"{locations.describe('PROMPTSOURCE_TEMPLATES_DIR')}."
        )
    return path


def write_record(path: str) -> str:
    """Writes `prompt_sources()` as JSON to `path` (a run's record of its prompts)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(prompt_sources(), f, indent=2, sort_keys=True)
    return path
