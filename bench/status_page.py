"""What the status report costs as the feeds grow: gathering it from the store and rendering one page.

Run it with ``.venv/bin/python bench/status_page.py`` (option ``--sizes``).
For each size it makes a SQLite store with that many feeds, 20 entries each
and a mix of states (every 10th failing, every 25th deferred, every 50th
retired), then times, median of five: gathering the report (two whole-table
statements and the pure judgement) and rendering the first page of HTML and
of JSON. It prints milliseconds per size and the cost per 1,000 feeds
against the smallest size measured in the same run: a ratio near 1 means
the cost grows linearly with the feeds, never faster.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.app.status import gather  # noqa: E402
from ingest.core.config.model import Config, FeedConfig  # noqa: E402
from ingest.faces.status_page import View, page_json, render_html  # noqa: E402
from ingest.shell.store import Store  # noqa: E402


def build(directory: Path, count: int) -> tuple[Config, Store]:
    now = datetime.now(timezone.utc)
    path = directory / "ingest.sqlite3"
    Store.open(path).close()  # the schema, as ingest makes it
    feeds, rows, entries = [], [], []
    for n in range(count):
        url = f"https://host{n % 500}.example/feed/{n}.xml"
        feeds.append(FeedConfig(url=url, name=f"feed-{n:05d}"))
        failing = n % 10 == 0
        polled = (now - timedelta(minutes=n % 60)).isoformat()
        rows.append((n + 1, url, f"feed-{n:05d}", polled, None if failing else polled,
                     "HTTP 500 Internal Server Error" if failing else None, 3 if failing else 0,
                     (now + timedelta(hours=1)).isoformat() if n % 25 == 0 else None,
                     polled if n % 50 == 0 else None, (now + timedelta(minutes=30)).isoformat()))
        for k in range(20):
            seen = (now - timedelta(days=(n % 400) + k)).isoformat()
            entries.append((f"{n}-{k}", n + 1, f"f{n}/e{k}.md", "h", "written", seen, seen))
    with sqlite3.connect(path) as db:  # filled directly: 50,000 feeds through the store API take minutes
        db.executemany(
            "INSERT INTO feeds (id, url, name, last_polled_at, last_success_at, last_error, error_count,"
            " not_before, retired_at, next_poll_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT INTO entries (identity, feed_id, path, content_hash, state, first_seen, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)", entries)
    config = Config(path=directory / "feeds.yaml", output=directory / "out", store=path, feeds=tuple(feeds))
    return config, Store.open(path, readonly=True)


def median_ms(action, repeats: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        started = time.process_time()
        action()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="feed counts, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'feeds':>7}  {'gather ms':>10}  {'html ms':>8}  {'json ms':>8}  {'total ms':>9}  per-1000 ratio")
    base = None
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            config, store = build(Path(tmp), size)
            with store:
                now = datetime.now(timezone.utc)
                gathered = median_ms(lambda: gather(config, store, now))  # noqa: B023 (timed at once)
                report = gather(config, store, now)
                html = median_ms(lambda: render_html(report, View()))  # noqa: B023 (timed at once)
                js = median_ms(lambda: page_json(report, View()))  # noqa: B023 (timed at once)
        total = gathered + html + js
        per = total / size * 1000
        base = base or per
        print(f"{size:>7}  {gathered:>10.1f}  {html:>8.1f}  {js:>8.1f}  {total:>9.1f}  {per / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
