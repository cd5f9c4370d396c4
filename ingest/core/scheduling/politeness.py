"""When to ask a feed again and which redirects to believe: pure decisions.

Everything here is a function of its inputs (``now`` and the random source
are passed in), so the politeness rules can be tested without a clock or a
network; ``run`` applies the decisions and ``store`` remembers them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

__all__ = [
    "backoff", "BACKOFF_BASE", "BACKOFF_CAP", "cache_hint", "decide_redirect", "Hop", "is_https_upgrade",
    "MAX_SERVER_DELAY", "parse_ttl", "PERMANENT_REDIRECTS", "permanent_target", "RedirectDecision",
    "REDIRECTS", "retry_after", "host_key",
]


# A server may ask us to wait, but never to forget a feed: hints beyond this
# are cut to it, so a typo in a Cache-Control header cannot silence a feed.
MAX_SERVER_DELAY = timedelta(hours=24)
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=24)
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def host_key(url: str) -> str:
    """The host politeness is counted by (per-host limits, a host's request to wait): its lower-case name."""
    return (urlsplit(url).hostname or "").lower()


@dataclass(frozen=True)
class Hop:
    """One redirect followed while fetching: ``status`` sent us from ``source`` to ``target``."""

    status: int
    source: str
    target: str


def retry_after(value: str | None, now: datetime) -> datetime | None:
    """The time a ``Retry-After`` header (seconds or HTTP date) asks us to wait until."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        until = now + timedelta(seconds=_clamped(int(value)))
    else:
        try:
            until = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if until.tzinfo is None:
            until = until.replace(tzinfo=timezone.utc)
    return _capped(until, now)


def cache_hint(headers: dict[str, str], ttl_minutes: float | None, now: datetime) -> datetime | None:
    """The earliest time worth asking again, from Cache-Control, Expires and RSS ``<ttl>``.

    ``max-age`` wins over ``Expires`` (as in HTTP caching); ``Expires`` is
    measured against the server's own ``Date`` so a skewed server clock does
    not matter. The later of the HTTP hint and ``<ttl>`` is used: each one is
    the publisher saying "not before".
    """
    hints = []
    http = _http_freshness(headers, now)
    if http is not None and http > timedelta(0):
        hints.append(now + min(http, 2 * MAX_SERVER_DELAY))
    if ttl_minutes is not None and ttl_minutes > 0:
        hints.append(now + timedelta(seconds=_clamped(ttl_minutes * 60)))
    if not hints:
        return None
    return _capped(max(hints), now)


def parse_ttl(value: object) -> float | None:
    """Minutes from an RSS ``<ttl>`` value; anything unusable is ignored."""
    try:
        minutes = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def backoff(error_count: int, now: datetime, rng: random.Random) -> datetime:
    """When to try a feed again after ``error_count`` failures in a row.

    Doubles from one minute up to a day, with jitter of -25 %..+0 % so feeds
    that broke together (one host down) do not all come back in the same
    second.
    """
    steps = max(error_count - 1, 0)
    delay = BACKOFF_CAP if steps >= 20 else min(BACKOFF_CAP, BACKOFF_BASE * (2**steps))
    return now + delay * rng.uniform(0.75, 1.0)


def permanent_target(hops: tuple[Hop, ...]) -> str | None:
    """Where the leading run of permanent redirects points, if the fetch began with one.

    ``A -301-> B -302-> C`` says only "A now lives at B"; a temporary hop
    first says nothing permanent at all.
    """
    target = None
    for hop in hops:
        if hop.status not in PERMANENT_REDIRECTS:
            break
        target = hop.target
    return target


@dataclass(frozen=True)
class RedirectDecision:
    """What to store after a successful fetch: a confirmed new URL, or one to confirm next time."""

    migrate_to: str | None
    pending: str | None


def decide_redirect(current_url: str, target: str | None, pending: str | None) -> RedirectDecision:
    """Migrate only a confirmed permanent redirect.

    Confirmed means the same target on two polls in a row, or a plain upgrade
    from http to https on the same host, which is safe to take at once. A
    redirect that goes away before it is confirmed is forgotten.
    """
    if target is None or target == current_url:
        return RedirectDecision(None, None)
    if is_https_upgrade(current_url, target) or target == pending:
        return RedirectDecision(target, None)
    return RedirectDecision(None, target)


def is_https_upgrade(old: str, new: str) -> bool:
    before, after = urlsplit(old), urlsplit(new)
    return (
        before.scheme.lower() == "http"
        and after.scheme.lower() == "https"
        and before.hostname is not None
        and before.hostname == after.hostname
    )


def _http_freshness(headers: dict[str, str], now: datetime) -> timedelta | None:
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return None
    age = _seconds(headers.get("age")) or 0
    for name in ("s-maxage", "max-age"):
        seconds = _seconds(directives.get(name))
        if seconds is not None:
            return timedelta(seconds=max(seconds - age, 0))
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    date = _http_date(headers.get("date")) or now
    return expires - date - timedelta(seconds=age)


def _cache_control(value: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            out[name.lower()] = arg.strip().strip('"') or None
    return out


def _seconds(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return _clamped(int(value.strip()))


def _clamped(seconds: float) -> int:
    """Longer than any delay we honour, yet small enough for datetime arithmetic."""
    return int(min(seconds, 2 * MAX_SERVER_DELAY.total_seconds()))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _capped(until: datetime, now: datetime) -> datetime | None:
    if until <= now:
        return None
    return min(until, now + MAX_SERVER_DELAY)
