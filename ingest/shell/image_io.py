"""Entry images over the network and on disk.

Images are fetched by the feed fetcher (``fetch.fetch``) with the client of
the run, so they get the feed's timeout, deadline, redirect limit and
User-Agent, with a size cap of their own (``image_max_size``). Feed content
is untrusted: an entry could point its images at a router's admin page or
a cloud metadata service, so every URL asked (redirects included) must
resolve to public addresses only, unless the feed itself is served from a
private, loopback or link-local address (an intranet feed's images live
there too). The check resolves the host just before the request; a DNS
answer that changes between the check and the connection is not caught.
Credentials and custom headers are sent only to the feed's own host.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ..core.config.model import FeedConfig
from ..core.content.entry_images import (
    UnsafeSvg,
    digest,
    dimensions,
    is_pixel,
    is_public,
    sanitize_svg,
    sniff,
)
from ..core.config.model import redact
from ..core.records import FetchResult, Validators
from .fetch import Client, Refused, fetch, format_size
from .write import spool_file, write_atomic

__all__ = [
    "drop_spool", "fetch_image", "Fetched", "image_bytes", "image_request", "move_image", "public_only",
    "remove_images", "same_image", "served_privately", "spool", "write_image",
]


@dataclass(frozen=True)
class Fetched:
    """One image fetch: the bytes and their kind, not modified, a tracking pixel, or why it failed."""

    url: str
    data: bytes = b""  # empty once spooled
    kind: str = ""
    sha: str = ""  # hex SHA-256 of the bytes
    spool: str | None = None  # a named file holding the bytes until they are placed (large images)
    spool_fd: int | None = None  # the open file holding them (unnamed on Linux: nothing is left if the process dies)
    validators: Validators = Validators()
    not_modified: bool = False
    pixel: bool = False
    error: str | None = None


def image_request(feed: FeedConfig, url: str) -> FeedConfig:
    """The feed's request settings for one of its images: its own size cap, credentials only on the feed's host."""
    own = _host(url) == _host(feed.url) and urlsplit(url).scheme == urlsplit(feed.url).scheme
    return replace(
        feed, url=url, max_size=feed.image_max_size,
        auth=feed.auth if own else None, headers=feed.headers if own else (),
    )


def _host(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        return (parts.hostname or "", parts.port)
    except ValueError:
        return (parts.hostname or "", None)


async def public_only(url: str) -> None:
    """Refuse (``Refused``) a URL whose host is, or resolves to, a non-public address."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise Refused(f"cannot resolve {host}: {exc.strerror or exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if not is_public(address):
            raise Refused(
                f"refused: {host} is a private, loopback or link-local address ({address}); "
                "images come only from public addresses unless the feed itself is served from such an address"
            )


async def served_privately(feed_url: str) -> bool:
    """Whether the feed comes from a non-public address (its images may then too)."""
    if urlsplit(feed_url).scheme.lower() not in ("http", "https"):
        return False
    try:
        await public_only(feed_url)
    except Refused:
        return True
    return False


async def fetch_image(
    client: Client, feed: FeedConfig, url: str, validators: Validators, *, private_ok: bool
) -> Fetched:
    """Fetch one image and check what it is; never raises for a bad answer."""
    result: FetchResult = await fetch(
        client, image_request(feed, url), validators, url=url, guard=None if private_ok else public_only
    )
    if not result.ok:
        error = (result.error or "failed").replace("(max_size)", "(image_max_size)")
        return Fetched(url, error=f"{error} ({redact(result.final_url)})")
    if result.not_modified:
        return Fetched(url, validators=result.validators, not_modified=True)
    data = result.content
    kind = sniff(data)
    if kind is None:
        # the feed reader's module: a run in which every feed answers 304 never loads it
        from ..core.reading.parse import first_bytes

        declared = result.headers.get("content-type", "no content type").split(";")[0].strip()
        start = first_bytes(data, 24)
        return Fetched(url, error=f"not an image (got {declared}, starting {start}) ({redact(result.final_url)})")
    if kind == "svg":
        try:
            data = sanitize_svg(data)
        except UnsafeSvg as exc:
            return Fetched(url, error=f"{exc} ({redact(result.final_url)})")
    if len(data) > feed.image_max_size:
        return Fetched(url, error=f"larger than the {format_size(feed.image_max_size)} limit (image_max_size)")
    size = dimensions(data, kind)
    if size is not None and size[0] * size[1] > feed.image_max_pixels:
        return Fetched(url, error=(
            f"declares {size[0]}x{size[1]} pixels, over the {feed.image_max_pixels:,} limit (image_max_pixels)"
        ))
    return Fetched(
        url, data=data, kind=kind, sha=digest(data), validators=result.validators, pixel=is_pixel(data, kind)
    )


def spool(got: Fetched, directory: str) -> Fetched:
    """The image with its bytes moved to a file in ``directory``: a feed's new images wait there, not in memory.

    ``directory`` is the output, where the next run's sweep looks: the file
    has no name at all where the system allows (Linux), else it is a locked
    temporary file that the sweep removes once its process is gone.
    """
    os.makedirs(directory, exist_ok=True)
    fd, path = spool_file(directory)
    try:
        view = memoryview(got.data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
    return replace(got, data=b"", spool=path, spool_fd=fd)


def image_bytes(got: Fetched) -> bytes:
    """The bytes of a fetched image, from memory or from its spool file."""
    if got.spool_fd is None:
        return got.data
    size = os.fstat(got.spool_fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(got.spool_fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def drop_spool(got: Fetched) -> None:
    if got.spool_fd is not None:
        with contextlib.suppress(OSError):
            os.close(got.spool_fd)
    if got.spool is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(got.spool)


def same_image(path: str, got: Fetched) -> bool:
    """Whether ``path`` already holds exactly this image."""
    try:
        with open(path, "rb") as handle:
            return digest(handle.read()) == got.sha
    except OSError:
        return False


def write_image(path: str, data: bytes) -> None:
    """Write one image file atomically (flushed later with the post), creating its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, data, sync=False)


def remove_images(output: str, paths: list[str]) -> None:
    """Remove image files and the folders they leave empty (never the output itself)."""
    folders = set()
    for path in paths:
        full = os.path.join(output, path)
        try:
            os.unlink(full)
        except FileNotFoundError:
            pass
        folders.add(os.path.dirname(full))
    root = os.path.abspath(output)
    for folder in sorted(folders, key=len, reverse=True):
        while os.path.abspath(folder).startswith(root + os.sep):
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)


def move_image(output: str, old: str, new: str) -> bool:
    """Move an image file within the output; False when the old file is gone."""
    source, dest = os.path.join(output, old), os.path.join(output, new)
    if not os.path.exists(source):
        return os.path.exists(dest)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(source, dest)
    return True
