"""Entry images stored with the post: the pure rules (``images: download``).

Nothing here touches the network or the disk. It finds the images an
entry refers to (its lead ``image`` and every ``<img src>`` of its body),
tells what fetched bytes are (the bytes decide, never the server's
Content-Type), spots tracking pixels, makes SVG safe to serve, names the
stored files and rewrites the references to them. References are rewritten
in the Article, before rendering, so front-matter quoting and the
Markdown body format stay the renderer's business.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal
from urllib.parse import unquote, urlsplit

from ..records import StoredEntry
from ..rendering.profiles import Profile
from .article import Article
from .svg import UnsafeSvg, sanitize_svg

__all__ = [
    "digest", "dimensions", "file_name", "image_dir", "ImageRecord", "ImageState", "is_pixel", "is_public",
    "KINDS", "localize", "out_of_bundle", "relink", "reference", "sanitize_svg", "sniff", "UnsafeSvg", "wanted",
]


# The kinds of image stored, by the extension their files get.
KINDS = ("png", "jpg", "gif", "webp", "avif", "svg")

# nh3 writes every attribute double-quoted, with & < > " escaped: an <img>'s src is found by this pattern.
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\s([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"')
_WORD = re.compile(r"[^a-z0-9]+")


# stored: on disk at ``path``; failed: to fetch again once ``next_try`` passes
# (never tried yet: no error); skipped: a tracking pixel, never stored.
ImageState = Literal["stored", "failed", "skipped"]


@dataclass(frozen=True)
class ImageRecord:
    """What the store knows of one image of one post."""

    identity: str  # the entry's
    url: str
    state: ImageState
    path: str | None = None  # within the output directory, once stored
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    failures: int = 0
    next_try: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.state == "failed" and (self.next_try is None or self.next_try <= now)


def wanted(article: Article) -> list[str]:
    """The http(s) image URLs an entry refers to, lead image first, each once.

    ``data:`` URIs are already inside the file and tracking pixels marked as
    such (``width="1" height="1"``) are left alone: neither is fetched.
    """
    urls = []
    if _fetchable(article.image):
        urls.append(article.image)
    for tag in _IMG.findall(article.body):
        attrs = dict(_ATTR.findall(tag))
        src = html.unescape(attrs.get("src", ""))
        if not _fetchable(src) or (attrs.get("width") == "1" and attrs.get("height") == "1"):
            continue
        if src not in urls:
            urls.append(src)
    return urls


def _fetchable(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https") if url else False


def localize(article: Article, refs: dict[str, str]) -> Article:
    """The Article with every reference found in ``refs`` (URL -> local reference) pointing at the local copy.

    A localized ``<img>`` loses its ``srcset`` and ``sizes``, which would
    send the browser back to the publisher for the other sizes.
    """
    if not refs:
        return article

    def rewrite(match: re.Match[str]) -> str:
        tag = match.group(0)
        attrs = _ATTR.findall(tag)
        src = next((html.unescape(value) for key, value in attrs if key.lower() == "src"), None)
        if src is None or src not in refs:
            return tag
        local = html.escape(refs[src], quote=True)
        tag = re.sub(r'\ssrc="[^"]*"', lambda _m: f' src="{local}"', tag, count=1)
        return re.sub(r'\s(?:srcset|sizes)="[^"]*"', "", tag)

    body = _IMG.sub(rewrite, article.body)
    image = refs.get(article.image, article.image)
    return replace(article, body=body, image=image)


def sniff(data: bytes) -> str | None:
    """What the bytes are, as one of ``KINDS``; None when they are no image ingest stores."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and (data[8:12] in (b"avif", b"avis") or b"avif" in data[16 : 8 + _box_size(data)]):
        return "avif"
    if _looks_like_svg(data):
        return "svg"
    return None


def _box_size(data: bytes) -> int:
    return struct.unpack(">I", data[:4])[0] if len(data) >= 4 else 0


