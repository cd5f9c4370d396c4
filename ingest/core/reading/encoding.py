"""Decide how a feed's bytes decode before feedparser guesses.

feedparser tries the HTTP charset, the XML declaration and the byte-order
mark, then ``cchardet``/``chardet`` when either happens to be importable,
then UTF-8, windows-1252 and ISO-8859-2, and keeps the first that decodes
without error. So undeclared windows-1251 "decodes" as windows-1252
mojibake, and what it does depends on which packages are installed. ingest
decides first, with rules of its own, and hands feedparser UTF-8 bytes that
declare UTF-8: feedparser's first candidate then always succeeds, so its
own guesswork never runs, whatever is importable.

The rules, in order:

- A byte-order mark, UTF-16 or UTF-32: left to feedparser (they are
  unambiguous).
- Bytes that are valid UTF-8 and hold multi-byte sequences are UTF-8, even
  when the HTTP header or the XML declaration names a single-byte charset
  (a server's default charset is the usual cause): ``utf-8 (declared X)``.
- Otherwise a declared encoding that decodes the bytes is used as declared.
- Bytes that no declaration accounts for are given to a detector
  (faust-cchardet, chosen for its accuracy on windows-1251, KOI8-R, GB2312,
  Shift_JIS and ISO-8859-2 and its small import cost; see the reading
  explanation page): ``windows-1251 (detected)``. When it has no answer
  that decodes, windows-1252 then ISO-8859-2 are used, as feedparser would
  without a detector: ``windows-1252 (guessed)``.

The document handed on is the same text in UTF-8, its XML declaration
saying so; the item-level reading cuts its subsets from that document, so
every item is read with the encoding decided for the whole.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Mapping

__all__ = ["Decoded", "decide", "detect"]


# feedparser's pattern for the declared encoding: the first line, whatever the processing instruction.
_DECLARED = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*?\?>")
_UTF = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")
# Names the detector gives that Python spells otherwise or that a superset reads better.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc-kr": "cp949"}
# Content types for which feedparser reads the charset parameter (RFC 3023 and text/*).
_CHARSET_TYPES = re.compile(r"^(application/([\w.+-]+\+)?xml|application/xml-[\w-]+|text/[\w.+-]+)$")


@dataclass(frozen=True)
class Decoded:
    """A document as feedparser is to read it, and how it was decoded when ingest decided."""

    content: bytes
    headers: dict[str, str]
    note: str | None = None  # "windows-1251 (detected)", "utf-8 (declared windows-1252)"


def decide(content: bytes, headers: Mapping[str, str]) -> Decoded:
    """``content`` and ``headers`` (content-type, content-language) made unambiguous for feedparser.

    The sources of a charset are tried in order of trust: a byte order mark,
    valid UTF-8, the declarations (HTTP, then XML), detection, then a guess.
    """
    plain = dict(headers)
    if content.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:4]:
        return Decoded(content, plain)
    media, http = _content_type(plain.get("content-type", ""))
    declared = _declared(content, media, http)
    if _is_utf8(content):
        return _valid_utf8(content, plain, media, declared)
    return _by_declaration(content, plain, media, declared) or _undeclared(content, plain, media)


def _declared(content: bytes, media: str, http: str) -> list[str]:
    """The charsets the document declares, as feedparser reads them: HTTP's (for XML and text types), then XML's."""
    match = _DECLARED.match(content)
    xml = match.group(1).decode("ascii", "replace").strip().lower() if match else ""
    return [name for name in (http if _CHARSET_TYPES.match(media) else "", xml) if name]


def _valid_utf8(content: bytes, plain: dict[str, str], media: str, declared: list[str]) -> Decoded:
    """A document that is valid UTF-8: UTF-8 it is, whatever single-byte charset it declares."""
    if content.isascii():
        return Decoded(content, plain)
    single = [name for name in declared if _single_byte(name)]
    if single:
        return _as_utf8(content, content.decode("utf-8"), plain, media, f"utf-8 (declared {single[0]})")
    if not declared and media.startswith("text/"):
        # text/* without a charset is US-ASCII to feedparser, which would then guess: say UTF-8
        return _as_utf8(content, None, plain, media, None)
    return Decoded(content, plain)


def _by_declaration(content: bytes, plain: dict[str, str], media: str, declared: list[str]) -> Decoded | None:
    """The first declared charset that decodes the document (or its superset does); None if none does."""
    for name in declared:
        if _decode(content, name, superset=False) is not None:
            return Decoded(content, plain)  # feedparser tries the declarations before any guess
        text = _decode(content, name)
        if text is not None:  # windows-31j bytes declared as shift_jis, say
            return _as_utf8(content, text, plain, media, None)
    return None


def _undeclared(content: bytes, plain: dict[str, str], media: str) -> Decoded:
    """A document no declaration decodes: the detector's answer, else the common Western and Central European charsets."""
    found = detect(content)
    if found is not None:
        text = _decode(content, found)
        if text is not None:
            return _as_utf8(content, text, plain, media, f"{found} (detected)")
    for name in ("windows-1252", "iso-8859-2"):
        text = _decode(content, name)
        if text is not None:
            return _as_utf8(content, text, plain, media, f"{name} (guessed)")
    return Decoded(content, plain)  # unreachable: ISO-8859-2 decodes any byte


def detect(content: bytes) -> str | None:
    """The encoding the detector reads in ``content``, lower-case (``windows-1251``), or None.

    The detector is imported here, on the first document that needs it: a
    run whose feeds all declare their encoding or are UTF-8 never loads it.
    """
    import cchardet

    name = cchardet.detect(content).get("encoding")
    if not name:
        return None
    name = str(name).lower()
    return None if name in ("ascii", "utf-8") else name


def _content_type(value: str) -> tuple[str, str]:
    media, _, params = value.partition(";")
    charset = ""
    for param in params.split(";"):
        key, _, raw = param.partition("=")
        if key.strip().lower() == "charset":
            charset = raw.strip().strip("\"'").lower()
    return media.strip().lower(), charset


def _is_utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _codec(name: str, superset: bool = True) -> str | None:
    if name == "gb2312":
        name = "gb18030"  # as feedparser does
    try:
        return codecs.lookup(_SUPERSETS.get(name, name) if superset else name).name
    except LookupError:
        return None


def _single_byte(name: str) -> bool:
    """Whether ``name`` is a charset of one byte per character (where valid UTF-8 is almost never meant)."""
    codec = _codec(name)
    if codec is None or codec.replace("_", "-") in _UTF:
        return False
    try:
        return len(codecs.decode(bytes(range(0x80, 0x100)), codec, "replace")) == 0x80
    except (LookupError, ValueError):
        return False


def _decode(content: bytes, name: str, superset: bool = True) -> str | None:
    codec = _codec(name, superset)
    if codec is None:
        return None
    try:
        return content.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _as_utf8(content: bytes, text: str | None, headers: dict[str, str], media: str, note: str | None) -> Decoded:
    """The document in UTF-8, its XML declaration and charset saying so."""
    data = content if text is None else text.encode("utf-8", "surrogatepass")
    declaration = _XML_DECLARATION.match(data)
    if declaration is not None:
        data = b"<?xml version='1.0' encoding='utf-8'?>" + data[declaration.end():]
    else:
        data = b"<?xml version='1.0' encoding='utf-8'?>\n" + data
    if media and _CHARSET_TYPES.match(media):
        headers = {**headers, "content-type": f"{media}; charset=utf-8"}
    return Decoded(data, headers, note)
