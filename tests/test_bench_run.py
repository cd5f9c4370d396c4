"""The benchmark harness runs end to end on a tiny corpus: nginx, ingest's three phases, the floors.

It checks the harness, not speed: no number is asserted, only that every
run wrote the files it had to (the harness itself stops with status 2 when
a count is wrong) and that the report shows each phase and its targets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


@pytest.mark.skipif(NGINX is None and not os.environ.get("INGEST_REQUIRE_NGINX"), reason="nginx is not installed")
def test_the_benchmark_measures_every_phase_on_a_small_corpus(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "perf.py"), "--feeds", "3", "--scale-feeds", "0", "--reps", "1",
         "--skip-reader", "--settle", "0", "--keep", str(tmp_path / "work"), "--json", str(tmp_path / "numbers.json")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: a target missed on this machine
    rows = [line.replace(" ", "") for line in done.stdout.splitlines()]
    for phase, files in (("cold", 75), ("warm", 0), ("incremental", 1)):
        assert any(row.startswith(f"|ingest|{phase}|3|") and row.endswith(f"|{files}|") for row in rows), done.stdout
    for floor in ("fetch", "cold-floor", "conditional"):
        assert any(row.startswith(f"|floor|{floor}|3|") for row in rows), done.stdout
    assert "warm: ingest / conditional floor" in done.stdout
    assert "file creation in the work directory:" in done.stdout
    assert (tmp_path / "numbers.json").exists()