def _looks_like_svg(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not (head.startswith(b"<svg") or head.startswith(b"<?xml") or head.startswith(b"<!--")):
        return False
    return b"<svg" in head


def dimensions(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height read from the image header, when the format says them early; None otherwise."""
    try:
        if kind == "png" and len(data) >= 24:
            return struct.unpack(">II", data[16:24])
        if kind == "gif" and len(data) >= 10:
            return struct.unpack("<HH", data[6:10])
        if kind == "jpg":
            return _jpeg_size(data)
        if kind == "webp":
            return _webp_size(data)
        if kind == "avif":
            return _avif_size(data)
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def _avif_size(data: bytes) -> tuple[int, int] | None:
    """From the first image spatial extent (``ispe``) box: version and flags, then width and height."""
    at = data.find(b"ispe", 0, 65536)
    if at < 0 or len(data) < at + 16:
        return None
    return struct.unpack(">II", data[at + 8 : at + 16])


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def is_pixel(data: bytes, kind: str) -> bool:
    """A 1x1 image: a tracking pixel, not worth a file."""
    return dimensions(data, kind) == (1, 1)


def file_name(url: str, sha: str, kind: str) -> str:
    """A stable, safe file name for an image: a readable stem from the URL, then a hash of the bytes.

    Only ASCII letters, digits and ``-`` come from the URL, so no name can
    leave the post's folder (``../``), hide (a leading dot) or be taken for
    a page; the hash of the bytes (``sha``, hex SHA-256) makes two different
    images never share a name and the same bytes always get the same one.
    """
    path = unquote(urlsplit(url).path)
    last = path.rstrip("/").rsplit("/", 1)[-1]
    stem = last.rsplit(".", 1)[0] if "." in last else last
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    stem = _WORD.sub("-", ascii_stem).strip("-")[:40].strip("-") or "image"
    return f"{stem}-{sha[:10]}.{kind}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_dir(profile: Profile, slug: str) -> str:
    """The folder, within the output, where the images of the post with ``slug`` live."""
    return profile.image_dir.format(slug=slug)


def relink(text: str, refs: Mapping[str, str]) -> str:
    """A file's text with its body's references to images now stored pointing at the local copies.

    For a post whose owner edited the body and whose feed merges edits: the
    merge keeps the owner's body as it is, but its images moved into the
    post's folder, and a body still pointing at the publisher would leave
    them beside it unused. Only whole quoted or bracketed references change,
    so the owner's words stay as they are.
    """
    if not refs or not text.startswith("---"):
        return text
    end = text.find("\n---", 3)
    if end < 0:
        return text
    head, body = text[:end + 4], text[end + 4:]
    for url, ref in refs.items():
        for old, new in {(url, ref), (html.escape(url, quote=True), html.escape(ref, quote=True))}:
            for left, right in (('"', '"'), ("(", ")"), ("(", " ")):
                body = body.replace(f"{left}{old}{right}", f"{left}{new}{right}")
    return head + body


def out_of_bundle(profile: Profile, entry: StoredEntry, day: date) -> bool:
    """Whether a post stays at its plain name although its feed stores images: an owner's edit kept it there.

    ``images: download`` moves posts into bundles (``ingest rebuild``), but
    an edited file its feed's ``edits: keep`` protects stays as it is, where
    it is. Its images are not stored: they would sit beside no post.
    """
    bundled = profile.path_for(entry.given_slug, day, "download")
    return bundled != profile.path_for(entry.given_slug, day, "keep") and entry.path != bundled


def reference(profile: Profile, slug: str, name: str) -> str:
    """What the post's front matter and body say to reach its image ``name``."""
    return profile.image_ref.format(slug=slug, name=name)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet: not private, loopback, link-local, reserved, shared.

    An IPv6 address that carries an IPv4 one (mapped ``::ffff:a.b.c.d``, or
    NAT64 ``64:ff9b::a.b.c.d``) is judged by the IPv4 address it leads to.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _NAT64:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast
