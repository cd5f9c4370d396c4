"""What judging a publisher's move costs as a feed's stored entries grow, against parsing the feed itself.

Run it with ``.venv/bin/python bench/same_feed.py`` (option ``--sizes``).
For each size it makes a SQLite store with one feed of that many entries
(bodies of about 3 KB, as stored), then times, best of five, ``judge_same``
for a document of 25 entries of which one is new: the batched lookup of
the identities, and the comparison with the feed's most recently stored
entries that only a new entry triggers. The baseline, measured in the same
run, is what every changed feed pays anyway: parsing its 25-item document
(``bench/corpus.py``) with ``core.reading.parse``. A ratio well below 1
means the rule adds little to a changed poll.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import feed_bytes  # noqa: E402
from ingest.core.config.model import FeedConfig  # noqa: E402
from ingest.core.content.article import Article, article_to_json  # noqa: E402
from ingest.core.content.sameness import judge_same  # noqa: E402
from ingest.core.reading.parse import parse  # noqa: E402
from ingest.core.records import FetchResult, Prepared  # noqa: E402
from ingest.shell.store import Store  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
BODY = "<p>" + "Lorem ipsum dolor sit amet. " * 100 + "</p>"


def _article(n: int) -> Article:
    return Article(
        identity=f"url:https://example.com/story/{n}", title=f"Story {n}", date=NOW.date(), description="d" * 200,
        summary="d" * 200, slug=f"story-{n}", image="", link=f"https://example.com/story/{n}",
        source="https://example.com/feed", categories=("c",), tags=(), draft=False, body=BODY, published=NOW,
    )


def _best(action, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="stored entries of the feed, comma-separated")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    document = FetchResult(url="https://example.com/feed", final_url="https://example.com/feed", status=200,
                           content=feed_bytes(0), headers={"content-type": "application/rss+xml; charset=utf-8"})
    baseline = _best(lambda: parse(document))
    print(f"baseline: parsing a 25-item feed: {baseline * 1000:.1f} ms")
    feed = FeedConfig(url="https://example.com/feed", name="f")
    for size in sizes:
        with tempfile.TemporaryDirectory() as directory:
            store = Store.open(Path(directory) / "store.sqlite3")
            feed_id = store.feed_id(feed.url, feed.name)
            with store.batch():
                for n in range(size):
                    article = _article(n)
                    store.save_entry(article.identity, feed_id, f"story-{n}.md", "h", "written", NOW,
                                     slug=article.slug, article=article_to_json(article))
            items = [_article(n) for n in range(size - 24, size + 1)]  # 24 stored, the last one new
            entries = [Prepared(a, None, None, article_to_json(a), f"s{a.slug}") for a in items]
            cost = _best(lambda: judge_same(entries, feed, feed_id, store.stored_entries, store.entry_keys))  # noqa: B023 (timed at once)
            store.close()
        print(f"{size:>6} stored entries: judge_same {cost * 1000:6.1f} ms = {cost / baseline:.2f} x the parse")


if __name__ == "__main__":
    main()
