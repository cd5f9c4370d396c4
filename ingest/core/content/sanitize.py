"""Entry HTML made safe: nh3 removes anything unsafe and leaves safe markup byte for byte.

feedparser's own sanitizer is turned off (it is slow and reorders
attributes, and the golden output depends on the order), so this is the one
place that decides which tags, attributes and URL schemes a body keeps, and
how its relative URLs are resolved.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nh3

__all__ = ["is_absolute_http", "sanitize"]


# nh3's defaults plus the harmless attributes feeds commonly use, so that safe
# markup comes through byte for byte (ammonia keeps attribute order).
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"lang", "title", "dir"}
_ATTRIBUTES["a"] |= {"target", "rel", "name", "type"}
_ATTRIBUTES["img"] |= {"srcset", "sizes", "loading", "decoding", "title"}
_ATTRIBUTES["time"] = {"datetime"}
_TAGS = set(nh3.ALLOWED_TAGS) | {"audio", "video", "source", "picture", "track"}
_ATTRIBUTES["audio"] = {"src", "controls", "preload"}
_ATTRIBUTES["video"] = {"src", "controls", "preload", "poster", "width", "height"}
_ATTRIBUTES["source"] = {"src", "srcset", "type", "media", "sizes"}
_ATTRIBUTES["track"] = {"src", "kind", "label", "srclang"}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "ftp"}
# Attributes nh3 resolves against a base URL, and a few more to be safe.
_URL_ATTRIBUTES = frozenset(
    "href src srcset action formaction data ping poster cite longdesc background codebase manifest".split()
)
# An attribute value that does not start with a scheme, and the attribute name before it.
_NOT_ABSOLUTE_VALUE = re.compile(r"""=\s*+["']?+(?![A-Za-z][A-Za-z0-9+.-]*:)([^"'\s>]*)""")


def sanitize(body_html: str, base_url: str) -> str:
    """Remove anything unsafe while leaving safe markup exactly as it was."""
    if not body_html:
        return ""
    needs = _base_needed(body_html) if is_absolute_http(base_url) else ""
    if needs == "full":
        # Relative URLs that need the whole entry address: a cleaner of its own.
        return _new_cleaner(base_url).clean(body_html).strip()
    # The common case: a cleaner built once per site does the same work in
    # half the time (building one converts nh3's tables, which costs more
    # than cleaning).
    origin = urlunsplit(urlsplit(base_url)._replace(path="/", query="", fragment="")) if needs else None
    return _cleaner(origin).clean(body_html).strip()


def _new_cleaner(base: str | None) -> nh3.Cleaner:
    """A cleaner resolving relative URLs against ``base``, or leaving them be (None)."""
    url_relative: Any = ("rewrite_with_base", base) if base else "pass_through"
    return nh3.Cleaner(
        tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None, url_schemes=_URL_SCHEMES, url_relative=url_relative
    )


_cleaner = functools.lru_cache(maxsize=64)(_new_cleaner)


def _base_needed(body_html: str) -> str:
    """How much of the base URL the body's URL attributes need: "", "origin" or "full".

    "" when every URL is absolute, "origin" when the others all start with a
    single "/" (only the scheme and host of the base matter then), "full"
    otherwise. Errs towards "full": any value that does not plainly start
    with a scheme, after an attribute name that may hold a URL, counts.
    """
    needs = ""
    for match in _NOT_ABSOLUTE_VALUE.finditer(body_html):
        attribute = _name_before(body_html, match.start()).lower()
        if attribute and attribute not in _URL_ATTRIBUTES and not attribute.endswith(("src", "href")):
            continue
        value = match.group(1)
        if value.startswith("/") and not value.startswith("//"):
            needs = "origin"
        else:
            return "full"
    return needs


def _name_before(text: str, end: int) -> str:
    """The attribute name that ends (give or take spaces) at ``end``."""
    while end > 0 and text[end - 1].isspace():
        end -= 1
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-_:."):
        start -= 1
    return text[start:end]


def is_absolute_http(url: str) -> bool:
    """An http(s) URL with a host and a valid port: something relative URLs can be resolved against."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
