"""Turn one feedparser entry into an ``Article``: every field of the output.

This is the one place where field rules live (docs/reference/front-matter.md has the table). It is
pure: no clock, disk or network, so the rules can be property-tested. Missing
values get documented fallbacks here rather than crashes later. The record
itself is ``article``; making HTML safe is ``sanitize``; telling entries
apart is ``identity``.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import nh3

from ..config.model import FeedConfig, strip_userinfo
from ..printable import printable_url
from .article import Article
from .dates import DateVerdict, judge, read_date
from .identity import has_scheme, identity, plain_link
from .media import duration, enclosures, video_id
from .safeurl import safe_url
from .sanitize import is_absolute_http, sanitize

__all__ = [
    "entry_date", "entry_datetime", "entry_id", "entry_link",
    "entry_title", "legacy_identity", "make_slug", "normalize", "one_line", "pick_tags",
    "plain_text", "redated", "SLUG_MAX", "SUMMARY_FALLBACK_CHARS", "TITLE_FALLBACK_CHARS", "UNTITLED",
]

SLUG_MAX = 150  # leaves room for a suffix, ".md" and a temp prefix within 255 bytes
TITLE_FALLBACK_CHARS = 80
SUMMARY_FALLBACK_CHARS = 300
UNTITLED = "Untitled"

# Controls (Cc), lone surrogates (Cs), the BOM and non-characters: never kept in one-line text.
_DROPPED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_WORD = re.compile(r"\w+(?:['’.-]\w+)*")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")
_PLAIN_URL = re.compile(r"[!-~]*")  # printable ASCII, no spaces
_IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]+)\"", re.IGNORECASE)


_UNSET: Any = object()


def normalize(
    entry: Any, feed: FeedConfig, base_url: str, scope: str, *, id_reused: bool = False, published: Any = _UNSET,
) -> Article:
    """Build the Article for ``entry`` of ``feed``.

    ``base_url`` is where the feed was actually fetched from (relative links
    resolve against it); ``scope`` is a stable key of the feed in the store,
    used only when an entry's id is too weak to be unique across feeds.
    ``id_reused`` says the feed gives this entry's id to other, different
    entries too (see ``reuse``): the id then names none of them, and the
    entry is known as an entry without an id is, by its own link, else by
    its title and publication time. ``published`` is the date ``entry_date``
    judged (None: the run dates the entry when first seen); without it, the
    date the entry gives is used as it is.
    """
    own_link = entry_link(entry, base_url)
    raw_id = entry_id(entry)
    link = own_link
    if not link and entry.get("guidislink") and has_scheme(raw_id):
        link = raw_id

    body_html, body_base = _body_html(entry)
    resolve_against = next((url for url in (body_base, link, base_url) if is_absolute_http(url)), "")
    body = sanitize(body_html, resolve_against)
    summary_text = plain_text(_summary_html(entry)) or _shorten(plain_text(body), SUMMARY_FALLBACK_CHARS)
    title = plain_text(_detail_value(entry, "title")) or _shorten(summary_text, TITLE_FALLBACK_CHARS) or UNTITLED
    entry_categories = _feed_categories(entry)
    tags = pick_tags(title, entry_categories, feed.tags.count, feed.tags.sources)
    if published is _UNSET:
        published = entry_datetime(entry, _zone(feed.timezone))
    refused: list[str] = []
    shown_link = _field_url(str(entry.get("link", "") or ""), base_url, refused)
    if not shown_link and link and link != own_link:  # the id standing in as the link
        shown_link = _field_url(link, base_url, refused)
    return Article(
        identity=identity("", own_link, title, published, scope) if id_reused else identity(raw_id, link, title, published, scope),
        title=title,
        date=published.date() if published else None,  # None: the run uses the first-seen day
        published=published,
        description=summary_text,
        summary=summary_text,
        slug=make_slug(title),
        image=_image(entry, body, shown_link or base_url, refused),
        link=shown_link,
        source=printable_url(strip_userinfo(feed.url)),  # published: no credentials, no token
        categories=feed.categories if feed.categories is not None else feed.default_categories,
        tags=tags,
        draft=feed.draft,
        body=body,
        summary_length=feed.summary_length,
        author=plain_text(str(entry.get("author", "") or "")),
        entry_categories=tuple(entry_categories),
        refused_urls=tuple(refused),
        **_extras(entry, feed, link or base_url),
    )


def _extras(entry: Any, feed: FeedConfig, base_url: str) -> dict[str, Any]:
    """The media fields the feed asks for (``extra_fields:``); nothing is read when it asks for none."""
    wanted = feed.extra_fields
    if not wanted:
        return {}
    return {
        "extra_fields": wanted,
        "enclosures": enclosures(entry, base_url) if "enclosures" in wanted else (),
        "duration": duration(entry) if "duration" in wanted else None,
        "video_id": video_id(entry, entry_link(entry, base_url)) if "video_id" in wanted else "",
    }


def legacy_identity(entry: Any, base_url: str, article: Article, scope: str, *, id_reused: bool = False) -> str | None:
    """The identity ``article`` had before identity links (``sameness``), when it differs; else None."""
    own_link = entry_link(entry, base_url)
    raw_id = entry_id(entry)
    link = own_link
    if not link and entry.get("guidislink") and has_scheme(raw_id):
        link = raw_id
    if id_reused:
        raw_id, link = "", own_link
    key = identity(raw_id, link, article.title, article.published, scope, plain_link)
    return key if key != article.identity else None


def entry_id(entry: Any) -> str:
    """The entry's id as the feed wrote it, on one line ('' if none)."""
    return one_line(str(entry.get("id", "") or ""))


