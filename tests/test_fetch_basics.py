"""Fetching: gzip, User-Agent, bounded concurrency, and a full disk losing nothing."""

from __future__ import annotations

import gzip
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from conftest import FeedServer, Request, Response, item, rss, run_cli, write_config
from ingest import __version__


def test_gzip_response_and_user_agent(tmp_path: Path, server: FeedServer) -> None:
    body = gzip.compress(rss([item(1), item(2)]).encode())
    server.route(
        "/gz.xml",
        lambda _r: Response(200, body, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}),
    )
    config = write_config(tmp_path, [server.url("/gz.xml")])

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert "2 new" in result.stdout
    headers = server.requests_to("/gz.xml")[0].headers
    assert "gzip" in headers["accept-encoding"]
    assert headers["user-agent"].startswith(f"ingest/{__version__} (+http")


def test_concurrency_is_bounded(tmp_path: Path, server: FeedServer) -> None:
    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def slow(request: Request) -> Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.3)
        with lock:
            in_flight -= 1
        n = int(request.path.strip("/").split(".")[0])
        return Response(200, rss([item(n)]).encode(), {"Content-Type": "application/rss+xml"})

    for n in range(1, 7):
        server.route(f"/{n}.xml", slow)
    config = write_config(tmp_path, [server.url(f"/{n}.xml") for n in range(1, 7)], concurrency=2)

    result = run_cli("--config", config, "run")

    assert result.returncode == 0, result.stdout
    assert len(list((tmp_path / "posts").iterdir())) == 6
    assert peak == 2


def _limit_file_size(max_bytes: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write with EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


def test_a_full_disk_fails_the_feed_cleanly_and_the_next_run_heals_it(tmp_path: Path, server: FeedServer) -> None:
    huge = "<p>" + "x" * 400_000 + "</p>"
    server.feed("/a.xml", rss([item(1), item(2, content=huge), item(3)]))
    config = write_config(tmp_path, [{"url": server.url("/a.xml"), "name": "a"}])

    # every file of the process, the store's included, is limited: a disk that fills up mid-run
    limited = subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), "run"],
        capture_output=True, text=True, timeout=60, preexec_fn=_limit_file_size(300_000),
    )

    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "a  failed: cannot " in limited.stdout
    assert "Traceback" not in limited.stderr
    names = sorted(p.name for p in (tmp_path / "posts").iterdir())
    assert not [n for n in names if n.startswith(".")]  # no temporary file left behind
    for name in names:  # whatever was written is whole
        assert (tmp_path / "posts" / name).read_text().endswith("</p>\n")

    healed = run_cli("--config", config, "run")

    assert healed.returncode == 0, healed.stdout + healed.stderr
    names = sorted(p.name for p in (tmp_path / "posts").iterdir())
    assert names == [f"story-number-{n}-about-things.md" for n in (1, 2, 3)]  # each once, none lost
    written = tmp_path / "posts" / "story-number-2-about-things.md"
    assert written.read_text().endswith(huge + "\n")
    assert yaml.safe_load(written.read_text().split("---\n")[1])["link"] == "https://example.com/story/2"
