"""Flan 2022's few-shot patterns (`FEWSHOT_PATTERNS` of google-research/FLAN
`flan/v2/templates.py`), read as data from the user's checkout (FLAN_SOURCE_DIR).

Each v2 `FewShotPattern(inputs=..., targets=..., inputs_prefix=..., targets_prefix=...,
x_y_delimiter=..., example_separator=..., final_suffix=..., input_pattern=...,
in_template_mix=...)` becomes a `FewShotPattern` here with the same fields and defaults. The
file is parsed with `ast` and never imported: the dict must hold lists of
`FewShotPattern(...)` calls with literal keyword arguments, followed by v2's
`FEWSHOT_PATTERNS["a"] = FEWSHOT_PATTERNS["b"]` aliases; anything else fails naming the file
and line. How exemplars are drawn and pruned with these patterns: `flanjax.data.flan2022_fewshot`.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from typing import Any, Optional

from flanjax.data.templates import sources
from flanjax.data.templates.flan import FlanTemplate, pattern_fields

FEWSHOT_SYMBOL = "FEWSHOT_PATTERNS"
_CLASS = "FewShotPattern"

# v2 `FEWSHOT_PATTERNS_NO_OPTIONS` (flan/v2/templates.py): the no-option few-shot patterns are
# the inputs with these pieces replaced by "", in this order.
NO_OPTIONS_REMOVALS = ("\n\n{options_}", "\n{options_}", " | {options_}", " {options_}",
                       " ({options_})", "{options_}", "\n\n{options_str}", "\n{options_str}")


@dataclasses.dataclass(frozen=True)
class FewShotPattern:
    """One v2 `FewShotPattern` (defaults as its dataclass in `flan/v2/templates.py`).

    An exemplar is `{inputs_prefix}{inputs}{x_y_delimiter}{targets_prefix}{targets}` followed
    by an example separator; the few-shot input is then formatted with `input_pattern` (with
    `{final_suffix}` filled first, `{inputs}` the joined exemplars and query).
    """

    name: str
    inputs: str
    targets: str
    inputs_prefix: str = ""
    targets_prefix: str = ""
    x_y_delimiter: str = "\n\n"
    example_separator: str = "\n\n\n"
    final_suffix: str = ""
    input_pattern: str = "{{inputs}}{final_suffix}"
    in_template_mix: bool = True
    origin: str = ""

    @property
    def combined_inputs(self) -> str:
        """v2 `combined_inputs_w_target_prefix`: what an exemplar or the query shows."""
        return self.inputs_prefix + self.inputs + self.x_y_delimiter + self.targets_prefix

    def template(self) -> FlanTemplate:
        """The (combined inputs, targets) pair as a FLAN template, for rendering fields."""
        return FlanTemplate(self.name, self.combined_inputs, self.targets, origin=self.origin)

    def fields(self) -> frozenset[str]:
        # `{inputs}` of the input pattern is the few-shot text itself, not an example field.
        outer = pattern_fields(self.input_pattern.format(final_suffix=self.final_suffix))
        return self.template().fields() | (outer - {"inputs"})

    def no_options(self) -> "FewShotPattern":
        """v2's FEWSHOT_PATTERNS_NO_OPTIONS version of this pattern."""
        inputs = self.inputs
        for piece in NO_OPTIONS_REMOVALS:
            inputs = inputs.replace(piece, "")
        return dataclasses.replace(self, inputs=inputs)

    def format_input(self, text: str, fields: dict[str, Any]) -> str:
        """`input_pattern` with `{final_suffix}` and then `{inputs}` (and any field) filled."""
        outer = self.input_pattern.format(final_suffix=self.final_suffix)
        return outer.format_map({**fields, "inputs": text})


_FIELDS = {f.name for f in dataclasses.fields(FewShotPattern)} - {"name", "origin"}


