"""Progress on a terminal, under a real pseudo-terminal; nothing extra through a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from conftest import FeedServer, item, rss, run_cli, write_config

STATUS = re.compile(r"\r\x1b\[K(\[\d+/\d+ feeds done(?:, \d+ failed)?\])?")


def run_on_terminal(*args: str | Path) -> tuple[int, str]:
    """``ingest ARGS`` with its standard output on a pseudo-terminal; the bytes the terminal got."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", *map(str, args)],
        stdout=follower, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env={**os.environ, "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(60), b"".join(chunks).decode().replace("\r\n", "\n")


def feeds(server: FeedServer) -> list[dict[str, str]]:
    for n in range(1, 4):
        server.feed(f"/f{n}.xml", rss([item(n)]))
    server.static("/broken.xml", 500, "no")
    return [{"url": server.url(f"/f{n}.xml"), "name": f"feed{n}"} for n in range(1, 4)] + [
        {"url": server.url("/broken.xml"), "name": "broken"}
    ]


def test_a_terminal_sees_done_total_and_failures_between_whole_feed_lines(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, feeds(server))
    code, shown = run_on_terminal("--config", config, "run")
    assert code == 1
    statuses = [m.group(1) for m in STATUS.finditer(shown) if m.group(1)]
    assert statuses[0] == "[0/4 feeds done]" and len(statuses) == 5
    assert any(s.endswith(", 1 failed]") for s in statuses)
    assert statuses[-1] == "[4/4 feeds done, 1 failed]"
    # with the status line taken out, what remains is exactly the plain output: whole lines, in order
    plain = STATUS.sub("", shown).splitlines()
    assert sorted(line.split()[0] for line in plain[:-1]) == ["broken", "feed1", "feed2", "feed3"]
    assert plain[-1].startswith("4 feeds: 3 ok, 1 failed")
    assert shown.rstrip("\n").endswith(plain[-1])  # the status line was erased before the summary


def test_a_pipe_and_json_get_nothing_extra(tmp_path: Path, server: FeedServer) -> None:
    config = write_config(tmp_path, feeds(server))
    piped = run_cli("--config", config, "run")
    assert piped.returncode == 1
    assert "\r" not in piped.stdout and "\x1b" not in piped.stdout and "feeds done" not in piped.stdout
    assert len(piped.stdout.splitlines()) == 5

    code, shown = run_on_terminal("--json", "--config", config, "run")
    assert code == 1
    assert "\x1b" not in shown and "feeds done" not in shown
    assert all(line.startswith("{") for line in shown.splitlines())
