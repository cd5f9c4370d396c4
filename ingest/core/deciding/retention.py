"""Which written entries lose their files to retention: an age limit, a number of files.

Pure: the caller passes each entry's publication time, so the rule is a
table test. Removing the files and keeping the tombstones is ``prune``'s
work; ``keep:`` in the config and ``ingest prune`` both decide here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

__all__ = ["Keep", "expired", "parse_keep", "prune_plan"]


@dataclass(frozen=True)
class Keep:
    """A feed's ``keep:``: files of entries older than ``days``, and beyond the newest ``max_files``, go."""

    days: float | None = field(default=None, metadata={
        "type": "number", "example": "90", "doc": "remove the files of entries published more than this many days ago"})
    max_files: int | None = field(default=None, metadata={
        "type": "integer", "example": "500", "doc": "keep the files of only this many of the newest entries"})


def parse_keep(value: Any) -> Keep | None:
    """``{days: N, max_files: N}`` (either or both); ValueError says what is wrong."""
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise ValueError("must be {days: N, max_files: N} (either or both)")
    unknown = set(value) - {"days", "max_files"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} (known keys: days, max_files)")
    if not value:
        raise ValueError("give days, max_files or both")
    days = value.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0):
        raise ValueError("days must be a number greater than zero")
    count = value.get("max_files")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ValueError("max_files must be a whole number of at least 0")
    return Keep(float(days) if days is not None else None, count)


def expired(
    entries: Iterable[tuple[str, datetime]], now: datetime, *, max_age: timedelta | None, max_files: int | None
) -> list[str]:
    """The identities whose files go, oldest first.

    ``entries`` are (identity, published) for one feed's written files. An
    entry published before ``now - max_age`` goes; of the rest, all but the
    newest ``max_files`` go. Ties in time keep the identity order, so the
    choice is the same on every run.
    """
    ordered = sorted(entries, key=lambda pair: (pair[1], pair[0]))
    gone: list[str] = []
    kept: list[str] = []
    cutoff = now - max_age if max_age is not None else None
    for identity, published in ordered:
        (gone if cutoff is not None and published < cutoff else kept).append(identity)
    if max_files is not None and len(kept) > max_files:
        excess = len(kept) - max_files
        gone.extend(kept[:excess])
    return gone


class _Feed(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def keep(self) -> Keep | None: ...


def prune_plan(
    feeds: Sequence[_Feed], older_than: float | None, *, chosen: bool,
) -> list[tuple[str | None, timedelta | None, int | None]]:
    """What ``ingest prune`` removes by: (feed URL, or None for every feed; age limit; file limit) per rule.

    ``--older-than`` (seconds) applies to the ``chosen`` feeds, or to every
    feed in the store at once when none was named; without it, each feed's
    own ``keep:`` applies, and a feed without one is left alone.
    """
    if older_than is not None:
        age = timedelta(seconds=older_than)
        if not chosen:
            return [(None, age, None)]
        return [(feed.url, age, None) for feed in feeds]
    plan: list[tuple[str | None, timedelta | None, int | None]] = []
    for feed in feeds:
        keep = feed.keep
        if keep is not None:
            plan.append((feed.url, timedelta(days=keep.days) if keep.days is not None else None, keep.max_files))
    return plan
