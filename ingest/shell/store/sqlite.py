"""The embedded store: one SQLite file, nothing to install.

SQLite in WAL mode, schema versioned with ``PRAGMA user_version`` so that
later releases migrate an existing store in place. One process writes at a
time: a lock file next to the database is held for the whole run, so two
overlapping cron runs can neither duplicate files nor corrupt the store.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import StoreError, StoreFailed, StoreLocked
from .leases import SingleNodeLeases
from .sql import SqlStore
from .host_waits import HostWaits
from .media_queries import MediaQueries
from .status_queries import StatusQueries

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store"]

# Each entry upgrades the schema by one version; never edit a released one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        last_polled_at TEXT,
        last_success_at TEXT,
        last_error TEXT,
        error_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        identity TEXT PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id),
        path TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'written', 'deleted')),
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX entries_feed ON entries(feed_id);
    """,
    # When a feed may next be asked (server hints, error backoff) and when
    # the daemon plans to poll it: kept here so a restart resumes the plan.
    """
    ALTER TABLE feeds ADD COLUMN not_before TEXT;
    ALTER TABLE feeds ADD COLUMN next_poll_at TEXT;
    """,
    # Politeness and safety: the last body's hash and <ttl> (a 200 with the
    # same bytes is not parsed again), a permanent redirect waiting to be
    # confirmed and the URL it moved the feed to, and a feed retired by 410.
    """
    ALTER TABLE feeds ADD COLUMN body_hash TEXT;
    ALTER TABLE feeds ADD COLUMN ttl_minutes REAL;
    ALTER TABLE feeds ADD COLUMN pending_redirect TEXT;
    ALTER TABLE feeds ADD COLUMN moved_to TEXT;
    ALTER TABLE feeds ADD COLUMN retired_at TEXT;
    ALTER TABLE feeds ADD COLUMN retired_reason TEXT;
    """,
    # Each entry's normalized data (JSON), so `ingest rebuild` can render it
    # again without the feed; its slug, unique whatever the file-name
    # pattern; and the output layout the files on disk were written with.
    """
    ALTER TABLE entries ADD COLUMN slug TEXT;
    ALTER TABLE entries ADD COLUMN article TEXT;
    UPDATE entries SET slug = substr(path, 1, length(path) - 3) WHERE path LIKE '%.md';
    CREATE UNIQUE INDEX entries_slug ON entries(slug);
    CREATE TABLE output_layout (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        dir TEXT NOT NULL,
        profile TEXT NOT NULL,
        body TEXT NOT NULL
    );
    """,
    # The source hash of every entry the feed's last processed body held
    # (space-separated), so a changed body re-reads only its changed entries.
    """
    ALTER TABLE feeds ADD COLUMN entry_sources TEXT;
    """,
    # The hash of the text a file was last written from (its base), to tell
    # a file the owner edited from one ingest may update; and, while an
    # owner's edit keeps a file behind upstream, the article it was written
    # from, for a later merge.
    """
    ALTER TABLE entries ADD COLUMN written_hash TEXT;
    ALTER TABLE entries ADD COLUMN written_article TEXT;
    UPDATE entries SET written_hash = content_hash WHERE state = 'written';
    """,
    # A hash of what the feed's last poll asked for (URL, headers,
    # credentials): failures recorded for one request say nothing of another.
    """
    ALTER TABLE feeds ADD COLUMN request_key TEXT;
    """,
    # Why ingest itself keeps an entry's file away (state 'deleted'): 'filtered'
    # by the feed's rules (written once the rules admit it) or 'pruned' by
    # retention (never written again); NULL for the owner's own deletion. And
    # a hash of the feed's filter rules, to judge stored entries again when they change.
    """
    ALTER TABLE entries ADD COLUMN hidden TEXT;
    ALTER TABLE feeds ADD COLUMN filter_key TEXT;
    """,
    # A token for each item of the feed's last processed body (its bytes'
    # hash, its id's hash, its source hash; space-separated), so a changed
    # body parses only its changed items (see ``core.reading.incremental``).
    """
    ALTER TABLE feeds ADD COLUMN item_tokens TEXT;
    """,
    # Entry images stored with their posts (``images: download``): which
    # image belongs to which post, where its file is, and when a failed one
    # is tried again; and the images setting each feed's files were written with.
    """
    CREATE TABLE images (
        identity TEXT NOT NULL,
        url TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('stored', 'failed', 'skipped')),
        path TEXT,
        etag TEXT,
        last_modified TEXT,
        error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_try TEXT,
        PRIMARY KEY (identity, url)
    );
    ALTER TABLE feeds ADD COLUMN images TEXT;
    """,
    # Finding a feed by the address it moved to, or by its configured name,
    # searched the whole table: a first run over 50,000 new feeds took
    # quadratic time before it fetched anything.
    """
    CREATE INDEX feeds_moved_to ON feeds(moved_to);
    CREATE INDEX feeds_name ON feeds(name);
    """,
    # When the current run of failures began, for the status page's "failing since".
    """
    ALTER TABLE feeds ADD COLUMN failing_since TEXT;
    """,
    # A 429/503 with Retry-After from a host defers every feed on it, not only the one that asked.
    """
    CREATE TABLE host_waits (
        host TEXT PRIMARY KEY,
        not_before TEXT NOT NULL,
        reason TEXT
    );
    """,
    # Full articles (``content: extract``): each entry's article page, asked
    # once per link, its extracted HTML, and when a failed one is asked again.
    """
    CREATE TABLE extracts (
        identity TEXT PRIMARY KEY,
        feed_id INTEGER NOT NULL,
        link TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('done', 'failed')),
        html TEXT NOT NULL DEFAULT '',
        rule TEXT NOT NULL DEFAULT '',
        error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_try TEXT
    );
    CREATE INDEX extracts_feed ON extracts(feed_id);
    """,
    # A feed's most recent entries (the same-feed rule's lookup) read from an index, not the table.
    """
    CREATE INDEX entries_feed_seen ON entries(feed_id, first_seen, identity);
    """,
    # A withdrawal (filters, keep:, prune) marks its entries before removing their files and
    # clears the mark after: a mark left by a crash between the two tells the next run what to finish.
    """
    ALTER TABLE entries ADD COLUMN removing INTEGER;
    CREATE INDEX entries_removing ON entries(removing) WHERE removing IS NOT NULL;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)



class Store(SingleNodeLeases, StatusQueries, MediaQueries, HostWaits, SqlStore):
    """The SQLite store (``Store.open(path)``), the embedded default."""

    def __init__(self, db: sqlite3.Connection, lock_fd: int | None, readonly: bool):
        super().__init__(readonly=readonly)
        self._db = db
        self._lock_fd = lock_fd

    @classmethod
    def open(cls, path: Path, *, wait: bool = False, readonly: bool = False, lock: bool = True) -> Store:
        """Open (creating and migrating) the store, holding its lock.

        ``readonly`` opens without the lock and without creating anything,
        for dry runs; a missing store then looks empty.
        """
        if readonly:
            return cls._open_readonly(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
        lock_fd = _lock(path.with_name(path.name + ".lock"), wait) if lock else None
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            _migrate(db, path)
        except sqlite3.DatabaseError as exc:
            if lock_fd is not None:
                os.close(lock_fd)
            raise StoreError(f"{path}: {exc}") from None
        return cls(db, lock_fd, readonly=False)

    @classmethod
    def _open_readonly(cls, path: Path) -> Store:
        """The store as it is, never written: an older schema is migrated in a copy in memory."""
        try:
            memory = sqlite3.connect(":memory:", isolation_level=None)
            if path.exists():
                db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
                if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                    memory.close()
                    return cls(db, None, readonly=True)
                db.backup(memory)
                db.close()
            _migrate(memory, path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: {exc}") from None
        return cls(memory, None, readonly=True)

    @property
    def lock_fd(self) -> int | None:
        """The descriptor holding the store's lock, which a forked process must close."""
        return self._lock_fd

    def close(self) -> None:
        self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Store:
        return self

    # sqlite3's errors become StoreFailed, as psycopg's do, so the use cases handle one error
    # (a full disk, a corrupt page, a file gone) and never import sqlite3.

    def _q(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, tuple(args))
        except sqlite3.Error as exc:
            raise StoreFailed(str(exc)) from None  # the same words as before the wrapping

    def _qmany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        try:
            self._db.executemany(sql, (tuple(row) for row in rows))
        except sqlite3.Error as exc:
            raise StoreFailed(str(exc)) from None  # the same words as before the wrapping

    def _in_transaction(self) -> bool:
        return self._db.in_transaction

    def _begin(self) -> None:
        self._q("BEGIN IMMEDIATE")


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer ingest (schema {version}, this one knows {SCHEMA_VERSION}); upgrade ingest"
        )
    for number in range(version, SCHEMA_VERSION):
        db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")


def _lock(path: Path, wait: bool) -> int:
    """Hold an exclusive lock for the life of the process (released on exit, even on a crash)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
    flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
    try:
        fcntl.flock(fd, flags)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            holder = _holder(path)
            raise StoreLocked(
                f"another ingest process{holder} is using {path.with_suffix('')}; "
                "it may be the daemon or a run still in progress (use --wait to wait for it)"
            ) from None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
    return fd


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().split()[0]
        return f" (pid {pid})"
    except (OSError, IndexError):
        return ""
