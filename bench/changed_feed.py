"""The per-poll cost of a changed feed: 25 items of which one is new, parsed whole or only the new item.

Run it with ``.venv/bin/python bench/changed_feed.py`` (options: ``--polls``).
It takes the benchmark corpus's first feed (bench/corpus.py: 25 items of about
5.8 KB each; every generation adds one item at the top and drops the oldest)
and polls it as the daemon does (``poll_feed``, in this process: fetch of a
``file://`` feed, read, store, one file written and made durable), once per
generation, in two sites side by side:

- ``full``: the store's memory of the feed's items is wiped before each poll
  (untimed), so the changed body is parsed whole, as before items were
  remembered; entries whose source hash is known are still not normalized;
- ``items``: as ingest runs, only the new item is parsed.

Polls of the two sites alternate, so both see the same machine. It prints the
median wall and CPU time per poll of each, and of the reading alone
(``read_feed``: parse, normalize, render), with the ratio full / items.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import feed_bytes  # noqa: E402

from ingest.app.run import poll_feed  # noqa: E402
from ingest.app.config_file import load  # noqa: E402
from ingest.core.records import FetchResult  # noqa: E402
from ingest.shell.fetch import Client  # noqa: E402
from ingest.shell.reader_pool import read_feed  # noqa: E402
from ingest.shell.store import Store  # noqa: E402


class Site:
    def __init__(self, root: Path, feed: Path, wipe: bool):
        root.mkdir()
        config = root / "feeds.yaml"
        config.write_text(f"output: posts\nstore: ingest.sqlite3\nfeeds:\n  - url: {feed.as_uri()}\n    name: news\n")
        self.config = load(config)
        self.store = Store.open(self.config.store)
        self.wipe = wipe
        self.wall: list[float] = []
        self.cpu: list[float] = []

    async def poll(self, client: Client, timed: bool) -> None:
        if self.wipe:
            db = sqlite3.connect(self.config.store)
            with db:
                db.execute("UPDATE feeds SET item_tokens = NULL")
            db.close()
        wall, cpu = time.perf_counter(), time.process_time()
        report = await poll_feed(self.config, self.config.feeds[0], self.store, client)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        expected = 1 if timed else 25
        if report.status != "ok" or len(report.new) != expected:
            raise SystemExit(f"wrong poll: {report.status}, {len(report.new)} new files, expected {expected}")
        if timed:
            self.wall.append(wall)
            self.cpu.append(cpu)


async def polls(work: Path, count: int) -> tuple[Site, Site]:
    feed = work / "news.xml"
    feed.write_bytes(feed_bytes(0, generation=0))
    full, items = Site(work / "full", feed, wipe=True), Site(work / "items", feed, wipe=False)
    async with Client(4, None) as client:
        for site in (full, items):
            await site.poll(client, timed=False)
        for generation in range(1, count + 1):
            feed.write_bytes(feed_bytes(0, generation=generation))
            order = (full, items) if generation % 2 else (items, full)
            for site in order:
                await site.poll(client, timed=True)
    return full, items


def reading(site: Site, count: int) -> tuple[float, float]:
    """Median seconds of ``read_feed`` on one changed body: parsed whole, and with the items remembered."""
    feed = site.config.feeds[0]

    def fetched(generation: int) -> FetchResult:
        return FetchResult(url=feed.url, final_url=feed.url, status=200, content=feed_bytes(0, generation=generation))

    before = read_feed(fetched(count), feed, "1", "hugo", "html", "salt")
    known = frozenset(entry.source for entry in before.entries)
    tokens = frozenset(before.items.values())
    result = fetched(count + 1)
    times: dict[bool, list[float]] = {False: [], True: []}
    for rep in range(30):
        for remembered in ((False, True) if rep % 2 else (True, False)):
            start = time.perf_counter()
            read = read_feed(result, feed, "1", "hugo", "html", "salt", known, tokens if remembered else frozenset())
            times[remembered].append(time.perf_counter() - start)
            if read.error is not None or sum(not hasattr(entry, "article") for entry in read.entries) != 24:
                raise SystemExit("wrong read: expected 24 unchanged entries and one new")
    return statistics.median(times[False]), statistics.median(times[True])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=40, help="changed polls per site (default 40)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ingest-changed-feed-") as work:
        full, items = asyncio.run(polls(Path(work), args.polls))
        read_full, read_items = reading(items, args.polls)
        for site in (full, items):
            site.store.close()

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print(f"changed feed: 25 items, 1 new; {args.polls} polls per site, medians, full parse / changed items only")
    rows = [
        ("poll, wall", ms(full.wall), ms(items.wall)),
        ("poll, CPU", ms(full.cpu), ms(items.cpu)),
        ("read_feed alone", read_full * 1000, read_items * 1000),
    ]
    for label, before, after in rows:
        print(f"  {label:<16} {before:7.2f} ms  {after:7.2f} ms  ratio {before / after:5.2f}")
    print(
        f"changed-feed: poll_cpu_ms_full={ms(full.cpu):.2f} poll_cpu_ms_items={ms(items.cpu):.2f} "
        f"ratio={ms(full.cpu) / ms(items.cpu):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
