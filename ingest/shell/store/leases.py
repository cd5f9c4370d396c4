"""Which node polls which feed: leases on due feeds.

A node claims a batch of due feeds (``claim_due``), polls them, and
releases each with its next due time (``release``); while a poll runs long
it renews its leases (``renew``). A lease that is neither renewed nor
released (its node died) expires, and the feed is due again for whichever
node claims next: that claim is counted as a takeover.

On PostgreSQL the claim is one statement, ``SELECT ... FOR UPDATE SKIP
LOCKED`` inside an ``UPDATE``, so two nodes claiming at the same moment
never get the same feed and never wait for each other. On SQLite there is
one node (the file lock says so), so a claim only reads what is due.

The lease statements run on a connection of their own without waiting for
the commit to reach disk (``synchronous_commit = off``): a claim, renewal or
release lost to a database crash only means a feed is claimed, or polled,
once more; entries and files keep the store's durable commits.

A node gives back the feeds whose polls ended since its last claim
together, in the claim's own round trip (``claim_due(releasing=...)``), or
in one statement (``release_all``) when it claims nothing: one round trip
to the server for many polls, instead of one per poll and per claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...core.records import FeedState
from .sql import feed_from_row, lean_feed_columns

__all__ = ["Claim", "PostgresLeases", "SingleNodeLeases"]

CLAIM_KEY = 0x696E6763  # the advisory lock claims that count leases per host take turns on

# The due feeds nobody holds, never planned ('') first, then by due time: a range of
# the feeds_due index, so a claim reads the due feeds only, however many are not due yet.
_DUE = (
    "SELECT id, host, lease_node, lease_until, coalesce(next_poll_at, '') AS due_at FROM feeds"
    " WHERE retired_at IS NULL AND coalesce(next_poll_at, '') <= %s"
    " AND (lease_until IS NULL OR lease_until <= %s){only}"
    " ORDER BY coalesce(next_poll_at, ''), id"
)


@dataclass(frozen=True, order=True)
class Claim:
    """A feed a node now holds; ``taken_from`` names the node whose lease had expired, if any.

    ``due``: when the feed was planned for (None: never planned), so the
    node can tell how late its poll starts. ``state``: the feed's row as the
    claim found it, without the last body's hashes (``feed_state(memory=False)``),
    so the poll need not read it again: while the lease is held no other
    node writes it.
    """

    feed_id: int
    taken_from: str | None = None
    due: datetime | None = None
    state: FeedState | None = field(default=None, compare=False)


class SingleNodeLeases:
    """Leases on a store only one process writes: claiming is reading what is due."""

    # ``_q`` and ``plan_poll`` come from the store class this is mixed into.

    def claim_due(
        self, node: str, now: datetime, lease_seconds: float, limit: int, among: Iterable[int] | None = None,
        *, host_cap: int | None = None, ahead: float = 0.0, releasing: Sequence[tuple[int, datetime]] = (),
    ) -> list[Claim]:
        """The due feeds; ``host_cap`` is kept by the one process's own per-host limits."""
        self.release_all(node, releasing)
        wanted = set(among) if among is not None else None
        rows = self._q(  # type: ignore[attr-defined]
            "SELECT id, next_poll_at FROM feeds WHERE retired_at IS NULL AND (next_poll_at IS NULL OR next_poll_at <= ?)"
            " ORDER BY next_poll_at, id",
            ((now + timedelta(seconds=ahead)).isoformat(),),
        ).fetchall()
        due = [(row[0], row[1]) for row in rows if wanted is None or row[0] in wanted]
        return [Claim(feed_id, None, _when(at)) for feed_id, at in due[:limit]]

    def renew(self, node: str, feed_ids: Iterable[int], now: datetime, lease_seconds: float) -> int:
        return len(list(feed_ids))

    def release(self, node: str, feed_id: int, next_poll_at: datetime) -> None:
        self.plan_poll(feed_id, next_poll_at)  # type: ignore[attr-defined]

    def release_all(self, node: str, releasing: Sequence[tuple[int, datetime]]) -> None:
        for feed_id, next_poll_at in releasing:
            self.plan_poll(feed_id, next_poll_at)  # type: ignore[attr-defined]

    def holders(self) -> dict[int, tuple[str, datetime | None]]:
        """No node ever holds a lease in a single-node store."""
        return {}


