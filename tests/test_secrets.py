"""No secret of the config is ever printed, logged or written: every command, success and failure.

User names and passwords are drawn from every printable character (and
their percent-encoded forms) and put where a user puts them: in feed URLs,
in a query parameter, in ``auth:`` through the environment, in a header, in
a store URL, in an OPML file. Each command then runs as a user types it,
and neither its output nor any file it wrote may hold the secret.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import FeedServer, item, rss, run_cli, write_config
from ingest.core.printable import canonical_credentials, printable_text, printable_url, split_credentials

# every printable ASCII character, the space, and letters beyond ASCII
CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("éü中😀")
# a fixed start makes each secret a string no message holds by chance, whatever the drawn rest
USERS = st.builds(lambda s: "Us3r" + s, st.text(CHARS, max_size=12))
PASSWORDS = st.builds(lambda s: "Pa5s" + s, st.text(CHARS, max_size=12))


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret, safe="/:@")}


def userinfo(user: str, password: str, encoded: bool) -> str:
    if encoded:
        return f"{quote(user, safe='')}:{quote(password, safe='')}"
    return f"{user}:{password}"


def written(directory: Path, skip: set[Path]) -> str:
    """Every file under ``directory`` but the config the user wrote, as text."""
    out = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path not in skip:
            out.append(f"{path.relative_to(directory)}:\n" + path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h/x", "https://***@h/x"),
        ("https://tok3n@h/x", "https://***@h/x"),
        ("postgresql://bob:pa#ss@db:5432/x", "postgresql://***@db:5432/x"),
        ("postgresql://bob:pa?ss@db/x", "postgresql://***@db/x"),
        ("postgresql://bob:pa ss@db/x", "postgresql://***@db/x"),
        ("postgresql://bob:pa'ss@db/x", "postgresql://***@db/x"),
        ("https://user:pa/ss@host/feed", "https://***@host/feed"),
        ("https://user:p@ss@host/feed", "https://***@host/feed"),
        ("https://us%40er:p%2Fss@host/feed", "https://***@host/feed"),
        ("  HTTPS://a:b@[::1]:8080/", "  HTTPS://***@[::1]:8080/"),
        ("https://medium.com/@someone/feed", "https://medium.com/@someone/feed"),
        ("https://host:8080/@someone", "https://host:8080/@someone"),
        ("https://h/f?api_key=abc&page=2", "https://h/f?api_key=***&page=2"),
        ("https://h/f?Access-Token=abc#x", "https://h/f?Access-Token=***#x"),
        ("https://h/f#access_token=abc&state=1", "https://h/f#access_token=***&state=1"),
        ("postgresql://db/x?user=me&password=pw&sslpassword=pw2", "postgresql://db/x?user=me&password=***&sslpassword=***"),
        ("//u:p@h/x", "//***@h/x"),
        ("data/ingest.sqlite3", "data/ingest.sqlite3"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
    ],
)
def test_the_printable_form_of_a_url_hides_every_credential(url: str, shown: str) -> None:
    assert printable_url(url) == shown


def test_a_url_quoted_in_free_text_is_printable_and_known_secrets_are_hidden() -> None:
    text = "Invalid port: 'pa' in 'https://user:pa#ss@h/x' (postgres://a:b@h/d)"
    assert printable_text(text, {"pa#ss"}) == "Invalid port: 'pa' in 'https://***@h/x' (postgres://***@h/d)"
    assert split_credentials("https://a:b@h/x") == ("https://h/x", "a:b")


@pytest.mark.parametrize("password", ["Pa5s[", "Pa5s]", "Pa5s[::1]", "Pa5s#?/"])
def test_credentials_written_raw_are_encoded_so_every_parser_sees_the_same_host(password: str) -> None:
    url = canonical_credentials(f"http://Us3r:{password}@127.0.0.1:8080/feed")
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.path) == ("127.0.0.1", 8080, "/feed")
    assert unquote(parts.password or "") == password
    assert canonical_credentials(url) == url


def test_discover_sends_credentials_written_raw_with_a_bracket_to_the_page(server: FeedServer) -> None:
    server.feed("/feed.xml", rss([item(1)]))
    server.static("/page.html", 200, '<link rel="alternate" type="application/rss+xml" href="/feed.xml">', "text/html")

    done = run_cli("discover", server.url("/page.html").replace("://", "://Us3r:Pa5s[@"))

    assert done.returncode == 0, done.stderr
    assert server.url("/feed.xml") in done.stdout and "Pa5s" not in done.stdout + done.stderr
    sent = server.requests_to("/page.html")[0].headers["authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == b"Us3r:Pa5s["


def test_a_header_value_is_sent_without_the_white_space_around_it(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed.xml", rss([item(1)]))
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "a", "headers": {"X-Api-Key": " Pa5s \t"}}])

    done = run_cli("--config", config, "run")

    assert done.returncode == 0, done.stdout + done.stderr
    assert server.requests_to("/feed.xml")[0].headers["x-api-key"] == "Pa5s"


def test_a_header_value_the_http_library_refuses_is_named_nowhere(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/feed.xml", rss([item(1)]))
    secret = "Pa5s\x0bw0rd"  # h11 refuses a vertical tab and quotes the value in its error
    config = write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "a", "headers": {"X-Api-Key": secret}}])

    done = run_cli("--config", config, "run")
    feeds = run_cli("--config", config, "--json", "feeds")

    assert done.returncode == 1 and "a  failed" in done.stdout, done.stdout + done.stderr
    assert "header value" in done.stdout  # the library's reason stays, without the value
    files = written(tmp_path, skip={config})
    for text in (done.stdout + done.stderr, feeds.stdout + feeds.stderr, files):
        assert "w0rd" not in text and secret.encode("unicode_escape").decode() not in text


@pytest.mark.timeout(900)  # each example runs every command as a separate process
@settings(
    max_examples=int(os.environ.get("INGEST_SECRET_EXAMPLES", "4")), deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(user=USERS, password=PASSWORDS, encoded=st.booleans())
@example(user="Us3r", password="Pa5s#?/' @:", encoded=False)
@example(user="Us3r][", password="Pa5s", encoded=False)  # an OPML outline's raw ']' made Python quote the password
@example(user="Us3r", password="Pa5s#?/' @:", encoded=True)
@example(user="Us3r", password="Pa5s ", encoded=False)  # a header value HTTP cannot send: the library's error quoted it
@example(user="Us3r", password="Pa5s[", encoded=False)  # urlsplit reads a raw '[' as a broken IPv6 address
@example(user="Us3r:@", password="Pa5s", encoded=False)  # libpq reads a store URL's userinfo to the first '@'
@example(user="Us3r@", password="Pa5s/", encoded=False)  # the host would be ':Pa5s', the rest a path
def test_no_command_shows_or_writes_a_secret(server: FeedServer, hosts: list[FeedServer], user: str, password: str, encoded: bool) -> None:
    if not encoded and "/" in user:
        user = user.replace("/", "_")  # a raw '/' in a user name ends the host: percent-encode it (see the docs)
    if not encoded and any(mark in user for mark in "?#") and "/" in password:
        password = password.replace("/", "_")  # 'user?:pass/@host' reads as a host and its query (see the docs)
    other = hosts[0]
    server.feed("/ok.xml", rss([item(1), item(2)]))
    server.feed("/token.xml", rss([item(3)]))
    server.feed("/env.xml", rss([item(4)]))
    server.static("/bad.xml", 500, "boom")
    other.feed("/elsewhere.json", json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": []}),
               "application/json")
    server.static(
        "/page.html", 200,
        f'<html><head><link rel="alternate" type="application/json" href="{other.url("/elsewhere.json")}">'
        '<link rel="alternate" type="application/rss+xml" href="/ok.xml"></head></html>',
        "text/html",
    )
    base = server.url("/").rstrip("/")
    info = userinfo(user, password, encoded)
    with_credentials = base.replace("://", f"://{info}@")
    secrets = forms(user) | forms(password)
    work = Path(tempfile.mkdtemp(prefix="secrets-"))
    try:
        config = work / "feeds.yaml"
        feeds = [
            {"url": f"{with_credentials}/ok.xml", "name": "creds"},
            {"url": f"{with_credentials}/bad.xml", "name": "fails"},
            {"url": f"{base}/token.xml?token={quote(password, safe='')}", "name": "token"},
            {"url": f"{base}/env.xml", "name": "env", "auth": {"username": user.replace(":", "_"), "password_env": "SECRET_PW"},
             "headers": {"X-Api-Key": password}},
        ]
        config.write_text(yaml.safe_dump({"output": "posts", "store": "state/ingest.sqlite3", "feeds": feeds}), "utf-8")
        pg_config = work / "pg.yaml"
        pg_config.write_text(yaml.safe_dump({
            "output": "posts", "store": f"postgresql://{info}@127.0.0.1:9/nosuchdb", "feeds": feeds[:1],
        }), "utf-8")
        opml = work / "subs.opml"
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><body>'
            f'<outline text="a" xmlUrl="{_attr(with_credentials)}/new.xml"/>'
            f'<outline text="b" xmlUrl="http://{_attr(info)}@[::1/broken.xml"/>'
            f'<outline text="c" xmlUrl="ftp://{_attr(info)}@h/x"/>'
            "</body></opml>",
            "utf-8",
        )
        env = {"SECRET_PW": password}
        runs = [
            ("run",), ("--json", "run"), ("-v", "run", "--feed", "fails"), ("feeds",), ("--json", "feeds"),
            ("rebuild",), ("--json", "prune"), ("opml", "export"), ("--json", "opml", "import", opml, "--dry-run"),
            ("opml", "import", opml, "--dry-run"),
        ]
        outputs = []
        for args in runs:
            done = run_cli("--config", config, *args, env=env)
            outputs.append((args, done.returncode, done.stdout + done.stderr))
        for args in [("run",), ("feeds",), ("daemon",)]:
            done = run_cli("--config", pg_config, *args, env=env)
            assert done.returncode != 0
            outputs.append((args, done.returncode, done.stdout + done.stderr))
        done = run_cli("discover", f"{with_credentials}/page.html", env=env)
        outputs.append((("discover",), done.returncode, done.stdout + done.stderr))
        done = run_cli("--json", "discover", f"{with_credentials}/page.html", env=env)
        outputs.append((("--json", "discover"), done.returncode, done.stdout + done.stderr))

        assert outputs[0][1] == 1 and "creds" in outputs[0][2]  # the failing feed fails, the others are written
        for args, _, text in outputs:
            for secret in secrets:
                assert secret not in text, (args, secret, text)
        files = written(work, skip={config, pg_config, opml})
        assert (work / "posts").is_dir() and files
        for secret in secrets:
            assert secret not in files, (secret, [f[:200] for f in files.split("\n") if secret in f])
        # the page's credentials went to its own host only
        assert all("authorization" not in r.headers for r in other.requests)
        assert any("authorization" in r.headers for r in server.requests_to("/page.html"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        server.requests.clear()
        other.requests.clear()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
