"""Why polls start late: ``ingest daemon`` run with its lag taken apart (``bench/run --daemon-scale N --why-late``).

Runs ``ingest ARGS...`` in this process, with instruments attached from
outside (nothing of ingest changes), and writes one JSON line per poll and
one per long event-loop step to OUT when the daemon stops:

- ``poll``: when the feed was due, when the dispatcher handed it a slot
  (``taken``), when its poll began (``started``), and how much of the time
  between due and taken every slot was busy (``slots_full``);
- ``step``: an event-loop callback that ran longer than ``STEP_MS``, with
  what it was (the task's coroutine), how long it held the loop and how
  much of that it ran on a core (``cpu_ms``; the rest it waited for one); the
  store's statements and the inline parsing that ran inside it are timed
  apart (``store_ms``, ``parse_ms``).

``daemon_scale`` splits each poll's lag into: waiting for a free slot
(``concurrency`` polls already running), waiting for the dispatcher once a
slot was free (the loop busy elsewhere, or the process waiting for a core),
and waiting for its own task to be run. With the process's run-queue wait
(``/proc/PID/schedstat``: time it was ready to run but had no core) this
says how much of the lag is the machine and how much the daemon.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

STEP_MS = 5.0


def main(out: str, argv: list[str]) -> int:
    from ingest.faces import daemon as daemon_mod
    from ingest.faces.cli import main as ingest_main
    from ingest.shell import reader_pool

    records: list[dict[str, Any]] = []
    occupancy: list[tuple[float, int, int]] = []  # (time, polls in flight, slots)
    taken: dict[str, float] = {}
    inside = {"store": 0.0, "parse": 0.0, "write": 0.0}

    original_dispatch_take = daemon_mod.LocalDue.take

    def take(self: Any, now: Any, in_flight: int, config: Any) -> Any:
        got = original_dispatch_take(self, now, in_flight, config)
        moment = time.time()
        for due in got:
            taken[due.name] = moment
        occupancy.append((moment, in_flight + len(got), config.concurrency))
        return got

    daemon_mod.LocalDue.take = take  # type: ignore[method-assign]

    original_poll = daemon_mod.Daemon._poll

    async def poll(self: Any, due: Any, feed_id: int) -> None:
        try:
            await original_poll(self, due, feed_id)
        finally:
            occupancy.append((time.time(), len(self._in_flight), self.config.concurrency))

    daemon_mod.Daemon._poll = poll  # type: ignore[method-assign]

    from ingest.app import facade

    original_poller_poll = facade.Poller.poll

    async def poller_poll(self: Any, config: Any, feed: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        task = asyncio.current_task()
        due = getattr(task, "_lag_due", None)
        record = {"kind": "poll", "feed": feed.name, "due": due, "taken": taken.pop(feed.name, None),
                  "started": started}
        records.append(record)
        try:
            return await original_poller_poll(self, config, feed, *args, **kwargs)
        finally:
            record["ended"] = time.time()
            record["fetch"] = getattr(task, "_lag_fetch", None)

    facade.Poller.poll = poller_poll  # type: ignore[method-assign]

    original_poll_once = daemon_mod.Daemon._poll_once

    async def poll_once(self: Any, due: Any, feed_id: int) -> None:
        task = asyncio.current_task()
        if task is not None and due.due is not None:
            task._lag_due = due.due.timestamp()  # type: ignore[attr-defined]
        await original_poll_once(self, due, feed_id)

    daemon_mod.Daemon._poll_once = poll_once  # type: ignore[method-assign]

    def timed(cls: Any, name: str, key: str) -> None:
        original = getattr(cls, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                inside[key] += time.perf_counter() - begun

        setattr(cls, name, wrapper)

    for cls in _store_classes():
        timed(cls, "_q", "store")
        timed(cls, "_qmany", "store")
    timed(reader_pool, "read_feed", "parse")
    from ingest.shell import write

    timed(write, "write_atomic", "write")

    from ingest.app import run as run_mod

    original_fetch = run_mod.fetch

    async def fetch(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        begun = time.time()
        try:
            return await original_fetch(*args, **kwargs)
        finally:
            if task is not None:
                task._lag_fetch = (begun, time.time())  # type: ignore[attr-defined]

    run_mod.fetch = fetch

    original_run = asyncio.events.Handle._run

    def run(self: asyncio.events.Handle) -> None:
        before = dict(inside)
        begun, cpu = time.perf_counter(), time.thread_time()
        original_run(self)
        took = 1000 * (time.perf_counter() - begun)
        if took >= STEP_MS:
            records.append({
                "kind": "step", "at": time.time(), "ms": took, "what": _what(self),
                "cpu_ms": 1000 * (time.thread_time() - cpu),
                "store_ms": 1000 * (inside["store"] - before["store"]),
                "parse_ms": 1000 * (inside["parse"] - before["parse"]),
                "write_ms": 1000 * (inside["write"] - before["write"]),
            })

    asyncio.events.Handle._run = run  # type: ignore[method-assign]
    try:
        return ingest_main(argv)
    finally:
        with open(out, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
            for moment, busy, slots in occupancy:
                handle.write(json.dumps({"kind": "slots", "at": moment, "busy": busy, "slots": slots}) + "\n")


def _store_classes() -> list[Any]:
    from ingest.shell.store.sqlite import Store

    classes = [Store]
    try:
        from ingest.shell.store.postgres import PostgresStore
    except ImportError:
        return classes
    return [*classes, PostgresStore]


def _what(handle: asyncio.events.Handle) -> str:
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return owner.get_coro().__qualname__  # type: ignore[union-attr]
    return getattr(callback, "__qualname__", repr(callback))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
