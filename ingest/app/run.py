"""Wire the stages together for one feed and for a whole run.

Fetches run concurrently; everything after the fetch (parse, normalize,
decide, write, record) runs one feed at a time on the event loop thread, so
the store and the file names it hands out never race. Before a feed is
requested its stored state is checked: a retired feed (410) is not asked at
all, and a feed whose ``not_before`` lies ahead (server hint, Retry-After or
error backoff) is reported as deferred unless the run is forced. A file is
claimed in the store before it is written and confirmed after it is flushed,
so a crash at any point is repaired by the next run writing the same file.
It is a little longer than the other modules: every stage of a poll meets here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import assert_never

import httpx

from .. import __version__
from ..core.config.model import Config, FeedConfig, redact
from ..core.content.excerpt import SUMMARY_LENGTH
from ..core.deciding import poll as feedpoll
from ..core.deciding.dated import DatesSaid, reading_settings, sort_out_dates
from ..core.records import (
    FailureKind,
    FeedReport,
    FeedState,
    FetchResult,
    Prepared,
    ReadFeed,
)
from ..core.rendering.profiles import PROFILES, Profile
from ..core.reporting.entries import add_entries, rule_changes
from ..core.reporting.status import quiet_for, quiet_reason
from ..core.scheduling import politeness
from ..errors import StoreFailed
from ..shell.fetch import Client, fetch
from ..shell.limits import RequestLimits
from ..shell.reader_pool import Readers, available_cores
from ..shell.store import StoreAPI as Store
from ..shell.store import utcnow
from ..shell.write import Flusher
from .apply import Applier
from .articles import Articles
from .place_images import Images
from ..errors import LayoutChanged
from .rebuild import check_layout
from ..core.deciding.filters import filter_key
from .withdrawals import finish_withdrawals, keep_feed, refilter

__all__ = ["output_problem", "poll_feed", "request_key", "run_feeds"]


log = logging.getLogger("ingest.run")  # the name people see in log lines, whatever the module's place
# A run forks its worker processes up front when more of its feeds than this were never read: each will
# be read whole, which costs about what forking the workers does.
FORK_FOR_UNREAD = 4
# Otherwise it reads this many bodies itself before it starts workers from a fork server: a changed feed
# is read item by item (a few milliseconds), and a fork server with its workers costs about 0.2 s of CPU.
READ_HERE_FIRST = 32



async def run_feeds(
    config: Config,
    feeds: Iterable[FeedConfig],
    store: Store,
    *,
    dry_run: bool = False,
    force: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    rng: random.Random | None = None,
) -> list[FeedReport]:
    """Fetch every feed once and process each as soon as its bytes arrive.

    ``force`` asks feeds even when their ``not_before`` lies ahead; retired
    feeds are never asked (``ingest reset`` brings them back). At most
    ``config.host_concurrency`` requests go to one host at a time, whatever
    the global ``concurrency``.
    """
    feeds = list(feeds)
    run = _Run.prepare(config, store, dry_run, rng)
    limits = RequestLimits(config.concurrency, config.host_concurrency)
    workers = min(available_cores(), len(feeds))
    workers = workers if workers > 1 else 0  # with one core, this process reads every feed
    lock = (store.lock_fd,) if store.lock_fd is not None else ()
    # Every feed's id first, in one transaction: a new feed's row is made there, not in a commit of its
    # own inside its poll's first step, where a thousand of them held up the first answers past their time.
    with store.batch():
        ids = [store.feed_id(feed.url, feed.name) for feed in feeds]
    # Feeds never read will be read whole: with enough of them the workers are forked now, sharing this
    # process's pages; else they start only if enough feeds change.
    whole = workers > 0 and store.unread(ids) > FORK_FOR_UNREAD
    with Readers(
        workers, pending=max(config.concurrency, 2 * workers), close_fds=lock, fork=whole, inline=READ_HERE_FIRST,
    ) as readers:
        async with Client(config.concurrency, transport) as client:
            reports = []
            # Tasks made here start in the config's order; as_completed would start bare coroutines in a set's.
            polls = [
                asyncio.ensure_future(run.poll(feed, client, limits, readers, force=force, feed_id=feed_id))
                for feed, feed_id in zip(feeds, ids, strict=True)
            ]
            for finished in asyncio.as_completed(polls):
                report = await finished
                reports.append(report)
                if on_feed:
                    on_feed(report)
    order = {feed.name: index for index, feed in enumerate(feeds)}
    return sorted(reports, key=lambda r: order[r.name])


async def poll_feed(
    config: Config,
    feed: FeedConfig,
    store: Store,
    client: Client,
    *,
    limits: RequestLimits | None = None,
    rng: random.Random | None = None,
    flusher: Flusher | None = None,
    checked: bool = False,
    feed_id: int | None = None,
    state: FeedState | None = None,
) -> FeedReport:
    """Poll one feed with a client and store that outlive it, for the daemon.

    Polls that share a ``flusher`` make their files durable in shared
    batches: a busy daemon pays for the disk once per batch, not per feed.

    Each poll is its own run: an entry seen in an earlier poll is judged by
    the store, not skipped as a duplicate of this one. The output layout
    concerns the whole config and reads every feed's row: a caller that
    polls many feeds under one config checks it once per load
    (``output_problem``) and passes ``checked``; without it the check is
    made here, for this one poll.
    """
    problem = None if checked else output_problem(config, store)
    if problem is not None:
        reason, kind = problem
        return FeedReport(feed.name, feed.url, status="failed", error=reason, kind=kind)
    run = _Run(config.output, store, False, rng or random.Random(), PROFILES[config.profile], config.body, flusher)
    run.articles.later = True  # the daemon asks article pages after the poll (``articles.extract_feed``)
    return await run.poll(
        feed, client, limits or RequestLimits(config.concurrency, config.host_concurrency), feed_id=feed_id,
        state=state,
    )


def output_problem(config: Config, store: Store) -> tuple[str, FailureKind] | None:
    """Why polls under ``config`` must fail (a layout that needs a rebuild, an output that cannot be made), or None.

    A config reloaded with another profile, body format or ``images:``
    setting fails its polls, asking for a rebuild, instead of mixing formats
    in one folder. The check reads every feed's row, so it is made once per
    configuration, never per poll.
    """
    try:
        check_layout(config, store, record=True)
        config.output.mkdir(parents=True, exist_ok=True)
    except (LayoutChanged, OSError) as exc:
        reason = f"cannot create {config.output}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        return reason, FailureKind.WRITE if isinstance(exc, OSError) else FailureKind.CONFIG
    return None


class _Run:
    """State shared by the feeds of one run: names handed out, entries seen."""

    def __init__(
        self, output: Path, store: Store, dry_run: bool, rng: random.Random, profile: Profile, body: str,
        flusher: Flusher | None = None,
    ):
        self.output = output
        self.flusher = flusher or Flusher()
        self._output_dir = os.fspath(output)
        self.store = store
        self.dry_run = dry_run
        self.rng = rng
        self.profile = profile
        self.body = body
        self.images = Images(store, self._output_dir, profile, body, dry_run=dry_run, rng=rng)
        self.applier = Applier(store, self._output_dir, profile, body, self.flusher, dry_run, images=self.images)
        self.articles = Articles(store, profile, body, dry_run=dry_run, rng=rng)

    @classmethod
    def prepare(
        cls, config: Config, store: Store, dry_run: bool, rng: random.Random | None, flusher: Flusher | None = None
    ) -> _Run:
        """A run over ``config``'s output, after checking its layout (and creating it, unless dry)."""
        check_layout(config, store, record=not dry_run)
        if not dry_run:
            config.output.mkdir(parents=True, exist_ok=True)
            finish_withdrawals(store, os.fspath(config.output))
        profile = PROFILES[config.profile]
        return cls(config.output, store, dry_run, rng or random.Random(), profile, config.body, flusher)

    async def poll(
        self, feed: FeedConfig, client: Client, limits: RequestLimits,
        readers: Readers | None = None, *, force: bool = False, feed_id: int | None = None,
        state: FeedState | None = None,
    ) -> FeedReport:
        """Poll one feed, with its filter rules applied to its stored entries first and its ``keep:`` after.

        Neither awaits, so like ``process`` they never race another feed.
        ``feed_id``: the feed's id when the caller knows it already (the
        daemon resolves it once per loaded config), saving the lookup;
        ``state``: its row without the last body's hashes, when the caller
        read it already (a cluster node's claim returns it).
        """
        if feed_id is None:
            feed_id = self.store.feed_id(feed.url, feed.name)
        if self.dry_run:
            return await self._poll(feed, client, limits, readers, force=force, feed_id=feed_id)
        # one read for the rules' key and the poll's plan, without the remembered hashes a waiting poll must not hold
        if state is None:
            state = self.store.feed_state(feed_id, memory=False)
        stored_key = state.filter_key if state is not None else None
        before = await refilter(
            self.store, self._output_dir, self.profile, self.body, feed, feed_id, utcnow(), applier=self.applier,
            stored_key=stored_key,
        )
        # the state read above still holds unless the rules were applied again (read it afresh then)
        same_rules = state is not None and stored_key == filter_key(feed.include, feed.exclude)
        report = await self._poll(
            feed, client, limits, readers, force=force, feed_id=feed_id, state=state if same_rules else None
        )
        # entry images (images: download) whose time has come are tried again, whatever the feed said
        await self.images.after_poll(
            feed, feed_id, client, limits, report, utcnow(), self.applier.apply_stored, force=force
        )
        await self.articles.after_poll(feed, feed_id, client, limits, readers, self.applier, report, force=force)
        kept = keep_feed(self.store, self._output_dir, feed_id, feed.keep, utcnow())
        add_entries(report, rule_changes(self._output_dir, before.written, before.removed, kept.removed,
                                         before.held + kept.held))
        report.quiet = self._quiet(feed, feed_id, report)
        return report

    def _quiet(self, feed: FeedConfig, feed_id: int, report: FeedReport) -> str | None:
        """Why the feed counts as quiet after this poll (``expect_new_within``), or None."""
        if feed.expect_new_within is None or report.status not in ("ok", "not-modified", "same-content"):
            return None
        now = utcnow()
        last_new = now if report.new else self.store.last_new_entry(feed_id)
        if quiet_for(feed.expect_new_within, now, last_new, now) is None:
            return None
        return quiet_reason(feed.expect_new_within, last_new, now)

    async def _poll(
        self, feed: FeedConfig, client: Client, limits: RequestLimits,
        readers: Readers | None = None, *, feed_id: int, force: bool = False, state: FeedState | None = None,
    ) -> FeedReport:
        """Fetch one feed (unless it is retired or asked us to wait), read it and apply it.

        Reading may happen in another process; applying (``process``) never
        awaits, so feeds polled concurrently are applied one at a time and
        never race for the store or a file name.
        """
        readers = readers or Readers.inline()
        request = feedpoll.PollRequest(feed.name, feed.url, request_key(feed), self.settings_key(feed), force)
        plan = feedpoll.plan_poll(
            state if state is not None else self.store.feed_state(feed_id, memory=False), request, utcnow()
        )
        if not self.dry_run:
            if plan.reset:
                self.store.reset(feed_id)
            if plan.note_key is not None:
                self.store.note_request(feed_id, plan.note_key)
        if plan.state is not None and not plan.asked:
            return feedpoll.not_asked(feed.name, feed.url, plan.state)
        url, validators = plan.url, plan.validators
        # A run's polls all start at once and most wait below for a slot: each holds its state as read
        # above, without what the store remembers of the feed's last body (every entry's and item's hash,
        # about 10 KB), which is read again only when a body is read, so waiting feeds hold next to nothing.
        state = plan.state
        del plan
        try:
            async with readers.pending or contextlib.nullcontext():
                async with limits.slot(url):
                    if not force and (waiting := self._host_waits(feed, feed_id, url)) is not None:
                        return waiting
                    result = await fetch(client, feed, validators, url=url)
                decision = feedpoll.decide_poll(state, request, result, None, utcnow(), self.rng)
                read = None
                if isinstance(decision, feedpoll.ReadBody):
                    salt = f"{request.settings} {result.final_url} {feed_id}"
                    remembered = self.store.feed_state(feed_id) if state is not None else None
                    known = remembered.entry_sources if remembered is not None else frozenset()
                    items = remembered.item_tokens if remembered is not None else frozenset()
                    del remembered
                    read = await readers.read(
                        result, feed, str(feed_id), self.profile.name, self.body, salt, known, items
                    )
                if read is not None and read.error is None:  # entry images, fetched while no feed is being applied
                    read = await self.articles.read(feed, feed_id, result.final_url, read, client, limits, readers, force)
                    articles = [item.article for item in read.entries if isinstance(item, Prepared)]
                    await self.images.prefetch(
                        feed, feed_id, result.final_url, articles, client, limits, utcnow(), force=force
                    )
        except Exception as exc:  # a bug must not stop the other feeds, and the failure is recorded
            log.exception("unexpected error polling %s", feed.name)
            report = FeedReport(feed.name, feed.url)
            now = utcnow()
            error = f"internal error: {type(exc).__name__}: {exc}"
            self._record(feed_id, feedpoll.failed(state, error, FailureKind.INTERNAL, now, self.rng), now, report)
            return report
        return await self.process(feed, feed_id, result, utcnow(), state, request, read)

    async def process(
        self, feed: FeedConfig, feed_id: int, result: FetchResult, now: datetime,
        state: FeedState | None, request: feedpoll.PollRequest, read: ReadFeed | None,
    ) -> FeedReport:
        """Apply a fetched feed: ``read`` is None when its bytes need no reading (304, same body)."""
        report = FeedReport(feed.name, feed.url, elapsed=result.elapsed)
        try:
            decision = feedpoll.decide_poll(state, request, result, read, now, self.rng)
            if isinstance(decision, feedpoll.Succeed) and decision.read and read is not None:
                dates = sort_out_dates(read)  # held entries wait
                _say_reading(report, read, decision.warning, dates)
                sources: list[str] = []
                write_errors = await self.applier.apply(feed, feed_id, dates.entries, now, report, sources)
                if write_errors:
                    more = f" (and {len(write_errors) - 1} more)" if len(write_errors) > 1 else ""
                    error = write_errors[0] + more
                    decision = feedpoll.failed(state, error, FailureKind.WRITE, now, self.rng, backoff=False)
                else:
                    tokens = [read.items[s] for s in sources if s in read.items]
                    # a held entry is read again at every poll until its day: the body is not remembered
                    body_hash = decision.body_hash if not dates.held else None
                    decision = replace(decision, sources=tuple(sources), tokens=tuple(tokens), body_hash=body_hash)
            self._record(feed_id, decision, now, report)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("unexpected error processing %s", feed.name)
            error = f"internal error: {type(exc).__name__}: {exc}"
            self._record(feed_id, feedpoll.failed(state, error, FailureKind.INTERNAL, now, self.rng), now, report)
        return report

    def _host_waits(self, feed: FeedConfig, feed_id: int, url: str) -> FeedReport | None:
        """The report of a feed not asked because its host asked every client to wait (429/503), or None."""
        host = politeness.host_key(url)
        now = utcnow()
        wait = self.store.host_wait(host, now) if host else None
        if wait is None:
            return None
        until, reason = wait
        report = FeedReport(feed.name, feed.url)
        self._record(feed_id, feedpoll.Defer(f"its host {host} asked every client to wait: {reason}", until), now, report)
        return report

    def _record(self, feed_id: int, decision: feedpoll.PollDecision, now: datetime, report: FeedReport) -> None:
        """Carry out the poll's decision in the store, and say it in the report."""
        match decision:
            case feedpoll.Retire(reason=reason, error=error):
                report.status, report.kind, report.error = "failed", FailureKind.GONE, error
                if not self.dry_run:
                    report.recorded = self.store.retire(feed_id, reason, now)
            case feedpoll.Defer(error=error, until=until, host=host):
                report.status, report.until, report.error = "deferred", until, error
                if not self.dry_run:
                    report.recorded = self.store.record_deferred(feed_id, error, now, until)
                    if host is not None:  # the host asked every client to wait: its other feeds wait too
                        self.store.defer_host(host, until, error)
            case feedpoll.Fail(error=error, kind=kind, until=until):
                report.status, report.kind, report.error, report.until = "failed", kind, error, until
                if not self.dry_run:
                    try:
                        report.recorded = self.store.record_failure(feed_id, error, now, not_before=until)
                    except StoreFailed as exc:  # a full disk can refuse the store too
                        report.notes.append(f"the failure could not be recorded in the store: {exc}")
            case feedpoll.Succeed():
                self._succeeded(feed_id, decision, now, report)
            case feedpoll.ReadBody():  # decided before reading; never what a poll comes to
                raise AssertionError("a poll's new bytes were not read")
            case _:
                assert_never(decision)

    def _succeeded(self, feed_id: int, decision: feedpoll.Succeed, now: datetime, report: FeedReport) -> None:
        report.status = decision.status
        if not self.dry_run:
            report.recorded = self.store.record_success(
                feed_id, decision.validators, now,
                not_before=decision.not_before, body_hash=decision.body_hash, ttl_minutes=decision.ttl,
                entry_sources=list(decision.sources) if decision.read else None,
                item_tokens=list(decision.tokens) if decision.read else None,
            )
            if decision.migrate_to:
                self.store.note_redirect(feed_id, pending=None, moved_to=decision.migrate_to)
            elif decision.pending_changed:
                self.store.note_redirect(feed_id, pending=decision.pending, moved_to=None)
        if self.dry_run:
            return
        if decision.migrate_to:
            report.notes.append(f"moved permanently to {redact(decision.migrate_to)}; polled there from now on")
        elif decision.pending_changed and decision.pending:
            report.notes.append(
                f"permanent redirect to {redact(decision.pending)}; the feed moves there if the next poll agrees"
            )

    def settings_key(self, feed: FeedConfig) -> str:
        """Everything besides the feed's bytes that decides what its files say.

        Stored with the body hash: when it changes (the feed's categories,
        tags or draft setting, the output format, a new ingest version), the
        next poll asks without validators and processes the whole feed again,
        so the change reaches the files without waiting for new content.
        Validators are sent only when the stored body hash starts with it.
        """
        settings = (__version__, feed.url, feed.categories, feed.tags, feed.draft, self.profile.name, self.body)
        # summary_length (and each reading setting) counts only when it is not the default, so stores from
        # before the setting keep their key: a run then rewrites no file whose
        # entry did not change (``ingest rebuild`` applies the rule to those).
        limit: tuple[int | str, ...] = (feed.summary_length,) if feed.summary_length != SUMMARY_LENGTH else ()
        limit += (feed.content,) if feed.content != "feed" else ()  # likewise, turning extraction on
        return hashlib.sha256(repr(settings + limit + reading_settings(feed)).encode()).hexdigest()[:16]


def _say_reading(report: FeedReport, read: ReadFeed, warning: str | None, dates: DatesSaid) -> None:
    """What reading the feed said, on its line: how its bytes were decoded, what was forgiven, what dates did."""
    if read.encoding:
        report.encoding = read.encoding
        report.notes.append(f"read as {read.encoding}")
    if warning:
        report.notes.append(warning)
    report.notes += dates.notes
    report.untrusted_dates, report.held_dates = dates.untrusted, dates.held


def request_key(feed: FeedConfig) -> str:
    """A hash of everything that decides what a poll of ``feed`` asks for."""
    auth = (feed.auth.username, feed.auth.password) if feed.auth else None
    asked = (feed.url, feed.headers, feed.user_agent, auth)
    return hashlib.sha256(repr(asked).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class _WriteFailed(Exception):
    """Some entries of a feed could not be written; the others were."""
