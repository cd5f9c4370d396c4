"""Article pages over the network (``content: extract``).

A page is fetched by the feed fetcher (``fetch.fetch``) with the client of
the run, so it gets the feed's timeout, deadline, body cap (``max_size``),
redirect limit and User-Agent; the caller holds the per-host slot, so the
politeness limits of feeds apply to article sites too. Entry links are feed
content, which is untrusted: every URL asked, each redirect hop included,
must resolve to public addresses only unless the feed itself is served
from a private one (``images.public_only``, the same rule as entry images).
Credentials and custom headers go only to the feed's own host.

robots.txt is read once per site and run (``Robots``) and obeyed for
ingest's User-Agent unless the feed sets ``extract_robots: false``. Per RFC
9309, a missing robots.txt (4xx) allows everything and one that cannot be
read (5xx, no answer) allows nothing for now.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from ..core.config.model import FeedConfig
from ..core.records import FetchResult, Validators
from ..core.config.model import redact
from .fetch import USER_AGENT, Client, fetch
from .image_io import public_only, served_privately

__all__ = ["fetch_page", "Page", "Robots", "served_privately"]

_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_ROBOTS_MAX = 512 * 1024  # robots.txt beyond this is cut (Google reads 500 KiB)


@dataclass(frozen=True)
class Page:
    """One fetched article page, or why it could not be fetched."""

    url: str  # where it was finally found
    data: bytes = b""
    content_type: str = ""
    error: str | None = None
    status: int | None = None
    retry_after: str | None = None  # the server's Retry-After, on a 429 or 503


def page_request(feed: FeedConfig, url: str) -> FeedConfig:
    """The feed's request settings for one article page: an HTML Accept, credentials only on the feed's host."""
    own = _host(url) == _host(feed.url) and urlsplit(url).scheme == urlsplit(feed.url).scheme
    headers = (*(feed.headers if own else ()), ("Accept", _ACCEPT))
    return replace(feed, url=url, auth=feed.auth if own else None, headers=headers)


def _host(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        return (parts.hostname or "", parts.port)
    except ValueError:
        return (parts.hostname or "", None)


async def fetch_page(client: Client, feed: FeedConfig, url: str, *, private_ok: bool) -> Page:
    """Fetch one article page; never raises for a bad answer."""
    result: FetchResult = await fetch(
        client, page_request(feed, url), Validators(), url=url, guard=None if private_ok else public_only
    )
    if not result.ok:
        error = (result.error or "failed").replace("images come only", "article pages come only")
        retry = result.headers.get("retry-after") if result.status in (429, 503) else None
        where = f" ({redact(result.final_url)})" if result.final_url != url else ""
        return Page(result.final_url, error=f"{error}{where}", status=result.status, retry_after=retry)
    return Page(result.final_url, result.content, result.headers.get("content-type", ""), status=result.status)


class Robots:
    """robots.txt of the sites a run asks article pages of: fetched once per site, then asked per page."""

    def __init__(self) -> None:
        self._rules: dict[str, object] = {}  # site -> Protego rules, or a refusal message

    async def allowed(self, client: Client, feed: FeedConfig, url: str, *, private_ok: bool) -> str | None:
        """None when the page may be fetched, else why not."""
        if not feed.extract_robots:
            return None
        parts = urlsplit(url)
        site = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        if site not in self._rules:
            self._rules[site] = await self._read(client, feed, site + "/robots.txt", private_ok)
        rules = self._rules[site]
        if isinstance(rules, str):
            return rules
        agent = feed.user_agent or USER_AGENT
        if rules.can_fetch(url, agent) and rules.can_fetch(url, "ingest"):  # type: ignore[attr-defined]
            return None
        return f"robots.txt of {redact(site)} disallows it for {agent.split('/')[0]} (extract_robots: false ignores it)"

    @staticmethod
    async def _read(client: Client, feed: FeedConfig, url: str, private_ok: bool) -> object:
        from protego import Protego

        request = replace(page_request(feed, url), max_size=_ROBOTS_MAX)
        result = await fetch(client, request, Validators(), url=url, guard=None if private_ok else public_only)
        if result.ok:
            return Protego.parse(result.content.decode("utf-8", "replace"))
        if result.status is not None and 400 <= result.status < 500:
            return Protego.parse("")  # no robots.txt: everything is allowed
        return f"robots.txt could not be read, so nothing may be fetched for now: {result.error}"
