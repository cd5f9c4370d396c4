"""One daemon loop: a single daemon and a cluster node report their polls alike."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import FeedServer, Response, item, rss, write_config

from ingest.faces.cli import main


class Boom(httpx.AsyncBaseTransport):
    """Loopback HTTP, except that asking for ``/boom`` raises what no fetch expects (a bug)."""

    def __init__(self) -> None:
        self._http = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/boom":
            raise RuntimeError("a bug")
        return await self._http.handle_async_request(request)

    async def aclose(self) -> None:
        await self._http.aclose()


class Events(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"event": getattr(record, "event", None), **getattr(record, "fields", {})})

    def polls(self) -> list[dict[str, Any]]:
        return [r for r in list(self.records) if r["event"] == "poll"]


def daemon_polls(tmp_path: Path, server: FeedServer, store: str, *node: str) -> list[dict[str, Any]]:
    """Run ``ingest daemon`` (in this process) until each feed was polled once; its poll events."""
    config = write_config(tmp_path, [
        {"url": server.url("/good"), "name": "good"},
        {"url": server.url("/missing"), "name": "missing"},
        {"url": server.url("/page"), "name": "page"},
        {"url": server.url("/boom"), "name": "boom"},
    ], store=store)
    events = Events()
    logger = logging.getLogger("ingest.daemon")
    logger.addHandler(events)

    def stop_when_polled() -> None:
        deadline = time.monotonic() + 60
        while len({p["feed"] for p in events.polls()}) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_polled, daemon=True)
    stopper.start()
    try:
        code = main(["--config", str(config), "daemon", "--grace", "5s", *node], transport=Boom())
    finally:
        logger.removeHandler(events)
        stopper.join()
    assert code == 0
    return events.polls()


def test_a_cluster_node_and_the_daemon_report_the_same_poll_fields_and_failure_kinds(
    tmp_path: Path, server: FeedServer, pg_url: str
) -> None:
    server.feed("/good", rss([item(1)]))
    server.route("/missing", lambda _r: Response(404, b"no"))
    server.route("/page", lambda _r: Response(200, b"<html><body>hi</body></html>", headers={"Content-Type": "text/html"}))
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    alone = daemon_polls(tmp_path / "one", server, "state/ingest.sqlite3")
    node = daemon_polls(tmp_path / "many", server, pg_url, "--node", "n1")

    fields = {frozenset(p) for p in alone}
    assert fields == {frozenset(p) for p in node}
    assert len(fields) == 1
    assert {"lag", "skipped", "kept_edits", "merged_edits", "held_edits", "filtered", "removed", "pruned",
            "next_in", "kind", "node"} <= set(next(iter(fields)))
    kinds = {p["feed"]: p["kind"] for p in alone}
    assert kinds == {"good": None, "missing": "http", "page": "not-a-feed", "boom": "internal"}
    assert {p["feed"]: p["kind"] for p in node} == kinds
    assert {p["node"] for p in alone} == {None} and {p["node"] for p in node} == {"n1"}
