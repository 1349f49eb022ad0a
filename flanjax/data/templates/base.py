"""What every template kind shares: the rendered example and the options field names.

A template has a `name`, `fields()` (the example fields it reads, checked at task
registration) and `render(example) -> Rendered | None` (None: the template skips this
example, as promptsource templates that render empty do).
"""

from __future__ import annotations

import dataclasses
from typing import Any

OPTIONS_FIELD = "options"
OPTIONS_PLACEHOLDER = "options_"


@dataclasses.dataclass(frozen=True)
class Rendered:
    """One rendered example."""

    inputs: str
    targets: str
    answer_options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "targets": self.targets,
            "answer_options": list(self.answer_options),
        }
