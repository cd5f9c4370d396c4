"""Which entry is which: the key that names one entry across runs, feeds and feed changes.

Two polls of the same story must give the same key, or a file is written
twice; two stories must never share one, or one is lost.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

__all__ = ["has_scheme", "identity", "normalize_link"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def has_scheme(text: str) -> bool:
    """Whether ``text`` starts with a URI scheme (``https:``, ``urn:``, ``tag:``...)."""
    return bool(_SCHEME.match(text))


def identity(raw_id: str, link: str, title: str, published: datetime | None, scope: str) -> str:
    """A key that stays the same for the same entry across runs and feeds.

    An http(s) id and a link are one kind of key, compared after
    normalization, so the same story is one entry whether a feed names it by
    guid or by link. Another URI-shaped id (urn:, tag:) is global too. A
    bare id such as ``42`` is only unique within its feed, so it is scoped.
    With neither id nor link, the title and publication time within the
    feed: an entry edited upstream keeps its file.
    """
    if raw_id:
        if _is_http(raw_id):
            return f"url:{normalize_link(raw_id)}"
        return f"id:{raw_id}" if has_scheme(raw_id) else f"feed:{scope}:id:{raw_id}"
    if link:
        return f"url:{normalize_link(link)}"
    when = published.isoformat() if published else ""
    digest = hashlib.sha256(f"{title}\n{when}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"feed:{scope}:title:{digest}"


def normalize_link(link: str) -> str:
    """Lower-case scheme and host, drop default ports and fragments."""
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port if parts.port and (scheme, parts.port) not in (("http", 80), ("https", 443)) else None
    except ValueError:  # a port out of range: keep the link as it was written
        return link
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")
