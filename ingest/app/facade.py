"""What the faces ask of the shell, as use cases: open a config's store, tidy up, run the hook, poll.

The faces (cli, daemon) never import the shell: they name what they want
in the terms of a config, and this module picks the shell's parts for it.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config.model import Config, FeedConfig
from ..core.records import FailureKind, FeedReport, FeedState, HookResult, PollRecorded
from ..core.reporting import webhook
from ..core.reporting.webhook import WebhookResult
from ..shell.leftovers import remove_leftovers

if TYPE_CHECKING:
    import asyncio

    import httpx

    from ..shell.store import StoreAPI as Store

# The shell's parts are imported by the use cases that need them, so that a
# command imports only what it uses: listing the feeds opens the store but
# needs no HTTP client or event loop; finding a page's feeds needs no store.

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
    from ..shell.store import open_store as open_any

    return open_any(config.store_url or config.store, wait=wait, readonly=readonly, lock=lock, shared=shared)


def after_run(config: Config, changed: Sequence[Path], removed: Sequence[Path] = ()) -> HookResult | None:
    """Run the config's ``after_run`` hook if files changed; None when there was nothing to do."""
    from ..shell.hooks import run_after

    return run_after(config.after_run, changed, output=config.output, cwd=config.path.parent, removed=removed)


async def after_run_async(config: Config, changed: Sequence[Path], removed: Sequence[Path] = ()) -> HookResult | None:
    """``after_run`` without blocking the event loop; cancelling it stops the hook's processes."""
    from ..shell.hooks import run_after_async

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
    from ..shell.store import utcnow
    from ..shell.webhooks import deliver_all

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
    import asyncio

    return asyncio.run(webhooks_async(config, new, updated, removed, failing))


def save_text(path: str | Path, text: str) -> None:
    """Write a file the user asked for (an export) atomically: all of it or nothing."""
    from ..shell.write import write_atomic

    write_atomic(path, text)


log = logging.getLogger("ingest.daemon")


class Poller:
    """Polls feeds one at a time or concurrently, sharing one HTTP client, the per-host limits and the disk flushes.

    Full articles (``content: extract``) are asked after a feed's poll, in
    a task of their own whose extraction runs in a worker process: the poll
    writes the new entries with the feed's text and frees its slot, so a
    slow article site never delays another feed's poll. ``on_extracted``
    hears what each such task did (posts updated, pages that failed).
    """

    def __init__(
        self, config: Config, store: Store, transport: httpx.AsyncBaseTransport | None = None,
        on_extracted: Callable[[FeedReport], None] | None = None,
    ):
        from ..shell.fetch import Client
        from ..shell.limits import RequestLimits
        from ..shell.write import Flusher

        self.config = config
        self.store = store
        self._client = Client(config.concurrency, transport)
        self._host_limits = RequestLimits(None, config.host_concurrency)  # the daemon bounds whole polls
        self._rng = random.Random()  # the backoff's jitter: seeded once, not for every poll (os.urandom each time)
        self._flusher = Flusher()  # concurrent polls' files are synced together
        self._checked: tuple[Config, tuple[str, FailureKind] | None] | None = None
        self._on_extracted = on_extracted
        self._extracting: dict[str, asyncio.Task[None]] = {}
        self._workers: Any = None  # Readers, started when a feed first asks for extraction
        # article pages have connections of their own: a hanging one never holds a feed's
        self._articles_client = Client(config.concurrency, transport)

    async def poll(
        self, config: Config, feed: FeedConfig, rng: random.Random | None = None, *, feed_id: int | None = None,
        state: FeedState | None = None,
    ) -> FeedReport:
        """Poll ``feed`` under ``config`` (the daemon's current one, which a reload may have replaced).

        ``feed_id``: the feed's id, when the caller resolved it already;
        ``state``: its row without the last body's hashes, when the caller
        read it already (a cluster node's claim).
        """
        from .run import poll_feed

        problem = self.check(config)
        if problem is not None:
            return FeedReport(feed.name, feed.url, status="failed", error=problem[0], kind=problem[1])
        report = await poll_feed(
            config, feed, self.store, self._client, limits=self._host_limits, flusher=self._flusher,
            rng=rng or self._rng,
            checked=True, feed_id=feed_id, state=state,
        )
        extract = feed.content == "extract"
        if extract:
            import asyncio
        if extract and not report.failed and report.status != "retired" and feed.name not in self._extracting:
            self._extracting[feed.name] = asyncio.create_task(self._extract(config, feed, rng))
        return report

    async def _extract(self, config: Config, feed: FeedConfig, rng: random.Random | None) -> None:
        from ..shell.reader_pool import Readers
        from .articles import extract_feed

        try:
            if self._workers is None:
                self._workers = Readers.spawned()
            report = await extract_feed(
                config, feed, self.store, self._articles_client, self._workers, limits=self._host_limits, rng=rng,
                flusher=self._flusher,
            )
            if self._on_extracted is not None and (report.new or report.updated or report.notes or report.failed):
                self._on_extracted(report)
        except Exception:  # a bug must not stop the daemon
            log.exception("unexpected error extracting the articles of %s", feed.name)
        finally:
            self._extracting.pop(feed.name, None)

    def check(self, config: Config) -> tuple[str, FailureKind] | None:
        """The whole-config checks (output layout), once per loaded config, not once per poll.

        They read every feed's row: made per poll, they made a poll's cost
        grow with the number of feeds. A reload (SIGHUP) brings a new config
        object, which is checked again on its first poll.
        """
        if self._checked is None or self._checked[0] is not config:
            from .run import output_problem
            from .withdrawals import finish_withdrawals

            self._checked = (config, output_problem(config, self.store))
            if self._checked[1] is None:  # a removal a crash cut short is finished before any poll
                finish_withdrawals(self.store, str(config.output))
        return self._checked[1]

    def next_poll(self, feed_id: int, feed: FeedConfig, report: FeedReport, now: datetime) -> tuple[datetime, bool]:
        """When to poll a feed next after the poll ``report`` tells of, and whether it waits (backoff, a deferral).

        The schedule's rules, with the server's ``not_before`` and, for an
        adaptive feed, how often it published lately; the same for a single
        daemon and for a cluster's nodes. The feed's row is read only when
        the poll did not say what its outcome left there (``report.recorded``).
        """
        from ..core.scheduling import cadence  # APScheduler's triggers: only the daemon plans polls

        recorded = report.recorded
        if recorded is None:
            state = self.store.feed_state(feed_id, memory=False)
            recorded = PollRecorded(state.not_before if state else None)
        history = cadence.History(ok=not report.failed)
        if feed.adaptive is not None:
            count, window = self.store.publishing_history(feed_id, now, cadence.HORIZON)
            history = replace(history, new_entries=count, window=window)
        when = cadence.next_poll(feed, now, not_before=recorded.not_before, history=history)
        return when, recorded.waiting(now)

    async def aclose(self) -> None:
        """Stop the article tasks (files are written between awaits, each atomically), then the workers."""
        import asyncio

        tasks = list(self._extracting.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._workers is not None:
            self._workers.__exit__()
        await self._articles_client.aclose()
        await self._client.aclose()
