"""The dedupe store: which entries exist, where their files are, feed state.

SQLite in WAL mode, schema versioned with ``PRAGMA user_version`` so that
later releases migrate an existing store in place. One process writes at a
time: a lock file next to the database is held for the whole run, so two
overlapping cron runs can neither duplicate files nor corrupt the store.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from ..core.edits import content_hash
from ..errors import IngestError
from .fetch import Validators

__all__ = ["Action", "FeedState", "Layout", "Store", "StoreError", "StoreLocked", "StoredEntry", "content_hash",
           "decide", "utcnow"]

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
    # Finding a feed by the address it moved to, or by its configured name,
    # searched the whole table: a first run over 50,000 new feeds took
    # quadratic time before it fetched anything.
    """
    CREATE INDEX feeds_moved_to ON feeds(moved_to);
    CREATE INDEX feeds_name ON feeds(name);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(IngestError):
    """The store cannot be opened or used; the message says why."""


class StoreLocked(StoreError):
    """Another ingest process holds the store."""


class Action(enum.Enum):
    NEW = "new"
    PENDING = "pending"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    OTHER_FEED = "other-feed"
    DELETED = "deleted"


# pending: claimed, its file maybe not written yet; written: on disk and confirmed;
# deleted: never written again (the owner deleted it, or a filter or retention hid it).
EntryState = Literal["pending", "written", "deleted"]


@dataclass(frozen=True)
class StoredEntry:
    identity: str
    feed_id: int
    path: str
    content_hash: str
    state: EntryState
    first_seen: datetime
    slug: str | None = None
    article: str | None = None  # the normalized entry as JSON; None if written by an older ingest
    # The hash of the text the file on disk was written from (None: not known),
    # and that text's article while it differs from ``article`` (an owner's
    # edit was kept while upstream moved on).
    written_hash: str | None = None
    written_article: str | None = None
    hidden: str | None = None  # 'filtered' or 'pruned' for a 'deleted' entry ingest removed itself

    @property
    def given_slug(self) -> str:
        """The slug the entry was given; entries from before slugs were stored have it as their file name."""
        return self.slug or Path(self.path).stem

    @property
    def ours(self) -> tuple[str | None, ...]:
        """Hashes of the texts ingest may have left in the file: its base, and an unconfirmed claim's.

        Empty when no base is known (a new entry's file that a stopped run
        never recorded, or a claim from before bases were kept): the file is
        then taken as ingest's, as it always was.
        """
        if self.written_hash is None:
            return ()
        return (self.written_hash, self.content_hash) if self.state == "pending" else (self.written_hash,)

    @property
    def base_article(self) -> str | None:
        """The article the file on disk was rendered from."""
        return self.written_article or self.article


@dataclass(frozen=True)
class Layout:
    """Where and how the files on disk were written; a change needs ``ingest rebuild``."""

    dir: str
    profile: str
    body: str


@dataclass(frozen=True)
class FeedState:
    """What the store knows about one feed, for the CLI and the schedulers."""

    id: int
    url: str
    name: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    not_before: datetime | None
    next_poll_at: datetime | None
    body_hash: str | None = None
    ttl_minutes: float | None = None
    pending_redirect: str | None = None
    moved_to: str | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    entry_sources: frozenset[str] = frozenset()
    validators: Validators = Validators()  # the last ETag and Last-Modified, for a conditional GET
    request_key: str | None = None  # what the last poll asked for (see ``Store.note_request``)

    @property
    def fetch_url(self) -> str:
        """Where to ask for the feed: its confirmed new address, else the configured one."""
        return self.moved_to or self.url

    @property
    def troubled(self) -> bool:
        """Whether failures, a deferral or a retirement are recorded for the feed."""
        return bool(self.error_count or self.not_before or self.retired_at or self.last_error)

    def waiting(self, now: datetime) -> bool:
        """Whether the feed asked (or backoff says) not to be polled before a time still ahead."""
        return self.not_before is not None and self.not_before > now


