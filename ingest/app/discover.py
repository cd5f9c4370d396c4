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

A page is untrusted and may name a thousand candidates that never answer:
at most ``MAX_CANDIDATES`` advertised links are looked at, at most
``MAX_PROBES`` of them fetched, each within ``PROBE_DEADLINE`` seconds and
all of them within ``PROBES_DEADLINE``; what was left out is said (the
``skipped`` list). The page's credentials go only to the page's own host.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..core.config.model import FeedConfig, redact
from ..core.printable import canonical_credentials
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
MAX_CANDIDATES = 50  # advertised links looked at
MAX_PROBES = 10  # candidates fetched to see whether they are feeds
PROBE_DEADLINE = 15.0  # seconds for one candidate
PROBES_DEADLINE = 60.0  # seconds for all the candidates of one page together



@dataclass(frozen=True)
class Found:
    """One feed: where it is, its format (``rss``, ``atom`` or ``json``), its title, how it was found."""

    url: str
    type: str
    title: str | None
    via: str  # "itself", "advertised" or "well-known"


async def discover(
    url: str, transport: httpx.AsyncBaseTransport | None = None, skipped: list[str] | None = None,
    *, deadline: float = PROBES_DEADLINE,
) -> list[Found]:
    """The feeds ``url`` is or offers, best first; ``DiscoverError`` if there are none.

    ``skipped`` gets a sentence for each thing a limit left out.
    """
    skipped = skipped if skipped is not None else []
    # as the config takes a feed URL: credentials written raw are encoded, so every parser sees the same host
    url = canonical_credentials(url)
    settings = FeedConfig(url=url, name="discover")
    async with Client(PROBES_AT_ONCE, transport) as client:
        page = await fetch(client, settings, Validators())
        if not page.ok:
            raise DiscoverError(f"cannot fetch {redact(url)}: {page.error}")
        itself = as_feed(page)
        if itself is not None:
            return [Found(redact(page.final_url), itself[0], itself[1], "itself")]
        links = advertised(page)
        if len(links) > MAX_CANDIDATES:
            skipped.append(f"the page names {len(links)} feeds; only the first {MAX_CANDIDATES} were looked at")
            links = links[:MAX_CANDIDATES]
        unsure = [link.url for link, verify in links if verify]
        if len(unsure) > MAX_PROBES:
            skipped.append(
                f"{len(unsure) - MAX_PROBES} candidate(s) typed application/json not checked "
                f"(at most {MAX_PROBES} are fetched): {', '.join(redact(u) for u in unsure[MAX_PROBES:MAX_PROBES + 3])}"
                + (", ..." if len(unsure) > MAX_PROBES + 3 else "")
            )
            unsure = unsure[:MAX_PROBES]
        checked = dict(await _probe(client, settings, unsure, skipped, deadline)) if unsure else {}
        found: list[Found] = []
        for link, verify in links:
            if not verify:
                found.append(link)
            elif (answer := checked.get(link.url)) is not None:
                found.append(replace(answer, title=link.title or answer.title))
        if not found:
            probed = await _probe(client, settings, _well_known(page.final_url), skipped, deadline)
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


async def _probe(
    client: Client, settings: FeedConfig, urls: list[str], skipped: list[str], deadline: float = PROBES_DEADLINE,
) -> list[tuple[str, Found | None]]:
    """Fetch each URL, at most ``PROBES_AT_ONCE`` at a time: each with the feed it is, if it is one.

    A feed reached through a redirect is reported at its final URL, the one
    to put in the config.
    """
    slots = asyncio.Semaphore(PROBES_AT_ONCE)
    each = min(settings.deadline, PROBE_DEADLINE, deadline)
    quick = replace(settings, deadline=each, timeout=min(settings.timeout, each))
    results: dict[str, Found | None] = {}

    async def one(url: str) -> None:
        async with slots:
            result = await fetch(client, quick, Validators(), url=url)
        feed = as_feed(result) if result.ok else None
        results[url] = None if feed is None else Found(result.final_url, feed[0], feed[1], "advertised")

    tasks = [asyncio.ensure_future(one(url)) for url in urls]
    done, pending = await asyncio.wait(tasks, timeout=deadline) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    late = [url for url in urls if url not in results]
    if late:
        skipped.append(
            f"{len(late)} candidate(s) did not answer within {deadline:g}s (--deadline): "
            + ", ".join(redact(u) for u in late[:3]) + (", ..." if len(late) > 3 else "")
        )
    return [(url, results.get(url)) for url in urls]


def config_line(found: Found) -> str:
    """``- url: ...  # type: title``: one item to paste under ``feeds:``, that YAML loads as written.

    The URL is written plain only when YAML reads it back as the same
    string, else as a double-quoted scalar (a JSON string); the comment
    holds no control or format character (a terminal would obey it) and
    no line break.
    """
    url = found.url if _plain_in_yaml(found.url) else json.dumps(found.url, ensure_ascii=True)
    title = _one_line(found.title)
    note = _one_line(f"{found.type}: {title}" if title else found.type) or ""
    return f"- url: {url}  # {note}"


def _plain_in_yaml(url: str) -> bool:
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        return False
    import yaml

    try:
        return bool(yaml.safe_load(f"- url: {url}  # x") == [{"url": url}])
    except yaml.YAMLError:
        return False


def _one_line(value: Any) -> str | None:
    """Text for one line of a terminal: whitespace folded, control and format characters (escapes, bidi) gone."""
    if not isinstance(value, str):
        return None
    text = "".join(c if c.isprintable() else " " for c in value)
    text = " ".join(text.split())
    return text or None
