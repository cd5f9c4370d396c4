"""``ingest discover URL``: the feeds a page offers, ready for the config."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import yaml
from conftest import FeedServer, Response, item, json_lines, rss, run_cli

PAGE = """<!DOCTYPE html>
<html><head><title>My blog</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="All  posts" href="/blog/feed.xml">
<link rel="alternate" type="application/atom+xml" title="Comments" href="comments.atom">
<link rel="alternate" type="application/feed+json" href="https://other.example/feed.json">
<link rel="alternate" type="application/rss+xml" title="All posts again" href="/blog/feed.xml">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
</head><body><a href="/blog/other.xml">not a link tag</a></body></html>"""

JSON_FEED = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Tiny\nnews", "items": []})


def atom(title: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated></feed>"
    )


def test_a_page_prints_the_feeds_it_advertises_ready_for_the_config(server: FeedServer) -> None:
    server.static("/blog/", 200, PAGE, "text/html; charset=utf-8")
    server.static("/wp-json/wp/v2/pages/2", 200, '{"id": 2, "title": {"rendered": "About"}}', "application/json")

    result = run_cli("discover", server.url("/blog/"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"- url: {server.url('/blog/feed.xml')}  # rss: All posts",
        f"- url: {server.url('/blog/comments.atom')}  # atom: Comments",
        "- url: https://other.example/feed.json  # json",
    ]
    pasted = yaml.safe_load("feeds:\n" + result.stdout)["feeds"]
    assert [entry["url"] for entry in pasted][0] == server.url("/blog/feed.xml")
    assert [r.path for r in server.requests] == ["/blog/", "/wp-json/wp/v2/pages/2"]  # advertised links are believed
    assert server.requests[0].headers["user-agent"].startswith("ingest/")


def test_json_prints_the_same_feeds_as_json_before_or_after_the_command(server: FeedServer) -> None:
    server.static("/blog/", 200, PAGE, "text/html")

    after = run_cli("discover", server.url("/blog/"), "--json")
    before = run_cli("--json", "discover", server.url("/blog/"))

    assert after.returncode == before.returncode == 0
    assert after.stdout == before.stdout
    head = {"type": "feed", "command": "discover", "version": 2}
    assert json_lines(after.stdout) == [
        {**head, "url": server.url("/blog/feed.xml"), "format": "rss", "title": "All posts", "via": "advertised"},
        {**head, "url": server.url("/blog/comments.atom"), "format": "atom", "title": "Comments", "via": "advertised"},
        {**head, "url": "https://other.example/feed.json", "format": "json", "title": None, "via": "advertised"},
        {"type": "summary", "command": "discover", "version": 2, "url": server.url("/blog/"), "feeds": 3,
         "error": None, "exit_code": 0},
    ]
    assert run_cli("--json", "edits").returncode == 2


def test_a_url_that_is_a_feed_prints_itself(server: FeedServer) -> None:
    server.feed("/rss", rss([item(1)], title="Daily  news"))
    server.static("/atom", 200, atom("Atom news"), "application/atom+xml")
    server.static("/j", 200, JSON_FEED, "application/json")

    lines = [run_cli("discover", server.url(path)).stdout for path in ("/rss", "/atom", "/j")]

    assert lines == [
        f"- url: {server.url('/rss')}  # rss: Daily news\n",
        f"- url: {server.url('/atom')}  # atom: Atom news\n",
        f"- url: {server.url('/j')}  # json: Tiny news\n",
    ]
    assert len(server.requests) == 3  # one request each: nothing else asked


def test_without_advertised_feeds_the_well_known_paths_are_asked_politely(server: FeedServer) -> None:
    server.static("/", 200, "<html><head><title>Home</title></head><body>hi</body></html>", "text/html")
    server.route("/rss", lambda _r: Response(301, b"", {"Location": "/rss.xml"}))
    server.feed("/rss.xml", rss([item(1)], title="Main"))
    server.route("/feed", lambda _r: Response(200, b"<html>a page for every path</html>", {"Content-Type": "text/html"}, delay=0.2))
    server.route("/feed.json", lambda _r: Response(200, JSON_FEED.encode(), {"Content-Type": "application/feed+json"}, delay=0.2))
    server.route("/atom.xml", lambda _r: Response(200, atom("Atom").encode(), {"Content-Type": "application/atom+xml"}, delay=0.2))

    result = run_cli("discover", server.url("/"))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"- url: {server.url('/rss.xml')}  # rss: Main",  # the address it redirects to, once
        f"- url: {server.url('/atom.xml')}  # atom: Atom",
        f"- url: {server.url('/feed.json')}  # json: Tiny news",
    ]
    asked = [r.path for r in server.requests]
    assert asked[0] == "/" and sorted(set(asked[1:])) == sorted(
        ["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json"]
    )
    assert server.max_in_flight_total <= 2
    assert json_lines(run_cli("discover", "--json", server.url("/")).stdout)[1]["via"] == "well-known"


def test_a_page_without_any_feed_exits_1_saying_so(server: FeedServer) -> None:
    server.static("/", 200, PAGE.replace("alternate", "stylesheet"), "text/html")

    result = run_cli("discover", server.url("/"))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"ingest: no feed found at {server.url('/')}: the page advertises none, and none of "
        "/feed, /rss, /rss.xml, /atom.xml, /feed.xml, /index.xml, /feed.json at the site's root is one"
    )


def test_a_page_is_fetched_under_a_feeds_limits(server: FeedServer) -> None:
    bomb = gzip.compress(b" " * (17 * 1024 * 1024))
    server.route("/bomb", lambda _r: Response(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    server.route("/down", lambda _r: Response(503, b"busy"))

    bombed = run_cli("discover", server.url("/bomb"))
    down = run_cli("discover", server.url("/down"))

    assert bombed.returncode == 1
    assert "response is larger than the 16 MiB limit after decompression (max_size)" in bombed.stderr
    assert down.returncode == 1
    assert down.stderr.strip() == f"ingest: cannot fetch {server.url('/down')}: HTTP 503 Service Unavailable"
    assert run_cli("discover", "ftp://example.com/").returncode == 2


def test_links_resolve_against_the_page_they_came_from(server: FeedServer, tmp_path: Path) -> None:
    server.route("/old", lambda _r: Response(301, b"", {"Location": "/new/"}))
    server.static("/new/", 200, '<link rel="alternate" type="application/rss+xml" href="feed">', "text/html")
    server.static("/based/", 200, '<base href="/elsewhere/"><link rel=alternate type=application/atom+xml href=a.xml>', "text/html")

    assert run_cli("discover", server.url("/old")).stdout == f"- url: {server.url('/new/feed')}  # rss\n"
    assert run_cli("discover", server.url("/based/")).stdout == f"- url: {server.url('/elsewhere/a.xml')}  # atom\n"
