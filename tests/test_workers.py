"""A run reads its feeds in worker processes; they never outlive it or hold its store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import FeedServer, Response, item, rss, run_cli, write_config
from ingest.shell.reader_pool import available_cores

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# A run started from here may use the cores this process may (taskset, a container's limit).
CORES = available_cores()


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(child) for child in handle.read().split()]
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def workers_of(run: subprocess.Popen[bytes] | subprocess.Popen[str]) -> list[int]:
    """The process ids of a run's workers, once it has some: the children of its fork server."""
    def found() -> list[int]:
        assert run.poll() is None, "the run ended early"
        return [worker for child in children(run.pid) for worker in children(child)]

    wait_until(lambda: bool(found()), "the run to start a worker")
    return found()


def test_a_run_in_which_every_feed_answers_304_starts_no_process(tmp_path: Path, server: FeedServer) -> None:
    release = threading.Event()
    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])
    first = run_cli("--config", config, "run")
    assert "2 feeds: 2 ok" in first.stdout, first.stdout + first.stderr

    def last(request) -> Response:  # type: ignore[no-untyped-def]
        release.wait(30)
        return Response(304, b"", {})

    server.route("/b.xml", last)
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: server.in_flight.get("/b.xml"), "the run to ask its last feed")
        time.sleep(0.3)  # /a.xml has answered 304 by now; a worker pool would have been started for it
        assert run.poll() is None
        assert children(run.pid) == []
    finally:
        release.set()
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert out.count("unchanged (not modified)") == 2, out


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_killed_run_leaves_no_worker_behind_and_the_store_free(tmp_path: Path, server: FeedServer) -> None:
    server.feed("/a.xml", rss([item(1)]))  # read at once, by a worker
    body = rss([item(2)]).encode()
    server.route("/b.xml", lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=30))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers_of(run)
        started = descendants(run.pid)  # the fork server, its workers (and multiprocessing's helpers)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()

    wait_until(lambda: not any(alive(pid) for pid in started), "the workers to end with their run", 10)

    server.feed("/b.xml", rss([item(2)]))
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr  # 75 would mean the store is still locked
    assert "2 feeds: 2 ok" in again.stdout


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_run_whose_workers_are_killed_reads_the_rest_itself(tmp_path: Path, server: FeedServer) -> None:
    workers_killed = threading.Event()

    def after_the_kill(body: bytes) -> Response:
        workers_killed.wait(30)  # the feed arrives only once there is no worker left to read it
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    server.feed("/1.xml", rss([item(1)]))  # read at once, by a worker
    body = rss([item(2)]).encode()
    server.route("/2.xml", lambda _r: after_the_kill(body))
    config = write_config(tmp_path, [server.url("/1.xml"), server.url("/2.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = workers_of(run)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    wait_until(lambda: not any(alive(pid) for pid in workers), "the killed workers to be gone", 10)
    workers_killed.set()

    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert "2 feeds: 2 ok" in out
    assert len(list((tmp_path / "posts").iterdir())) == 2
    assert "reading the remaining feeds in this process" in err


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def test_a_killed_daemon_leaves_no_article_worker_or_fork_server_behind(
    tmp_path: Path, server: FeedServer, start_daemon
) -> None:  # type: ignore[no-untyped-def]
    from test_articles import serve_pages, teaser

    serve_pages(server)
    server.feed("/articles.xml", rss([teaser(server, 1, "blog")]))
    config = write_config(tmp_path, [{"url": server.url("/articles.xml"), "content": "extract", "interval": "1h"}])
    daemon = start_daemon(config)
    daemon.wait_event("extract", timeout=30)  # its article worker started from a fork server, and did a job
    started = descendants(daemon.proc.pid)
    assert len(started) >= 2, started  # the fork server and its worker (and multiprocessing's helpers)

    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()

    wait_until(lambda: not any(alive(pid) for pid in started), "the daemon's helper processes to end with it", 15)
