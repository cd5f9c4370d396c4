"""Gathering the status report: the configured feeds, what the store knows of each, judged by ``core.reporting.status``.

The same report feeds ``ingest status`` (from the store, no daemon needed)
and the daemon's ``/status`` page, so the two always agree. It reads the
store in a handful of whole-table statements, never once per feed, and
opens its own read-only connection, so it can be built off the daemon's
event loop without touching the connection the polls use.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..core.config.model import Config, redact
from ..core.printable import stored_url
from ..core.records import FeedState
from ..core.reporting.status import (
    RECENT,
    FeedActivity,
    FeedFacts,
    StatusRow,
    classify,
    summarize,
)
from ..errors import IngestError
from ..shell.store import StoreAPI, open_store

__all__ = ["CachedReport", "StatusReport", "build_report", "check_store", "gather", "readable_store"]


@dataclass(frozen=True)
class StatusReport:
    """Every configured feed's status row, with the counts per state and per idle bucket."""

    generated: datetime
    rows: tuple[StatusRow, ...]
    states: dict[str, int]
    idle: dict[str, int]


def readable_store(config: Config) -> StoreAPI:
    """A read-only connection to the config's store that takes no lock (safe beside a running daemon)."""
    return open_store(config.store_url or config.store, wait=False, readonly=True, lock=False)


class CachedReport:
    """The report, built again only when the last one is older than ``ttl`` seconds.

    A status page refreshed by several people, or by a monitor every few
    seconds, costs one build per ``ttl`` however often it is asked for.
    """

    def __init__(self, build: Callable[[], StatusReport], ttl: float = 10.0):
        self._build = build
        self._ttl = ttl
        self._lock = threading.Lock()
        self._report: StatusReport | None = None
        self._built = 0.0

    def __call__(self) -> StatusReport:
        with self._lock:  # two requests at once wait for one build
            if self._report is None or time.monotonic() - self._built > self._ttl:
                self._report = self._build()
                self._built = time.monotonic()
            return self._report


def build_report(config: Config, now: datetime) -> StatusReport:
    """Open the store, gather, close: for a thread of the daemon or the ``status`` command."""
    with readable_store(config) as store:
        return gather(config, store, now)


def check_store(config: Config) -> str | None:
    """None when the store answers a trivial query; else what is wrong, for ``/readyz``."""
    if config.store_url is None and not config.store.exists():
        return f"store unreachable: {config.store} is missing"
    try:
        with readable_store(config) as store:
            store.ping()
    except (IngestError, OSError) as exc:
        return f"store unreachable: {exc}"
    return None


def gather(config: Config, store: StoreAPI, now: datetime) -> StatusReport:
    """The report for ``config``'s feeds from what ``store`` holds (a feed it never polled is 'new')."""
    by_url: dict[str, FeedState] = {}
    for state in store.feed_states():
        by_url.setdefault(state.url, state)
        if state.moved_to:
            by_url.setdefault(state.moved_to, state)
    activity = store.activity(now - RECENT)
    holders = store.holders()
    rows = []
    for feed in config.feeds:
        found = by_url.get(stored_url(feed.url))  # the store keeps URLs without their secrets
        holder = holders.get(found.id) if found else None
        rows.append(classify(_facts(feed.name, _shown(feed.url), feed.enabled, feed.expect_new_within,
                                    found, activity, holder), now))
    states, idle = summarize(rows)
    return StatusReport(now, tuple(rows), states, idle)


@functools.lru_cache(maxsize=65536)
def _shown(url: str) -> str:
    """A configured URL made printable, once per URL: a page over 50,000 feeds is asked for again and again."""
    return redact(url)


def _facts(
    name: str, url: str, enabled: bool, expect: float | None, state: FeedState | None,
    activity: dict[int, FeedActivity], holder: tuple[str, datetime | None] | None,
) -> FeedFacts:
    if state is None:
        return FeedFacts(name=name, url=url, enabled=enabled, expect_new_within=expect, polled=False)
    return FeedFacts(
        name=name, url=url, enabled=enabled, expect_new_within=expect, polled=state.last_polled_at is not None,
        last_polled_at=state.last_polled_at, last_success_at=state.last_success_at, last_error=state.last_error,
        error_count=state.error_count, failing_since=state.failing_since, not_before=state.not_before,
        next_poll_at=state.next_poll_at, retired_at=state.retired_at, retired_reason=state.retired_reason,
        node=holder[0] if holder else None, lease_until=holder[1] if holder else None,
        activity=activity.get(state.id, FeedActivity()),
    )
