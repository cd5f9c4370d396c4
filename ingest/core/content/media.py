"""What podcast and video feeds carry besides text: enclosures, duration, YouTube video ids.

None of it is written unless a feed asks (``extra_fields:``), so the seed
format's key set stays the default. feedparser reads all of it:

- enclosures: RSS ``<enclosure>``, Atom ``<link rel="enclosure">`` and JSON
  Feed ``attachments`` (all ``links`` with ``rel="enclosure"``), then
  ``media:content`` that is not an image (images are the ``image:`` key's);
  one per URL, in document order;
- duration, in seconds: ``itunes:duration`` (``3723``, ``62:03``,
  ``1:02:03``), else the first ``media:content`` ``duration``;
- video id: YouTube's ``yt:videoId``, else the id in a YouTube link
  (``watch?v=``, ``youtu.be/``, ``/shorts/``, ``/embed/``).

Enclosure URLs are made absolute and pass ``front_matter_url`` (only http
and https reach the front matter); they are never fetched here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .safeurl import safe_url

__all__ = ["Enclosure", "enclosures", "duration", "extra_lines", "front_matter_url", "video_id"]


_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com",
                  "www.youtube-nocookie.com", "music.youtube.com")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:\.\d+)?")


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str = ""
    length: int | None = None  # bytes, when the feed says


def front_matter_url(url: str) -> str:
    """``url`` if it may be written to the front matter (an absolute http or https URL), else ''.

    The one place enclosure URLs are checked: the same rule as every URL
    written to the front matter.
    """
    return safe_url(url).url


def enclosures(entry: Any, base_url: str) -> tuple[Enclosure, ...]:
    """The entry's enclosures (see the module), absolute, safe, one per URL."""
    found: dict[str, Enclosure] = {}
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure":
            _add(found, link.get("href"), link.get("type"), link.get("length"), base_url)
    for media in entry.get("media_content") or []:
        kind = str(media.get("type") or "")
        if str(media.get("medium") or "") == "image" or kind.startswith("image/"):
            continue
        _add(found, media.get("url"), kind, media.get("fileSize") or media.get("filesize"), base_url)
    return tuple(found.values())


def _add(found: dict[str, Enclosure], url: Any, kind: Any, length: Any, base_url: str) -> None:
    text = str(url or "").strip()
    if not text:
        return
    absolute = safe_url(text, base_url).url  # the rule of every front-matter URL field (see ``safeurl``)
    if not absolute or absolute in found:
        return
    found[absolute] = Enclosure(absolute, str(kind or "").strip(), _whole(length))


def _whole(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def duration(entry: Any) -> int | None:
    """The entry's length in seconds, from ``itunes:duration`` or media; None when it gives none."""
    seconds = _seconds(entry.get("itunes_duration"))
    if seconds is not None:
        return seconds
    for media in entry.get("media_content") or []:
        seconds = _seconds(media.get("duration"))
        if seconds is not None:
            return seconds
    return None


def _seconds(value: Any) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return int(text) or None
    try:
        number = float(text)
    except ValueError:
        match = _CLOCK.fullmatch(text)
        if not match:
            return None
        hours, minutes, secs = int(match.group(1) or 0), int(match.group(2)), int(match.group(3))
        return hours * 3600 + minutes * 60 + secs or None
    return round(number) or None


def video_id(entry: Any, link: str) -> str:
    """The YouTube video id of the entry: ``yt:videoId``, else from its link; '' for other entries."""
    given = str(entry.get("yt_videoid") or "").strip()
    if _VIDEO_ID.fullmatch(given):
        return given
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    candidate = ""
    if host == "youtu.be":
        candidate = parts.path.strip("/").split("/")[0]
    elif host in _YOUTUBE_HOSTS:
        if parts.path == "/watch":
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        else:
            pieces = parts.path.strip("/").split("/")
            if len(pieces) >= 2 and pieces[0] in ("shorts", "embed", "live", "v"):
                candidate = pieces[1]
    return candidate if _VIDEO_ID.fullmatch(candidate) else ""


def extra_lines(fields: tuple[str, ...], items: tuple[Enclosure, ...], seconds: int | None, author: str,
                video: str, double_quoted: Any, single_quoted: Any) -> list[str]:
    """The front-matter lines of the extra fields asked for that the entry has, in a fixed order."""
    lines: list[str] = []
    if "enclosures" in fields and items:
        lines.append("enclosures:")
        for item in items:
            lines.append(f"- url: {single_quoted(item.url)}")
            if item.type:
                lines.append(f"  type: {single_quoted(item.type)}")
            if item.length is not None:
                lines.append(f"  length: {item.length}")
    if "duration" in fields and seconds is not None:
        lines.append(f"duration: {seconds}")
    if "author" in fields and author:
        lines.append(f"author: {double_quoted(author)}")
    if "video_id" in fields and video:
        lines.append(f"video_id: {single_quoted(video)}")
    return lines
