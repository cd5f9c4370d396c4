"""Wire the stages together for one feed and for a whole run.

Fetches run concurrently; everything after the fetch (parse, normalize,
decide, write, record) runs one feed at a time on the event loop thread, so
the store and the file names it hands out never race. Before a feed is
requested its stored state is checked: a retired feed (410) is not asked at
all, and a feed whose ``not_before`` lies ahead (server hint, Retry-After or
error backoff) is reported as deferred unless the run is forced. A file is
claimed in the store before it is written and confirmed after it is flushed,
so a crash at any point is repaired by the next run writing the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from .. import __version__

from ..core import policy
from ..core.config import Config, FeedConfig
from ..core.edits import Resolution, resolve
from ..core.excerpt import SUMMARY_LENGTH
from ..shell.fetch import Client, fetch, redact
from ..core.records import FetchResult, Validators
from ..core.normalize import Article, article_to_json
from ..core.profiles import PROFILES, Profile
from ..shell.reading import EntryFailure, Prepared, Readers, ReadFeed, Unchanged, available_cores
from .rebuild import LayoutChanged, base_text, check_layout
from ..core.render import render
from ..core.reuse import adopt_earlier_files
from .selection import admits, judged, keep_feed, refilter, withdraw
from ..core.dedupe import Action, decide
from ..shell.store import StoreAPI as Store, content_hash, utcnow
from ..errors import StoreFailed
from ..core.records import FeedState, StoredEntry
from ..shell.write import flush, read_text, same_bytes, write_atomic
from ..core.records import FeedReport

log = logging.getLogger("ingest.run")  # the name people see in log lines, whatever the module's place

# Names a site builder treats specially (Hugo's section and leaf bundle pages).
RESERVED_SLUGS = frozenset({"index", "_index"})


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
    lock = (store.lock_fd,) if store.lock_fd is not None else ()
    with Readers(workers, pending=max(config.concurrency, 2 * workers), close_fds=lock) as readers:
        async with Client(config.concurrency, transport) as client:
            reports = []
            # Tasks made here start in the config's order; as_completed would start bare coroutines in a set's.
            polls = [asyncio.ensure_future(run.poll(feed, client, limits, readers, force=force)) for feed in feeds]
            for finished in asyncio.as_completed(polls):
                report = await finished
                reports.append(report)
                if on_feed:
                    on_feed(report)
    order = {feed.name: index for index, feed in enumerate(feeds)}
    return sorted(reports, key=lambda r: order[r.name])


def describe(report: FeedReport) -> str:
    """What a feed did, in the words of ``ingest run``'s line and the daemon's poll event."""
    notes = "".join(f"; {note}" for note in report.notes)
    if report.status == "retired":
        return (
            f"retired since {when(report.until)}: {report.error}; not polled, "
            f"'ingest reset {report.name}' to poll it again"
        )
    if report.status == "deferred":
        return f"deferred until {when(report.until)}: {report.error}"
    if report.failed:
        written = len(report.new) + len(report.updated)
        wrote = f" ({written} other file{'s' if written != 1 else ''} written)" if written else ""
        retry = f"; next attempt after {when(report.until)}" if report.until else ""
        return f"failed: {report.error}{wrote}{retry}"
    rules = "".join(f", {part}" for part in _rule_parts(report))
    if report.status == "not-modified":
        return f"unchanged (not modified){rules}{notes}"
    if report.status == "same-content":
        return f"unchanged (same content){rules}{notes}"
    parts = [f"{len(report.new)} new", f"{len(report.updated)} updated", f"{report.unchanged} unchanged"]
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    parts += _rule_parts(report)
    if report.merged:
        parts.append(f"{len(report.merged)} merged with your edits: {', '.join(report.merged)}")
    if report.kept:
        parts.append(f"{len(report.kept)} updated upstream, kept your edits: {', '.join(report.kept)}")
    return ", ".join(parts) + notes


def _rule_parts(report: FeedReport) -> list[str]:
    """What the feed's filter rules and ``keep:`` did, for its line."""
    parts = []
    if report.filtered:
        parts.append(f"{report.filtered} filtered")
    if report.removed:
        parts.append(f"{len(report.removed)} removed by the filters")
    if report.pruned:
        parts.append(f"{len(report.pruned)} pruned (keep)")
    if report.held:
        parts.append(f"{len(report.held)} edited by you, left in place: {', '.join(report.held)}")
    return parts


