"""Render an Article as Markdown with YAML front matter, as a profile describes.

The default profile (hugo) is the seed format, fixed byte for byte (see
docs/reference/front-matter.md): key order, double quotes for free text, single quotes for URLs and
list items, a blank line before ``draft:``. Quoting is done here by hand
rather than by a YAML emitter because no emitter lets us choose the quote
style per key; every value is escaped so that it parses back to exactly the
same string.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, time, timezone
from typing import Any

from ..content.article import Article, article_from_json
from ..content.excerpt import excerpt
from ..content.media import extra_lines
from ..records import StoredEntry
from .profiles import HUGO, Field, Profile

__all__ = ["base_text", "double_quoted", "render", "render_body", "single_quoted"]


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


def render(article: Article, profile: Profile = HUGO, body: str = "html") -> str:
    """The whole file: front matter, then the body, then one newline."""
    if article.date is None:
        raise ValueError("an article needs a date before it is rendered")
    lines = ["---"]
    for field in profile.fields:
        lines.extend(_field_lines(field, article))
    if article.extra_fields:
        lines.extend(extra_lines(article.extra_fields, article.enclosures, article.duration, article.author,
                                 article.video_id, double_quoted, single_quoted))
    lines.append("---")
    text = render_body(article.body, body, profile)
    if text:
        lines.append(text)
    return "\n".join(lines) + "\n"


def render_body(html: str, body: str, profile: Profile) -> str:
    """The sanitized HTML as is, or converted to Markdown for sites that refuse raw HTML.

    ``escape_misc`` makes markdownify backslash-escape ``<`` and friends, so
    text that was ``&lt;script&gt;`` in the HTML cannot turn back into a tag.
    """
    if body == "markdown" and html:
        from markdownify import (
            markdownify,  # large, and only the markdown body format needs it
        )

        html = markdownify(html, heading_style="ATX", bullets="-", escape_misc=True).strip()
    elif html:
        html = _drop_blank_lines(html)
    if profile.escape_shortcodes:
        brace = "{\\" if body == "markdown" else "&#123;"
        html = _SHORTCODE.sub(lambda _m: brace, html)
    return html


def _drop_blank_lines(html: str) -> str:
    """Leave no empty line in the HTML, without changing what a browser shows.

    Markdown ends a raw HTML block at an empty line, so in pretty-printed
    HTML the next indented line would become a code block showing tags as
    text (Hugo, Eleventy). Outside <pre> empty lines are just whitespace and
    are dropped; inside <pre> each one keeps its line break as ``&#10;``.
    """
    if "\n" not in html:
        return html
    parts = _PRE.split(html)
    for index, part in enumerate(parts):
        if index % 2 == 0:  # outside <pre>
            parts[index] = _BLANK_LINES.sub("\n", part)
        else:
            parts[index] = _EMPTY_LINE.sub(lambda m: f"\n{m.group(1)}&#10;", part)
    return "".join(parts)


def _field_lines(field: Field, article: Article) -> list[str]:
    value: Any = getattr(article, field.source) if field.source else None
    kind = field.kind
    if kind == "blank":
        return [""]
    if kind == "text":
        return [f"{field.key}: {double_quoted(value)}"]
    if kind == "excerpt":
        return [f"{field.key}: {double_quoted(excerpt(value, article.summary_length))}"]
    if kind == "url":
        return [f"{field.key}: {single_quoted(value)}"]
    if kind == "date":
        assert article.date is not None  # every written entry is dated (first seen, if not by its feed)
        return [f"{field.key}: {article.date.isoformat()}"]
    if kind == "datetime":
        return [f"{field.key}: {_moment(article).strftime('%Y-%m-%d %H:%M:%S +00:00')}"]
    if kind == "list":
        if not value and field.empty:
            return [f"{field.key}: {field.empty}"]
        return [f"{field.key}:", *(f"- {single_quoted(v)}" for v in value)]
    if kind in ("bool", "not"):
        return [f"{field.key}: {'true' if bool(value) != (kind == 'not') else 'false'}"]
    if kind == "const":
        return [f"{field.key}: {field.value}"]
    raise ValueError(f"unknown front-matter field kind {kind!r}")


def _moment(article: Article) -> datetime:
    """The publication time in UTC; midnight of the date when only the day is known."""
    if article.published is not None:
        return article.published.astimezone(timezone.utc)
    assert article.date is not None  # every written entry is dated (first seen, if not by its feed)
    return datetime.combine(article.date, time(0), tzinfo=timezone.utc)


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
_EMPTY_LINE = re.compile(r"\n([ \t]*)\n")

# Hugo starts a shortcode at "{{<" or "{{%"; splitting the braces keeps the text.
_SHORTCODE = re.compile(r"\{(?=\{[<%])")


# Characters YAML cannot hold as they are (outside c-printable), line breaks
# YAML 1.1 would fold (NEL, LS, PS) and the BOM: what forces escaping.
_UNSAFE = "\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff"
_NEEDS_ESCAPE = re.compile(f'[\\\\"{_UNSAFE}]')
_NOT_SINGLE_QUOTABLE = re.compile(f"[{_UNSAFE}]")


def double_quoted(text: str) -> str:
    """A YAML double-quoted scalar that any YAML 1.1/1.2 parser reads back as ``text``."""
    if not _NEEDS_ESCAPE.search(text):  # the common case, one regex scan
        return f'"{text}"'
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
    if not _NOT_SINGLE_QUOTABLE.search(text):
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


def base_text(entry: StoredEntry, profile: Profile, body: str) -> str | None:
    """The text the entry's file was last written from (rendered in ``profile`` and ``body``), to tell what its owner changed."""
    if entry.base_article is None:
        return None
    return render(replace(article_from_json(entry.base_article), slug=entry.given_slug), profile, body)
