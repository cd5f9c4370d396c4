"""Turn fetched bytes into feed entries with feedparser.

feedparser's own sanitizer and relative-URI resolver are turned off: they are
slow and reorder attributes, and ``normalize`` does both jobs with nh3. The
final URL is deliberately not given to feedparser as ``content-location``, so
a guid such as ``123`` keeps its raw value for identity instead of becoming a
URL relative to wherever the feed happened to be fetched from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import feedparser

from .fetch import FetchResult

# Problems feedparser reports that still leave a trustworthy parse.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class ParseError(Exception):
    """The bytes are not a feed we can trust; the message says what they were."""


@dataclass(frozen=True)
class ParsedFeed:
    version: str
    title: str
    link: str
    entries: list[Any]


def parse(result: FetchResult) -> ParsedFeed:
    headers = {k: v for k, v in result.headers.items() if k in ("content-type", "content-language")}
    if not result.content.strip():
        raise ParseError(f"empty response{_described(result)}")
    data = feedparser.parse(
        result.content,
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    exception = data.get("bozo_exception")
    if data.get("bozo") and not isinstance(exception, _HARMLESS):
        if data.get("version") or data.entries:
            raise ParseError(f"malformed feed XML: {_location(exception)}")
        raise ParseError(f"not a feed{_described(result)}")
    if not data.get("version"):
        raise ParseError(f"not a feed{_described(result)}")
    feed = data.get("feed", {})
    return ParsedFeed(
        version=data.version,
        title=feed.get("title", ""),
        link=feed.get("link", ""),
        entries=list(data.entries),
    )


def _location(exception: Any) -> str:
    """'line 3, column 28: mismatched tag' from a SAX error, else its text."""
    get_line = getattr(exception, "getLineNumber", None)
    message = getattr(exception, "getMessage", None)
    if get_line and message:
        return f"line {get_line()}, column {exception.getColumnNumber()}: {message()}"
    return str(exception) or type(exception).__name__


def _described(result: FetchResult) -> str:
    content_type = result.headers.get("content-type", "no content type")
    start = result.content[:60].decode("utf-8", "replace")
    start = " ".join(start.split())
    return f" (got {content_type}, starting {start!r})" if start else f" (got {content_type})"
