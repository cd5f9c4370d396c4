"""Full articles for summary-only feeds (``content: extract``): the step between reading and deciding.

A run hands a feed's read entries here before they are decided: each new
entry's link is fetched (with the run's limits, robots.txt obeyed), its
article extracted in a worker process, and the result kept in the store,
once per entry and link. An entry whose extracted article is longer than
the feed's own text (``core.deciding.extract.replaces``) goes on to the decision with
that article as its body, so names, filters, edits and images apply to it
as to any entry, and the applier writes it. A page that fails keeps the
feed's text, is counted on the feed's line and is asked again with backoff
(``catch_up``, after every poll), which then updates the file in place
through the same decision and applier, under the ``edits:`` rules.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from ..core.scheduling import politeness
from ..core.content.article_page import Extracted
from ..core.config.model import Config, FeedConfig, redact
from ..core.deciding.extract import ExtractRecord, plan, replaces, same_site, with_article
from ..core.content.article import article_from_json
from ..core.rendering.profiles import PROFILES, Profile
from ..core.records import EntryFailure, FeedReport, Held, Prepared, ReadFeed, Unchanged
from ..shell.articles import Robots, fetch_page, served_privately
from ..shell.fetch import Client
from ..shell.reader_pool import Readers
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import Flusher

if TYPE_CHECKING:
    from ..shell.limits import RequestLimits
    from .apply import Applier

__all__ = ["Articles", "extract_feed", "Extraction", "Preview", "preview"]

log = logging.getLogger("ingest.articles")

Entries = list[Prepared | Unchanged | EntryFailure | Held]


@dataclass
class Extraction:
    """What extraction did for one feed in this run, for its line: articles used, kept out, failed."""

    used: int = 0
    kept: list[str] = field(default_factory=list)  # "URL: why the feed's text stayed"
    failed: list[str] = field(default_factory=list)  # "URL: reason"


class Articles:
    """The article pages of one run (or one daemon): asked, extracted, remembered."""

    def __init__(
        self, store: Store, profile: Profile, body: str, *, dry_run: bool = False, rng: random.Random | None = None,
        later: bool = False,
    ) -> None:
        self.store = store
        # the daemon: a poll asks no article page, the task that follows it does (``extract_feed``)
        self.later = later
        self.profile = profile
        self.body = body
        self.dry_run = dry_run
        self.rng = rng or random.Random()
        self.robots = Robots()
        self._asked: dict[int, int] = {}  # pages asked per feed in this run, against extract_per_run
        self._done: dict[int, Extraction] = {}

    async def read(
        self, feed: FeedConfig, feed_id: int, served_from: str, read: ReadFeed, client: Client,
        limits: RequestLimits, readers: Readers | None, force: bool = False,
    ) -> ReadFeed:
        """A feed's read entries with their full articles (``prepare``); on a bug, as they were, with a warning."""
        if feed.content != "extract":
            return read
        try:
            entries = await self.prepare(
                feed, feed_id, served_from, read.entries, client, limits, readers or Readers.inline(), utcnow(),
                force=force, later=self.later,
            )
        except Exception as exc:  # a bug in extraction must not cost the feed its entries
            log.exception("articles of %s", feed.name)
            problem = f"articles not extracted: internal error: {type(exc).__name__}: {exc}"
            return replace(read, warning="; ".join(filter(None, (read.warning, problem))))
        return replace(read, entries=entries)

    async def after_poll(
        self, feed: FeedConfig, feed_id: int, client: Client, limits: RequestLimits | None, readers: Readers | None,
        applier: Applier, report: FeedReport, *, force: bool = False,
    ) -> None:
        """Pages whose time has come update their posts (``catch_up``), then the feed's line says what happened.

        ``later`` (the daemon's poll) leaves them to the task that follows
        the poll. A bug here never costs the feed its poll.
        """
        if feed.content == "extract" and not (report.failed or report.status == "retired" or self.later):
            try:
                await self.catch_up(
                    feed, feed_id, feed.url, client, limits, readers or Readers.inline(), applier, report, utcnow(),
                    force=force,
                )
            except Exception as exc:
                log.exception("articles of %s", feed.name)
                report.notes.append(f"articles not extracted: internal error: {type(exc).__name__}: {exc}")
        self.finish(feed, feed_id, report)

    def budget(self, feed: FeedConfig, feed_id: int) -> int:
        return max(0, feed.extract_per_run - self._asked.get(feed_id, 0))

    async def prepare(
        self, feed: FeedConfig, feed_id: int, served_from: str, entries: Entries, client: Client,
        limits: RequestLimits, readers: Readers, now: datetime, *, force: bool = False, later: bool = False,
    ) -> Entries:
        """The entries with the extracted article as body where it replaces the feed's text.

        ``later`` (the daemon) asks no page now: the entries are written
        with the feed's text and their pages asked by ``catch_up``, outside
        the feed's poll.
        """
        if feed.content != "extract" or self.dry_run:
            return entries
        items = [item for item in entries if isinstance(item, Prepared)]
        if not items:
            return entries
        items = self._askable(feed_id, items)
        records = self.store.extract_records(item.article.identity for item in items)
        budget = 0 if later else self.budget(feed, feed_id)
        chosen = plan((item.article for item in items), records, now, budget, force=force)
        found = await self._extract(feed, feed_id, served_from, chosen.fetch, records, client, limits, readers, now)
        queued = [ExtractRecord(identity, feed_id, link, "failed") for identity, link in chosen.later
                  if identities_record_missing(records, identity, link)]
        self.store.save_extracts([*found.values(), *queued])
        records.update(found)
        return self._with_articles(feed_id, entries, records, found)

    def _askable(self, feed_id: int, items: list[Prepared]) -> list[Prepared]:
        """The entries whose pages may be asked: an entry another feed owns, or one its owner deleted, is not."""
        stored = self.store.stored_entries(item.article.identity for item in items)
        return [i for i in items if (e := stored.get(i.article.identity)) is None
                or (e.feed_id == feed_id and e.state != "deleted")]

    def _with_articles(
        self, feed_id: int, entries: Entries, records: dict[str, ExtractRecord], found: dict[str, ExtractRecord],
    ) -> Entries:
        """The entries, each with its extracted article as body where one is done for its link and replaces its text."""
        report = self._report(feed_id)
        out: Entries = []
        for item in entries:
            if isinstance(item, Prepared):
                record = records.get(item.article.identity)
                if record is not None and record.link == item.article.link and record.state == "done":
                    item = self._use(item, record, report, record.identity in found)
            out.append(item)
        return out

    def _use(self, item: Prepared, record: ExtractRecord, report: Extraction, fresh: bool) -> Prepared:
        better, why = replaces(item.article.body, record.html)
        if not better:
            if fresh:
                report.kept.append(f"{redact(record.link)}: {why}")
            return item
        if fresh:
            report.used += 1
        return with_article(item, record.html, self.profile, self.body)

    async def _extract(
        self, feed: FeedConfig, feed_id: int, served_from: str, jobs: Sequence[tuple[str, str]],
        records: dict[str, ExtractRecord], client: Client, limits: RequestLimits | None, readers: Readers,
        now: datetime,
    ) -> dict[str, ExtractRecord]:
        """Ask and extract the pages of ``jobs`` concurrently (within the host limits): the new records."""
        if not jobs:
            return {}
        self._asked[feed_id] = self._asked.get(feed_id, 0) + len(jobs)
        private_ok = await served_privately(served_from)
        report = self._report(feed_id)

        async def one(identity: str, link: str) -> tuple[str, ExtractRecord]:
            got = await self.extract_one(feed, link, client, limits, readers, private_ok=private_ok)
            if got.error is None:
                return identity, ExtractRecord(identity, feed_id, link, "done", got.html, got.rule)
            report.failed.append(f"{redact(link)}: {got.error}")
            before = records.get(identity)
            count = (before.failures if before is not None and before.link == link else 0) + 1
            retry = politeness.backoff(count, now, self.rng)
            asked = getattr(got, "retry_after", None)
            if asked:
                retry = max(retry, politeness.retry_after(asked, now) or retry)
            return identity, ExtractRecord(identity, feed_id, link, "failed", "", got.rule, got.error, count, retry)

        done = await asyncio.gather(*(one(identity, link) for identity, link in jobs))
        return dict(done)

    async def extract_one(
        self, feed: FeedConfig, link: str, client: Client, limits: RequestLimits | None, readers: Readers,
        *, private_ok: bool,
    ) -> _Result:
        """Fetch one article page (robots.txt, limits, private-address rule) and extract its article."""
        refusal = await self.robots.allowed(client, feed, link, private_ok=private_ok)
        if refusal is not None:
            return _Result(error=refusal)
        if limits is not None:
            async with limits.slot(link):
                page = await fetch_page(client, feed, link, private_ok=private_ok)
        else:
            page = await fetch_page(client, feed, link, private_ok=private_ok)
        if page.error is not None:
            return _Result(error=page.error, retry_after=page.retry_after)
        rules = same_site(page.url, feed.url)
        got: Extracted = await readers.extract(
            page.data, page.url, page.content_type, feed.selector if rules else (), feed.remove if rules else (),
        )
        if got.error is not None:
            where = f" ({redact(page.url)})" if page.url != link else ""
            return _Result(error=f"{got.error}{where}", rule=got.rule, javascript=got.javascript)
        return _Result(html=got.html, rule=got.rule, title=got.title, url=page.url)

    # --- trying again -------------------------------------------------------------

    async def catch_up(
        self, feed: FeedConfig, feed_id: int, served_from: str, client: Client, limits: RequestLimits | None,
        readers: Readers, applier: Applier, report: FeedReport, now: datetime, *, force: bool = False,
    ) -> None:
        """Ask the pages whose time has come (failed before, or left over by the cap) and update their posts.

        The updated entries go through ``Applier.apply``: the same decision
        as a feed's changed entry, so an edited post keeps its owner's text
        (or is merged, under ``edits:``).
        """
        if feed.content != "extract" or self.dry_run:
            return
        due = datetime.max.replace(tzinfo=now.tzinfo) if force else now
        identities = self.store.extracts_due(feed_id, due)[: self.budget(feed, feed_id)]
        if not identities:
            return
        entries = self.store.stored_entries(identities)
        records = self.store.extract_records(identities)
        jobs = [(i, records[i].link) for i in identities if i in records and i in entries and entries[i].article]
        found = await self._extract(feed, feed_id, served_from, jobs, records, client, limits, readers, now)
        self.store.save_extracts(found.values())
        result = self._report(feed_id)
        updates: list[Prepared | Unchanged | EntryFailure] = []  # only pages found better: no Held
        for identity, record in found.items():
            if record.state != "done":
                continue
            entry = entries[identity]
            article = article_from_json(entry.article or "")
            item = Prepared(article, None, None, entry.article or "", f"article {identity}")
            better = self._use(item, record, result, True)
            if better is not item:
                updates.append(better)
        if updates:
            before = len(report.updated), len(report.kept)
            errors = await applier.apply(feed, feed_id, updates, now, report, [])
            report.notes += errors
            if report.status in ("not-modified", "same-content"):  # the line shows no counts then: say it here
                updated, kept = report.updated[before[0]:], report.kept[before[1]:]
                if updated:
                    report.notes.append(f"{len(updated)} updated with {'their' if len(updated) > 1 else 'its'} full article")
                if kept:
                    report.notes.append(f"{len(kept)} full article{'s' if len(kept) > 1 else ''} arrived late, "
                                        f"kept your edits: {', '.join(kept)}")

    def finish(self, feed: FeedConfig, feed_id: int, report: FeedReport) -> None:
        """Say on the feed's line what extraction did; a failure fails the run only with ``extract_failures: fail``."""
        done = self._done.pop(feed_id, None)
        if done is None:
            return
        report.extracted += done.used
        report.extract_failed += done.failed
        report.extract_fatal = feed.extract_failures == "fail"
        if done.used:
            report.notes.append(f"{done.used} full article{'s' if done.used != 1 else ''} extracted")
        if done.kept:
            count = len(done.kept)
            report.notes.append(f"{count} extracted article{'s' if count != 1 else ''} not used, the feed's text "
                                f"is longer: {_some(done.kept)}")
        if done.failed:
            count = len(done.failed)
            plural = "s" if count != 1 else ""
            report.notes.append(
                f"{count} article{plural} not extracted, the feed's text kept until a later run: {_some(done.failed)}"
            )

    def _report(self, feed_id: int) -> Extraction:
        return self._done.setdefault(feed_id, Extraction())


