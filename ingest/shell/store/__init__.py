"""The dedupe store: which entries exist, where their files are, feed state, leases.

Two backends behind one interface (``base.StoreAPI``): SQLite, the embedded
default (``sqlite.Store``, a file, nothing to install), and PostgreSQL
(``postgres.PostgresStore``), which several daemons can share. Both run the
same queries (``sql.SqlStore``) and migrate their own schema. ``open_store``
picks the backend from the config's ``store:``.
"""

from __future__ import annotations

from pathlib import Path

from ...core.config.store_url import is_postgres
from .base import StoreAPI
from .leases import Claim
from .sql import utcnow
from .sqlite import MIGRATIONS, SCHEMA_VERSION, Store

__all__ = [
    "MIGRATIONS", "SCHEMA_VERSION", "Claim", "Store", "StoreAPI", "open_store", "utcnow",
]


def open_store(
    location: str | Path, *, wait: bool = False, readonly: bool = False, lock: bool = True, shared: bool = False
) -> StoreAPI:
    """Open the store ``location`` names: a ``postgresql://`` URL, else a SQLite file's path.

    ``shared`` (PostgreSQL only) takes the store's lock as one node of a
    cluster, beside other nodes but never beside a one-shot run.
    """
    if isinstance(location, str) and is_postgres(location):
        from .postgres import PostgresStore  # psycopg is imported only for PostgreSQL

        return PostgresStore.open(location, wait=wait, readonly=readonly, lock=lock, shared=shared)
    return Store.open(Path(location), wait=wait, readonly=readonly, lock=lock)