def entry_link(entry: Any, base_url: str) -> str:
    """The entry's own link, absolute; never one taken from its id."""
    return _absolute(_clean_url(entry.get("link", "")), base_url)


def entry_title(entry: Any) -> str:
    """The entry's own title as plain text ('' if none; ``normalize`` then falls back to its summary)."""
    return plain_text(_detail_value(entry, "title"))


# --- text ------------------------------------------------------------------


def one_line(text: str) -> str:
    """Collapse all whitespace and line breaks to single spaces; drop controls.

    Titles and descriptions end up on one YAML line, so anything that would
    break a line or that YAML cannot hold (controls, lone surrogates, BOM,
    non-characters) is removed here; everything else, emoji included, stays.
    """
    if not _DROPPED.search(text):  # the common case: only whitespace to fold
        return " ".join(text.split())
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or ch in ("\ufeff", "\ufffe", "\uffff"):
            continue
        kept.append(ch)
    return " ".join("".join(kept).split())


def plain_text(markup: str) -> str:
    """HTML (or text) to one line of plain text, entities decoded."""
    if not markup:
        return ""
    if "<" in markup:
        markup = nh3.clean(markup, tags=set(), attributes={})
    return one_line(html.unescape(markup))


def pick_tags(title: str, feed_categories: list[str], count: int, sources: tuple[str, ...]) -> tuple[str, ...]:
    """The ``count`` longest distinct title words (ties in title order), then feed categories."""
    chosen: list[str] = []
    for source in sources:
        if source == "title":
            words = list(dict.fromkeys(w.lower() for w in _WORD.findall(title)))
            candidates = sorted(words, key=len, reverse=True)  # sorted() is stable: ties keep title order
        else:
            candidates = [one_line(c).lower() for c in feed_categories]
        for word in candidates:
            if len(chosen) >= count:
                break
            if word and word not in chosen:
                chosen.append(word)
    return tuple(chosen[:count])


def make_slug(title: str) -> str:
    """python-slugify of the title, bounded; '' when nothing usable is left."""
    from slugify import slugify  # here: a run whose feeds are unchanged names no file

    return slugify(title, max_length=SLUG_MAX, word_boundary=True, save_order=True)


# --- dates -----------------------------------------------------------------


def redated(article: Article, first_seen: datetime, now: datetime, future_dates: str = "first_seen") -> Article:
    """``article`` dated when first seen if its date is not trusted (``dates.judge``), else as it is.

    For files written before dates were judged: ``ingest rebuild`` corrects
    them. A future date held back (``hold``) or kept is left as it is.
    """
    if article.published is None:
        return article
    verdict = judge(article.published, now, "keep" if future_dates == "hold" else future_dates)
    if verdict.untrusted is None:
        return article
    return replace(article, date=first_seen.date(), published=first_seen)


def entry_date(entry: Any, feed: FeedConfig, now: datetime) -> DateVerdict:
    """The entry's date as ingest uses it: read in the feed's zone, and judged (see ``dates.judge``)."""
    return judge(entry_datetime(entry, _zone(feed.timezone)), now, feed.future_dates)


