"""The HTTP transport under the fetcher: httpcore's connection pool over plain asyncio streams.

httpx runs its async connections through anyio, which wraps every read and
write of every request in cancel scopes and task lookups; with hundreds of
feeds answering 304 that wrapper is about a quarter of the CPU a request
costs. httpcore lets the network layer be swapped (its public
``AsyncNetworkBackend``), so the pool here runs on asyncio's own streams,
and ``AsyncioTransport`` puts it under httpx through httpx's public
transport interface: httpx requests in, httpx responses out, httpcore's
errors raised as httpx's.

The TLS context is made on the first https connection, not up front:
loading the certificate bundle costs as much as a hundred 304 answers, and
a run over plain-http or unchanged feeds never needs it.

httpcore's pool still takes its locks and events from anyio under asyncio
(it offers no public way to choose them); they cost a warm run of 200
feeds a few milliseconds, which is the price of depending on public
interfaces only: an upgrade of httpx or httpcore cannot change what this
module does without an error saying so.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx

__all__ = ["AsyncioBackend", "AsyncioTransport", "CONNECT_ATTEMPT_DELAY", "make_transport"]


CONNECT_ATTEMPT_DELAY = 0.25  # seconds before trying a host's next address (happy eyeballs)


def make_transport(limits: httpx.Limits) -> AsyncioTransport:
    """An httpx transport with ``limits`` whose connections run on asyncio's own streams."""
    return AsyncioTransport(limits)


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpcore's public ``AsyncConnectionPool`` on ``AsyncioBackend``, as an httpx transport."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_LazyTLS(),  # type: ignore[arg-type]
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            raise _as_httpx(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any, request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


# httpcore's errors and the httpx errors of the same meaning, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.RequestError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    """httpcore's error as the httpx error ``fetch`` handles; anything else unchanged."""
    for core, mapped in _ERRORS:
        if isinstance(exc, core):
            return mapped(str(exc), request=request)
    return exc


class _LazyTLS:
    """Stands in for the TLS context until a connection needs one.

    httpcore only sets the ALPN protocols on it and hands it to
    ``start_tls``, where ``AsyncioBackend`` asks for the real context, made
    as httpx makes it (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).
    """

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        self._alpn: list[str] = []

    def set_alpn_protocols(self, protocols: list[str]) -> None:
        self._alpn = list(protocols)
        if self._context is not None:
            self._context.set_alpn_protocols(self._alpn)

    def context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = httpx.create_ssl_context()
            if self._alpn:
                self._context.set_alpn_protocols(self._alpn)
        return self._context


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer on ``asyncio.open_connection``."""

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=CONNECT_ATTEMPT_DELAY,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")  # asyncio has already set TCP_NODELAY
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        context = ssl_context.context() if isinstance(ssl_context, _LazyTLS) else ssl_context
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(context, server_hostname=server_hostname)
        except TimeoutError:
            self._writer.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # an idle keep-alive connection with data or an end waiting is
            # one the server gave up on; asyncio has already read the socket
            return self._reader.at_eof() or self._writer.is_closing()
        name = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}
        return self._writer.get_extra_info(name[info]) if info in name else None
