"""The store's queries of the tables kept beside the entries: their images and their article pages.

``images: download`` keeps a record per image of a post, ``content:
extract`` one per article page; both are read and written in chunks of
entries, never per poll of an unrelated feed. Mixed into both backends'
stores beside ``SqlStore``, whose statement runner they use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ...core.content.entry_images import ImageRecord
from ...core.deciding.extract import ExtractRecord
from .sql import in_chunks, iso_text, parse_time

__all__ = ["MediaQueries"]


class MediaQueries:
    """Entry images (``images: download``) and full articles (``content: extract``)."""

    # SqlStore's, declared only so that its own are found: run one statement, many rows, a transaction
    _q: Callable[..., Any]
    _qmany: Callable[..., None]
    _tx: Callable[[], contextlib.AbstractContextManager[None]]

    # --- entry images (``images: download``) ----------------------------------

    def image_records(self, identities: Iterable[str]) -> dict[str, list[ImageRecord]]:
        """The image records of each of ``identities`` that has any."""
        found: dict[str, list[ImageRecord]] = {}
        for chunk, marks in in_chunks(list(identities)):
            rows = self._q(
                "SELECT identity, url, state, path, etag, last_modified, error, failures, next_try FROM images"
                f" WHERE identity IN ({marks}) ORDER BY identity, url", chunk,
            ).fetchall()
            for row in rows:
                found.setdefault(row[0], []).append(ImageRecord(*row[:8], next_try=parse_time(row[8])))  # type: ignore[misc]
        return found

    def save_images(self, records: Iterable[ImageRecord]) -> None:
        """Insert or replace image records."""
        with self._tx():
            self._qmany(
                "INSERT INTO images (identity, url, state, path, etag, last_modified, error, failures, next_try)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identity, url) DO UPDATE SET state = excluded.state,"
                " path = excluded.path, etag = excluded.etag, last_modified = excluded.last_modified,"
                " error = excluded.error, failures = excluded.failures, next_try = excluded.next_try",
                ((r.identity, r.url, r.state, r.path, r.etag, r.last_modified, r.error, r.failures, iso_text(r.next_try))
                 for r in records),
            )

    def drop_images(self, identity: str, urls: Iterable[str] | None = None) -> None:
        """Forget an entry's images (all of them, or those of ``urls``)."""
        with self._tx():
            if urls is None:
                self._q("DELETE FROM images WHERE identity = ?", (identity,))
            else:
                self._qmany(
                    "DELETE FROM images WHERE identity = ? AND url = ?", ((identity, url) for url in urls)
                )

    def images_due(self, feed_id: int, now: datetime) -> list[str]:
        """Written entries of the feed with an image to try (again) by ``now``."""
        rows = self._q(
            "SELECT DISTINCT e.identity FROM images i JOIN entries e ON e.identity = i.identity"
            " WHERE e.feed_id = ? AND e.state = 'written' AND i.state = 'failed'"
            " AND (i.next_try IS NULL OR i.next_try <= ?) ORDER BY e.first_seen, e.identity",
            (feed_id, now.isoformat()),
        ).fetchall()
        return [row[0] for row in rows]

    def images_mode(self, feed_id: int) -> str | None:
        """The images setting the feed's files were written with (None: never recorded, so 'keep')."""
        row = self._q("SELECT images FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return row[0] if row else None

    def posts_with_images(self, feed_id: int) -> list[tuple[str, str]]:
        """(identity, file) of the feed's written entries that have image records."""
        return list(self._q(
            "SELECT e.identity, e.path FROM entries e WHERE e.feed_id = ? AND e.state = 'written'"
            " AND EXISTS (SELECT 1 FROM images i WHERE i.identity = e.identity)", (feed_id,),
        ).fetchall())

    def images_modes(self) -> dict[str, tuple[int, str | None]]:
        """Every feed's id and recorded images setting, by its URL (and the URL it moved to)."""
        found: dict[str, tuple[int, str | None]] = {}
        for feed_id, url, moved_to, mode in self._q("SELECT id, url, moved_to, images FROM feeds").fetchall():
            found[url] = (feed_id, mode)
            if moved_to:
                found.setdefault(moved_to, (feed_id, mode))
        return found

    def save_images_mode(self, feed_id: int, mode: str) -> None:
        with self._tx():
            self._q("UPDATE feeds SET images = ? WHERE id = ?", (mode, feed_id))

    # --- full articles (``content: extract``) ------------------------------------

    def extract_records(self, identities: Iterable[str]) -> dict[str, ExtractRecord]:
        """What is known of the article pages of ``identities`` (those asked, or planned)."""
        found: dict[str, ExtractRecord] = {}
        for chunk, marks in in_chunks(list(identities)):
            rows = self._q(
                "SELECT identity, feed_id, link, state, html, rule, error, failures, next_try FROM extracts"
                f" WHERE identity IN ({marks})", chunk,
            ).fetchall()
            for row in rows:
                identity, feed_id, link, state, html, rule, error, failures, next_try = row
                found[identity] = ExtractRecord(identity, feed_id, link, state, html, rule, error, failures, parse_time(next_try))
        return found

    def save_extracts(self, records: Iterable[ExtractRecord]) -> None:
        """Insert or replace article records."""
        with self._tx():
            self._qmany(
                "INSERT INTO extracts (identity, feed_id, link, state, html, rule, error, failures, next_try)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (identity) DO UPDATE SET feed_id = excluded.feed_id,"
                " link = excluded.link, state = excluded.state, html = excluded.html, rule = excluded.rule,"
                " error = excluded.error, failures = excluded.failures, next_try = excluded.next_try",
                ((r.identity, r.feed_id, r.link, r.state, r.html, r.rule, r.error, r.failures, iso_text(r.next_try))
                 for r in records),
            )

    def extracts_due(self, feed_id: int, now: datetime) -> list[str]:
        """Written entries of the feed whose article page is to be asked (again) by ``now``, oldest first."""
        rows = self._q(
            "SELECT x.identity FROM extracts x JOIN entries e ON e.identity = x.identity"
            " WHERE x.feed_id = ? AND e.state = 'written' AND x.state = 'failed'"
            " AND (x.next_try IS NULL OR x.next_try <= ?) ORDER BY e.first_seen, e.identity",
            (feed_id, now.isoformat()),
        ).fetchall()
        return [row[0] for row in rows]
