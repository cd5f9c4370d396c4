"""The daemon-scale benchmark runs end to end in its smallest form: nginx, a seeded store, the daemon, its line.

It checks the harness, not speed: the final line has every figure, the
daemon polled, and the feeds that gain items were read with their new item.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
LINE = re.compile(
    r"^daemon-scale: feeds=(\d+) polls=(\d+) polls_per_s=([\d.]+) cpu_pct=([\d.]+) rss_mb=(\d+) lag_p99_s=([\d.]+)$"
)


@pytest.mark.timeout(300)
@pytest.mark.skipif(NGINX is None and not os.environ.get("INGEST_REQUIRE_NGINX"), reason="nginx is not installed")
def test_the_scale_benchmark_prints_its_line_on_a_small_corpus(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "daemon_scale.py"), "--daemon-scale", "20", "--interval", "2",
         "--minutes", "0.2", "--items", "2", "--keep", str(tmp_path / "work"), "--json", str(tmp_path / "f.json")],
        capture_output=True, text=True, timeout=280,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    last = done.stdout.splitlines()[-1]
    match = LINE.match(last)
    assert match, done.stdout
    assert int(match[1]) == 20
    assert int(match[2]) > 0 and float(match[5]) > 0
    figures = json.loads((tmp_path / "f.json").read_text())
    assert figures["polls"] == int(match[2])
    # feeds 0 and 10 gain an item each period, and the daemon wrote it
    assert figures["changed_polls"] >= 1 and figures["new_files"] >= 1
    assert figures["failed_polls"] == 0
    # every file is the seeding run's (two items of each of the two changing feeds) or a poll's new one
    events = [json.loads(line) for line in (tmp_path / "work" / "run" / "daemon.err").read_text().splitlines()
              if line.startswith("{")]
    written = sum(e["new"] for e in events if e["event"] == "poll")
    assert written >= figures["new_files"]
    assert len(list((tmp_path / "work" / "run" / "out").rglob("*.md"))) == 2 * 2 + written
