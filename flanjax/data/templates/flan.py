"""FLAN-style templates: `(input_pattern, target_pattern)` pairs, rendered exactly.

FLAN patterns (Wei et al. 2021, `flan/templates.py`) are `(input_pattern, target_pattern)`
pairs with `{field}` placeholders; `{options_}` renders the example's `options` list in
FLAN's "OPTIONS:\\n- a\\n- b" form.

Flan 2022 (Longpre et al. 2023, `flan/v2/templates.py` `OPT_*_CANDIDATES`) varied how the
options are written: a header drawn from a list, an item marker ("- ", "(A) ", "i. ", ...)
and an item ending ("", ";", "."). `sample_options_style(seed, key)` draws one such style,
deterministically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
from typing import Any, Mapping, Optional, Sequence

from flanjax.data.templates.base import OPTIONS_FIELD, OPTIONS_PLACEHOLDER, Rendered

@dataclasses.dataclass(frozen=True)
class OptionsStyle:
    """How `{options_}` is written: a header, a marker before and an ending after each option.

    FLAN 2021 always used "OPTIONS:" and "- ", one option a line. Flan 2022 varied all
    parts (see `FLAN2022_OPTION_HEADERS`, `FLAN2022_OPTION_MARKERS`, `FLAN2022_OPTION_ENDS`).
    `separator` goes between the header and the items and between items ("\n" or " ").
    """

    header: str = "OPTIONS:"
    # "{i}" 1, 2, ...; "{A}" A, B, ...; "{a}" a, b, ...; "{I}" I, II, ...; "{r}" i, ii, ...
    marker: str = "- "
    separator: str = "\n"
    end: str = ""

    def format(self, options: Sequence[str]) -> str:
        items = [_marker(self.marker, i) + option + self.end for i, option in enumerate(options)]
        return self.separator.join([self.header, *items] if self.header else items)

    def labels(self, n: int) -> Optional[list[str]]:
        """The stripped markers of `n` options ("(A)", "(B)", ...) when they tell options apart.

        Flan 2022 (`format_options_non_deterministic`) then made the label the answer; for
        bullet markers ("- ") there is no label and this returns None.
        """
        labels = [_marker(self.marker, i).strip() for i in range(n)]
        return labels if len(set(labels)) == n else None


FLAN2021_OPTIONS = OptionsStyle()

# Option headers of Flan 2022 (`flan/v2/templates.py`, OPT_START_STRING_CANDIDATES); ""
# means no header.
FLAN2022_OPTION_HEADERS: tuple[str, ...] = (
    "",
    "OPTIONS:",
    "Possible answers:",
    "Available choices:",
    "Options:",
    "OPT:",
    "Choose from:",
    "Choose your answer from:",
    "Available options:",
    "Options are:",
    "Choices:",
    "Pick your answer from:",
    "Select from:",
    "Pick from:",
    "Select from the following.",
    "pick from the following.",
)

# Item markers in the manner of Flan 2022's OPT_ITEM_NAME_CANDIDATES (there each starts
# with "\n" or " ", which is our `separator`): bullets, then numbers, letters and roman
# numerals, bare or in brackets.
FLAN2022_OPTION_MARKERS: tuple[str, ...] = (
    "- ", "-- ", "+ ", "* ", "[-] ", "[+] ",
    "{i}. ", "({i}) ", "[{i}] ", "{i}) ", "({i}). ", "[{i}]. ",
    "{A}. ", "({A}) ", "[{A}] ", "{A}) ", "({A}). ", "[{A}]. ",
    "{a}. ", "({a}) ", "[{a}] ", "{a}) ", "({a}). ",
    "{I}. ", "({I}) ", "[{I}] ", "({I}). ",
    "{r}. ", "({r}) ", "[{r}] ", "({r}). ",
)  # fmt: skip

# Item endings of Flan 2022 (OPT_ITEM_END_STR_CANDIDATES) and the two item separators.
FLAN2022_OPTION_ENDS: tuple[str, ...] = ("", ";", ".")
FLAN2022_OPTION_SEPARATORS: tuple[str, ...] = ("\n", " ")


def sample_options_style(seed: int, key: str) -> OptionsStyle:
    """A Flan 2022 options style drawn from the lists above, fixed by `(seed, key)`.

    `key` names what the style is for (e.g. "{task}:{example_index}"). The draw uses SHA-256,
    so it is the same in every process and Python version (unlike `hash()`).
    """
    digest = hashlib.sha256(f"{seed}\x00{key}".encode("utf-8")).digest()

    def pick(candidates: Sequence[str], part: int) -> str:
        word = int.from_bytes(digest[4 * part : 4 * part + 4], "big")
        return candidates[word % len(candidates)]

    return OptionsStyle(
        header=pick(FLAN2022_OPTION_HEADERS, 0),
        marker=pick(FLAN2022_OPTION_MARKERS, 1),
        separator=pick(FLAN2022_OPTION_SEPARATORS, 2),
        end=pick(FLAN2022_OPTION_ENDS, 3),
    )


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
          (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))  # fmt: skip


def _roman(n: int) -> str:
    out = []
    for value, numeral in _ROMAN:
        count, n = divmod(n, value)
        out.append(numeral * count)
    return "".join(out)


def _letters(i: int, first: str) -> str:
    # A..Z, then AA, AB, ... (as spreadsheet columns), so markers never collide.
    name, i = "", i + 1
    while i:
        i, rem = divmod(i - 1, 26)
        name = chr(ord(first) + rem) + name
    return name


def _marker(marker: str, i: int) -> str:
    return (
        marker.replace("{i}", str(i + 1))
        .replace("{A}", _letters(i, "A"))
        .replace("{a}", _letters(i, "a"))
        .replace("{I}", _roman(i + 1))
        .replace("{r}", _roman(i + 1).lower())
    )


def pattern_fields(pattern: str) -> frozenset[str]:
    """The `{field}` names a str.format pattern reads (`{{`/`}}` are literal braces)."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(pattern):
        if field is None:
            continue
        if not field or field.isdigit():
            raise ValueError(f"Positional placeholder {{{field}}} in pattern {pattern!r}; name it.")
        names.add(field.split(".")[0].split("[")[0])
    return frozenset(names)


