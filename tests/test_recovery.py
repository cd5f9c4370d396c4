"""Odd input and interrupted runs: one feed or entry fails alone, and nothing is duplicated or lost."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import yaml

from conftest import FeedServer, Response, item, rss, run_cli, snapshot, write_config


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def stored(tmp_path: Path, sql: str, *args: object) -> list[tuple]:
    db = sqlite3.connect(tmp_path / "state" / "ingest.sqlite3")
    try:
        rows = db.execute(sql, args).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def test_a_redirect_to_an_impossible_port_fails_only_its_feed(tmp_path: Path, server: FeedServer) -> None:
    server.route("/bad.xml", lambda _r: Response(301, b"", {"Location": "http://127.0.0.1:99999/feed"}))
    server.feed("/good.xml", rss([item(1)]))
    config = write_config(
        tmp_path, [{"url": server.url("/bad.xml"), "name": "bad"}, {"url": server.url("/good.xml"), "name": "good"}]
    )

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    assert "bad   failed: invalid URL http://127.0.0.1:99999/feed" in result.stdout
    assert "good  1 new" in result.stdout
    assert "Traceback" not in result.stderr
    [(errors, last_error)] = stored(tmp_path, "SELECT error_count, last_error FROM feeds WHERE name = 'bad'")
    assert errors == 1 and "invalid URL" in last_error


def test_an_entry_with_a_broken_link_does_not_cost_the_others(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2, link="http://a.example:99999/x", guid="")]))
    config = write_config(tmp_path, [server.url("/a.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 new" in result.stdout
    assert len(names(tmp_path / "posts")) == 2


def test_lenient_xml_slips_are_forgiven_and_truncation_is_not(tmp_path: Path, server: FeedServer) -> None:
    body = rss([item(1, title="Caf&eacute;&nbsp;time")]).replace("&amp;eacute;&amp;nbsp;", "&eacute;&nbsp;")
    server.static("/entities.xml", 200, "\n\n" + body, "application/rss+xml")
    server.static("/cut.xml", 200, rss([item(2)])[:-40], "application/rss+xml")
    config = write_config(
        tmp_path,
        [{"url": server.url("/entities.xml"), "name": "entities"}, {"url": server.url("/cut.xml"), "name": "cut"}],
    )

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    assert "entities  1 new, 0 updated, 0 unchanged; the feed's XML uses undefined entities" in result.stdout
    assert "cut       failed: malformed feed XML" in result.stdout
    [post] = (tmp_path / "posts").iterdir()
    assert yaml.safe_load(post.read_text().split("---\n")[1])["title"] == "Café time"


def test_the_same_story_by_guid_in_one_feed_and_by_link_in_another_is_one_file(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/a.xml", rss([item(1, guid="https://Example.com:443/story/1", link="https://example.com/story/1")]))
    server.feed("/b.xml", rss([item(1, guid="")]))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0
    assert names(tmp_path / "posts") == ["story-number-1-about-things.md"]


def test_an_edited_feed_url_keeps_its_entries_when_the_name_stays(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/old.xml", rss([item(1, guid="1"), item(2, guid="2")]))
    server.feed("/new.xml", rss([item(1, guid="1"), item(2, guid="2")]))
    config = write_config(tmp_path, [{"url": server.url("/old.xml"), "name": "news"}])
    run_cli("--config", config, "run")
    before = snapshot(tmp_path / "posts")

    write_config(tmp_path, [{"url": server.url("/new.xml"), "name": "news"}])
    result = run_cli("--config", config, "run")

    assert result.returncode == 0
    assert "0 new, 2 updated, 0 unchanged" in result.stdout  # the same files, now naming the new source
    assert sorted(snapshot(tmp_path / "posts")) == sorted(before)
    for post in (tmp_path / "posts").iterdir():
        assert yaml.safe_load(post.read_text().split("---\n")[1])["source"] == server.url("/new.xml")
    assert stored(tmp_path, "SELECT url FROM feeds") == [(server.url("/new.xml"),)]


def test_a_run_interrupted_after_claiming_files_is_completed_without_duplicates(
    tmp_path: Path, server: FeedServer
) -> None:
    """The store claims a file before writing it; a claim left by a crash is honoured by the next run."""
    server.feed("/a.xml", rss([item(1), item(2), item(3)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    run_cli("--config", config, "run")
    posts = tmp_path / "posts"
    # as a crash leaves it: entry 1 claimed but never written, entry 2 claimed and
    # written with other bytes (a date-less entry rendered on another day), neither confirmed
    (posts / "story-number-1-about-things.md").unlink()
    (posts / "story-number-2-about-things.md").write_text("---\ntitle: \"stale\"\n---\n")
    stored(
        tmp_path,
        "UPDATE entries SET state = 'pending', written_hash = NULL"
        " WHERE path LIKE 'story-number-1%' OR path LIKE 'story-number-2%'",
    )
    stored(tmp_path, "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL, entry_sources = NULL")

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert "2 new, 0 updated, 1 unchanged" in result.stdout
    assert names(posts) == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]
    assert "Body of story 2" in (posts / "story-number-2-about-things.md").read_text()
    assert stored(tmp_path, "SELECT DISTINCT state FROM entries") == [("written",)]


def test_a_directory_in_the_way_of_a_name_is_stepped_around(tmp_path: Path, server: FeedServer) -> None:
    (tmp_path / "posts" / "story-number-1-about-things.md").mkdir(parents=True)
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/a.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    [written] = [p for p in (tmp_path / "posts").iterdir() if p.is_file()]
    assert written.name.startswith("story-number-1-about-things-")


def test_a_site_moved_whole_keeps_working(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    site = tmp_path / "site"
    site.mkdir()
    config = write_config(site, [server.url("/a.xml")])
    assert run_cli("--config", config, "run").returncode == 0

    moved = tmp_path / "moved"
    site.rename(moved)
    server.feed("/a.xml", rss([item(2), item(1)]))
    result = run_cli("--config", moved / "feeds.yaml", "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 new, 0 updated, 1 unchanged" in result.stdout
    assert names(moved / "posts") == [f"story-number-{n}-about-things.md" for n in (1, 2)]


def test_a_killed_runs_temporary_file_does_not_block_a_later_write(tmp_path: Path, monkeypatch) -> None:
    """A run killed mid-write leaves a hidden temporary file named after its process id.

    A later process with the same id (ids come round, and a container's are
    small) must still write that file: the temporary name is taken, so
    another is used.
    """
    import itertools
    import os

    from ingest.shell import write

    target = tmp_path / "story.md"
    leftover = tmp_path / f".story.md.{os.getpid()}.7.tmp"
    leftover.write_text("half a file")
    monkeypatch.setattr(write, "_temp_names", itertools.count(7))

    write.write_atomic(target, "the whole file\n")

    assert target.read_text() == "the whole file\n"
    assert leftover.read_text() == "half a file"  # not ours to remove: it may belong to a running writer


# The real CLI, but the process dies (SIGKILL) the moment it would record its
# written, flushed files in the store: a crash between writing and recording.
DIE_BEFORE_RECORDING = """
import os, signal, sys
from ingest.faces.cli import main
from ingest.shell.store import Store

