"""The status report's rules (core.reporting.status): states, quiet feeds, idle buckets, views."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest.core.reporting.status import FeedActivity, FeedFacts, classify, idle_bucket, quiet_for, select_rows

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def facts(**changes: object) -> FeedFacts:
    base: dict[str, object] = dict(
        name="feed", url="https://example.com/feed", enabled=True, expect_new_within=None, polled=True,
        last_polled_at=NOW - timedelta(minutes=5), last_success_at=NOW - timedelta(minutes=5),
    )
    base.update(changes)
    return FeedFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, "ok"),
        ({"enabled": False, "error_count": 3}, "disabled"),
        ({"polled": False, "last_polled_at": None, "last_success_at": None}, "new"),
        ({"retired_at": NOW - DAY, "retired_reason": "HTTP 410 Gone", "error_count": 1}, "retired"),
        ({"error_count": 2, "last_error": "HTTP 500", "failing_since": NOW - DAY}, "failing"),
        ({"not_before": NOW + DAY, "last_error": "HTTP 429"}, "deferred"),
        ({"not_before": NOW - DAY}, "ok"),  # a deferral that has passed
        ({"expect_new_within": 7 * 86400.0, "activity": FeedActivity(NOW - 8 * DAY, 0)}, "quiet"),
        ({"expect_new_within": 7 * 86400.0, "activity": FeedActivity(NOW - 6 * DAY, 1)}, "ok"),
        # a failing feed is failing, whatever it published
        ({"expect_new_within": 1.0, "error_count": 1, "activity": FeedActivity(NOW - 90 * DAY, 0)}, "failing"),
    ],
)
def test_states(changes: dict[str, object], state: str) -> None:
    assert classify(facts(**changes), NOW).state == state


def test_quiet_needs_an_answering_server_and_an_expectation() -> None:
    assert quiet_for(None, NOW, NOW - 400 * DAY, NOW) is None
    assert quiet_for(86400.0, None, NOW - 400 * DAY, NOW) is None  # never answered: not judged quiet
    assert quiet_for(86400.0, NOW, NOW - 2 * DAY, NOW) == pytest.approx(2 * 86400.0)
    assert quiet_for(86400.0, NOW, None, NOW) is not None  # answers, but never published anything


@pytest.mark.parametrize(
    ("age", "bucket"),
    [(3 * DAY, None), (8 * DAY, "1w"), (40 * DAY, "1m"), (100 * DAY, "3m"), (200 * DAY, "6m"), (800 * DAY, "1y")],
)
def test_idle_buckets(age: timedelta, bucket: str | None) -> None:
    assert idle_bucket(NOW - age, True, NOW) == bucket


def test_idle_needs_an_answer() -> None:
    assert idle_bucket(None, True, NOW) == "never"
    assert idle_bucket(None, False, NOW) is None


def test_views_filter_sort_and_page() -> None:
    rows = [classify(facts(name=f"feed-{n:03d}", error_count=n % 2, last_error="x" if n % 2 else None), NOW)
            for n in range(450)]
    failing = select_rows(rows, state="failing", per_page=100)
    assert failing.total == 225 and failing.pages == 3 and len(failing.rows) == 100
    assert all(r.state == "failing" for r in failing.rows)
    last = select_rows(rows, state="failing", per_page=100, page=99)  # past the end: the last page
    assert last.number == 3 and len(last.rows) == 25
    by_name = select_rows(rows, sort="name", descending=True, per_page=5)
    assert [r.name for r in by_name.rows] == [f"feed-{n:03d}" for n in range(449, 444, -1)]
    first = select_rows(rows, per_page=10)
    assert first.rows[0].state == "failing"  # the default order puts trouble first
    assert select_rows(rows, state="nonsense").total == 0 and select_rows(rows, sort="nonsense").total == 450
