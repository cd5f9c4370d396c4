"""Feeds whose descriptions are whole articles, through the CLI: short front matter, full body."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import yaml

from conftest import FeedServer, item, rss, run_cli, snapshot, write_config
from ingest.core.content.article import article_from_json
from ingest.core.rendering.page import render
from ingest.core.deciding.edits import content_hash


def article_html(n: int, paragraphs: int = 2000) -> str:
    """A long article (about 150 KB) as a small blog's feed puts it in <description>."""
    return "\n".join(
        f"<p>Story {n}, paragraph {p}: the whole article sits in the description of this feed.</p>"
        for p in range(paragraphs)
    )


def full_article_item(n: int) -> dict[str, str]:
    fields = item(n, description=article_html(n))
    del fields["content"]  # nothing in content:encoded
    return fields


def front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    head, _sep, body = text[4:].partition("\n---\n")
    return yaml.safe_load(head), body


def posts(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.md"))


def test_full_article_descriptions_give_short_description_and_summary(tmp_path: Path, server: FeedServer) -> None:
    short = item(9, description="Only a short teaser.")
    del short["content"]
    server.feed("/feed.xml", rss([full_article_item(1), full_article_item(2), short]))
    config = write_config(tmp_path, [server.url("/feed.xml")])

    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stderr
    assert "3 new" in done.stdout

    files = posts(tmp_path / "posts")
    assert len(files) == 3
    for path in files:
        data, body = front_matter(path)
        assert data["description"] == data["summary"]
        if "teaser" in data["description"]:
            assert data["description"] == "Only a short teaser."  # short descriptions are written whole
            continue
        n = 1 if "Story 1," in data["description"] else 2
        assert data["description"].startswith(f"Story {n}, paragraph 0: the whole article")
        assert data["description"].endswith("…") and len(data["description"]) <= 301
        assert f"<p>Story {n}, paragraph 1999: the whole article" in body  # the body keeps all of it
        assert path.stat().st_size < 1.05 * len(article_html(n).encode())  # once, not three times

    before = snapshot(tmp_path / "posts")
    again = run_cli("--config", config, "run")
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert snapshot(tmp_path / "posts") == before


def test_summary_length_per_feed_and_in_defaults_and_a_change_reaches_the_files(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/a.xml", rss([full_article_item(1)]))
    server.feed("/b.xml", rss([full_article_item(2)]))
    feeds = [{"url": server.url("/a.xml"), "name": "a"}, {"url": server.url("/b.xml"), "name": "b", "summary_length": 40}]
    config = write_config(tmp_path, feeds, defaults={"summary_length": 100})
    assert run_cli("--config", config, "run").returncode == 0
    described = {front_matter(p)[0]["link"]: front_matter(p)[0]["description"] for p in posts(tmp_path / "posts")}
    assert described == {
        "https://example.com/story/1": (
            "Story 1, paragraph 0: the whole article sits in the description of this feed. Story 1, paragraph 1:…"
        ),
        "https://example.com/story/2": "Story 2, paragraph 0: the whole article…",
    }

    config.write_text(config.read_text().replace("summary_length: 100", "summary_length: 60"))
    changed = run_cli("--config", config, "run")
    assert changed.returncode == 0, changed.stderr
    assert "a  0 new, 1 updated" in changed.stdout and "b  unchanged" in changed.stdout, changed.stdout
    by_link = {front_matter(p)[0]["link"]: front_matter(p)[0] for p in posts(tmp_path / "posts")}
    assert by_link["https://example.com/story/1"]["description"] == "Story 1, paragraph 0: the whole article sits in the…"
    assert by_link["https://example.com/story/2"]["description"] == "Story 2, paragraph 0: the whole article…"


def test_summary_length_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    for bad in ("0", "-5", "ten", "2.5", "true"):
        config = tmp_path / "feeds.yaml"
        config.write_text(f"feeds:\n  - url: https://example.org/feed.xml\n    summary_length: {bad}\n")
        done = run_cli("--config", config, "run")
        assert done.returncode == 2, bad
        assert "feeds[0].summary_length: must be a whole number of at least 1" in done.stderr, done.stderr


def make_files_as_before_the_rule(store: Path, output: Path) -> None:
    """Turn every file and stored entry into what an ingest without the rule left: the whole text, no limit."""
    db = sqlite3.connect(store)
    for identity, path, data in db.execute("SELECT identity, path, article FROM entries").fetchall():
        article = article_from_json(data)
        text = render(replace(article, summary_length=10**9))
        (output / path).write_text(text, encoding="utf-8")
        old = json.loads(data)
        del old["summary_length"]
        db.execute(
            "UPDATE entries SET content_hash = ?, written_hash = ?, article = ? WHERE identity = ?",
            (content_hash(text), content_hash(text), json.dumps(old, ensure_ascii=False, sort_keys=True), identity),
        )
    db.commit()
    db.close()


def test_rebuild_brings_older_files_to_the_rule_and_a_run_leaves_them_alone(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/feed.xml", rss([full_article_item(1), full_article_item(2)]))
    config = write_config(tmp_path, [server.url("/feed.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    make_files_as_before_the_rule(tmp_path / "state" / "ingest.sqlite3", tmp_path / "posts")
    old = snapshot(tmp_path / "posts")
    assert all(len(front_matter(tmp_path / "posts" / name)[0]["description"]) > 100_000 for name in old)

    # a normal run rewrites no file whose entry did not change, even when the feed gained one
    server.feed("/feed.xml", rss([full_article_item(1), full_article_item(2), full_article_item(3)]))
    run = run_cli("--config", config, "run")
    assert run.returncode == 0 and "1 new, 0 updated, 2 unchanged" in run.stdout, run.stdout
    after_run = snapshot(tmp_path / "posts")
    assert {name: after_run[name] for name in old} == old

    rebuilt = run_cli("--config", config, "rebuild")
    assert rebuilt.returncode == 0 and "rewrote 2 files" in rebuilt.stdout, rebuilt.stdout
    for path in posts(tmp_path / "posts"):
        data, body = front_matter(path)
        assert len(data["description"]) <= 301 and data["description"] == data["summary"]
        assert "paragraph 1999" in body

    again = run_cli("--config", config, "rebuild")
    assert again.returncode == 0 and "rewrote 0 files" in again.stdout, again.stdout
