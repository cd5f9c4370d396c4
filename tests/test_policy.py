"""The pure politeness rules: Retry-After, cache hints, backoff and redirect confirmation."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.scheduling import politeness
from ingest.core.scheduling.politeness import Hop

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("Sun, 01 Mar 2026 13:00:00 GMT", NOW + timedelta(hours=1)),
        ("0", None),
        ("Sun, 01 Mar 2026 11:00:00 GMT", None),  # already past
        ("soon", None),
        (None, None),
        ("999999999", NOW + politeness.MAX_SERVER_DELAY),
        ("999999999", NOW + timedelta(hours=24)),  # the README: server hints are capped at 24 h
    ],
)
def test_retry_after(value, expected) -> None:
    assert politeness.retry_after(value, NOW) == expected


@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_and_stays_within_jittered_bounds(errors: int, seed: int) -> None:
    nominal = min(politeness.BACKOFF_CAP, politeness.BACKOFF_BASE * 2 ** min(errors - 1, 20))
    delay = politeness.backoff(errors, NOW, random.Random(seed)) - NOW
    assert nominal * 0.75 <= delay <= nominal
    assert delay <= politeness.BACKOFF_CAP


class FixedJitter(random.Random):
    """Draws ``fraction`` of every range: 1.0 is no shortening, 0.0 the most."""

    def __init__(self, fraction: float):
        super().__init__(0)
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


@pytest.mark.parametrize(
    ("errors", "minutes"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (11, 1024), (12, 1440), (13, 1440), (30, 1440), (10_000, 1440)],
)
def test_backoff_follows_the_documented_schedule(errors: int, minutes: int) -> None:
    """The README: 1 min, 2 min, 4 min, ... doubling up to 24 h, each shortened by a random 0-25 %."""
    assert politeness.backoff(errors, NOW, FixedJitter(1.0)) - NOW == timedelta(minutes=minutes)
    assert politeness.backoff(errors, NOW, FixedJitter(0.0)) - NOW == timedelta(minutes=minutes) * 0.75


def test_backoff_jitter_spreads_feeds_apart() -> None:
    rng = random.Random(1)
    assert len({politeness.backoff(3, NOW, rng) for _ in range(20)}) > 1


def test_cache_hint_ignores_private_no_store_and_garbage() -> None:
    assert politeness.cache_hint({"cache-control": "no-store, max-age=60"}, None, NOW) is None
    assert politeness.cache_hint({"cache-control": "max-age=abc"}, None, NOW) is None
    assert politeness.cache_hint({"expires": "0"}, None, NOW) is None
    assert politeness.cache_hint({}, 0, NOW) is None
    assert politeness.cache_hint({"cache-control": "s-maxage=30, max-age=60"}, None, NOW) == NOW + timedelta(seconds=30)


@pytest.mark.parametrize(
    ("hops", "target"),
    [
        ((), None),
        ((Hop(301, "a", "b"),), "b"),
        ((Hop(308, "a", "b"), Hop(301, "b", "c")), "c"),
        ((Hop(301, "a", "b"), Hop(302, "b", "c")), "b"),
        ((Hop(302, "a", "b"), Hop(301, "b", "c")), None),
    ],
)
def test_permanent_target(hops, target) -> None:
    assert politeness.permanent_target(hops) == target


def test_redirect_confirmation() -> None:
    decide = politeness.decide_redirect
    assert decide("http://a/f", "http://b/f", None) == politeness.RedirectDecision(None, "http://b/f")
    assert decide("http://a/f", "http://b/f", "http://b/f") == politeness.RedirectDecision("http://b/f", None)
    assert decide("http://a/f", "http://c/f", "http://b/f") == politeness.RedirectDecision(None, "http://c/f")
    assert decide("http://a/f", None, "http://b/f") == politeness.RedirectDecision(None, None)
    assert decide("http://a/f", "https://a/feed", None) == politeness.RedirectDecision("https://a/feed", None)
    assert decide("https://a/f", "http://a/f", None) == politeness.RedirectDecision(None, "http://a/f")
    assert decide("http://a/f", "https://b/f", None) == politeness.RedirectDecision(None, "https://b/f")
