"""An article page's bytes to the article's sanitized HTML (``content: extract``).

Pure: the page comes in, the article (or why there is none) goes out. It
runs in a worker process during a run, so lxml and readability-lxml are
imported there, and only once a feed asks for extraction.

The generic extractor is readability-lxml (the choice, measured against
trafilatura on saved pages of several shapes, is in
docs/how-to/full-articles.md). A feed's own ``selector:`` rules pick the
content instead, and its ``remove:`` rules drop parts first, but only on
pages of the feed's own site (the caller says whether they apply). What
comes out goes through the same sanitizer as feed content, which also makes
every URL absolute against the page's address.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import SelectorError
from ..deciding.extract import MIN_TEXT
from .normalize import plain_text
from .sanitize import sanitize

__all__ = ["Extracted", "extract_article", "HTML_TYPES", "SelectorError", "check_selector"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b", re.IGNORECASE | re.DOTALL)
_INVISIBLE = ("script", "style", "noscript", "template")


@dataclass(frozen=True)
class Extracted:
    """The article found on a page: sanitized HTML and the rule that found it, or why there is none."""

    html: str = ""
    title: str = ""
    rule: str = ""
    error: str | None = None
    javascript: bool = False  # the page shows its text only with JavaScript


def check_selector(selector: str) -> None:
    """Refuse (``SelectorError``) a rule that is not a CSS selector, when the config is read."""
    from cssselect import GenericTranslator
    from cssselect import SelectorError as Unreadable

    try:
        GenericTranslator().css_to_xpath(selector)
    except Unreadable as exc:
        raise SelectorError(f"{selector!r} is not a CSS selector: {exc}") from None


def extract_article(
    data: bytes, url: str, content_type: str = "", selector: Sequence[str] = (), remove: Sequence[str] = (),
    *, rules_apply: bool = True,
) -> Extracted:
    """The main content of the page at ``url`` (its final address, after redirects).

    ``selector``/``remove`` are the feed's rules; with ``rules_apply``
    false (a page on another site) they are ignored and the generic
    extractor decides.
    """
    refused = _not_html(data, content_type)
    if refused is not None:
        return Extracted(error=refused)
    text = _decode(data, content_type)
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        return Extracted(error=f"cannot read the page's HTML: {exc}")
    title = plain_text(" ".join(root.xpath("//title//text()")))
    if _needs_javascript(root):
        return Extracted(title=title, error="the page needs JavaScript to show its text", javascript=True)
    rules = rules_apply and bool(selector or remove)
    html, rule = _content(root, url, selector if rules else (), remove if rules else ())
    clean = sanitize(html, url)
    length = len(plain_text(clean))
    if length < MIN_TEXT:
        return Extracted(title=title, rule=rule, error=f"no article found on the page ({length} characters of text)")
    return Extracted(clean, title, rule)


def _not_html(data: bytes, content_type: str) -> str | None:
    """Why the page is not one to extract from: a type other than HTML, or no type and a start unlike HTML."""
    declared = content_type.split(";")[0].strip().lower()
    if declared in HTML_TYPES or (declared in ("", "text/plain", "application/octet-stream")
                                  and _HTML_START.match(data[:2048])):
        return None
    start = data[:16].decode("utf-8", "replace").replace("\n", " ")
    return f"not an HTML page (got {declared or 'no content type'}, starting {start!r})"


def _content(root: Any, url: str, selector: Sequence[str], remove: Sequence[str]) -> tuple[str, str]:
    """The article's HTML (not yet sanitized) and the rule that found it: the feed's rules, else readability."""
    for rule in remove:
        for element in root.cssselect(rule):
            if element.getparent() is not None:
                element.drop_tree()
    html, rule = _selected(root, selector) if selector else ("", "readability")
    if not html:
        import lxml.html
        from readability import Document

        html = Document(lxml.html.tostring(root, encoding="unicode"), url=url).summary(html_partial=True)
    if remove:
        rule += "; remove: " + ", ".join(remove)
    return html, rule


def _selected(root: Any, selector: Sequence[str]) -> tuple[str, str]:
    """What the ``selector:`` rules match, outermost elements only, in document order; "" if nothing."""
    import lxml.html

    found = [element for rule in selector for element in root.cssselect(rule)]
    found = [e for e in found if not any(other is not e and _inside(e, other) for other in found)]
    if not found:
        return "", f"readability (selector {', '.join(selector)} matched nothing)"
    html = "".join(lxml.html.tostring(e, encoding="unicode") for e in _document_order(root, found))
    return html, "selector: " + ", ".join(selector)


def _decode(data: bytes, content_type: str) -> str:
    """The page as text: valid UTF-8 wins, then the declared charset (HTTP, then <meta>), then windows-1252."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.IGNORECASE)
    meta = _META_CHARSET.search(data[:4096])
    for name in (declared.group(1) if declared else None, meta.group(1).decode("ascii") if meta else None):
        if name:
            try:
                return data.decode(codecs.lookup(name).name, "replace")
            except LookupError:
                continue
    return data.decode("windows-1252", "replace")


def _needs_javascript(root: object) -> bool:
    """A page with scripts and next to no visible text: an app shell that builds its text in the browser."""
    body = root.find("body")  # type: ignore[attr-defined]
    if body is None or not root.xpath("//script"):  # type: ignore[attr-defined]
        return False
    visible = [t for t in body.xpath(".//text()") if t.getparent().tag not in _INVISIBLE]
    return len(" ".join(" ".join(visible).split())) < MIN_TEXT // 2


def _inside(element: object, other: object) -> bool:
    return any(parent is other for parent in element.iterancestors())  # type: ignore[attr-defined]


def _document_order(root: object, elements: list) -> list:  # type: ignore[type-arg]
    order = {id(e): n for n, e in enumerate(root.iter())}  # type: ignore[attr-defined]
    return sorted(elements, key=lambda e: order.get(id(e), 0))