def when(moment: datetime | None) -> str:
    """A moment in UTC to the second, as every line of output shows it."""
    if moment is None:
        return "-"
    return moment.astimezone(utcnow().tzinfo).strftime("%Y-%m-%d %H:%M:%S UTC")


async def poll_feed(
    config: Config,
    feed: FeedConfig,
    store: Store,
    client: Client,
    *,
    limits: RequestLimits | None = None,
    rng: random.Random | None = None,
    flusher: Flusher | None = None,
) -> FeedReport:
    """Poll one feed with a client and store that outlive it, for the daemon.

    Polls that share a ``flusher`` make their files durable in shared
    batches: a busy daemon pays for the disk once per batch, not per feed.

    Each poll is its own run: an entry seen in an earlier poll is judged by
    the store, not skipped as a duplicate of this one. The output layout is
    checked on every poll, so a config reloaded with another profile or body
    format fails its polls (asking for a rebuild) instead of mixing formats.
    """
    try:
        run = _Run.prepare(config, store, False, rng, flusher)
    except (LayoutChanged, OSError) as exc:
        reason = f"cannot create {config.output}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        return FeedReport(feed.name, feed.url, status="failed", error=reason)
    return await run.poll(feed, client, limits or RequestLimits(config.concurrency, config.host_concurrency))


class Flusher:
    """Makes written files durable in batches, off the event loop.

    A feed's files are written, then handed here; its claims are confirmed
    in the store only once this says they are on disk, so the crash
    guarantees stay what they were. While one batch is being synced, the
    files of feeds that finish meanwhile wait together for the next: the
    disk is asked once per batch, and the loop goes on fetching and writing
    other feeds in the meantime.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[list[str], asyncio.Future[None]]] = []
        self._syncing: asyncio.Task[None] | None = None

    async def flush(self, paths: list[str]) -> None:
        """Return once ``paths`` are durable; OSError if the file system could not write them."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((paths, done))
        if self._syncing is None or self._syncing.done():
            self._syncing = asyncio.ensure_future(self._sync())
        await done

    async def _sync(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(flush, [path for paths, _done in batch for path in paths])
            except OSError as exc:  # every file of the batch stays unconfirmed, and is written again next time
                for _paths, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _paths, done in batch:
                    if not done.done():
                        done.set_result(None)


class RequestLimits:
    """At most ``concurrency`` requests in flight, and at most ``per_host`` to any one host.

    ``concurrency=None`` leaves the global bound to the caller (the daemon
    bounds whole polls itself).
    """

    def __init__(self, concurrency: int | None, per_host: int):
        self._all = asyncio.Semaphore(concurrency) if concurrency else None
        self._per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}

    def slot(self, url: str) -> _Slot:
        """Both bounds, held for one request to ``url`` (``async with``)."""
        host = (urlsplit(url).hostname or "").lower()
        host_limit = self._hosts.get(host)
        if host_limit is None:
            host_limit = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return _Slot(host_limit, self._all)


class _Slot:
    """A class rather than an ``asynccontextmanager``: every request takes one, and a generator costs more."""

    __slots__ = ("_host", "_all")

    def __init__(self, host: asyncio.Semaphore, every: asyncio.Semaphore | None):
        self._host = host
        self._all = every

    async def __aenter__(self) -> None:
        await self._host.acquire()
        if self._all is not None:
            try:
                await self._all.acquire()
            except BaseException:  # cancelled while waiting: give the host's slot back
                self._host.release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        if self._all is not None:
            self._all.release()
        self._host.release()


