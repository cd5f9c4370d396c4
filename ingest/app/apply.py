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
import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never

from ..core.config.model import FeedConfig
from ..core.content.article import article_from_json
from ..core.content.reuse import adopt_earlier_files
from ..core.content.sameness import judge_same
from ..core.deciding.edits import is_edited
from ..core.deciding.entries import (
    LOOKUP_DEPTH,
    EntryDecision,
    Facts,
    Settings,
    dated,
    decide_entries,
    deeper,
    prejudge,
)
from ..core.deciding.filters import compile_filter
from ..core.records import (
    Blocked,
    Broken,
    EntryFailure,
    FeedReport,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Prepared,
    Same,
    Skip,
    StoredEntry,
    Unchanged,
    Withdraw,
    Write,
)
from ..core.rendering.profiles import Profile
from ..core.reporting.entries import Applied, Outcome, add_entries, add_rewrites, entry_report
from ..errors import StoreFailed
from ..shell.store import StoreAPI as Store
from ..shell.write import Flusher, flush, read_text, same_bytes, write_atomic
from .entry_facts import cannot_write, look_up, place_images
from .place_images import Images, Placed, forget_images

__all__ = ["Applier", "Changes", "cannot_write", "remove_marked", "withdraw"]

log = logging.getLogger("ingest.run")  # the name people see in log lines, whatever the module's place

