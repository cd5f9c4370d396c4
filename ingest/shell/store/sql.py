"""The store's queries, written once for both backends.

SQLite and PostgreSQL share the schema's columns and these statements
(``?`` placeholders, rewritten for PostgreSQL by its backend), so the two
cannot drift apart: a backend only says how to connect, migrate, lock and
run a statement. It is longer than the other modules because it is the one
list of the queries about feeds and entries, which change together; the
tables kept beside the entries (images, article pages) have theirs in
``media_queries``, the status report's in ``status_queries``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ...core.printable import stored_url
from ...core.records import FeedState, Layout, PollRecorded, StoredEntry, Validators
from ...errors import StoreError

__all__ = ["FEED_COLUMNS", "SqlStore", "feed_from_row", "iso_text", "parse_time", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SqlStore:
    """Every store operation the application uses, over a backend's connection."""

    readonly: bool = False
    _NULLS_LAST = ""  # PostgreSQL sorts NULLs first in DESC order; SQLite last
    _PUBLISHED = "json_extract(article, '$.published')"  # an article's own time, from its JSON
    _LINK = "json_extract(article, '$.link')"
    _TITLE = "json_extract(article, '$.title')"
    # Most recently stored first: in SQLite the rowid, which the index on feed_id holds (no row is read to sort)
    _RECENT_FIRST = "rowid DESC"

    def __init__(self, *, readonly: bool) -> None:
        self.readonly = readonly
        self._unseen: dict[str, int] = {}  # read-only stores: ids for feeds they do not hold

    # --- what a backend provides -------------------------------------------

    def _q(self, sql: str, args: Iterable[Any] = ()) -> Any:
        """Run one statement; the result has ``fetchone``, ``fetchall`` and ``rowcount``."""
        raise NotImplementedError

    def _qmany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        raise NotImplementedError

    def _in_transaction(self) -> bool:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    @property
    def lock_fd(self) -> int | None:
        """The descriptor holding the store's lock, which a forked process must close (None: no such file)."""
        return None

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> SqlStore:
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
        url = stored_url(url)  # the store never holds a feed's credentials or tokens; they stay in the config
        if row is None:
            row = self._q(
                f"SELECT id, name FROM feeds WHERE name = ? ORDER BY last_polled_at DESC{self._NULLS_LAST} LIMIT 1", (name,)
            ).fetchone()
            if row is not None and not self.readonly:
                with self._tx():  # a new address: nothing learned at the old one applies
                    self._q(
                        "UPDATE feeds SET url = ?, moved_to = NULL, pending_redirect = NULL, etag = NULL,"
                        " last_modified = NULL, body_hash = NULL WHERE id = ?",
                        (url, row[0]),
                    )
        if row is not None:
            if row[1] != name and not self.readonly:
                with self._tx():
                    self._q("UPDATE feeds SET name = ? WHERE id = ?", (name, row[0]))
            return row[0]
        if self.readonly:  # a feed never seen before: every entry of it is new
            return self._unseen.setdefault(url, -1 - len(self._unseen))
        with self._tx():  # several nodes may meet a new feed at once: one row, whoever inserts it
            row = self._q(
                "INSERT INTO feeds (url, name) VALUES (?, ?) ON CONFLICT (url) DO NOTHING RETURNING id", (url, name)
            ).fetchone()
        return int(row[0]) if row is not None else self.feed_id(url, name)

    def _find(self, url: str) -> tuple[int, str] | None:
        """The feed at ``url`` (secrets left out), moving a row that a store from before kept with them."""
        bare = stored_url(url)
        row: tuple[int, str] | None = self._q(
            "SELECT id, name FROM feeds WHERE url = ? UNION ALL SELECT id, name FROM feeds WHERE moved_to = ? LIMIT 1",
            (bare, bare),
        ).fetchone()
        if row is not None or bare == url:
            return row
        row = self._q("SELECT id, name FROM feeds WHERE url = ? LIMIT 1", (url,)).fetchone()
        if row is not None and not self.readonly:
            with self._tx():
                self._q("UPDATE feeds SET url = ? WHERE id = ?", (bare, row[0]))
        return row

    def feed_state(self, feed_id: int, *, memory: bool = True) -> FeedState | None:
        """The feed's row; without ``memory``, not its last body's hashes (a 304 poll neither sends nor splits them)."""
        columns = FEED_COLUMNS if memory else _FEED_COLUMNS_LEAN
        row = self._q(f"SELECT {columns} FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return feed_from_row(row) if row is not None else None

    def unread(self, feed_ids: Sequence[int]) -> int:
        """How many of these feeds were never read (no body remembered): a run will parse them whole."""
        found: int = sum(
            self._q(f"SELECT COUNT(*) FROM feeds WHERE id IN ({marks}) AND body_hash IS NULL", chunk).fetchone()[0]
            for chunk, marks in in_chunks(feed_ids)
        )
        return found + sum(1 for feed_id in feed_ids if feed_id < 0)  # a dry run's feeds not in the store yet

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
        item_tokens: Iterable[str] | None = None,
    ) -> PollRecorded:
        """A good poll: new validators, errors and backoff cleared, the server's hint kept.

        ``body_hash``, ``ttl_minutes``, ``entry_sources`` and ``item_tokens``
        are only replaced when given (a 304 or an unchanged body leaves the
        last ones in place).
        """
        sources = " ".join(entry_sources) if entry_sources is not None else None
        tokens = " ".join(item_tokens) if item_tokens is not None else None
        return self._outcome(
            "UPDATE feeds SET etag = ?, last_modified = ?, last_polled_at = ?, last_success_at = ?,"
            " last_error = NULL, error_count = 0, failing_since = NULL, not_before = ?,"
            " body_hash = COALESCE(?, body_hash), ttl_minutes = COALESCE(?, ttl_minutes),"
            " entry_sources = COALESCE(?, entry_sources), item_tokens = COALESCE(?, item_tokens) WHERE id = ?",
            (validators.etag, validators.last_modified, now.isoformat(), now.isoformat(),
             iso_text(not_before), body_hash, ttl_minutes, sources, tokens, feed_id),
        )

    def record_failure(self, feed_id: int, error: str, now: datetime, *, not_before: datetime | None = None) -> PollRecorded:
        """A failed poll: one more error in a row, and when to try again (backoff)."""
        return self._outcome(
            "UPDATE feeds SET last_polled_at = ?, last_error = ?, error_count = error_count + 1,"
            " failing_since = COALESCE(failing_since, ?), not_before = COALESCE(?, not_before) WHERE id = ?",
            (now.isoformat(), error, now.isoformat(), iso_text(not_before), feed_id),
        )

    def record_deferred(self, feed_id: int, reason: str, now: datetime, not_before: datetime) -> PollRecorded:
        """The server asked us to wait (429/503 with Retry-After): not an error, no backoff step."""
        return self._outcome(
            "UPDATE feeds SET last_polled_at = ?, last_error = ?, not_before = ? WHERE id = ?",
            (now.isoformat(), reason, not_before.isoformat(), feed_id),
        )

    def retire(self, feed_id: int, reason: str, now: datetime) -> PollRecorded:
        """The feed is gone for good (410): no more polls until ``reset``."""
        return self._outcome(
            "UPDATE feeds SET last_polled_at = ?, last_error = ?, error_count = error_count + 1,"
            " retired_at = ?, retired_reason = ? WHERE id = ?",
            (now.isoformat(), reason, now.isoformat(), reason, feed_id),
        )

    def reset(self, feed_id: int) -> None:
        """Forget errors, backoff, deferral and retirement: the next run asks at once."""
        self._write(
            "UPDATE feeds SET last_error = NULL, error_count = 0, failing_since = NULL, not_before = NULL, retired_at = NULL,"
            " retired_reason = NULL, pending_redirect = NULL WHERE id = ?",
            (feed_id,),
        )

    def note_request(self, feed_id: int, key: str) -> None:
        """Remember what the feed's polls now ask for (its URL, headers and credentials, hashed)."""
        self._write("UPDATE feeds SET request_key = ? WHERE id = ?", (key, feed_id))

    def note_redirect(self, feed_id: int, *, pending: str | None, moved_to: str | None) -> None:
        """Remember a permanent redirect to confirm next time, or the confirmed new address."""
        with self._tx():
            if moved_to is not None:
                self._q(
                    "UPDATE feeds SET moved_to = ?, pending_redirect = NULL WHERE id = ?", (moved_to, feed_id)
                )
            else:
                self._q("UPDATE feeds SET pending_redirect = ? WHERE id = ?", (pending, feed_id))

    def plan_poll(self, feed_id: int, when: datetime) -> None:
        """Remember when the daemon means to poll a feed, so a restart keeps the plan."""
        self._write("UPDATE feeds SET next_poll_at = ? WHERE id = ?", (when.isoformat(), feed_id))

    def publishing_history(self, feed_id: int, now: datetime, horizon: float) -> tuple[int, float]:
        """Entries first seen in the recent window, and that window's length in seconds.

        The window is ``horizon`` or, for a feed first polled more recently,
        the time since its first poll; the backlog found by that first poll
        is not counted, since it says nothing about how often the feed publishes.
        """
        row = self._q("SELECT MIN(first_seen) FROM entries WHERE feed_id = ?", (feed_id,)).fetchone()
        if row is None or row[0] is None:
            return 0, 0.0
        first = datetime.fromisoformat(row[0])
        window = max(0.0, min(horizon, (now - first).total_seconds()))
        since = max(first, now - timedelta(seconds=window))
        count = self._q(
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
        rows = self._q(
            f"SELECT {self._ENTRY_COLUMNS} FROM entries WHERE state = ? ORDER BY first_seen, identity", (state,)
        ).fetchall()
        return [_entry(row) for row in rows]

    def stored_entries(self, identities: Iterable[str]) -> dict[str, StoredEntry]:
        """The stored entries among ``identities``: one query for a whole feed, not one per entry."""
        found: dict[str, StoredEntry] = {}
        for chunk, marks in in_chunks(list(identities)):
            rows = self._q(f"SELECT {self._ENTRY_COLUMNS} FROM entries WHERE identity IN ({marks})", chunk).fetchall()
            found.update((row[0], _entry(row)) for row in rows)
        return found

    def name_taken(self, slug: str, path: str) -> bool:
        """Whether another entry has this slug or this file name.

        Two lookups, one per unique index: PostgreSQL plans ``slug = ? OR
        path = ?`` as a scan of the whole table when it has no statistics yet.
        """
        row = self._q(
            "SELECT 1 FROM entries WHERE slug = ? UNION ALL SELECT 1 FROM entries WHERE path = ? LIMIT 1", (slug, path)
        ).fetchone()
        return row is not None

    def names_taken(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` some entry has as its slug or its file name: one query per 500, not one per name.

        One lookup per unique index joined by UNION ALL, as in ``name_taken``:
        PostgreSQL may plan an ``OR`` across the two columns as a scan.
        """
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 250):  # two lists of parameters, within SQLite's limit
            chunk = wanted[start:start + 250]
            marks = ",".join("?" * len(chunk))
            rows = self._q(
                f"SELECT slug, path FROM entries WHERE slug IN ({marks})"
                f" UNION ALL SELECT slug, path FROM entries WHERE path IN ({marks})", chunk + chunk
            ).fetchall()
            asked = set(chunk)
            for slug, path in rows:
                found.update(key for key in (slug, path) if key in asked)
        return found

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
            self._q(
                "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at,"
                " slug, article, written_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(identity) DO UPDATE SET content_hash = excluded.content_hash,"
                " state = excluded.state, updated_at = excluded.updated_at, path = excluded.path,"
                " slug = coalesce(excluded.slug, entries.slug), article = coalesce(excluded.article, entries.article),"
                " written_hash = coalesce(excluded.written_hash, entries.written_hash),"
                " hidden = CASE WHEN excluded.state = 'deleted' THEN entries.hidden END,"
                " written_article = CASE WHEN excluded.state = 'written' THEN NULL"
                " ELSE coalesce(entries.written_article, ?) END",
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
            self._q(
                "UPDATE entries SET content_hash = ?, article = ?, updated_at = ?, state = 'written', hidden = NULL,"
                " written_article = coalesce(written_article, ?) WHERE identity = ?",
                (content_hash, article, now.isoformat(), base, identity),
            )

    def confirm(self, identities: Iterable[str], now: datetime) -> None:
        """The entries' files are on disk, flushed: their claims become records."""
        when = now.isoformat()
        with self._tx():
            self._qmany(
                "UPDATE entries SET state = 'written', updated_at = ?, written_hash = content_hash,"
                " written_article = NULL WHERE identity = ? AND state = 'pending'",
                ((when, identity) for identity in identities),
            )

    def save_article(self, identity: str, article: str) -> None:
        """Keep the normalized data of an entry whose file did not need rewriting."""
        with self._tx():
            self._q("UPDATE entries SET article = ? WHERE identity = ?", (article, identity))

    def entry_keys(self, feed_id: int, limit: int) -> list[tuple[str, str, str, str, str | None]]:
        """(identity, file, link, title, published) of one feed's ``limit`` most recently stored entries, oldest first.

        What tells a moved entry (``core.content.sameness``), without reading bodies:
        the values are taken out of the stored JSON only for those entries.
        """
        rows = self._q(
            f"SELECT identity, path, {self._LINK}, {self._TITLE}, {self._PUBLISHED} FROM entries WHERE identity IN"
            f" (SELECT identity FROM entries WHERE feed_id = ? ORDER BY {self._RECENT_FIRST} LIMIT ?)"
            " AND article IS NOT NULL ORDER BY first_seen, identity", (feed_id, limit)
        ).fetchall()
        return [(identity, path, link or "", title or "", published) for identity, path, link, title, published in rows]

    def feed_entries(self, feed_id: int | None = None) -> list[StoredEntry]:
        """Every entry of one feed (all feeds: None), in any state, oldest first."""
        where, args = ("WHERE feed_id = ?", (feed_id,)) if feed_id is not None else ("", ())
        rows = self._q(
            f"SELECT {self._ENTRY_COLUMNS} FROM entries {where} ORDER BY first_seen, identity", args
        ).fetchall()
        return [_entry(row) for row in rows]

    def save_filtered(
        self, identity: str, feed_id: int, path: str, content_hash: str, now: datetime, *, slug: str, article: str
    ) -> None:
        """A new entry the feed's rules keep out: recorded with its name, so it is judged once, not on every poll."""
        with self._tx():
            self._q(
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
        marked: list[Any] = []
        wanted = list(identities)
        if not wanted:
            return marked
        among = ",".join("?" * len(states))
        with self._tx():
            for identity in wanted:
                changed = self._q(
                    "UPDATE entries SET state = 'deleted', hidden = ?, updated_at = ?, removing = ?"
                    f" WHERE identity = ? AND state IN ({among})",
                    (reason, now.isoformat(), None if reason is None else 1, identity, *states),
                ).rowcount
                if changed:
                    marked.append(identity)
        return marked

    def unhide(self, identity: str, reason: str) -> None:
        """Undo ``hide`` for a file its owner edited just before it was to be removed."""
        with self._tx():
            self._q(
                "UPDATE entries SET state = 'written', hidden = NULL, removing = NULL WHERE identity = ? AND hidden = ?",
                (identity, reason),
            )

    def removals_pending(self) -> list[StoredEntry]:
        """Entries marked for removal whose files may still be there: a withdrawal a crash cut short."""
        # sorted here: SQLite would walk the identity index through every entry to spare sorting none
        rows = self._q(f"SELECT {self._ENTRY_COLUMNS} FROM entries WHERE removing IS NOT NULL").fetchall()
        return sorted((_entry(row) for row in rows), key=lambda entry: entry.identity)

    def removals_done(self, identities: Iterable[str]) -> None:
        """The files of these marked entries are gone: the last step of a withdrawal."""
        with self._tx():
            self._qmany("UPDATE entries SET removing = NULL WHERE identity = ?", ((i,) for i in identities))

    def written_times(self, feed_id: int | None = None) -> list[tuple[str, int, datetime]]:
        """(identity, feed id, publication time) of every written entry, for retention.

        The time is the entry's own, else the day it was first seen.
        """
        where, args = ("AND feed_id = ?", (feed_id,)) if feed_id is not None else ("", ())
        rows = self._q(
            f"SELECT identity, feed_id, coalesce({self._PUBLISHED}, first_seen) FROM entries"
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
        row = self._q(
            "SELECT 1 FROM entries WHERE path = ? AND identity != ? LIMIT 1", (path, identity)
        ).fetchone()
        return row is not None

    def filter_key(self, feed_id: int) -> str:
        row = self._q("SELECT filter_key FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return (row[0] if row else None) or ""

    def save_filter_key(self, feed_id: int, key: str) -> None:
        """The rules the feed's stored entries were last judged by."""
        self._write("UPDATE feeds SET filter_key = ? WHERE id = ?", (key or None, feed_id))

    def feed_names(self) -> dict[int, str]:
        return dict(self._q("SELECT id, name FROM feeds").fetchall())

    def layout(self) -> Layout | None:
        row = self._q("SELECT dir, profile, body FROM output_layout WHERE id = 1").fetchone()
        return Layout(*row) if row else None

    def save_layout(self, layout: Layout) -> None:
        with self._tx():
            self._q(
                "INSERT INTO output_layout (id, dir, profile, body) VALUES (1, ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET dir = excluded.dir, profile = excluded.profile,"
                " body = excluded.body",
                (layout.dir, layout.profile, layout.body),
            )

    def count_entries(self) -> int:
        return int(self._q("SELECT COUNT(*) FROM entries").fetchone()[0])

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """One transaction around many changes; the single-change methods join it."""
        return contextlib.nullcontext() if self.readonly else self._transaction()

    def _write(self, sql: str, args: Iterable[Any]) -> None:
        """One change, atomic alone: it joins a batch, else commits by itself (no BEGIN/COMMIT round trips)."""
        if self.readonly:
            raise StoreError("the store is open read-only")
        self._q(sql, args)

    def _outcome(self, update: str, args: Iterable[Any]) -> PollRecorded:
        """A poll's outcome written, with what planning the next poll needs of the row it leaves."""
        if self.readonly:
            raise StoreError("the store is open read-only")
        rows = self._q(f"{update} RETURNING not_before", args).fetchall()
        return PollRecorded(parse_time(rows[0][0]) if rows else None)

    def _tx(self) -> contextlib.AbstractContextManager[None]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        return self._transaction()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._in_transaction():  # an outer batch: join it
            yield
            return
        self._begin()
        try:
            yield
        except BaseException:
            self._q("ROLLBACK")
            raise
        self._q("COMMIT")


def iso_text(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _entry(row: tuple[Any, ...]) -> StoredEntry:
    return StoredEntry(  # type: ignore[misc]  # the row's first five columns are its first five fields
        *row[:5], first_seen=datetime.fromisoformat(row[5]), slug=row[6], article=row[7],
        written_hash=row[8], written_article=row[9], hidden=row[10],
    )


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# The columns of a ``FeedState``, in the order ``feed_from_row`` reads them.
FEED_COLUMNS = (
    "id, url, name, last_polled_at, last_success_at, last_error, error_count, not_before,"
    " next_poll_at, body_hash, ttl_minutes, pending_redirect, moved_to, retired_at, retired_reason,"
    " entry_sources, etag, last_modified, request_key, item_tokens, failing_since, filter_key"
)


def in_chunks(values: Sequence[Any]) -> Iterator[tuple[Sequence[Any], str]]:
    """``values`` in slices of 500, within SQLite's limit on one statement's parameters, each with its ``?,?...``."""
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        yield chunk, ",".join("?" * len(chunk))


def lean_feed_columns(table: str = "") -> str:
    """``FEED_COLUMNS`` of ``table`` with NULL for the last body's hashes (about 10 KB; only reading a body needs them)."""
    columns = FEED_COLUMNS.replace(" ", "").split(",")
    return ", ".join("NULL" if column in ("entry_sources", "item_tokens") else table + column for column in columns)


_FEED_COLUMNS_LEAN = lean_feed_columns()


def feed_from_row(row: Any) -> FeedState:
    times = [parse_time(v) for v in (row[3], row[4])]
    return FeedState(  # type: ignore[misc, call-arg]  # the row's first columns are its first fields
        *row[:3], *times, row[5], row[6], parse_time(row[7]), parse_time(row[8]),
        body_hash=row[9], ttl_minutes=row[10], pending_redirect=row[11], moved_to=row[12],
        retired_at=parse_time(row[13]), retired_reason=row[14], entry_sources=frozenset((row[15] or "").split()),
        validators=Validators(row[16], row[17]), request_key=row[18],
        item_tokens=frozenset((row[19] or "").split()), failing_since=parse_time(row[20]), filter_key=row[21] or "",
    )
