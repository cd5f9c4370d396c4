"""The store's reads for the status report: every feed and what it published, in two statements.

A report over 50,000 feeds must not ask the store once per feed, so these
read whole tables on purpose, grouped once; they serve the status page and
``ingest status``, never a poll.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...core.records import FeedState
from ...core.reporting.status import FeedActivity
from .sql import FEED_COLUMNS, feed_from_row

__all__ = ["StatusQueries"]


class StatusQueries:
    """Mixed into a store beside ``SqlStore``, whose ``_q`` runs the statements."""

    _q: Callable[..., Any]  # SqlStore's: run one statement (declared only, so SqlStore's own is found)

    def feed_states(self) -> list[FeedState]:
        """Every feed the store knows (reads the whole table)."""
        return [feed_from_row(row) for row in self._q(f"SELECT {FEED_COLUMNS} FROM feeds").fetchall()]

    def activity(self, since: datetime) -> dict[int, FeedActivity]:
        """Per feed: when its newest entry was first seen, and how many were first seen after ``since``."""
        rows = self._q(
            "SELECT feed_id, MAX(first_seen), SUM(CASE WHEN first_seen >= ? THEN 1 ELSE 0 END)"
            " FROM entries GROUP BY feed_id",
            (since.isoformat(),),
        ).fetchall()
        return {
            fid: FeedActivity(datetime.fromisoformat(last) if last else None, int(recent or 0))
            for fid, last, recent in rows
        }

    def last_new_entry(self, feed_id: int) -> datetime | None:
        """When the feed's newest entry was first seen (an index lookup: cheap enough for every poll)."""
        row = self._q("SELECT MAX(first_seen) FROM entries WHERE feed_id = ?", (feed_id,)).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def ping(self) -> None:
        """One trivial statement: raises when the store cannot answer."""
        self._q("SELECT 1").fetchone()
