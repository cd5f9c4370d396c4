"""What the daemon tells the outside world: log events, metrics, health.

A daemon nobody watches fails silently, so every poll leaves one structured
log event (JSON for log collectors, key=value text for people), and an
optional small HTTP endpoint serves ``/healthz`` for supervisors and
``/metrics`` for Prometheus. The endpoint runs on the daemon's own event
loop: if the loop is stuck, health checks time out, which is the truth.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ..errors import IngestError

if TYPE_CHECKING:
    from ..app.status import StatusReport
    from ..core.config.model import Config
    from ..core.records import FeedReport

__all__ = [
    "serve_status", "status_server", "TOKEN_ENV",
    "DURATION_BUCKETS", "event", "JsonFormatter", "Metrics", "parse_listen", "setup_logging", "StatusServer",
    "TextFormatter",
]


log = logging.getLogger("ingest.daemon")

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# How late polls start: under a second is healthy, minutes mean the daemon cannot keep up.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


# --- logs --------------------------------------------------------------------


def event(name: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event; ``fields`` become JSON keys or ``key=value`` pairs."""
    log.log(level, message, extra={"event": name, "fields": fields})


def _timestamp(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the event name and its fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level message``, for a terminal or journald; the message says it all."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname.lower()} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(fmt: str, verbose: bool) -> None:
    """Send every log record to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, handlers=[handler], force=True)
    logging.getLogger("ingest").setLevel(logging.DEBUG if verbose else logging.INFO)
    # APScheduler's INFO lines ("Running job ...") would double every poll event.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.WARNING)


# --- metrics -----------------------------------------------------------------


class Metrics:
    """Prometheus metrics of one daemon, in a registry of their own."""

    def __init__(self) -> None:
        # Imported here: every one-shot run sets up logging from this module and needs none of it.
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series only add noise to every scrape
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "ingest_polls",
            "Polls finished, by feed and status (ok, not-modified, same-content, failed; deferred and retired:"
            " not asked).",
            ["feed", "status"], registry=self.registry,
        )
        self.failures = Counter("ingest_poll_failures", "Polls that failed, by feed.", ["feed"], registry=self.registry)
        self.failure_kinds = Counter(
            "ingest_poll_failure_kinds",
            "Polls that failed, by kind of failure (the failure values of --json: timeout, http, not-a-feed, ...).",
            ["kind"], registry=self.registry,
        )
        self.entries = Counter(
            "ingest_entries_written", "Files written, by feed and kind (new, updated).",
            ["feed", "kind"], registry=self.registry,
        )
        self.duration = Histogram(
            "ingest_poll_duration_seconds", "Time from the start of a poll's fetch to its last file written.",
            buckets=DURATION_BUCKETS, registry=self.registry,
        )
        self.lag = Histogram(
            "ingest_poll_lag_seconds",
            "How late polls started (began fetching) after the time they were planned for.",
            buckets=LAG_BUCKETS, registry=self.registry,
        )
        self.in_backoff = Gauge(
            "ingest_feeds_in_backoff",
            "Scheduled feeds whose last poll failed or that a server asked to wait.",
            registry=self.registry,
        )
        self.scheduled = Gauge("ingest_feeds_scheduled", "Feeds the daemon polls.", registry=self.registry)
        self.quiet = Gauge(
            "ingest_feeds_quiet",
            "Feeds that answer but published nothing new for longer than their expect_new_within.",
            registry=self.registry,
        )
        self._quiet: set[str] = set()

    def add_feed(self, name: str) -> None:
        """Show a new feed's counters at zero rather than missing."""
        self.failures.labels(name)
        for kind in ("new", "updated"):
            self.entries.labels(name, kind)

    def observe(self, report: FeedReport, duration: float, lag: float = 0.0) -> None:
        self.polls.labels(report.name, report.status).inc()
        if report.failed:
            self.failures.labels(report.name).inc()
            self.failure_kinds.labels(report.kind.value if report.kind else "internal").inc()
        self.entries.labels(report.name, "new").inc(len(report.new))
        self.entries.labels(report.name, "updated").inc(len(report.updated))
        self.duration.observe(duration)
        self.lag.observe(lag)
        if report.status in ("ok", "not-modified", "same-content"):  # a poll that answered judges quietness
            (self._quiet.add if report.quiet else self._quiet.discard)(report.name)
            self.quiet.set(len(self._quiet))

    def render(self) -> tuple[str, bytes]:
        """The exposition's content type and body."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return CONTENT_TYPE_LATEST, generate_latest(self.registry)


class NodeMetrics:
    """A cluster node's own figures, labelled with its id so a dashboard can add nodes up or compare them."""

    def __init__(self, metrics: Metrics, node: str) -> None:
        from prometheus_client import Counter, Gauge

        self.node = node
        self.polls = Counter(
            "ingest_node_polls", "Polls this node finished.", ["node"], registry=metrics.registry
        ).labels(node)
        self.held = Gauge(
            "ingest_node_leases_held", "Feeds this node holds a lease on now.", ["node"], registry=metrics.registry
        ).labels(node)
        self.takeovers = Counter(
            "ingest_node_lease_takeovers",
            "Feeds this node claimed after another node's lease on them expired unreleased.",
            ["node"], registry=metrics.registry,
        ).labels(node)


# --- HTTP endpoint -----------------------------------------------------------


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6), or ``PORT`` alone for loopback; port 0 picks a free one.

    Without a host the endpoint stays on this machine: the status page lists
    every feed, so serving it to the network is a choice made explicitly.
    """
    host, sep, port = value.rpartition(":")
    host = host.strip("[]") if sep else ""
    if not sep and value.isdigit():
        host, port = LOOPBACK, value
    elif sep and not host:
        host = LOOPBACK
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{value!r} is not HOST:PORT or PORT, for example 127.0.0.1:9108 or 9108")
    return host, int(port)


LOOPBACK = "127.0.0.1"
TOKEN_ENV = "INGEST_STATUS_TOKEN"  # when set, /status and /status.json ask for it


def status_server(metrics: Metrics, alive: Callable[[], bool], config: Callable[[], Config]) -> StatusServer:
    """The daemon's endpoint, with the status page of ``config()`` (the current one, after reloads)."""
    from ..app.status import CachedReport, build_report, check_store

    return StatusServer(
        metrics, alive, report=CachedReport(lambda: build_report(config(), datetime.now(timezone.utc))),
        ready=lambda: check_store(config()), token=os.environ.get(TOKEN_ENV),
    )


