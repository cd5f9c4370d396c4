"""Retention: ``ingest prune`` and ``keep:``, never bringing a file back, beside a daemon too."""

from __future__ import annotations

import sys
import time
from email.utils import formatdate
from pathlib import Path

from conftest import FeedServer, item, json_lines, rss, run_cli, write_config


def recent(days_ago: float) -> str:
    return formatdate(time.time() - days_ago * 86400, usegmt=True)


def entries() -> list[dict[str, str]]:
    """Two entries from 2020 and two from the last days."""
    return [
        item(1, title="Old one", pubDate="Mon, 06 Jan 2020 10:00:00 +0000"),
        item(2, title="Old two", pubDate="Tue, 07 Jan 2020 10:00:00 +0000"),
        item(3, title="Fresh one", pubDate=recent(2)),
        item(4, title="Fresh two", pubDate=recent(1)),
    ]


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.md"))


HOOK = f"{sys.executable} -c \"import os; open('hook.log', 'a').write(repr(os.environ['INGEST_REMOVED_FILES']) + chr(10))\""


def test_prune_removes_old_files_and_a_run_never_brings_them_back(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(entries()))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news"}], hooks={"after_run": HOOK})
    posts = tmp_path / "posts"
    assert run_cli("--config", config, "run").returncode == 0
    (tmp_path / "hook.log").unlink()

    dry = run_cli("--config", config, "prune", "--older-than", "365d", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "news  would remove 2 files" in dry.stdout and "would remove posts/old-one.md" in dry.stdout
    assert len(names(posts)) == 4 and not (tmp_path / "hook.log").exists()

    pruned = run_cli("--config", config, "prune", "--older-than", "365d", cwd=tmp_path)
    assert pruned.returncode == 0, pruned.stderr
    assert "news  removed 2 files" in pruned.stdout
    assert "  removed posts/old-one.md" in pruned.stdout and "  removed posts/old-two.md" in pruned.stdout
    assert "removed 2 files in posts" in pruned.stdout
    assert names(posts) == ["fresh-one.md", "fresh-two.md"]
    removed = (tmp_path / "hook.log").read_text()
    assert "old-one.md" in removed and "old-two.md" in removed  # the hook heard of the removal

    # the feed still carries them, one of them changed: neither comes back
    changed = entries()
    changed[0]["description"] = "Corrected summary."
    server.feed("/f.xml", rss(changed))
    run = run_cli("--config", config, "run")
    assert run.returncode == 0
    assert "0 new, 0 updated, 3 unchanged, 1 skipped" in run.stdout, run.stdout  # the changed one, read again
    assert names(posts) == ["fresh-one.md", "fresh-two.md"]
    assert run_cli("--config", config, "rebuild").returncode == 0
    assert names(posts) == ["fresh-one.md", "fresh-two.md"]

    nothing = run_cli("--config", config, "prune", "--older-than", "365d")
    assert nothing.returncode == 0 and "removed 0 files" in nothing.stdout


def test_prune_leaves_an_edited_file_and_says_so(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(entries()))
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news"}])
    posts = tmp_path / "posts"
    assert run_cli("--config", config, "run").returncode == 0
    edited = posts / "old-one.md"
    edited.write_text(edited.read_text() + "\nKeep this, it is mine.\n")

    pruned = run_cli("--config", config, "prune", "--older-than", "365d", "--feed", "news")
    assert pruned.returncode == 0
    assert "news  removed 1 file; 1 edited by you, left in place: old-one.md" in pruned.stdout
    assert names(posts) == ["fresh-one.md", "fresh-two.md", "old-one.md"]
    assert edited.read_text().endswith("it is mine.\n")


def test_prune_needs_a_rule(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, [{"url": server.url("/f.xml"), "name": "news"}])
    refused = run_cli("--config", config, "prune")
    assert refused.returncode == 2 and "--older-than" in refused.stderr
    assert run_cli("--config", config, "prune", "--older-than", "soon").returncode == 2
    assert run_cli("--config", config, "prune", "--older-than", "1d", "--feed", "nope").returncode == 2


def test_keep_applies_after_each_run_and_as_prune_without_an_age(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f.xml", rss(entries()))
    feed = {"url": server.url("/f.xml"), "name": "news", "keep": {"days": 365}}
    config = write_config(tmp_path, [feed], hooks={"after_run": HOOK})
    posts = tmp_path / "posts"
    run = run_cli("--config", config, "run", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "4 new, 0 updated, 0 unchanged, 2 pruned (keep)" in run.stdout
    assert names(posts) == ["fresh-one.md", "fresh-two.md"]
    assert "old-one.md" in (tmp_path / "hook.log").read_text()

    config.write_text(config.read_text().replace("days: 365", "max_files: 1"))
    by_keep = run_cli("--config", config, "prune", "--json")
    assert by_keep.returncode == 0, by_keep.stderr
    lines = json_lines(by_keep.stdout)
    assert lines == [
        {"type": "feed", "command": "prune", "version": 2, "name": "news", "removed": ["fresh-one.md"],
         "held_edits": []},
        {"type": "summary", "command": "prune", "version": 2, "removed": 1, "held_edits": 0, "output": str(posts.resolve()),
         "dry_run": False, "exit_code": 0, "hook": lines[1]["hook"]},
    ]
    assert lines[1]["hook"]["ok"] is True
    assert names(posts) == ["fresh-two.md"]


def test_prune_beside_a_running_daemon(tmp_path: Path, server: FeedServer, start_daemon) -> None:  # type: ignore[no-untyped-def]
    server.feed("/f.xml", rss(entries()))
    feed = {"url": server.url("/f.xml"), "name": "news", "interval": "0.3s"}
    config = write_config(tmp_path, [feed])
    posts = tmp_path / "posts"
    daemon = start_daemon(config)
    daemon.wait_event("poll", feed="news", new=4)
    locked = run_cli("--config", config, "run")
    assert locked.returncode == 75  # the daemon holds the store

    pruned = run_cli("--config", config, "prune", "--older-than", "365d")
    assert pruned.returncode == 0, pruned.stderr
    assert "news  removed 2 files" in pruned.stdout
    changed = entries()
    changed[1]["description"] = "Changed upstream after the prune."
    server.feed("/f.xml", rss(changed))  # the daemon reads the feed again and meets the pruned entries
    polls = len(daemon.events("poll"))
    daemon.wait_event("poll", count=polls + 2, feed="news")
    # the changed entry was read again and skipped as pruned
    assert any(e["skipped"] == 1 and e["new"] == e["updated"] == 0 for e in daemon.events("poll", feed="news")), \
        daemon.log()
    assert names(posts) == ["fresh-one.md", "fresh-two.md"]


def test_the_daemon_applies_keep_and_tells_the_hook(tmp_path: Path, server: FeedServer, start_daemon) -> None:  # type: ignore[no-untyped-def]
    server.feed("/f.xml", rss(entries()))
    feed = {"url": server.url("/f.xml"), "name": "news", "interval": "1h", "keep": {"max_files": 3}}
    config = write_config(tmp_path, [feed], hooks={"after_run": HOOK})
    daemon = start_daemon(config)
    poll = daemon.wait_event("poll", feed="news")[0]
    assert poll["new"] == 4 and poll["pruned"] == ["old-one.md"]
    daemon.wait_event("hook")
    assert "old-one.md" in (tmp_path / "hook.log").read_text()
    assert names(tmp_path / "posts") == ["fresh-one.md", "fresh-two.md", "old-two.md"]
