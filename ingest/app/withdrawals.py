"""Apply the feed's filter rules and ``keep:`` to the store and the output directory.

The rules themselves are pure (``filters``, ``retention``); this is the
shell that reads entries, removes or writes files and records why. Three
promises hold throughout:

- A file the owner edited is never removed by a rule or by retention: it is
  left where it is and reported (``held``), and its entry stays written.
- An entry whose file the owner deleted, or that retention pruned, is never
  written again, whatever the rules say.
- An entry is marked in the store before its file is removed, in a
  transaction that only touches written entries, so a run or daemon working
  beside ``ingest prune`` never writes the file back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..core.config.model import Config, FeedConfig
from ..core.deciding.entries import FILTERED, PRUNED, admits, judged
from ..core.deciding.edits import content_hash, is_edited
from ..core.deciding.filters import RuleTimeout, filter_key
from ..core.content.article import Article, article_from_json
from ..core.rendering.profiles import PROFILES, Profile
from ..core.records import StoredEntry
from ..core.rendering.page import render
from ..core.deciding.retention import Keep, expired
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import read_text, write_atomic
from .place_images import forget_images, queue_images

log = logging.getLogger("ingest.selection")

__all__ = ["apply_keep", "Changes", "keep_feed", "refilter", "refilter_all", "withdraw"]


@dataclass
class Changes:
    """Files a rule change or retention wrote, removed, or left because the owner edited them (names in the output)."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.written or self.removed or self.held)


def withdraw(
    store: Store, output: str, entries: Sequence[StoredEntry], reason: str, now: datetime, *,
    dry_run: bool = False, states: tuple[str, ...] = ("written",),
) -> Changes:
    """Remove the files of ``entries`` and mark them ``deleted`` for ``reason``.

    An edited file stays (``held``) and its entry stays written. A file
    already gone was deleted by its owner: the entry is recorded as such,
    so it stays deleted even if the rules admit it again later.
    """
    changes = Changes()
    removable: list[StoredEntry] = []
    gone: list[StoredEntry] = []
    for entry in entries:
        current = read_text(os.path.join(output, entry.path))
        if current is None:
            gone.append(entry)
        elif is_edited(current, entry.ours):
            changes.held.append(entry.path)
        else:
            removable.append(entry)
    if dry_run:
        changes.removed = [entry.path for entry in removable]
        return changes
    store.hide([entry.identity for entry in gone], None, now, states=states)
    marked = set(store.hide([entry.identity for entry in removable], reason, now, states=states))
    for entry in removable:
        if entry.identity not in marked:
            continue  # a run beside us claimed it meanwhile: its file is the run's business
        path = os.path.join(output, entry.path)
        current = read_text(path)
        if current is not None and is_edited(current, entry.ours):  # edited in the meantime: it stays
            store.unhide(entry.identity, reason)
            changes.held.append(entry.path)
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue
        changes.removed.append(entry.path)
    # A removed post takes its stored images (``images: download``) along, and so does one its owner deleted.
    forget_images(store, output, [e.identity for e in gone] + [e.identity for e in removable if e.identity in marked])
    return changes


def refilter(
    store: Store, output: str, profile: Profile, body: str, feed: FeedConfig, feed_id: int, now: datetime,
    *, dry_run: bool = False,
) -> Changes:
    """Judge the feed's stored entries again when its rules changed since they were last applied.

    Newly excluded files are removed (edited ones stay), newly admitted
    entries are written from their stored data, under the name they were
    given when first seen. Pruned entries and files the owner deleted stay
    away. Nothing happens while the rules stay the same.
    """
    key = filter_key(feed.include, feed.exclude)
    if store.filter_key(feed_id) == key:
        return Changes()
    excluded: list[StoredEntry] = []
    changes = Changes()
    timed_out = False
    for entry in store.feed_entries(feed_id):
        if entry.article is None or entry.state == "pending" or not judged(entry, feed_id):
            continue
        article = article_from_json(entry.article)
        try:
            admitted = admits(feed, article)
        except RuleTimeout as exc:  # left as it is; judged again next time (the key is not saved)
            log.warning("%s: entry %s not judged again: %s", feed.name, entry.identity, exc)
            timed_out = True
            continue
        if admitted:
            if entry.state == "deleted":
                _admit(store, output, profile, body, feed_id, entry, article, now, changes, dry_run, feed.images)
        elif entry.state == "written":
            excluded.append(entry)
    withdrawn = withdraw(store, output, excluded, FILTERED, now, dry_run=dry_run)
    changes.removed, changes.held = withdrawn.removed, changes.held + withdrawn.held
    if not dry_run and not timed_out:
        store.save_filter_key(feed_id, key)
    return changes


def _admit(
    store: Store, output: str, profile: Profile, body: str, feed_id: int, entry: StoredEntry, article: Article,
    now: datetime, changes: Changes, dry_run: bool, images: str = "keep",
) -> None:
    """Write a filtered entry the rules now admit; a file of someone else's at its name is left alone.

    Its name follows the current profile: the entry may have been filtered
    out before a rebuild moved the other files to another naming scheme.
    """
    article = replace(article, slug=entry.given_slug)
    text = render(article, profile, body)
    name = entry.path
    if article.date is not None:
        wanted = profile.path_for(article.slug, article.date, images)
        if wanted != name and not store.path_taken(wanted, entry.identity):
            name = wanted
    path = os.path.join(output, name)
    current = read_text(path)
    if current is not None and current != text and (not entry.ours or is_edited(current, entry.ours)):
        changes.held.append(name)
        return
    changes.written.append(name)
    if dry_run:
        return
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    write_atomic(path, text)
    store.save_entry(entry.identity, feed_id, name, content_hash(text), "written", now)
    if images == "download":  # written with the remote URLs; the poll's images step fetches and rewrites
        queue_images(store, article)


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
        result[owner] = withdraw(store, output, ordered, PRUNED, now, dry_run=dry_run)
    return result


def keep_feed(store: Store, output: str, feed_id: int, keep: Keep | None, now: datetime) -> Changes:
    """A feed's ``keep:``, applied after its poll."""
    if keep is None:
        return Changes()
    max_age = timedelta(days=keep.days) if keep.days is not None else None
    return apply_keep(store, output, feed_id, now, max_age=max_age, max_files=keep.max_files).get(feed_id, Changes())


def refilter_all(cfg: Config, store: Store, *, dry_run: bool) -> list[tuple[str, Changes]]:
    """Apply every configured feed's filter rules to its stored entries, for ``ingest rebuild``."""
    found = []
    now = utcnow()
    for feed in cfg.feeds:
        state = store.find_feed(feed.url)
        if state is not None:
            change = refilter(store, str(cfg.output), PROFILES[cfg.profile], cfg.body, feed, state.id, now, dry_run=dry_run)
            if change:
                found.append((feed.name, change))
    return found
