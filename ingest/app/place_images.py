"""Entry images stored with their posts (``images: download``): the step between rendering and writing.

A run hands each entry's file here just before it is written: the images
it refers to were fetched meanwhile (``prefetch``, concurrently, with the
run's limits), so this step only decides. It stores each image under a
stable name in the post's image folder, records which image belongs to
which post, and returns the text with every reference that could be
stored pointing at the local copy. An image that could not be fetched
never holds its post back: the reference stays the publisher's URL, the
feed's line counts the failure, and ``retry`` (after every poll) tries it
again with backoff and rewrites the file in place once it succeeds. The
text the store records for a post is the rewritten one, so a poll that
finds nothing new finds the same text and writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..core.config.model import Config, FeedConfig
from ..core.content.article import Article, article_from_json
from ..core.content.entry_images import (
    ImageRecord,
    image_dir,
    localize,
    out_of_bundle,
    wanted,
)
from ..core.deciding.image_placement import ImagePlan, plan_images
from ..core.printable import stored_url
from ..core.records import FeedReport, StoredEntry, Validators
from ..core.rendering.page import render
from ..core.rendering.profiles import Profile
from ..shell.fetch import Client
from ..shell.image_io import (
    Fetched,
    drop_spool,
    fetch_image,
    image_bytes,
    move_image,
    remove_images,
    same_image,
    served_privately,
    spool,
    write_image,
)
from ..shell.store import StoreAPI as Store
from ..shell.write import flush

if TYPE_CHECKING:
    from ..shell.limits import RequestLimits

# A stored post with its text pointing at its local images, and those references (URL -> local).
Placed = tuple[StoredEntry, str, dict[str, str]]
# How the run's applier takes such posts: (feed, feed id, posts, now, report) -> what could not be written.
Rewrite = Callable[[FeedConfig, int, list[Placed], datetime, FeedReport], Awaitable[list[str]]]

__all__ = [
    "forget_images", "image_modes", "Images", "images_changed", "ImagePlacement", "Placed", "queue_images", "relocate",
    "SPOOL_OVER",
]


log = logging.getLogger("ingest.images")

# Fetched images larger than this wait for their post in a temporary file rather than in memory,
# so a first poll of a feed full of large images holds at most one of them in memory at a time.
SPOOL_OVER = 512 * 1024


@dataclass
class ImagePlacement:
    """What the step did to one file: its text, and the image failures to report."""

    text: str
    failures: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)  # image URL -> its local reference, for the images stored


class Images:
    """The images of one run (or one daemon poll): fetched ahead, then placed as files are written."""

    def __init__(
        self, store: Store, output: str, profile: Profile, body: str, *, dry_run: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.output = output
        self.profile = profile
        self.body = body
        self.dry_run = dry_run
        self.rng = rng or random.Random()
        self._fetched: dict[tuple[int, str, str], Fetched] = {}  # by feed, entry and URL
        self._written: list[str] = []  # image files written and not flushed yet
        self._modes: set[int] = set()  # feeds whose images setting is recorded in this run

    # --- fetching -------------------------------------------------------------

    async def prefetch(
        self, feed: FeedConfig, feed_id: int, served_from: str, articles: Iterable[Article],
        client: Client, limits: RequestLimits, now: datetime, *, force: bool = False,
    ) -> None:
        """Fetch the images of the entries about to be applied that are not stored yet (or to ask again).

        An image already stored is asked again with its validators (the
        entry changed, so the publisher may have replaced it); one that
        failed waits for its backoff (unless ``force``, as ``run --force``
        asks deferred feeds); tracking pixels are never asked again.
        """
        if feed.images != "download" or self.dry_run:
            return
        articles = list(articles)
        stored = self.store.stored_entries(a.identity for a in articles)
        records = self.store.image_records(a.identity for a in articles)
        jobs = []
        for article in articles:
            if self._placeable(feed_id, article, stored.get(article.identity)):
                known = {r.url: r for r in records.get(article.identity, [])}
                jobs += [(article.identity, url, validators)
                         for url, validators in self._to_ask(article, known, now, force=force)]
        await self._fetch_all(feed, feed_id, served_from, jobs, client, limits)

    def _placeable(self, feed_id: int, article: Article, entry: StoredEntry | None) -> bool:
        """Whether the entry's post may get images: the feed's own, not deleted by its owner, in its bundle."""
        if entry is None:
            return True
        if entry.feed_id != feed_id or (entry.state == "deleted" and entry.hidden is None):
            return False
        return not out_of_bundle(self.profile, entry, article.date or entry.first_seen.date())

    def _to_ask(
        self, article: Article, known: dict[str, ImageRecord], now: datetime, *, force: bool,
    ) -> list[tuple[str, Validators]]:
        """The article's image URLs to ask now, each with the validators of the copy stored (if still on disk)."""
        asked = []
        for url in wanted(article):
            record = known.get(url)
            waiting = record is not None and record.state == "failed" and not (force or record.due(now))
            if record is not None and record.state == "skipped" or waiting:
                continue
            validators = Validators()
            if record is not None and record.state == "stored" and self._on_disk(record):
                validators = Validators(record.etag, record.last_modified)
            asked.append((url, validators))
        return asked

    async def _fetch_all(
        self, feed: FeedConfig, feed_id: int, served_from: str, jobs: list[tuple[str, str, Validators]],
        client: Client, limits: RequestLimits,
    ) -> None:
        if not jobs:
            return
        private_ok = await served_privately(served_from)

        async def one(identity: str, url: str, validators: Validators) -> None:
            async with limits.slot(url):
                got = await fetch_image(client, feed, url, validators, private_ok=private_ok)
            if len(got.data) > SPOOL_OVER:
                got = await asyncio.to_thread(spool, got, self._spool_dir())
            self._fetched[(feed_id, identity, url)] = got

        await asyncio.gather(*(one(*job) for job in jobs))

    # --- placing ----------------------------------------------------------------

    def place(
        self, mode: str, feed_id: int, article: Article, text: str, now: datetime,
        stored: StoredEntry | None = None,
    ) -> ImagePlacement:
        """The file's text with its images local where they could be stored; records and image files follow.

        ``article`` carries the post's final slug; ``mode`` is its feed's
        ``images:`` setting. With ``keep``, or for an entry another feed
        owns, the text is returned as it is.
        """
        if mode != "download":
            return ImagePlacement(text)
        if stored is not None and (stored.feed_id != feed_id or (stored.state == "deleted" and stored.hidden is None)):
            return ImagePlacement(text)
        if not self.dry_run and feed_id not in self._modes:
            if self.store.images_mode(feed_id) != mode:
                self.store.save_images_mode(feed_id, mode)
            self._modes.add(feed_id)
        identity = article.identity
        records = {r.url: r for r in self.store.image_records([identity]).get(identity, [])}
        fetched = {url: got for url in wanted(article) if (got := self._fetched.pop((feed_id, identity, url), None))}
        present = {r.path for r in records.values() if r.path and os.path.isfile(os.path.join(self.output, r.path))}
        plan = plan_images(article, self.profile, records, fetched, present, now, self.rng)
        self._carry_out(identity, plan, fetched)
        if not plan.refs:
            return ImagePlacement(text, plan.failures)
        return ImagePlacement(render(localize(article, plan.refs), self.profile, self.body), plan.failures, plan.refs)

    def _carry_out(self, identity: str, plan: ImagePlan, fetched: dict[str, Fetched]) -> None:
        """Store the fetched bytes the plan places, then its records; drop the files nothing needs any more."""
        for url, path in plan.stores:
            full = os.path.join(self.output, path)
            if not self.dry_run and not same_image(full, fetched[url]):
                write_image(full, image_bytes(fetched[url]))
                self._written.append(full)
            drop_spool(fetched[url])
        if self.dry_run:
            return
        if plan.gone:
            self.store.drop_images(identity, plan.gone)
        if plan.saves:
            self.store.save_images(plan.saves)
        remove_images(self.output, plan.unused)

    def forget(self, identity: str) -> None:
        """A post that is gone (deleted by its owner, filtered, pruned) takes its images along."""
        if self.dry_run:
            return
        forget_images(self.store, self.output, [identity])

    def take_written(self) -> list[str]:
        """The image files written since the last call, for the run to flush with its posts."""
        written, self._written = self._written, []
        return written

    async def after_poll(
        self, feed: FeedConfig, feed_id: int, client: Client, limits: RequestLimits, report: FeedReport, now: datetime,
        apply: Rewrite, *, force: bool = False,
    ) -> None:
        """Try the feed's failed images whose time has come, then say on the feed's line what failed.

        The posts whose images are now local are handed to ``apply`` (the
        run's applier), which decides about them as about any changed entry:
        an unedited file is rewritten (and counts as updated), an edited one
        is kept or merged as the feed's ``edits:`` says. A failure here is
        the images' own and never fails the feed.
        """
        if feed.images == "download" and not self.dry_run and report.status != "retired":
            try:
                # a post its owner deleted takes its images along at once, not when its entry next changes
                gone = [identity for identity, path in self.store.posts_with_images(feed_id)
                        if not os.path.exists(os.path.join(self.output, path))]
                forget_images(self.store, self.output, gone)
                placed, failures = await self.retry(feed, feed_id, feed.url, client, limits, now, force=force)
                report.images_failed += failures
                if placed:
                    report.images_failed += await apply(feed, feed_id, placed, now, report)
            except OSError as exc:
                where = f" {exc.filename}" if exc.filename else ""
                report.images_failed.append(f"cannot write{where}: {exc.strerror or exc}")
            except Exception as exc:  # a bug in the images step must not cost the feed its poll
                log.exception("images of %s", feed.name)
                report.images_failed.append(f"internal error: {type(exc).__name__}: {exc}")
        self._drop_fetched(feed_id)
        if report.images_failed:
            count = len(report.images_failed)
            more = f" (and {count - 1} more)" if count > 1 else ""
            plural = "s" if count != 1 else ""
            report.notes.append(
                f"{count} image{plural} not downloaded, kept at their remote URL until a later poll: "
                f"{report.images_failed[0]}{more}"
            )

    async def flush(self) -> None:
        """Make the image files written so far durable."""
        written, self._written = self._written, []
        if written:
            await asyncio.to_thread(flush, written)

    def _on_disk(self, record: ImageRecord, folder: str | None = None) -> bool:
        if not record.path or (folder is not None and posixpath.dirname(record.path) != folder):
            return False
        return os.path.isfile(os.path.join(self.output, record.path))

    def _spool_dir(self) -> str:
        """Where large images wait between fetch and write: the output, where the next run's sweep looks.

        The wait file is unnamed on Linux, so a killed run leaves nothing there.
        """
        return str(self.output)

    def _drop_fetched(self, feed_id: int) -> None:
        """Forget what was fetched for a feed's entries that were not placed (skipped, failed to apply)."""
        for key in [key for key in self._fetched if key[0] == feed_id]:
            drop_spool(self._fetched.pop(key))

    # --- trying again -------------------------------------------------------------

    async def retry(
        self, feed: FeedConfig, feed_id: int, served_from: str, client: Client, limits: RequestLimits, now: datetime,
        *, force: bool = False,
    ) -> tuple[list[Placed], list[str]]:
        """Fetch the images whose time has come; (each post with its text pointing at them, failures).

        The posts are not written here: the run's decision says whether
        each may be (an edited post is kept or merged as for any change).
        A post an edit kept out of its bundle gets no images (see
        ``out_of_bundle``).
        """
        if feed.images != "download" or self.dry_run:
            return [], []
        due = datetime.max.replace(tzinfo=now.tzinfo) if force else now  # --force: every failed image, now
        identities = self.store.images_due(feed_id, due)
        if not identities:
            return [], []
        entries = self.store.stored_entries(identities)
        records = self.store.image_records(identities)
        articles = []
        jobs = []
        for identity in identities:
            entry = entries.get(identity)
            if entry is None or entry.article is None or entry.state != "written":
                continue
            article = replace(article_from_json(entry.article), slug=entry.given_slug)
            if out_of_bundle(self.profile, entry, article.date or entry.first_seen.date()):
                continue
            articles.append((entry, article))
            jobs += [(identity, r.url, Validators()) for r in records.get(identity, []) if r.due(due)]
        await self._fetch_all(feed, feed_id, served_from, jobs, client, limits)
        placed: list[Placed] = []
        failures: list[str] = []
        for entry, article in articles:
            outcome = self.place(feed.images, feed_id, article, render(article, self.profile, self.body), now, entry)
            failures += outcome.failures
            placed.append((entry, outcome.text, outcome.refs))
        await self.flush()
        return placed, failures


