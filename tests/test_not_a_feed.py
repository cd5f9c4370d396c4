"""A 200 that is not a feed fails that feed with a message saying what came back."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FeedServer, item, rss, stored_feed, write_config
from ingest.faces.cli import main

STORE = "state/ingest.sqlite3"

PAGE = """<!DOCTYPE html>
<html><head><title>My blog</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Posts" href="/blog/feed.xml">
</head><body><h1>Welcome</h1></body></html>"""


def test_an_html_page_names_the_feed_it_advertises(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.static("/blog/", 200, PAGE, "text/html; charset=utf-8")
    server.feed("/other", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/blog/"), "name": "blog"}, server.url("/other")])

    assert main(["--config", str(config), "run"]) == 1

    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("blog "))
    assert "not a feed (got text/html; charset=utf-8, starting '<!DOCTYPE html> <html><head>" in line
    assert f"the page advertises a feed at {server.url('/blog/feed.xml')}; use that URL instead" in line
    assert "1 ok, 1 failed" in out
    row = stored_feed(tmp_path / STORE, server.url("/blog/"))
    assert server.url("/blog/feed.xml") in row["last_error"] and row["error_count"] == 1
    assert [p.name for p in (tmp_path / "posts").iterdir()] == ["story-number-1-about-things.md"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("<html><body>Sorry, nothing here</body></html>", "text/html", "not a feed (got text/html, starting '<html><body>Sorry"),
        ('{"status": "ok", "data": []}', "application/json", "JSON that is not a feed"),
        ('{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/feed+json",
         "bad JSON (got application/feed+json, starting '{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": ['): Expecting value: line 1 column"),
        ('{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "application/json", "'items' is not a list"),
        ("", "application/rss+xml", "empty response (got application/rss+xml)"),
        ('<?xml version="1.0"?><config><setting>1</setting></config>', "application/xml",
         "not a feed (got application/xml, starting '<?xml version=\"1.0\"?><config>"),
    ],
)
def test_what_came_back_is_described(
    tmp_path: Path, server: FeedServer, capsys, body: str, content_type: str, expected: str
) -> None:
    server.static("/x", 200, body, content_type)
    config = write_config(tmp_path, [{"url": server.url("/x"), "name": "x"}])

    assert main(["--config", str(config), "run"]) == 1

    assert expected in capsys.readouterr().out
    assert expected in stored_feed(tmp_path / STORE, server.url("/x"))["last_error"]
