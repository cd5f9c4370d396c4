"""Carry out the dedupe decision for a feed's entries, in the order that survives a crash.

The shell looks up what the decision needs (``Facts``: the stored entries,
the names already taken, the files in the output), ``deciding.entries.decide_entries``
decides without touching anything, and the intents are applied here:

1. every entry to write is claimed in the store (state ``pending``, with
   its file name), all in one transaction, with the other intents' records;
2. the files are written, then flushed to disk together;
3. the claims are confirmed in a second transaction.

After a crash anywhere in between, the next run finds the claims and writes
those same files again: never a second file, never a lost entry.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..core.config.model import FeedConfig
from ..core.deciding.entries import (
    OCCUPIED,
    Facts,
    Settings,
    admits,
    as_stored,
    candidates,
    dated,
    decide_entries,
    prejudge,
    judged,
    rendered,
)
from ..core.deciding.edits import content_hash
from ..core.deciding.filters import compile_filter
from ..core.content.article import article_from_json
from ..core.rendering.profiles import Profile
from ..core.records import (
    Broken,
    EntryFailure,
    FeedReport,
    Forget,
    HoldBack,
    KeepEdit,
    Prepared,
    Same,
    Skip,
    StoredEntry,
    Unchanged,
    Withdraw,
    Write,
)
from ..core.content.reuse import adopt_earlier_files
from ..core.content.sameness import judge_same
from ..errors import StoreFailed
from ..shell.store import StoreAPI as Store
from ..shell.write import Flusher, read_text, same_bytes, write_atomic
from .place_images import Images
from .withdrawals import withdraw

__all__ = ["Applier"]

log = logging.getLogger("ingest.run")  # the name people see in log lines, whatever the module's place

_FREE_NAMES = 2  # free candidate names looked up per new entry: its plain slug's and its own suffixed one


@dataclass
class Applier:
    """Applies feeds' entries for one run (or one daemon poll): the names and identities it gave out."""

    store: Store
    output: str
    profile: Profile
    body: str
    flusher: Flusher
    dry_run: bool = False
    seen: set[str] = field(default_factory=set)  # identities decided in this run: a second feed's copy is skipped
    # Slugs and names given out by a dry run, which claims nothing in the store
    # (a real run's claims are in the store, where the next feed looks them up).
    claimed: set[str] = field(default_factory=set)
    made_dirs: set[str] = field(default_factory=set)
    images: Images | None = None  # entry images stored with the posts (``images: download``)

    async def apply(
        self, feed: FeedConfig, feed_id: int, entries: list[Prepared | Unchanged | EntryFailure], now: datetime,
        report: FeedReport, sources: list[str],
    ) -> list[str]:
        """Apply every entry of one feed; return what could not be written.

        An entry that cannot be read or written is reported; the others go
        on. ``sources`` gets the source hash of every entry decided, for the
        next poll to skip the ones that stay the same.
        """
        errors: list[str] = []
        if not compile_filter(feed.include, feed.exclude).bounded:
            # a rule that may backtrack is judged in a thread first (``regex`` lets go of the GIL), so the
            # event loop goes on; the decision below then finds each verdict ready
            articles = [item.article for item in entries if isinstance(item, Prepared)]
            await asyncio.to_thread(prejudge, feed, articles)
        try:
            with self.store.batch():
                planned = self._decide_and_claim(feed, feed_id, entries, now, report, sources, errors)
        except StoreFailed as exc:  # nothing was claimed, so nothing is written; the next run tries again
            return [f"cannot record the feed's entries in the store: {exc}"]
        written: list[tuple[Write, str, list[str]]] = []
        for intent, path, done in planned:
            try:
                if not same_bytes(path, intent.text):
                    directory = os.path.dirname(path)
                    if directory not in self.made_dirs:
                        os.makedirs(directory, exist_ok=True)
                        self.made_dirs.add(directory)
                    write_atomic(path, intent.text, sync=False)
            except OSError as exc:
                errors.append(cannot_write(exc))
            else:
                done.append(path)
                written.append((intent, path, done))
        if written:
            try:
                images = self.images.take_written() if self.images is not None else []
                await self.flusher.flush([path for _intent, path, _done in written] + images)
            except OSError as exc:  # the claims stay pending: the next run writes these files again
                errors.append(cannot_write(exc))
                return errors
            try:
                self.store.confirm((intent.identity for intent, _path, _done in written), now)
            except StoreFailed as exc:  # the files stand; the next run confirms them
                errors.append(f"cannot record the written files in the store: {exc}")
        return errors

    def _decide_and_claim(
        self, feed: FeedConfig, feed_id: int, entries: list[Prepared | Unchanged | EntryFailure], now: datetime,
        report: FeedReport, sources: list[str], errors: list[str],
    ) -> list[tuple[Write, str, list[str]]]:
        # complexity: gathers every fact and records each kind of intent; shrinks as the writers become intents
        """Look up the facts, decide, and record every intent; the writes still to do."""
        entries = adopt_earlier_files(entries, feed_id, self.store.stored_entries)
        entries, judged = judge_same(entries, feed, feed_id, self.store.stored_entries, self.store.entry_keys)  # type: ignore[assignment, arg-type]  # Held only comes back for what it was given
        report.same_as += [os.path.join(self.output, same.path) for same in judged]
        stored = self.store.stored_entries(item.article.identity for item in entries if isinstance(item, Prepared))
        prepared: list[Prepared] = []
        for item in entries:
            if isinstance(item, Unchanged):
                report.unchanged += 1
                sources.append(item.source)
            elif isinstance(item, EntryFailure):
                log.error("entry %d of %s skipped:\n%s", item.index, feed.name, item.details or item.error)
                report.notes.append(f"entry {item.index} skipped: {item.error}")
            else:
                prepared.append(item)
        facts, unreadable = self._facts(prepared, stored, now, feed.images)
        if unreadable:  # an entry whose file cannot be read is not decided; the others go on
            errors += unreadable.values()
            prepared = [item for item in prepared if item.article.identity not in unreadable]
        if feed.images == "download" and self.images is not None:
            facts = replace(facts, placed=self._place_stored(feed, feed_id, prepared, stored, now, report))
        settings = Settings(feed, feed_id, self.profile, self.body, now)
        decision = decide_entries(prepared, facts, settings, self.seen, self.claimed)
        self.seen |= decision.seen
        if self.dry_run:
            self.claimed |= decision.claimed
        planned: list[tuple[Write, str, list[str]]] = []
        for item, intent in zip(prepared, decision.intents):
            if isinstance(intent, Broken):
                log.error("entry %s of %s", item.article.identity, feed.name, exc_info=intent.error)
                error = intent.error
                report.notes.append(f"entry {intent.label} skipped: {type(error).__name__}: {error}")
                continue
            sources.append(item.source)
            if isinstance(intent, Write) and intent.first and item.article.identity not in stored:
                intent = self._place_new(intent, feed, feed_id, now, report)
            write = self._record(intent, feed, feed_id, now, report)
            if write is not None:
                path = os.path.join(self.output, write.name)
                planned.append((write, path, report.new if write.first else report.updated))
        return planned

    def _place_stored(
        self, feed: FeedConfig, feed_id: int, entries: Iterable[Prepared], stored: dict[str, StoredEntry],
        now: datetime, report: FeedReport,
    ) -> dict[str, str]:
        """Stored entries' texts with their images made local, for the decision to compare and write."""
        assert self.images is not None
        placed: dict[str, str] = {}
        for item in entries:
            entry = stored.get(item.article.identity)
            if entry is None or (judged(entry, feed_id) and not admits(feed, dated(item.article, entry, now))):
                continue
            article = as_stored(item, entry, now)
            outcome = self.images.place(feed.images, feed_id, article, rendered(article, item, self.profile, self.body),
                                        now, entry)
            report.images_failed += outcome.failures
            placed[article.identity] = outcome.text
        return placed

    def _place_new(self, intent: Write, feed: FeedConfig, feed_id: int, now: datetime, report: FeedReport) -> Write:
        """A new entry's text with its images made local, now that it has its name."""
        if feed.images != "download" or self.images is None:
            return intent
        article = replace(article_from_json(intent.data), slug=intent.slug)
        outcome = self.images.place(feed.images, feed_id, article, intent.text, now, None)
        report.images_failed += outcome.failures
        if outcome.text == intent.text:
            return intent
        return replace(intent, text=outcome.text, digest=content_hash(outcome.text))

    def _facts(
        self, entries: Iterable[Prepared], stored: dict[str, StoredEntry], now: datetime, images: str = "keep",
    ) -> tuple[Facts, dict[str, str]]:
        """What the decision needs from the store and the output directory, and the entries whose file cannot be read."""
        files: dict[str, str | None] = {}
        taken: set[str] = set()
        unreadable: dict[str, str] = {}
        for item in entries:
            entry = stored.get(item.article.identity)
            if entry is not None:
                try:
                    files[entry.path] = read_text(os.path.join(self.output, entry.path))
                except OSError as exc:
                    unreadable[entry.identity] = cannot_write(exc)
                continue
            free = 0
            for slug, name in candidates(dated(item.article, None, now), self.profile, images):
                if slug in self.claimed or name in self.claimed or self.store.name_taken(slug, name):
                    taken.update((slug, name))
                    continue
                if name not in files:
                    files[name] = self._occupant(os.path.join(self.output, name))
                if files[name] is None:
                    free += 1
                    if free == _FREE_NAMES:
                        break
        return Facts(stored, frozenset(taken), files), unreadable

    @staticmethod
    def _occupant(path: str) -> str | None:
        """A candidate name's file: its text, None if there is none, ``OCCUPIED`` if it is not a regular file."""
        if not os.path.exists(path):
            return None
        if not os.path.isfile(path):
            return OCCUPIED
        try:
            return read_text(path)
        except OSError:
            return OCCUPIED

    def _record(self, intent: object, feed: FeedConfig, feed_id: int, now: datetime, report: FeedReport) -> Write | None:
        """Record one intent in the store and the report; a Write comes back to be written."""
        if isinstance(intent, Same):
            report.unchanged += 1
            if intent.data is not None and not self.dry_run:
                self.store.save_article(intent.identity, intent.data)
        elif isinstance(intent, Skip):
            report.skipped += 1
        elif isinstance(intent, Forget):  # the owner deleted the file: never bring it back, nor its images
            report.skipped += 1
            if self.images is not None:
                self.images.forget(intent.identity)
            if not self.dry_run:
                self.store.save_entry(
                    intent.identity, feed_id, intent.name, intent.digest, "deleted", now, slug=intent.slug,
                    article=intent.data,
                )
        elif isinstance(intent, KeepEdit):
            report.kept.append(intent.name)
            if not self.dry_run:
                self.store.keep_edit(intent.identity, intent.digest, intent.data, intent.base, now)
        elif isinstance(intent, HoldBack):
            report.filtered += 1
            if not self.dry_run:
                self.store.save_filtered(
                    intent.identity, feed_id, intent.name, intent.digest, now, slug=intent.slug, article=intent.data
                )
        elif isinstance(intent, Withdraw):
            report.filtered += 1
            if not self.dry_run:  # written before: its file goes, unless the owner edited it
                done = withdraw(self.store, self.output, [intent.entry], "filtered", now, states=("written", "pending"))
                report.removed += done.removed
                report.held += done.held
        elif isinstance(intent, Write):
            if intent.merged:
                report.merged.append(intent.name)
            if intent.kept_body:
                report.kept_bodies.append(intent.name)
            if self.dry_run:
                (report.new if intent.first else report.updated).append(os.path.join(self.output, intent.name))
                return None
            self.store.save_entry(
                intent.identity, feed_id, intent.name, intent.digest, "pending", now, slug=intent.slug,
                article=intent.data, base=intent.base,
            )
            return intent
        return None


def cannot_write(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"
