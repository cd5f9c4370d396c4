"""Caching, rate limits and error backoff, through ``ingest run`` against a live server."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from pathlib import Path

import pytest

from conftest import FeedServer, Response, item, rss, snapshot, stored_feed, write_config
from ingest.faces.cli import main

STORE = "state/ingest.sqlite3"


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "run", *args])


def when(value: str | None) -> datetime:
    assert value, "expected a time"
    return datetime.fromisoformat(value)


def between(moment: datetime, earliest: datetime, latest: datetime) -> bool:
    """Whether ``moment`` lies in [earliest, latest], allowing for a time shown only to the second."""
    return earliest.replace(microsecond=0) <= moment <= latest


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- caching ----------------------------------------------------------------


def test_new_validators_are_stored_even_when_the_body_is_unchanged(
    tmp_path: Path, server: FeedServer, capsys
) -> None:
    """A server that ignores If-None-Match and rotates its ETag: same bytes, no parsing, new ETag kept."""
    body = rss([item(1), item(2)]).encode()
    served = {"n": 0}

    def rotating(_request):
        served["n"] += 1
        return Response(200, body, {"Content-Type": "application/rss+xml", "ETag": f'"v{served["n"]}"',
                                    "Last-Modified": formatdate(1_700_000_000 + served["n"], usegmt=True)})

    server.route("/rot", rotating)
    config = write_config(tmp_path, [{"url": server.url("/rot"), "name": "rot"}])
    assert run(config) == 0
    before = snapshot(tmp_path / "posts")
    first = stored_feed(tmp_path / STORE, server.url("/rot"))
    assert first["etag"] == '"v1"' and first["body_hash"]

    assert run(config) == 0

    assert "rot  unchanged (same content)" in capsys.readouterr().out
    assert snapshot(tmp_path / "posts") == before
    second = stored_feed(tmp_path / STORE, server.url("/rot"))
    assert second["etag"] == '"v2"'
    assert second["last_modified"] == formatdate(1_700_000_002, usegmt=True)
    assert second["body_hash"] == first["body_hash"]
    assert server.requests_to("/rot")[1].headers["if-none-match"] == '"v1"'


def test_a_304_with_a_new_etag_stores_it(tmp_path: Path, server: FeedServer, capsys) -> None:
    body = rss([item(1)]).encode()

    def handler(request):
        if request.headers.get("if-none-match"):
            return Response(304, b"", {"ETag": '"second"'})
        return Response(200, body, {"Content-Type": "application/rss+xml", "ETag": '"first"'})

    server.route("/f", handler)
    config = write_config(tmp_path, [server.url("/f")])
    assert run(config) == 0
    assert run(config) == 0

    assert "unchanged (not modified)" in capsys.readouterr().out
    assert stored_feed(tmp_path / STORE, server.url("/f"))["etag"] == '"second"'


def test_unchanged_feeds_redirects_and_error_pages_keep_one_connection(tmp_path: Path, server: FeedServer) -> None:
    """An answer nobody reads (a 304, a redirect, a short error page) is read to its end, not hung up on."""
    for n in (1, 2, 3):
        server.feed(f"/{n}.xml", rss([item(n)]))
    server.route("/moved", lambda _r: Response(302, b"<p>moved</p>", {"Location": "/3.xml"}))
    server.static("/gone", 404, "<html><body>not here</body></html>", "text/html")
    config = write_config(
        tmp_path, [server.url("/1.xml"), server.url("/2.xml"), server.url("/moved"), server.url("/gone")],
        concurrency=1,
    )
    run(config)
    server.connections = 0

    assert run(config, "--force") == 1  # /gone fails again (--force: asked despite its backoff)
    assert server.connections == 1


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({"Cache-Control": "public, max-age=600"}, None, 600),
        ({"Cache-Control": "max-age=600", "Age": "100"}, None, 500),
        # Expires counts from the server's Date, so a skewed server clock does not matter
        ({"Date": formatdate(1_000_000_000, usegmt=True), "Expires": formatdate(1_000_000_900, usegmt=True)}, None, 900),
        ({}, "60", 3600),
        ({"Cache-Control": "max-age=60"}, "30", 1800),  # the later hint wins
        ({"Cache-Control": "max-age=999999999"}, None, 86400),  # capped at a day
    ],
)
def test_cache_hints_set_the_earliest_next_request(
    tmp_path: Path, server: FeedServer, capsys, headers: dict[str, str], ttl: str | None, expected: int
) -> None:
    body = rss([item(1)])
    if ttl:
        body = body.replace("<description>d</description>", f"<description>d</description><ttl>{ttl}</ttl>", 1)
    server.route("/c", lambda _r: Response(200, body.encode(), {"Content-Type": "application/rss+xml", **headers}))
    config = write_config(tmp_path, [{"url": server.url("/c"), "name": "cached"}])

    before = now()
    assert run(config) == 0
    after = now()
    not_before = when(stored_feed(tmp_path / STORE, server.url("/c"))["not_before"])
    assert between(not_before, before + timedelta(seconds=expected), after + timedelta(seconds=expected))

    assert run(config) == 0  # deferred is not a failure
    out = capsys.readouterr().out
    assert "cached  deferred until" in out and "caching headers or <ttl>" in out
    assert "0 ok, 0 failed, 1 deferred" in out
    assert len(server.requests_to("/c")) == 1

    assert run(config, "--force") == 0
    assert len(server.requests_to("/c")) == 2


def test_no_cache_and_past_expiry_leave_the_feed_free(tmp_path: Path, server: FeedServer) -> None:
    headers = {"Cache-Control": "no-cache, max-age=600"}
    server.route("/n", lambda _r: Response(200, rss([item(1)]).encode(), headers))
    server.route("/e", lambda _r: Response(200, rss([item(2)]).encode(), {"Expires": formatdate(1_000_000, usegmt=True)}))
    config = write_config(tmp_path, [server.url("/n"), server.url("/e")])

    assert run(config) == 0
    assert run(config) == 0

    assert stored_feed(tmp_path / STORE, server.url("/n"))["not_before"] is None
    assert stored_feed(tmp_path / STORE, server.url("/e"))["not_before"] is None
    assert len(server.requests_to("/n")) == len(server.requests_to("/e")) == 2


# --- rate limits ------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_defers_the_feed(tmp_path: Path, server: FeedServer, capsys, status: int, form: str) -> None:
    before = now()
    target = before + timedelta(seconds=1800)
    value = "1800" if form == "seconds" else formatdate(target.timestamp(), usegmt=True)
    server.route("/busy", lambda _r: Response(status, b"slow down", {"Retry-After": value}))
    server.feed("/ok", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/busy"), "name": "busy"}, {"url": server.url("/ok"), "name": "ok"}])

    assert run(config) == 0  # deferred, not a crash and not a failure
    after = now()

    out = capsys.readouterr().out
    # a delay in seconds counts from when the run got the answer; a date is that date (to the second)
    earliest, latest = (target, after + timedelta(seconds=1800)) if form == "seconds" else (target, target)
    shown = re.search(r"busy  deferred until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    assert shown, out
    assert between(datetime.strptime(shown[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc), earliest, latest)
    assert "the server asked to retry later" in out
    assert "2 feeds: 1 ok, 0 failed, 1 deferred" in out
    row = stored_feed(tmp_path / STORE, server.url("/busy"))
    assert between(when(row["not_before"]), earliest, latest)
    assert row["error_count"] == 0 and f"HTTP {status}" in row["last_error"]

    assert run(config) == 0
    assert len(server.requests_to("/busy")) == 1  # not asked again before the time
    assert "busy  deferred until" in capsys.readouterr().out


def test_503_without_retry_after_is_a_failure_with_backoff(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.static("/down", 503, "down")
    config = write_config(tmp_path, [server.url("/down")])

    assert run(config) == 1
    assert "failed: HTTP 503 Service Unavailable" in capsys.readouterr().out
    assert stored_feed(tmp_path / STORE, server.url("/down"))["error_count"] == 1


# --- errors and backoff -----------------------------------------------------


def test_500_backs_off_exponentially_then_recovers(tmp_path: Path, server: FeedServer, capsys) -> None:
    url = server.url("/flaky")
    server.static("/flaky", 500, "oops")
    config = write_config(tmp_path, [{"url": url, "name": "flaky"}])

    assert run(config) == 1
    out = capsys.readouterr().out
    assert "flaky  failed: HTTP 500 Internal Server Error" in out and "next attempt after" in out
    row = stored_feed(tmp_path / STORE, url)
    assert row["error_count"] == 1 and "HTTP 500" in row["last_error"]
    first_delay = (when(row["not_before"]) - when(row["last_polled_at"])).total_seconds()
    assert 45 <= first_delay <= 60

    # before the backoff is over the feed is not asked, the run says so and how to ask now,
    # and still fails: a cron job must hear of a feed that is down
    assert run(config) == 1
    out = capsys.readouterr().out
    assert "flaky  deferred until" in out and "backing off after 1 failure in a row; last: HTTP 500" in out
    assert "'ingest run --force' asks it now, 'ingest reset flaky' forgets the failures" in out
    assert "0 ok, 0 failed, 1 deferred; 1 still failing" in out
    assert len(server.requests_to("/flaky")) == 1

    assert run(config, "--force") == 1
    row = stored_feed(tmp_path / STORE, url)
    second_delay = (when(row["not_before"]) - when(row["last_polled_at"])).total_seconds()
    assert row["error_count"] == 2 and 90 <= second_delay <= 120

    assert main(["--config", str(config), "feeds"]) == 0
    listing = capsys.readouterr().out
    assert "flaky" in listing and "failing" in listing and "last error: HTTP 500" in listing

    server.feed("/flaky", rss([item(1)]))  # the publisher fixed it
    assert run(config, "--force") == 0
    assert (tmp_path / "posts" / "story-number-1-about-things.md").exists()
    row = stored_feed(tmp_path / STORE, url)
    assert row["error_count"] == 0 and row["last_error"] is None and row["not_before"] is None
    assert row["last_success_at"] is not None
