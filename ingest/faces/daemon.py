"""``ingest daemon``: poll each feed on its own clock, for as long as it runs.

Every enabled feed sits in a due-queue (``core.scheduling.duequeue``) keyed by the time
of its next poll, rebuilt from the config at start-up and on SIGHUP. One
dispatcher takes the feeds that are due, earliest first, as poll slots
(``concurrency``) free up: a feed is never polled twice at once, and polls
missed while the daemon was busy or asleep become one, late rather than
never. A heap costs O(log n) per poll however many feeds it holds; one
APScheduler job per feed held too, but with a slower start, more memory and
a longer lag at 50,000 feeds (bench/README.md). Each poll runs the same pipeline as ``ingest run`` for its
feed, on the one event loop that also carries the fetches, so the store is
only ever touched from one thread. After every poll the next one is planned
by ``cadence.next_poll``, written to the store, so a restart resumes the
plan, and put back in the queue.

The store lock is held for the daemon's whole life: a cron ``ingest run``
cannot race it. On SIGTERM or SIGINT no further poll starts, polls in
flight may finish within the grace period, and the rest are cancelled while
they wait on the network (files are only written between awaits, each one
atomically), so nothing is ever half-written.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ..app import config_file
from ..app.facade import Poller
from ..core.config import model as config_mod
from ..core.config.model import Config, FeedConfig
from ..core.records import FailureKind, FeedReport
from ..core.scheduling import cadence
from ..core.scheduling.duequeue import DueQueue, DueSource
from .common import utcnow
from .hookbatch import HookBatches
from .observe import Metrics, event, serve_status, status_server
from .report import describe
from .scrub import add_secrets

if TYPE_CHECKING:  # the store comes from the use cases (app.session.open_store); only its type is named here
    from ..shell.store import StoreAPI as Store

__all__ = ["Daemon", "EXIT_FAILED", "EXIT_OK", "Options", "utcnow"]


log = logging.getLogger("ingest.daemon")  # the name people see in log lines, whatever the module's place

EXIT_OK = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class Options:
    config_path: Path
    grace: float = 30.0
    listen: tuple[str, int] | None = None


class Daemon:
    def __init__(
        self,
        config: Config,
        store: Store,
        options: Options,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.config = config
        self.store = store
        self.options = options
        self.metrics = Metrics()
        self._transport = transport
        self._feeds: dict[str, FeedConfig] = {}
        self._in_backoff: dict[str, bool] = {}
        self._in_flight: dict[asyncio.Task, str] = {}
        self._polling: set[str] = set()  # feeds whose poll is under way
        # Which feed is due next: one process's heap here; a source shared by several daemons plugs in the same way.
        self._queue: DueSource[str] = DueQueue()
        self._wake = asyncio.Event()  # the dispatcher looks again: a plan moved earlier, a slot freed, a stop
        self._dispatching = False
        self._stopping = False
        self._forced = False
        self._stop = asyncio.Event()
        self._hooks = HookBatches(lambda: self.config)

    # --- life cycle ------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        status = status_server(self.metrics, self.alive, lambda: self.config)
        if not await serve_status(status, self.options.listen):
            return EXIT_FAILED
        self._poller = Poller(self.config, self.store, self._transport)
        self._dispatching = True
        self._apply(self.config)
        dispatcher = asyncio.create_task(self._dispatch())
        hooks = asyncio.create_task(self._hooks.run())
        event(
            "started", f"daemon started with {_count(len(self._feeds), 'feed')} from {self.config.path}",
            feeds=len(self._feeds), config=str(self.config.path), store=self.config.store_location,
        )
        try:
            await self._stop.wait()
            await self._drain(hooks)
        finally:
            self._dispatching = False
            dispatcher.cancel()
            await asyncio.wait([dispatcher], timeout=5)
            await self._poller.aclose()
            await status.close()
        event("stopped", "daemon stopped")
        return EXIT_OK

    def alive(self) -> bool:
        return self._dispatching and not self._stopping

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stopping:
            self._forced = True
            event("stop_forced", f"{sig.name} again: cancelling polls in flight now", logging.WARNING)
            return
        self._stopping = True
        self._wake.set()  # the dispatcher starts nothing more
        event(
            "stopping",
            f"{sig.name}: stopping; {_count(len(self._in_flight), 'poll')} in flight, grace {self.options.grace:g}s",
            signal=sig.name, in_flight=sorted(self._in_flight.values()), grace=self.options.grace,
        )
        self._stop.set()

    async def _drain(self, hooks: asyncio.Task) -> None:
        """Let polls in flight, then the hook, finish within the grace period; cancel what is left.

        Cancellation lands on an await, that is, on network I/O: a file is
        written between awaits, atomically, so it is either whole or absent.
        A cancelled hook has its whole process group terminated.
        """
        deadline = time.monotonic() + self.options.grace

        def waiting() -> float:
            return max(0.0, deadline - time.monotonic()) if not self._forced else 0.0

        while self._in_flight and waiting():
            await asyncio.wait(list(self._in_flight), timeout=min(0.05, waiting()))
        pending = list(self._in_flight)
        if pending:
            names = sorted(self._in_flight[t] for t in pending)
            event("cancelled", f"cancelled unfinished polls: {', '.join(names)}", logging.WARNING, feeds=names)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=5)
        while not self._hooks.idle and waiting():
            await asyncio.sleep(min(0.05, waiting()))
        if not self._hooks.idle:
            event("cancelled", "cancelled the after_run hook", logging.WARNING, hook=True)
        hooks.cancel()
        await asyncio.wait([hooks], timeout=10)

    # --- configuration ---------------------------------------------------------

    def _reload(self) -> None:
        if self._stopping:
            return
        try:
            new = config_file.load(self.options.config_path)
        except config_mod.ConfigError as exc:
            event(
                "reload_failed", f"config error: {exc}; keeping the previous config", logging.ERROR,
                error=str(exc),
            )
            return
        add_secrets(new.secrets)
        kept = []
        if (new.store.resolve(), new.store_url) != (self.config.store.resolve(), self.config.store_url):
            kept.append(f"store: {self.config.store_location}")
            new = replace(new, store=self.config.store, store_url=self.config.store_url)
        if new.concurrency != self.config.concurrency:
            kept.append(f"concurrency: {self.config.concurrency}")
            new = replace(new, concurrency=self.config.concurrency)
        if kept:
            event(
                "reload_warning", f"restart the daemon to change {' and '.join(k.split(':')[0] for k in kept)};"
                f" keeping {', '.join(kept)}", logging.WARNING,
            )
        added, removed, changed = self._apply(new)
        event(
            "reloaded",
            f"config reloaded: {_count(len(self._feeds), 'feed')}; added {_names(added)}, removed {_names(removed)},"
            f" rescheduled {_names(changed)}",
            feeds=len(self._feeds),
            added=added, removed=removed, changed=changed,
        )

    def _apply(self, new: Config) -> tuple[list[str], list[str], list[str]]:
        """Make the queue match ``new``: add, remove, reschedule; leave the rest alone."""
        wanted = {feed.name: feed for feed in new.select(None)}
        removed = sorted(set(self._feeds) - set(wanted))
        added: list[str] = []
        changed: list[str] = []
        for name in removed:
            self._queue.drop(name)
            self._in_backoff.pop(name, None)
        now = utcnow()
        with self.store.batch():  # one transaction for all the plans, not one per feed
            for name, feed in wanted.items():
                old = self._feeds.get(name)
                if old == feed:
                    continue
                (changed if old else added).append(name)
                feed_id = self.store.feed_id(feed.url, feed.name)
                state = self.store.feed_state(feed_id)
                assert state is not None
                when = cadence.first_poll(feed, now, planned=state.next_poll_at, not_before=state.not_before)
                self._queue.plan(name, when)
                self.store.plan_poll(feed_id, when)
                self.metrics.add_feed(name)
                self._in_backoff[name] = state.error_count > 0 or state.waiting(now)
                event("scheduled", f"{name}: next poll {_short(when)}", feed=name, next_poll_at=when.isoformat())
        self.config = new
        self._feeds = wanted
        self.metrics.scheduled.set(len(wanted))
        self.metrics.in_backoff.set(sum(self._in_backoff.values()))
        self._wake.set()
        return added, removed, changed

    # --- the due-queue -------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Start the polls that are due, earliest first, as long as a slot is free; sleep until the next.

        A feed due while its previous poll is still under way is not started
        again: that poll plans its next one when it ends, so missed polls
        become one.
        """
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            free = self.config.concurrency - len(self._in_flight)
            now = utcnow()
            if free > 0:
                for name, due in self._queue.take_due(now, free):
                    if name in self._polling:
                        continue
                    self._polling.add(name)
                    task = loop.create_task(self._poll(name, due))
                    self._in_flight[task] = name
            if self._stopping:
                break
            wait = None
            if len(self._in_flight) < self.config.concurrency:
                upcoming = self._queue.next_time()
                if upcoming is not None:
                    wait = max(0.0, (upcoming - utcnow()).total_seconds())
            if wait == 0.0:
                await asyncio.sleep(0)  # due already: let the polls just started run a step first
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    # --- one poll ----------------------------------------------------------------

    async def _poll(self, name: str, due: datetime) -> None:
        """Poll one feed that fell due at ``due``; the dispatcher gave it a slot and counts it in flight."""
        task = asyncio.current_task()
        assert task is not None
        try:
            await self._poll_once(name, due)
        finally:
            self._in_flight.pop(task, None)
            self._polling.discard(name)
            self._wake.set()  # a slot is free

    async def _poll_once(self, name: str, due: datetime) -> None:
        feed = self._feeds.get(name)
        if feed is None or self._stopping:
            return
        started = time.monotonic()  # the duration of the poll
        lag = max(0.0, (utcnow() - due).total_seconds())
        try:
            report = await self._poller.poll(self.config, feed)
        except asyncio.CancelledError:
            return  # stopped by _drain, which logs it; nothing was written and nothing planned
        except Exception as exc:  # a bug must not stop the daemon
            log.exception("unexpected error polling %s", name)
            report = FeedReport(feed.name, feed.url, status="failed", error=f"internal error: {exc}",
                                kind=FailureKind.INTERNAL)
        duration = time.monotonic() - started
        when = self._plan(self._feeds.get(name, feed), report)
        self.metrics.observe(report, duration, lag)
        after = f"; next poll {_short(when)}" if when else "; no longer scheduled"
        event(
            "poll", f"{name}: {describe(report)} in {duration:.2f}s{after}",
            logging.WARNING if report.failed else logging.INFO,
            feed=name, status=report.status, new=len(report.new), updated=len(report.updated),
            unchanged=report.unchanged, skipped=report.skipped, kept_edits=report.kept, merged_edits=report.merged,
            filtered=report.filtered, removed=report.removed, pruned=report.pruned, held_edits=report.held,
            error=report.error, quiet=report.quiet,
            duration=round(duration, 3), lag=round(lag, 3), next_poll_at=when.isoformat() if when else None,
            next_in=round((when - utcnow()).total_seconds(), 3) if when else None,
        )
        self._hooks.add(report)

    def _plan(self, feed: FeedConfig, report: FeedReport) -> datetime | None:
        """Plan, store and queue the next poll of a feed that is still configured."""
        if feed.name not in self._feeds:
            return None
        now = utcnow()
        feed_id = self.store.feed_id(feed.url, feed.name)
        when, state = self._poller.next_poll(feed_id, feed, report.failed, now)
        assert state is not None
        self.store.plan_poll(feed_id, when)
        self._queue.plan(feed.name, when)
        self._in_backoff[feed.name] = report.failed or state.waiting(now)
        self.metrics.in_backoff.set(sum(self._in_backoff.values()))
        return when


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def _short(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