async def serve_status(status: StatusServer, listen: tuple[str, int] | None) -> bool:
    """Start ``status`` on ``listen`` (if given) and log where; False, logged, when the address cannot be bound."""
    if listen is None:
        return True
    host, port = listen
    try:
        bound = await status.start(host, port)
    except OSError as exc:
        event("listen_failed", f"cannot listen on {host}:{port}: {exc.strerror or exc}", logging.ERROR)
        return False
    event(
        "listening", f"serving /healthz, /readyz, /metrics and /status on {bound[0]}:{bound[1]}",
        host=bound[0], port=bound[1],
    )
    if not ipaddress.ip_address(bound[0]).is_loopback and not status.protected:
        event(
            "status_public", f"the status page on {bound[0]}:{bound[1]} is reachable from other machines without a"
            f" token; set {TOKEN_ENV} to require one", logging.WARNING,
        )
    return True


class StatusServer:
    """A minimal HTTP/1.1 server for ``/healthz``, ``/readyz``, ``/metrics``, ``/status`` and ``/status.json``.

    The status page reads the whole store, so it is built in a thread with
    its own read-only connection: polls go on while it renders. With a
    token, ``/status`` and ``/status.json`` answer only requests that bring
    it (``Authorization: Bearer`` or ``?token=``); health and metrics stay
    open to supervisors and scrapers.
    """

    def __init__(
        self, metrics: Metrics, alive: Callable[[], bool], *,
        report: Callable[[], StatusReport] | None = None, ready: Callable[[], str | None] | None = None,
        token: str | None = None,
    ):
        self._metrics = metrics
        self._alive = alive
        self._report = report
        self._ready = ready
        self._token = token or None
        self._server: asyncio.base_events.Server | None = None

    @property
    def protected(self) -> bool:
        """Whether the status page asks for a token (or there is no status page to protect)."""
        return self._token is not None or self._report is None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and serve; returns the address actually bound."""
        self._server = await asyncio.start_server(self._handle, host, port)
        bound = self._server.sockets[0].getsockname()
        return bound[0], bound[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            headers: dict[str, str] = {}
            while (line := await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if len(headers) < 100:
                    headers[name.strip().lower()] = value.strip()
            status, content_type, body = await self._answer(request.decode("latin-1").split(), headers)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, parts: list[str], headers: dict[str, str]) -> tuple[str, str, bytes]:
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", "text/plain", b"only GET\n"
        path, _, query_text = parts[1].partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_text).items()}
        if path == "/healthz":
            if self._alive():
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", b"scheduler not running\n"
        if path == "/readyz":
            return await self._readiness()
        if path == "/metrics":
            content_type, body = self._metrics.render()
            return "200 OK", content_type, body
        if path in ("/status", "/status.json") and self._report is not None:
            if not self._allowed(headers, query):
                return "401 Unauthorized", "text/plain", b"this status page needs its token\n"
            return await self._status(path, query)
        return "404 Not Found", "text/plain", b"not found; try /healthz, /readyz, /metrics or /status\n"

    def _allowed(self, headers: dict[str, str], query: dict[str, str]) -> bool:
        if self._token is None:
            return True
        given = query.get("token") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self._token.encode())

    async def _readiness(self) -> tuple[str, str, bytes]:
        problem = None if self._alive() else "not polling"
        if problem is None and self._ready is not None:
            try:
                problem = await asyncio.wait_for(asyncio.to_thread(self._ready), 10)
            except asyncio.TimeoutError:
                problem = "the store did not answer within 10s"
        if problem is None:
            return "200 OK", "application/json", b'{"status": "ready"}\n'
        body = json.dumps({"status": "not ready", "reason": problem}, ensure_ascii=False) + "\n"
        return "503 Service Unavailable", "application/json", body.encode()

    async def _status(self, path: str, query: dict[str, str]) -> tuple[str, str, bytes]:
        from .status_page import page_json, render_html, view_from_query

        assert self._report is not None
        try:
            report = await asyncio.to_thread(self._report)
        except IngestError as exc:
            return "503 Service Unavailable", "text/plain; charset=utf-8", f"store error: {exc}\n".encode()
        view = view_from_query(query)
        if path == "/status.json":
            body = json.dumps(page_json(report, view), ensure_ascii=False) + "\n"
            return "200 OK", "application/json", body.encode()
        return "200 OK", "text/html; charset=utf-8", render_html(report, view).encode()
