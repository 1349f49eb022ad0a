"""Imports every collection module, which registers its entries (no data is read)."""

# pylint: disable=unused-import
from flanjax.data.catalog import flan2021  # noqa: F401
from flanjax.data.catalog import t0  # noqa: F401
from flanjax.data.catalog import cot  # noqa: F401
from flanjax.data.catalog import dialog  # noqa: F401
from flanjax.data.catalog import demo  # noqa: F401
from flanjax.data.catalog import flan2022_eval  # noqa: F401
