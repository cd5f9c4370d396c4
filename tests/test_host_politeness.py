"""Politeness per host, whoever asks: a host's 429 defers all its feeds, and two nodes share the per-host cap."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import DaemonProcess, FeedServer, Request, Response, item, json_lines, rss, run_cli, write_config


def test_a_hosts_429_defers_every_feed_on_it(tmp_path: Path, hosts: list[FeedServer]) -> None:
    busy, other = hosts[0], hosts[1]
    first = threading.Lock()
    answered: list[str] = []

    def handler(request: Request) -> Response:
        with first:
            answered.append(request.path)
            if len(answered) == 1:  # whichever feed asks first hears: slow down, for an hour
                return Response(429, b"slow down", {"Retry-After": "3600"})
        return Response(200, rss([item(len(answered))]).encode(), {"Content-Type": "application/rss+xml"})

    names = [f"busy-{n}" for n in range(4)]
    for n in range(4):
        busy.route(f"/f{n}.xml", handler)
    other.feed("/feed.xml", rss([item(9)]))
    feeds = [{"url": busy.url(f"/f{n}.xml"), "name": names[n]} for n in range(4)]
    feeds.append({"url": other.url("/feed.xml"), "name": "elsewhere"})
    config = write_config(tmp_path, feeds, host_concurrency=1)

    done = run_cli("--config", config, "run")
    assert done.returncode == 0, done.stdout + done.stderr  # a deferral is not a failure
    assert len(answered) == 1  # the other three feeds of that host were not asked
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.split() and line.split()[0] in names}
    waited = [name for name, line in lines.items() if "its host 127.0.0.2 asked every client to wait" in line]
    assert len(waited) == 3, done.stdout
    assert "1 new" in next(line for line in done.stdout.splitlines() if line.startswith("elsewhere"))

    again = run_cli("--config", config, "run")
    assert again.returncode == 0 and len(answered) == 1  # still waiting, on every feed of that host

    forced = run_cli("--config", config, "run", "--force")
    assert forced.returncode == 0 and len(answered) == 5


def test_two_nodes_keep_the_per_host_cap_together(tmp_path: Path, server: FeedServer, pg_url: str) -> None:
    body = rss([item(1)]).encode()
    count = 60
    both_up = threading.Event()  # no feed answers before both nodes run, so both get a share

    def slow(_request: Request) -> Response:
        both_up.wait(60)
        return Response(200, body, {"Content-Type": "application/rss+xml"}, delay=0.2)

    for n in range(count):
        server.route(f"/f{n}.xml", slow)
    feeds = [{"url": server.url(f"/f{n}.xml"), "name": f"f{n}", "interval": "1h"} for n in range(count)]
    config = write_config(tmp_path, feeds, store=pg_url, host_concurrency=2, concurrency=4)
    nodes = [DaemonProcess(config, "--node", name) for name in ("one", "two")]
    try:
        for node in nodes:
            node.wait_event("started", timeout=30)
        both_up.set()
        nodes[0].wait_for(
            lambda: len({r.path for r in server.requests}) >= count, timeout=90, what="every feed polled",
        )
        # Both nodes claim on every tick; each alone would allow 2 requests at once (4 together, as
        # without the shared cap), yet the host never sees more than 2. Which node wins a freed slot
        # is not fixed: a node that just finished a poll often claims again before the other's tick.
        assert server.max_in_flight_total <= 2, server.max_in_flight_total
        assert server.max_in_flight_total == 2  # and the cap is used, not undercut

        # the status report names the node that polled (or holds) each feed
        shown = run_cli("--config", config, "--json", "status")
        rows = json_lines(shown.stdout)[:-1]
        assert len(rows) == count and {r["node"] for r in rows} <= {"one", "two"} and all(r["node"] for r in rows)
    finally:
        for node in nodes:
            node.kill()
