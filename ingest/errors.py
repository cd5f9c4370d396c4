"""The root of the errors ingest reports to its user.

Every error that ends a command with a message (a config mistake, a store
that cannot be opened, bytes that are not a feed, an output layout that
changed, an OPML file that cannot be read) derives from ``IngestError``, so
a caller embedding ingest can catch them all in one place and let a bug,
which derives from none of them, still surface.
"""

from __future__ import annotations

__all__ = ["IngestError", "StoreError", "StoreFailed", "StoreLocked"]


class IngestError(Exception):
    """A problem ingest can describe in one message; its subclasses say which kind."""


class StoreError(IngestError):
    """The store cannot be opened or used; the message says why."""


class StoreLocked(StoreError):
    """Another ingest process holds the store."""


class StoreFailed(StoreError):
    """A statement failed on a shared (PostgreSQL) store: the connection, a conflict with another node, a full disk.

    The SQLite store raises ``sqlite3.Error`` for the same cases; a run
    treats both alike: the feed's poll fails and the next one tries again.
    """
