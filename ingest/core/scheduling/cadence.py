"""When the daemon polls each feed next.

Pure functions of the feed's settings, what the store knows and ``now``;
randomness comes in as a number in [0, 1) so tests can pin it. The rules:

- the configured schedule (``interval`` or ``cron``) is the floor: nothing
  the server says and no adaptive estimate makes a feed polled earlier;
- ``not_before`` (server hints such as Retry-After or max-age, and error
  backoff) only ever pushes the next poll later;
- jitter spreads feeds that share a schedule, so hundreds of feeds with the
  same interval do not all fire in the same second;
- a failing feed is always polled again: failures never take a feed off the
  schedule, and in adaptive mode a failure does not count as "quiet" (which
  would stretch the wait to the maximum and notice a recovery late).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config.model import FeedConfig
from .crontab import cron_trigger

__all__ = [
    "first_poll", "History", "HORIZON", "interval_for", "jitter", "JITTER_CAP", "JITTER_SHARE", "next_poll",
    "period", "STARTUP_SPREAD",
]


# How far back adaptive mode looks when estimating how often a feed publishes.
HORIZON = 7 * 86400.0
# Jitter: a share of the feed's period, capped, so short periods stay short.
JITTER_SHARE = 0.1
JITTER_CAP = 300.0
# Feeds due at start-up start within this many seconds; the concurrency
# limit then queues them, and their jittered intervals spread them apart.
STARTUP_SPREAD = 1.0


@dataclass(frozen=True)
class History:
    """What adaptive mode learns from the store about one feed.

    ``new_entries`` counts entries first seen during the last ``window``
    seconds, not counting the backlog found on the feed's very first poll
    (which says nothing about how often it publishes).
    """

    ok: bool = True
    new_entries: int = 0
    window: float = 0.0


def period(feed: FeedConfig, now: datetime) -> float:
    """The nominal gap between two polls: the interval, or the cron's next gap."""
    if feed.cron is None:
        return feed.interval
    cron = cron_trigger(feed.cron)
    first = cron.get_next_fire_time(None, now)
    second = cron.get_next_fire_time(first, first + timedelta(seconds=1))
    return float((second - first).total_seconds())


def jitter(feed: FeedConfig, now: datetime) -> float:
    """The largest random delay added to a planned poll."""
    return min(period(feed, now) * JITTER_SHARE, JITTER_CAP)


def interval_for(feed: FeedConfig, history: History) -> float:
    """The wait after a poll for an interval feed, adaptive or not.

    Adaptive mode estimates the mean gap between new entries (a week at
    most, or since the first poll), and waits that long within the bounds.
    With no news in the whole window it waits twice the window, so a quiet
    feed slows down step by step, not all at once. Until the feed has been
    watched for one configured interval, and after a failed poll, it uses
    the configured interval.
    """
    if feed.adaptive is None:
        return feed.interval
    low, high = feed.adaptive.min, feed.adaptive.max
    start = min(max(feed.interval, low), high)
    if not history.ok or history.window < start:
        return start
    if history.new_entries == 0:
        gap = 2 * history.window
    else:
        gap = history.window / history.new_entries
    return min(max(gap, low), high)


def next_poll(
    feed: FeedConfig,
    now: datetime,
    *,
    not_before: datetime | None,
    history: History,
    rand: float | None = None,
) -> datetime:
    """The time of the poll after the one that just finished at ``now``."""
    spread = jitter(feed, now) * (random.random() if rand is None else rand)
    if feed.cron is not None:
        earliest = max(now + timedelta(seconds=1), not_before or now)
        due: datetime = cron_trigger(feed.cron).get_next_fire_time(None, earliest)
        return due + timedelta(seconds=spread)
    due = now + timedelta(seconds=interval_for(feed, history) + spread)
    return max(due, not_before) if not_before else due


def first_poll(
    feed: FeedConfig,
    now: datetime,
    *,
    planned: datetime | None,
    not_before: datetime | None,
    rand: float | None = None,
) -> datetime:
    """When to poll a feed when the daemon starts or a feed is (re)configured.

    A plan stored by an earlier daemon is kept, so a restart neither polls
    every feed at once nor skips a feed that was due: a feed already due is
    polled now, one due later waits for its time, unless the schedule has
    since been shortened. A feed never polled before is polled now; a cron
    feed waits for its next time. "Now" is spread over a second at most.
    """
    draw = random.random() if rand is None else rand
    most = jitter(feed, now)
    soon = now + timedelta(seconds=min(most * draw, STARTUP_SPREAD * draw))
    if feed.cron is not None:
        next_fire = cron_trigger(feed.cron).get_next_fire_time(None, now)
        regular, latest = next_fire + timedelta(seconds=most * draw), next_fire + timedelta(seconds=most)
    else:
        longest = feed.adaptive.max if feed.adaptive else feed.interval
        regular = now + timedelta(seconds=interval_for(feed, History()) + most * draw)
        latest = now + timedelta(seconds=longest + most)
    if planned is None:
        due = regular if feed.cron is not None else soon
    elif planned <= now:
        due = soon
    elif planned <= latest:
        due = planned
    else:  # planned under a longer schedule than the one configured now
        due = regular
    return max(due, not_before) if not_before else due
