"""JSON Feed 1.0 and 1.1 are read into the same files as RSS and Atom."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config


def front(path: Path) -> tuple[dict, str]:
    _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(head), body


def json_feed(items: list[dict], version: str = "1.1") -> str:
    return json.dumps({"version": f"https://jsonfeed.org/version/{version}", "title": "Tiny", "items": items})


STORY = {
    "id": "https://example.com/story/1",
    "url": "https://example.com/story/1",
    "title": "Story number 1 about things",
    "content_html": "<p>Body of story 1.</p><script>alert(1)</script>",
    "summary": "Summary of story 1.",
    "image": "https://example.com/img/1.png",
    "date_published": "2026-01-02T10:00:00+00:00",
    "date_modified": "2026-01-03T08:00:00Z",
    "tags": ["things", "stories"],
    "authors": [{"name": "Ann"}],
    "attachments": [{"url": "https://example.com/a.mp3", "mime_type": "audio/mpeg"}],
}


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", "text/plain"])
def test_a_json_feed_is_written_like_the_same_story_from_rss(
    tmp_path: Path, server: FeedServer, content_type: str
) -> None:
    server.static("/feed.json", 200, json_feed([STORY]), content_type)
    config = write_config(tmp_path, [{"url": server.url("/feed.json"), "name": "j", "tags": {"count": 5, "from": ["feed"]}}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "j  1 new" in result.stdout
    data, body = front(tmp_path / "posts" / "story-number-1-about-things.md")
    assert data["title"] == "Story number 1 about things"
    assert str(data["date"]) == "2026-01-02"
    assert data["description"] == data["summary"] == "Summary of story 1."
    assert data["image"] == "https://example.com/img/1.png"
    assert data["link"] == "https://example.com/story/1"
    assert data["tags"] == ["things", "stories"]
    assert body == "<p>Body of story 1.</p>\n"  # sanitized like any body


def test_a_json_feed_entry_and_the_same_story_from_rss_are_one_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/rss.xml", rss([item(1)]))
    server.static("/feed.json", 200, json_feed([STORY]), "application/feed+json")
    config = write_config(tmp_path, [
        {"url": server.url("/rss.xml"), "name": "r"}, {"url": server.url("/feed.json"), "name": "j"},
    ])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0
    assert len(list((tmp_path / "posts").iterdir())) == 1
    assert "1 skipped" in result.stdout  # the second feed's copy of the story


def test_json_feed_1_0_with_text_content_and_a_single_author(tmp_path: Path, server: FeedServer) -> None:
    story = {"id": "42", "url": "https://example.com/42", "title": "A & B <today>",
             "content_text": "Line one.\n\nLine <two>.", "date_published": "2026-01-05T09:30:00-05:00",
             "author": {"name": "Bo"}}
    server.static("/feed.json", 200, json_feed([story, "not an item"], version="1"), "application/json")
    config = write_config(tmp_path, [{"url": server.url("/feed.json"), "name": "j"}])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert "1 item of the JSON Feed not an object, left out" in result.stdout
    [path] = (tmp_path / "posts").iterdir()
    data, body = front(path)
    assert data["title"] == "A & B <today>" and str(data["date"]) == "2026-01-05"
    assert "Line &lt;two&gt;." in body and "<two>" not in body


def test_a_json_feed_polled_again_rewrites_nothing(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed.json", json_feed([STORY, {**STORY, "id": "https://example.com/story/2",
                                                 "url": "https://example.com/story/2", "title": "Second"}]),
                content_type="application/feed+json")
    config = write_config(tmp_path, [{"url": server.url("/feed.json"), "name": "j"}])
    assert run_cli("--config", config, "run").returncode == 0
    before = snapshot(tmp_path / "posts")

    again = run_cli("--config", config, "run", "--force")

    assert again.returncode == 0 and "unchanged" in again.stdout
    assert snapshot(tmp_path / "posts") == before and len(before) == 2