def _not_asked(feed: FeedConfig, state: FeedState) -> FeedReport:
    """The report of a feed skipped on purpose, saying why and until when."""
    report = FeedReport(feed.name, feed.url)
    if state.retired_at:
        report.status = "retired"
        report.error = state.retired_reason
        report.until = state.retired_at
        return report
    report.status = "deferred"
    report.until = state.not_before
    if state.error_count:
        plural = "s" if state.error_count != 1 else ""
        report.backing_off = True
        report.error = (
            f"backing off after {state.error_count} failure{plural} in a row; last: {state.last_error}; "
            f"'ingest run --force' asks it now, 'ingest reset {feed.name}' forgets the failures"
        )
    elif state.last_error:
        report.error = state.last_error
    else:
        report.error = "the server's caching headers or <ttl> ask not to poll before then"
    return report


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
        self.claimed: set[str] = set()  # slugs given out in a dry run, which claims nothing in the store
        self.seen: set[str] = set()
        self.made_dirs: set[str] = set()

    @classmethod
    def prepare(
        cls, config: Config, store: Store, dry_run: bool, rng: random.Random | None, flusher: Flusher | None = None
    ) -> _Run:
        """A run over ``config``'s output, after checking its layout (and creating it, unless dry)."""
        check_layout(config, store, record=not dry_run)
        if not dry_run:
            config.output.mkdir(parents=True, exist_ok=True)
        profile = PROFILES[config.profile]
        return cls(config.output, store, dry_run, rng or random.Random(), profile, config.body, flusher)

    async def poll(
        self, feed: FeedConfig, client: Client, limits: RequestLimits,
        readers: Readers | None = None, *, force: bool = False,
    ) -> FeedReport:
        """Poll one feed, with its filter rules applied to its stored entries first and its ``keep:`` after.

        Neither awaits, so like ``process`` they never race another feed.
        """
        if self.dry_run:
            return await self._poll(feed, client, limits, readers, force=force)
        feed_id = self.store.feed_id(feed.url, feed.name)
        before = refilter(self.store, self._output_dir, self.profile, self.body, feed, feed_id, utcnow())
        report = await self._poll(feed, client, limits, readers, force=force)
        kept = keep_feed(self.store, self._output_dir, feed_id, feed.keep, utcnow())
        report.new += [os.path.join(self._output_dir, name) for name in before.written]
        report.removed += before.removed
        report.pruned += kept.removed
        report.held += before.held + kept.held
        return report

    async def _poll(
        self, feed: FeedConfig, client: Client, limits: RequestLimits,
        readers: Readers | None = None, *, force: bool = False,
    ) -> FeedReport:
        """Fetch one feed (unless it is retired or asked us to wait), read it and apply it.

        Reading may happen in another process; applying (``process``) never
        awaits, so feeds polled concurrently are applied one at a time and
        never race for the store or a file name.
        """
        readers = readers or Readers.inline()
        feed_id = self.store.feed_id(feed.url, feed.name)
        state = self._current_state(feed, feed_id)
        if state is not None and (state.retired_at or (not force and state.waiting(utcnow()))):
            return _not_asked(feed, state)
        url = state.fetch_url if state else feed.url
        settings = self.settings_key(feed)
        current = bool(state and state.body_hash and state.body_hash.startswith(settings + ":"))
        validators = state.validators if state is not None and current else Validators()
        try:
            async with readers.pending or contextlib.nullcontext():
                async with limits.slot(url):
                    result = await fetch(client, feed, validators, url=url)
                key = None
                if result.ok and not result.not_modified:
                    key = f"{settings}:{hashlib.sha256(result.content).hexdigest()}"
                read = None
                if key is not None and not (state is not None and state.body_hash == key):
                    salt = f"{settings} {result.final_url} {feed_id}"
                    known = state.entry_sources if state is not None else frozenset()
                    read = await readers.read(result, feed, str(feed_id), self.profile.name, self.body, salt, known)
        except Exception as exc:  # a bug must not stop the other feeds, and the failure is recorded
            log.exception("unexpected error polling %s", feed.name)
            report = FeedReport(feed.name, feed.url)
            self._fail(report, feed_id, f"internal error: {type(exc).__name__}: {exc}", utcnow(), state)
            return report
        return await self.process(feed, feed_id, result, utcnow(), state, key, read)

    async def process(
        self, feed: FeedConfig, feed_id: int, result: FetchResult, now: datetime,
        state: FeedState | None, key: str | None, read: ReadFeed | None,
    ) -> FeedReport:
        """Apply a fetched feed: ``read`` is None when its bytes need no reading (304, same body)."""
        report = FeedReport(feed.name, feed.url, elapsed=result.elapsed)
        try:
            if not result.ok:
                self._fetch_failed(feed, feed_id, result, now, state, report)
                return report
            body_hash = None
            ttl = state.ttl_minutes if state else None
            sources: list[str] = []
            if result.not_modified:
                report.status = "not-modified"
            elif read is None:
                report.status = "same-content"  # a 200 with the very same bytes: nothing to parse
            elif read.error is not None:
                self._fail(report, feed_id, f"{read.error} ({redact(result.final_url)})", now, state)
                return report
            else:
                if read.warning:
                    report.notes.append(read.warning)
                write_errors = await self._apply_all(feed, feed_id, read.entries, now, report, sources)
                if write_errors:
                    more = f" (and {len(write_errors) - 1} more)" if len(write_errors) > 1 else ""
                    raise _WriteFailed(write_errors[0] + more)
                body_hash = key
                ttl = read.ttl or 0.0
            if not self.dry_run:
                self.store.record_success(
                    feed_id, result.validators, now,
                    not_before=policy.cache_hint(result.headers, ttl, now), body_hash=body_hash, ttl_minutes=ttl,
                    entry_sources=sources if read is not None else None,
                )
                self._redirects(feed_id, result, state, report)
        except _WriteFailed as exc:
            self._fail(report, feed_id, str(exc), now, state, backoff=False)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("unexpected error processing %s", feed.name)
            self._fail(report, feed_id, f"internal error: {type(exc).__name__}: {exc}", now, state)
        return report

    def _current_state(self, feed: FeedConfig, feed_id: int) -> FeedState | None:
        """The feed's stored state, less what was learned asking for something else.

        Failures, backoff, deferral and retirement were recorded for one
        request: once the config asks differently (a fixed URL, new headers
        or credentials), they no longer apply and the feed is asked at once.
        """
        state = self.store.feed_state(feed_id)
        if state is None:
            return None
        key = request_key(feed)
        if state.request_key == key:
            return state
        if state.request_key is not None and state.troubled:
            state = replace(
                state, error_count=0, last_error=None, not_before=None, retired_at=None, retired_reason=None
            )
            if not self.dry_run:
                self.store.reset(feed_id)
        if not self.dry_run:
            self.store.note_request(feed_id, key)
        return state

    def settings_key(self, feed: FeedConfig) -> str:
        """Everything besides the feed's bytes that decides what its files say.

        Stored with the body hash: when it changes (the feed's categories,
        tags or draft setting, the output format, a new ingest version), the
        next poll asks without validators and processes the whole feed again,
        so the change reaches the files without waiting for new content.
        Validators are sent only when the stored body hash starts with it.
        """
        settings = (__version__, feed.url, feed.categories, feed.tags, feed.draft, self.profile.name, self.body)
        # summary_length counts only when it is not the default, so stores from
        # before the setting keep their key: a run then rewrites no file whose
        # entry did not change (``ingest rebuild`` applies the rule to those).
        limit = (feed.summary_length,) if feed.summary_length != SUMMARY_LENGTH else ()
        return hashlib.sha256(repr(settings + limit).encode()).hexdigest()[:16]

    async def _apply_all(
        self, feed: FeedConfig, feed_id: int, entries: list[Prepared | Unchanged | EntryFailure], now: datetime,
        report: FeedReport, sources: list[str],
    ) -> list[str]:
        """Apply every entry of one feed; return what could not be written.

        Every entry to write is first claimed in the store (state
        ``pending``, with its file name), all in one transaction. Then the
        files are written, flushed to disk together, and confirmed in a
        second transaction. After a crash anywhere in between, the next run
        finds the claims and writes those same files again: never a second
        file, never a lost entry. An entry that cannot be read or written is
        reported; the others go on. ``sources`` gets the source hash of every
        entry decided, for the next poll to skip the ones that stay the same.
        """
        errors: list[str] = []
        planned: list[_Planned] = []
        try:
            with self.store.batch():
                entries = adopt_earlier_files(entries, feed_id, self.store.stored_entries)
                identities = [item.article.identity for item in entries if isinstance(item, Prepared)]
                stored = self.store.stored_entries(identities)
                for item in entries:
                    if isinstance(item, Unchanged):
                        report.unchanged += 1
                        sources.append(item.source)
                        continue
                    if isinstance(item, EntryFailure):
                        log.error("entry %d of %s skipped:\n%s", item.index, feed.name, item.details or item.error)
                        report.notes.append(f"entry {item.index} skipped: {item.error}")
                        continue
                    try:
                        plan = self._decide(item, stored.get(item.article.identity), feed, feed_id, now, report)
                    except (sqlite3.Error, StoreFailed):
                        raise
                    except OSError as exc:
                        errors.append(_cannot_write(exc))
                    except Exception as exc:  # one odd entry must not cost the others
                        article = item.article
                        log.exception("entry %s of %s", article.identity, feed.name)
                        reason = f"{type(exc).__name__}: {exc}"
                        report.notes.append(f"entry {article.link or article.identity} skipped: {reason}")
                    else:
                        sources.append(item.source)
                        if plan is not None:
                            planned.append(plan)
        except (sqlite3.Error, StoreFailed) as exc:  # nothing was claimed, so nothing is written; the next run tries again
            return [f"cannot record the feed's entries in the store: {exc}"]
        written: list[_Planned] = []
        for plan in planned:
            try:
                if not same_bytes(plan.path, plan.text):
                    directory = os.path.dirname(plan.path)
                    if directory not in self.made_dirs:
                        os.makedirs(directory, exist_ok=True)
                        self.made_dirs.add(directory)
                    write_atomic(plan.path, plan.text, sync=False)
            except OSError as exc:
                errors.append(_cannot_write(exc))
            else:
                plan.done.append(plan.path)
                written.append(plan)
        if written:
            try:
                await self.flusher.flush([plan.path for plan in written])
            except OSError as exc:  # the claims stay pending: the next run writes these files again
                errors.append(_cannot_write(exc))
                return errors
            try:
                self.store.confirm((plan.identity for plan in written), now)
            except (sqlite3.Error, StoreFailed) as exc:  # the files stand; the next run confirms them
                errors.append(f"cannot record the written files in the store: {exc}")
        return errors

    def _fetch_failed(
        self, feed: FeedConfig, feed_id: int, result: FetchResult, now: datetime,
        state: FeedState | None, report: FeedReport,
    ) -> None:
        """410 retires the feed, 429/503 with Retry-After defers it, anything else backs off."""
        where = redact(result.final_url)
        if result.status == 410:
            reason = f"{result.error} ({where})"
            report.status = "failed"
            report.error = f"{reason}: feed retired, no more polls until 'ingest reset {feed.name}'"
            if not self.dry_run:
                self.store.retire(feed_id, reason, now)
            return
        until = policy.retry_after(result.headers.get("retry-after"), now) if result.status in (429, 503) else None
        if until is not None:
            report.status = "deferred"
            report.until = until
            report.error = f"{result.error}: the server asked to retry later ({where})"
            if not self.dry_run:
                self.store.record_deferred(feed_id, report.error, now, until)
            return
        self._fail(report, feed_id, f"{result.error} ({where})", now, state)

    def _fail(
        self, report: FeedReport, feed_id: int, error: str, now: datetime, state: FeedState | None,
        *, backoff: bool = True,
    ) -> None:
        """Record a failure; ``backoff=False`` for local faults (a full disk) that waiting on the server cannot fix."""
        report.status = "failed"
        report.error = error
        errors = (state.error_count if state else 0) + 1
        report.until = policy.backoff(errors, now, self.rng) if backoff else None
        if not self.dry_run:
            try:
                self.store.record_failure(feed_id, error, now, not_before=report.until)
            except (sqlite3.Error, StoreFailed) as exc:  # a full disk can refuse the store too; the report still says why
                report.notes.append(f"the failure could not be recorded in the store: {exc}")

    def _redirects(self, feed_id: int, result: FetchResult, state: FeedState | None, report: FeedReport) -> None:
        """Move the feed only on a confirmed permanent redirect; a temporary one changes nothing."""
        pending = state.pending_redirect if state else None
        target = policy.permanent_target(result.hops)
        decision = policy.decide_redirect(result.url, target, pending)
        if decision.migrate_to:
            self.store.note_redirect(feed_id, pending=None, moved_to=decision.migrate_to)
            report.notes.append(f"moved permanently to {redact(decision.migrate_to)}; polled there from now on")
        elif decision.pending != pending:
            self.store.note_redirect(feed_id, pending=decision.pending, moved_to=None)
            if decision.pending:
                report.notes.append(
                    f"permanent redirect to {redact(decision.pending)}; the feed moves there if the next poll agrees"
                )

    def _decide(
        self, prepared: Prepared, stored: StoredEntry | None, feed: FeedConfig, feed_id: int, now: datetime,
        report: FeedReport,
    ) -> _Planned | None:
        """Decide about one entry and claim its file name; what to write, if anything.

        ``stored`` is what the store had for the entry when the feed's turn came.
        """
        article = prepared.article
        if article.identity in self.seen:
            report.skipped += 1
            return None
        self.seen.add(article.identity)
        first_seen = stored.first_seen if stored else now
        if article.date is None:
            article = replace(article, date=first_seen.date(), published=first_seen)
        if judged(stored, feed_id) and not admits(feed, article):
            self._hold_back(prepared, article, stored, feed_id, now, report)
            return None
        revived = stored is not None and stored.hidden == "filtered"  # the entry changed and the rules now admit it
        if stored is not None:
            article = replace(article, slug=stored.given_slug)
            name = stored.path
            text = self._render(article, prepared)
        else:
            article, name, text = self._name_new(article, prepared)
        digest = prepared.digest if text is prepared.text else content_hash(text)
        action = decide(stored, feed_id, digest)
        if revived and stored is not None:
            action = Action.NEW if stored.written_hash is None else Action.CHANGED
        if action is Action.UNCHANGED:
            if stored is not None and stored.article is None and not self.dry_run:
                self.store.save_article(article.identity, self._json(article, prepared))
            report.unchanged += 1
            return None
        if action in (Action.OTHER_FEED, Action.DELETED):
            report.skipped += 1
            return None
        path = os.path.join(self._output_dir, name)
        data = self._json(article, prepared)
        # A claim a stopped run left is new unless its file had been written before (an update)
        first = action is Action.NEW or (action is Action.PENDING and stored is not None and stored.written_hash is None)
        done = report.new if first else report.updated
        base = None
        current = read_text(path) if stored is not None else None
        if stored is not None and (current is not None or (action is Action.CHANGED and not revived)):
            outcome = resolve(feed.edits, current, stored.ours, text, lambda: base_text(stored, self.profile, self.body))
            if outcome.resolution is Resolution.DELETED:
                # The user deleted the file: remember that, and never bring it back.
                if not self.dry_run:
                    self.store.save_entry(
                        article.identity, feed_id, name, digest, "deleted", now, slug=article.slug, article=data
                    )
                report.skipped += 1
                return None
            if outcome.resolution is Resolution.KEEP:
                report.kept.append(name)
                if not self.dry_run:
                    self.store.keep_edit(article.identity, digest, data, stored.base_article, now)
                return None
            if outcome.resolution is Resolution.MERGE:
                report.merged.append(name)
                done, base = report.updated, stored.base_article
            text = outcome.text or text
        if self.dry_run:
            done.append(path)
            return None
        self.store.save_entry(
            article.identity, feed_id, name, digest, "pending", now, slug=article.slug, article=data, base=base
        )
        return _Planned(article.identity, path, text, done)

    def _hold_back(
        self, prepared: Prepared, article: Article, stored: StoredEntry | None, feed_id: int, now: datetime,
        report: FeedReport,
    ) -> None:
        """An entry the feed's rules keep out: recorded with a name, or its earlier file withdrawn."""
        report.filtered += 1
        if stored is None or stored.state == "deleted":
            if stored is None:
                article, name, text = self._name_new(article, prepared)
            else:
                article, name = replace(article, slug=stored.given_slug), stored.path
                text = self._render(article, prepared)
            if not self.dry_run:
                data = self._json(article, prepared)
                self.store.save_filtered(
                    article.identity, feed_id, name, content_hash(text), now, slug=article.slug, article=data
                )
            return
        if not self.dry_run:  # written before: its file goes, unless the owner edited it
            done = withdraw(self.store, self._output_dir, [stored], "filtered", now, states=("written", "pending"))
            report.removed += done.removed
            report.held += done.held

    def _render(self, article: Article, prepared: Prepared) -> str:
        """The file's text, as the worker rendered it unless the run changed the Article."""
        if prepared.text is not None and article == prepared.article:
            return prepared.text
        return render(article, self.profile, self.body)

    def _json(self, article: Article, prepared: Prepared) -> str:
        return prepared.data if article == prepared.article else article_to_json(article)

    def _name_new(self, article: Article, prepared: Prepared) -> tuple[Article, str, str]:
        """Give a new entry a slug and a file name no other entry or user file has.

        The first entry with a slug gets it plain; another entry with the same
        slug gets a suffix derived from its own identity. Slugs are unique
        whatever the profile's file-name pattern, so switching profiles never
        makes two entries collide. Names are kept in the store, so they never
        change afterwards. A user's file is never overwritten, but a file with
        exactly the bytes we would write is ours from an interrupted run and
        is adopted.
        """
        for slug in slug_candidates(article.slug, article.identity):
            name = self.profile.path_for(slug, article.date)
            if slug in self.claimed or self.store.name_taken(slug, name):
                continue
            candidate = article if slug == article.slug else replace(article, slug=slug)
            text = self._render(candidate, prepared)
            path = os.path.join(self._output_dir, name)
            if os.path.exists(path) and not same_bytes(path, text):
                continue
            if self.dry_run:  # otherwise the claim in the store holds the slug
                self.claimed.add(slug)
            return candidate, name, text
        raise RuntimeError(f"no free file name for {article.slug!r}")


def request_key(feed: FeedConfig) -> str:
    """A hash of everything that decides what a poll of ``feed`` asks for."""
    auth = (feed.auth.username, feed.auth.password) if feed.auth else None
    asked = (feed.url, feed.headers, feed.user_agent, auth)
    return hashlib.sha256(repr(asked).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def slug_candidates(slug: str, identity: str) -> Iterator[str]:
    """Slugs to try for a new entry, best first.

    The plain slug, then the slug with a suffix derived from the entry's own
    identity (so the same entry gets the same name in any run), then numbered
    variants as a last resort. Empty slugs and names a site builder treats
    specially never appear plain.
    """
    short = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    base = slug or "entry"
    if slug and slug not in RESERVED_SLUGS:
        yield base
    yield f"{base}-{short}"
    for n in range(2, 1000):
        yield f"{base}-{short}-{n}"


@dataclass
class _Planned:
    """A claimed entry whose file is still to be written."""

    identity: str
    path: str
    text: str
    done: list[str]  # the report's list (new or updated) it joins once written


def _cannot_write(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"


class _WriteFailed(Exception):
    """Some entries of a feed could not be written; the others were."""
