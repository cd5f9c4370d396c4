"""Where the daemon's due feeds come from: the daemon's *due sources*.

``LocalDue`` serves a store only this process writes (a due-queue, its
plans written to the store so a restart resumes them); ``cluster.LeasedDue``
serves a store several nodes share (claims under leases). The daemon loop
(``daemon.Daemon``) is the same with either: only where due feeds come from
and where their next times go differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from ..core.config.model import Config, FeedConfig
from ..core.records import FeedState
from ..core.scheduling import cadence
from ..core.scheduling.duequeue import DueQueue
from .observe import event

if TYPE_CHECKING:  # the store comes from the use cases (app.facade.open_store); only its type is named here
    from ..shell.store import StoreAPI as Store

__all__ = ["Due", "DueFeeds", "LocalDue", "short_time"]


@dataclass(frozen=True)
class Due:
    """A feed the source hands out to be polled now, and when it fell due (None: never planned)."""

    name: str
    due: datetime | None = None
    feed_id: int | None = None
    state: FeedState | None = None  # the feed's row as the source found it (a claim), so the poll need not read it


class DueFeeds(Protocol):
    """Where the daemon learns which feeds are due, and tells when each is due next.

    ``node`` names this process among the nodes sharing the store (None: the
    only one). Every method is called from the event loop, never concurrently.
    """

    node: str | None

    def plan(self, name: str, feed: FeedConfig, now: datetime) -> FeedState | None:
        """A feed added or changed by the config: schedule it (its stored state, when read)."""

    def drop(self, name: str) -> None:
        """A feed the config no longer has: poll it no more."""

    def take(self, now: datetime, in_flight: int, config: Config) -> list[Due]:
        """The feeds to start polling now, earliest due first (``config``: the one in force)."""

    def wait(self, now: datetime, in_flight: int, config: Config) -> float | None:
        """Seconds until ``take`` may find more (None: not before a poll ends or a plan moves)."""

    def keep(self, feed_ids: list[int], now: datetime) -> None:
        """The polls of these feeds are still running."""

    def done(self, due: Due, feed_id: int, when: datetime | None, in_flight: int) -> None:
        """A poll ended: the feed is next due at ``when`` (None: it is no longer configured)."""

    def abandon(self, due: Due, feed_id: int) -> None:
        """A poll was cancelled at stop: nothing was planned."""

    def finish(self) -> None:
        """Write what ``done`` and ``abandon`` left pending (the daemon stops, or a tick passed)."""


class LocalDue:
    """The due feeds of a store only this process writes: a due-queue, its plans written to the store."""

    node: str | None = None

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: DueQueue[str] = DueQueue()
        self._ids: dict[str, int] = {}  # each planned feed's id, resolved once per loaded config

    def plan(self, name: str, feed: FeedConfig, now: datetime) -> FeedState | None:
        feed_id = self._ids[name] = self.store.feed_id(feed.url, feed.name)
        state = self.store.feed_state(feed_id)
        assert state is not None
        when = cadence.first_poll(feed, now, planned=state.next_poll_at, not_before=state.not_before)
        self._queue.plan(name, when)
        self.store.plan_poll(feed_id, when)
        event("scheduled", f"{name}: next poll {short_time(when)}", feed=name, next_poll_at=when.isoformat())
        return state

    def drop(self, name: str) -> None:
        self._queue.drop(name)
        self._ids.pop(name, None)

    def take(self, now: datetime, in_flight: int, config: Config) -> list[Due]:
        free = config.concurrency - in_flight
        return [Due(name, due, self._ids.get(name)) for name, due in self._queue.take_due(now, free)] if free > 0 else []

    def wait(self, now: datetime, in_flight: int, config: Config) -> float | None:
        if in_flight >= config.concurrency:
            return None
        upcoming = self._queue.next_time()
        return None if upcoming is None else max(0.0, (upcoming - now).total_seconds())

    def keep(self, feed_ids: list[int], now: datetime) -> None:
        return None

    def done(self, due: Due, feed_id: int, when: datetime | None, in_flight: int) -> None:
        if when is not None:
            self.store.plan_poll(feed_id, when)
            self._queue.plan(due.name, when)

    def abandon(self, due: Due, feed_id: int) -> None:
        return None

    def finish(self) -> None:
        return None


def short_time(when: datetime) -> str:
    """A moment as people read it in a log line: UTC, to the second."""
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
