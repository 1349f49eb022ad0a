"""Bundled offline data: generated TFDS datasets and a SentencePiece model trained on them.

`make demo` and the `demo` mixture run from these with no network: the ten
`flanjax_demo_*` TFDS builders (five clusters, two datasets each) generate their examples
from code (`generators.py`), and `flanjax_demo_spm.model` is a small SentencePiece vocabulary
trained on their rendered templates (`train_spm.py`).
"""

import os

from flanjax.data.bundled.builders import (  # noqa: F401
    BUILDER_NAMES,
    BUILDERS,
    DATA_DIR_ENV,
    default_data_dir,
    ensure_prepared,
    is_prepared,
    prepare,
    tfds_name,
)

SPM_MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flanjax_demo_spm.model")
