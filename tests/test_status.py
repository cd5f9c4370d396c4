"""``ingest status``, the daemon's ``/status`` page, ``/readyz`` and ``ingest healthcheck``, end to end.

The feeds are real ones served on loopback: one that works, one failing
(500), one deferred (429 with Retry-After), one retired (410), one quiet
(answers, but its newest entry is old: the store's times are moved back as
weeks passing would), a disabled one, and one whose name is hostile HTML.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import FeedServer, Response, item, json_lines, rss, run_cli, write_config

STORE = "state/ingest.sqlite3"
HOSTILE = "<img src=x onerror=alert(1)>news"
SECRET = "s3cr3t-pa55"


def _feeds(server: FeedServer, elsewhere: FeedServer) -> list[dict[str, Any]]:
    """The feeds; the deferred one on a host of its own, since a host's 429 defers every feed on it."""
    server.feed("/ok", rss([item(1), item(2)]))
    server.static("/failing", 500, "boom")
    elsewhere.route("/deferred", lambda _r: Response(429, b"slow down", {"Retry-After": "3600"}))
    server.static("/gone", 410, "gone")
    server.feed("/quiet", rss([item(3)]))
    server.feed("/hostile", rss([item(4)]))
    private = server.url("/private").replace("http://", f"http://reader:{SECRET}@") + "?edition=1"
    server.feed("/private", rss([item(5)]))
    return [
        {"url": server.url("/ok"), "name": "works"},
        {"url": server.url("/failing"), "name": "failing"},
        {"url": elsewhere.url("/deferred"), "name": "deferred"},
        {"url": server.url("/gone"), "name": "gone"},
        {"url": server.url("/quiet"), "name": "quiet", "expect_new_within": "30d"},
        {"url": server.url("/hostile"), "name": HOSTILE},
        {"url": private, "name": "private"},
        {"url": server.url("/never"), "name": "off", "enabled": False},
    ]


def _age(tmp_path: Path, url: str, days: float) -> None:
    """Move a feed's entries ``days`` into the past, as if that much time had gone by."""
    when = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    with sqlite3.connect(tmp_path / STORE) as db:
        db.execute("UPDATE entries SET first_seen = ? WHERE feed_id = (SELECT id FROM feeds WHERE url = ?)", (when, url))


@pytest.fixture
def polled(tmp_path: Path, server: FeedServer, hosts: list[FeedServer]) -> Path:
    config = write_config(tmp_path, _feeds(server, hosts[0]))
    first = run_cli("--config", config, "run")
    assert first.returncode == 1, first.stdout + first.stderr  # the failing and retired feeds
    _age(tmp_path, server.url("/quiet"), 40)
    _age(tmp_path, server.url("/hostile"), 100)
    return config


def test_status_lists_every_state(polled: Path) -> None:
    shown = run_cli("--config", polled, "status")
    assert shown.returncode == 0, shown.stderr
    states = {}
    for line in shown.stdout.splitlines()[1:]:
        if not line.startswith(" ") and "  " in line:
            name, state = line.split()[:2]
            states[name] = state
    assert states["works"] == "ok"
    assert states["failing"] == "failing"
    assert states["deferred"] == "deferred"
    assert states["gone"] == "retired"
    assert states["quiet"] == "quiet"
    assert states["off"] == "disabled"
    assert "HTTP 500" in shown.stdout and "failing since " in shown.stdout
    assert "deferred until " in shown.stdout and "HTTP 410 Gone" in shown.stdout
    assert "nothing new for 40 days (expected within 30 days)" in shown.stdout
    assert "quiet for over 3 months" in shown.stdout  # the hostile-named feed's 100 days
    assert SECRET not in shown.stdout + shown.stderr

    strict = run_cli("--config", polled, "status", "--strict")
    assert strict.returncode == 1  # a failing and a quiet feed


