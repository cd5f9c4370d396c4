"""The HTTP transport under the fetcher: HTTP/1.1 with keep-alive, on asyncio's own streams and h11.

A feed fetch is a GET, one hop at a time, with a body read by the fetcher
under its own limits: no HTTP/2, no proxies (a proxied run goes through
httpx's own transports, see ``fetch.Client``), no cookies, no redirects
here. httpcore's connection pool did that and much more on every request
(a pool-wide search for a connection, events and locks from anyio, trace
hooks), which cost a warm run of 200 feeds about a tenth of its time. This
transport keeps what a fetch needs: a connection per origin, reused while
it stays open and young, h11 for the protocol itself (the part that meets
hostile servers), and httpx's own request, response and error types at its
edges, through httpx's public transport interface.

A reused connection that the server closed while it was idle fails before
any byte of an answer: the request, a GET, is then sent once more on a new
connection.

The TLS context is made on the first https connection, not up front:
loading the certificate bundle costs as much as a hundred 304 answers, and
a run over plain-http or unchanged feeds never needs it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

__all__ = ["AsyncioTransport", "CONNECT_ATTEMPT_DELAY", "make_transport"]


CONNECT_ATTEMPT_DELAY = 0.25  # seconds before trying a host's next address (happy eyeballs)
READ_SIZE = 64 * 1024
MAX_HEAD = 100 * 1024  # an answer's status line and headers, at most (as httpcore allows)
_DEFAULT_PORTS = {b"http": 80, b"https": 443}

Origin = tuple[bytes, str, int]


def make_transport(limits: httpx.Limits) -> AsyncioTransport:
    """An httpx transport with ``limits`` whose connections run on asyncio's own streams."""
    return AsyncioTransport(limits)


class AsyncioTransport(httpx.AsyncBaseTransport):
    """Requests on kept-alive HTTP/1.1 connections, at most ``max_connections`` at a time."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._requests = asyncio.Semaphore(limits.max_connections or 100)
        self._idle: dict[Origin, list[_Connection]] = {}  # per origin, the most recently used last
        self._by_age: dict[_Connection, Origin] = {}  # every idle connection, the longest idle first
        self._max_idle = limits.max_keepalive_connections if limits.max_keepalive_connections is not None else 20
        self._expiry = limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.raw_scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        # the host as sent (an international name in its ASCII form): what is resolved and named in TLS
        origin = (url.raw_scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[url.raw_scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._requests.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("timed out waiting for a connection", request=request) from None
        try:
            connection, head = await self._exchange(origin, request, timeouts)
        except BaseException:
            self._requests.release()
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=list(head.headers),
            stream=_Body(self, origin, connection, request, timeouts.get("read")),
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
        )

    async def _exchange(
        self, origin: Origin, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> tuple[_Connection, h11.Response]:
        """The request sent and its answer's head; once more on a new connection if a kept one was dead."""
        while True:
            connection = self._kept(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, request, timeouts.get("connect"))
            try:
                return connection, await connection.ask(request, timeouts)
            except _Closed as closed:
                connection.close()
                if not reused:
                    raise httpx.RemoteProtocolError(str(closed), request=request) from None
            except BaseException:
                connection.close()
                raise

    def _kept(self, origin: Origin) -> _Connection | None:
        """An idle connection to ``origin`` still open and young enough, if there is one."""
        now = time.monotonic()
        while origin in self._idle:
            connection = self._idle[origin][-1]
            self._forget(connection, origin)
            if connection.reusable(now, self._expiry):
                return connection
            connection.close()
        return None

    def _done(self, origin: Origin, connection: _Connection | None) -> None:
        """A response was read or closed: its slot is free, its connection kept if it may be.

        At most ``max_keepalive_connections`` are kept, whatever the number
        of hosts: the one idle longest makes room. Nothing here looks at
        every host, so a daemon's request costs the same at 50,000 feeds.
        """
        self._requests.release()
        if connection is None:
            return
        if self._max_idle <= 0:
            connection.close()
            return
        if len(self._by_age) >= self._max_idle:
            oldest, its_origin = next(iter(self._by_age.items()))
            self._forget(oldest, its_origin)
            oldest.close()
        connection.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(connection)
        self._by_age[connection] = origin

    def _forget(self, connection: _Connection, origin: Origin) -> None:
        del self._by_age[connection]
        kept = self._idle[origin]
        kept.remove(connection)  # a few at most: one per request to that host at a time
        if not kept:
            del self._idle[origin]

    async def _connect(self, origin: Origin, request: httpx.Request, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        context = self._tls_context() if scheme == b"https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None,
                    happy_eyeballs_delay=CONNECT_ATTEMPT_DELAY, limit=READ_SIZE,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}", request=request) from None
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, a certificate refused
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()  # as httpx makes it: certifi, or SSL_CERT_FILE/SSL_CERT_DIR
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls

    async def aclose(self) -> None:
        for connection in self._by_age:
            connection.close()
        self._idle.clear()
        self._by_age.clear()


