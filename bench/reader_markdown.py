"""Do with reader what ``ingest run`` does: update the feeds, write one Markdown file per new entry.

Usage: reader_markdown.py WORKDIR CORPUS_URL_PREFIX NFEEDS [--workers N]

The feeds are ``CORPUS_URL_PREFIX/news-0000.xml`` ... (``NFEEDS`` of them);
the database is ``WORKDIR/reader.sqlite``, the files go to ``WORKDIR/out``.

Every run asks every feed (``scheduled=False``: reader would otherwise skip
a feed polled within its update interval, while ``ingest run`` asks every
feed each time). reader sends the ETag and Last-Modified it stored, parses
with its defaults (feedparser's sanitizer on), and keeps entries it has seen,
so only new entries come back unread. Each unread entry becomes
``out/<slug>.md`` with front matter carrying the same fields as ingest's
default (Hugo) output and the entry's HTML as the body, written atomically;
then the entry is marked read, so the next run exports only what is new.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from corpus import feed_urls  # this script's directory is on sys.path
from reader import Entry, Reader, make_reader
from slugify import slugify

TAG = re.compile(r"<[^>]*>")
SPACE = re.compile(r"\s+")
IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def one_line(text: str | None) -> str:
    """Plain text on one line, from a text or HTML field."""
    return SPACE.sub(" ", html.unescape(TAG.sub(" ", text or ""))).strip()


def quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def title_tags(title: str) -> list[str]:
    """The five longest distinct title words, lowercased, ties in title order (as ingest does)."""
    words: list[str] = []
    for word in re.findall(r"\w+", title.lower()):
        if word not in words:
            words.append(word)
    return sorted(words, key=len, reverse=True)[:5]


def front_matter(entry: Entry, slug: str, body: str) -> str:
    title = one_line(entry.title) or "Untitled"
    when: datetime = entry.published or entry.updated or entry.added
    summary = one_line(entry.summary)[:300] or one_line(body)[:300]
    link = entry.link or ""
    image = IMG_SRC.search(body)
    lines = [
        "---",
        f"title: {quoted(title)}",
        f"date: {when.isoformat()}",
        f"author: {quoted(entry.authors_str or '')}",
        f"description: {quoted(summary)}",
        f"summary: {quoted(summary)}",
        f"slug: {quoted(slug)}",
        f"image: {quoted(urljoin(link, html.unescape(image.group(1))) if image else '')}",
        f"link: {quoted(link)}",
        f"source: {quoted(entry.feed_url)}",
        "categories:",
        f"- {quoted(urlsplit(entry.feed_url).hostname or '')}",
        "tags:",
        *(f"- {quoted(tag)}" for tag in title_tags(title)),
        "draft: false",
        "---",
    ]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def free_name(out: Path, slug: str) -> Path:
    """``<slug>.md``, or ``<slug>-2.md``... when another entry has that name already."""
    path = out / f"{slug}.md"
    n = 1
    while path.exists():
        n += 1
        path = out / f"{slug}-{n}.md"
    return path


def export(reader_db: Reader, out: Path) -> int:
    """Write every unread entry to ``out`` and mark it read; return how many were written."""
    written = 0
    for entry in reader_db.get_entries(read=False):
        content = entry.get_content()
        body = content.value if content is not None else ""
        slug = slugify(one_line(entry.title), max_length=150) or "entry"
        path = free_name(out, slug)
        write_atomically(path, front_matter(entry, path.stem, body) + body + "\n")
        reader_db.mark_entry_as_read(entry)
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("prefix", help="URL the feed files are served under")
    parser.add_argument("feeds", type=int)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args(argv)

    out = args.workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    reader_db = make_reader(str(args.workdir / "reader.sqlite"))
    for url in feed_urls(args.prefix, args.feeds):
        reader_db.add_feed(url, exist_ok=True)

    new = not_modified = errors = 0
    for result in reader_db.update_feeds_iter(scheduled=False, workers=args.workers):
        if result.error is not None:
            errors += 1
            print(f"{result.url}: {result.error}", file=sys.stderr)
        elif result.updated_feed is None:
            not_modified += 1
        else:
            new += result.updated_feed.new
    written = export(reader_db, out)
    reader_db.close()
    print(
        f"{args.feeds} feeds: {not_modified} not modified, {errors} failed; "
        f"{new} new entries; wrote {written} files in {out}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