def dying(self, identities, now):
    os.kill(os.getpid(), signal.SIGKILL)

Store.confirm = dying
sys.exit(main(sys.argv[1:]))
"""


def killed_before_recording(config: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DIE_BEFORE_RECORDING, "--config", str(config), "run"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


def test_a_crash_between_writing_files_and_recording_them_is_repaired_by_the_next_run(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    posts = tmp_path / "posts"

    killed_before_recording(config)
    assert names(posts) == ["story-number-1-about-things.md", "story-number-2-about-things.md"]
    assert stored(tmp_path, "SELECT DISTINCT state FROM entries") == [("pending",)]
    result = run_cli("--config", config, "run")
    assert result.returncode == 0 and "2 new" in result.stdout, result.stdout
    assert stored(tmp_path, "SELECT DISTINCT state FROM entries") == [("written",)]

    # an upstream change, written but not recorded, then changed again upstream
    server.feed("/a.xml", rss([item(1, description="Second version."), item(2)]))
    killed_before_recording(config)
    assert "Second version." in (posts / "story-number-1-about-things.md").read_text()
    server.feed("/a.xml", rss([item(1, description="Third version."), item(2)]))
    result = run_cli("--config", config, "run")

    assert result.returncode == 0 and "0 new, 1 updated, 1 unchanged" in result.stdout, result.stdout
    assert "your edits" not in result.stdout  # the crashed run's file was ingest's own, not an edit
    assert "Third version." in (posts / "story-number-1-about-things.md").read_text()
    assert names(posts) == ["story-number-1-about-things.md", "story-number-2-about-things.md"]
    assert stored(tmp_path, "SELECT DISTINCT state FROM entries") == [("written",)]


DIE_AFTER_MARKING = """
import os, signal, sys
from ingest.faces.cli import main
from ingest.shell.store import Store