class PostgresLeases:
    """Leases recorded in the feeds table (``lease_node``, ``lease_until``), claimed with SKIP LOCKED."""

    # ``_lq`` (psycopg's ``%s`` placeholders, on the lease connection) comes from ``PostgresStore``.

    def claim_due(
        self, node: str, now: datetime, lease_seconds: float, limit: int, among: Iterable[int] | None = None,
        *, host_cap: int | None = None, ahead: float = 0.0, releasing: Sequence[tuple[int, datetime]] = (),
    ) -> list[Claim]:
        """Take up to ``limit`` due feeds nobody holds (or whose lease expired), in due order.

        ``ahead``: also those due within that many seconds, which the node
        polls at their time; so a node that claims once a tick polls each
        feed when it is due, not up to a tick late.

        A lease that ended without a release (``lease_until`` still set) was
        its node's last word: claiming such a feed is a takeover.

        ``host_cap`` bounds the leases held on one host by all nodes together
        (a lease is a poll under way), so the per-host limit holds across the
        cluster. Counting other nodes' leases and taking new ones must not
        interleave, so such claims take turns on a transaction-scoped
        advisory lock: a claim is a few milliseconds, once per tick.

        ``releasing``: (feed id, next due time) of this node's polls that
        ended, given back first (see ``release_all``). The release, the lock
        and the claim go to the server together, in one round trip.

        ``among``: the feeds this node may claim; the same object claim after
        claim (the node makes a new one when its config changes), sent to
        the server only when it is a new one.
        """
        moment = now.isoformat()
        until = (now + timedelta(seconds=lease_seconds)).isoformat()
        only = "" if among is None else f" AND id IN (SELECT id FROM {_NODE_FEEDS})"
        args: list[Any] = [(now + timedelta(seconds=ahead)).isoformat(), moment]
        sent, self._among_sent = self._among_sent, None  # kept only once the claim's transaction commits
        with self._lease_pipeline() as conn:  # type: ignore[attr-defined]
            with conn.transaction():
                if among is not None and among is not sent:
                    self._send_among(conn, among)
                    sent = among
                if releasing:
                    conn.execute(_RELEASE, _release_args(node, releasing))
                if host_cap is None:
                    claimed = conn.execute(
                        f"WITH due AS ({_DUE.format(only=only)} LIMIT %s FOR UPDATE SKIP LOCKED)"
                        " UPDATE feeds SET lease_node = %s, lease_until = %s FROM due WHERE feeds.id = due.id"
                        " RETURNING feeds.id, CASE WHEN due.lease_until IS NOT NULL THEN due.lease_node END,"
                        f" due.due_at, {_CLAIMED_STATE}",
                        (*args, limit, node, until),
                    )
                else:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (CLAIM_KEY,))
                    claimed = conn.execute(
                        # more candidates than wanted: some wait for their host's leases to end
                        f"WITH due AS ({_DUE.format(only=only)} LIMIT %s FOR UPDATE SKIP LOCKED),"
                        " busy AS (SELECT host, count(*) AS held FROM feeds WHERE lease_until > %s"
                        "  AND host IN (SELECT host FROM due) GROUP BY host),"
                        " ranked AS (SELECT due.id, due.lease_node, due.lease_until, due.due_at,"
                        "  row_number() OVER (PARTITION BY due.host ORDER BY due.due_at, due.id) AS turn,"
                        "  coalesce(busy.held, 0) AS held, due.host FROM due LEFT JOIN busy ON busy.host = due.host),"
                        " chosen AS (SELECT * FROM ranked WHERE host = '' OR turn + held <= %s"
                        "  ORDER BY due_at, id LIMIT %s)"
                        " UPDATE feeds SET lease_node = %s, lease_until = %s FROM chosen WHERE feeds.id = chosen.id"
                        " RETURNING feeds.id, CASE WHEN chosen.lease_until IS NOT NULL THEN chosen.lease_node END,"
                        f" chosen.due_at, {_CLAIMED_STATE}",
                        (*args, max(4 * limit, limit + 64), moment, host_cap, limit, node, until),
                    )
            rows = claimed.fetchall()
        self._among_sent = sent
        return _claims(rows)

    # The ``among`` last sent to the server (kept, so its identity is not reused). A node's feeds are
    # sent once per loaded config into a table of the lease session, not with every claim: an array
    # of 5,000 ids cost more to build, send and read than the rest of the claim.
    _among_sent: Iterable[int] | None = None

    def _send_among(self, conn: Any, among: Iterable[int]) -> None:
        """Make the session's table of claimable feeds hold ``among`` (in the claim's transaction)."""
        conn.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_NODE_FEEDS} (id BIGINT PRIMARY KEY)")
        conn.execute(f"DELETE FROM {_NODE_FEEDS}")
        conn.execute(f"INSERT INTO {_NODE_FEEDS} SELECT unnest(%s::bigint[])", (list(among),))
        conn.execute(f"ANALYZE {_NODE_FEEDS}")

    def renew(self, node: str, feed_ids: Iterable[int], now: datetime, lease_seconds: float) -> int:
        """Extend this node's leases on ``feed_ids``; how many it still held."""
        until = (now + timedelta(seconds=lease_seconds)).isoformat()
        return int(self._lq(  # type: ignore[attr-defined]
            "UPDATE feeds SET lease_until = %s WHERE id = ANY(%s) AND lease_node = %s AND lease_until IS NOT NULL",
            (until, list(feed_ids), node),
        ).rowcount)

    def release(self, node: str, feed_id: int, next_poll_at: datetime) -> None:
        """The poll is done: the feed is next due at ``next_poll_at``; the node stays named as its last holder."""
        self.release_all(node, [(feed_id, next_poll_at)])

    def release_all(self, node: str, releasing: Sequence[tuple[int, datetime]]) -> None:
        """Several polls are done, each feed next due at its time: one statement for them all."""
        if releasing:
            self._lq(_RELEASE, _release_args(node, releasing))  # type: ignore[attr-defined]

    def holders(self) -> dict[int, tuple[str, datetime | None]]:
        """Each feed's current (lease end set) or last (None) holder."""
        rows = self._q(  # type: ignore[attr-defined]
            "SELECT id, lease_node, lease_until FROM feeds WHERE lease_node IS NOT NULL"
        ).fetchall()
        return {fid: (node, datetime.fromisoformat(until) if until else None) for fid, node, until in rows}