def relocate(store: Store, output: str, profile: Profile, identity: str, slug: str) -> None:
    """Move a post's stored images into the folder the profile names (after a profile change)."""
    folder = image_dir(profile, slug)
    moved = []
    for record in store.image_records([identity]).get(identity, []):
        if record.state != "stored" or not record.path or posixpath.dirname(record.path) == folder:
            continue
        new = posixpath.join(folder, posixpath.basename(record.path))
        if move_image(output, record.path, new):
            moved.append(replace(record, path=new))
    if moved:
        store.save_images(moved)


def queue_images(store: Store, article: Article) -> None:
    """Mark the images of a post written with remote URLs as to fetch, so the next poll stores them."""
    known = {r.url for r in store.image_records([article.identity]).get(article.identity, [])}
    store.save_images(
        ImageRecord(article.identity, url, "failed") for url in wanted(article) if url not in known
    )


def forget_images(store: Store, output: str, identities: Iterable[str]) -> None:
    """Remove the image files of posts and forget their records."""
    identities = list(identities)
    found = store.image_records(identities)
    for identity, records in found.items():
        remove_images(output, [r.path for r in records if r.path])
        store.drop_images(identity)


def image_modes(config: Config, store: Store) -> dict[int, tuple[str, str]]:
    """Each stored feed's images setting: (the one its files were written with, the configured one).

    A feed no longer configured keeps its files as they are.
    """
    configured = {stored_url(feed.url): feed.images for feed in config.feeds}  # the store keeps no credentials
    modes: dict[int, tuple[str, str]] = {}
    for url, (feed_id, mode) in store.images_modes().items():
        was = mode or "keep"
        modes[feed_id] = (was, configured.get(url, modes.get(feed_id, (was, was))[1]))
    return modes


def images_changed(config: Config, store: Store, *, record: bool) -> list[str]:
    """The feeds whose ``images:`` setting changed since their files were written (``feed old -> new``).

    Their posts would otherwise be named and written two ways in one folder
    (a Hugo page bundle beside a plain file); ``ingest rebuild`` moves them.
    A feed with no written file just takes the new setting (``record``).
    """
    recorded = store.images_modes()
    changed = []
    for feed in config.feeds:
        state = recorded.get(feed.url)
        if state is None:
            continue
        feed_id, mode = state
        if (mode or "keep") == feed.images:
            continue
        if any(e.state == "written" for e in store.feed_entries(feed_id)):
            changed.append(f"{feed.name} {mode or 'keep'} -> {feed.images}")
        elif record:
            store.save_images_mode(feed_id, feed.images)
    return changed
