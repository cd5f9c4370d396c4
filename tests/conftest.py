"""Shared fixtures: real HTTP servers on loopback addresses, feed builders, a CLI runner."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


_wall_clock = time.time


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    time: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=_wall_clock)  # to compare with times the program under test prints


@dataclass
class Response:
    """An answer to one request.

    ``delay`` waits before answering. ``stream`` sends the body chunk by
    chunk with no Content-Length (unless given in ``headers``), ending when
    the connection closes, so it can be as slow or as endless as a test
    needs; the server stops writing when the client hangs up. ``trickle``
    waits that long between chunks of a stream, or between ``pieces`` equal
    parts of a plain body. ``hang_up`` closes the connection after the
    answer without having said so, as a server does with an idle keep-alive
    connection.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None
    delay: float = 0.0
    trickle: float = 0.0
    pieces: int = 10
    hang_up: bool = False


Handler = Callable[[Request], Response]


class InFlight:
    """Requests being answered at once by several servers together (one per host)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self._changed:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self._changed.notify_all()

    def leave(self) -> None:
        with self._changed:
            self.now -= 1
            self._changed.notify_all()

    def wait_for_more_than(self, limit: int, timeout: float) -> bool:
        """Hold a request until more than ``limit`` are being answered (True) or ``timeout`` passes."""
        with self._changed:
            return self._changed.wait_for(lambda: self.now > limit, timeout)


class _ListeningServer(ThreadingHTTPServer):
    """A backlog for a run's every feed at once: with the default 5, connections past it wait for the
    kernel's retransmissions (1, 2, 4, 8 s...) and a test's fetches time out under load."""

    request_queue_size = 256


class FeedServer:
    """A loopback HTTP server whose answers each test sets per path.

    ``feed()`` serves a document with an ETag and Last-Modified and answers
    conditional requests with 304, as a well-behaved publisher does.
    ``requests`` records everything that arrived, for assertions. With
    ``tls`` (a server-side context) it speaks HTTPS. ``host`` is the
    loopback address it listens on (127.0.0.2, 127.0.0.3, ... are other
    hosts to a client); servers given the same ``tally`` count the requests
    they answer at the same time together.
    """

    def __init__(
        self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1", tally: InFlight | None = None
    ) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._published: dict[str, int] = {}
        self._lock = threading.Lock()
        self.in_flight_total = 0
        self.max_in_flight_total = 0  # most requests being answered at the same time, any path
        self.connections = 0  # TCP connections accepted
        self.tally = tally
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                request = Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                path = self.path.split("?")[0]
                with server._lock:
                    server.requests.append(request)
                    server.in_flight[path] = server.in_flight.get(path, 0) + 1
                    server.max_in_flight[path] = max(server.max_in_flight.get(path, 0), server.in_flight[path])
                    server.in_flight_total += 1
                    server.max_in_flight_total = max(server.max_in_flight_total, server.in_flight_total)
                if server.tally is not None:
                    server.tally.enter()
                try:
                    handler = server.routes.get(path)
                    response = handler(request) if handler else Response(404, b"not found")
                    self._send(response)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client hung up, as it should on a hostile answer
                finally:
                    with server._lock:
                        server.in_flight[path] -= 1
                        server.in_flight_total -= 1
                    if server.tally is not None:
                        server.tally.leave()

            def _send(self, response: Response) -> None:
                time.sleep(response.delay)
                if response.hang_up:
                    self.close_connection = True
                self.send_response_only(response.status)
                given = {name.lower() for name in response.headers}
                headers = {
                    name: value
                    for name, value in (("Server", self.version_string()), ("Date", self.date_time_string()))
                    if name.lower() not in given  # a test may send its own Date
                }
                if response.stream is not None:
                    self.close_connection = True
                    headers.update({"Connection": "close", **response.headers})
                else:
                    headers.update({"Content-Length": str(len(response.body)), **response.headers})
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if response.status == 304:
                    return
                if response.stream is not None:
                    chunks: Iterable[bytes] = response.stream
                elif response.trickle:
                    size = max(1, -(-len(response.body) // response.pieces))
                    chunks = (response.body[i : i + size] for i in range(0, len(response.body), size))
                else:
                    self.wfile.write(response.body)
                    return
                for chunk in chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    if response.trickle:
                        time.sleep(response.trickle)

            def log_message(self, *args: Any) -> None:
                pass

        self.host = host
        self._httpd = _ListeningServer((host, 0), _Handler)
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self._httpd.server_address[1]
        # a short poll interval: shutdown() waits for it, once per test
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def static(self, path: str, status: int, body: bytes | str, content_type: str = "text/plain") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.route(path, lambda _r: Response(status, data, {"Content-Type": content_type}))

    def feed(self, path: str, body: bytes | str, content_type: str = "application/rss+xml; charset=utf-8") -> None:
        """Serve ``body`` with validators; call again to publish a new version."""
        data = body.encode() if isinstance(body, str) else body
        version = self._published.get(path, 0)
        self._published[path] = version + 1
        etag = f'"{path}-{version}-{len(data)}"'
        last_modified = formatdate(1_700_000_000 + version * 60, usegmt=True)

        def handler(request: Request) -> Response:
            if request.headers.get("if-none-match") == etag:
                return Response(304, b"", {"ETag": etag})
            headers = {"Content-Type": content_type, "ETag": etag, "Last-Modified": last_modified}
            return Response(200, data, headers)

        self.route(path, handler)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    yield srv
    srv.close()


@pytest.fixture
def hosts() -> Iterator[list[FeedServer]]:
    """Three servers on three loopback addresses (three hosts to a client), counting requests together."""
    tally = InFlight()
    servers = [FeedServer(host=f"127.0.0.{n}", tally=tally) for n in (2, 3, 4)]
    yield servers
    for srv in servers:
        srv.close()


class RouteToLoopback(httpx.AsyncBaseTransport):
    """Sends every request to the loopback server, whatever host it names.

    The only mock in the suite: it stands in for DNS, so a test can fetch
    ``https://feeds.foxnews.com/...`` from a real local server. The request
    keeps its original Host header.
    """

    def __init__(self, server: FeedServer):
        self._server = server
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._server.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- feed documents -------------------------------------------------------


def rss(items: list[dict[str, str]], title: str = "Test feed") -> str:
    """An RSS 2.0 document; item keys are element names (``content`` for content:encoded)."""
    parts = []
    for item in items:
        fields = []
        for key, value in item.items():
            if key == "content":
                fields.append(f"<content:encoded><![CDATA[{value}]]></content:encoded>")
            elif key == "guid_raw":
                fields.append(value)
            else:
                fields.append(f"<{key}>{escape(value)}</{key}>")
        parts.append("<item>" + "".join(fields) + "</item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>http://example.com/</link>"
        "<description>d</description>" + "".join(parts) + "</channel></rss>"
    )


def item(n: int, **overrides: str) -> dict[str, str]:
    """A complete RSS item numbered ``n``."""
    base = {
        "title": f"Story number {n} about things",
        "link": f"https://example.com/story/{n}",
        "guid": f"https://example.com/story/{n}",
        "description": f"Summary of story {n}.",
        "content": f"<p>Body of story {n}.</p>",
        "pubDate": f"Tue, {n % 28 + 1:02d} Jan 2026 10:00:00 +0000",
    }
    base.update(overrides)
    return base


# --- running the CLI ------------------------------------------------------


def write_config(directory: Path, feeds: list[dict[str, Any] | str], **top: Any) -> Path:
    """A feeds.yaml in ``directory`` with output and store under it."""
    import yaml

    data: dict[str, Any] = {"output": "posts", "store": "state/ingest.sqlite3", **top}
    data["feeds"] = [{"url": f} if isinstance(f, str) else f for f in feeds]
    path = directory / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``ingest ARGS`` as a user types it, in a separate process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """``--json`` output as a script reads it, each line checked against the published schema."""
    import jsonschema

    validator = _output_validator()
    records = []
    for line in stdout.splitlines():
        record = json.loads(line)
        errors = sorted(validator.iter_errors(record), key=lambda e: e.path)
        if errors:
            kind = f"{record.get('command')}.{record.get('type')}".replace(" ", "-")
            specific = SCHEMA.get("$defs", {}).get(kind)
            detail = (
                [e.message for e in jsonschema.Draft202012Validator(
                    {**specific, "$defs": SCHEMA["$defs"]}).iter_errors(record)]
                if specific else [f"no object {kind!r} in the schema"]
            )
            raise AssertionError(f"--json line does not match the schema: {line}\n" + "\n".join(detail))
        records.append(record)
    return records


SCHEMA: dict[str, Any] = json.loads((ROOT / "ingest" / "schema" / "output.schema.json").read_text())


def _output_validator() -> Any:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime (ns), to prove a run touched nothing."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def stored_feed(store: Path, url: str) -> dict[str, Any]:
    """The store's row for the feed configured at ``url``, read straight from the SQLite file."""
    import sqlite3

    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    try:
        row = db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
    finally:
        db.close()
    assert row is not None, f"no stored feed for {url}"
    return dict(row)


def waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a file lock (Linux lists waiters in /proc/locks)."""
    with open("/proc/locks") as handle:
        return any(line.split()[1] == "->" and line.split()[5] == str(pid) for line in handle)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return result


# --- running the daemon ---------------------------------------------------


class DaemonProcess:
    """``ingest --config CONFIG daemon --log-format json ARGS`` in a subprocess.

    A thread collects the JSON log events from stderr as they come, so a
    test can wait for an event instead of sleeping.
    """

    def __init__(self, config: Path, *args: str):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(config), "daemon", "--log-format", "json", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self, name: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if (name is None or data.get("event") == name) and all(data.get(k) == v for k, v in fields.items()):
                found.append(data)
        return found

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the reader catch the last lines
                raise AssertionError(f"daemon exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def wait_event(self, name: str, count: int = 1, timeout: float = 10.0, **fields: Any) -> list[dict[str, Any]]:
        return self.wait_for(
            lambda: (found := self.events(name, **fields)) and len(found) >= count and found,
            timeout, f"{count} x {name} {fields}",
        )

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def log(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., DaemonProcess]]:
    """Start daemons; every one still running at the end of the test is killed."""
    started: list[DaemonProcess] = []

    def start(config: Path, *args: str) -> DaemonProcess:
        daemon = DaemonProcess(config, *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


# --- PostgreSQL -------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the session (see pgcluster), or why there is none."""
    from pgcluster import Cluster, start_cluster

    cluster = start_cluster()
    yield cluster
    if isinstance(cluster, Cluster):
        cluster.stop()


@pytest.fixture
def pg_url(postgres_cluster: Any) -> str:
    """The URL of a fresh database in the session's cluster (the test skips without PostgreSQL)."""
    from pgcluster import require

    return require(postgres_cluster).new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives, once per backend: a SQLite path under tmp_path, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "ingest.sqlite3")
    return request.getfixturevalue("pg_url")
