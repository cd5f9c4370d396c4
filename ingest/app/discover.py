"""``ingest discover URL``: find the feeds a web page offers.

Users paste a site's home page where a feed URL belongs. This fetches the
page with the same client, User-Agent and limits as a feed (a page is as
untrusted as a feed: deadline, size limit counted after decompression,
redirects one hop at a time), and reports:

- the URL itself, when it already is a feed (RSS, Atom or JSON Feed);
- else the feeds the page advertises with ``<link rel="alternate">`` and an
  RSS, Atom or JSON Feed type, in page order;
- else whichever of a short list of well-known paths at the site's root
  answers with a feed, asked at most two at a time.

A link typed plain ``application/json`` is only reported once fetched and
found to be a JSON Feed: JSON Feed 1.0 advertised itself that way, but so
does every WordPress page for its REST API.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..core.config.model import FeedConfig, redact
from ..core.reading.parse import (
    FEED_LINK_TYPES,
    MAYBE_JSON_FEED,
    ParseError,
    alternate_links,
    check_entities,
)
from ..core.records import FetchResult, Validators
from ..errors import DiscoverError
from ..shell.fetch import Client, fetch

__all__ = [
    "advertised", "as_feed", "config_line", "discover", "DiscoverError", "Found", "PROBES_AT_ONCE",
    "WELL_KNOWN",
]


WELL_KNOWN = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json")
PROBES_AT_ONCE = 2  # the default host_concurrency: no more requests in flight to the site than a run sends



@dataclass(frozen=True)
class Found:
    """One feed: where it is, its format (``rss``, ``atom`` or ``json``), its title, how it was found."""

    url: str
    type: str
    title: str | None
    via: str  # "itself", "advertised" or "well-known"


async def discover(url: str, transport: httpx.AsyncBaseTransport | None = None) -> list[Found]:
    """The feeds ``url`` is or offers, best first; ``DiscoverError`` if there are none."""
    settings = FeedConfig(url=url, name="discover")
    async with Client(PROBES_AT_ONCE, transport) as client:
        page = await fetch(client, settings, Validators())
        if not page.ok:
            raise DiscoverError(f"cannot fetch {redact(url)}: {page.error}")
        itself = as_feed(page)
        if itself is not None:
            return [Found(redact(page.final_url), itself[0], itself[1], "itself")]
        links = advertised(page)
        unsure = [link.url for link, verify in links if verify]
        checked = dict(await _probe(client, settings, unsure)) if unsure else {}
        found: list[Found] = []
        for link, verify in links:
            if not verify:
                found.append(link)
            elif (answer := checked.get(link.url)) is not None:
                found.append(replace(answer, title=link.title or answer.title))
        if not found:
            probed = await _probe(client, settings, _well_known(page.final_url))
            found = [replace(feed, via="well-known") for _, feed in probed if feed is not None]
    found = _unique(found, page.final_url)
    if not found:
        why = "advertises none" if not links else "advertises no RSS, Atom or JSON Feed that answers as one"
        raise DiscoverError(
            f"no feed found at {redact(url)}: the page {why}, and none of {', '.join(WELL_KNOWN)} at the site's root is one"
        )
    return found


def _unique(found: list[Found], page_url: str) -> list[Found]:
    """Each feed once (a page may name one twice; /feed may redirect to /feed.xml), in order."""
    seen = {page_url}
    out = []
    for feed in found:
        if feed.url not in seen:
            seen.add(feed.url)
            out.append(feed)
    return out


def as_feed(result: FetchResult) -> tuple[str, str | None] | None:
    """The format and title of a fetched body that is itself a feed, else None."""
    content = result.content.lstrip(b" \t\r\n\xef\xbb\xbf")
    if content.startswith(b"{"):
        return _json_feed(content)
    if not content.startswith(b"<"):
        return None
    try:
        check_entities(content)
    except ParseError:
        return None  # hostile XML is no feed to recommend
    import feedparser  # only when a body looks like XML: a page usually does not need it

    headers = {k: v for k, v in result.headers.items() if k in ("content-type", "content-language")}
    try:
        data = feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except Exception:  # its lenient parser trips on odd input; then it is no feed either
        return None
    version = data.get("version") or ""
    if not version:
        return None
    title = _one_line(data.get("feed", {}).get("title"))
    return ("atom" if version.startswith("atom") else "rss"), title


def _json_feed(content: bytes) -> tuple[str, str | None] | None:
    try:
        document = json.loads(content)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    version = document.get("version")
    if not (isinstance(version, str) and "jsonfeed.org" in version):
        return None
    return "json", _one_line(document.get("title"))


def advertised(page: FetchResult) -> list[tuple[Found, bool]]:
    """The feeds a page's ``<link rel="alternate">`` tags name, each with whether it must be fetched to be sure."""
    out: list[tuple[Found, bool]] = []
    seen: set[str] = set()
    for url, kind, title in alternate_links(page.content.decode("utf-8", "replace"), page.final_url):
        if urlsplit(url).scheme.lower() not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        if kind == MAYBE_JSON_FEED:
            out.append((Found(url, "?", title, "advertised"), True))
        else:
            out.append((Found(url, FEED_LINK_TYPES[kind], title, "advertised"), False))
    return out


def _well_known(page_url: str) -> list[str]:
    parts = urlsplit(page_url)
    if parts.scheme.lower() not in ("http", "https"):
        return []
    candidates = [urlunsplit((parts.scheme, parts.netloc, path, "", "")) for path in WELL_KNOWN]
    return [url for url in candidates if url != page_url]


async def _probe(client: Client, settings: FeedConfig, urls: list[str]) -> list[tuple[str, Found | None]]:
    """Fetch each URL, at most ``PROBES_AT_ONCE`` at a time: each with the feed it is, if it is one.

    A feed reached through a redirect is reported at its final URL, the one
    to put in the config.
    """
    slots = asyncio.Semaphore(PROBES_AT_ONCE)

    async def one(url: str) -> Found | None:
        async with slots:
            result = await fetch(client, settings, Validators(), url=url)
        feed = as_feed(result) if result.ok else None
        if feed is None:
            return None
        return Found(result.final_url, feed[0], feed[1], "advertised")

    results = await asyncio.gather(*(one(url) for url in urls))
    return list(zip(urls, results))


def config_line(found: Found) -> str:
    """``- url: ...  # type: title``: one item to paste under ``feeds:``."""
    plain = found.url and not any(c.isspace() or not c.isprintable() for c in found.url)
    url = found.url if plain else json.dumps(found.url)  # a JSON string is a YAML double-quoted scalar
    note = f"{found.type}: {found.title}" if found.title else found.type
    return f"- url: {url}  # {note}"


def _one_line(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None
