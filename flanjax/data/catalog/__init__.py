"""The task inventory: one `CatalogEntry` per dataset, grouped into collections and clusters.

Collections: `flan2021` (Wei et al. 2021), `t0` (Sanh et al. 2021), `cot` (Chung et al. 2022),
`dialog` (Longpre et al. 2023), `demo` (bundled offline data). Super-NaturalInstructions tasks
are read from a directory at run time (`flanjax.data.sni`).
"""

from flanjax.data.catalog.entry import CatalogEntry, Example, Fields  # noqa: F401
from flanjax.data.catalog.registry import (  # noqa: F401
    all_entries,
    clusters,
    entries_in,
    get_entry,
    register_entry,
)