def test_status_json_and_html_file(polled: Path, tmp_path: Path) -> None:
    page = tmp_path / "status.html"
    shown = run_cli("--config", polled, "--json", "status", "--html", page)
    assert shown.returncode == 0, shown.stderr
    lines = json_lines(shown.stdout)
    rows = {r["name"]: r for r in lines if r["type"] == "feed"}
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["command"] == "status"
    assert summary["states"] == {"failing": 1, "quiet": 1, "deferred": 1, "retired": 1, "ok": 3, "new": 0,
                                 "disabled": 1}
    assert rows["failing"]["since"] and rows["failing"]["error_count"] == 1
    assert rows["deferred"]["since"] == rows["deferred"]["next_poll"]  # deferred until, and asked again then
    assert rows["quiet"]["idle"] == "1m" and rows["works"]["new_30d"] == 2
    assert rows[HOSTILE]["idle"] == "3m"
    assert "***@" in rows["private"]["url"] and SECRET not in shown.stdout

    html = page.read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;news" in html
    assert SECRET not in html
    for state in ("failing", "quiet", "deferred", "retired", "ok", "disabled"):
        assert f'data-state="{state}"' in html


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def daemon_url(polled: Path, start_daemon: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("INGEST_STATUS_TOKEN", "let-me-see")
    daemon = start_daemon(polled, "--listen", "0")
    listening = daemon.wait_event("listening")[0]
    assert listening["host"] == "127.0.0.1"  # a bare port stays on loopback
    daemon.wait_event("poll", count=1, timeout=30)
    yield f"http://127.0.0.1:{listening['port']}"


def test_daemon_serves_status_with_its_token(daemon_url: str) -> None:
    assert _get(daemon_url + "/status")[0] == 401
    assert _get(daemon_url + "/status?token=wrong")[0] == 401
    code, page = _get(daemon_url + "/status", {"Authorization": "Bearer let-me-see"})
    assert code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;news" in page and HOSTILE not in page and SECRET not in page

    code, text = _get(daemon_url + "/status.json?token=let-me-see&state=failing")
    data = json.loads(text)
    assert code == 200 and data["matching"] == 1 and data["rows"][0]["name"] == "failing"
    assert data["states"]["retired"] == 1 and data["feeds"] == 8

    code, text = _get(daemon_url + "/status.json?token=let-me-see&sort=name&desc=1")
    names = [r["name"] for r in json.loads(text)["rows"]]
    assert names == sorted(names, key=str.casefold, reverse=True)

    # the page's links keep the token that opened it, so a browser can follow them
    code, page = _get(daemon_url + "/status?token=let-me-see")
    assert 'href="?state=failing&amp;token=let-me-see"' in page


def test_readyz_and_healthcheck(daemon_url: str) -> None:
    code, text = _get(daemon_url + "/readyz")
    assert code == 200 and json.loads(text)["status"] == "ready"
    ok = run_cli("healthcheck", daemon_url + "/readyz")
    assert ok.returncode == 0 and "ready" in ok.stdout

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    down = run_cli("healthcheck", f"http://127.0.0.1:{port}/readyz", "--timeout", "2")
    assert down.returncode == 1 and "not ready" in down.stderr


def test_readyz_says_not_ready_when_the_store_is_gone(daemon_url: str, tmp_path: Path) -> None:
    store = tmp_path / STORE
    store.rename(tmp_path / "moved.sqlite3")
    code, text = _get(daemon_url + "/readyz")
    assert code == 503 and "is missing" in json.loads(text)["reason"]

    store.write_bytes(b"this is no database" * 100)
    code, text = _get(daemon_url + "/readyz")
    assert code == 503 and "store unreachable" in json.loads(text)["reason"]
    bad = run_cli("healthcheck", daemon_url + "/readyz")
    assert bad.returncode == 1 and "503" in bad.stderr


def test_hostile_reason_phrase_is_escaped(tmp_path: Path) -> None:
    """A server's own words (its HTTP reason phrase) reach the page only as text."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def answer() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 500 <script>alert('x')</script>\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
        config = write_config(tmp_path, [{"url": url, "name": "evil"}])
        run_cli("--config", config, "run")
        page = tmp_path / "status.html"
        shown = run_cli("--config", config, "status", "--html", page)
        assert shown.returncode == 0, shown.stderr
        html = page.read_text(encoding="utf-8")
        assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# --- in a real browser ----------------------------------------------------------

BROWSER_ENV = "INGEST_REQUIRE_BROWSER"  # set by .ci/run: a missing Chromium fails instead of skipping
SCREENSHOTS_ENV = "INGEST_SCREENSHOTS"  # a directory: keep the pictures (the docs' one is made this way)


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
    if os.environ.get(BROWSER_ENV):
        pytest.fail(f"{message}, and ${BROWSER_ENV} says it must be present")
    pytest.skip(message)


def _browse(url: str, tmp_path: Path, *action: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``url``, kept off every network but loopback."""
    profile = tmp_path / "chromium-profile"
    return subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-domain-reliability", "--disable-breakpad", "--no-pings", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", f"--user-data-dir={profile}",
            *action, url,
        ],
        capture_output=True, text=True, timeout=90,
    )