# The feeds this node may claim (``claim_due``'s ``among``), in a temporary table of the lease session.
_NODE_FEEDS = "ingest_node_feeds"

# A node gives its leases back with each feed's next due time; the node stays named as the last holder.
_RELEASE = (
    "UPDATE feeds SET next_poll_at = released.at, lease_until = NULL"
    " FROM unnest(%s::bigint[], %s::text[]) AS released(id, at)"
    " WHERE feeds.id = released.id AND feeds.lease_node = %s"
)


def _release_args(node: str, releasing: Sequence[tuple[int, datetime]]) -> tuple[list[int], list[str], str]:
    return [feed_id for feed_id, _ in releasing], [when.isoformat() for _, when in releasing], node


def _when(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


# What a claim returns of each feed it took: its row without the last body's hashes, so a 304 poll
# makes no read of its own.
_CLAIMED_STATE = lean_feed_columns("feeds.")


def _claims(rows: list[tuple[Any, ...]]) -> list[Claim]:
    """Claims from (id, the node whose lease expired, the planned time or '' for never planned, the
    feed's row...) rows."""
    return [
        Claim(row[0], row[1], datetime.fromisoformat(row[2]) if row[2] else None, feed_from_row(row[3:]))
        for row in sorted(rows, key=lambda row: row[0])
    ]