def decide(stored: StoredEntry | None, feed_id: int, content_hash: str) -> Action:
    """What to do with an entry, given what the store knows about it.

    An entry belongs to the first feed that delivered it: the same story in a
    second feed is left alone, so two feeds never fight over one file. A file
    the user deleted stays deleted.
    """
    if stored is None:
        return Action.NEW
    if stored.feed_id != feed_id:
        return Action.OTHER_FEED
    if stored.state == "deleted":
        return Action.DELETED
    if stored.state == "pending":
        return Action.PENDING  # claimed by a run that stopped before confirming: write it again
    if stored.content_hash == content_hash:
        return Action.UNCHANGED
    return Action.CHANGED


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Store:
    def __init__(self, db: sqlite3.Connection, lock_fd: int | None, readonly: bool):
        self._db = db
        self._lock_fd = lock_fd
        self.readonly = readonly
        self._unseen: dict[str, int] = {}  # read-only stores: ids for feeds they do not hold

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

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- feeds -------------------------------------------------------------

    def feed_id(self, url: str, name: str) -> int:
        """The stable id of a feed, creating its row on first sight.

        A feed is found by its URL (or the URL a confirmed redirect moved it
        to). A configured name whose URL was edited in the config finds its
        old row by name and takes the new URL along, so the feed's entries
        stay its own instead of coming back as new files.
        """
        row = self._find(url)
        if row is None:
            row = self._db.execute(
                "SELECT id, name FROM feeds WHERE name = ? ORDER BY last_polled_at DESC LIMIT 1", (name,)
            ).fetchone()
            if row is not None and not self.readonly:
                with self._tx():  # a new address: nothing learned at the old one applies
                    self._db.execute(
                        "UPDATE feeds SET url = ?, moved_to = NULL, pending_redirect = NULL, etag = NULL,"
                        " last_modified = NULL, body_hash = NULL WHERE id = ?",
                        (url, row[0]),
                    )
        if row is not None:
            if row[1] != name and not self.readonly:
                with self._tx():
                    self._db.execute("UPDATE feeds SET name = ? WHERE id = ?", (name, row[0]))
            return row[0]
        if self.readonly:  # a feed never seen before: every entry of it is new
            return self._unseen.setdefault(url, -1 - len(self._unseen))
        with self._tx():
            cur = self._db.execute("INSERT INTO feeds (url, name) VALUES (?, ?)", (url, name))
        return int(cur.lastrowid)

    def _find(self, url: str) -> tuple[int, str] | None:
        return self._db.execute(
            "SELECT id, name FROM feeds WHERE url = ? UNION ALL SELECT id, name FROM feeds WHERE moved_to = ? LIMIT 1",
            (url, url),
        ).fetchone()

    def feed_state(self, feed_id: int) -> FeedState | None:
        row = self._db.execute(
            "SELECT id, url, name, last_polled_at, last_success_at, last_error, error_count, not_before,"
            " next_poll_at, body_hash, ttl_minutes, pending_redirect, moved_to, retired_at, retired_reason,"
            " entry_sources, etag, last_modified, request_key FROM feeds WHERE id = ?",
            (feed_id,),
        ).fetchone()
        if row is None:
            return None
        times = [_when(v) for v in (row[3], row[4])]
        return FeedState(
            *row[:3], *times, row[5], row[6], _when(row[7]), _when(row[8]),
            body_hash=row[9], ttl_minutes=row[10], pending_redirect=row[11], moved_to=row[12],
            retired_at=_when(row[13]), retired_reason=row[14], entry_sources=frozenset((row[15] or "").split()),
            validators=Validators(row[16], row[17]), request_key=row[18],
        )

    def find_feed(self, url: str) -> FeedState | None:
        """The feed configured at ``url``, or one that was moved there (the user updated the config)."""
        row = self._find(url)
        return self.feed_state(row[0]) if row else None

    def record_success(
        self,
        feed_id: int,
        validators: Validators,
        now: datetime,
        *,
        not_before: datetime | None = None,
        body_hash: str | None = None,
        ttl_minutes: float | None = None,
        entry_sources: Iterable[str] | None = None,
    ) -> None:
        """A good poll: new validators, errors and backoff cleared, the server's hint kept.

        ``body_hash``, ``ttl_minutes`` and ``entry_sources`` are only
        replaced when given (a 304 or an unchanged body leaves the last ones
        in place).
        """
        sources = " ".join(entry_sources) if entry_sources is not None else None
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,"
                " last_error = NULL, error_count = 0, not_before = ?,"
                " body_hash = COALESCE(?, body_hash), ttl_minutes = COALESCE(?, ttl_minutes),"
                " entry_sources = COALESCE(?, entry_sources) WHERE id = ?",
                (validators.etag, validators.last_modified, now.isoformat(), now.isoformat(),
                 _iso(not_before), body_hash, ttl_minutes, sources, feed_id),
            )

    def record_failure(self, feed_id: int, error: str, now: datetime, *, not_before: datetime | None = None) -> None:
        """A failed poll: one more error in a row, and when to try again (backoff)."""
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, error_count = error_count + 1,"
                " not_before = COALESCE(?, not_before) WHERE id = ?",
                (now.isoformat(), error, _iso(not_before), feed_id),
            )

    def record_deferred(self, feed_id: int, reason: str, now: datetime, not_before: datetime) -> None:
        """The server asked us to wait (429/503 with Retry-After): not an error, no backoff step."""
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, not_before = ? WHERE id = ?",
                (now.isoformat(), reason, not_before.isoformat(), feed_id),
            )

    def retire(self, feed_id: int, reason: str, now: datetime) -> None:
        """The feed is gone for good (410): no more polls until ``reset``."""
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, error_count = error_count + 1,"
                " retired_at = ?, retired_reason = ? WHERE id = ?",
                (now.isoformat(), reason, now.isoformat(), reason, feed_id),
            )

    def reset(self, feed_id: int) -> None:
        """Forget errors, backoff, deferral and retirement: the next run asks at once."""
        with self._tx():
            self._db.execute(
                "UPDATE feeds SET last_error = NULL, error_count = 0, not_before = NULL, retired_at = NULL,"
                " retired_reason = NULL, pending_redirect = NULL WHERE id = ?",
                (feed_id,),
            )

    def note_request(self, feed_id: int, key: str) -> None:
        """Remember what the feed's polls now ask for (its URL, headers and credentials, hashed)."""
        with self._tx():
            self._db.execute("UPDATE feeds SET request_key = ? WHERE id = ?", (key, feed_id))

    def note_redirect(self, feed_id: int, *, pending: str | None, moved_to: str | None) -> None:
        """Remember a permanent redirect to confirm next time, or the confirmed new address."""
        with self._tx():
            if moved_to is not None:
                self._db.execute(
                    "UPDATE feeds SET moved_to = ?, pending_redirect = NULL WHERE id = ?", (moved_to, feed_id)
                )
            else:
                self._db.execute("UPDATE feeds SET pending_redirect = ? WHERE id = ?", (pending, feed_id))

    def plan_poll(self, feed_id: int, when: datetime) -> None:
        """Remember when the daemon means to poll a feed, so a restart keeps the plan."""
        with self._tx():
            self._db.execute("UPDATE feeds SET next_poll_at = ? WHERE id = ?", (when.isoformat(), feed_id))

    def publishing_history(self, feed_id: int, now: datetime, horizon: float) -> tuple[int, float]:
        """Entries first seen in the recent window, and that window's length in seconds.

        The window is ``horizon`` or, for a feed first polled more recently,
        the time since its first poll; the backlog found by that first poll
        is not counted, since it says nothing about how often the feed publishes.
        """
        row = self._db.execute("SELECT MIN(first_seen) FROM entries WHERE feed_id = ?", (feed_id,)).fetchone()
        if row is None or row[0] is None:
            return 0, 0.0
        first = datetime.fromisoformat(row[0])
        window = max(0.0, min(horizon, (now - first).total_seconds()))
        since = max(first, now - timedelta(seconds=window))
        count = self._db.execute(
            "SELECT COUNT(*) FROM entries WHERE feed_id = ? AND first_seen > ? AND first_seen >= ?",
            (feed_id, row[0], since.isoformat()),
        ).fetchone()[0]
        return count, window

    # --- entries -----------------------------------------------------------

    _ENTRY_COLUMNS = (
        "identity, feed_id, path, content_hash, state, first_seen, slug, article, written_hash, written_article, hidden"
    )

    def entries(self, state: str = "written") -> list[StoredEntry]:
        """Every entry in ``state``, oldest first, for ``ingest rebuild``."""
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM entries WHERE state = ? ORDER BY first_seen, identity", (state,)
        ).fetchall()
        return [_entry(row) for row in rows]

    def stored_entries(self, identities: Iterable[str]) -> dict[str, StoredEntry]:
        """The stored entries among ``identities``: one query for a whole feed, not one per entry."""
        found: dict[str, StoredEntry] = {}
        wanted = list(identities)
        for start in range(0, len(wanted), 500):  # within SQLite's limit on parameters
            chunk = wanted[start:start + 500]
            rows = self._db.execute(
                f"SELECT {self._ENTRY_COLUMNS} FROM entries WHERE identity IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update((row[0], _entry(row)) for row in rows)
        return found

    def name_taken(self, slug: str, path: str) -> bool:
        """Whether another entry has this slug or this file name."""
        row = self._db.execute("SELECT 1 FROM entries WHERE slug = ? OR path = ? LIMIT 1", (slug, path)).fetchone()
        return row is not None

    def save_entry(
        self,
        identity: str,
        feed_id: int,
        path: str,
        content_hash: str,
        state: str,
        now: datetime,
        *,
        slug: str | None = None,
        article: str | None = None,
        base: str | None = None,
    ) -> None:
        """Insert or update one entry (in its own transaction unless inside ``batch()``).

        ``slug`` and ``article`` keep their stored values when not given, and
        ``path`` changes only when ``ingest rebuild`` moves a file. State
        ``written`` means the file now holds ``content_hash``'s text; a
        ``pending`` claim keeps the file's last base, and ``base`` (the
        article it was rendered from) for a merge that a crash interrupts.
        """
        written = content_hash if state == "written" else None
        with self._tx():
            self._db.execute(
                "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at,"
                " slug, article, written_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(identity) DO UPDATE SET content_hash = excluded.content_hash,"
                " state = excluded.state, updated_at = excluded.updated_at, path = excluded.path,"
                " slug = coalesce(excluded.slug, slug), article = coalesce(excluded.article, article),"
                " written_hash = coalesce(excluded.written_hash, written_hash),"
                " hidden = CASE WHEN excluded.state = 'deleted' THEN hidden END,"
                " written_article = CASE WHEN excluded.state = 'written' THEN NULL"
                " ELSE coalesce(written_article, ?) END",
                (identity, feed_id, path, content_hash, state, now.isoformat(), now.isoformat(), slug, article,
                 written, base),
            )

    def keep_edit(self, identity: str, content_hash: str, article: str, base: str | None, now: datetime) -> None:
        """Upstream moved on but the owner's edited file stays: remember both sides.

        The file's base (its hash, and the article it was rendered from) stays
        what it was, so the file still counts as edited and a later merge
        knows what the owner changed.
        """
        with self._tx():
            self._db.execute(
                "UPDATE entries SET content_hash = ?, article = ?, updated_at = ?, state = 'written', hidden = NULL,"
                " written_article = coalesce(written_article, ?) WHERE identity = ?",
                (content_hash, article, now.isoformat(), base, identity),
            )

    def confirm(self, identities: Iterable[str], now: datetime) -> None:
        """The entries' files are on disk, flushed: their claims become records."""
        when = now.isoformat()
        with self._tx():
            self._db.executemany(
                "UPDATE entries SET state = 'written', updated_at = ?, written_hash = content_hash,"
                " written_article = NULL WHERE identity = ? AND state = 'pending'",
                ((when, identity) for identity in identities),
            )

    def save_article(self, identity: str, article: str) -> None:
        """Keep the normalized data of an entry whose file did not need rewriting."""
        with self._tx():
            self._db.execute("UPDATE entries SET article = ? WHERE identity = ?", (article, identity))

    def feed_entries(self, feed_id: int | None = None) -> list[StoredEntry]:
        """Every entry of one feed (all feeds: None), in any state, oldest first."""
        where, args = ("WHERE feed_id = ?", (feed_id,)) if feed_id is not None else ("", ())
        rows = self._db.execute(
            f"SELECT {self._ENTRY_COLUMNS} FROM entries {where} ORDER BY first_seen, identity", args
        ).fetchall()
        return [_entry(row) for row in rows]

    def save_filtered(
        self, identity: str, feed_id: int, path: str, content_hash: str, now: datetime, *, slug: str, article: str
    ) -> None:
        """A new entry the feed's rules keep out: recorded with its name, so it is judged once, not on every poll."""
        with self._tx():
            self._db.execute(
                "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at,"
                " slug, article, hidden) VALUES (?, ?, ?, ?, 'deleted', ?, ?, ?, ?, 'filtered')"
                " ON CONFLICT(identity) DO UPDATE SET content_hash = excluded.content_hash,"
                " article = excluded.article, updated_at = excluded.updated_at"
                " WHERE entries.state = 'deleted' AND entries.hidden = 'filtered'",
                (identity, feed_id, path, content_hash, now.isoformat(), now.isoformat(), slug, article),
            )

    def hide(
        self, identities: Iterable[str], reason: str | None, now: datetime, *, states: tuple[str, ...] = ("written",)
    ) -> list[str]:
        """Mark entries whose file ingest removes as 'deleted' for ``reason``; the ones that were in ``states``.

        By default only ``written`` entries change: one a concurrent run has
        claimed (``pending``) is left to it. Done in one transaction, before
        any file is removed, so a run beside it never writes these files again.
        """
        marked = []
        wanted = list(identities)
        if not wanted:
            return marked
        among = ",".join("?" * len(states))
        with self._tx():
            for identity in wanted:
                changed = self._db.execute(
                    "UPDATE entries SET state = 'deleted', hidden = ?, updated_at = ?"
                    f" WHERE identity = ? AND state IN ({among})",
                    (reason, now.isoformat(), identity, *states),
                ).rowcount
                if changed:
                    marked.append(identity)
        return marked

    def unhide(self, identity: str, reason: str) -> None:
        """Undo ``hide`` for a file its owner edited just before it was to be removed."""
        with self._tx():
            self._db.execute(
                "UPDATE entries SET state = 'written', hidden = NULL WHERE identity = ? AND hidden = ?",
                (identity, reason),
            )

    def written_times(self, feed_id: int | None = None) -> list[tuple[str, int, datetime]]:
        """(identity, feed id, publication time) of every written entry, for retention.

        The time is the entry's own, else the day it was first seen.
        """
        where, args = ("AND feed_id = ?", (feed_id,)) if feed_id is not None else ("", ())
        rows = self._db.execute(
            "SELECT identity, feed_id, coalesce(json_extract(article, '$.published'), first_seen) FROM entries"
            f" WHERE state = 'written' {where}",
            args,
        ).fetchall()
        found = []
        for identity, owner, when in rows:
            moment = datetime.fromisoformat(when)
            found.append((identity, owner, moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)))
        return found

    def path_taken(self, path: str, identity: str) -> bool:
        """Whether an entry other than ``identity`` has this file name."""
        row = self._db.execute(
            "SELECT 1 FROM entries WHERE path = ? AND identity != ? LIMIT 1", (path, identity)
        ).fetchone()
        return row is not None

    def filter_key(self, feed_id: int) -> str:
        row = self._db.execute("SELECT filter_key FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return (row[0] if row else None) or ""

    def save_filter_key(self, feed_id: int, key: str) -> None:
        """The rules the feed's stored entries were last judged by."""
        with self._tx():
            self._db.execute("UPDATE feeds SET filter_key = ? WHERE id = ?", (key or None, feed_id))

    def feed_names(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT id, name FROM feeds").fetchall())

    def layout(self) -> Layout | None:
        row = self._db.execute("SELECT dir, profile, body FROM output_layout WHERE id = 1").fetchone()
        return Layout(*row) if row else None

    def save_layout(self, layout: Layout) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO output_layout (id, dir, profile, body) VALUES (1, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET dir = excluded.dir, profile = excluded.profile,"
                " body = excluded.body",
                (layout.dir, layout.profile, layout.body),
            )

    def count_entries(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def batch(self) -> _Transaction | contextlib.nullcontext[None]:
        """One transaction around many changes; the single-change methods join it."""
        return contextlib.nullcontext() if self.readonly else _Transaction(self._db)

    def _tx(self) -> _Transaction:
        if self.readonly:
            raise StoreError("the store is open read-only")
        return _Transaction(self._db)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _entry(row: tuple) -> StoredEntry:
    return StoredEntry(
        *row[:5], first_seen=datetime.fromisoformat(row[5]), slug=row[6], article=row[7],
        written_hash=row[8], written_article=row[9], hidden=row[10],
    )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._outer:
            self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


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