@functools.lru_cache(maxsize=64)
def _zone(name: str | None) -> Any:
    if name is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def entry_datetime(entry: Any, zone: Any = None) -> datetime | None:
    """Publication time in UTC; else last update; else None.

    The raw text is read first (``dates.read_date``: timestamps, numeric
    forms, month names in several languages, the feed's zone for dates
    without one); feedparser's own reading is used only for what that does
    not recognise.
    """
    for key in ("published", "updated", "created"):
        # dict.get: feedparser's own get() maps a missing 'updated' to 'published', with a warning
        raw = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(raw, str) and raw.strip():
            moment = read_date(raw, zone)
            if moment is not None:
                return moment
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
            except (TypeError, ValueError):
                continue
    return None



# --- field helpers ---------------------------------------------------------


def _detail_value(entry: Any, key: str) -> str:
    value = entry.get(key, "") or ""
    detail = entry.get(f"{key}_detail") or {}
    if detail.get("type") == "text/plain":
        return html.escape(value, quote=False)  # plain_text() will unescape it again
    return value


def _summary_html(entry: Any) -> str:
    """The description, or '' when feedparser only copied the full content into it."""
    contents = entry.get("content") or []
    if contents and entry.get("summary") == contents[0].get("value"):
        return ""
    return _detail_value(entry, "summary")


def _body_html(entry: Any) -> tuple[str, str]:
    """The body's HTML and the ``xml:base`` its relative URLs are written against ('' if none)."""
    contents = entry.get("content") or []
    chosen = next((c for c in contents if c.get("type") in ("text/html", "application/xhtml+xml")), None)
    if chosen is None and contents:
        chosen = contents[0]
    detail = chosen if chosen is not None else (entry.get("summary_detail") or {})
    value = chosen.get("value", "") if chosen is not None else (entry.get("summary", "") or "")
    if detail.get("type") == "text/plain":
        value = html.escape(value)
    base = detail.get("base") or ""
    return value, base if is_absolute_http(base) else ""


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return f"{cut}…"


def _feed_categories(entry: Any) -> list[str]:
    terms = []
    for tag in entry.get("tags") or []:
        term = tag.get("label") or tag.get("term")
        if term:
            terms.append(term)
    return terms


def _image(entry: Any, body: str, base_url: str, refused: list[str]) -> str:
    """media:content / media:thumbnail / image enclosure / itunes:image, else the first <img>.

    Many feeds leave out ``medium`` and ``type`` on media:content and
    enclosures; those count as images when the URL's path says so.
    """
    candidates: list[str] = []
    for media in entry.get("media_content") or []:
        if _is_image(media.get("medium"), media.get("type"), media.get("url", "")):
            candidates.append(media.get("url", ""))
    for thumb in entry.get("media_thumbnail") or []:
        candidates.append(thumb.get("url", ""))
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and _is_image(None, link.get("type"), link.get("href", "")):
            candidates.append(link.get("href", ""))
    image = entry.get("image")
    if isinstance(image, dict):
        candidates.append(image.get("href", ""))
    match = _IMG_SRC.search(body)
    if match:
        candidates.append(html.unescape(match.group(1)))
    for candidate in candidates:
        url = _field_url(candidate, base_url, refused)
        if url:
            return url
    return ""


def _field_url(value: str, base_url: str, refused: list[str]) -> str:
    """``value`` as a front-matter URL field may hold it (see ``safeurl``); '' and a note in ``refused`` if not."""
    if not value:
        return ""
    checked = safe_url(value, base_url)
    if checked.refused:
        refused.append(checked.refused)
    return _clean_url(checked.url)


def _is_image(medium: Any, mime: Any, url: str) -> bool:
    if medium or mime:
        return medium == "image" or str(mime or "").lower().startswith("image/")
    return urlsplit(url).path.lower().endswith(_IMAGE_SUFFIXES)


def _clean_url(url: str) -> str:
    """URLs cannot hold whitespace or controls; percent-encode (as UTF-8) what slipped in."""
    url = (url or "").strip()
    if _PLAIN_URL.fullmatch(url):  # the common case: nothing to encode
        return url
    return "".join(
        ch if ch.isprintable() and not ch.isspace() else quote(ch, safe="")
        for ch in url
        if not 0xD800 <= ord(ch) <= 0xDFFF
    )


def _absolute(url: str, base_url: str) -> str:
    if not url:
        return ""
    if has_scheme(url) or not base_url:
        return url
    return urljoin(base_url, url)


