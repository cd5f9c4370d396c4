"""The extraction benchmark runs and reports every saved page (it asserts nothing about time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_extraction_benchmark_reports_each_saved_page(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "extract.py"), "--reps", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    pages = sorted(p.name for p in (ROOT / "tests" / "fixtures" / "articles").glob("*.html"))
    rows = json.loads(out.read_text())
    assert [row["page"] for row in rows] == pages
    for row in rows:
        assert row["extract"]["peak_rss_mb"] > 0 and row["baseline"]["cpu_ms"] >= 0
        assert row["page"] in done.stdout
    assert "importing the extractor" in done.stdout
