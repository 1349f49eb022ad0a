"""The catalog registry: name -> CatalogEntry, with cluster and collection look-ups.

The collection modules register into it when `flanjax.data.catalog` is imported.
"""

from __future__ import annotations

import difflib
from typing import Iterable

from flanjax.data.catalog.entry import CatalogEntry, check_templates

_ENTRIES: dict[str, CatalogEntry] = {}


def register_entry(entry: CatalogEntry) -> CatalogEntry:
    """Adds `entry`; checks its templates only read fields it declares."""
    if entry.name in _ENTRIES and _ENTRIES[entry.name] is not entry:
        raise ValueError(f"Catalog entry {entry.name!r} is already registered.")
    check_templates(entry, extra_fields={"options_": None})
    _ENTRIES[entry.name] = entry
    return entry


def get_entry(name: str) -> CatalogEntry:
    if name not in _ENTRIES:
        close = difflib.get_close_matches(name, _ENTRIES, n=5, cutoff=0.5)
        raise KeyError(f"Unknown catalog entry {name!r}; closest: {close or sorted(_ENTRIES)[:10]}.")
    return _ENTRIES[name]


def all_entries() -> list[CatalogEntry]:
    return list(_ENTRIES.values())


def entries_in(collection: str, clusters_: Iterable[str] | None = None) -> list[CatalogEntry]:
    wanted = set(clusters_) if clusters_ is not None else None
    return [
        e
        for e in _ENTRIES.values()
        if e.collection == collection and (wanted is None or e.cluster in wanted)
    ]


def clusters(collection: str) -> list[str]:
    """The clusters of a collection, in registration order."""
    seen: dict[str, None] = {}
    for e in _ENTRIES.values():
        if e.collection == collection:
            seen.setdefault(e.cluster, None)
    return list(seen)
