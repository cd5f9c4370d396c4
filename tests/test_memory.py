"""What keeps a run's memory flat with the number of feeds, checked by counting objects, never by timing.

A worker process reads hundreds of feeds in a run: anything a read leaves
in a reference cycle waits for a full garbage collection, which comes
seldom, so the worker grows with every feed read. And a run starts every
feed's poll at once, most of them waiting for a slot: whatever a waiting
poll holds is held as many times as there are feeds.
"""

from __future__ import annotations

import gc
from collections import Counter

from conftest import item, rss

from ingest.core.config.model import FeedConfig
from ingest.core.records import FetchResult, Prepared, Unchanged
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
