"""The state of every feed at a glance: the rules behind ``ingest status`` and ``/status``.

A site with thousands of feeds needs one answer per feed (ok, failing and
since when, deferred until when, retired, quiet, held by which node) and
the few feeds that need attention first. The rules live here, pure, so the
command, the daemon's page and its JSON cannot tell different stories.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .states import STATES, State

__all__ = [
    "FeedActivity", "FeedFacts", "IDLE_BUCKETS", "Page", "QUIET_STATES", "STATES", "SORT_KEYS", "StatusRow",
    "classify", "idle_bucket", "quiet_for", "select_rows", "summarize",
]

QUIET_STATES = ("ok",)  # only a feed whose server answers can be judged quiet
SORT_KEYS = ("state", "name", "last_poll", "last_new", "new_30d", "next_poll")
RECENT = timedelta(days=30)  # "entries in the last 30 days"

# How long a feed has published nothing, in buckets from a week to years; the
# first bucket (under a week) is not idle at all.
IDLE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("1w", timedelta(weeks=1)),
    ("1m", timedelta(days=30)),
    ("3m", timedelta(days=91)),
    ("6m", timedelta(days=182)),
    ("1y", timedelta(days=365)),
    ("never", None),
)
IDLE_LABELS = {
    "1w": "quiet for over a week", "1m": "quiet for over a month", "3m": "quiet for over 3 months",
    "6m": "quiet for over 6 months", "1y": "quiet for over a year", "never": "never published an entry",
}


@dataclass(frozen=True)
class FeedActivity:
    """What a feed published, from its entries: the newest one's first sight and the recent count."""

    last_new_at: datetime | None = None
    new_recent: int = 0


@dataclass(frozen=True)
class FeedFacts:
    """Everything the status of one configured feed is judged from."""

    name: str
    url: str  # already printable (no credentials)
    enabled: bool
    expect_new_within: float | None
    polled: bool
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    error_count: int = 0
    failing_since: datetime | None = None
    not_before: datetime | None = None
    next_poll_at: datetime | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    node: str | None = None
    lease_until: datetime | None = None
    activity: FeedActivity = FeedActivity()


@dataclass(frozen=True)
class StatusRow:
    """One feed's line of the status report."""

    name: str
    url: str
    state: State
    reason: str | None  # the error, the deferral's or retirement's reason, or why it counts as quiet
    since: datetime | None  # failing since, retired at, deferred until
    last_poll: datetime | None
    last_success: datetime | None
    last_new: datetime | None
    new_30d: int
    next_poll: datetime | None
    error_count: int
    idle: str | None  # an ``IDLE_BUCKETS`` name, None while the feed publishes
    node: str | None
    lease_until: datetime | None


def quiet_for(expect_new_within: float | None, last_success_at: datetime | None,
              last_new_at: datetime | None, now: datetime) -> float | None:
    """Seconds a feed has been quiet beyond what it is expected to publish, or None.

    Only a feed whose server answered can be quiet (a failing feed is
    failing); one that never published anything is quiet from the start.
    """
    if expect_new_within is None or last_success_at is None:
        return None
    if last_new_at is None:
        return (now - last_success_at).total_seconds() + expect_new_within
    quiet = (now - last_new_at).total_seconds()
    return quiet if quiet > expect_new_within else None


def idle_bucket(last_new_at: datetime | None, answered: bool, now: datetime) -> str | None:
    """The longest idle bucket a feed's silence reaches; None under a week or before its server first answered."""
    if not answered:
        return None
    if last_new_at is None:
        return "never"
    silence = now - last_new_at
    found = None
    for name, length in IDLE_BUCKETS:
        if length is not None and silence >= length:
            found = name
    return found


def classify(facts: FeedFacts, now: datetime) -> StatusRow:
    """One feed's state, reason and times."""
    state, reason, since = _state(facts, now)
    return StatusRow(
        name=facts.name, url=facts.url, state=state, reason=reason, since=since,
        last_poll=facts.last_polled_at, last_success=facts.last_success_at,
        last_new=facts.activity.last_new_at, new_30d=facts.activity.new_recent,
        next_poll=_next(facts, state), error_count=facts.error_count,
        idle=idle_bucket(facts.activity.last_new_at, facts.last_success_at is not None, now),
        node=facts.node, lease_until=facts.lease_until,
    )