class _Closed(Exception):
    """The server closed the connection before any byte of its answer."""


class _Connection:
    """One HTTP/1.1 connection: h11's state machine over an asyncio stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.idle_since = 0.0
        self.received = 0  # bytes of the current answer so far

    def reusable(self, now: float, expiry: float) -> bool:
        """Open, idle and young; an idle connection with data or an end waiting is one the server gave up on."""
        return (
            now - self.idle_since < expiry
            and self.protocol.our_state is h11.IDLE
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    async def ask(self, request: httpx.Request, timeouts: dict[str, float | None]) -> h11.Response:
        """Send ``request`` and read its answer's head (informational answers skipped)."""
        protocol = self.protocol
        try:
            data = protocol.send(h11.Request(method=request.method, target=request.url.raw_path,
                                             headers=request.headers.raw))
            async for part in request.stream:  # type: ignore[union-attr]
                if part:
                    data += protocol.send(h11.Data(data=part))
            data += protocol.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        self.received = 0
        await self._write(data, request, timeouts.get("write"))
        while True:
            event = await self.next_event(request, timeouts.get("read"))
            if isinstance(event, h11.Response):
                return event
            if not isinstance(event, h11.InformationalResponse):  # nothing else can come first
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the answer", request=request)

    async def next_event(self, request: httpx.Request, timeout: float | None) -> Any:
        """h11's next event, reading from the network as it needs."""
        protocol = self.protocol
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await self.reader.read(READ_SIZE)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out reading", request=request) from None
            except OSError as exc:
                if not self.received:
                    raise _Closed(str(exc) or type(exc).__name__) from None
                raise httpx.ReadError(str(exc), request=request) from exc
            if not data and not self.received:
                raise _Closed("Server disconnected without sending a response.")
            self.received += len(data)
            protocol.receive_data(data)  # b"": the end of the stream

    async def _write(self, data: bytes, request: httpx.Request, timeout: float | None) -> None:
        try:
            self.writer.write(data)
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out writing", request=request) from None
        except OSError as exc:
            raise _Closed(str(exc)) from None

    def finished(self) -> bool:
        """Whether the exchange ended cleanly; if so the connection is ready for the next one."""
        if self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE:
            self.protocol.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; reading it to its end gives the connection back for the next request."""

    def __init__(
        self, transport: AsyncioTransport, origin: Origin, connection: _Connection, request: httpx.Request,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._connection: _Connection | None = connection
        self._request = request
        self._timeout = timeout
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        while True:
            event = await connection.next_event(self._request, self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._complete = True
                return
            else:  # ConnectionClosed before the end
                raise httpx.RemoteProtocolError("the server closed the connection mid-answer", request=self._request)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._complete and connection.finished():
            self._transport._done(self._origin, connection)
        else:
            connection.close()
            self._transport._done(self._origin, None)
