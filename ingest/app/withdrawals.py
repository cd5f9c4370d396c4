"""Apply the feed's filter rules, ``keep:`` and ``ingest prune`` to the store and the output directory.

The rules are decided in the core (``deciding.entries.rejudge`` and ``withdrawal``,
``retention.expired`` and ``prune_plan``) from facts looked up here, and
carried out by the one applier (``apply``). Three promises hold throughout:

- A file the owner edited is never removed by a rule or by retention: it is
  left where it is and reported (``held``), and its entry stays written.
- An entry whose file the owner deleted, or that retention pruned, is never
  written again, whatever the rules say.
- An entry is marked in the store before its file is removed, in a
  transaction that only touches written entries, so a run or daemon working
  beside ``ingest prune`` never writes the file back. The mark is
  confirmed once the file is gone; a withdrawal a crash cut short between
  the two is finished by the next run, or the daemon's next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..core.config.model import Config, FeedConfig
from ..core.deciding.entries import FILTERED, PRUNED, rejudge, withdrawals
from ..core.deciding.filters import filter_key
from ..core.deciding.retention import Keep, expired, prune_plan
from ..core.records import StoredEntry
from ..core.rendering.profiles import PROFILES, Profile
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import Flusher, read_text
from .apply import Applier, Changes, remove_marked, withdraw

log = logging.getLogger("ingest.selection")

__all__ = ["apply_keep", "Changes", "finish_withdrawals", "keep_feed", "prune", "refilter", "refilter_all", "take_out"]


def finish_withdrawals(store: Store, output: str) -> Changes:
    """Remove the files of entries a withdrawal marked but a crash kept it from removing (edited ones stay)."""
    changes = Changes()
    pending = store.removals_pending()  # an index of the marks still set: nearly always none
    if pending:
        remove_marked(store, output, [(entry, entry.hidden or "") for entry in pending], changes)
        log.warning(
            "finished %d removal(s) a stopped run had begun: %d file(s) removed, %d edited file(s) kept",
            len(pending), len(changes.removed), len(changes.held),
        )
    return changes


def take_out(
    store: Store, output: str, entries: Sequence[StoredEntry], reason: str, now: datetime, *,
    dry_run: bool = False,
) -> Changes:
    """Withdraw ``entries`` for ``reason``: their files, looked up now, decided about in the core, then applied."""
    files = {entry.path: read_text(os.path.join(output, entry.path)) for entry in entries}
    return withdraw(store, output, withdrawals(entries, files, reason), now, dry_run=dry_run)


async def refilter(
    store: Store, output: str, profile: Profile, body: str, feed: FeedConfig, feed_id: int, now: datetime,
    *, dry_run: bool = False, applier: Applier | None = None, stored_key: str | None = None,
) -> Changes:
    """Judge the feed's stored entries again when its rules changed since they were last applied.

    Newly excluded files are removed (edited ones stay), newly admitted
    entries are written from their stored data by the applier, under the
    name they were given when first seen. Pruned entries and files the
    owner deleted stay away. Nothing happens while the rules stay the same.
    ``stored_key``: the feed's stored key when the caller has read it already.
    """
    key = filter_key(feed.include, feed.exclude)
    if (store.filter_key(feed_id) if stored_key is None else stored_key) == key:
        return Changes()
    excluded, admitted, timed_out = rejudge(feed, feed_id, store.feed_entries(feed_id))
    for identity, why in timed_out:  # left as it is; judged again next time (the key is not saved)
        log.warning("%s: entry %s not judged again: %s", feed.name, identity, why)
    changes = Changes()
    if admitted:
        applier = applier or Applier(store, output, profile, body, Flusher(), dry_run)
        changes = await applier.revive(feed, feed_id, admitted, now)
    withdrawn = take_out(store, output, excluded, FILTERED, now, dry_run=dry_run)
    changes.removed, changes.held = withdrawn.removed, changes.held + withdrawn.held
    if not dry_run and not timed_out:
        store.save_filter_key(feed_id, key)
    return changes


def apply_keep(
    store: Store, output: str, feed_id: int | None, now: datetime, *,
    max_age: timedelta | None, max_files: int | None, dry_run: bool = False,
) -> dict[int, Changes]:
    """Remove the files retention no longer keeps (one feed, or all: None); by feed id.

    The entries stay in the store as ``pruned`` tombstones, so no later run
    writes them again.
    """
    by_feed: dict[int, list[tuple[str, datetime]]] = {}
    for identity, owner, published in store.written_times(feed_id):
        by_feed.setdefault(owner, []).append((identity, published))
    result: dict[int, Changes] = {}
    for owner, times in by_feed.items():
        gone = expired(times, now, max_age=max_age, max_files=max_files)
        if not gone:
            continue
        entries = store.stored_entries(gone)
        ordered = [entries[identity] for identity in gone if identity in entries]
        result[owner] = take_out(store, output, ordered, PRUNED, now, dry_run=dry_run)
    return result


def keep_feed(store: Store, output: str, feed_id: int, keep: Keep | None, now: datetime) -> Changes:
    """A feed's ``keep:``, applied after its poll."""
    if keep is None:
        return Changes()
    max_age = timedelta(days=keep.days) if keep.days is not None else None
    return apply_keep(store, output, feed_id, now, max_age=max_age, max_files=keep.max_files).get(feed_id, Changes())


def prune(
    store: Store, output: str, feeds: Sequence[FeedConfig], older_than: float | None, now: datetime, *,
    chosen: bool, dry_run: bool = False,
) -> dict[int, Changes]:
    """``ingest prune``: each rule ``retention.prune_plan`` gives, applied; by feed id."""
    results: dict[int, Changes] = {}
    ids = {}
    for feed in feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            ids[feed.url] = state.id
    for url, max_age, max_files in prune_plan(feeds, older_than, chosen=chosen):
        if url is not None and url not in ids:
            continue  # never polled: nothing written
        results.update(apply_keep(
            store, output, ids[url] if url is not None else None, now, max_age=max_age, max_files=max_files,
            dry_run=dry_run,
        ))
    return results


def refilter_all(cfg: Config, store: Store, *, dry_run: bool) -> list[tuple[str, Changes]]:
    """Apply every configured feed's filter rules to its stored entries, for ``ingest rebuild``."""
    found = []
    now = utcnow()
    profile = PROFILES[cfg.profile]
    for feed in cfg.feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            change = asyncio.run(
                refilter(store, str(cfg.output), profile, cfg.body, feed, state.id, now, dry_run=dry_run)
            )
            if change:
                found.append((feed.name, change))
    return found
