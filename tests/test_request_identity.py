"""What each request says about us: User-Agent, extra headers, basic auth that never leaks."""

from __future__ import annotations

import base64
from pathlib import Path

from conftest import FeedServer, Response, RouteToLoopback, item, rss, run_cli, stored_feed, write_config
from ingest import __version__
from ingest.faces.cli import main


def test_default_user_agent_names_the_project_and_version(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/f", rss([item(1)]))
    config = write_config(tmp_path, [server.url("/f")])

    assert main(["--config", str(config), "run"]) == 0

    agent = server.requests_to("/f")[0].headers["user-agent"]
    assert agent.startswith(f"ingest/{__version__} (+https://")
    assert "github.com/ingest-feeds/ingest" in agent


def test_user_agent_and_headers_are_configurable_globally_and_per_feed(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a", rss([item(1)]))
    server.feed("/b", rss([item(2)]))
    config = write_config(
        tmp_path,
        [server.url("/a"),
         {"url": server.url("/b"), "user_agent": "special/2.0", "headers": {"X-Api-Key": "k-123", "Accept-Language": "fr"}}],
        defaults={"user_agent": "mysite-bot/1.0 (+https://mysite.example)"},
    )

    assert main(["--config", str(config), "run"]) == 0

    a = server.requests_to("/a")[0].headers
    b = server.requests_to("/b")[0].headers
    assert a["user-agent"] == "mysite-bot/1.0 (+https://mysite.example)" and "x-api-key" not in a
    assert b["user-agent"] == "special/2.0"
    assert b["x-api-key"] == "k-123" and b["accept-language"] == "fr"


def test_basic_auth_reaches_the_feed_and_is_never_printed_or_stored(tmp_path: Path, server: FeedServer) -> None:
    secret = "s3cret-Pa55"
    expected = "Basic " + base64.b64encode(f"reader:{secret}".encode()).decode()

    def private(request):
        if request.headers.get("authorization") != expected:
            return Response(401, b"who are you", {"WWW-Authenticate": 'Basic realm="feed"'})
        return Response(200, rss([item(1)]).encode(), {"Content-Type": "application/rss+xml"})

    server.route("/private", private)
    server.static("/broken", 500, "no")
    auth = {"username": "reader", "password_env": "FEED_PASSWORD"}
    config = write_config(
        tmp_path,
        [{"url": server.url("/private"), "name": "private", "auth": auth},
         {"url": server.url("/broken"), "name": "broken", "auth": {"username": "reader", "password": secret}}],
    )

    result = run_cli("--config", config, "-v", "run", env={"FEED_PASSWORD": secret})
    listing = run_cli("--config", config, "feeds", env={"FEED_PASSWORD": secret})

    assert result.returncode == 1  # the broken feed fails, the private one works
    assert (tmp_path / "posts" / "story-number-1-about-things.md").exists()
    for text in (result.stdout, result.stderr, listing.stdout, listing.stderr):
        assert secret not in text
        assert base64.b64encode(f"reader:{secret}".encode()).decode() not in text
    store_bytes = b"".join(p.read_bytes() for p in (tmp_path / "state").iterdir())
    assert secret.encode() not in store_bytes


def test_wrong_credentials_are_a_clear_failure(tmp_path: Path, server: FeedServer, capsys) -> None:
    server.route("/private", lambda _r: Response(401, b"no", {"WWW-Authenticate": "Basic"}))
    config = write_config(
        tmp_path, [{"url": server.url("/private"), "name": "p", "auth": {"username": "u", "password": "wrong-one"}}]
    )

    assert main(["--config", str(config), "run"]) == 1

    out = capsys.readouterr().out
    assert "failed: HTTP 401 Unauthorized" in out and "wrong-one" not in out
    assert "401" in stored_feed(tmp_path / "state/ingest.sqlite3", server.url("/private"))["last_error"]


def test_credentials_and_custom_headers_stay_on_the_feeds_host(tmp_path: Path, server: FeedServer) -> None:
    server.route("/feed", lambda _r: Response(302, b"", {"Location": "https://cdn.example.net/feed.xml"}))
    server.feed("/feed.xml", rss([item(1)]))
    config = write_config(
        tmp_path,
        [{"url": "https://private.example.org/feed", "auth": {"username": "u", "password": "p"},
          "headers": {"X-Token": "t"}}],
    )

    assert main(["--config", str(config), "run"], transport=RouteToLoopback(server)) == 0

    first, second = server.requests_to("/feed")[0].headers, server.requests_to("/feed.xml")[0].headers
    assert first["host"] == "private.example.org" and "authorization" in first and first["x-token"] == "t"
    assert second["host"] == "cdn.example.net" and "authorization" not in second and "x-token" not in second


def test_credentials_in_the_feed_url_become_basic_auth_and_are_never_shown_or_published(
    tmp_path: Path, server: FeedServer
) -> None:
    secret = "url-Pa55word"
    expected = "Basic " + base64.b64encode(f"reader:{secret}".encode()).decode()

    def private(request):
        if request.headers.get("authorization") != expected:
            return Response(401, b"no")
        return Response(200, rss([item(1)]).encode(), {"Content-Type": "application/rss+xml"})

    server.route("/private", private)
    server.static("/gone", 410, "gone")
    url = f"http://reader:{secret}@127.0.0.1:{server.port}/private"
    config = write_config(tmp_path, [url, f"http://reader:{secret}@127.0.0.1:{server.port}/gone"])

    result = run_cli("--config", config, "-v", "run")
    listing = run_cli("--config", config, "feeds")

    assert result.returncode == 1, result.stdout + result.stderr  # the 410 feed
    written = (tmp_path / "posts" / "story-number-1-about-things.md").read_text()
    assert f"source: '{server.url('/private')}'" in written
    for text in (result.stdout, result.stderr, listing.stdout, listing.stderr, written):
        assert secret not in text
    assert "GET http://127.0.0.1" in result.stderr  # the verbose log shows requests, without credentials