@dataclass
class _Done:
    """What one call of the applier carried out, in order, and what it learned deciding: the report's source."""

    outcomes: list[Outcome] = field(default_factory=list)
    same_as: list[str] = field(default_factory=list)  # files of stored entries new identities were judged the same as
    images_failed: list[str] = field(default_factory=list)


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
        done = _Done()
        try:
            with self.store.batch():
                planned = self._decide_and_claim(feed, feed_id, entries, now, done, sources, errors)
        except StoreFailed as exc:  # nothing was claimed, so nothing is written; the next run tries again
            errors, planned = [f"cannot record the feed's entries in the store: {exc}"], []
        errors += await self._write(planned, now, done.outcomes)
        add_entries(report, entry_report(done.outcomes, self.output), done.same_as, done.images_failed)
        return errors

    async def apply_stored(
        self, feed: FeedConfig, feed_id: int, placed: list[Placed], now: datetime, report: FeedReport,
    ) -> list[str]:
        """Decide again about stored entries whose text changed between polls (their images made local).

        They go through the same decision as a poll's entries: an unedited
        file is rewritten, an edited one kept or merged as ``edits:`` says, a
        file the owner deleted is recorded as such and never written again.
        """
        items = [Prepared(article_from_json(e.article), None, None, e.article, "") for e, _t, _r in placed if e.article]
        stored = {entry.identity: entry for entry, _text, _refs in placed}
        texts = {entry.identity: (text, refs) for entry, text, refs in placed}
        errors: list[str] = []
        done = _Done()
        try:
            with self.store.batch():
                planned = self._decide(feed, feed_id, items, stored, now, done, [], errors, texts, between=True)
        except StoreFailed as exc:
            return [f"cannot record the feed's entries in the store: {exc}"]
        errors += await self._write(planned, now, done.outcomes)
        add_rewrites(report, entry_report(done.outcomes, self.output))
        return errors

    async def revive(self, feed: FeedConfig, feed_id: int, entries: list[StoredEntry], now: datetime) -> Changes:
        """Write the filtered entries the feed's rules admit again, through the same decision as a poll's.

        Each keeps its name unless the profile now names files differently
        and the new name is free; an edited or foreign file there stays.
        """
        moved = []
        for entry in entries:
            article = article_from_json(entry.article or "{}")
            wanted = self.profile.path_for(entry.given_slug, dated(article, entry, now).date or now.date(), feed.images)
            if wanted != entry.path and not self.store.path_taken(wanted, entry.identity):
                entry = replace(entry, path=wanted)
            moved.append(entry)
        items = [Prepared(article_from_json(e.article), None, None, e.article, "") for e in moved if e.article]
        done = _Done()
        errors: list[str] = []
        with self.store.batch():
            planned = self._decide(feed, feed_id, items, {e.identity: e for e in moved}, now, done, [], errors,
                                   between=True)
        errors += await self._write(planned, now, done.outcomes)
        if errors:
            raise OSError(errors[0])
        derived = entry_report(done.outcomes, self.output)
        names = [os.path.relpath(path, self.output) for path in derived.new + derived.updated]
        return Changes(written=names, held=list(derived.held + derived.kept))

    def apply_rebuild(self, decided: Sequence[tuple[StoredEntry, Intent]], now: datetime) -> None:
        """Carry out ``ingest rebuild``'s intents: claim, write, flush, remove the old names, confirm.

        A file that moves is claimed under its old name, so after a crash
        before the new one stands the next rebuild finds the old file and
        moves it again; the old name goes only once the new file is flushed,
        and the store learns the new name last (a rebuild that stops before
        that finds the new file holding its text and adopts it).
        """
        if self.dry_run:
            return
        writes: list[tuple[StoredEntry, Write]] = []
        with self.store.batch():
            for entry, intent in decided:
                if isinstance(intent, Write):
                    self.store.save_entry(
                        entry.identity, entry.feed_id, entry.path, intent.digest, "pending", now, base=intent.base
                    )
                    writes.append((entry, intent))
                else:
                    self._record(intent, entry.feed_id, now)
        written = []
        for _entry, intent in writes:
            path = os.path.join(self.output, intent.name)
            if not same_bytes(path, intent.text):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                write_atomic(path, intent.text, sync=False)
                written.append(path)
        images = self.images.take_written() if self.images is not None else []
        flush(written + images)
        for _entry, intent in writes:
            if intent.moved_from is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.output, intent.moved_from))
        with self.store.batch():
            for entry, intent in writes:
                self.store.save_entry(entry.identity, entry.feed_id, intent.name, intent.digest, "written", now)

    async def _write(self, planned: list[tuple[Write, str, int]], now: datetime, outcomes: list[Outcome]) -> list[str]:
        """Write the claimed files, flush them (and the images written with them), confirm the claims.

        ``planned`` holds each write with its path and its place in
        ``outcomes``, where a file written is marked so.
        """
        errors: list[str] = []
        written: list[tuple[Write, str, int]] = []
        for intent, path, index in planned:
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
                outcomes[index] = Applied(intent, written=True)
                written.append((intent, path, index))
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
        done: _Done, sources: list[str], errors: list[str],
    ) -> list[tuple[Write, str, int]]:
        """Look up the facts, decide, and record every intent; the writes still to do."""
        entries = adopt_earlier_files(entries, feed_id, self.store.stored_entries)
        entries, judged = judge_same(entries, feed, feed_id, self.store.stored_entries, self.store.entry_keys)  # type: ignore[assignment, arg-type]  # Held only comes back for what it was given
        done.same_as += [os.path.join(self.output, same.path) for same in judged]
        stored = self.store.stored_entries(item.article.identity for item in entries if isinstance(item, Prepared))
        prepared: list[Prepared] = []
        for item in entries:
            if isinstance(item, Unchanged):
                sources.append(item.source)
                done.outcomes.append(item)
            elif isinstance(item, EntryFailure):
                log.error("entry %d of %s skipped:\n%s", item.index, feed.name, item.details or item.error)
                done.outcomes.append(item)
            else:
                prepared.append(item)
        return self._decide(feed, feed_id, prepared, stored, now, done, sources, errors)

    def _decide(
        self, feed: FeedConfig, feed_id: int, prepared: list[Prepared], stored: dict[str, StoredEntry], now: datetime,
        done: _Done, sources: list[str], errors: list[str],
        placed: dict[str, tuple[str, dict[str, str]]] | None = None, *, between: bool = False,
    ) -> list[tuple[Write, str, int]]:
        """Decide about the entries and record every intent in ``done``; the writes still to do.

        ``placed`` holds texts made between polls (stored entries with their
        images made local): they are decided as themselves, not as entries
        the run already saw.
        """
        settings = Settings(feed, feed_id, self.profile, self.body, now)
        facts, unreadable = look_up(self.store, self.output, prepared, stored, settings, LOOKUP_DEPTH)
        if unreadable:  # an entry whose file cannot be read is not decided; the others go on
            errors += unreadable.values()
            prepared = [item for item in prepared if item.article.identity not in unreadable]
        if placed:
            texts = {identity: text for identity, (text, _refs) in placed.items()}
            facts = replace(facts, placed=texts, relinks={identity: refs for identity, (_t, refs) in placed.items()})
        decision = self._decision(prepared, stored, facts, settings, done, between)
        self.seen |= decision.seen
        if self.dry_run:
            self.claimed |= decision.claimed
        planned: list[tuple[Write, str, int]] = []
        for item, intent in zip(prepared, decision.intents):
            if isinstance(intent, Broken):
                log.error("entry %s of %s", item.article.identity, feed.name, exc_info=intent.error)
            else:
                sources.append(item.source)
            done.outcomes.append(self._record(intent, feed_id, now))
            if isinstance(intent, Write) and not self.dry_run:
                planned.append((intent, os.path.join(self.output, intent.name), len(done.outcomes) - 1))
        return planned

    def _decision(
        self, prepared: list[Prepared], stored: dict[str, StoredEntry], facts: Facts, settings: Settings,
        done: _Done, between: bool,
    ) -> EntryDecision:
        """The entry decision, made again with deeper facts while it comes back short, then with new posts' images."""
        seen = frozenset() if between else self.seen
        decision = decide_entries(prepared, facts, settings, seen, self.claimed)
        depth = LOOKUP_DEPTH
        while decision.short and (further := deeper(depth)) is not None:
            depth = further  # every candidate name looked up was taken: look deeper and decide again
            more, _unreadable = look_up(self.store, self.output, prepared, stored, settings, depth)
            facts = replace(facts, taken=more.taken, files={**more.files, **facts.files})
            decision = decide_entries(prepared, facts, settings, seen, self.claimed)
        if settings.feed.images == "download" and self.images is not None and not between:
            # the posts the decision writes or keeps get their images placed; decided again with those texts
            texts, fresh, failures = place_images(self.images, prepared, stored, decision, settings)
            done.images_failed += failures
            if texts or fresh:
                relinks = {identity: refs for identity, (_text, refs) in texts.items()}
                placed = {identity: text for identity, (text, _refs) in texts.items()}
                facts = replace(facts, placed=placed, relinks=relinks, placed_new=fresh)
                decision = decide_entries(prepared, facts, settings, seen, self.claimed)
        return replace(decision, seen=frozenset()) if between else decision

    def _record(self, intent: Intent, feed_id: int, now: datetime) -> Applied:
        """Record one intent in the store; what carrying it out found. A Write is claimed here, written later."""
        keep = not self.dry_run
        match intent:
            case Same(identity=identity, data=data):
                if data is not None and keep:
                    self.store.save_article(identity, data)
            case Skip() | Broken() | Blocked():  # nothing to record (a Broken entry is judged again next run)
                pass
            case Forget():  # the owner deleted the file: never bring it back, nor its images
                self._forget(intent, feed_id, now)
            case KeepEdit() if keep:
                self.store.keep_edit(intent.identity, intent.digest, intent.data, intent.base, now)
            case HoldBack() if keep:
                self.store.save_filtered(
                    intent.identity, feed_id, intent.name, intent.digest, now, slug=intent.slug, article=intent.data,
                )
            case Withdraw() if keep:  # written before: its file goes, unless the owner edited it
                found = withdraw(self.store, self.output, [intent], now, states=("written", "pending"))
                return Applied(intent, removed=tuple(found.removed), held=tuple(found.held))
            case Write() if keep:
                self.store.save_entry(
                    intent.identity, feed_id, intent.name, intent.digest, "pending", now, slug=intent.slug,
                    article=intent.data, base=intent.base,
                )
            case Write():  # a dry run: counted as if written
                return Applied(intent, written=True)
            case KeepEdit() | HoldBack() | Withdraw():  # a dry run records nothing
                pass
            case _:
                assert_never(intent)
        return Applied(intent)

    def _forget(self, intent: Forget, feed_id: int, now: datetime) -> None:
        if self.images is not None:
            self.images.forget(intent.identity)
        if not self.dry_run:
            self.store.save_entry(
                intent.identity, feed_id, intent.name, intent.digest, "deleted", now, slug=intent.slug,
                article=intent.data,
            )


