"""The global ``concurrency`` bounds requests to all hosts together, not only to one.

Every feed here lives on one of three loopback addresses, each a host of
its own to the client, so ``host_concurrency`` (2) alone would let six
requests run at once: only the global bound (3) keeps it lower. A server
holds each request until more than the bound are being answered (then the
bound is broken and it answers at once) or a short while has passed, so
requests that are allowed to overlap do.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from conftest import FeedServer, Response, item, rss, run_cli, write_config
from ingest.faces.cli import main

GLOBAL = 3
PER_HOST = 2
FEEDS_PER_HOST = 2
HOLD = 0.5  # seconds a request waits for others to overlap it


def held_feeds(hosts: list[FeedServer]) -> list[str]:
    """Two feeds on each host, each answered once the global bound is exceeded or HOLD has passed."""
    urls = []
    for index, host in enumerate(hosts):
        assert host.tally is not None
        for n in range(index * FEEDS_PER_HOST + 1, (index + 1) * FEEDS_PER_HOST + 1):
            body = rss([item(n)]).encode()

            def answer(_request, body=body, tally=host.tally) -> Response:
                tally.wait_for_more_than(GLOBAL, HOLD)
                return Response(200, body, {"Content-Type": "application/rss+xml"})

            host.route(f"/{n}.xml", answer)
            urls.append(host.url(f"/{n}.xml"))
    return urls


def feeds_config(tmp_path: Path, hosts: list[FeedServer], **feed: str) -> Path:
    urls = held_feeds(hosts)
    return write_config(
        tmp_path, [{"url": url, "name": f"feed{n}", **feed} for n, url in enumerate(urls, 1)],
        concurrency=GLOBAL, host_concurrency=PER_HOST,
    )


def answered(hosts: list[FeedServer]) -> int:
    return sum(len(host.requests) for host in hosts)


def test_a_run_sends_at_most_concurrency_requests_to_all_hosts_together(
    tmp_path: Path, hosts: list[FeedServer]
) -> None:
    config = feeds_config(tmp_path, hosts)

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert answered(hosts) == len(hosts) * FEEDS_PER_HOST
    assert len(list((tmp_path / "posts").iterdir())) == len(hosts) * FEEDS_PER_HOST
    assert {host.max_in_flight_total for host in hosts} <= {1, PER_HOST}
    assert hosts[0].tally is not None and hosts[0].tally.peak <= GLOBAL


def test_the_request_limit_holds_without_the_connection_pool(tmp_path: Path, hosts: list[FeedServer]) -> None:
    """A transport of its own has a pool of 100 connections: the run's own limit must bound the requests."""
    config = feeds_config(tmp_path, hosts)

    assert main(["--config", str(config), "run"], transport=httpx.AsyncHTTPTransport()) == 0

    assert answered(hosts) == len(hosts) * FEEDS_PER_HOST
    assert hosts[0].tally is not None and hosts[0].tally.peak <= GLOBAL


def test_the_daemon_polls_at_most_concurrency_feeds_at_once(tmp_path: Path, hosts: list[FeedServer]) -> None:
    """In the daemon the global bound is its own (whole polls), apart from the request limiter and the pool."""
    config = feeds_config(tmp_path, hosts, interval="1h")
    total = len(hosts) * FEEDS_PER_HOST
    store = tmp_path / "state" / "ingest.sqlite3"
    finished = threading.Event()

    def written() -> int:
        try:
            with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM entries WHERE state != 'pending'").fetchone()[0]
        except sqlite3.Error:
            return 0

    def stop_once_every_feed_was_polled() -> None:
        deadline = time.monotonic() + 60
        while not finished.is_set() and time.monotonic() < deadline:
            if answered(hosts) == total and written() == total:
                break
            finished.wait(0.05)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGTERM)  # the daemon in this process stops on it

    stopper = threading.Thread(target=stop_once_every_feed_was_polled, daemon=True)
    hup = signal.getsignal(signal.SIGHUP)
    stopper.start()
    try:
        code = main(["--config", str(config), "daemon", "--log-format", "json"], transport=httpx.AsyncHTTPTransport())
    finally:
        finished.set()
        stopper.join(10)
        signal.signal(signal.SIGHUP, hup)

    assert code == 0
    assert answered(hosts) == total
    assert len(list((tmp_path / "posts").iterdir())) == total
    assert hosts[0].tally is not None and hosts[0].tally.peak <= GLOBAL
