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


def workers_of(run: subprocess.Popen[bytes] | subprocess.Popen[str], server: FeedServer, paths: list[str]) -> list[int]:
    """The process ids of a run's workers, once it is fetching ``paths``.

    The pool is forked before the first request is sent, so a run that has
    asked every feed has all the workers it will have: one per core it may
    use, up to one per feed, and none at all on a single core.
    """
    wait_until(lambda: all(server.in_flight.get(path) for path in paths), "the run to ask every feed")
    assert run.poll() is None, "the run ended early"
    return children(run.pid)


def test_a_killed_run_leaves_no_worker_behind_and_the_store_free(tmp_path: Path, server: FeedServer) -> None:
    body = rss([item(1)]).encode()
    for path in ("/a.xml", "/b.xml"):
        server.route(path, lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=30))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = workers_of(run, server, ["/a.xml", "/b.xml"])
        assert len(workers) == (2 if CORES >= 2 else 0)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()

    wait_until(lambda: not any(alive(pid) for pid in workers), "the workers to end with their run", 10)

    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr  # 75 would mean the store is still locked
    assert "2 feeds: 2 ok" in again.stdout


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_run_whose_workers_are_killed_reads_the_rest_itself(tmp_path: Path, server: FeedServer) -> None:
    workers_killed = threading.Event()

    def after_the_kill(body: bytes) -> Response:
        workers_killed.wait(30)  # the feeds arrive only once there is no worker left to read them
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    for n in (1, 2):
        body = rss([item(n)]).encode()
        server.route(f"/{n}.xml", lambda _r, body=body: after_the_kill(body))
    config = write_config(tmp_path, [server.url("/1.xml"), server.url("/2.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = workers_of(run, server, ["/1.xml", "/2.xml"])
    assert len(workers) == 2
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
