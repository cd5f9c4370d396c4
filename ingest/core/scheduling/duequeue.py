"""Which feed is due next: a queue of feed names ordered by their next poll time.

The daemon asks one question many times a second: which feeds are due now,
and when is the next one due? A binary heap answers both in O(log n) per
feed, so a daemon holding 50,000 feeds pays no more per poll than one
holding 50. Moving a feed (a poll planned its next time, a reload changed
its schedule) does not search the heap: the new time is pushed, and the old
entry is recognised as stale when it surfaces, by the sequence number the
feed's current plan carries. Stale entries are swept out once they
outnumber the live ones, so memory stays proportional to the feeds held.

``DueQueue`` is the one-process answer to which feed is due: the daemon's
``LocalDue`` (faces/due_sources.py) keeps its feeds in one. On a store several
daemons share, ``LeasedDue`` (faces/cluster.py) answers the same questions
from leases in the database instead, handing a feed to one node at a time;
both are the daemon's ``DueFeeds``.

Pure: no clock inside, ``now`` comes in.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterator
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["DueQueue", "K"]


K = TypeVar("K", bound=Hashable)


class DueQueue(Generic[K]):
    """Keys ordered by due time; ties keep the order in which they were planned."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, K]] = []
        self._planned: dict[K, tuple[datetime, int]] = {}  # key -> (due, sequence) of its live entry
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._planned)

    def __contains__(self, key: object) -> bool:
        return key in self._planned

    def __iter__(self) -> Iterator[K]:
        return iter(self._planned)

    @property
    def entries(self) -> int:
        """Heap entries kept, live and stale: at most about twice the keys held."""
        return len(self._heap)

    def when(self, key: K) -> datetime | None:
        """When ``key`` is due, or None if it is not planned."""
        planned = self._planned.get(key)
        return planned[0] if planned else None

    def plan(self, key: K, when: datetime) -> None:
        number = next(self._sequence)
        self._planned[key] = (when, number)
        heapq.heappush(self._heap, (when, number, key))
        self._sweep()

    def drop(self, key: K) -> None:
        if self._planned.pop(key, None) is not None:
            self._sweep()

    def next_time(self) -> datetime | None:
        self._discard_stale_top()
        return self._heap[0][0] if self._heap else None

    def take_due(self, now: datetime, limit: int) -> list[tuple[K, datetime]]:
        taken: list[tuple[K, datetime]] = []
        while len(taken) < limit:
            self._discard_stale_top()
            if not self._heap or self._heap[0][0] > now:
                break
            when, _number, key = heapq.heappop(self._heap)
            del self._planned[key]
            taken.append((key, when))
        return taken

    def _live(self, entry: tuple[datetime, int, K]) -> bool:
        planned = self._planned.get(entry[2])
        return planned is not None and planned[1] == entry[1]

    def _discard_stale_top(self) -> None:
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)

    def _sweep(self) -> None:
        """Rebuild the heap from the live plans once stale entries outnumber them (amortised O(1))."""
        if len(self._heap) > 2 * len(self._planned) + 64:
            self._heap = [(when, number, key) for key, (when, number) in self._planned.items()]
            heapq.heapify(self._heap)