@dataclass
class Changes:
    """Files a rule change or retention wrote, removed, or left because the owner edited them (names in the output)."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.written or self.removed or self.held)


def withdraw(
    store: Store, output: str, intents: Sequence[Withdraw], now: datetime, *,
    dry_run: bool = False, states: tuple[str, ...] = ("written",),
) -> Changes:
    """Carry out withdrawals (``dedupe.withdrawal``) in the order that survives a crash and a concurrent run.

    The entries are marked ``deleted`` in one transaction first (the claim:
    only those still in ``states``, so an entry a run beside us claimed
    meanwhile stays the run's), then their files are removed and their
    images go, then the marks are confirmed. A file edited between the
    decision and its removal stays, and its entry is marked written again.
    """
    changes = Changes(held=[intent.entry.path for intent in intents if intent.verdict == "held"])
    removable = [intent.entry for intent in intents if intent.verdict == "remove"]
    gone = [intent.entry for intent in intents if intent.verdict == "gone"]
    if dry_run:
        changes.removed = [entry.path for entry in removable]
        return changes
    if not removable and not gone:
        return changes
    marked = _claim_withdrawals(store, intents, now, states)
    # a run beside us may have claimed some meanwhile: their files are that run's business
    claimed = [(intent.entry, intent.reason) for intent in intents
               if intent.verdict == "remove" and intent.entry.identity in marked]
    remove_marked(store, output, claimed, changes)
    # A removed post takes its stored images (``images: download``) along, and so does one its owner deleted.
    forget_images(store, output, [e.identity for e in gone])
    return changes


def remove_marked(store: Store, output: str, marked: Sequence[tuple[StoredEntry, str]], changes: Changes) -> None:
    """Remove the files of entries marked for removal, then confirm the marks (the last step of a withdrawal).

    A file edited since the decision stays and its entry is written again.
    Until the confirmation, the marks say which removals a crash may have
    cut short: the next run finishes them (``finish_withdrawals``).
    """
    gone = []
    for entry, reason in marked:
        path = os.path.join(output, entry.path)
        current = read_text(path)
        if current is not None and is_edited(current, entry.ours):  # edited in the meantime: it stays, with its images
            store.unhide(entry.identity, reason)
            changes.held.append(entry.path)
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            changes.removed.append(entry.path)
        gone.append(entry.identity)
    forget_images(store, output, gone)
    store.removals_done(gone)


def _claim_withdrawals(store: Store, intents: Sequence[Withdraw], now: datetime, states: tuple[str, ...]) -> set[str]:
    """Mark the entries deleted before any file goes (one transaction per reason); the ones marked for removal."""
    store.hide([intent.entry.identity for intent in intents if intent.verdict == "gone"], None, now, states=states)
    by_reason: dict[str, list[str]] = {}
    for intent in intents:
        if intent.verdict == "remove":
            by_reason.setdefault(intent.reason, []).append(intent.entry.identity)
    return {identity for reason, ids in by_reason.items() for identity in store.hide(ids, reason, now, states=states)}
