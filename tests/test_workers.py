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
from ingest.app.run import READ_HERE_FIRST
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
    except (FileNotFoundError, ProcessLookupError):  # gone, or reaped between the open and the read
        return False


def wait_until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def forked_workers(run: subprocess.Popen[bytes] | subprocess.Popen[str], server: FeedServer, paths: list[str]) -> list[int]:
    """The process ids of a run's forked workers, once it is fetching ``paths``.

    A run that will read many feeds whole forks its pool before the first
    request is sent, so a run that has asked every feed has all the workers
    it will have: one per core it may use, and none at all on a single core.
    """
    wait_until(lambda: all(server.in_flight.get(path) for path in paths), "the run to ask every feed")
    assert run.poll() is None, "the run ended early"
    return children(run.pid)


def served_workers(run: subprocess.Popen[bytes] | subprocess.Popen[str]) -> list[int]:
    """The process ids of a run's workers started from a fork server, once it has some."""
    def found() -> list[int]:
        assert run.poll() is None, "the run ended early"
        return [worker for child in children(run.pid) for worker in children(child)]

    wait_until(lambda: bool(found()), "the run to start a worker from a fork server")
    return found()


MANY = READ_HERE_FIRST + 2  # more feeds to read than a run reads itself before it starts workers
ASKED_AT_ONCE = MANY + 1  # every feed is on this one loopback host


def start_run(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_run_in_which_every_feed_answers_304_starts_no_process(tmp_path: Path, server: FeedServer) -> None:
    release = threading.Event()
    paths = [f"/{n}.xml" for n in range(MANY)]
    for n, path in enumerate(paths):
        server.feed(path, rss([item(n)]))
    config = write_config(tmp_path, [server.url(path) for path in paths], concurrency=ASKED_AT_ONCE, host_concurrency=ASKED_AT_ONCE)
    first = run_cli("--config", config, "run")
    assert f"{MANY} feeds: {MANY} ok" in first.stdout, first.stdout + first.stderr

    def last(request) -> Response:  # type: ignore[no-untyped-def]
        release.wait(30)
        return Response(304, b"", {})

    server.route(paths[-1], last)
    run = start_run(config)
    try:
        wait_until(lambda: server.in_flight.get(paths[-1]), "the run to ask its last feed")
        time.sleep(0.3)  # the others have answered 304 by now
        assert run.poll() is None
        assert children(run.pid) == []
    finally:
        release.set()
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert out.count("unchanged (not modified)") == MANY, out


def run_with_changes(
    tmp_path: Path, server: FeedServer, feeds: int, changed: int
) -> tuple[subprocess.Popen[str], threading.Event, str]:
    """A run over ``feeds`` feeds read once before, the first ``changed`` with a new item each.

    The last feed's answer waits for the returned event, which keeps the run
    going while the test looks at its processes; the path of that feed too.
    """
    release = threading.Event()
    paths = [f"/{n}.xml" for n in range(feeds)]
    for n, path in enumerate(paths):
        server.feed(path, rss([item(n)]))
    config = write_config(tmp_path, [server.url(path) for path in paths], concurrency=ASKED_AT_ONCE, host_concurrency=ASKED_AT_ONCE)
    assert run_cli("--config", config, "run").returncode == 0
    for n, path in enumerate(paths[:changed]):
        server.feed(path, rss([item(n), item(100 + n)]))
    last = feeds - 1
    held = rss([item(last), item(100 + last)] if changed == feeds else [item(last)]).encode()
    server.route(paths[-1], lambda _r: (release.wait(30), Response(200, held, {"Content-Type": "application/rss+xml"}))[1])
    return start_run(config), release, paths[-1]


def test_a_run_with_a_few_changed_feeds_reads_them_itself(tmp_path: Path, server: FeedServer) -> None:
    run, release, last = run_with_changes(tmp_path, server, MANY, READ_HERE_FIRST)
    try:
        wait_until(lambda: server.in_flight.get(last), "the run to ask its last feed")
        time.sleep(0.5)  # the changed feeds have been read by now
        assert children(run.pid) == []
    finally:
        release.set()
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert f"wrote {READ_HERE_FIRST} new" in out, out


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_run_with_many_changed_feeds_starts_workers_from_a_fork_server(tmp_path: Path, server: FeedServer) -> None:
    run, release, _last = run_with_changes(tmp_path, server, MANY + 1, MANY + 1)
    try:
        assert served_workers(run)
    finally:
        release.set()
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert f"wrote {MANY + 1} new" in out, out


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_killed_run_leaves_no_worker_behind_and_the_store_free(tmp_path: Path, server: FeedServer) -> None:
    paths = [f"/{n}.xml" for n in range(MANY)]
    for n, path in enumerate(paths):
        body = rss([item(n)]).encode()
        server.route(path, lambda _r, body=body: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=30))
    config = write_config(tmp_path, [server.url(path) for path in paths], concurrency=ASKED_AT_ONCE, host_concurrency=ASKED_AT_ONCE)
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = forked_workers(run, server, paths)
        assert len(workers) == 2
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()

    wait_until(lambda: not any(alive(pid) for pid in workers), "the workers to end with their run", 10)

    for n, path in enumerate(paths):
        server.feed(path, rss([item(n)]))
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr  # 75 would mean the store is still locked
    assert f"{MANY} feeds: {MANY} ok" in again.stdout


@pytest.mark.skipif(CORES < 2, reason="with one core a run reads its feeds itself and starts no worker")
def test_a_run_whose_workers_are_killed_reads_the_rest_itself(tmp_path: Path, server: FeedServer) -> None:
    workers_killed = threading.Event()

    def after_the_kill(body: bytes) -> Response:
        workers_killed.wait(30)  # the feeds arrive only once there is no worker left to read them
        return Response(200, body, {"Content-Type": "application/rss+xml"})

    paths = [f"/{n}.xml" for n in range(MANY)]
    for n, path in enumerate(paths):
        body = rss([item(n)]).encode()
        server.route(path, lambda _r, body=body: after_the_kill(body))
    config = write_config(tmp_path, [server.url(path) for path in paths], concurrency=ASKED_AT_ONCE, host_concurrency=ASKED_AT_ONCE)
    run = start_run(config)
    workers = forked_workers(run, server, paths)
    assert len(workers) == 2
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    wait_until(lambda: not any(alive(pid) for pid in workers), "the killed workers to be gone", 10)
    workers_killed.set()

    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert f"{MANY} feeds: {MANY} ok" in out
    assert len(list((tmp_path / "posts").iterdir())) == MANY
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


def test_workers_that_cannot_start_leave_the_jobs_to_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A process limit cannot be reached for real here (root has none): the start is made to fail."""
    import asyncio

    from ingest.shell.reader_pool import Readers

    def refuse(self: Readers, workers: int) -> None:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(Readers, "_start", refuse)

    async def jobs() -> list[int]:
        done = []
        with Readers(2, inline=1) as readers:
            for _ in range(4):
                done.append(await readers.call(os.getpid))
                await asyncio.sleep(0.05)  # as a run waits for its next answer
        return done

    assert asyncio.run(jobs()) == [os.getpid()] * 4
    assert caplog.text.count("could not start worker processes") == 1
