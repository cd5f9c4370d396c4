"""What ``content: extract`` costs per entry: CPU and peak memory of extracting the saved article pages.

Usage: ``.venv/bin/python bench/extract.py [--reps 20] [--json PATH]``

For each saved page of tests/fixtures/articles (a news article with
sidebars, a blog post with code and a figure, a page whose text sits in
<main>, an index page with no article, an app shell, hostile HTML), a fresh
process imports the extractor and extracts the page ``--reps`` times; it
reports the CPU time per entry and the process's peak RSS. The baseline,
measured in the same run the same way, is what a feed that carries the
full text already costs for the same HTML: the sanitizer alone
(``normalize.sanitize``), in a process that never imports the extractor.
Prints one line per page with the ratios; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures" / "articles"

_PROBE = r"""
import json, resource, sys, time
started = time.process_time()
mode, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
url = "https://www.example.com/2026/11/story"
if mode == "extract":
    from ingest.core.content.article_page import extract_article
    extract_article(b"<html><body><p>warm up</p></body></html>", url, "text/html")
    work = lambda: extract_article(data, url, "text/html")
else:
    from ingest.core.content.sanitize import sanitize
    text = data.decode("utf-8")
    sanitize("<p>warm up</p>", url)
    work = lambda: sanitize(text, url)
imported = time.process_time() - started
start = time.process_time()
for _ in range(reps):
    work()
per_entry = (time.process_time() - start) / reps
print(json.dumps({"cpu_ms": per_entry * 1000, "import_ms": imported * 1000,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def probe(mode: str, page: Path, reps: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, str(page), str(reps)], capture_output=True, text=True, check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="extractions per page in each process")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args()
    rows = []
    print(f"{'page':<14} {'extract ms':>10} {'sanitize ms':>11} {'ratio':>6} {'peak MB':>8} {'base MB':>8} {'ratio':>6}")
    for page in sorted(PAGES.glob("*.html")):
        ours, base = probe("extract", page, args.reps), probe("sanitize", page, args.reps)
        row = {"page": page.name, "extract": ours, "baseline": base}
        rows.append(row)
        print(
            f"{page.name:<14} {ours['cpu_ms']:>10.2f} {base['cpu_ms']:>11.2f} "
            f"{ours['cpu_ms'] / max(base['cpu_ms'], 1e-6):>5.0f}x "
            f"{ours['peak_rss_mb']:>8.1f} {base['peak_rss_mb']:>8.1f} {ours['peak_rss_mb'] / base['peak_rss_mb']:>5.2f}x"
        )
    imports = sorted(r["extract"]["import_ms"] - r["baseline"]["import_ms"] for r in rows)
    print(f"importing the extractor: {imports[len(imports) // 2]:.0f} ms of CPU more than the sanitizer alone (median)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
