"""`ingest run` end to end: a real loopback server, a real store, the real CLI."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from conftest import FeedServer, Response, item, rss, run_cli, snapshot, wait_until, waits_for_a_lock, write_config


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


def posts(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "posts"
    return {p.name: p for p in sorted(directory.iterdir())} if directory.exists() else {}


def test_first_run_writes_one_file_per_entry_and_second_run_changes_nothing(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/a.xml", rss([item(n) for n in range(1, 6)]))
    config = write_config(tmp_path, [server.url("/a.xml")])

    first = run_cli("--config", config, "run")
    assert first.returncode == 0, first.stderr
    assert "5 new, 0 updated, 0 unchanged" in first.stdout
    files = posts(tmp_path)
    assert sorted(files) == [f"story-number-{n}-about-things.md" for n in range(1, 6)]
    assert front_matter(files["story-number-3-about-things.md"])["link"] == "https://example.com/story/3"
    before = snapshot(tmp_path / "posts")

    time.sleep(0.01)  # an accidental rewrite would show in mtime_ns
    second = run_cli("--config", config, "run")

    assert second.returncode == 0, second.stderr
    assert "unchanged (not modified)" in second.stdout
    assert snapshot(tmp_path / "posts") == before
    conditional = server.requests_to("/a.xml")[1].headers
    assert conditional["if-none-match"].startswith('"/a.xml-0')
    assert "if-modified-since" in conditional


def test_unchanged_feed_without_validators_rewrites_nothing(tmp_path: Path, server: FeedServer) -> None:
    server.static("/plain.xml", 200, rss([item(1), item(2)]), "application/rss+xml")
    config = write_config(tmp_path, [server.url("/plain.xml")])
    assert run_cli("--config", config, "run").returncode == 0
    before = snapshot(tmp_path / "posts")

    same_bytes = run_cli("--config", config, "run")
    server.static("/plain.xml", 200, rss([item(1), item(2)], title="Renamed channel"), "application/rss+xml")
    same_entries = run_cli("--config", config, "run")

    assert "unchanged (same content)" in same_bytes.stdout
    assert "0 new, 0 updated, 2 unchanged" in same_entries.stdout
    assert snapshot(tmp_path / "posts") == before


def test_added_item_yields_exactly_one_new_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    run_cli("--config", config, "run")
    before = snapshot(tmp_path / "posts")

    server.feed("/a.xml", rss([item(3), item(1), item(2)]))
    result = run_cli("--config", config, "run")

    assert "1 new, 0 updated, 2 unchanged" in result.stdout
    after = snapshot(tmp_path / "posts")
    assert set(after) - set(before) == {"story-number-3-about-things.md"}
    assert {k: after[k] for k in before} == before


def test_edited_item_rewrites_only_its_own_file_under_the_same_name(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    run_cli("--config", config, "run")
    before = snapshot(tmp_path / "posts")

    edited = item(2, title="Story number 2 about other things", content="<p>Corrected body.</p>")
    server.feed("/a.xml", rss([item(1), edited]))
    result = run_cli("--config", config, "run")

    assert "0 new, 1 updated, 1 unchanged" in result.stdout
    after = snapshot(tmp_path / "posts")
    assert set(after) == set(before)
    name = "story-number-2-about-things.md"
    assert after["story-number-1-about-things.md"] == before["story-number-1-about-things.md"]
    assert after[name][0] != before[name][0]
    data = front_matter(tmp_path / "posts" / name)
    assert data["title"] == "Story number 2 about other things"
    assert data["slug"] == "story-number-2-about-things"  # the name, and so the URL, is kept
    assert (tmp_path / "posts" / name).read_text().endswith("<p>Corrected body.</p>\n")


def test_deleted_file_stays_deleted_even_when_the_entry_changes(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    run_cli("--config", config, "run")
    (tmp_path / "posts" / "story-number-1-about-things.md").unlink()

    run_cli("--config", config, "run")  # 304
    server.feed("/a.xml", rss([item(1, content="<p>new</p>"), item(2)]))
    result = run_cli("--config", config, "run")

    assert result.returncode == 0
    assert sorted(posts(tmp_path)) == ["story-number-2-about-things.md"]
    assert "1 skipped" in result.stdout


def test_same_entry_in_two_feeds_yields_one_file(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    server.feed("/b.xml", rss([item(2), item(3)]))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0
    assert sorted(posts(tmp_path)) == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]
    again = run_cli("--config", config, "run")
    assert sorted(posts(tmp_path)) == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]
    assert "2 feeds: 2 ok, 0 failed; wrote 0 new and 0 updated" in again.stdout


def test_same_title_entries_get_two_distinct_stable_files(tmp_path: Path, server: FeedServer) -> None:
    twins = [item(1, title="Breaking: same words"), item(2, title="Breaking: same words")]
    server.feed("/a.xml", rss(twins))
    config = write_config(tmp_path, [server.url("/a.xml")])

    run_cli("--config", config, "run")
    names = sorted(posts(tmp_path))

    assert len(names) == 2
    assert "breaking-same-words.md" in names
    other = next(n for n in names if n != "breaking-same-words.md")
    assert other.startswith("breaking-same-words-")
    links = {front_matter(posts(tmp_path)[n])["link"] for n in names}
    assert links == {"https://example.com/story/1", "https://example.com/story/2"}
    for name in names:
        assert front_matter(posts(tmp_path)[name])["slug"] == name[:-3]

    server.feed("/a.xml", rss(list(reversed(twins))))
    run_cli("--config", config, "run")
    assert sorted(posts(tmp_path)) == names


def test_a_user_file_with_the_same_name_is_never_overwritten(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/a.xml")])
    (tmp_path / "posts").mkdir()
    mine = tmp_path / "posts" / "story-number-1-about-things.md"
    mine.write_text("my own page\n")

    run_cli("--config", config, "run")

    assert mine.read_text() == "my own page\n"
    assert len(posts(tmp_path)) == 2


def test_each_broken_feed_fails_alone_with_a_clear_line(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/good.xml", rss([item(1)]))
    server.static("/error.xml", 500, "boom")
    server.static("/html.xml", 200, "<html><head><title>Hi</title></head><body>Welcome</body></html>", "text/html")
    server.static("/broken.xml", 200, '<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</tit', "text/xml")
    feeds = [
        {"url": server.url("/good.xml"), "name": "good"},
        {"url": server.url("/error.xml"), "name": "error"},
        {"url": server.url("/missing.xml"), "name": "missing"},
        {"url": server.url("/html.xml"), "name": "html"},
        {"url": server.url("/broken.xml"), "name": "broken"},
    ]
    config = write_config(tmp_path, feeds)

    result = run_cli("--config", config, "run")

    assert result.returncode == 1
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line[0].isdigit()}
    assert "1 new" in lines["good"]
    assert "failed: HTTP 500" in lines["error"] and server.url("/error.xml") in lines["error"]
    assert "failed: HTTP 404" in lines["missing"]
    assert "failed: not a feed (got text/html" in lines["html"]
    assert "failed: malformed feed XML: line 1" in lines["broken"]
    assert "5 feeds: 1 ok, 4 failed" in result.stdout
    assert list(posts(tmp_path)) == ["story-number-1-about-things.md"]
    assert "Traceback" not in result.stdout + result.stderr
    db = sqlite3.connect(tmp_path / "state" / "ingest.sqlite3")
    errors = dict(db.execute("SELECT name, last_error FROM feeds"))
    assert errors["good"] is None and "HTTP 500" in errors["error"]


def test_unreachable_host_and_missing_file_fail_clearly(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        [
            {"url": "http://127.0.0.1:9/feed.xml", "name": "closed"},
            {"url": (tmp_path / "nope.xml").as_uri(), "name": "nofile"},
        ],
    )
    result = run_cli("--config", config, "run")
    assert result.returncode == 1
    assert "closed  failed: cannot connect" in result.stdout
    assert f"nofile  failed: file not found: {tmp_path / 'nope.xml'}" in result.stdout


def test_file_feed_and_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    feed = tmp_path / "site" / "feed.xml"
    feed.parent.mkdir()
    feed.write_text(rss([item(1)]))
    config = tmp_path / "site" / "feeds.yaml"
    config.write_text(f"output: data/posts\nstore: data/ingest.sqlite3\nfeeds:\n  - url: {feed.as_uri()}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = run_cli("--config", config, "run", cwd=elsewhere)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "data" / "posts" / "story-number-1-about-things.md").exists()
    assert (tmp_path / "site" / "data" / "ingest.sqlite3").exists()
    assert list(elsewhere.iterdir()) == []


def test_config_comes_from_the_environment_variable(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(rss([item(1)]))
    config = write_config(tmp_path, [feed.as_uri()])
    result = run_cli("run", cwd=tmp_path / "..", env={"INGEST_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert len(posts(tmp_path)) == 1


def test_feed_option_limits_the_run(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    config = write_config(
        tmp_path, [{"url": server.url("/a.xml"), "name": "a"}, {"url": server.url("/b.xml"), "name": "b"}]
    )
    result = run_cli("--config", config, "run", "--feed", "b")
    assert result.returncode == 0
    assert list(posts(tmp_path)) == ["story-number-2-about-things.md"]
    assert server.requests_to("/a.xml") == []

    unknown = run_cli("--config", config, "run", "--feed", "c")
    assert unknown.returncode == 2
    assert "no feed named c" in unknown.stderr


def test_disabled_feed_is_skipped(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    config = write_config(
        tmp_path, [{"url": server.url("/a.xml"), "name": "a"}, {"url": server.url("/b.xml"), "enabled": False}]
    )
    assert run_cli("--config", config, "run").returncode == 0
    assert server.requests_to("/b.xml") == []


def test_dry_run_writes_nothing_and_stores_nothing(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [server.url("/a.xml")])

    result = run_cli("--config", config, "run", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "would write" in result.stdout and "story-number-1-about-things.md" in result.stdout
    assert not (tmp_path / "posts").exists()
    assert not (tmp_path / "state").exists()

    real = run_cli("--config", config, "run")
    assert "2 new" in real.stdout  # the dry run did not store validators
    assert server.requests_to("/a.xml")[-1].headers.get("if-none-match") is None


def test_two_runs_at_once_never_duplicate(tmp_path: Path, server: FeedServer) -> None:
    slow_body = rss([item(n) for n in range(1, 4)]).encode()
    answer = threading.Event()

    def slow(_request):
        answer.wait(60)  # the run asking holds the store until the test lets the feed arrive
        return Response(200, slow_body, {"Content-Type": "application/rss+xml"})

    server.route("/slow.xml", slow)
    config = write_config(tmp_path, [server.url("/slow.xml")])
    command = [sys.executable, "-m", "ingest", "--config", str(config), "run"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: server.requests_to("/slow.xml") or first.poll() is not None, "the first run to ask the feed")
    second = run_cli("--config", config, "run")
    answer.set()
    first_out, _ = first.communicate(timeout=60)

    assert first.returncode == 0
    assert second.returncode == 75
    assert "another ingest process" in second.stderr and "--wait" in second.stderr
    assert len(posts(tmp_path)) == 3

    # two runs that wait for a third, and then for each other
    answer.clear()
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: len(server.requests_to("/slow.xml")) == 2 or holder.poll() is not None, "a run to hold the store")
    waiting = [subprocess.Popen(command + ["--wait"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    wait_until(lambda: all(waits_for_a_lock(run.pid) or run.poll() is not None for run in waiting), "both to wait")
    assert [run.poll() for run in waiting] == [None, None]
    answer.set()
    for run in (holder, *waiting):
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, out + err
    assert len(posts(tmp_path)) == 3


def test_version_and_help() -> None:
    from ingest import __version__

    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"ingest {__version__}"
    helped = run_cli("--help")
    assert helped.returncode == 0 and "run" in helped.stdout
    run_help = run_cli("run", "--help")
    assert "--dry-run" in run_help.stdout and "--feed" in run_help.stdout


HOSTILE_TITLES = [
    'He said "no": #1 reason',
    "'Quoted' — and: colons",
    "Emoji 🎉👩‍👩‍👧 party",
    "中文标题 и кириллица",
    "index",
    "_index",
    "🎉🎉🎉",
    "Line one\nline two\ttabbed",
    "- dash: [brackets] {braces} & ampersand < less",
    "x" * 400,
]


def test_hostile_titles_become_valid_files_with_safe_names(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/h.xml", rss([item(n, title=t) for n, t in enumerate(HOSTILE_TITLES, 1)]))
    config = write_config(tmp_path, [server.url("/h.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    files = posts(tmp_path)
    assert len(files) == len(HOSTILE_TITLES)
    titles = {}
    for name, path in files.items():
        data = front_matter(path)
        assert data["slug"] + ".md" == name
        assert name not in ("index.md", "_index.md") and len(name) <= 200
        titles[data["link"]] = data["title"]
    for n, title in enumerate(HOSTILE_TITLES, 1):
        assert titles[f"https://example.com/story/{n}"] == " ".join(title.split())


def test_a_changed_feed_setting_reaches_existing_files_without_new_content(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/a.xml", rss([item(1), item(2)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])
    run_cli("--config", config, "run")
    assert "unchanged (not modified)" in run_cli("--config", config, "run").stdout

    write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a", "categories": ["world"], "tags": 1}])
    result = run_cli("--config", config, "run")

    assert "0 new, 2 updated, 0 unchanged" in result.stdout
    assert server.requests_to("/a.xml")[-1].headers.get("if-none-match") is None  # asked afresh
    for path in posts(tmp_path).values():
        data = front_matter(path)
        assert data["categories"] == ["world"] and len(data["tags"]) == 1
    assert "unchanged (not modified)" in run_cli("--config", config, "run").stdout
