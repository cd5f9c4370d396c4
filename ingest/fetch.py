"""Fetch feed bytes over HTTP(S) or from a local file.

Failures come back as a ``FetchResult`` with ``error`` set, never as an
exception, so one bad feed cannot stop a run. Conditional GET validators are
sent when known, and a 304 comes back as ``not_modified`` with no body.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from . import __version__
from .config import FeedConfig

USER_AGENT = f"ingest/{__version__} (+https://github.com/ingest-feeds/ingest; feed to Markdown)"
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Validators:
    """What the server told us last time, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int | None = None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = field(default_factory=Validators)
    not_modified: bool = False
    error: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def make_client(concurrency: int, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """One shared client so connections to the same host are reused."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
        follow_redirects=True,
        max_redirects=10,
        limits=limits,
        transport=transport,
    )


async def fetch(client: httpx.AsyncClient, feed: FeedConfig, validators: Validators) -> FetchResult:
    started = time.monotonic()
    if urlsplit(feed.url).scheme.lower() == "file":
        result = await asyncio.to_thread(_read_file, feed.url)
    else:
        result = await _fetch_http(client, feed, validators)
    return replace(result, elapsed=time.monotonic() - started)


def _read_file(url: str) -> FetchResult:
    parts = urlsplit(url)
    path = Path(url2pathname(parts.path))
    if parts.netloc not in ("", "localhost"):
        return FetchResult(url, url, error=f"file URL with a host ({parts.netloc}) is not supported")
    try:
        with path.open("rb") as handle:
            content = handle.read(MAX_BODY_BYTES + 1)
    except FileNotFoundError:
        return FetchResult(url, url, error=f"file not found: {path}")
    except OSError as exc:
        return FetchResult(url, url, error=f"cannot read {path}: {exc.strerror or exc}")
    if len(content) > MAX_BODY_BYTES:
        return FetchResult(url, url, error=f"file is larger than {MAX_BODY_BYTES} bytes: {path}")
    return FetchResult(url, url, status=200, content=content)


async def _fetch_http(client: httpx.AsyncClient, feed: FeedConfig, validators: Validators) -> FetchResult:
    headers = {}
    if feed.user_agent:
        headers["User-Agent"] = feed.user_agent
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    url = feed.url
    try:
        async with client.stream("GET", url, headers=headers, timeout=feed.timeout) as response:
            final_url = str(response.url)
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                return FetchResult(
                    url, final_url, status=304, headers=response_headers,
                    validators=_validators(response, validators), not_modified=True,
                )
            if response.status_code >= 400:
                reason = response.reason_phrase or ""
                return FetchResult(
                    url, final_url, status=response.status_code, headers=response_headers,
                    error=f"HTTP {response.status_code} {reason}".rstrip(),
                )
            chunks = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    return FetchResult(
                        url, final_url, status=response.status_code,
                        error=f"response is larger than {MAX_BODY_BYTES} bytes",
                    )
                chunks.append(chunk)
            return FetchResult(
                url, final_url, status=response.status_code, content=b"".join(chunks),
                headers=response_headers, validators=_validators(response, Validators()),
            )
    except httpx.TimeoutException:
        return FetchResult(url, url, error=f"timed out after {feed.timeout:g}s")
    except httpx.TooManyRedirects:
        return FetchResult(url, url, error="too many redirects")
    except httpx.DecodingError as exc:
        return FetchResult(url, url, error=f"cannot decode response body: {exc}")
    except httpx.ConnectError as exc:
        return FetchResult(url, url, error=f"cannot connect: {_reason(exc)}")
    except httpx.HTTPError as exc:
        return FetchResult(url, url, error=f"{type(exc).__name__}: {_reason(exc)}")


def _validators(response: httpx.Response, previous: Validators) -> Validators:
    """New validators if the server sent any, else keep the ones we had."""
    etag = response.headers.get("etag") or previous.etag
    last_modified = response.headers.get("last-modified") or previous.last_modified
    return Validators(etag=etag, last_modified=last_modified)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
