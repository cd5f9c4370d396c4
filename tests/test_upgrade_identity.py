"""A store and output written before identity links and judged dates, upgraded: nothing renamed or written twice.

fixtures/upgrade holds what the previous version wrote for a feed (its
files, and its store dumped as SQL); see its README.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from builders import read_posts
from conftest import FIXTURES, json_lines, run_cli, snapshot

UPGRADE = FIXTURES / "upgrade"
NAMES = sorted(path.name for path in (UPGRADE / "posts").iterdir())
CORRECTED = {"six-the-epoch.md", "seven-a-timestamp.md"}  # dated 1970-01-01 and 1699-11-30 by the previous version


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The previous version's output and store, as its user has them."""
    for name in ("feeds.yaml", "feeds", "posts"):
        source = UPGRADE / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    (tmp_path / "state").mkdir()
    with sqlite3.connect(tmp_path / "state" / "ingest.sqlite3") as db:
        db.executescript((UPGRADE / "store.sql").read_text(encoding="utf-8"))
    return tmp_path


def _stored(site: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(site / "state" / "ingest.sqlite3") as db:
        rows = db.execute("SELECT path, identity, substr(first_seen, 1, 10) FROM entries").fetchall()
    return {path: (identity, day) for path, identity, day in rows}


def _bytes(site: Path) -> dict[str, bytes]:
    return {name: data for name, (data, _mtime) in snapshot(site / "posts").items()}


def test_the_same_feed_after_the_upgrade_changes_nothing(site: Path) -> None:
    before = snapshot(site / "posts")
    done = run_cli("--config", site / "feeds.yaml", "run")
    assert done.returncode == 0, done.stderr
    assert snapshot(site / "posts") == before


def test_every_entry_read_again_keeps_its_file_and_only_misread_dates_are_corrected(site: Path) -> None:
    """As after a version whose settings make every entry be read again: each finds its stored identity."""
    stored = _stored(site)
    before = snapshot(site / "posts")
    with sqlite3.connect(site / "state" / "ingest.sqlite3") as db:
        db.execute("UPDATE feeds SET body_hash = NULL, entry_sources = NULL, item_tokens = NULL")

    done = run_cli("--config", site / "feeds.yaml", "run")

    assert done.returncode == 0, done.stderr
    assert "0 new, 2 updated, 6 unchanged" in done.stdout
    after = snapshot(site / "posts")
    assert sorted(after) == NAMES
    assert {name for name in NAMES if after[name] != before[name]} == CORRECTED
    assert _stored(site) == stored  # not one identity migrated, renamed or added
    posts = {post.path.name: post for post in read_posts(site / "posts")}
    assert str(posts["six-the-epoch.md"].data["date"]) == stored["six-the-epoch.md"][1]
    assert str(posts["seven-a-timestamp.md"].data["date"]) == "2023-11-14"


def test_the_publishers_move_after_the_upgrade_writes_only_the_new_entry(site: Path) -> None:
    stored = _stored(site)
    before = _bytes(site)
    shutil.copy(UPGRADE / "moved" / "news.xml", site / "feeds" / "news.xml")

    done = run_cli("--config", site / "feeds.yaml", "run")

    assert done.returncode == 0, done.stderr
    assert "1 new" in done.stdout
    assert "2 judged the same as an entry already written (moved)" in done.stdout
    after = _bytes(site)
    assert sorted(after) == sorted([*NAMES, "nine-a-new-story-after-the-move.md"])
    now = _stored(site)
    assert {path: now[path] for path in stored} == stored  # every earlier entry under its earlier identity
    posts = {post.path.name: post for post in read_posts(site / "posts")}
    assert posts["one-a-story-by-permalink-guid.md"].data["link"] == "https://www.example.com/news/one?utm_source=rss"
    assert "corrected after the move" in posts["two-a-story-with-a-tag-guid.md"].data["description"]
    for unchanged in ("three-the-first-of-two-pages.md", "three-the-second-of-two-pages.md", "eight-never-moves.md"):
        assert after[unchanged].replace(b"https://www.example.com/news/three", b"https://example.com/news/three") \
            .replace(b"&utm_source=rss", b"") == before[unchanged]

    again = run_cli("--json", "--config", site / "feeds.yaml", "run")  # the same bytes once more: nothing
    assert again.returncode == 0 and json_lines(again.stdout)[0]["same_as"] == []


def test_the_line_and_json_name_the_files_judged_the_same(site: Path) -> None:
    shutil.copy(UPGRADE / "moved" / "news.xml", site / "feeds" / "news.xml")
    done = run_cli("--json", "--config", site / "feeds.yaml", "run")
    assert done.returncode == 0, done.stderr
    feed = json_lines(done.stdout)[0]
    # one: only https, www. and a tracking parameter differ, the same identity; two and five: new guids
    assert sorted(feed["same_as"]) == ["five-a-story-without-a-link.md", "two-a-story-with-a-tag-guid.md"]


def test_strict_identity_writes_moved_entries_as_new_files(site: Path) -> None:
    config = yaml.safe_load((site / "feeds.yaml").read_text())
    config["feeds"][0]["identity"] = "strict"
    (site / "feeds.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(UPGRADE / "moved" / "news.xml", site / "feeds" / "news.xml")
    done = run_cli("--config", site / "feeds.yaml", "run")
    assert done.returncode == 0, done.stderr
    assert "judged the same" not in done.stdout
    # one: its new guid is the same identity link (only https, www. and a tracking parameter differ); two and
    # five have new guids and, under strict, are new entries
    assert "3 new" in done.stdout


def test_rebuild_corrects_the_dates_the_previous_version_misread(site: Path) -> None:
    stored = _stored(site)
    before = _bytes(site)
    done = run_cli("--config", site / "feeds.yaml", "rebuild")
    assert done.returncode == 0, done.stderr
    after = _bytes(site)
    assert {name for name in NAMES if after[name] != before[name]} == CORRECTED
    posts = {post.path.name: post for post in read_posts(site / "posts")}
    for name in CORRECTED:
        assert str(posts[name].data["date"]) == stored[name][1]  # the day the entry was first seen
