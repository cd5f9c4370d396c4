"""``ingest daemon``: poll each feed on its own clock, for as long as it runs; one loop for one node or many.

The daemon takes the feeds that are due from a *due source* and polls them,
as poll slots (``concurrency``) free up, with the same pipeline as
``ingest run``; after every poll it plans the next one
(``cadence.next_poll``, through ``Poller.next_poll``) and hands the feed
back to the source with that time. Signals, reloading (SIGHUP), draining,
the poll events, the metrics and the exit codes live here once, whatever
the source:

- ``LocalDue`` (``due_sources``): one process owns the store. Every enabled
  feed sits in a due-queue (``core.scheduling.duequeue``) keyed by the
  time of its next poll, rebuilt from the config at start-up and on
  SIGHUP, and the plan is written to the store so a restart resumes it. A
  heap costs O(log n) per poll however many feeds it holds (one APScheduler
  job per feed had a slower start, more memory and a longer lag at 50,000
  feeds: bench/README.md). The store lock is held for the daemon's whole
  life: a cron ``ingest run`` cannot race it.
- ``LeasedDue`` (``cluster``): on a PostgreSQL store any number of nodes
  share the feeds; a node claims the due feeds nobody holds, under a lease,
  and releases each with its next due time.

A feed is never polled twice at once, and polls missed while the daemon was
busy or asleep become one, late rather than never. Each poll runs on the one
event loop that also carries the fetches, so the store is only ever touched
from one thread. On SIGTERM or SIGINT no further poll starts, polls in
flight may finish within the grace period, and the rest are cancelled while
they wait on the network (files are only written between awaits, each one
atomically), so nothing is ever half-written; a second signal cancels them
at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ..app import config_file
from ..app.facade import Poller
from ..core.config import model as config_mod
from ..core.config.model import Config, FeedConfig
from ..core.records import FailureKind, FeedReport
from .common import ExitCode, utcnow
from .due_sources import Due, DueFeeds, LocalDue, short_time
from .hookbatch import HookBatches
from .observe import Metrics, event, serve_status, status_server
from .report import describe
from .scrub import add_secrets

if TYPE_CHECKING:  # the store comes from the use cases (app.facade.open_store); only its type is named here
    from ..shell.store import StoreAPI as Store

__all__ = ["Daemon", "Options", "poll_fields"]


log = logging.getLogger("ingest.daemon")  # the name people see in log lines, whatever the module's place


@dataclass(frozen=True)
class Options:
    config_path: Path
    grace: float = 30.0
    listen: tuple[str, int] | None = None


class Daemon:
    """The one daemon loop: signals, reload, dispatch, polls, events, drain; the due source decides the rest."""

    def __init__(
        self,
        config: Config,
        store: Store,
        options: Options,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        source: DueFeeds | None = None,
        metrics: Metrics | None = None,
    ):
        self.config = config
        self.store = store
        self.options = options
        self.metrics = metrics if metrics is not None else Metrics()
        self.source: DueFeeds = source if source is not None else LocalDue(store)
        self.node = self.source.node
        self._transport = transport
        self._feeds: dict[str, FeedConfig] = {}
        self._in_backoff: set[str] = set()  # feeds failing or asked to wait: a set, so counting costs nothing
        self._in_flight: dict[asyncio.Task[None], tuple[str, int]] = {}  # each poll's feed name and id
        self._polling: set[str] = set()  # feeds whose poll is under way
        self._wake = asyncio.Event()  # the dispatcher looks again: a plan moved earlier, a slot freed, a stop
        self._dispatching = False
        self._stopping = False
        self._forced = False
        self._stop = asyncio.Event()
        self._hooks = HookBatches(lambda: self.config, node=self.node)

    # --- life cycle ------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        status = status_server(self.metrics, self.alive, lambda: self.config)
        if not await serve_status(status, self.options.listen):
            return ExitCode.FAILED
        self._poller = Poller(self.config, self.store, self._transport, on_extracted=self._extracted)
        self._dispatching = True
        self._apply(self.config)
        dispatcher = asyncio.create_task(self._dispatch())
        hooks = asyncio.create_task(self._hooks.run())
        who = f"node {self.node}" if self.node else "daemon"
        event(
            "started", f"{who} started with {_count(len(self._feeds), 'feed')} from {self.config.path}",
            feeds=len(self._feeds), config=str(self.config.path), store=self.config.store_location, node=self.node,
        )
        try:
            await self._stop.wait()
            await self._drain(hooks)
        finally:
            self._dispatching = False
            dispatcher.cancel()
            await asyncio.wait([dispatcher], timeout=5)
            self.source.finish()
            await self._poller.aclose()
            await status.close()
        event("stopped", f"{who} stopped", node=self.node)
        return ExitCode.OK

    def alive(self) -> bool:
        return self._dispatching and not self._stopping

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stopping:
            self._forced = True
            event("stop_forced", f"{sig.name} again: cancelling polls in flight now", logging.WARNING)
            return
        self._stopping = True
        self._wake.set()  # the dispatcher starts nothing more
        names = sorted(name for name, _ in self._in_flight.values())
        event(
            "stopping",
            f"{sig.name}: stopping; {_count(len(names), 'poll')} in flight, grace {self.options.grace:g}s",
            signal=sig.name, in_flight=names, grace=self.options.grace, node=self.node,
        )
        self._stop.set()

    async def _drain(self, hooks: asyncio.Task[None]) -> None:
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
            names = sorted(self._in_flight[t][0] for t in pending)
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
        """Make the source match ``new``: add, remove, reschedule; leave the rest alone."""
        wanted = {feed.name: feed for feed in new.select(None)}
        removed = sorted(set(self._feeds) - set(wanted))
        added: list[str] = []
        changed: list[str] = []
        for name in removed:
            self.source.drop(name)
            self._in_backoff.discard(name)
        now = utcnow()
        with self.store.batch():  # one transaction for all the plans, not one per feed
            for name, feed in wanted.items():
                old = self._feeds.get(name)
                if old == feed:
                    continue
                (changed if old else added).append(name)
                state = self.source.plan(name, feed, now)
                self.metrics.add_feed(name)
                self._backoff(name, bool(state and (state.error_count > 0 or state.waiting(now))))
        self.config = new
        self._feeds = wanted
        self.metrics.scheduled.set(len(wanted))
        self.metrics.in_backoff.set(len(self._in_backoff))
        if wanted and self._dispatching:
            self._poller.check(new)  # the whole-config checks read every feed: now, not in the first poll's slot
        self._wake.set()
        return added, removed, changed

    # --- dispatching -------------------------------------------------------------

    async def _dispatch(self) -> None:
        """Start the polls the source says are due, as long as a slot is free; sleep until it may say more.

        A feed due while its previous poll is still under way is not started
        again: that poll plans its next one when it ends, so missed polls
        become one.
        """
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            for due in self.source.take(utcnow(), len(self._in_flight), self.config):
                if due.name in self._polling or due.name not in self._feeds:
                    continue
                self._polling.add(due.name)
                feed = self._feeds[due.name]
                feed_id = due.feed_id if due.feed_id is not None else self.store.feed_id(feed.url, feed.name)
                task = loop.create_task(self._poll(due, feed_id))
                self._in_flight[task] = (due.name, feed_id)
            if self._stopping:
                break
            self.source.keep([feed_id for _, feed_id in self._in_flight.values()], utcnow())
            wait = self.source.wait(utcnow(), len(self._in_flight), self.config)
            if wait == 0.0:
                await asyncio.sleep(0)  # due already: let the polls just started run a step first
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    # --- one poll ----------------------------------------------------------------

    async def _poll(self, due: Due, feed_id: int) -> None:
        """Poll one feed the source handed out; the dispatcher gave it a slot and counts it in flight."""
        task = asyncio.current_task()
        assert task is not None
        try:
            await self._poll_once(due, feed_id)
        finally:
            self._in_flight.pop(task, None)
            self._polling.discard(due.name)
            self._wake.set()  # a slot is free

    async def _poll_once(self, due: Due, feed_id: int) -> None:
        name = due.name
        feed = self._feeds.get(name)
        if feed is None or self._stopping:
            self.source.abandon(due, feed_id)
            return
        started, lag = time.monotonic(), 0.0
        try:
            if due.due is not None and due.due > utcnow():  # a claim may look ahead: poll at the due time
                await asyncio.sleep((due.due - utcnow()).total_seconds())
            started = time.monotonic()  # the duration of the poll
            lag = max(0.0, (utcnow() - due.due).total_seconds()) if due.due else 0.0  # how late it starts
            report = await self._poller.poll(self.config, feed, feed_id=feed_id, state=due.state)
        except asyncio.CancelledError:
            self.source.abandon(due, feed_id)
            return  # stopped by _drain, which logs it; nothing was written and nothing planned
        except Exception as exc:  # a bug must not stop the daemon
            log.exception("unexpected error polling %s", name)
            report = FeedReport(feed.name, feed.url, status="failed", error=f"internal error: {exc}",
                                kind=FailureKind.INTERNAL)
        duration = time.monotonic() - started
        when = self._plan(feed_id, self._feeds.get(name), report)
        self.source.done(due, feed_id, when, len(self._in_flight) - 1)
        self.metrics.observe(report, duration, lag)
        after = f"; next poll {short_time(when)}" if when else "; no longer scheduled"
        where = f" on {self.node}" if self.node else ""
        event(
            "poll", f"{name}: {describe(report)} in {duration:.2f}s{where}{after}",
            logging.WARNING if report.failed else logging.INFO,
            **poll_fields(report, self.node, duration, lag, when),
        )
        self._hooks.add(report)

    def _extracted(self, report: FeedReport) -> None:
        """Full articles asked after a poll (``content: extract``) updated posts or failed: say so, run the hook."""
        event(
            "extract", f"{report.name}: {describe(report)}",
            logging.WARNING if report.failed or report.extract_failed else logging.INFO,
            feed=report.name, updated=len(report.updated), extracted=report.extracted,
            extract_failed=report.extract_failed, kept_edits=report.kept, error=report.error,
        )
        self._hooks.add(report)

    def _plan(self, feed_id: int, feed: FeedConfig | None, report: FeedReport) -> datetime | None:
        """The next poll of a feed that is still configured (None: it is not)."""
        if feed is None:
            return None
        now = utcnow()
        when, waiting = self._poller.next_poll(feed_id, feed, report, now)
        self._backoff(feed.name, report.failed or waiting)
        self.metrics.in_backoff.set(len(self._in_backoff))
        return when

    def _backoff(self, name: str, waiting: bool) -> None:
        if waiting:
            self._in_backoff.add(name)
        else:
            self._in_backoff.discard(name)


def poll_fields(
    report: FeedReport, node: str | None, duration: float, lag: float, when: datetime | None
) -> dict[str, object]:
    """The fields of a ``poll`` event: the same for every daemon, one node or many."""
    return dict(
        feed=report.name, node=node, status=report.status, kind=report.kind.value if report.kind else None,
        new=len(report.new), updated=len(report.updated),
        unchanged=report.unchanged, skipped=report.skipped, kept_edits=report.kept, merged_edits=report.merged,
        filtered=report.filtered, removed=report.removed, pruned=report.pruned, held_edits=report.held,
        error=report.error, quiet=report.quiet,
        duration=round(duration, 3), lag=round(lag, 3), next_poll_at=when.isoformat() if when else None,
        next_in=round((when - utcnow()).total_seconds(), 3) if when else None,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none"
