"""Only http and https URLs reach the front-matter fields a theme turns into attributes.

A table of every scheme and spelling a browser would still read as a
script or a document (upper case, leading spaces and controls, tabs and line
breaks inside the scheme, character references), then feeds in RSS, Atom and
JSON Feed through the CLI: the unsafe URL is left out, the feed's line says
so once, and the safe ones are written as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, run_cli, write_config
from ingest.core.content.safeurl import safe_url

BASE = "https://feed.example/blog/feed.xml"


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("javascript:alert(1)", "javascript:"),
        ("JAVASCRIPT:alert(1)", "javascript:"),
        ("JavaScript:alert(1)", "javascript:"),
        ("  javascript:alert(1)", "javascript:"),
        ("\x01\x02javascript:alert(1)", "javascript:"),
        ("\u0000javascript:alert(1)", "javascript:"),
        ("java\tscript:alert(1)", "javascript:"),
        ("java\nscript:alert(1)", "javascript:"),
        ("java\r\nscript:alert(1)", "javascript:"),
        ("jav&#x09;ascript:alert(1)", "javascript:"),
        ("&#106;avascript:alert(1)", "javascript:"),
        ("&#x6A;avascript:alert(1)", "javascript:"),
        ("javascript&colon;alert(1)", "javascript:"),
        ("javascript&#58;alert(1)", "javascript:"),
        ("vbscript:msgbox(1)", "vbscript:"),
        ("VBScript:msgbox(1)", "vbscript:"),
        ("data:text/html;base64,PHNjcmlwdD4=", "data:"),
        ("DATA:image/svg+xml,<svg onload=alert(1)>", "data:"),
        ("file:///etc/passwd", "file:"),
        ("ftp://example.com/x.png", "ftp:"),
        ("mailto:someone@example.com", "mailto:"),
        ("blob:https://feed.example/1", "blob:"),
        ("http://[::1/broken", "malformed"),
    ],
)
def test_unsafe_urls_are_refused_in_every_spelling(value: str, refused: str) -> None:
    assert safe_url(value, BASE) == (("", refused))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("https://feed.example/a", "https://feed.example/a"),
        ("HTTP://Feed.Example/a", "HTTP://Feed.Example/a"),
        ("  https://feed.example/a  ", "https://feed.example/a"),
        ("/posts/1", "https://feed.example/posts/1"),
        ("posts/1", "https://feed.example/blog/posts/1"),
        ("//cdn.example/i.png", "https://cdn.example/i.png"),
        ("?p=1", "https://feed.example/blog/feed.xml?p=1"),
        ("https://feed.example/x?a=1&copy=2", "https://feed.example/x?a=1&copy=2"),
        ("javascript%3Aalert(1)", "https://feed.example/blog/javascript%3Aalert(1)"),
    ],
)
def test_http_urls_and_relative_ones_made_absolute_pass(value: str, written: str) -> None:
    assert safe_url(value, BASE) == (written, None)


def test_a_relative_url_with_no_http_base_is_refused() -> None:
    assert safe_url("/posts/1", "").url == ""
    assert safe_url("/posts/1", "file:///feeds/a.xml").refused == "file:"


RSS = """<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><link>http://x/</link>
<item><title>Script link</title><link>  JavaScript:alert(document.cookie)</link><guid isPermaLink="false">1</guid>
  <pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>
  <enclosure url="data:image/png;base64,AAAA" type="image/png" length="4"/></item>
<item><title>Tabbed</title><link>java&#x09;script:alert(1)</link><guid isPermaLink="false">2</guid>
  <pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>
  <media:content url="vbscript:msgbox(1)" medium="image"/><media:thumbnail url="/img/fine.png"/></item>
<item><title>Fine</title><link>/posts/fine</link><guid isPermaLink="false">3</guid>
  <pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>urn:a</id>
<updated>2024-01-01T00:00:00Z</updated>
<entry><title>Entity link</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>
<link rel="alternate" href="&amp;#106;avascript:alert(1)"/></entry>
</feed>"""

JSON_FEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1", "title": "j",
    "items": [
        {"id": "1", "title": "Data image", "url": "DATA:text/html,x", "image": "data:image/svg+xml,<svg/>",
         "date_published": "2024-01-01T00:00:00Z", "content_text": "x"},
        {"id": "2", "title": "External", "external_url": "javascript:alert(1)", "content_text": "y",
         "date_published": "2024-01-01T00:00:00Z"},
    ],
})


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def test_no_script_url_reaches_link_or_image_through_the_cli(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/rss.xml", RSS)
    server.feed("/atom.xml", ATOM, "application/atom+xml")
    server.feed("/feed.json", JSON_FEED, "application/feed+json")
    config = write_config(tmp_path, [
        {"url": server.url("/rss.xml"), "name": "rss"},
        {"url": server.url("/atom.xml"), "name": "atom"},
        {"url": server.url("/feed.json"), "name": "json"},
    ])

    done = run_cli("--config", config, "run")

    assert done.returncode == 0, done.stderr
    posts = {p.name: front_matter(p) for p in (tmp_path / "posts").rglob("*.md")}
    assert len(posts) == 6, sorted(posts)
    for matter in posts.values():
        for key in ("link", "image"):
            value = str(matter.get(key) or "")
            assert value == "" or value.startswith(server.url("/")), (key, value)
    fine = posts["fine.md"]
    assert fine["link"] == server.url("/posts/fine")
    assert posts["tabbed.md"]["image"] == server.url("/img/fine.png")  # the next candidate, once the unsafe one is out
    lines = {line.split(":")[0].strip(): line for line in done.stdout.splitlines() if "left out" in line}
    assert "left out 4 link/image URLs that are not http or https (data:, javascript:, vbscript:)" in done.stdout, done.stdout
    assert "left out 1 link/image URL that is not http or https (javascript:)" in done.stdout
    assert "left out 3 link/image URLs that are not http or https (data:, javascript:)" in done.stdout
    assert done.stdout.count("left out") == 3, lines

    again = run_cli("--config", config, "run")
    assert again.returncode == 0 and "left out" not in again.stdout  # said once, when the entries are read
