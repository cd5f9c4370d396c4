"""JSON Feed 1.0 and 1.1, read into the same files as RSS and Atom."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import FeedServer, item, rss, write_config
from ingest.faces.cli import main


def front(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON blog",
    "items": [
        {
            "id": "tag:blog.example,2026:1",
            "url": "https://blog.example/posts/one",
            "title": "First <post> & more",
            "content_html": '<p>Hello <img src="/pics/a.png"> <script>alert(1)</script>world</p>',
            "summary": "A short summary",
            "image": "https://blog.example/main.jpg",
            "banner_image": "https://blog.example/banner.jpg",
            "date_published": "2026-01-05T10:00:00+02:00",
            "date_modified": "2026-01-06T10:00:00Z",
            "tags": ["Zebra", "Apple"],
            "authors": [{"name": "Ann"}],
            "attachments": [{"url": "https://blog.example/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 10}],
        },
        {"id": 2, "external_url": "https://elsewhere.example/x", "content_text": "Plain <text>\nline two",
         "date_modified": "2026-01-07T00:00:00Z"},
    ],
}


def test_json_feed_items_become_files_like_any_entry(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.feed("/feed.json", json.dumps(FEED_11), "application/feed+json")
    config = write_config(tmp_path, [{"url": server.url("/feed.json"), "name": "json", "tags": {"count": 3, "from": ["feed"]}}])

    assert main(["--config", str(config), "run"]) == 0

    assert "json  2 new, 0 updated, 0 unchanged" in capsys.readouterr().out
    first = tmp_path / "posts" / "first-post-more.md"
    data = front(first)
    assert data["title"] == "First <post> & more"
    assert data["link"] == "https://blog.example/posts/one"
    assert data["description"] == "A short summary"
    assert data["image"] == "https://blog.example/main.jpg"
    assert str(data["date"]).startswith("2026-01-05")
    assert data["tags"] == ["zebra", "apple"]
    body = first.read_text(encoding="utf-8").split("---\n", 2)[2]
    assert "<script>" not in body and '<img src="https://blog.example/pics/a.png">' in body
    [second] = [p for p in (tmp_path / "posts").iterdir() if p != first]
    data = front(second)
    assert data["link"] == "https://elsewhere.example/x"
    assert data["title"] == "Plain <text> line two"
    assert str(data["date"]).startswith("2026-01-07")
    assert "Plain &lt;text&gt;" in second.read_text(encoding="utf-8")

    assert main(["--config", str(config), "run"]) == 0
    assert "unchanged (not modified)" in capsys.readouterr().out


def test_a_json_feed_item_and_the_same_story_in_rss_are_one_file(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.feed("/a.xml", rss([item(1)]))
    story = {"id": "https://example.com/story/1", "url": "https://example.com/story/1", "title": "Story number 1 about things",
             "content_html": "<p>Body of story 1.</p>", "date_published": "2026-01-02T10:00:00Z"}
    document = {"version": "https://jsonfeed.org/version/1", "title": "t", "items": [story]}
    server.feed("/b", json.dumps(document), "text/plain")  # detected by its content
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "rss"}, {"url": server.url("/b"), "name": "json"}])

    assert main(["--config", str(config), "run"]) == 0

    lines = sorted(line[6:] for line in capsys.readouterr().out.splitlines() if line.startswith(("json ", "rss ")))
    assert lines == ["0 new, 0 updated, 0 unchanged, 1 skipped", "1 new, 0 updated, 0 unchanged"]  # whichever came first
    assert [p.name for p in (tmp_path / "posts").iterdir()] == ["story-number-1-about-things.md"]


def test_broken_json_fails_with_one_line(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.static("/bad", 200, '{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1",}]}', "application/feed+json")
    config = write_config(tmp_path, [{"url": server.url("/bad"), "name": "bad"}])

    assert main(["--config", str(config), "run"]) == 1

    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("bad ")]
    assert "failed: bad JSON (got application/feed+json, starting '{\"version\"" in line
    assert "Expecting property name enclosed in double quotes: line 1 column" in line
