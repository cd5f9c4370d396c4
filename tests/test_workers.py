"""A run reads its feeds in worker processes; they never outlive it or hold its store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FeedServer, Response, item, rss, run_cli, write_config

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


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


def two_workers(run: subprocess.Popen[bytes] | subprocess.Popen[str]) -> list[int]:
    """The process ids of a run's two workers, once it has started them."""
    deadline = time.monotonic() + 20
    while len(workers := children(run.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2, "the run did not start its two workers"
    return workers


def test_a_killed_run_leaves_no_worker_behind_and_the_store_free(tmp_path: Path, server: FeedServer) -> None:
    body = rss([item(1)]).encode()
    for path in ("/a.xml", "/b.xml"):
        server.route(path, lambda _r: Response(200, body, {"Content-Type": "application/rss+xml"}, delay=30))
    config = write_config(tmp_path, [server.url("/a.xml"), server.url("/b.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = two_workers(run)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "a worker outlived its run"

    server.feed("/a.xml", rss([item(1)]))
    server.feed("/b.xml", rss([item(2)]))
    again = run_cli("--config", config, "run")
    assert again.returncode == 0, again.stdout + again.stderr  # 75 would mean the store is still locked
    assert "2 feeds: 2 ok" in again.stdout


def test_a_run_whose_workers_are_killed_reads_the_rest_itself(tmp_path: Path, server: FeedServer) -> None:
    for n in (1, 2):
        body = rss([item(n)]).encode()
        server.route(f"/{n}.xml", lambda _r, body=body: Response(200, body, {"Content-Type": "application/rss+xml"},
                                                                 delay=2))
    config = write_config(tmp_path, [server.url("/1.xml"), server.url("/2.xml")])
    run = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for pid in two_workers(run):
        os.kill(pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would

    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, out + err
    assert "2 feeds: 2 ok" in out
    assert len(list((tmp_path / "posts").iterdir())) == 2
    assert "reading the remaining feeds in this process" in err
