"""A fixed feed is asked at once, and a run exits 1 while any feed is still failing."""

from __future__ import annotations

from pathlib import Path

from conftest import FeedServer, Request, Response, item, rss, run_cli, write_config


def test_a_fixed_url_is_asked_at_once_instead_of_waiting_out_the_old_urls_backoff(
    tmp_path: Path, server: FeedServer
) -> None:
    server.feed("/feed.xml", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/fede.xml"), "name": "blog"}])

    typo = run_cli("--config", config, "run")
    assert typo.returncode == 1 and "blog  failed: HTTP 404" in typo.stdout
    waiting = run_cli("--config", config, "run")
    assert waiting.returncode == 1, waiting.stdout  # still failing while it backs off
    assert server.url("/fede.xml") in waiting.stdout  # the message quotes the URL that failed
    assert "'ingest run --force' asks it now, 'ingest reset blog' forgets the failures" in waiting.stdout
    assert "1 still failing" in waiting.stdout

    write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "blog"}])  # the typo fixed
    fixed = run_cli("--config", config, "run")

    assert fixed.returncode == 0, fixed.stdout
    assert "blog  1 new" in fixed.stdout and "still failing" not in fixed.stdout
    assert (tmp_path / "posts" / "story-number-1-about-things.md").exists()
    feeds = run_cli("--config", config, "feeds")
    assert "blog" in feeds.stdout and "last error" not in feeds.stdout


def test_new_credentials_are_tried_at_once(tmp_path: Path, server: FeedServer) -> None:
    def private(request: Request) -> Response:
        if request.headers.get("x-api-key") != "right":
            return Response(403, b"forbidden")
        return Response(200, rss([item(1)]).encode(), {"Content-Type": "application/rss+xml"})

    server.route("/private.xml", private)
    feed = {"url": server.url("/private.xml"), "name": "members", "headers": {"X-Api-Key": "wrong"}}
    config = write_config(tmp_path, [feed])
    assert run_cli("--config", config, "run").returncode == 1
    assert run_cli("--config", config, "run").returncode == 1  # backing off: not asked again
    assert len(server.requests_to("/private.xml")) == 1

    write_config(tmp_path, [{**feed, "headers": {"X-Api-Key": "right"}}])
    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert len(server.requests_to("/private.xml")) == 2 and "members  1 new" in result.stdout


def test_every_feed_down_is_exit_1_on_every_run_until_one_recovers(tmp_path: Path, server: FeedServer) -> None:
    server.static("/a.xml", 500, "down")
    server.static("/b.xml", 503, "down")
    server.feed("/ok.xml", rss([item(1)]))
    config = write_config(tmp_path, [
        {"url": server.url("/a.xml"), "name": "a"},
        {"url": server.url("/b.xml"), "name": "b"},
        {"url": server.url("/ok.xml"), "name": "ok"},
    ])

    first = run_cli("--config", config, "run")
    assert first.returncode == 1 and "3 feeds: 1 ok, 2 failed; 2 still failing" in first.stdout
    second = run_cli("--config", config, "run")  # both wait out their backoff: not asked, still failing
    assert second.returncode == 1, second.stdout
    assert "3 feeds: 1 ok, 0 failed, 2 deferred; 2 still failing" in second.stdout
    assert [len(server.requests_to(p)) for p in ("/a.xml", "/b.xml")] == [1, 1]

    server.feed("/a.xml", rss([item(2)]))
    server.feed("/b.xml", rss([item(3)]))
    recovered = run_cli("--config", config, "run", "--force")
    assert recovered.returncode == 0 and "still failing" not in recovered.stdout


def test_a_feed_the_server_asked_to_wait_is_not_failing(tmp_path: Path, server: FeedServer) -> None:
    server.route("/busy.xml", lambda _r: Response(429, b"slow down", {"Retry-After": "3600"}))
    config = write_config(tmp_path, [{"url": server.url("/busy.xml"), "name": "busy"}])

    assert run_cli("--config", config, "run").returncode == 0
    again = run_cli("--config", config, "run")

    assert again.returncode == 0 and "busy  deferred until" in again.stdout
    assert "still failing" not in again.stdout


def test_an_output_or_store_path_that_cannot_be_used_is_a_config_error(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed.xml", rss([item(1)]))
    (tmp_path / "posts").write_text("a file where the output directory should be")
    config = write_config(tmp_path, [server.url("/feed.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 2, result.stderr
    assert f"config error: {config}:1: output: cannot use {tmp_path / 'posts'} as the output directory" in result.stderr
    assert "is a file, not a directory" in result.stderr
    assert server.requests == []  # nothing was fetched

    (tmp_path / "posts").unlink()
    (tmp_path / "state").write_text("a file where the store's directory should be")
    result = run_cli("--config", config, "run", "--dry-run")
    assert result.returncode == 2
    assert f"{config}:2: store: cannot use {tmp_path / 'state'} as the store's directory" in result.stderr

    (tmp_path / "state").unlink()
    (tmp_path / "state" / "ingest.sqlite3").mkdir(parents=True)
    result = run_cli("--config", config, "run")
    assert result.returncode == 2 and "store: " in result.stderr and "is a directory" in result.stderr
