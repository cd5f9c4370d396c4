"""The same-feed benchmark runs and prints a ratio per size (tests never assert on its times)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "same_feed.py"


def test_the_same_feed_benchmark_prints_a_ratio_per_size() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--sizes", "30,60"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("baseline: parsing a 25-item feed:")
    assert [re.match(r"\s*(\d+) stored entries: judge_same\s+[\d.]+ ms = [\d.]+ x the parse$", line).group(1)
            for line in lines[1:]] == ["30", "60"]
