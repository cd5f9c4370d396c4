"""A reader that stops reading (``| head``) does not stop the work: the run finishes, quietly, with its own exit code."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import FeedServer, Request, Response, item, rss, run_cli, write_config

FEEDS = 12


def _held_feeds(server: FeedServer, release: threading.Event) -> list[dict[str, str]]:
    """Twelve feeds; all but the first wait until ``release``, so their lines come after the reader is gone."""
    feeds = []
    for n in range(FEEDS):
        body = rss([item(n * 10 + k) for k in range(2)]).encode()

        def answer(_request: Request, body: bytes = body, held: bool = n > 0) -> Response:
            if held:
                release.wait(60)
            return Response(200, body, {"Content-Type": "application/rss+xml"})

        server.route(f"/{n}.xml", answer)
        feeds.append({"url": server.url(f"/{n}.xml"), "name": f"feed{n:02d}"})
    return feeds


@pytest.mark.parametrize("as_json", [False, True], ids=["lines", "json"])
def test_run_into_a_pipe_closed_after_the_first_line_finishes_every_feed(
    tmp_path: Path, server: FeedServer, as_json: bool
) -> None:
    release = threading.Event()
    config = write_config(tmp_path, _held_feeds(server, release))
    args = [sys.executable, "-m", "ingest", *(["--json"] if as_json else []), "--config", str(config), "run"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline().decode()
        proc.stdout.close()  # as `head -1` does: the reader is gone before the other feeds finish
        release.set()
        code = proc.wait(timeout=120)
        stderr = proc.stderr.read().decode()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert (json.loads(first)["name"] if as_json else first.split()[0]) == "feed00"
    assert code == 0, stderr
    assert stderr == ""  # no traceback, no "Broken pipe"
    assert len(list((tmp_path / "posts").glob("*.md"))) == 2 * FEEDS  # every feed was processed
    again = run_cli("--config", config, "run")  # and recorded: nothing left to write
    assert again.returncode == 0 and f"{FEEDS} feeds: {FEEDS} ok" in again.stdout
    assert "wrote 0 new and 0 updated" in again.stdout


def test_run_into_a_closed_pipe_keeps_the_failure_exit_code(tmp_path: Path, server: FeedServer) -> None:
    release = threading.Event()
    feeds = _held_feeds(server, release)
    server.static("/broken.xml", 500, "oops")
    config = write_config(tmp_path, [*feeds, {"url": server.url("/broken.xml"), "name": "zbroken"}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "--config", str(config), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        release.set()
        code = proc.wait(timeout=120)
        stderr = proc.stderr.read().decode()
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert code == 1 and stderr == ""  # the run's own answer: one feed failed
    assert len(list((tmp_path / "posts").glob("*.md"))) == 2 * FEEDS


def test_feeds_json_into_head_prints_no_traceback(tmp_path: Path) -> None:
    # more output than a pipe holds, so the writer meets the closed pipe whatever the timing
    config = write_config(tmp_path, [{"url": f"https://example.org/{n}.xml", "name": f"f{n}"} for n in range(400)])
    done = subprocess.run(
        f"{sys.executable} -m ingest --json --config {config} feeds | head -2; exit ${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == ["f0", "f1"]
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr
