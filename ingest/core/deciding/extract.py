"""Full articles for summary-only feeds (``content: extract``): the pure rules.

Nothing here touches the network or the store. It decides which entries'
pages to ask for (once per entry and link, a capped number per run, failed
ones after their backoff), whether an extracted article replaces the
feed's own text, and builds the entry with its new body for the one
decision every write goes through (``dedupe.decide_entries``). The page is
turned into an article by ``core.content.article_page``; fetching it is the shell's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from ..config.model import CONTENT_MODES, EXTRACT_FAILURES
from ..content.article import Article, article_to_json
from ..content.normalize import plain_text
from ..records import Prepared
from ..rendering.page import render
from ..rendering.profiles import Profile
from .edits import content_hash

__all__ = [
    "CONTENT_MODES", "EXTRACT_FAILURES", "ExtractRecord", "ExtractState", "LONGER_BY",
    "MIN_TEXT", "Plan", "plan", "registrable_domain", "replaces", "same_site", "with_article",
]

# The extracted article replaces the feed's text only when its plain text is
# at least this much longer (a quarter), and at least MIN_TEXT characters:
# a page whose "article" is a teaser, a cookie notice or a login form keeps
# the feed's text.
LONGER_BY = 1.25
MIN_TEXT = 200

# done: extracted (``html`` holds it, sanitized; empty when the feed's text was
# longer); failed: to ask again once ``next_try`` passes (never asked yet: no
# error and no next_try).
ExtractState = Literal["done", "failed"]


@dataclass(frozen=True)
class ExtractRecord:
    """What the store keeps of one entry's article page: asked once per link."""

    identity: str
    feed_id: int
    link: str
    state: ExtractState
    html: str = ""
    rule: str = ""  # which rule found the article: "readability" or "selector: main article"
    error: str | None = None
    failures: int = 0
    next_try: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.state == "failed" and (self.next_try is None or self.next_try <= now)


@dataclass(frozen=True)
class Plan:
    """Which entries to ask for now (identity, link), and which to leave to a later run."""

    fetch: tuple[tuple[str, str], ...] = ()
    later: tuple[tuple[str, str], ...] = ()  # over the per-run cap: recorded as not asked yet


def plan(
    articles: Iterable[Article], records: dict[str, ExtractRecord], now: datetime, budget: int,
    *, force: bool = False,
) -> Plan:
    """The article pages to ask for: entries never asked, whose link changed, or whose retry is due.

    An entry extracted for its current link is never asked again (a
    re-run, a rebuild, a profile change use the stored article). At most
    ``budget`` are asked; ``force`` (``run --force``) does not wait for a
    failed page's backoff.
    """
    fetch: list[tuple[str, str]] = []
    later: list[tuple[str, str]] = []
    for article in articles:
        if not _fetchable(article.link):
            continue
        record = records.get(article.identity)
        if record is not None and record.link == article.link:
            if record.state == "done" or not (force or record.due(now)):
                continue
        job = (article.identity, article.link)
        if job in fetch or job in later:
            continue
        (fetch if len(fetch) < budget else later).append(job)
    return Plan(tuple(fetch), tuple(later))


def replaces(feed_html: str, extracted_html: str) -> tuple[bool, str]:
    """Whether the extracted article takes the place of the feed's text, and why (for the feed's line)."""
    ours = len(plain_text(extracted_html))
    theirs = len(plain_text(feed_html))
    if ours < MIN_TEXT:
        return False, f"the extracted text is too short ({ours} characters)"
    if ours < theirs * LONGER_BY:
        return False, f"the feed's own text is as long ({theirs} characters, extracted {ours})"
    return True, ""


def with_article(item: Prepared, body: str, profile: Profile, body_format: str) -> Prepared:
    """The entry with ``body`` as its text, rendered, hashed and serialized again."""
    article = replace(item.article, body=body)
    text = render(article, profile, body_format) if article.date else None
    digest = content_hash(text) if text is not None else None
    return replace(item, article=article, text=text, digest=digest, data=article_to_json(article))


def _fetchable(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https") if url else False


def registrable_domain(host: str) -> str:
    """The part of a host name one owner registered (``news.bbc.co.uk`` -> ``bbc.co.uk``).

    Judged with the Public Suffix List shipped in the ``publicsuffixlist``
    package (never fetched at run time). An IP address or a bare suffix is
    its own domain.
    """
    host = host.lower().rstrip(".")
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return host
    return _psl().privatesuffix(host) or host


@functools.lru_cache(maxsize=1)
def _psl():  # type: ignore[no-untyped-def]
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def same_site(page_url: str, home_url: str) -> bool:
    """Whether a page lies on the feed's own site: the same registrable domain as its home page."""
    page = urlsplit(page_url).hostname or ""
    home = urlsplit(home_url).hostname or ""
    return bool(page and home) and registrable_domain(page) == registrable_domain(home)
