"""Short plain-text excerpts for the front matter's ``description`` and ``summary``.

Many feeds put the whole article in the entry's description. Site builders
show these fields in every page's meta description and in list pages, so
they must stay short whatever the feed sends; the body keeps the full text.

A cut never splits a grapheme (a letter and its combining marks, an emoji
ZWJ sequence, a flag, a Hangul syllable in jamo): the page would show a
broken character before the ellipsis. It never splits a word either, as long
as a word boundary lies within the limit. Graphemes and word boundaries are
those of Unicode's UAX #29, as the ``regex`` package implements them; the
standard library has neither, and rules written by hand would miss cases
(Indic conjuncts, emoji sequences) as Unicode grows. ``regex`` is imported
only when a text is actually cut, so runs that cut nothing never load it.

This module is pure: no disk, network or clock.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cut_point", "ELLIPSIS", "excerpt", "SUMMARY_LENGTH"]


ELLIPSIS = "…"
SUMMARY_LENGTH = 300  # characters of description and summary before the ellipsis, unless a feed says otherwise


def excerpt(text: str, limit: int) -> str:
    """``text`` itself when it has at most ``limit`` characters, else its start and an ellipsis.

    The start is cut at the last space within the limit (the usual case:
    prose in any script that separates words with spaces). When that space
    comes before half the limit, or there is none (Chinese or Japanese
    without spaces, a long URL), the cut is at the last UAX #29 word
    boundary within the limit instead. Only a single word longer than the
    limit is cut inside the word, and then between two graphemes. A text of
    ``limit`` characters and an ellipsis is taken as already cut, so cutting
    twice gives the same text as cutting once.
    """
    if len(text) <= limit or (len(text) == limit + 1 and text.endswith(ELLIPSIS)):
        return text
    return text[: cut_point(text, limit)] + ELLIPSIS


def cut_point(text: str, limit: int) -> int:
    """Where ``excerpt`` cuts ``text``: a grapheme boundary at or before ``limit`` (0 if none)."""
    import regex  # only texts longer than their limit need it

    last_space = last_word = last_grapheme = 0
    words = _word_boundaries(regex, text, limit)
    for match in regex.finditer(r"\X", text):
        at = match.start()
        if at > limit:
            break
        if at == 0 or text[at - 1].isspace():  # never end the excerpt in whitespace
            continue
        last_grapheme = at
        if at in words:
            last_word = at
            if text[at].isspace():
                last_space = at
    if last_space and last_space * 2 >= limit:
        return last_space
    return last_word or last_grapheme


def _word_boundaries(regex: Any, text: str, limit: int) -> set[int]:
    """UAX #29 word boundaries in ``text`` up to ``limit``."""
    found = set()
    for match in regex.finditer(r"(?w)\b", text):
        if match.start() > limit:
            break
        found.add(match.start())
    return found
