"""Redirects: temporary ones change nothing, permanent ones move the feed only once confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, Response, RouteToLoopback, item, rss, stored_feed, write_config
from ingest.faces.cli import main

STORE = "state/ingest.sqlite3"


def run(config: Path, *args: str, transport=None) -> int:
    return main(["--config", str(config), "run", *args], transport=transport)


def redirect(status: int, location: str):
    return lambda _r: Response(status, b"", {"Location": location})


def sources(tmp_path: Path) -> set[str]:
    out = set()
    for path in (tmp_path / "posts").glob("*.md"):
        front = path.read_text().split("---")[1]
        out.add(yaml.safe_load(front)["source"])
    return out


def test_a_permanent_redirect_moves_the_feed_once_seen_twice(tmp_path: Path, server: FeedServer, capsys) -> None:
    old, new = server.url("/old"), server.url("/new")
    server.route("/old", redirect(301, "/new"))
    server.feed("/new", rss([item(1)]))
    config = write_config(tmp_path, [{"url": old, "name": "moving"}])

    assert run(config) == 0
    out = capsys.readouterr().out
    assert f"permanent redirect to {new}; the feed moves there if the next poll agrees" in out
    row = stored_feed(tmp_path / STORE, old)
    assert row["pending_redirect"] == new and row["moved_to"] is None
    assert sources(tmp_path) == {old}

    server.feed("/new", rss([item(1), item(2)]))
    assert run(config) == 0
    assert f"moved permanently to {new}; polled there from now on" in capsys.readouterr().out
    row = stored_feed(tmp_path / STORE, old)
    assert row["moved_to"] == new and row["pending_redirect"] is None

    server.feed("/new", rss([item(1), item(2), item(3)]))
    assert run(config) == 0
    assert len(server.requests_to("/old")) == 2  # the third poll went straight to the new address
    assert len(server.requests_to("/new")) == 3
    # files keep the configured source, and nothing was duplicated by the move
    assert sources(tmp_path) == {old}
    assert len(list((tmp_path / "posts").glob("*.md"))) == 3

    assert main(["--config", str(config), "feeds"]) == 0
    assert f"moved permanently to: {new}" in capsys.readouterr().out


def test_a_permanent_redirect_that_goes_away_is_forgotten(tmp_path: Path, server: FeedServer) -> None:
    old = server.url("/old")
    server.route("/old", redirect(301, "/elsewhere"))
    server.feed("/elsewhere", rss([item(1)]))
    config = write_config(tmp_path, [old])
    assert run(config) == 0
    assert stored_feed(tmp_path / STORE, old)["pending_redirect"] == server.url("/elsewhere")

    server.feed("/old", rss([item(1)]))  # 301 then 200: the redirect was a mistake
    assert run(config) == 0

    row = stored_feed(tmp_path / STORE, old)
    assert row["pending_redirect"] is None and row["moved_to"] is None


def test_a_different_permanent_target_restarts_the_confirmation(tmp_path: Path, server: FeedServer) -> None:
    old = server.url("/old")
    server.route("/old", redirect(308, "/a"))
    server.feed("/a", rss([item(1)]))
    server.feed("/b", rss([item(1)]))
    config = write_config(tmp_path, [old])
    assert run(config) == 0

    server.route("/old", redirect(308, "/b"))
    assert run(config) == 0

    row = stored_feed(tmp_path / STORE, old)
    assert row["pending_redirect"] == server.url("/b") and row["moved_to"] is None


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirects_are_followed_and_nothing_is_stored(tmp_path: Path, server: FeedServer, status: int) -> None:
    old = server.url("/t")
    server.route("/t", redirect(status, server.url("/today")))
    server.feed("/today", rss([item(1)]))
    config = write_config(tmp_path, [old])

    assert run(config) == 0
    assert run(config) == 0

    row = stored_feed(tmp_path / STORE, old)
    assert row["pending_redirect"] is None and row["moved_to"] is None
    assert len(server.requests_to("/t")) == 2
    assert [p.name for p in (tmp_path / "posts").iterdir()] == ["story-number-1-about-things.md"]


def test_a_308_chain_moves_the_feed_to_the_end_of_the_permanent_part(tmp_path: Path, server: FeedServer) -> None:
    start = server.url("/a")
    server.route("/a", redirect(308, "/b"))
    server.route("/b", redirect(308, "/c"))
    server.route("/c", redirect(302, "/d"))  # temporary from here on: not part of the move
    server.feed("/d", rss([item(1)]))
    config = write_config(tmp_path, [start])

    assert run(config) == 0
    assert run(config) == 0

    assert stored_feed(tmp_path / STORE, start)["moved_to"] == server.url("/c")
    assert run(config) == 0
    assert len(server.requests_to("/a")) == 2 and len(server.requests_to("/c")) == 3


def test_a_chain_longer_than_max_redirects_fails_clearly(tmp_path: Path, server: FeedServer, capsys) -> None:
    for n in range(4):
        server.route(f"/r{n}", redirect(308, f"/r{n + 1}"))
    server.feed("/r4", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/r0"), "name": "chain", "max_redirects": 3}])

    assert run(config) == 1

    out = capsys.readouterr().out
    assert "chain  failed: more than 3 redirects (max_redirects): " in out
    assert f"{server.url('/r0')} -> {server.url('/r1')}" in out
    row = stored_feed(tmp_path / STORE, server.url("/r0"))
    assert "max_redirects" in row["last_error"] and row["moved_to"] is None and row["pending_redirect"] is None
    assert not (tmp_path / "posts").exists() or not list((tmp_path / "posts").iterdir())


def test_a_redirect_loop_fails_clearly(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.route("/x", redirect(301, "/y"))
    server.route("/y", redirect(302, "/x"))
    server.feed("/ok", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/x"), "name": "loop"}, server.url("/ok")])

    assert run(config) == 1

    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("loop "))
    assert f"failed: redirect loop: {server.url('/x')} -> {server.url('/y')} -> {server.url('/x')}" in line
    assert "1 ok, 1 failed" in out
    assert len(server.requests_to("/x")) == 1
    assert "redirect loop" in stored_feed(tmp_path / STORE, server.url("/x"))["last_error"]


def test_http_to_https_on_the_same_host_moves_at_once(tmp_path: Path, server: FeedServer) -> None:
    url = "http://feeds.example.org/feed"
    server.route("/feed", redirect(301, "https://feeds.example.org/secure/feed"))
    server.feed("/secure/feed", rss([item(1)]))
    config = write_config(tmp_path, [url])

    assert run(config, transport=RouteToLoopback(server)) == 0

    row = stored_feed(tmp_path / STORE, url)
    assert row["moved_to"] == "https://feeds.example.org/secure/feed"
    assert run(config, transport=RouteToLoopback(server)) == 0
    assert len(server.requests_to("/feed")) == 1
    assert sources(tmp_path) == {url}


def test_a_redirect_to_another_host_is_not_taken_at_once(tmp_path: Path, server: FeedServer) -> None:
    url = "http://feeds.example.org/feed"
    server.route("/feed", redirect(301, "https://cdn.example.net/feed.xml"))
    server.feed("/feed.xml", rss([item(1)]))
    config = write_config(tmp_path, [url])

    assert run(config, transport=RouteToLoopback(server)) == 0

    row = stored_feed(tmp_path / STORE, url)
    assert row["moved_to"] is None and row["pending_redirect"] == "https://cdn.example.net/feed.xml"
    assert server.requests_to("/feed.xml")[0].headers["host"] == "cdn.example.net"