@dataclasses.dataclass(frozen=True)
class FlanTemplate:
    """A FLAN `(input_pattern, target_pattern)` pair."""

    name: str
    input_pattern: str
    target_pattern: str
    options_style: OptionsStyle = FLAN2021_OPTIONS
    origin: str = ""  # the file the pattern was read from; "" for flanjax's own
    # Flan 2022's no-options text (v2 `PATTERNS_NO_OPTIONS`, `flanjax.data.templates.flan_v2`):
    # the options are already cut out of the pattern, so no-option formats render it verbatim.
    options_removed: bool = False

    def fields(self) -> frozenset[str]:
        names = pattern_fields(self.input_pattern) | pattern_fields(self.target_pattern)
        if OPTIONS_PLACEHOLDER in names:
            names = (names - {OPTIONS_PLACEHOLDER}) | {OPTIONS_FIELD}
        return frozenset(names)

    @property
    def uses_options(self) -> bool:
        return OPTIONS_PLACEHOLDER in pattern_fields(self.input_pattern)

    def render(
        self, example: Mapping[str, Any], *, options_style: Optional[OptionsStyle] = None
    ) -> Optional[Rendered]:
        values = dict(example)
        options = [str(o) for o in (values.get(OPTIONS_FIELD) or [])]
        style = options_style or self.options_style
        values[OPTIONS_PLACEHOLDER] = style.format(options) if options else ""
        missing = sorted(f for f in self.fields() if f not in values)
        if missing:
            raise KeyError(
                f"Template {self.name!r} reads field(s) {missing} missing from the example "
                f"(it has {sorted(example)})."
            )
        inputs = self.input_pattern.format_map(values)
        targets = self.target_pattern.format_map(values)
        return Rendered(inputs=inputs, targets=targets, answer_options=tuple(options))


def from_flan_patterns(
    patterns: Mapping[str, Sequence[tuple[str, str]]],
    options_style: OptionsStyle = FLAN2021_OPTIONS,
    origin: str = "",
) -> dict[str, tuple[FlanTemplate, ...]]:
    """Templates from a dict shaped like FLAN's `templates.py`: `{dataset: [(inp, tgt), ...]}`.

    Template names are `{dataset}:{index}` (index into the pattern list); `origin` names the
    file the patterns were read from (`flanjax.data.templates.sources`), for messages.
    """
    out = {}
    for dataset, pairs in patterns.items():
        templates = []
        for i, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(
                    f"FLAN pattern {i} of {dataset!r} must be (input_pattern, target_pattern); "
                    f"got {len(pair)} items."
                )
            templates.append(
                FlanTemplate(f"{dataset}:{i}", pair[0], pair[1], options_style, origin)
            )
        out[dataset] = tuple(templates)
    return out
