"""``ingest daemon`` on a PostgreSQL store: one node of a cluster sharing the feeds.

Any number of nodes run with the same config, store and output directory.
Instead of one timer per feed, a node repeatedly claims the feeds that are
due and that no other node holds (``store.claim_due``: ``SELECT ... FOR
UPDATE SKIP LOCKED`` with a lease end), polls them with the same pipeline as
``ingest run``, and releases each with its next due time. So each due feed
is polled by exactly one node, and never twice in one interval: the next
due time is written in the same statement that gives the lease back.

A node renews its leases while its polls run. A node that dies (kill -9)
stops renewing; its leases expire after ``--lease`` seconds and the others
claim those feeds as due (counted as takeovers), so a dead node's feeds are
polled again within one lease period.

Files: every node writes into the one output directory (shared storage for
nodes on several machines), each file atomically, under a name the store
gives out once; the ``after_run`` hook runs on the node that wrote a batch
of files, once per batch, never once per node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
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
from ..core.records import FeedReport
from .common import utcnow
from .hookbatch import HookBatches
from .observe import Metrics, NodeMetrics, event, serve_status, status_server
from .report import describe
from .scrub import add_secrets

if TYPE_CHECKING:  # the store comes from the use cases (app.session.open_store); only its type is named here
    from ..shell.store import StoreAPI

__all__ = ["claim_size", "ClusterNode", "default_node", "EXIT_FAILED", "EXIT_OK", "NodeOptions", "utcnow"]


log = logging.getLogger("ingest.daemon")

EXIT_OK = 0
EXIT_FAILED = 1


def claim_size(concurrency: int, in_flight: int, *, tick_passed: bool, caught_up: bool) -> int:
    """How many due feeds a node claims now (0: not yet).

    A node runs ``concurrency`` polls at once and holds as many more
    claimed, so a slot that frees up starts the next poll at once while the
    claim that refills the queue is made. While there is a backlog it
    claims again as soon as half of that queue has drained, so it polls as
    many feeds as its polls' speed allows, not a fixed number per tick;
    once a claim found nothing it could take (``caught_up``), it looks
    again on the next tick only, not after every finished poll.
    """
    room = 2 * concurrency - in_flight
    if room <= 0:
        return 0
    if tick_passed:
        return room
    return room if not caught_up and room >= max(1, concurrency) else 0


def default_node() -> str:
    """A node id unique across machines and restarts: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class NodeOptions:
    config_path: Path
    node: str
    lease: float = 60.0  # seconds a claim lasts unless renewed
    grace: float = 30.0
    listen: tuple[str, int] | None = None


