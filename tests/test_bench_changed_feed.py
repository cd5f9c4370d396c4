"""The changed-feed benchmark runs and reports both ways (never timed here: figures are its output, not a test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "changed_feed.py"


def test_the_changed_feed_benchmark_polls_both_sites_and_prints_its_ratio() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--polls", "2"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"changed-feed: poll_cpu_ms_full=([\d.]+) poll_cpu_ms_items=([\d.]+) ratio=([\d.]+)", last)
    assert match, done.stdout
    full, items, ratio = map(float, match.groups())
    assert full > 0 and items > 0 and abs(ratio - full / items) < 0.02 * ratio + 0.01
    assert "read_feed alone" in done.stdout
