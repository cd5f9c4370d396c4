"""410 Gone retires a feed until the user resets it; ``ingest feeds`` shows every feed's state."""

from __future__ import annotations

from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, stored_feed, write_config

STORE = "state/ingest.sqlite3"


def test_410_retires_the_feed_until_reset(tmp_path: Path, server: FeedServer) -> None:
    gone = server.url("/gone")
    server.static("/gone", 410, "gone")
    server.feed("/ok", rss([item(1)]))
    config = write_config(tmp_path, [{"url": gone, "name": "old-blog"}, {"url": server.url("/ok"), "name": "news"}])

    first = run_cli("--config", config, "run")
    assert first.returncode == 1, first.stderr
    assert "old-blog  failed: HTTP 410 Gone" in first.stdout
    assert "feed retired, no more polls until 'ingest reset old-blog'" in first.stdout
    row = stored_feed(tmp_path / STORE, gone)
    assert row["retired_at"] and "HTTP 410 Gone" in row["retired_reason"]
    assert (tmp_path / "posts" / "story-number-1-about-things.md").exists()

    # every later run shows it, does not ask it, and does not fail because of it
    for _ in range(2):
        later = run_cli("--config", config, "run", "--force")
        assert later.returncode == 0, later.stdout + later.stderr
        assert "old-blog  retired since " in later.stdout
        assert "'ingest reset old-blog' to poll it again" in later.stdout
        assert "2 feeds: 1 ok, 0 failed, 1 retired" in later.stdout
    assert len(server.requests_to("/gone")) == 1

    listing = run_cli("--config", config, "feeds")
    assert listing.returncode == 0
    line = next(line for line in listing.stdout.splitlines() if line.startswith("old-blog"))
    assert "retired" in line and "never (until 'ingest reset old-blog')" in line
    assert "retired: " in listing.stdout and "HTTP 410 Gone" in listing.stdout
    news = next(line for line in listing.stdout.splitlines() if line.startswith("news"))
    assert " ok " in news and "next run" in news

    reset = run_cli("--config", config, "reset", "old-blog")
    assert reset.returncode == 0 and "old-blog: reset" in reset.stdout
    assert stored_feed(tmp_path / STORE, gone)["retired_at"] is None

    server.feed("/gone", rss([item(7)]))  # the publisher brought it back
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout
    assert len(server.requests_to("/gone")) == 2
    assert (tmp_path / "posts" / "story-number-7-about-things.md").exists()


def test_feeds_lists_new_and_disabled_feeds_before_any_run(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(
        tmp_path, [{"url": server.url("/a"), "name": "a"}, {"url": server.url("/b"), "name": "b", "enabled": False}]
    )

    listing = run_cli("--config", config, "feeds")

    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "LAST", "SUCCESS", "ERRORS", "NEXT", "ATTEMPT"]
    assert next(line for line in lines if line.startswith("a ")).split() == ["a", "new", "never", "0", "next", "run"]
    assert next(line for line in lines if line.startswith("b ")).split()[:2] == ["b", "disabled"]
    assert not (tmp_path / STORE).exists()  # listing never creates a store


def test_reset_of_an_unknown_name_is_a_usage_error(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, [{"url": server.url("/a"), "name": "a"}])

    result = run_cli("--config", config, "reset", "nope")

    assert result.returncode == 2
    assert "no feed named nope" in result.stderr