def _check_dom(dom: str) -> None:
    states = set(re.findall(r'<tr class="feed" data-state="([a-z]+)"', dom))
    assert states == {"ok", "failing", "deferred", "retired", "quiet", "disabled"}, dom[:2000]
    assert "&lt;img src=x onerror=alert(1)&gt;news" in dom  # shown as text ...
    assert "<img" not in dom  # ... never made an element
    assert SECRET not in dom
    assert re.search(r"failing\s*<b>1</b>", dom) and re.search(r"quiet for over 3 months</a>: 1", dom)


def _screenshot(url: str, tmp_path: Path, name: str) -> None:
    picture = tmp_path / name
    shot = _browse(url, tmp_path, f"--screenshot={picture}", "--window-size=1280,900", "--hide-scrollbars")
    assert picture.exists(), shot.stderr[-2000:]
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000  # a real picture of a real page
    keep = os.environ.get(SCREENSHOTS_ENV)
    if keep:
        shutil.copy(picture, Path(keep) / name)


def test_status_page_in_a_browser(daemon_url: str, tmp_path: Path) -> None:
    url = daemon_url + "/status?token=let-me-see"
    shown = _browse(url, tmp_path, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    _check_dom(shown.stdout)
    _screenshot(url, tmp_path, "status-page.png")

    quiet = _browse(daemon_url + "/status?token=let-me-see&state=quiet", tmp_path, "--dump-dom").stdout
    assert re.findall(r'data-state="([a-z]+)"><td>', quiet) == ["quiet"]


def test_status_html_file_in_a_browser(polled: Path, tmp_path: Path) -> None:
    page = tmp_path / "status.html"
    assert run_cli("--config", polled, "status", "--html", page).returncode == 0
    shown = _browse(page.as_uri(), tmp_path, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    _check_dom(shown.stdout)


# --- quiet feeds in runs and metrics ----------------------------------------------


def test_a_quiet_feed_is_named_on_its_line(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/quiet", rss([item(1)]))
    server.feed("/busy", rss([item(2)]))
    config = write_config(tmp_path, [
        {"url": server.url("/quiet"), "name": "quiet", "expect_new_within": "30d"},
        {"url": server.url("/busy"), "name": "busy", "expect_new_within": "30d"},
    ])
    first = run_cli("--config", config, "run")
    assert first.returncode == 0 and "quiet:" not in first.stdout  # it just published
    _age(tmp_path, server.url("/quiet"), 45)
    _age(tmp_path, server.url("/busy"), 45)
    server.feed("/busy", rss([item(2), item(3)]))  # busy publishes again; quiet does not

    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    line = next(line for line in again.stdout.splitlines() if line.startswith("quiet "))
    assert "unchanged (not modified); quiet: nothing new for 45 days (expected within 30 days)" in line
    busy = next(line for line in again.stdout.splitlines() if line.startswith("busy "))
    assert "quiet" not in busy
    assert "; 1 quiet;" in again.stdout

    strict = run_cli("--config", config, "run", "--strict")
    assert strict.returncode == 1
    records = json_lines(run_cli("--config", config, "--json", "run").stdout)
    by_name = {r.get("name"): r for r in records}
    assert by_name["quiet"]["quiet"].startswith("nothing new for 45 days") and by_name["busy"]["quiet"] is None
    assert records[-1]["quiet"] == 1


def test_quiet_feeds_are_counted_in_metrics(polled: Path, start_daemon: Any) -> None:
    daemon = start_daemon(polled, "--listen", "127.0.0.1:0")
    port = daemon.wait_event("listening")[0]["port"]
    polls = daemon.wait_event("poll", feed="quiet", timeout=30)
    assert polls[0]["quiet"].startswith("nothing new for 40 days")
    code, text = _get(f"http://127.0.0.1:{port}/metrics")
    assert code == 200 and "ingest_feeds_quiet 1.0" in text
