"""Fetch feed bytes over HTTP(S) or from a local file, politely and defensively.

Failures come back as a ``FetchResult`` with ``error`` set, never as an
exception, so one bad feed cannot stop a run. Conditional GET validators are
sent when known, and a 304 comes back as ``not_modified`` with no body.

A server is not trusted to behave: every fetch has a total deadline on top of
the per-read timeout (so a server that trickles a byte a second cannot hold a
worker), the body is decompressed here, chunk by chunk, and counted after
decompression (so a gzip bomb is cut off at the limit, not after it filled
memory), and redirects are followed one hop at a time so that each hop's
status is known: the caller decides which permanent redirects to believe.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit
from urllib.request import getproxies, url2pathname

import httpx

from ..errors import Refused
from .. import __version__
from ..core.config.model import BasicAuth, FeedConfig, redact, strip_userinfo
from ..core.config.access import feed_secrets
from ..core.printable import printable_text, split_credentials
from ..core.records import FailureKind, FetchResult, Validators
from ..core.scheduling.politeness import REDIRECTS, Hop
from .transport import make_transport

__all__ = [
    "ACCEPT", "ACCEPT_ENCODING", "Client", "credentials", "DRAIN_LIMIT", "fetch", "format_size",
    "Guard", "PROJECT_URL", "Refused", "USER_AGENT",
]


PROJECT_URL = "https://github.com/ingest-feeds/ingest"
USER_AGENT = f"ingest/{__version__} (+{PROJECT_URL}; feed to Markdown)"
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
# Only what we decompress ourselves, under the size limit.
ACCEPT_ENCODING = "gzip, deflate"

log = logging.getLogger("ingest.fetch")  # the name people see in log lines, whatever the module's place


# Called with every URL before it is requested (the first and each redirect's); raises ``Refused``.
Guard = Callable[[str], Awaitable[None]]


class Client:
    """The HTTP client a run's feeds share (so connections to a host are reused): httpx's, trimmed.

    ``httpx.AsyncClient.send`` wraps every request in cookie handling,
    authentication, redirect and event-hook machinery that a feed fetch
    does not use: ``fetch`` follows redirects itself (to see each hop and
    keep credentials on the feed's own host), sends credentials as a header,
    and keeps no cookies between feeds. That layer costs a quarter of the
    CPU of a 304, so requests go straight to the transport (the connection
    pool). When the environment names a proxy (``HTTPS_PROXY`` and the
    like), requests go through ``AsyncClient.send`` and httpx's own
    transports, which apply it; its cookie jar refuses every cookie, so
    both paths send the same requests.
    """

    def __init__(self, concurrency: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # httpx applies the environment's proxies only to a client that makes its own transport
        proxied = transport is None and bool(getproxies())
        self._transport = transport if transport is not None or proxied else make_transport(limits)
        self._http = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            limits=limits,
            transport=self._transport,
        )

    def build_request(self, url: str, headers: dict[str, str], timeout: float) -> httpx.Request:
        return self._http.build_request("GET", url, headers=headers, timeout=timeout)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The response with its body not read yet."""
        if self._transport is None:
            return await self._http.send(request, stream=True)
        response = await self._transport.handle_async_request(request)
        response.request = request
        if log.isEnabledFor(logging.DEBUG):  # as httpx logs the requests it sends itself
            log.debug(
                'HTTP Request: %s %s "%s %d %s"', request.method, request.url,
                response.http_version, response.status_code, response.reason_phrase,
            )
        return response

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def fetch(
    client: Client, feed: FeedConfig, validators: Validators, url: str | None = None, *, guard: Guard | None = None
) -> FetchResult:
    """Fetch ``url`` (default: the feed's configured URL) under the feed's limits.

    ``guard`` sees every URL before it is asked, redirects included, and may
    refuse it (entry images: no private addresses).
    """
    started = time.monotonic()
    url = url or feed.url
    try:
        scheme = urlsplit(strip_userinfo(url)).scheme.lower()
    except ValueError as exc:  # an unclosed IPv6 bracket: refused here, as every other failure, not raised
        return FetchResult(url, strip_userinfo(url), error=f"invalid URL {redact(url)}: {exc}", kind=FailureKind.BAD_RESPONSE)
    if scheme == "file":
        result = await asyncio.to_thread(_read_file, url, feed.max_size, feed.base)
    else:
        result = await _fetch_http(client, feed, url, validators, guard)
    return replace(result, elapsed=time.monotonic() - started)


def credentials(feed: FeedConfig) -> BasicAuth | None:
    """``auth:`` from the config, else a ``user:password@`` written into the feed URL."""
    if feed.auth is not None:
        return feed.auth
    _, userinfo = split_credentials(feed.url)
    if userinfo is None:
        return None
    user, _, password = userinfo.partition(":")
    return BasicAuth(unquote(user), unquote(password))


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _read_file(url: str, max_size: int, base: Path | None = None) -> FetchResult:
    parts = urlsplit(url)
    path = Path(url2pathname(parts.path))
    if base is not None and not path.is_absolute():
        path = base / path
    if parts.netloc not in ("", "localhost"):
        return FetchResult(url, url, error=f"file URL with a host ({parts.netloc}) is not supported", kind=FailureKind.FILE)
    try:
        with path.open("rb") as handle:
            content = handle.read(max_size + 1)
    except FileNotFoundError:
        return FetchResult(url, url, error=f"file not found: {path}", kind=FailureKind.FILE)
    except OSError as exc:
        return FetchResult(url, url, error=f"cannot read {path}: {exc.strerror or exc}", kind=FailureKind.FILE)
    if len(content) > max_size:
        return FetchResult(url, url, error=f"file is larger than the {format_size(max_size)} limit (max_size): {path}", kind=FailureKind.FILE)
    return FetchResult(url, url, status=200, content=content)


DRAIN_LIMIT = 16 * 1024  # bytes read from an unused answer to keep its connection


class _TooLarge(Exception):
    pass


class _BadEncoding(Exception):
    pass


@dataclass
class _Progress:
    """Where a fetch got to, so a deadline can say what it interrupted."""

    url: str
    hops: list[Hop] = field(default_factory=list)
    received: int = 0
    status: int | None = None


async def _fetch_http(
    client: Client, feed: FeedConfig, url: str, validators: Validators, guard: Guard | None = None
) -> FetchResult:
    result = await _guarded_fetch(client, feed, url, validators, guard)
    if result.error:
        # an error may quote what a library refused to send: a password, a token, a header's value
        result = replace(result, error=printable_text(result.error, feed_secrets(feed)))
    return result


async def _guarded_fetch(
    client: Client, feed: FeedConfig, url: str, validators: Validators, guard: Guard | None = None
) -> FetchResult:
    progress = _Progress(strip_userinfo(url))
    try:
        async with asyncio.timeout(feed.deadline):
            return await _follow(client, feed, url, validators, progress, guard)
    except Refused as exc:
        return _failed(url, progress, str(exc), FailureKind.CONNECT)
    except TimeoutError:
        got = f", {format_size(progress.received)} received" if progress.received else ""
        return _failed(
            url, progress,
            f"took longer than the {feed.deadline:g}s deadline (deadline){got}", FailureKind.DEADLINE,
        )
    except httpx.TimeoutException as exc:
        what = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for data"
        return _failed(url, progress, f"timed out after {feed.timeout:g}s {what} (timeout)", FailureKind.TIMEOUT)
    except httpx.DecodingError as exc:
        return _failed(url, progress, f"cannot decode response body: {exc}", FailureKind.BAD_RESPONSE)
    except httpx.ConnectError as exc:
        return _failed(url, progress, f"cannot connect: {_reason(exc)}", FailureKind.CONNECT)
    except httpx.HTTPError as exc:
        return _failed(url, progress, f"{type(exc).__name__}: {_reason(exc)}", FailureKind.BAD_RESPONSE)
    except (ValueError, httpx.InvalidURL) as exc:  # e.g. a redirect to a port out of range
        return _failed(url, progress, f"invalid URL {progress.url}: {_reason(exc)}", FailureKind.BAD_RESPONSE)


def _failed(url: str, progress: _Progress, error: str, kind: FailureKind) -> FetchResult:
    return FetchResult(url, progress.url, status=progress.status, error=error, hops=tuple(progress.hops), kind=kind)


async def _follow(
    client: Client, feed: FeedConfig, url: str, validators: Validators, progress: _Progress,
    guard: Guard | None = None,
) -> FetchResult:
    """Request ``url``, following redirects hop by hop within the feed's limit.

    Credentials in the URL are moved into an Authorization header, so they
    are never part of a logged, reported or stored URL.
    """
    progress.url = strip_userinfo(url)
    # credentials and custom headers go only where the config sends them: the feed's own origin,
    # whatever URL is asked with its settings (a page's candidate feeds, an entry's images)
    origin = urlsplit(strip_userinfo(feed.url))
    visited = [progress.url]
    while True:
        if guard is not None:
            await guard(progress.url)
        request = client.build_request(progress.url, _headers(feed, origin, progress.url, validators), feed.timeout)
        response = await client.send(request)
        try:
            progress.status = response.status_code
            location = response.headers.get("location")
            if response.status_code in REDIRECTS:
                if not location:
                    return _failed(url, progress, f"HTTP {response.status_code} redirect without a Location header", FailureKind.REDIRECT)
                target = strip_userinfo(urljoin(progress.url, location.strip()))
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    return _failed(url, progress, f"redirect to a non-HTTP URL: {redact(target)}", FailureKind.REDIRECT)
                progress.hops.append(Hop(response.status_code, progress.url, target))
                chain = " -> ".join(redact(u) for u in [*visited, target])
                if target in visited:
                    return _failed(url, progress, f"redirect loop: {chain}", FailureKind.REDIRECT)
                if len(progress.hops) > feed.max_redirects:
                    return _failed(
                        url, progress,
                        f"more than {feed.max_redirects} redirects (max_redirects): {chain}", FailureKind.REDIRECT,
                    )
                visited.append(target)
                progress.url = target
                continue
            return await _answer(url, feed, response, validators, progress)
        finally:
            if not response.is_stream_consumed:
                await _drain(response)
            await response.aclose()


async def _answer(
    url: str, feed: FeedConfig, response: httpx.Response, validators: Validators, progress: _Progress
) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()}
    hops = tuple(progress.hops)
    status = response.status_code
    if status == 304:
        return FetchResult(
            url, progress.url, status=304, headers=headers,
            validators=_validators(response, validators), not_modified=True, hops=hops,
        )
    if status >= 300:
        reason = response.reason_phrase or ""
        return FetchResult(
            url, progress.url, status=status, headers=headers,
            error=f"HTTP {status} {reason}".rstrip(), hops=hops, kind=FailureKind.HTTP,
        )
    try:
        content = await _read_body(response, feed.max_size, progress)
    except _TooLarge:
        encoded = headers.get("content-encoding", "").strip().lower() not in ("", "identity")
        after = " after decompression" if encoded else ""
        return _failed(url, progress, f"response is larger than the {format_size(feed.max_size)} limit{after} (max_size)", FailureKind.TOO_LARGE)
    except _BadEncoding as exc:
        return _failed(url, progress, str(exc), FailureKind.BAD_RESPONSE)
    return FetchResult(
        url, progress.url, status=status, content=content, headers=headers,
        validators=_validators(response, Validators()), hops=hops,
    )


