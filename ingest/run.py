"""Wire the stages together for one feed and for a whole run.

Fetches run concurrently; everything after the fetch (parse, normalize,
decide, write, record) runs one feed at a time on the event loop thread, so
the store and the file names it hands out never race. Each file is written
before its store row is committed: a crash in between only means the next
run finds the same bytes at the same path and adopts them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import httpx

from .config import Config, FeedConfig
from .fetch import FetchResult, fetch, make_client
from .normalize import Article, normalize
from .parse import ParseError, parse
from .render import render
from .store import Action, Store, decide, utcnow
from .write import write_atomic

log = logging.getLogger(__name__)

# Names a site builder treats specially (Hugo's section and leaf bundle pages).
RESERVED_SLUGS = frozenset({"index", "_index"})


@dataclass
class FeedReport:
    """What one feed did in this run, for the CLI line and the summary."""

    name: str
    url: str
    status: str = "ok"  # ok | not-modified | failed
    new: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None
    elapsed: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == "failed"


async def run_feeds(
    config: Config,
    feeds: Iterable[FeedConfig],
    store: Store,
    *,
    dry_run: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> list[FeedReport]:
    """Fetch every feed once and process each as soon as its bytes arrive."""
    feeds = list(feeds)
    if not dry_run:
        config.output.mkdir(parents=True, exist_ok=True)
    run = _Run(config.output, store, dry_run)
    limit = asyncio.Semaphore(config.concurrency)
    async with make_client(config.concurrency, transport) as client:

        async def fetch_one(feed: FeedConfig) -> tuple[FeedConfig, int, FetchResult]:
            feed_id = store.feed_id(feed.url, feed.name)
            async with limit:
                return feed, feed_id, await fetch(client, feed, store.validators(feed_id))

        reports = []
        for finished in asyncio.as_completed([fetch_one(feed) for feed in feeds]):
            feed, feed_id, result = await finished
            report = run.process(feed, feed_id, result, utcnow())
            reports.append(report)
            if on_feed:
                on_feed(report)
    order = {feed.name: index for index, feed in enumerate(feeds)}
    return sorted(reports, key=lambda r: order[r.name])


async def poll_feed(config: Config, feed: FeedConfig, store: Store, client: httpx.AsyncClient) -> FeedReport:
    """Fetch and process one feed with a client and store that outlive it.

    The daemon calls this for each scheduled poll. Each poll is its own run:
    an entry seen in an earlier poll is judged by the store, not skipped as a
    duplicate of this one.
    """
    feed_id = store.feed_id(feed.url, feed.name)
    result = await fetch(client, feed, store.validators(feed_id))
    run = _Run(config.output, store, dry_run=False)
    try:
        config.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        report = FeedReport(feed.name, feed.url, elapsed=result.elapsed)
        run._fail(report, feed_id, f"cannot create {config.output}: {exc.strerror or exc}", utcnow())
        return report
    return run.process(feed, feed_id, result, utcnow())


class _Run:
    """State shared by the feeds of one run: names handed out, entries seen."""

    def __init__(self, output: Path, store: Store, dry_run: bool):
        self.output = output
        self.store = store
        self.dry_run = dry_run
        self.claimed: set[str] = set()
        self.seen: set[str] = set()

    def process(self, feed: FeedConfig, feed_id: int, result: FetchResult, now: datetime) -> FeedReport:
        report = FeedReport(feed.name, feed.url, elapsed=result.elapsed)
        try:
            if not result.ok:
                raise _FeedFailed(f"{result.error} ({result.final_url})")
            if result.not_modified:
                report.status = "not-modified"
            else:
                parsed = parse(result)
                for entry in parsed.entries:
                    article = normalize(entry, feed, result.final_url, scope=str(feed_id))
                    self._apply(article, feed_id, now, report)
            if not self.dry_run:
                self.store.record_success(feed_id, result.validators, now)
        except (_FeedFailed, ParseError) as exc:
            self._fail(report, feed_id, str(exc), now)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            self._fail(report, feed_id, f"cannot write{where}: {exc.strerror or exc}", now)
        except Exception as exc:  # a bug must not stop the other feeds
            log.exception("unexpected error processing %s", feed.name)
            self._fail(report, feed_id, f"internal error: {type(exc).__name__}: {exc}", now)
        return report

    def _fail(self, report: FeedReport, feed_id: int, error: str, now: datetime) -> None:
        report.status = "failed"
        report.error = error
        if not self.dry_run:
            self.store.record_failure(feed_id, error, now)

    def _apply(self, article: Article, feed_id: int, now: datetime, report: FeedReport) -> None:
        if article.identity in self.seen:
            report.skipped += 1
            return
        self.seen.add(article.identity)
        stored = self.store.entry(article.identity)
        first_seen = stored.first_seen if stored else now
        if article.date is None:
            article = replace(article, date=first_seen.date())
        if stored is not None:
            article = replace(article, slug=Path(stored.path).stem)
            text = render(article)
        else:
            article, text = self._name_new(article)
        digest = content_hash(text)
        action = decide(stored, feed_id, digest)
        if action is Action.UNCHANGED:
            report.unchanged += 1
            return
        if action in (Action.OTHER_FEED, Action.DELETED):
            report.skipped += 1
            return
        name = f"{article.slug}.md"
        path = self.output / name
        if action is Action.CHANGED and not path.exists():
            # The user deleted the file: remember that, and never bring it back.
            if not self.dry_run:
                self.store.save_entry(article.identity, feed_id, name, digest, "deleted", now)
            report.skipped += 1
            return
        if not self.dry_run:
            if not (path.exists() and path.read_bytes() == text.encode("utf-8")):
                write_atomic(path, text)
            self.store.save_entry(article.identity, feed_id, name, digest, "written", now)
        (report.new if action is Action.NEW else report.updated).append(path)

    def _name_new(self, article: Article) -> tuple[Article, str]:
        """Give a new entry a file name no other entry or user file has.

        The first entry with a slug gets it plain; another entry with the same
        slug gets a suffix derived from its own identity. Names are kept in the
        store, so they never change afterwards. A user's file is never
        overwritten, but a file with exactly the bytes we would write is ours
        from an interrupted run and is adopted.
        """
        short = hashlib.sha256(article.identity.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        base = article.slug or f"entry-{short}"
        candidates = [base, f"{base}-{short}"] if base not in RESERVED_SLUGS else [f"{base}-{short}"]
        candidates += [f"{base}-{short}-{n}" for n in range(2, 1000)]
        for slug in candidates:
            name = f"{slug}.md"
            if name in self.claimed or self.store.path_taken(name):
                continue
            candidate = replace(article, slug=slug)
            text = render(candidate)
            path = self.output / name
            if path.exists() and path.read_bytes() != text.encode("utf-8"):
                continue
            self.claimed.add(name)
            return candidate, text
        raise RuntimeError(f"no free file name for {base!r}")


class _FeedFailed(Exception):
    pass


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