def _some(items: list[str], shown: int = 3) -> str:
    """The first few of a list for a report line, and how many more there are."""
    more = f" (and {len(items) - shown} more)" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more


@dataclass(frozen=True)
class _Result:
    """One page's extraction as the run sees it."""

    html: str = ""
    rule: str = ""
    title: str = ""
    url: str = ""
    error: str | None = None
    retry_after: str | None = None
    javascript: bool = False


def identities_record_missing(records: dict[str, ExtractRecord], identity: str, link: str) -> bool:
    """An entry over the cap is recorded (to ask later) unless it is already waiting for the same link."""
    record = records.get(identity)
    return record is None or record.link != link



async def extract_feed(
    config: Config, feed: FeedConfig, store: Store, client: Client, readers: Readers, *,
    limits: RequestLimits | None = None, rng: random.Random | None = None, flusher: Flusher | None = None,
) -> FeedReport:
    """Ask a feed's article pages that are due and update their posts: the daemon, after a (checked) poll.

    The posts go through an applier of their own, as a poll's would; the
    report counts the posts updated and the pages that failed.
    """
    from .apply import Applier
    from .place_images import Images

    profile, output = PROFILES[config.profile], os.fspath(config.output)
    images = Images(store, output, profile, config.body, rng=rng)
    applier = Applier(store, output, profile, config.body, flusher or Flusher(), images=images)
    report = FeedReport(feed.name, feed.url)
    articles = Articles(store, profile, config.body, rng=rng)
    await articles.after_poll(feed, store.feed_id(feed.url, feed.name), client, limits, readers, applier, report)
    return report


@dataclass(frozen=True)
class Preview:
    """What extraction makes of one page (``ingest extract URL``): the article's HTML and the rule, or why not."""

    url: str  # where the page was finally found
    html: str = ""
    rule: str = ""
    title: str = ""
    error: str | None = None


async def preview(
    feed: FeedConfig, url: str, transport: httpx.AsyncBaseTransport | None = None, *, rules: bool = False,
) -> Preview:
    """Fetch and extract one page with ``feed``'s settings, as a run would, for tuning ``selector:``.

    The user typed the address, so it may be a private one. ``rules``
    applies the feed's rules to any site (rules typed on the command line
    are meant for the page at hand).
    """
    articles = Articles(_NO_STORE, PROFILES["hugo"], "html")
    async with Client(1, transport) as client:
        feed = replace(feed, url=url) if rules else feed
        got = await articles.extract_one(feed, url, client, None, Readers.inline(), private_ok=True)
    return Preview(got.url or url, got.html, got.rule, got.title, got.error)


_NO_STORE: Any = None  # a preview keeps nothing: extract_one never touches the store
