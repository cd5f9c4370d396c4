"""Split an RSS or Atom document into its items, so a changed feed reads only its changed items.

A news feed that gains one item still sends all of them; feedparser on the
whole document is most of what such a poll costs. This module finds each
item's bytes (with expat, which checks the whole document is well-formed
XML on the way, and so never mistakes an ``<item>`` inside a comment or a
CDATA section for one), so that a document of the feed's header, its new
and changed items only and its trailer can be parsed instead.

That shortcut is only sound when feedparser would read each item exactly as
it does in the whole document: the same bytes, decoded the same way, in the
same state. feedparser's state when an item begins depends on the markup
before it (namespace declarations, which it tracks for the whole document,
``xml:base``, ``xml:lang``, the root element's version) and on the HTTP
headers, never on the text of the header's elements. So ``context`` holds
the prolog, the start tags of the items' ancestors and of header elements
that declare namespaces, and the two headers feedparser reads; an item's
key is its bytes with that context.
``split_items`` gives up (returns None) whenever the shape is not one it can
vouch for, and the caller then parses the whole document:

- not RSS 2.0 (``rss/channel/item``), RSS 1.0 or 0.90 (``rdf:RDF/item``)
  or Atom 1.0 (``feed/entry``), or items not next to each other;
- a document type (entities), or anything expat refuses (undefined
  entities, broken markup: such documents are read leniently, whole);
- an encoding in which the subset could decode otherwise than the whole:
  anything but UTF-8 (US-ASCII being part of it), a UTF-16 or UTF-32 mark,
  bytes that are not valid UTF-8, or non-ASCII text served as ``text/*``
  without a charset and without an XML declaration saying UTF-8; and a
  document whose first line reaches into the items (feedparser looks for
  the declared encoding on the first line, which must be the same in the
  subset);
- inside an item, a namespace declaration that could change how later
  items are read (only one the header already made, or the XHTML default
  namespace of Atom's ``type="xhtml"`` content, which feedparser records
  under its own name only, are allowed), or an ``xml:base`` when no
  ancestor of the items has an absolute one (feedparser would then carry
  it over into the next items), or an ``xml:base`` in the header other
  than on the items' ancestors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.parsers import expat

__all__ = ["ATOM", "ItemSplit", "RDF", "RSS_090", "RSS_10", "split_items", "XHTML"]


RSS_10 = "http://purl.org/rss/1.0/"
RSS_090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"
_SEP = " "  # expat's separator between a namespace and a local name (a URI holds no space)
# Where the items are, by root element: the path of the element that holds them, and their name.
_SHAPES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "rss": (("rss", "channel"), frozenset({"item"})),
    f"{RDF}{_SEP}RDF": ((f"{RDF}{_SEP}RDF",), frozenset({f"{RSS_10}{_SEP}item", f"{RSS_090}{_SEP}item"})),
    f"{ATOM}{_SEP}feed": ((f"{ATOM}{_SEP}feed",), frozenset({f"{ATOM}{_SEP}entry"})),
}
# The encoding a document declares, found as feedparser finds it: on the first line only, the last
# ``encoding=`` of it, whatever the processing instruction (this is its pattern).
_DECLARED_ENCODING = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")
_ABSOLUTE = re.compile(r"\A\s*https?://\S")
_UTF8 = ("utf-8", "utf8")


@dataclass(frozen=True)
class ItemSplit:
    """A document cut into header, items and trailer, and what shapes how its items are read."""

    content: bytes
    spans: tuple[tuple[int, int], ...]  # each item's byte range, in document order
    context: bytes

    def item(self, index: int) -> bytes:
        start, end = self.spans[index]
        return self.content[start:end]

    def document(self, keep: Sequence[int]) -> bytes:
        """The document with only the items at positions ``keep`` (0-based, in order)."""
        if not self.spans:
            return self.content
        head, tail = self.content[:self.spans[0][0]], self.content[self.spans[-1][1]:]
        return head + b"\n".join(self.item(index) for index in keep) + tail


def split_items(content: bytes, headers: Mapping[str, str]) -> ItemSplit | None:
    """The items of ``content`` (as ``parse`` reads it: leading blank lines stripped), or None.

    ``headers`` are the response headers ``parse`` gives feedparser
    (``content-type``, ``content-language``). None means: read the whole
    document; see the module's docstring for when.
    """
    if not _encoding_sound(content, headers):
        return None
    scanner = _Scanner(content)
    if not scanner.run() or not scanner.spans:
        return None
    spans = tuple(scanner.spans)
    if b"\n" not in content[:spans[0][0]]:
        return None  # feedparser reads the encoding off the first line: it must be the header's in any subset
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if content[end:start].strip(b" \t\r\n"):
            return None  # something between two items: not a run of items
    context = b"\0".join([
        headers.get("content-type", "").encode("utf-8", "surrogatepass"),
        headers.get("content-language", "").encode("utf-8", "surrogatepass"),
        content[:scanner.root_start],
        *scanner.header_tags,
    ])
    return ItemSplit(content, spans, context)


def _encoding_sound(content: bytes, headers: Mapping[str, str]) -> bool:
    """Whether any subset of the items decodes, in feedparser, exactly as in the whole document."""
    head = content[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        return False  # UTF-16 or UTF-32
    kind, _, params = headers.get("content-type", "").partition(";")
    charset = ""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
    if charset and charset not in _UTF8:
        return False
    match = _DECLARED_ENCODING.match(content.removeprefix(b"\xef\xbb\xbf"))
    declared = match.group(1).decode("ascii", "replace").lower() if match else ""
    if declared and declared not in _UTF8:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if content.isascii() or charset or declared or content.startswith(b"\xef\xbb\xbf"):
        return True
    # text/* without a charset is US-ASCII to feedparser: a document that is
    # not would be decoded by guesswork, which may guess otherwise for a subset.
    return not kind.strip().lower().startswith("text/")


class _Scanner:
    """One expat pass over the document: item boundaries, header start tags, and vetoes."""

    def __init__(self, content: bytes):
        self.content = content
        self.parser = expat.ParserCreate(namespace_separator=_SEP)
        self.spans: list[tuple[int, int]] = []
        self.header_tags: list[bytes] = []
        self.root_start = 0
        self.path: list[str] = []
        self.holder: tuple[str, ...] = ()
        self.names: frozenset[str] = frozenset()
        self.in_item = False
        self.item_start = 0
        self.item_depth = 0
        self.header_decls: set[tuple[str | None, str]] = set()
        self.declared: list[tuple[str | None, str]] = []  # by the element about to start
        self.absolute_base = False  # an ancestor of the items has an absolute xml:base

    def run(self) -> bool:
        """Scan the document once; False when it must be read whole.

        The parser holds this scanner's methods as its handlers and the
        scanner holds the parser: that cycle is cut when the pass ends, so
        expat's buffers (about the document's size) go at once instead of
        at the next full garbage collection, which in a worker that reads
        hundreds of feeds comes seldom (memory grew with the feeds read).
        """
        parser = self.parser
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.StartNamespaceDeclHandler = self.namespace
        parser.StartDoctypeDeclHandler = self.doctype
        try:
            parser.Parse(self.content, True)
        except (expat.ExpatError, _Veto):
            return False
        finally:
            del self.parser
        return not self.in_item

    def start(self, name: str, attributes: dict[str, str]) -> None:
        path = self.path
        if not path:
            self.root_start = self.parser.CurrentByteIndex
            shape = _SHAPES.get(name)
            if shape is None:
                raise _Veto()
            self.holder, self.names = shape
        depth = len(path)
        if not self.in_item and depth == len(self.holder) and name in self.names and tuple(path) == self.holder:
            self.in_item = True
            self.item_start = self.parser.CurrentByteIndex
            self.item_depth = depth
        if self.in_item:
            self._check_item_element(attributes)
        elif not self.spans:
            self._header_element(name, attributes)
        self.declared.clear()
        path.append(name)

    def _header_element(self, name: str, attributes: dict[str, str]) -> None:
        """Keep in the context what of the header's markup can shape how the items are read.

        That is the start tags of the items' ancestors (the root's version,
        ``xml:base`` and ``xml:lang`` for all that is below them), and those
        that declare a namespace (feedparser's record of namespaces holds for
        the rest of the document). Other start tags and all text only shape
        the feed's own fields, so a header whose date or links change every
        poll keeps the items' keys. An ``xml:base`` elsewhere in the header
        could linger into the items in ways that depend on the nesting:
        such a document is read whole.
        """
        ancestor = (*self.path, name) == self.holder[:len(self.path) + 1]
        names = [key.rpartition(_SEP)[2].lower() for key in attributes]
        if "base" in names:
            if not ancestor:
                raise _Veto()
            for key, value in attributes.items():
                if key.rpartition(_SEP)[2].lower() == "base" and _ABSOLUTE.match(value):
                    self.absolute_base = True
        if ancestor or self.declared or "lang" in names:
            self.header_decls.update(self.declared)
            begin = self.parser.CurrentByteIndex
            self.header_tags.append(self.content[begin:_tag_end(self.content, begin)])

    def _check_item_element(self, attributes: dict[str, str]) -> None:
        """Veto what an element inside an item could carry over into the items after it."""
        for prefix_uri in self.declared:
            if prefix_uri not in self.header_decls and prefix_uri != (None, XHTML):
                raise _Veto()
        if not self.absolute_base:
            for key in attributes:
                if key.rpartition(_SEP)[2].lower() == "base":
                    raise _Veto()

    def end(self, name: str) -> None:
        self.path.pop()
        if self.in_item and len(self.path) == self.item_depth:
            self.in_item = False
            self.spans.append((self.item_start, _tag_end(self.content, self.parser.CurrentByteIndex)))

    def namespace(self, prefix: str | None, uri: str | None) -> None:
        if uri:  # an undeclaration (no URI): feedparser ignores it
            self.declared.append((prefix, uri))

    def doctype(self, *_args: object) -> None:
        raise _Veto()


class _Veto(Exception):
    """The document is not one whose items can be read apart."""


def _tag_end(content: bytes, begin: int) -> int:
    """The index just past the ``>`` that closes the tag starting at ``begin`` (quoted ``>`` skipped)."""
    index = begin
    quote = 0
    while True:
        char = content[index]
        if quote:
            if char == quote:
                quote = 0
        elif char in (0x22, 0x27):
            quote = char
        elif char == 0x3E:
            return index + 1
        index += 1
