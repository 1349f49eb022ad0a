"""The task inventory: one `CatalogEntry` per dataset, grouped into collections and clusters.

Importing this package registers every collection's entries, in this order (no data is
read): `flan2021` (Wei et al. 2021), `t0` (Sanh et al. 2021), `cot` (Chung et al. 2022),
`dialog` (Longpre et al. 2023), `demo` (bundled offline data), `flan2022_eval` (Flan 2022's
held-out benchmarks). Super-NaturalInstructions tasks are read from a directory at run time
(`flanjax.data.sni`). The order is the order of `all_entries()` and of `clusters()`.
"""

from flanjax.data.catalog.entry import CatalogEntry, Example, Fields  # noqa: F401
from flanjax.data.catalog.registry import (  # noqa: F401
    all_entries,
    clusters,
    entries_in,
    get_entry,
    register_entry,
)

# pylint: disable=g-bad-import-order,wrong-import-position
from flanjax.data.catalog import flan2021  # noqa: E402,F401
from flanjax.data.catalog import t0  # noqa: E402,F401
from flanjax.data.catalog import t0_plus  # noqa: E402,F401
from flanjax.data.catalog import cot  # noqa: E402,F401
from flanjax.data.catalog import dialog  # noqa: E402,F401
from flanjax.data.catalog import demo  # noqa: E402,F401
from flanjax.data.catalog import flan2022_eval  # noqa: E402,F401
from flanjax.data.catalog import flan2022_flan  # noqa: E402,F401