def _pattern(node: ast.AST, key: str, index: int, path: str) -> FewShotPattern:
    where = f"{path}:{getattr(node, 'lineno', '?')}"
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == _CLASS and not node.args):
        raise sources.PromptSourceError(
            f"{where}: {FEWSHOT_SYMBOL}[{key!r}][{index}] is {ast.unparse(node)[:60]!r}; "
            f"expected {_CLASS}(...) with keyword arguments only."
        )
    values: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg not in _FIELDS:
            raise sources.PromptSourceError(
                f"{where}: {_CLASS} of {key!r} has unknown argument {kw.arg!r}; expected "
                f"some of {sorted(_FIELDS)}."
            )
        value = kw.value
        want = bool if kw.arg == "in_template_mix" else str
        if not (isinstance(value, ast.Constant) and type(value.value) is want):
            raise sources.PromptSourceError(
                f"{where}: {_CLASS} of {key!r}: {kw.arg}={ast.unparse(value)[:60]!r} is not a "
                f"literal {want.__name__}."
            )
        values[kw.arg] = value.value
    if "inputs" not in values or "targets" not in values:
        raise sources.PromptSourceError(f"{where}: {_CLASS} of {key!r} needs inputs= and targets=.")
    pattern = FewShotPattern(name=f"{key}:fs{index}", origin=path, **values)
    try:
        pattern.fields()
    except (ValueError, KeyError, IndexError) as e:
        raise sources.PromptSourceError(f"{where}: {_CLASS} of {key!r}: {e}") from None
    return pattern


def read_fewshot_patterns(path: str) -> dict[str, tuple[FewShotPattern, ...]]:
    """`FEWSHOT_PATTERNS` of a v2 `templates.py`, read with `ast`: `{name: (pattern, ...)}`."""
    tree = sources.parse_python(path, f"FLAN templates file not found: {path}")
    out: Optional[dict[str, tuple[FewShotPattern, ...]]] = None
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        if isinstance(target, ast.Name) and target.id == FEWSHOT_SYMBOL:
            if not isinstance(stmt.value, ast.Dict):
                raise sources.PromptSourceError(f"{path}:{stmt.lineno}: {FEWSHOT_SYMBOL} is not "
                                                "a dict literal.")
            out = {}
            for k, v in zip(stmt.value.keys, stmt.value.values):
                if not (isinstance(k, ast.Constant) and isinstance(k.value, str)
                        and isinstance(v, ast.List) and v.elts):
                    raise sources.PromptSourceError(
                        f"{path}:{v.lineno}: {FEWSHOT_SYMBOL} entries must be "
                        f"'name': [{_CLASS}(...), ...]."
                    )
                out[k.value] = tuple(_pattern(e, k.value, i, path) for i, e in enumerate(v.elts))
        elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
              and target.value.id == FEWSHOT_SYMBOL):
            value = stmt.value
            if out is None or not (isinstance(value, ast.Subscript)
                                   and isinstance(value.value, ast.Name)
                                   and value.value.id == FEWSHOT_SYMBOL):
                raise sources.PromptSourceError(
                    f"{path}:{stmt.lineno}: {ast.unparse(stmt)[:80]!r}: expected an alias "
                    f"{FEWSHOT_SYMBOL}['a'] = {FEWSHOT_SYMBOL}['b'] after the dict."
                )
            new, old = target.slice, value.slice
            if not all(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in (new, old)):
                raise sources.PromptSourceError(f"{path}:{stmt.lineno}: alias keys must be strings.")
            if old.value not in out:
                raise sources.PromptSourceError(f"{path}:{stmt.lineno}: alias of unknown "
                                                f"{FEWSHOT_SYMBOL}[{old.value!r}].")
            out[new.value] = out[old.value]
    if out is None:
        raise sources.PromptSourceError(f"{path}: no top-level `{FEWSHOT_SYMBOL} = {{...}}` found; "
                                        "is this google-research/FLAN's flan/v2/templates.py?")
    return out


_CACHE: dict[tuple[str, str], dict[str, tuple[FewShotPattern, ...]]] = {}


def flan2022_fewshot_for(entry: str, key: str, collection: str) -> tuple[FewShotPattern, ...]:
    """v2 `FEWSHOT_PATTERNS[key]` under FLAN_SOURCE_DIR for catalog entry `entry`; () when
    FLAN_SOURCE_DIR is unset. A key the file lacks fails naming the file and the entry."""
    path = sources.flan_source_file(sources.FLAN_V2_TEMPLATES)
    if path is None:
        return ()
    cache_key = (os.path.abspath(path), sources.file_sha256(path))
    if cache_key not in _CACHE:
        _CACHE[cache_key] = read_fewshot_patterns(path)
    sources.record(collection, sources.FLAN, path)
    patterns = _CACHE[cache_key]
    if key not in patterns:
        raise sources.PromptSourceError(
            f"{path} has no {FEWSHOT_SYMBOL}[{key!r}], which catalog entry {entry!r} reads for "
            "Flan 2022 few-shot; is FLAN_SOURCE_DIR the google-research/FLAN checkout?"
        )
    return patterns[key]
