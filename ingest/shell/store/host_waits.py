"""Hosts that asked every client to wait (a 429 or 503 with Retry-After): kept in the store for every node.

Every poll asks whether its host is waiting, just before its request. Such
hosts are few and change seldom, so the store reads the ones still waiting
at most once a second (``FRESH_FOR``), not once per poll: at 80 polls a
second that was a round trip to the server per poll for a table that is
nearly always empty. A deferral this process records is seen at once (it
drops what was read); another node's within that second, as if its 429 had
come a moment later.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["FRESH_FOR", "HostWaits"]

FRESH_FOR = 1.0  # seconds a read of the waiting hosts is used for


class HostWaits:
    """Mixed into a store beside ``SqlStore``, whose statement runner it uses."""

    _q: Callable[..., Any]  # SqlStore's: run one statement, in a transaction (declared only)
    _tx: Callable[[], contextlib.AbstractContextManager[None]]
    # host -> (until, why) of the hosts waiting when last read, and when that was (monotonic)
    _waiting: dict[str, tuple[datetime, str]] | None = None
    _waiting_read = 0.0

    def defer_host(self, host: str, not_before: datetime, reason: str) -> None:
        """A host asked to be left alone until ``not_before``: every feed on it waits (the later time wins)."""
        with self._tx():
            self._q(
                "INSERT INTO host_waits (host, not_before, reason) VALUES (?, ?, ?) ON CONFLICT (host) DO UPDATE"
                " SET not_before = excluded.not_before, reason = excluded.reason"
                " WHERE excluded.not_before > host_waits.not_before",
                (host, not_before.isoformat(), reason),
            )
        self._waiting = None  # read again by the next poll, with this deferral

    def host_wait(self, host: str, now: datetime) -> tuple[datetime, str] | None:
        """Until when and why the host asked to wait, if that time is still ahead."""
        if self._waiting is None or time.monotonic() - self._waiting_read >= FRESH_FOR:
            rows = self._q(
                "SELECT host, not_before, reason FROM host_waits WHERE not_before > ?", (now.isoformat(),)
            ).fetchall()
            self._waiting = {name: (datetime.fromisoformat(until), why or "") for name, until, why in rows}
            self._waiting_read = time.monotonic()
        wait = self._waiting.get(host)
        return wait if wait is not None and wait[0] > now else None
