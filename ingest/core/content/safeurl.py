"""Which URLs may reach a front-matter field that a theme turns into an attribute.

Themes print ``link:``, ``image:`` (and any later URL field, such as
enclosures) into ``href`` and ``src`` attributes, often without escaping.
Bodies are sanitized, but these fields come straight from the feed, and a
``javascript:`` or ``data:`` URL there runs in the site's own origin.

:func:`safe_url` is the one rule: only ``http:`` and ``https:`` URLs pass,
and relative ones are made absolute against the feed's address (and pass
only if that makes them http or https). The value is read the way a browser
reads an attribute, so no spelling slips through: ASCII tabs and line
breaks anywhere are ignored, leading and trailing controls and spaces are
ignored, the scheme is compared in any case, and character references
(``&#106;avascript:``, ``javascript&colon;``) are decoded first. Anything
else is refused, and the caller says so once on the feed's line.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

__all__ = ["Checked", "SAFE_SCHEMES", "safe_url"]


SAFE_SCHEMES = ("http", "https")

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


class Checked(NamedTuple):
    """The URL to write ('' for none), and the scheme refused (``"javascript:"``) when one was."""

    url: str
    refused: str | None = None


def safe_url(value: str | None, base: str = "") -> Checked:
    """``value`` as it may be written to a front-matter URL field, or refused with the scheme that was.

    ``base`` is the address relative URLs resolve against (the feed's,
    or the entry's own link).
    """
    if not value:
        return Checked("")
    raw = _browser_form(value)
    decoded = _browser_form(html.unescape(value))
    if not raw:
        return Checked("")
    for form in (raw, decoded):
        scheme = _scheme(form)
        if scheme is not None and scheme not in SAFE_SCHEMES:
            return Checked("", f"{scheme}:")
    absolute = raw if _scheme(raw) is not None else _join(base, raw)
    scheme = _scheme(absolute) if absolute else None
    if scheme not in SAFE_SCHEMES:
        return Checked("", f"{scheme}:" if scheme else "relative")
    try:
        urlsplit(absolute)
    except ValueError:  # an unclosed IPv6 bracket: every later reader of the URL would trip on it
        return Checked("", "malformed")
    return Checked(absolute)


def _browser_form(value: str) -> str:
    """What a URL parser (WHATWG) sees: no tabs or line breaks, no leading or trailing controls and spaces."""
    return _TAB_OR_NEWLINE.sub("", value).strip(_C0_OR_SPACE)


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _join(base: str, url: str) -> str:
    if not base:
        return ""
    try:
        return urljoin(base, url)
    except ValueError:
        return ""
