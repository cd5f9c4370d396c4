"""Turn fetched bytes into feed entries with feedparser.

feedparser's own sanitizer and relative-URI resolver are turned off: they are
slow and reorder attributes, and ``content.sanitize`` does both jobs with nh3. The
final URL is deliberately not given to feedparser as ``content-location``, so
a guid such as ``123`` keeps its raw value for identity instead of becoming a
URL relative to wherever the feed happened to be fetched from.

Hostile XML is refused before feedparser sees it: a document type that
declares external entities, parameter entities, entities built from other
entities or long entity texts is the shape of every entity-expansion attack
(billion laughs, quadratic blowup, XXE) and of almost no real feed. Plain
declarations such as ``<!ENTITY nbsp "&#160;">`` still pass. feedparser has
defences of its own, but they depend on how the declarations are laid out;
this check reads the document type with expat itself and never expands.

When the strict XML parse fails, the entries of feedparser's lenient reading
are used (``recover`` says which of them can be trusted), except when the
prolog itself is broken: the document type is where entity tricks hide, and
one that expat cannot read to the end could hide declarations from the check.
JSON Feeds are read by ``jsonfeed``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from xml.parsers import expat

import feedparser

from ...errors import ParseError
from ..config.model import redact
from ..records import FetchResult
from ..scheduling.politeness import parse_ttl
from .encoding import Decoded, decide
from .recover import cut_entry

__all__ = [
    "alternate_links", "check_entities", "FEED_LINK_TYPES", "first_bytes", "MAX_ENTITY_TEXT", "MAYBE_JSON_FEED",
    "parse", "ParsedFeed", "ParseError",
]


# Problems feedparser reports that still leave a trustworthy parse.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
# Longest entity text accepted: enough for any character name, too short to amplify.
MAX_ENTITY_TEXT = 64
_ENTITY_REF = re.compile(r"&[A-Za-z_:][\w.:-]*;")
# The link types of the feeds ingest reads, and the format each names.
FEED_LINK_TYPES = {
    "application/rss+xml": "rss",
    "application/rdf+xml": "rss",  # RSS 1.0
    "application/atom+xml": "atom",
    "application/feed+json": "json",
}
MAYBE_JSON_FEED = "application/json"  # sites use it for JSON Feeds and for other JSON alike


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[Any]
    ttl: float | None = None  # RSS <ttl>, minutes
    warning: str | None = None  # something forgiven, for the run's report
    encoding: str | None = None  # how the bytes were decoded when ingest decided ("windows-1251 (detected)")


def parse(result: FetchResult, decoded: Decoded | None = None) -> ParsedFeed:
    """Entries of a feed; anything that is not a feed is a ``ParseError`` saying what came back.

    Slips that lose nothing are forgiven: blank lines before the XML
    declaration (they are dropped), and HTML entities such as ``&nbsp;`` that
    XML does not define (feedparser's lenient parser reads them as HTML does;
    the report notes it). The encoding is decided first (``encoding``;
    ``decoded`` when the caller did it already). Any other XML error is read leniently too, with a
    warning that says so, as long as the prolog was sound and at least one
    entry came through; an entry the document ends inside (a truncated
    transfer) is left out rather than written half (see ``recover``).
    """
    headers = parser_headers(result)
    content = document(result)
    if not content:
        raise ParseError(f"empty response{_described(result)}")
    from . import jsonfeed  # here: most runs read no JSON

    if jsonfeed.looks_like_json(content, headers.get("content-type", "")):
        return jsonfeed.parse_json(content, _described(result))
    if decoded is None:
        decoded = decide(content, headers)
    content, headers = decoded.content, decoded.headers
    prolog_sound = check_entities(content)
    try:
        data = _feedparser(content, headers)
    except Exception as exc:  # feedparser's lenient parser can trip on odd input (lone surrogates...)
        raise ParseError(f"cannot parse the feed: {type(exc).__name__}: {exc}") from None
    exception = data.get("bozo_exception")
    warning = None
    entries = list(data.entries)
    if data.get("bozo") and not isinstance(exception, _HARMLESS):
        if not data.get("version") and not entries:
            raise ParseError(_not_a_feed(result))
        if data.get("version") and _only_undefined_entities(exception):
            warning = f"the feed's XML uses undefined entities ({_location(exception)}); read leniently"
        elif not prolog_sound:
            raise ParseError(f"malformed feed XML: {_location(exception)}")
        else:
            warning = f"recovered from malformed XML: {_location(exception)}"
            if cut_entry(content, data.get("encoding")) and entries:
                entries.pop()
                warning += "; the last entry is cut off and was not written"
            if not entries:
                raise ParseError(f"malformed feed XML: {_location(exception)}")
    if not data.get("version"):
        raise ParseError(_not_a_feed(result))
    feed = data.get("feed", {})
    return ParsedFeed(entries=entries, ttl=parse_ttl(feed.get("ttl")), warning=warning, encoding=decoded.note)


def parse_subset(decoded: Decoded, subset: bytes) -> ParsedFeed | None:
    """Entries of ``subset``, a document made of part of ``decoded``'s items (see ``itemsplit``).

    None unless feedparser reads it strictly, as a sound whole document is
    read: nothing recovered, nothing forgiven but what ``parse`` forgives
    silently. The caller has run the checks of ``parse`` on the whole
    document first.
    """
    try:
        data = _feedparser(subset, decoded.headers)
    except Exception:  # the whole document is read instead, and reports the problem
        return None
    if data.get("bozo") and not isinstance(data.get("bozo_exception"), _HARMLESS):
        return None
    if not data.get("version"):
        return None
    ttl = parse_ttl(data.get("feed", {}).get("ttl"))
    return ParsedFeed(entries=list(data.entries), ttl=ttl, encoding=decoded.note)


def parser_headers(result: FetchResult) -> dict[str, str]:
    """The response headers feedparser is given: those that decide the encoding and the language."""
    return {k: v for k, v in result.headers.items() if k in ("content-type", "content-language")}


def document(result: FetchResult) -> bytes:
    """The bytes ``parse`` reads: the body less blank lines before the XML declaration."""
    return result.content.lstrip(b" \t\r\n")


def _feedparser(content: bytes, headers: dict[str, str]) -> Any:
    return feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)


def _only_undefined_entities(exception: Any) -> bool:
    message = getattr(exception, "getMessage", None)
    return message is not None and message() == "undefined entity"


def check_entities(content: bytes) -> bool:
    """Refuse a document type that could expand into more than it says; whether the prolog is sound.

    Only the prolog is read: parsing stops at the root element, before any
    entity could be referenced, so this costs nothing on a hostile document.
    False means expat stopped at an error before the root element, so some
    declarations may not have been seen: such a document is not read
    leniently.
    """
    content = _utf32_as_utf8(content)
    parser = expat.ParserCreate(encoding=_expat_encoding(content))
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def on_entity(name: str, is_parameter: int, value: str | None, base: Any, system_id: str | None,
                  public_id: str | None, notation: str | None) -> None:
        kind = "parameter entity" if is_parameter else "entity"
        if system_id or public_id or notation:
            raise ParseError(f"refused: the document declares external {kind} {name!r} (an XML external entity attack)")
        if is_parameter or value is None:
            raise ParseError(f"refused: the document declares {kind} {name!r}")
        if _ENTITY_REF.search(value):
            raise ParseError(
                f"refused: the document declares entity {name!r} built from other entities "
                "(an entity-expansion attack such as billion laughs)"
            )
        if len(value) > MAX_ENTITY_TEXT:
            raise ParseError(
                f"refused: the document declares entity {name!r} of {len(value)} characters "
                f"(more than {MAX_ENTITY_TEXT}; an entity-expansion attack)"
            )

    def at_root(*_args: Any) -> None:
        raise _PrologDone()

    parser.EntityDeclHandler = on_entity
    parser.StartElementHandler = at_root
    try:
        parser.Parse(content, True)
    except _PrologDone:
        return True
    except expat.ExpatError:
        return False  # not well-formed before the root: feedparser reports it, and expands nothing either way
    return False


def _utf32_as_utf8(content: bytes) -> bytes:
    """expat reads no UTF-32: give it the same prolog in UTF-8 (a UTF-32 bomb must not slip through)."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be")):
        if content.startswith(bom):
            return content[4:].decode(codec, "replace").encode("utf-8", "surrogatepass")
    for head, codec in ((b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be")):
        if content.startswith(head):
            return content.decode(codec, "replace").encode("utf-8", "surrogatepass")
    return content


class _PrologDone(Exception):
    pass


def _expat_encoding(content: bytes) -> str | None:
    """Read the prolog as Latin-1 whatever it claims, so no declared encoding can hide it.

    Markup characters are ASCII in every encoding a feed uses except UTF-16,
    which expat detects by itself, and UTF-32, which is turned into UTF-8 first.
    """
    head = content[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return None
    return "iso-8859-1"


def _location(exception: Any) -> str:
    """'line 3, column 28: mismatched tag' from a SAX error, else its text."""
    get_line = getattr(exception, "getLineNumber", None)
    message = getattr(exception, "getMessage", None)
    if get_line and message:
        return f"line {get_line()}, column {exception.getColumnNumber()}: {message()}"
    return str(exception) or type(exception).__name__


def _not_a_feed(result: FetchResult) -> str:
    """Say what came back instead of a feed and, for a web page, where its feed is."""
    message = f"not a feed{_described(result)}"
    text = result.content[:512 * 1024].decode("utf-8", "replace")
    links = [url for url, kind, _title in alternate_links(text, result.final_url) if kind in FEED_LINK_TYPES]
    if links:
        return f"{message}: the page advertises a feed at {redact(links[0])}; use that URL instead"
    return message


def alternate_links(text: str, page_url: str) -> list[tuple[str, str, str | None]]:
    """The feeds a page names in ``<link rel="alternate">`` tags: (absolute URL, type, title), in page order.

    Types are those of ``FEED_LINK_TYPES`` and plain ``application/json``
    (which may or may not be a JSON Feed); relative URLs resolve against the
    page's ``<base href>``, else its own URL. A broken page gives what was
    found before the break.
    """
    finder = _AlternateLinks()
    try:
        finder.feed(text)
        finder.close()
    except Exception:  # a broken page: use what was found before the break
        pass
    try:
        base = urljoin(page_url, finder.base) if finder.base else page_url
    except ValueError:  # a <base href> that is no URL (an unclosed IPv6 bracket): the page's own
        base = page_url
    found = []
    for href, kind, title in finder.links:
        try:
            found.append((urljoin(base, href), kind, title))
        except ValueError:  # an href that is no URL names no feed
            continue
    return found


class _AlternateLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        href = values.get("href", "").strip()
        if tag == "base" and href and self.base is None:
            self.base = href
        if tag != "link" or not href:
            return
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in values.get("rel", "").lower().split() and (kind in FEED_LINK_TYPES or kind == MAYBE_JSON_FEED):
            title = " ".join(values.get("title", "").split()) or None
            self.links.append((href, kind, title))

    handle_startendtag = handle_starttag


def _described(result: FetchResult) -> str:
    content_type = result.headers.get("content-type", "no content type")
    start = first_bytes(result.content, 60)
    return f" (got {content_type}, starting {start})" if start else f" (got {content_type})"


def first_bytes(data: bytes, limit: int) -> str:
    """The start of a body that is not what was expected, quoted, as printable text whatever its bytes.

    Text (UTF-8, or UTF-16/32 with a byte order mark) reads as itself, runs
    of white space as one space; a byte that is not text, and a character
    that does not print (a control character, a terminal escape), reads as
    an escape such as ``\\x89``, so a message never carries raw binary to a
    terminal or a log. Empty when there is nothing to show.
    """
    head = data[: limit * 4]
    text = head.decode("utf-8", "backslashreplace")
    encoding = json.detect_encoding(head)  # UTF-16/32 as text too, when it reads as text
    if encoding != "utf-8":
        wide = head.decode(encoding, "replace")
        if all(ch.isprintable() or ch.isspace() for ch in wide.lstrip("\ufeff")):
            text = wide
    text = text.lstrip("\ufeff")
    text = " ".join(text.split())[:limit]
    if not text:
        return ""
    shown = "".join(ch if ch.isprintable() and ch != "\ufffd" else _escape(ch) for ch in text)
    return "'" + shown.replace("'", "\\'") + "'"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
