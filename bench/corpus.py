"""A deterministic corpus of news feeds for the benchmark.

Every feed looks like a real news site's RSS: a channel with a title, link
and language, then items with a title, link, guid, pubDate, categories,
an author, a short description and about 5 KB of HTML in
``content:encoded`` (paragraphs, links, emphasis, an image, a list). The
same arguments always give the same bytes, so two tools and two runs see
identical input.

Generation 0 is the starting state. In generation ``g`` every tenth feed
(feeds 0, 10, 20, ...) has gained ``g`` new items at the top and dropped as
many old ones at the bottom, as a news feed keeps its latest N.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

WORDS = (
    "government minister election talks border economy market energy climate storm city council court "
    "police report officials said week year plan deal support security health hospital school water "
    "price trade union strike rail airport power summit leaders agreement crisis vote budget tax "
    "investigation protest record season match team coach players fans museum festival science study"
).split()
START = datetime(2026, 1, 1, 6, 0, tzinfo=timezone.utc)


def feed_name(index: int) -> str:
    return f"news-{index:04d}"


def file_name(index: int) -> str:
    return f"{feed_name(index)}.xml"


def feed_urls(prefix: str, feeds: int) -> list[str]:
    """Where the first ``feeds`` feeds are served, under ``prefix``."""
    prefix = prefix.rstrip("/")
    return [f"{prefix}/{file_name(index)}" for index in range(feeds)]


def changes_in(index: int) -> bool:
    """Whether feed ``index`` gains items from one generation to the next (10% of feeds)."""
    return index % 10 == 0


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _body(rng: random.Random, site: str, target: int = 5000) -> str:
    """About ``target`` bytes of the HTML a news site puts in content:encoded."""
    parts: list[str] = []
    size = 0
    n = 0
    while size < target:
        n += 1
        if n == 3:
            piece = (
                f'<figure><img src="/images/{rng.randrange(10**6)}.jpg" alt="{_sentence(rng, 5)}" '
                f'width="640" height="360"><figcaption>{_sentence(rng, 8)}</figcaption></figure>'
            )
        elif n == 6:
            piece = "<ul>" + "".join(f"<li>{_sentence(rng, 6)}</li>" for _ in range(3)) + "</ul>"
        else:
            slug = "-".join(rng.choice(WORDS) for _ in range(5))
            piece = (
                f"<p>{_sentence(rng, 18)} <a href=\"https://{site}/world/{slug}\" target=\"_blank\" "
                f"rel=\"noopener\">{_sentence(rng, 4)[:-1]}</a> {_sentence(rng, 14)} "
                f"<strong>{_sentence(rng, 6)}</strong> {_sentence(rng, 12)}</p>"
            )
        parts.append(piece)
        size += len(piece)
    return "".join(parts)


def _item(feed: int, number: int, site: str) -> str:
    """Item ``number`` of feed ``feed``: the same bytes whenever it is asked for."""
    rng = random.Random(feed * 1_000_003 + number)
    title = _sentence(rng, rng.randint(7, 13))[:-1]
    slug = "-".join(title.lower().split()[:8]) + f"-{number}"
    link = f"https://{site}/world/{slug}"
    published = START + timedelta(hours=number, minutes=feed % 60)
    categories = "".join(f"<category>{rng.choice(WORDS).title()}</category>" for _ in range(2))
    return (
        "<item>"
        f"<title>{escape(title)}</title>"
        f"<link>{link}</link>"
        f'<guid isPermaLink="false">{link}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"{categories}"
        f"<dc:creator>{escape(rng.choice(WORDS).title())} {escape(rng.choice(WORDS).title())}</dc:creator>"
        f"<description>{escape(_sentence(rng, 24))}</description>"
        f"<content:encoded><![CDATA[{_body(rng, site)}]]></content:encoded>"
        "</item>"
    )


def feed_bytes(index: int, items: int = 25, generation: int = 0) -> bytes:
    """The RSS document of feed ``index`` in ``generation``."""
    site = f"{feed_name(index)}.example.com"
    gained = generation if changes_in(index) else 0
    newest = items + gained  # item numbers grow with time; the feed keeps the latest ``items``
    numbers = range(newest - 1, newest - 1 - items, -1)
    body = "".join(_item(index, n, site) for n in numbers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{feed_name(index).title()} World News</title>"
        f"<link>https://{site}/world</link>"
        f"<description>World news from {feed_name(index)}</description>"
        "<language>en-US</language>"
        f"{body}</channel></rss>\n"
    ).encode("utf-8")


def write_corpus(directory: Path, feeds: int, items: int = 25, generation: int = 0) -> list[str]:
    """Write ``feeds`` feed files into ``directory``; only files whose bytes change are rewritten.

    Returns the file names, in feed order. Unchanged files keep their
    modification time, so a server's ETag and Last-Modified stay the same.
    """
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for index in range(feeds):
        name = file_name(index)
        path = directory / name
        data = feed_bytes(index, items, generation)
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        names.append(name)
    return names


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    write_corpus(out, count)
    sizes = [len(feed_bytes(i)) for i in range(min(count, 5))]
    print(f"{count} feeds in {out}; first feeds {sizes} bytes")
