"""The HTTP transport under the fetcher: httpx over plain asyncio streams.

httpx runs its async connections through anyio, which wraps every read and
write of every request in cancel scopes and task lookups; with hundreds of
feeds answering 304 that wrapper is about a quarter of the CPU a request
costs. httpcore lets the network layer be swapped (its public
``AsyncNetworkBackend``), so the same httpx client runs here on asyncio's
own streams.

The TLS context is made on the first https connection, not up front:
loading the certificate bundle costs as much as a hundred 304 answers, and
a run over plain-http or unchanged feeds never needs it.

httpcore's connection pool also takes its locks and events from anyio when
asyncio runs. anyio's lock yields to the event loop twice on every acquire
and importing its asyncio backend costs a short run about 15 ms; with
asyncio's own lock and event a warm run of 200 feeds took 0.33 s instead of
0.39 s. ``use_asyncio_primitives`` swaps them in for the pool's three
modules, and only for the httpcore release line it was written against. The
cancellation shield becomes a no-op: anyio's shield only holds off anyio's
own cancel scopes, and ingest cancels with plain asyncio (``asyncio.timeout``,
task cancellation), which no context manager can hold off, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpcore
import httpx

CONNECT_ATTEMPT_DELAY = 0.25  # seconds before trying a host's next address (happy eyeballs)


def make_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport with ``limits`` whose connections, locks and waits are asyncio's own.

    Should httpx ever stop keeping its connection pool where this expects
    it, the transport falls back to httpx's own, which works the same, only
    slower.
    """
    use_asyncio_primitives()
    tls = _LazyTLS()
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)  # type: ignore[arg-type]
    if type(getattr(transport, "_pool", None)) is not httpcore.AsyncConnectionPool:
        return httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,  # type: ignore[arg-type]
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport


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


# --- httpcore's locks and events on asyncio ----------------------------------------------

_HTTPCORE_LINE = "1.0."  # the release line whose modules use_asyncio_primitives knows


def use_asyncio_primitives() -> bool:
    """Make httpcore's async pool lock and wait with asyncio itself; whether it does now.

    Idempotent. A process that runs httpcore under trio must not call it:
    ingest runs only asyncio.
    """
    import httpcore._async.connection as connection
    import httpcore._async.connection_pool as pool
    import httpcore._async.http11 as http11

    if pool.AsyncEvent is _Event:
        return True
    if not httpcore.__version__.startswith(_HTTPCORE_LINE) or not all(
        hasattr(module, name)
        for module, names in ((connection, ("AsyncLock",)), (http11, ("AsyncLock", "AsyncShieldCancellation")),
                              (pool, ("AsyncEvent", "AsyncShieldCancellation")))
        for name in names
    ):
        return False  # another httpcore: keep its own primitives, which work, only slower
    connection.AsyncLock = http11.AsyncLock = _Lock  # type: ignore[misc]
    http11.AsyncShieldCancellation = pool.AsyncShieldCancellation = _Shield  # type: ignore[misc]
    pool.AsyncEvent = _Event  # type: ignore[misc]
    return True


class _Lock:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> _Lock:
        await self._lock.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()


class _Event:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, timeout: float | None = None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            raise httpcore.PoolTimeout("timed out waiting for a connection") from None


class _Shield:
    def __enter__(self) -> _Shield:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