marking = Store.hide

def marked_then_dying(self, *args, **kwargs):
    marked = marking(self, *args, **kwargs)
    if marked:
        os.kill(os.getpid(), signal.SIGKILL)
    return marked

Store.hide = marked_then_dying
sys.exit(main(sys.argv[1:]))
"""


def old_and_fresh() -> list[dict[str, str]]:
    fresh = formatdate(time.time() - 86400, usegmt=True)
    return [
        item(1, title="Old one", pubDate="Mon, 06 Jan 2020 10:00:00 +0000"),
        item(2, title="Old two", pubDate="Tue, 07 Jan 2020 10:00:00 +0000"),
        item(3, title="Fresh one", pubDate=fresh),
    ]


def prune_killed_after_marking(tmp_path: Path, server: FeedServer) -> Path:
    """A run, then a prune killed once its entries are marked and before any file is removed."""
    server.feed("/a.xml", rss(old_and_fresh()))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    assert run_cli("--config", config, "run").returncode == 0
    proc = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_MARKING, "--config", str(config), "prune", "--older-than", "365d"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    posts = tmp_path / "posts"
    assert names(posts) == ["fresh-one.md", "old-one.md", "old-two.md"]  # marked, not yet removed
    assert stored(tmp_path, "SELECT count(*) FROM entries WHERE removing IS NOT NULL") == [(2,)]
    return config


def test_a_prune_killed_between_marking_and_removing_is_finished_by_the_next_run(
    tmp_path: Path, server: FeedServer
) -> None:
    config = prune_killed_after_marking(tmp_path, server)
    posts = tmp_path / "posts"
    edited = posts / "old-two.md"
    edited.write_text(edited.read_text() + "\nA note of my own.\n")  # the owner edits one meanwhile

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stderr
    assert "finished 2 removal(s) a stopped run had begun: 1 file(s) removed, 1 edited file(s) kept" in result.stderr
    assert names(posts) == ["fresh-one.md", "old-two.md"]
    assert "A note of my own." in edited.read_text()
    assert stored(tmp_path, "SELECT count(*) FROM entries WHERE removing IS NOT NULL") == [(0,)]
    assert stored(tmp_path, "SELECT state FROM entries WHERE path = 'old-two.md'") == [("written",)]
    again = run_cli("--config", config, "run")  # the feed still has the pruned entry: it stays away
    assert again.returncode == 0 and "finished" not in again.stderr, again.stderr
    assert names(posts) == ["fresh-one.md", "old-two.md"]


def test_a_prune_killed_between_marking_and_removing_is_finished_when_the_daemon_starts(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:  # type: ignore[no-untyped-def]
    config = prune_killed_after_marking(tmp_path, server)
    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="a")
    assert names(tmp_path / "posts") == ["fresh-one.md"]
    assert stored(tmp_path, "SELECT count(*) FROM entries WHERE removing IS NOT NULL") == [(0,)]
