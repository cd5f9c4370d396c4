"""Render an Article as Markdown with YAML front matter, in the seed format.

The layout is fixed byte for byte (see the README): key order, double quotes
for free text, single quotes for URLs and list items, a blank line before
``draft:``. Quoting is done here by hand rather than by a YAML emitter because
no emitter lets us choose the quote style per key; every value is escaped so
that it parses back to exactly the same string.
"""

from __future__ import annotations

from .normalize import Article

_DOUBLE_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def render(article: Article) -> str:
    """The whole file: front matter, then the body, then one newline."""
    if article.date is None:
        raise ValueError("an article needs a date before it is rendered")
    lines = [
        "---",
        f"title: {double_quoted(article.title)}",
        f"date: {article.date.isoformat()}",
        f"description: {double_quoted(article.description)}",
        f"summary: {double_quoted(article.summary)}",
        f"slug: {double_quoted(article.slug)}",
        f"image: {single_quoted(article.image)}",
        f"link: {single_quoted(article.link)}",
        f"source: {single_quoted(article.source)}",
        "categories:",
        *(f"- {single_quoted(c)}" for c in article.categories),
        "tags:",
        *(f"- {single_quoted(t)}" for t in article.tags),
        "",
        f"draft: {'true' if article.draft else 'false'}",
        "---",
    ]
    if article.body:
        lines.append(article.body)
    return "\n".join(lines) + "\n"


def double_quoted(text: str) -> str:
    """A YAML double-quoted scalar that any YAML 1.1/1.2 parser reads back as ``text``."""
    out = ['"']
    for ch in text:
        escaped = _DOUBLE_ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif _printable(ch) and ch != "\ufeff":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02X}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(f"\\U{ord(ch):08X}")
    out.append('"')
    return "".join(out)


def single_quoted(text: str) -> str:
    """A YAML single-quoted scalar; falls back to double quotes for text it cannot hold."""
    if all(_printable(ch) and ch not in "\t\x85\u2028\u2029\ufeff" for ch in text):
        return "'" + text.replace("'", "''") + "'"
    return double_quoted(text)


def _printable(ch: str) -> bool:
    """YAML's printable set (c-printable), minus the line breaks."""
    code = ord(ch)
    return (
        0x20 <= code <= 0x7E
        or code == 0x85
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
