"""Instruction templates, one module per kind; every kind renders to `Rendered`.

- `flan`: FLAN's `(input_pattern, target_pattern)` pairs (Wei et al. 2021, `flan/templates.py`)
  with `{options_}` and Flan 2022's option styles.
- `promptsource`: promptsource `templates.yaml` files (Bach et al. 2022), Jinja with `|||`.
- `t0_sf`: Flan 2022's T0-SF, a promptsource prompt wrapped in v2's patterns of its task type.
- Super-NaturalInstructions' definition + examples encoding lives with its task reader in
  `flanjax.data.sni`.

The public names are re-exported here: `from flanjax.data.templates import from_flan_patterns`.
"""

from flanjax.data.templates.base import OPTIONS_FIELD, OPTIONS_PLACEHOLDER, Rendered
from flanjax.data.templates.flan import (
    FLAN2021_OPTIONS,
    FLAN2022_OPTION_ENDS,
    FLAN2022_OPTION_HEADERS,
    FLAN2022_OPTION_MARKERS,
    FLAN2022_OPTION_SEPARATORS,
    FlanTemplate,
    OptionsStyle,
    from_flan_patterns,
    pattern_fields,
    sample_options_style,
)
from flanjax.data.templates.promptsource import PromptsourceTemplate, load_promptsource_yaml

__all__ = [
    "FLAN2021_OPTIONS",
    "FLAN2022_OPTION_ENDS",
    "FLAN2022_OPTION_HEADERS",
    "FLAN2022_OPTION_MARKERS",
    "FLAN2022_OPTION_SEPARATORS",
    "OPTIONS_FIELD",
    "OPTIONS_PLACEHOLDER",
    "FlanTemplate",
    "OptionsStyle",
    "PromptsourceTemplate",
    "Rendered",
    "from_flan_patterns",
    "load_promptsource_yaml",
    "pattern_fields",
    "sample_options_style",
]
