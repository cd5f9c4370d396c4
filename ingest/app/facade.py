"""What the faces ask of the shell, as use cases: open a config's store, tidy up, run the hook, poll.

The faces (cli, daemon) never import the shell: they name what they want
in the terms of a config, and this module picks the shell's parts for it.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import httpx

from ..core.scheduling import cadence
from ..core.config.model import Config, FeedConfig
from ..core.reporting import webhook
from ..core.reporting.webhook import WebhookResult
from ..core.records import FailureKind, FeedReport, FeedState, HookResult
from ..shell.fetch import Client
from ..shell.hooks import run_after, run_after_async
from ..shell.leftovers import remove_leftovers
from ..shell.limits import RequestLimits
from ..shell.store import StoreAPI as Store
from ..shell.store import open_store as open_any
from ..shell.store import utcnow
from ..shell.webhooks import deliver_all
from ..shell.write import Flusher, write_atomic
from .run import output_problem, poll_feed

__all__ = [
    "Poller", "after_run", "after_run_async", "open_store", "remove_leftovers", "save_text", "webhooks",
    "webhooks_async",
]


def open_store(
    config: Config, *, wait: bool, readonly: bool = False, lock: bool = True, shared: bool = False
) -> Store:
    """The config's store (SQLite file or PostgreSQL); StoreLocked or StoreError (``ingest.errors``) when unusable.

    ``shared``: as one node of a cluster (PostgreSQL only).
    """
    return open_any(config.store_url or config.store, wait=wait, readonly=readonly, lock=lock, shared=shared)


def after_run(config: Config, changed: Sequence[Path], removed: Sequence[Path] = ()) -> HookResult | None:
    """Run the config's ``after_run`` hook if files changed; None when there was nothing to do."""
    return run_after(config.after_run, changed, output=config.output, cwd=config.path.parent, removed=removed)


async def after_run_async(config: Config, changed: Sequence[Path], removed: Sequence[Path] = ()) -> HookResult | None:
    """``after_run`` without blocking the event loop; cancelling it stops the hook's processes."""
    return await run_after_async(
        config.after_run, changed, output=config.output, cwd=config.path.parent, removed=removed
    )


async def webhooks_async(
    config: Config, new: Sequence[str | Path], updated: Sequence[str | Path], removed: Sequence[str | Path],
    failing: Sequence[str],
) -> list[WebhookResult]:
    """POST the config's webhooks if files changed; no call (and no result) when nothing did."""
    if not config.webhooks or not (new or updated or removed):
        return []
    base = os.path.abspath(config.output)

    def names(paths: Sequence[str | Path]) -> list[str]:
        return [os.path.relpath(os.path.abspath(path), base) for path in paths]

    payload = webhook.body(
        written=names(new), updated=names(updated), removed=names(removed), failing=failing, output=base,
        now=utcnow(),
    )
    return await deliver_all(config.webhooks, payload)


def webhooks(
    config: Config, new: Sequence[str | Path], updated: Sequence[str | Path], removed: Sequence[str | Path],
    failing: Sequence[str],
) -> list[WebhookResult]:
    """``webhooks_async`` for a one-shot command."""
    if not config.webhooks or not (new or updated or removed):
        return []
    return asyncio.run(webhooks_async(config, new, updated, removed, failing))


def save_text(path: str | Path, text: str) -> None:
    """Write a file the user asked for (an export) atomically: all of it or nothing."""
    write_atomic(path, text)


class Poller:
    """Polls feeds one at a time or concurrently, sharing one HTTP client, the per-host limits and the disk flushes."""

    def __init__(self, config: Config, store: Store, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.store = store
        self._client = Client(config.concurrency, transport)
        self._host_limits = RequestLimits(None, config.host_concurrency)  # the daemon bounds whole polls
        self._flusher = Flusher()  # concurrent polls' files are synced together
        self._checked: tuple[Config, tuple[str, FailureKind] | None] | None = None

    async def poll(self, config: Config, feed: FeedConfig, rng: random.Random | None = None) -> FeedReport:
        """Poll ``feed`` under ``config`` (the daemon's current one, which a reload may have replaced)."""
        problem = self.check(config)
        if problem is not None:
            return FeedReport(feed.name, feed.url, status="failed", error=problem[0], kind=problem[1])
        return await poll_feed(
            config, feed, self.store, self._client, limits=self._host_limits, flusher=self._flusher, rng=rng,
            checked=True,
        )

    def check(self, config: Config) -> tuple[str, FailureKind] | None:
        """The whole-config checks (output layout), once per loaded config, not once per poll.

        They read every feed's row: made per poll, they made a poll's cost
        grow with the number of feeds. A reload (SIGHUP) brings a new config
        object, which is checked again on its first poll.
        """
        if self._checked is None or self._checked[0] is not config:
            self._checked = (config, output_problem(config, self.store))
        return self._checked[1]

    def next_poll(
        self, feed_id: int, feed: FeedConfig, failed: bool, now: datetime
    ) -> tuple[datetime, FeedState | None]:
        """When to poll a feed next, after a poll that ``failed`` or not, and its stored state.

        The schedule's rules, with the server's ``not_before`` and, for an
        adaptive feed, how often it published lately; the same for a single
        daemon and for a cluster's nodes.
        """
        state = self.store.feed_state(feed_id)
        history = cadence.History(ok=not failed)
        if feed.adaptive is not None:
            count, window = self.store.publishing_history(feed_id, now, cadence.HORIZON)
            history = replace(history, new_entries=count, window=window)
        when = cadence.next_poll(feed, now, not_before=state.not_before if state else None, history=history)
        return when, state

    async def aclose(self) -> None:
        await self._client.aclose()
