"""The feed-level decision of a poll (``core.feedpoll``), without a store or a network.

The end-to-end behaviour (410, 429, backoff, redirects, a changed request)
is tested through the CLI elsewhere; these pin the pure value each case
comes to, so the rule lives in one place.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from ingest.core.deciding import poll as feedpoll
from ingest.core.deciding.poll import Defer, Fail, PollRequest, ReadBody, Retire, Succeed, decide_poll, plan_poll
from ingest.core.scheduling.politeness import Hop
from ingest.core.records import FailureKind, FeedState, FetchResult, ReadFeed, Validators

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
URL = "https://user:secret@example.org/feed.xml"
REQUEST = PollRequest("news", URL, "key1", "settings1")


def state(**changes: object) -> FeedState:
    base = dict(
        id=1, url=URL, name="news", last_polled_at=None, last_success_at=None, last_error=None, error_count=0,
        not_before=None, next_poll_at=None, request_key="key1",
    )
    base.update(changes)
    return FeedState(**base)  # type: ignore[arg-type]


def result(status: int = 200, **changes: object) -> FetchResult:
    base: dict[str, object] = dict(url=URL, final_url=URL, status=status, content=b"<rss/>")
    base.update(changes)
    return FetchResult(**base)  # type: ignore[arg-type]


def decide(st: FeedState | None, res: FetchResult, read: ReadFeed | None = None) -> feedpoll.PollDecision:
    return decide_poll(st, REQUEST, res, read, NOW, random.Random(1))


def test_410_retires_the_feed_naming_it_without_credentials() -> None:
    decision = decide(state(), result(410, error="HTTP 410 Gone", kind=FailureKind.HTTP))
    assert isinstance(decision, Retire)
    assert "ingest reset news" in decision.error and "secret" not in decision.error


def test_429_with_retry_after_defers_and_without_it_backs_off() -> None:
    headers = {"retry-after": "120"}
    decision = decide(state(), result(429, error="HTTP 429", headers=headers, kind=FailureKind.HTTP))
    assert isinstance(decision, Defer) and decision.until == NOW + timedelta(seconds=120)
    assert decision.host == "example.org"  # the host's other feeds wait too
    decision = decide(state(error_count=3), result(503, error="HTTP 503", kind=FailureKind.HTTP))
    assert isinstance(decision, Fail) and decision.kind is FailureKind.HTTP
    assert decision.until is not None and decision.until > NOW + timedelta(minutes=4)  # the fourth failure's backoff


def test_a_local_fault_does_not_back_off() -> None:
    fail = feedpoll.failed(state(error_count=5), "disk full", FailureKind.WRITE, NOW, random.Random(1), backoff=False)
    assert fail.until is None and fail.kind is FailureKind.WRITE


def test_new_bytes_are_read_first_then_recorded_with_their_hash_and_ttl() -> None:
    res = result(validators=Validators("etag1"))
    first = decide(state(), res)
    assert isinstance(first, ReadBody) and first.key == feedpoll.body_key("settings1", b"<rss/>")
    done = decide(state(), res, ReadFeed(ttl=30.0, warning="forgiven"))
    assert isinstance(done, Succeed) and done.read and done.status == "ok"
    assert done.body_hash == first.key and done.ttl == 30.0 and done.validators == Validators("etag1")
    assert done.not_before == NOW + timedelta(minutes=30) and done.warning == "forgiven"


def test_unreadable_bytes_fail_as_not_a_feed() -> None:
    decision = decide(state(), result(), ReadFeed(error="an HTML page"))
    assert isinstance(decision, Fail) and decision.kind is FailureKind.NOT_A_FEED


def test_the_same_bytes_or_a_304_need_no_reading() -> None:
    same = decide(state(body_hash=feedpoll.body_key("settings1", b"<rss/>"), ttl_minutes=5.0), result())
    assert isinstance(same, Succeed) and same.status == "same-content" and not same.read and same.body_hash is None
    assert same.ttl == 5.0
    unchanged = decide(state(), result(304, not_modified=True))
    assert isinstance(unchanged, Succeed) and unchanged.status == "not-modified"


def test_a_permanent_redirect_is_followed_once_confirmed() -> None:
    moved = "https://example.net/feed.xml"
    hops = (Hop(301, URL, moved),)
    first = decide(state(), result(final_url=moved, hops=hops, not_modified=True))
    assert isinstance(first, Succeed) and first.pending == moved and first.pending_changed and first.migrate_to is None
    second = decide(state(pending_redirect=moved), result(final_url=moved, hops=hops, not_modified=True))
    assert isinstance(second, Succeed) and second.migrate_to == moved


def test_a_changed_request_forgets_the_failures_and_asks_at_once() -> None:
    troubled = state(request_key="old", error_count=4, last_error="boom", not_before=NOW + timedelta(hours=1))
    plan = plan_poll(troubled, REQUEST, NOW)
    assert plan.reset and plan.note_key == "key1" and plan.asked
    assert plan.state is not None and plan.state.error_count == 0
    waiting = plan_poll(replace_key(troubled, "key1"), REQUEST, NOW)
    assert not waiting.reset and waiting.note_key is None and not waiting.asked
    forced = plan_poll(replace_key(troubled, "key1"), PollRequest("news", URL, "key1", "settings1", True), NOW)
    assert forced.asked


def test_validators_are_sent_only_for_a_body_read_with_the_current_settings() -> None:
    st = state(validators=Validators("e"), body_hash="settings1:abc", moved_to="https://example.net/f")
    plan = plan_poll(st, REQUEST, NOW)
    assert plan.validators == Validators("e") and plan.url == "https://example.net/f"
    other = plan_poll(st, PollRequest("news", URL, "key1", "settings2"), NOW)
    assert other.validators == Validators()


def test_a_retired_feed_is_not_asked_even_when_forced() -> None:
    st = state(retired_at=NOW, retired_reason="gone")
    assert not plan_poll(st, PollRequest("news", URL, "key1", "s", True), NOW).asked
    report = feedpoll.not_asked("news", URL, st)
    assert report.status == "retired" and report.error == "gone"


def replace_key(st: FeedState, key: str) -> FeedState:
    from dataclasses import replace

    return replace(st, request_key=key)