async def _drain(response: httpx.Response) -> None:
    """Read a short answer that was not read (a 304, a redirect, an error page) to its end.

    A response closed unread closes its connection, so every unchanged feed
    or redirect would cost a new one. A body longer than ``DRAIN_LIMIT``,
    or one that fails, is not worth it: the connection is closed instead.
    """
    with contextlib.suppress(_TooLarge, _BadEncoding, httpx.HTTPError):
        await _read_body(response, DRAIN_LIMIT, _Progress(str(response.url)))


async def _read_body(response: httpx.Response, limit: int, progress: _Progress) -> bytes:
    """The decoded body, refused as soon as it would pass ``limit`` bytes."""
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > limit:
        raise _TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        data = decoder.decode(raw, limit - size + 1)
        size += len(data)
        progress.received = size
        if size > limit:
            raise _TooLarge()
        chunks.append(data)
    return b"".join(chunks)


class _Decoder:
    """gzip/deflate decoding that never produces more than it is asked for.

    httpx's own decoder inflates a whole network chunk at once, which for a
    gzip bomb is a thousand times the chunk; here ``max_length`` bounds every
    step, so memory stays near the configured limit.
    """

    def __init__(self, content_encoding: str):
        encoding = content_encoding.strip().lower()
        self.identity = encoding in ("", "identity")
        self._raw_fallback = encoding == "deflate"
        if self.identity:
            self._wbits = 0
        elif encoding in ("gzip", "x-gzip"):
            self._wbits = zlib.MAX_WBITS | 16
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise _BadEncoding(f"unsupported content encoding {content_encoding!r} (ingest asks for gzip or deflate)")
        self._inflate = None if self.identity else zlib.decompressobj(self._wbits)

    def decode(self, data: bytes, room: int) -> bytes:
        if self._inflate is None:
            return data
        out = b""
        try:
            while data and len(out) < room:
                out += self._inflate.decompress(data, room - len(out))
                if self._inflate.unconsumed_tail:
                    break  # room is used up: the caller stops
                data = self._inflate.unused_data if self._inflate.eof else b""
                if data:  # a further gzip member
                    self._inflate = zlib.decompressobj(self._wbits)
        except zlib.error as exc:
            if self._raw_fallback and not out:
                # Some servers send raw deflate without the zlib wrapper.
                self._raw_fallback = False
                self._wbits = -zlib.MAX_WBITS
                self._inflate = zlib.decompressobj(self._wbits)
                return self.decode(data, room)
            raise _BadEncoding(f"cannot decode the compressed response body: {exc}") from None
        return out


def _headers(feed: FeedConfig, origin: SplitResult, url: str, validators: Validators) -> dict[str, str]:
    """Request headers for one hop; credentials and custom headers stay on the feed's own host."""
    headers: dict[str, str] = {}
    if feed.user_agent:
        headers["User-Agent"] = feed.user_agent
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    auth = credentials(feed)
    if _same_host(origin, urlsplit(url)):
        headers.update(dict(feed.headers))
        if auth is not None:
            token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
    return headers


def _same_host(origin: SplitResult, target: SplitResult) -> bool:
    """Same host (and port, where both name one), and never from https down to http."""
    if origin.hostname != target.hostname:
        return False
    if origin.port and target.port and origin.port != target.port:
        return False
    return not (origin.scheme == "https" and target.scheme != "https")


def _validators(response: httpx.Response, previous: Validators) -> Validators:
    """New validators if the server sent any, else keep the ones we had."""
    etag = response.headers.get("etag") or previous.etag
    last_modified = response.headers.get("last-modified") or previous.last_modified
    return Validators(etag=etag, last_modified=last_modified)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
