"""What keeps a run's memory flat with the number of feeds, checked by counting objects, never by timing.

A worker process reads hundreds of feeds in a run: anything a read leaves
in a reference cycle waits for a full garbage collection, which comes
seldom, so the worker grows with every feed read. And a run starts every
feed's poll at once, most of them waiting for a slot: whatever a waiting
poll holds is held as many times as there are feeds.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections import Counter
from pathlib import Path

from conftest import FeedServer, item, rss, write_config

from ingest.core.config.model import FeedConfig
from ingest.core.records import FeedState, FetchResult, Prepared, Unchanged
from ingest.shell.reader_pool import read_feed

URL = "http://127.0.0.1/feed.xml"
FEED = FeedConfig(url=URL, name="memory")


def _cyclic_garbage(work: object) -> Counter[str]:
    """The objects ``work()`` left unreachable only through reference cycles, by type."""
    gc.collect()
    gc.disable()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work()  # type: ignore[operator]
        gc.collect()
        found = Counter(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.garbage.clear()
        gc.set_debug(flags)
        gc.enable()
    return found


def test_reading_a_feed_leaves_no_reference_cycles() -> None:
    """A whole read, then a changed body read item by item (the expat scan): nothing left for the collector."""
    first = rss([item(n) for n in range(1, 26)]).encode()
    changed = rss([item(n) for n in range(2, 27)]).encode()

    def read(content: bytes, known: frozenset[str] = frozenset(), items: frozenset[str] = frozenset()):
        result = FetchResult(URL, URL, 200, content, {"content-type": "application/rss+xml; charset=utf-8"})
        return read_feed(result, FEED, "1", "hugo", "html", "salt", known, items)

    warm = read(first)  # imports and caches come first, outside the count
    known = frozenset(e.source for e in warm.entries if isinstance(e, Prepared))
    tokens = frozenset(warm.items.values())
    assert len(known) == 25 and len(tokens) == 25
    outcome: list = []

    def work() -> None:
        outcome.append(read(first))
        outcome.append(read(changed, known, tokens))

    garbage = _cyclic_garbage(work)
    assert garbage == Counter(), garbage
    whole, incremental = outcome
    assert sum(isinstance(e, Prepared) for e in whole.entries) == 25
    # the changed body was read item by item: one new entry, the 24 others only recognised
    assert sum(isinstance(e, Prepared) for e in incremental.entries) == 1
    assert sum(isinstance(e, Unchanged) for e in incremental.entries) == 24


def test_waiting_polls_do_not_hold_what_the_store_remembers_of_each_body(
    tmp_path: Path, server: FeedServer
) -> None:
    """While most of a run's polls wait for a slot, none holds its feed's remembered entry and item hashes."""
    from ingest.app import config_file as settings
    from ingest.app.run import run_feeds
    from ingest.shell.store import open_store

    feeds = 40
    for number in range(feeds):
        server.feed(f"/f{number}.xml", rss([item(number * 10 + n) for n in range(1, 6)], title=f"Feed {number}"))
    path = write_config(
        tmp_path, [{"url": server.url(f"/f{n}.xml"), "name": f"f{n}"} for n in range(feeds)],
        concurrency=2, host_concurrency=2,
    )
    held: list[int] = []

    def count_held(_report: object) -> None:
        if not held:  # the first feed is done: the others have all started, and wait
            held.append(sum(
                1 for obj in gc.get_objects()
                if isinstance(obj, FeedState) and (obj.entry_sources or obj.item_tokens)
            ))

    def run(on_feed=None) -> list:
        config = settings.load(path)
        store = open_store(config.store)
        try:
            return asyncio.run(run_feeds(config, config.feeds, store, on_feed=on_feed))
        finally:
            store.close()

    cold = run()
    assert all(report.status == "ok" and len(report.new) == 5 for report in cold)
    warm = run(count_held)  # every feed 304: nothing is read, and every poll found its stored state
    assert [report.status for report in warm] == ["not-modified"] * feeds
    assert held and held[0] <= 2, f"{held[0]} waiting polls hold their feed's remembered hashes"


def test_a_worker_keeps_what_it_inherited_out_of_the_collector() -> None:
    """A collection in a worker would write to every object it inherited from the fork server, making each
    page its own copy instead of one shared by all the workers."""
    from ingest.shell.reader_pool import Readers

    async def in_a_worker() -> tuple[int, int]:
        with Readers(2) as readers:
            return await readers.call(gc.get_freeze_count), await readers.call(os.getpid)

    frozen, worker = asyncio.run(in_a_worker())
    assert worker != os.getpid()
    assert frozen > 1000  # the preloaded modules' functions and classes at least
    assert gc.get_freeze_count() == 0  # this process collects as usual
