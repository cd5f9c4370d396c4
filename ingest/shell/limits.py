"""Bounds on requests in flight: for the whole run, and per host."""

from __future__ import annotations

import asyncio

from ..core.scheduling.politeness import host_key

__all__ = ["RequestLimits"]


class RequestLimits:
    """At most ``concurrency`` requests in flight, and at most ``per_host`` to any one host.

    ``concurrency=None`` leaves the global bound to the caller (the daemon
    bounds whole polls itself).
    """

    def __init__(self, concurrency: int | None, per_host: int):
        self._all = asyncio.Semaphore(concurrency) if concurrency else None
        self._per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}

    def slot(self, url: str) -> _Slot:
        """Both bounds, held for one request to ``url`` (``async with``)."""
        host = host_key(url)
        host_limit = self._hosts.get(host)
        if host_limit is None:
            host_limit = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return _Slot(host_limit, self._all)


class _Slot:
    """A class rather than an ``asynccontextmanager``: every request takes one, and a generator costs more."""

    __slots__ = ("_host", "_all")

    def __init__(self, host: asyncio.Semaphore, every: asyncio.Semaphore | None):
        self._host = host
        self._all = every

    async def __aenter__(self) -> None:
        await self._host.acquire()
        if self._all is not None:
            try:
                await self._all.acquire()
            except BaseException:  # cancelled while waiting: give the host's slot back
                self._host.release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        if self._all is not None:
            self._all.release()
        self._host.release()
