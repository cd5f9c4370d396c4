"""``--json``: one object per line, parsed here as a script would, with the documented fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import FeedServer, item, rss, run_cli, write_config

RUN_FEED_KEYS = {
    "type", "command", "name", "url", "status", "new", "updated", "unchanged", "skipped", "filtered", "removed",
    "pruned", "kept_edits", "merged_edits", "held_edits", "error", "failure", "until", "notes", "quiet",
}
RUN_SUMMARY_KEYS = {
    "type", "command", "feeds", "ok", "failed", "deferred", "retired", "failing", "new", "updated", "filtered",
    "removed", "pruned", "quiet", "output", "dry_run", "exit_code", "hook", "webhooks",
}


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_run_prints_one_object_per_feed_then_a_summary(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/good.xml", rss([item(1), item(2, title="Sponsored thing")]))
    server.static("/bad.xml", 500, "oops")
    config = write_config(tmp_path, [
        {"url": server.url("/good.xml"), "name": "good", "exclude": ["sponsored"]},
        {"url": server.url("/bad.xml"), "name": "bad"},
    ])
    run = run_cli("--json", "--config", config, "run")
    assert run.returncode == 1  # as without --json: a feed failed
    records = lines(run.stdout)
    assert [r["type"] for r in records] == ["feed", "feed", "summary"]
    feeds = {r["name"]: r for r in records[:2]}
    assert all(set(r) == RUN_FEED_KEYS for r in feeds.values())
    assert feeds["good"]["status"] == "ok" and feeds["good"]["new"] == ["story-number-1-about-things.md"]
    assert feeds["good"]["filtered"] == 1 and feeds["good"]["error"] is None
    assert feeds["bad"]["status"] == "failed" and "HTTP 500" in feeds["bad"]["error"]
    assert feeds["bad"]["failure"] == "http" and feeds["good"]["failure"] is None
    assert feeds["bad"]["until"].endswith("Z")  # the next attempt, in UTC
    summary = records[2]
    assert set(summary) == RUN_SUMMARY_KEYS
    assert (summary["feeds"], summary["ok"], summary["failed"], summary["new"], summary["filtered"]) == (2, 1, 1, 1, 1)
    assert summary["exit_code"] == 1 and summary["dry_run"] is False and summary["hook"] is None
    assert summary["output"] == str((tmp_path / "posts").resolve())

    again = run_cli("--config", config, "run", "--json")  # also accepted after the command
    assert again.returncode == 1
    assert lines(again.stdout)[-1]["new"] == 0


def test_feeds_lists_each_feed_as_json(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [
        {"url": server.url("/a.xml"), "name": "a"},
        {"url": server.url("/b.xml"), "name": "b", "enabled": False},
    ])
    assert run_cli("--config", config, "run").returncode == 0
    shown = run_cli("--config", config, "--json", "feeds")
    assert shown.returncode == 0
    a, b, summary = lines(shown.stdout)
    assert (a["name"], a["state"], a["error_count"], a["next_attempt"]) == ("a", "ok", 0, None)
    assert a["last_success"].endswith("Z") and a["url"] == server.url("/a.xml")
    assert (b["name"], b["state"], b["enabled"], b["last_success"]) == ("b", "disabled", False, None)
    assert summary == {"type": "summary", "command": "feeds", "feeds": 2, "states": {"ok": 1, "disabled": 1}}


def test_rebuild_reports_as_json(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    assert run_cli("--config", config, "run").returncode == 0
    config.write_text(config.read_text().replace("name: a", "name: a\n  exclude: ['/number 2/']"))
    done = run_cli("--json", "--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    feed, summary = lines(done.stdout)
    assert feed == {"type": "feed", "command": "rebuild", "name": "a", "written": [],
                    "removed": ["story-number-2-about-things.md"], "held_edits": []}
    assert summary["type"] == "summary" and summary["command"] == "rebuild"
    assert (summary["unchanged"], summary["removed"], summary["written"], summary["exit_code"]) == (2, 1, 0, 0)


def test_json_is_refused_where_it_is_not_offered(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["https://example.org/feed"])
    refused = run_cli("--json", "--config", config, "reset", "example")
    assert refused.returncode == 2 and "--json is not an option of 'reset'" in refused.stderr