class ClusterNode:
    def __init__(
        self, config: Config, store: StoreAPI, options: NodeOptions, *, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.config = config
        self.store = store
        self.options = options
        self.node = options.node
        self.metrics = Metrics()
        self.node_metrics = NodeMetrics(self.metrics, self.node)
        self._transport = transport
        self._feeds: dict[int, FeedConfig] = {}
        self._in_flight: dict[int, asyncio.Task] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # a poll finished: its slot may be claimed for at once
        self._stopping = False
        self._reload_wanted = False
        self._hooks = HookBatches(lambda: self.config, node=self.node)
        # claims come at most this often; a due feed waits one tick at most
        self._tick = min(1.0, options.lease / 5)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_reload)
        status = status_server(self.metrics, lambda: not self._stopping, lambda: self.config)
        if not await serve_status(status, self.options.listen):
            return EXIT_FAILED
        self._poller = Poller(self.config, self.store, self._transport)
        self._apply(self.config)
        hooks = asyncio.create_task(self._hooks.run())
        event(
            "started", f"node {self.node} started with {len(self._feeds)} feeds from {self.config.path}",
            node=self.node, feeds=len(self._feeds), config=str(self.config.path), store=self.config.store_location,
            lease=self.options.lease,
        )
        try:
            await self._loop()
            await self._drain(hooks)
        finally:
            await self._poller.aclose()
            await status.close()
        event("stopped", f"node {self.node} stopped", node=self.node)
        return EXIT_OK

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if not self._stopping:
            event("stopping", f"{sig.name}: stopping node {self.node}", signal=sig.name, in_flight=len(self._in_flight))
        self._stopping = True
        self._stop.set()
        self._wake.set()

    def _on_reload(self) -> None:
        self._reload_wanted = True

    def _apply(self, new: Config) -> None:
        """The feeds this node may claim: the config's enabled ones (every node has the same config)."""
        feeds = {}
        for feed in new.select(None):
            feeds[self.store.feed_id(feed.url, feed.name)] = feed
            self.metrics.add_feed(feed.name)
        self.config, self._feeds = new, feeds
        self.metrics.scheduled.set(len(feeds))

    def _reload(self) -> None:
        self._reload_wanted = False
        try:
            new = config_file.load(self.options.config_path)
        except config_mod.ConfigError as exc:
            event("reload_failed", f"config error: {exc}; keeping the previous config", logging.ERROR, error=str(exc))
            return
        add_secrets(new.secrets)
        self._apply(replace(new, store=self.config.store, store_url=self.config.store_url, concurrency=self.config.concurrency))
        event("reloaded", f"config reloaded: {len(self._feeds)} feeds", feeds=len(self._feeds))

    async def _loop(self) -> None:
        renew_every = self.options.lease / 3
        last_renew = last_tick = time.monotonic()
        caught_up = False
        while not self._stopping:
            if self._reload_wanted:
                self._reload()
            ticked = time.monotonic() - last_tick >= self._tick
            if ticked:
                last_tick = time.monotonic()
            room = claim_size(self.config.concurrency, len(self._in_flight), tick_passed=ticked, caught_up=caught_up)
            if room > 0 and self._feeds:
                claims = self.store.claim_due(
                    self.node, utcnow(), self.options.lease, room, among=list(self._feeds),
                    host_cap=self.config.host_concurrency,  # the per-host limit, across every node
                )
                caught_up = not claims  # nothing claimable now (none due, or their hosts at their limit)
                for claim in claims:
                    feed = self._feeds[claim.feed_id]
                    if claim.taken_from is not None:
                        self.node_metrics.takeovers.inc()
                        event(
                            "takeover", f"{feed.name}: taken over from {claim.taken_from}, whose lease expired",
                            logging.WARNING, feed=feed.name, node=self.node, previous=claim.taken_from,
                        )
                    self._in_flight[claim.feed_id] = asyncio.create_task(self._poll(claim.feed_id, feed, claim.due))
                self.node_metrics.held.set(len(self._in_flight))
            if time.monotonic() - last_renew >= renew_every and self._in_flight:
                self.store.renew(self.node, list(self._in_flight), utcnow(), self.options.lease)
                last_renew = time.monotonic()
            self._wake.clear()
            try:  # until a poll ends (its slot may be claimed for) or the next tick
                await asyncio.wait_for(self._wake.wait(), max(0.0, self._tick - (time.monotonic() - last_tick)))
            except asyncio.TimeoutError:
                pass

    async def _poll(self, feed_id: int, feed: FeedConfig, due: datetime | None = None) -> None:
        """Poll a claimed feed (at its due time if the claim looked ahead), then release it with its next one."""
        started, lag = time.monotonic(), 0.0
        try:
            if due is not None and due > utcnow():
                await asyncio.sleep((due - utcnow()).total_seconds())
            started = time.monotonic()
            lag = max(0.0, (utcnow() - due).total_seconds()) if due is not None else 0.0  # how late it starts
            report = await self._poller.poll(self.config, feed)
        except asyncio.CancelledError:  # due again at once (or at its time), for another node
            self.store.release(self.node, feed_id, max(due, utcnow()) if due is not None else utcnow())
            self._in_flight.pop(feed_id, None)
            raise
        except Exception as exc:  # a bug must not stop the node
            log.exception("unexpected error polling %s", feed.name)
            report = FeedReport(feed.name, feed.url, status="failed", error=f"internal error: {exc}")
        duration = time.monotonic() - started
        when = self._next(feed_id, feed, report)
        self.store.release(self.node, feed_id, when)
        self._in_flight.pop(feed_id, None)
        self._wake.set()
        self.node_metrics.held.set(len(self._in_flight))
        self.node_metrics.polls.inc()
        self.metrics.observe(report, duration, lag)
        event(
            "poll", f"{feed.name}: {describe(report)} in {duration:.2f}s on {self.node}",
            logging.WARNING if report.failed else logging.INFO,
            feed=feed.name, node=self.node, status=report.status, new=len(report.new), updated=len(report.updated),
            unchanged=report.unchanged, error=report.error, duration=round(duration, 3), lag=round(lag, 3),
            next_poll_at=when.isoformat(),
        )
        self._hooks.add(report)

    def _next(self, feed_id: int, feed: FeedConfig, report: FeedReport) -> datetime:
        """The feed's next due time, by the same rules as the single daemon's."""
        return self._poller.next_poll(feed_id, feed, report.failed, utcnow())[0]

    async def _drain(self, hooks: asyncio.Task) -> None:
        """Let polls in flight finish within the grace period, then give back what is left, then the hook."""
        deadline = time.monotonic() + self.options.grace
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.wait(list(self._in_flight.values()), timeout=0.05)
        for task in list(self._in_flight.values()):
            task.cancel()
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=5)
        while not self._hooks.idle and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        hooks.cancel()
        await asyncio.wait([hooks], timeout=10)


