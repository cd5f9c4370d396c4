"""What a truncated document leaves behind, so no half entry is written.

feedparser's lenient reading returns whatever it read before the bytes ran
out, including the entry the document ended inside: its body, date or link
may be missing or cut in the middle, and nothing in the entry says so. A
document is taken as cut off when its root element (``rss``, ``feed``,
``rdf:RDF``) never closes; the entry it ended inside is the last one, and it
is left out (not written at all) rather than written half and rewritten
when the complete document comes. Leaving it out means a site never shows a
half story nor runs its build hook for one, the entry's name and date are
chosen from the complete entry, and nothing is lost: the next poll that gets
the whole document writes it as new.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["cut_entry"]


_ROOT_END = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*(?:<!--.*?-->\s*|<\?.*?\?>\s*)*$", re.DOTALL)
# A complete start tag of an entry (a start cut inside its own tag is no entry), and an end tag.
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)(?:\s[^<>]*)?>")
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_TAIL = 4096  # characters: only the end of the document decides whether it was cut


def cut_entry(content: bytes, encoding: str | None) -> bool:
    """Whether ``content`` ends inside an entry: its root never closes and its last entry never ends."""
    text = _decode(content, encoding)
    if _ROOT_END.search(text[-_TAIL:]):
        return False
    starts = [m.start() for m in _ENTRY_START.finditer(text)]
    if not starts:
        return False
    ends = [m.start() for m in _ENTRY_END.finditer(text, starts[-1])]
    return not ends


def _decode(content: bytes, encoding: str | None) -> str:
    """The document as text, in the encoding feedparser settled on (UTF-8 if it named none)."""
    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        encoding = "utf-8"
    return content.decode(encoding or "utf-8", "replace")
