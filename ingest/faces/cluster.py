"""``ingest daemon`` on a PostgreSQL store: the daemon's due source when nodes share the feeds.

Any number of nodes run with the same config, store and output directory,
each the same daemon loop (``daemon.Daemon``). Instead of a due-queue of
its own, a node repeatedly claims the feeds that are
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

import logging
import os
import socket
import time
from datetime import datetime
from typing import TYPE_CHECKING

from ..core.config.model import Config, FeedConfig
from ..core.records import FeedState
from .common import utcnow
from .due_sources import Due
from .observe import Metrics, NodeMetrics, event

if TYPE_CHECKING:  # the store comes from the use cases (app.facade.open_store); only its type is named here
    from ..shell.store import StoreAPI

__all__ = ["claim_size", "default_node", "LeasedDue"]


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


class LeasedDue:
    """The due feeds of a store several nodes share: claimed under a lease, released with their next time.

    The daemon's due source on PostgreSQL (see ``due_sources.DueFeeds``): the
    daemon loop is the same as on one machine, only where due feeds come
    from and where their next times go differ.
    """

    def __init__(self, store: StoreAPI, metrics: Metrics, node: str, lease: float) -> None:
        self.store = store
        self.node: str | None = node
        self._node = node
        self.lease = lease
        self.node_metrics = NodeMetrics(metrics, node)
        self._ids: dict[int, str] = {}  # the feeds this node may claim: every node has the same config
        self._names: dict[str, int] = {}
        self._among: tuple[int, ...] | None = None  # their ids for the store, made again when they change
        # claims come at most this often; a due feed waits one tick at most
        self._tick = min(1.0, lease / 5)
        self._last_tick = 0.0
        self._caught_up = False  # the last claim found nothing: look again on the next tick only
        self._renew_every = lease / 3
        self._last_renew = time.monotonic()
        # polls that ended, given back with the next claim or on the next tick: one round trip for many
        self._releasing: list[tuple[int, datetime]] = []

    def plan(self, name: str, feed: FeedConfig, now: datetime) -> FeedState | None:
        self.drop(name)
        feed_id = self.store.feed_id(feed.url, feed.name)
        self._ids[feed_id], self._names[name] = name, feed_id
        self._among = None
        return None  # a feed's plan is the store's next_poll_at, written by whichever node polled it last

    def drop(self, name: str) -> None:
        feed_id = self._names.pop(name, None)
        if feed_id is not None:
            self._ids.pop(feed_id, None)
            self._among = None

    def take(self, now: datetime, in_flight: int, config: Config) -> list[Due]:
        ticked = time.monotonic() - self._last_tick >= self._tick
        if ticked:
            self._last_tick = time.monotonic()
        room = claim_size(config.concurrency, in_flight, tick_passed=ticked, caught_up=self._caught_up)
        if room <= 0 or not self._ids:
            if ticked:
                self.finish()
            return []
        releasing, self._releasing = self._releasing, []
        if self._among is None:
            self._among = tuple(self._ids)
        try:
            claims = self.store.claim_due(
                self._node, now, self.lease, room, among=self._among,
                host_cap=config.host_concurrency,  # the per-host limit, across every node
                releasing=releasing,
            )
        except Exception:
            self._releasing[:0] = releasing  # given back with the next claim that works
            raise
        self._caught_up = not claims  # nothing claimable now (none due, or their hosts at their limit)
        taken = []
        for claim in claims:
            name = self._ids[claim.feed_id]
            if claim.taken_from is not None:
                self.node_metrics.takeovers.inc()
                event(
                    "takeover", f"{name}: taken over from {claim.taken_from}, whose lease expired",
                    logging.WARNING, feed=name, node=self.node, previous=claim.taken_from,
                )
            taken.append(Due(name, claim.due, claim.feed_id, claim.state))
        self.node_metrics.held.set(in_flight + len(taken))
        return taken

    def wait(self, now: datetime, in_flight: int, config: Config) -> float | None:
        return max(0.0, self._tick - (time.monotonic() - self._last_tick)) or self._tick

    def keep(self, feed_ids: list[int], now: datetime) -> None:
        if feed_ids and time.monotonic() - self._last_renew >= self._renew_every:
            self.store.renew(self._node, feed_ids, now, self.lease)
            self._last_renew = time.monotonic()

    def done(self, due: Due, feed_id: int, when: datetime | None, in_flight: int) -> None:
        # Given back with the next claim, or on the next tick if none comes: the feed's next time is
        # ahead anyway, and until then the node still counts as polling it, so no one else claims it.
        self._releasing.append((feed_id, when or utcnow()))
        self.node_metrics.held.set(in_flight)
        self.node_metrics.polls.inc()

    def abandon(self, due: Due, feed_id: int) -> None:
        # due again at once (or at its time, if the claim looked ahead), for another node
        self._releasing.append((feed_id, max(due.due, utcnow()) if due.due is not None else utcnow()))
        self.finish()

    def finish(self) -> None:
        """Give back the leases of the polls that ended and are not released yet."""
        if self._releasing:
            releasing, self._releasing = self._releasing, []
            self.store.release_all(self._node, releasing)
