"""Which entry is which: the key that names one entry across runs, feeds and feed changes.

Two polls of the same story must give the same key, or a file is written
twice; two stories must never share one, or one is lost. Links are compared
as *identity links* (``identity_link``): a publisher's move from http to
https, to or from ``www.``, or to links with tracking parameters keeps
every key. ``sameness`` adds the rule for a new guid with a known link, and
the lookup of keys written before identity links.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["has_scheme", "identity", "identity_link", "normalize_link", "plain_link", "TRACKING_PARAMETERS"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Query parameters that only say where a reader came from. ``utm_*`` is any parameter starting so.
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "ref_src",
    "__s", "_ga", "_gl",
})
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {("http", 80), ("https", 443)}


def has_scheme(text: str) -> bool:
    """Whether ``text`` starts with a URI scheme (``https:``, ``urn:``, ``tag:``...)."""
    return bool(_SCHEME.match(text))


def identity(
    raw_id: str, link: str, title: str, published: datetime | None, scope: str,
    link_form: Callable[[str], str] | None = None,
) -> str:
    """A key that stays the same for the same entry across runs and feeds.

    An http(s) id and a link are one kind of key, compared as identity
    links, so the same story is one entry whether a feed names it by guid or
    by link. Another URI-shaped id (urn:, tag:) is global too. A bare id
    such as ``42`` is only unique within its feed, so it is scoped. With
    neither id nor link, the title and publication time within the feed: an
    entry edited upstream keeps its file. ``link_form`` is ``identity_link``
    unless given (``plain_link`` gives the keys of stores from before).
    """
    form = link_form or identity_link
    if raw_id:
        if _is_http(raw_id):
            return f"url:{form(raw_id)}"
        return f"id:{raw_id}" if has_scheme(raw_id) else f"feed:{scope}:id:{raw_id}"
    if link:
        return f"url:{form(link)}"
    when = published.isoformat() if published else ""
    digest = hashlib.sha256(f"{title}\n{when}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"feed:{scope}:title:{digest}"


def plain_link(link: str) -> str:
    """Lower-case scheme and host, drop default ports and fragments (the form of identities before moves)."""
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port if parts.port and (scheme, parts.port) not in _DEFAULT_PORTS else None
    except ValueError:  # a port out of range: keep the link as it was written
        return link
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


normalize_link = plain_link  # the comparison of feed addresses (OPML) and of a feed's own links (reuse)


def identity_link(link: str) -> str:
    """``plain_link``, and also: http and https alike, no leading ``www.``, no tracking parameters.

    Every other query parameter counts: ``?id=1`` and ``?id=2`` stay apart.
    """
    parts = urlsplit(link)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port if parts.port and (scheme, parts.port) not in _DEFAULT_PORTS else None
    except ValueError:
        return link
    if scheme == "http":
        scheme = "https"  # most links are https today: their identities read as they were
    host = host.removeprefix("www.")
    netloc = f"{host}:{port}" if port else host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(key, value) for key, value in pairs if not _tracking(key)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _tracking(key: str) -> bool:
    name = key.lower()
    return name in TRACKING_PARAMETERS or name.startswith(_TRACKING_PREFIXES)


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")
