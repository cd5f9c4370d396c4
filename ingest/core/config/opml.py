"""OPML subscription lists: read the ones feed readers export, write one of the config's feeds.

OPML files come from other programs and from strangers, so they are read as
hostile XML: the project's entity rules (``parse.check_entities``) run on
the raw bytes first, and expat, which never fetches an external entity,
does the rest. Every outline keeps the line it was written on, so a problem
can be reported where the user will look for it.

Folders are outlines without ``xmlUrl``, nested to any depth; a feed's
folders, outermost first, become its ``categories``. Export writes the same
shape back (one folder per category, nested in list order), so an exported
file imports to the same feeds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

from ...errors import OpmlError
from ..content.identity import normalize_link
from ..printable import canonical_credentials, printable_text, printable_url, url_secrets
from ..reading.parse import ParseError, check_entities
from .model import FeedConfig, strip_userinfo

__all__ = [
    "exportable", "MAX_OPML_SIZE", "OpmlError", "Outline", "read_opml", "same_feed_key", "url_problem",
    "write_opml",
]


MAX_OPML_SIZE = 16 * 1024 * 1024  # far beyond any real subscription list; a bigger file is a mistake
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


@dataclass(frozen=True)
class Outline:
    """One outline that is not a folder: a subscription, or a leaf without ``xmlUrl``.

    ``url`` is the ``xmlUrl`` attribute as written, stripped (None when
    missing); ``folders`` are the names of the enclosing folder outlines,
    outermost first.
    """

    line: int
    url: str | None
    title: str
    html_url: str | None
    type: str | None
    folders: tuple[str, ...]


def read_opml(data: bytes) -> list[Outline]:
    """The subscriptions (and folder-less leaves) of an OPML 1.0 or 2.0 document, in document order.

    Raises ``OpmlError`` for anything that is not a well-formed OPML
    document, with the line where expat stopped.
    """
    if len(data) > MAX_OPML_SIZE:
        raise OpmlError(f"the file is larger than {MAX_OPML_SIZE // (1024 * 1024)} MiB; not a subscription list")
    try:
        check_entities(data)
    except ParseError as exc:
        raise OpmlError(str(exc)) from None
    reader = _OutlineReader()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = lambda name, attrs: reader.start(name, attrs, parser.CurrentLineNumber)
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"line {exc.lineno}: not well-formed XML: {expat.ErrorString(exc.code)}") from None
    except _NotOpml as exc:
        raise OpmlError(str(exc)) from None
    if not reader.seen_body:
        raise OpmlError("no <body> element: an OPML file lists its outlines inside <body>")
    return reader.found


class _NotOpml(Exception):
    pass


class _OutlineReader:
    """Collects outlines from expat's events, tracking the folders around each one."""

    def __init__(self) -> None:
        self.outlines: list[Outline | None] = []  # None: an outline that may still turn out to be a folder
        self.seen_body = False
        self._depth = 0
        self._in_body = False
        # one frame per open <outline>: [folder name (None for a subscription), its index, has children, outline]
        self._open: list[list[Any]] = []

    def start(self, name: str, attrs: dict[str, str], line: int) -> None:
        self._depth += 1
        if self._depth == 1:
            if name != "opml":
                raise _NotOpml(f"not an OPML file: the document is <{name}>, not <opml>")
            return
        if self._depth == 2 and name == "body":
            self._in_body = self.seen_body = True
            return
        if not self._in_body or name != "outline":
            return
        if self._open:
            self._open[-1][2] = True
        lowered = {key.lower(): value for key, value in attrs.items()}
        # credentials encoded as the config's reader encodes them: a raw '[' or '#' in them reads the same
        url = canonical_credentials(_clean(lowered.get("xmlurl", ""))) or None
        outline = Outline(
            line=line,
            url=url,
            title=_text(lowered),
            html_url=_clean(lowered.get("htmlurl", "")) or None,
            type=_clean(lowered.get("type", "")) or None,
            folders=tuple(frame[0] for frame in self._open if frame[0]),
        )
        # a subscription is one at once; any other outline is a folder if it turns out to hold outlines
        self._open.append([None if url else outline.title, len(self.outlines), False, outline])
        self.outlines.append(outline if url else None)

    def end(self, name: str) -> None:
        self._depth -= 1
        if self._depth == 1 and name == "body":
            self._in_body = False
        if not self._in_body or name != "outline" or not self._open:
            return
        folder, index, has_children, outline = self._open.pop()
        if folder is not None and not has_children:
            # a leaf that is neither a folder nor a feed (a note, a link, an include): reported, not imported
            self.outlines[index] = outline

    @property
    def found(self) -> list[Outline]:
        return [outline for outline in self.outlines if outline is not None]


def _clean(value: str) -> str:
    """One line of text: control characters out, runs of whitespace as one space."""
    return " ".join(_CONTROL.sub(" ", value).split())


def _text(attrs: dict[str, str]) -> str:
    """What an outline is called: ``title`` (the feed's own title) or else ``text`` (what readers show)."""
    return _clean(attrs.get("title", "")) or _clean(attrs.get("text", ""))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a subscription (only http and https are imported), or None.

    The reason names the URL in its printable form: an outline's
    credentials are no more shown in a reason than in the ``url`` field.
    """
    shown = printable_url(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        parts.port  # noqa: B018 (a port that is not a number raises here, not later)
    except ValueError as exc:  # an unclosed IPv6 bracket, a port out of range
        # Python's reason quotes the part of the address it refused, which can hold the credentials
        return f"{shown!r} is not a valid URL ({printable_text(str(exc), url_secrets(url))})"
    if scheme not in ("http", "https"):
        hint = " (write it as http:// or https://)" if scheme == "feed" else ""
        return f"{shown!r} is not an http:// or https:// URL{hint}"
    if not host:
        return f"{shown!r} has no host name"
    if any(c.isspace() for c in url):
        return f"{shown!r} contains spaces"
    return None


def same_feed_key(url: str) -> str:
    """``url`` as compared for "already configured": scheme and host in lower case, no credentials, no fragment."""
    return normalize_link(url.strip())  # the comparison entry links get, which drops credentials too


# --- export --------------------------------------------------------------


def exportable(feed: FeedConfig) -> str | None:
    """Why ``feed`` is left out of an export (a local ``file:`` feed means nothing elsewhere), or None."""
    if urlsplit(feed.url).scheme.lower() not in ("http", "https"):
        return "a file: feed is not exported (it only exists on this machine)"
    return None


def write_opml(feeds: Sequence[FeedConfig], title: str = "ingest feeds") -> bytes:
    """An OPML 2.0 document of ``feeds``: one folder per category level, feeds and folders in config order.

    The feed's name is its ``text`` and ``title``; credentials in a URL are
    never written (``auth:`` and ``headers:`` are not part of OPML either).
    """
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(opml, "body")
    folders: dict[tuple[str, ...], ET.Element] = {(): body}
    for feed in feeds:
        path: tuple[str, ...] = ()
        for category in feed.categories or ():
            parent = folders[path]
            path = (*path, category)
            if path not in folders:
                folders[path] = ET.SubElement(parent, "outline", text=category, title=category)
        ET.SubElement(
            folders[path], "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=printable_url(strip_userinfo(feed.url))
        )
    ET.indent(opml, space="  ")
    document: bytes = ET.tostring(opml, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"
