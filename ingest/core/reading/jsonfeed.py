"""Read JSON Feed 1.0 and 1.1 into entries shaped as feedparser shapes RSS and Atom ones.

feedparser does not read JSON. Rather than teach ``normalize`` a second set
of field rules, each JSON Feed item becomes the ``feedparser.FeedParserDict``
an equivalent Atom entry would give, and ``normalize`` goes on being the one
place that decides titles, bodies, images, dates, tags and identity. So the
same sanitizing, identity and rendering apply, and a JSON Feed item whose
``id`` (or ``url``) names a story is one file with the same story from an
RSS feed.

The mapping (jsonfeed.org/version/1.1, and 1.0's ``author``):

=====================================  ======================================
JSON Feed                              feedparser entry
=====================================  ======================================
``id`` (a number is read as text)      ``id`` (never taken as a link)
``url``, else ``external_url``         ``link``; ``external_url`` is also a
                                       ``related`` link
``title``                              ``title``, plain text
``content_html``, else                 ``content`` (HTML, else plain text)
``content_text``
``summary``                            ``summary``, plain text
``image``, ``banner_image``            ``media_content`` images, in that order
``date_published``/``date_modified``   ``published``/``updated`` (RFC 3339)
``tags``                               ``tags``
``authors``, else ``author``           ``authors``, ``author``
``attachments``                        ``enclosure`` links
=====================================  ======================================
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from .parse import ParsedFeed, ParseError

__all__ = ["looks_like_json", "parse_json", "to_entry"]


_JSON_TYPES = ("application/feed+json", "application/json", "text/json")


def looks_like_json(content: bytes, content_type: str) -> bool:
    """A JSON content type, or a body that starts like JSON (an object or an array)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in _JSON_TYPES or kind.endswith("+json"):
        return not _first_char(content) == "<"
    return _first_char(content) in ("{", "[")


def _first_char(content: bytes) -> str:
    head = content[:64]
    try:
        text = head.decode(json.detect_encoding(head), "ignore")
    except LookupError:
        return ""
    return text.lstrip("\ufeff \t\r\n")[:1]


def parse_json(content: bytes, described: str) -> ParsedFeed:
    """The items of a JSON Feed; bad JSON or JSON that is no feed is a one-line ``ParseError``."""
    try:
        document = json.loads(content)
    except ValueError as exc:  # JSONDecodeError and undecodable bytes alike
        raise ParseError(f"bad JSON{described}: {_one_line(str(exc))}") from None
    except RecursionError:
        raise ParseError(f"bad JSON{described}: nested too deeply") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise ParseError(f"not a feed{described}: JSON that is not a feed")
    items = document.get("items", [])
    if not isinstance(items, list):
        raise ParseError(f"not a valid JSON Feed{described}: 'items' is not a list")
    entries = [to_entry(item) for item in items if isinstance(item, dict)]
    skipped = len(items) - len(entries)
    warning = f"{skipped} JSON Feed item{'s' if skipped != 1 else ''} that {'are' if skipped != 1 else 'is'} not an object skipped" if skipped else None
    return ParsedFeed(entries=entries, warning=warning)


def to_entry(item: dict[str, Any]) -> feedparser.FeedParserDict:
    """One JSON Feed item as the entry feedparser would give for the same Atom entry.

    Each step maps the fields of one row (or a few) of the table above,
    adding keys in the order feedparser's entries have them.
    """
    entry = feedparser.FeedParserDict()
    for add in (_add_id, _add_links, _add_text, _add_images, _add_dates, _add_tags, _add_authors):
        add(entry, item)
    return entry


def _add_id(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    raw_id = item.get("id")
    if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool):
        entry["id"] = _text(str(raw_id))
        entry["guidislink"] = False


def _add_links(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    """``url`` and ``external_url`` as the alternate (and related) link, attachments as enclosures."""
    url, external = _text(item.get("url")), _text(item.get("external_url"))
    links = []
    if url or external:
        entry["link"] = url or external
        links.append(_dict(rel="alternate", type="text/html", href=url or external))
    if external and url:
        links.append(_dict(rel="related", type="text/html", href=external))
    links += [link for link in map(_enclosure, _objects(item.get("attachments"))) if link is not None]
    entry["links"] = links


def _enclosure(attachment: dict[str, Any]) -> feedparser.FeedParserDict | None:
    href = _text(attachment.get("url"))
    if not href:
        return None
    link = _dict(rel="enclosure", href=href, type=_text(attachment.get("mime_type")))
    if attachment.get("title"):
        link["title"] = _text(attachment.get("title"))
    size = attachment.get("size_in_bytes")
    if isinstance(size, int) and not isinstance(size, bool):
        link["length"] = str(size)
    return link


def _add_text(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    """The title, the body (HTML, else plain text) and the summary."""
    if isinstance(item.get("title"), str):
        entry["title"] = _text(item["title"])
        entry["title_detail"] = _dict(type="text/plain", value=entry["title"])
    html, text = _text(item.get("content_html")), _text(item.get("content_text"))
    if html or text:
        kind = "text/html" if html else "text/plain"
        entry["content"] = [_dict(type=kind, value=html or text)]
    if isinstance(item.get("summary"), str):
        entry["summary"] = _text(item["summary"])
        entry["summary_detail"] = _dict(type="text/plain", value=entry["summary"])


def _add_images(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    images = [_text(item.get(key)) for key in ("image", "banner_image")]
    media = [_dict(url=image, medium="image") for image in images if image]
    if media:
        entry["media_content"] = media


def _add_dates(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    for key, target in (("date_published", "published"), ("date_modified", "updated")):
        moment = _date(item.get(key))
        if moment is not None:
            entry[target] = _text(item[key])
            entry[f"{target}_parsed"] = moment.timetuple()


def _add_tags(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    tags = [_text(tag) for tag in item.get("tags") or [] if isinstance(tag, str)] if isinstance(item.get("tags"), list) else []
    if tags:
        entry["tags"] = [_dict(term=tag, scheme=None, label=None) for tag in tags if tag]


def _add_authors(entry: feedparser.FeedParserDict, item: dict[str, Any]) -> None:
    """``authors`` (1.1), else ``author`` (1.0)."""
    authors = [_dict(name=_text(a.get("name")), href=_text(a.get("url"))) for a in _objects(item.get("authors"))]
    if not authors and isinstance(item.get("author"), dict):
        authors = [_dict(name=_text(item["author"].get("name")), href=_text(item["author"].get("url")))]
    if authors:
        entry["authors"] = authors
        entry["author_detail"] = authors[0]
        entry["author"] = authors[0]["name"]


def _date(value: Any) -> datetime | None:
    """An RFC 3339 time in UTC; an RFC 822 one as feeds sometimes write; None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    """A JSON string as text any later stage can encode: lone surrogates become U+FFFD."""
    if not isinstance(value, str):
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _dict(**values: Any) -> feedparser.FeedParserDict:
    return feedparser.FeedParserDict(values)


def _one_line(text: str) -> str:
    return " ".join(text.split())
