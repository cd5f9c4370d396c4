"""``--json``: one object per line, parsed here as a script would, with the documented fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import SCHEMA, FeedServer, item, json_lines, rss, run_cli, write_config

RUN_FEED_KEYS = {
    "type", "command", "version", "name", "url", "status", "new", "updated", "unchanged", "skipped", "filtered", "removed",
    "pruned", "kept_edits", "merged_edits", "held_edits", "kept_body_edits", "admitted", "error", "failure", "until", "notes",
    "images_failed", "quiet", "encoding", "untrusted_dates", "held_dates", "same_as",
    "extracted", "extract_failed",
}
RUN_SUMMARY_KEYS = {
    "type", "command", "version", "feeds", "ok", "failed", "deferred", "retired", "failing", "new", "updated", "filtered",
    "removed", "pruned", "admitted", "images_failed", "quiet", "extracted", "extract_failed", "output", "dry_run", "exit_code", "hook", "webhooks",
}


def lines(stdout: str) -> list[dict[str, Any]]:
    return json_lines(stdout)


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
    assert summary == {"type": "summary", "command": "feeds", "version": 2, "feeds": 2,
                       "states": {"ok": 1, "disabled": 1}, "exit_code": 0}
    assert a["node"] is None and a["lease_until"] is None  # a cluster's fields, present on SQLite too


def test_rebuild_reports_as_json(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    assert run_cli("--config", config, "run").returncode == 0
    config.write_text(config.read_text().replace("name: a", "name: a\n  exclude: ['/number 2/']"))
    done = run_cli("--json", "--config", config, "rebuild")
    assert done.returncode == 0, done.stderr
    feed, summary = lines(done.stdout)
    assert feed == {"type": "feed", "command": "rebuild", "version": 2, "name": "a", "written": [],
                    "removed": ["story-number-2-about-things.md"], "held_edits": []}
    assert summary["type"] == "summary" and summary["command"] == "rebuild"
    assert (summary["unchanged"], summary["removed"], summary["written"], summary["exit_code"]) == (2, 1, 0, 0)


def test_json_is_refused_where_it_is_not_offered(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["https://example.org/feed"])
    refused = run_cli("--json", "--config", config, "reset", "example")
    assert refused.returncode == 2 and "--json is not an option of 'reset'" in refused.stderr


def test_the_schema_names_every_key_of_every_object_and_every_command() -> None:
    from ingest.faces.cli import JSON_COMMANDS
    from ingest.faces.jsonout import SCHEMA as PACKAGED
    from ingest.faces.jsonout import VERSION

    assert json.loads(PACKAGED.read_text()) == SCHEMA  # the file the package ships is the one the tests use
    objects = {name: d for name, d in SCHEMA["$defs"].items() if "." in name}
    assert [ref["$ref"].removeprefix("#/$defs/") for ref in SCHEMA["oneOf"]] == list(objects)
    for name, definition in objects.items():
        properties = definition["properties"]
        assert list(properties)[:3] == ["type", "command", "version"], name
        assert definition["required"] == list(properties), f"{name}: every key is always present"
        assert definition["additionalProperties"] is False, name
        command, kind = properties["command"]["const"], properties["type"]["const"]
        assert name == f"{command.replace(' ', '-')}.{kind}"
    assert SCHEMA["$defs"]["version"]["const"] == VERSION
    commands = {d["properties"]["command"]["const"] for d in objects.values()}
    assert commands == set(JSON_COMMANDS) | {"opml import"}
    assert all(f"{command.replace(' ', '-')}.{kind}" in objects for command in commands for kind in ("feed", "summary"))


def test_a_line_that_strays_from_the_schema_is_caught() -> None:
    good = {"type": "summary", "command": "feeds", "version": 2, "feeds": 0, "states": {}, "exit_code": 0}
    assert json_lines(json.dumps(good)) == [good]
    for bad in ({**good, "extra": 1}, {k: v for k, v in good.items() if k != "exit_code"}, {**good, "version": 1},
                {**good, "type": "feed"}):
        try:
            json_lines(json.dumps(bad))
        except AssertionError as exc:
            assert "does not match the schema" in str(exc)
        else:
            raise AssertionError(f"accepted {bad}")


def test_prune_discover_and_opml_import_print_the_same_shape(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    server.static("/page", 200, f'<link rel="alternate" type="application/rss+xml" href="{server.url("/a.xml")}">',
                  "text/html")
    server.static("/nothing", 200, "<p>no feeds here</p>", "text/html")
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    assert run_cli("--config", config, "run").returncode == 0

    pruned = run_cli("--json", "--config", config, "prune", "--older-than", "1d", "--dry-run")
    assert pruned.returncode == 0, pruned.stderr
    assert [(r["type"], r["command"]) for r in lines(pruned.stdout)] == [
        ("feed", "prune"), ("summary", "prune")]

    found = run_cli("--json", "discover", server.url("/page"))
    assert found.returncode == 0, found.stderr
    feed, summary = lines(found.stdout)
    assert (feed["url"], feed["format"], summary["feeds"]) == (server.url("/a.xml"), "rss", 1)
    none = run_cli("--json", "discover", server.url("/nothing"))
    assert none.returncode == 1 and none.stderr
    (failed,) = lines(none.stdout)  # a script hears of the failure on stdout too
    assert failed["feeds"] == 0 and failed["exit_code"] == 1 and failed["error"]

    opml = tmp_path / "subs.opml"
    opml.write_text(f'<opml version="2.0"><body><outline text="a" xmlUrl="{server.url("/a.xml")}"/>'
                    '<outline text="b" type="rss" xmlUrl="https://b.example/feed"/></body></opml>')
    imported = run_cli("--json", "--config", config, "opml", "import", opml)
    assert imported.returncode == 0, imported.stderr
    exists, new, summary = lines(imported.stdout)
    assert (exists["status"], new["status"], new["outline_type"]) == ("exists", "new", "rss")
    assert (summary["new"], summary["exists"], summary["exit_code"]) == (1, 1, 0)