def _state(facts: FeedFacts, now: datetime) -> tuple[State, str | None, datetime | None]:
    if not facts.enabled:
        return "disabled", None, None
    if facts.retired_at is not None:
        return "retired", facts.retired_reason or facts.last_error, facts.retired_at
    if not facts.polled:
        return "new", None, None
    if facts.error_count:
        return "failing", facts.last_error, facts.failing_since
    if facts.not_before is not None and facts.not_before > now:
        return "deferred", facts.last_error, facts.not_before
    quiet = quiet_for(facts.expect_new_within, facts.last_success_at, facts.activity.last_new_at, now)
    if quiet is not None:
        return "quiet", quiet_reason(facts.expect_new_within, facts.activity.last_new_at, now), None
    return "ok", None, None


def quiet_reason(expect_new_within: float | None, last_new_at: datetime | None, now: datetime) -> str:
    """``nothing new for 95 days (expected within 30 days)``, for the page and the run's line."""
    expected = f" (expected within {span(expect_new_within)})" if expect_new_within else ""
    if last_new_at is None:
        return f"no entry published yet{expected}"
    return f"nothing new for {span((now - last_new_at).total_seconds())}{expected}"


def span(seconds: float) -> str:
    """A duration as people say it: ``45 minutes``, ``3 hours``, ``95 days``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    count = int(seconds)
    return f"{count} second{'s' if count != 1 else ''}"


def _next(facts: FeedFacts, state: State) -> datetime | None:
    if state in ("retired", "disabled"):
        return None
    if facts.not_before is not None and (facts.next_poll_at is None or facts.not_before > facts.next_poll_at):
        return facts.not_before
    return facts.next_poll_at


@dataclass(frozen=True)
class Page:
    """The rows one view shows, with what it takes to link the other views."""

    rows: tuple[StatusRow, ...]
    total: int  # rows matching the view, on every page
    number: int
    pages: int


def select_rows(
    rows: Sequence[StatusRow], *, state: str | None = None, idle: str | None = None, sort: str = "state",
    descending: bool = False, page: int = 1, per_page: int = 200,
) -> Page:
    """Filter by state or idle bucket, sort, and cut one page; unknown values select nothing, never fail."""
    chosen = [r for r in rows if (state is None or r.state == state) and (idle is None or r.idle == idle)]
    chosen.sort(key=_sort_key(sort if sort in SORT_KEYS else "state"), reverse=descending)
    pages = max(1, -(-len(chosen) // per_page))
    number = min(max(1, page), pages)
    start = (number - 1) * per_page
    return Page(tuple(chosen[start:start + per_page]), len(chosen), number, pages)


def _sort_key(sort: str) -> Callable[[StatusRow], tuple[object, ...]]:
    order = {s: i for i, s in enumerate(STATES)}
    if sort == "name":
        return lambda r: (r.name.casefold(),)
    if sort == "new_30d":
        return lambda r: (r.new_30d, r.name.casefold())
    if sort in ("last_poll", "last_new", "next_poll"):
        def by_time(r: StatusRow) -> tuple[object, ...]:
            value: datetime | None = getattr(r, sort)
            return (value is not None, value.timestamp() if value else 0.0, r.name.casefold())
        return by_time
    return lambda r: (order[r.state], r.name.casefold())


def summarize(rows: Iterable[StatusRow]) -> tuple[dict[str, int], dict[str, int]]:
    """How many feeds are in each state and each idle bucket (every key present)."""
    states: dict[str, int] = {s: 0 for s in STATES}
    idle = {name: 0 for name, _ in IDLE_BUCKETS}
    for row in rows:
        states[row.state] += 1
        if row.idle is not None:
            idle[row.idle] += 1
    return states, idle
