"""Read fetched feeds into Articles on every core.

Parsing, sanitizing and rendering are nearly all of a first run's work and
run in Python and Rust code that holds the GIL, so a run hands them to a pool of
worker processes, one per core, while its event loop goes on fetching. A
run that will read many feeds whole forks its workers before it opens any
connection; any other run starts them only once enough feeds need reading
(see ``Readers``): a run in which every feed answers 304 starts no worker.
With one core, or in the daemon, feeds are read in the calling process.

Only what a worker needs crosses the process boundary: the fetched result
and the feed's settings go in; Articles with their files rendered, or what
went wrong, come out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import hashlib
import logging
import multiprocessing
import os
import pickle
import select
import signal
import sys
import threading
import traceback
from datetime import datetime, timezone
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.records import EntryFailure, Held, Prepared, ReadFeed, Unchanged

if TYPE_CHECKING:
    from ..core.config.model import FeedConfig
    from ..core.content.article_page import Extracted
    from ..core.records import FetchResult

__all__ = ["available_cores", "read_feed", "Readers", "source_hash"]


log = logging.getLogger("ingest.reading")  # the name people see in log lines, whatever the module's place
_WORKER_NICENESS = 10
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_T = TypeVar("_T")


def read_feed(
    result: FetchResult, feed: FeedConfig, scope: str, profile: str, body: str,
    salt: str = "", known: frozenset[str] = frozenset(), items: frozenset[str] = frozenset(),
) -> ReadFeed:
    """Parse, normalize and render every entry of ``result``: the part of a run that needs a CPU.

    An entry whose source hash is in ``known`` (the entries of the feed's
    last processed body) is only hashed: when one item is added to a feed,
    the other items cost a hash, not a sanitizer pass and a render. Better
    still, an item remembered in ``items`` (see ``incremental``) with its very
    bytes is not even parsed. ``salt`` holds everything besides the entry that
    shapes its file (the run's settings, the feed's address and scope), so a
    change there misses. Entries that share an id with different entries are
    told apart first (``reuse``), over the whole document; their hashes are
    salted apart, so an entry never counts as known under an identity it no
    longer has.
    """
    from ..core.content.article import article_to_json
    from ..core.content.normalize import entry_date, legacy_identity, normalize
    from ..core.content.reuse import find_reused
    from ..core.deciding.edits import content_hash
    from ..core.reading.incremental import read_items
    from ..core.reading.parse import ParseError
    from ..core.rendering.page import render
    from ..core.rendering.profiles import PROFILES

    try:
        subset = read_items(result, salt, items, known)
    except ParseError as exc:
        return ReadFeed(error=str(exc))
    parsed = subset.parsed
    if subset.unchanged:
        log.debug("%s: parsed %d of %d items, the others are unchanged", feed.name,
                  len(parsed.entries), len(parsed.entries) + len(subset.unchanged))
    now = datetime.now(timezone.utc)  # what a date more than a day ahead is judged against
    slots: dict[int, Prepared | Unchanged | EntryFailure | Held] = {
        position: Unchanged(source) for position, (source, _token) in subset.unchanged.items()
    }
    tokens = {source: token for source, token in subset.unchanged.values()}
    try:
        reused, note = find_reused(parsed.entries, result.final_url, scope)
    except Exception:  # an odd entry: it fails on its own below, and no id counts as reused
        log.debug("telling apart entries that share an id failed", exc_info=True)
        reused, note = {}, None
    refused: list[str] = []
    for number, entry in enumerate(parsed.entries):
        position = subset.positions[number]
        reuse = reused.get(number)
        try:
            source = source_hash(entry, salt if reuse is None else f"{salt} id-reused")
            token = subset.token(position, entry, source) if reuse is None else None
            if token is not None:
                tokens[source] = token
            if source in known:
                slots[position] = Unchanged(source)
                continue
            verdict = entry_date(entry, feed, now)
            if verdict.hold_until is not None:
                slots[position] = Held(position + 1, verdict.hold_until)
                continue
            article = normalize(entry, feed, result.final_url, scope=scope, id_reused=reuse is not None,
                                published=verdict.moment)
            refused += article.refused_urls
            text = render(article, PROFILES[profile], body) if article.date else None
            digest = content_hash(text) if text is not None else None
            legacy = legacy_identity(entry, result.final_url, article, scope, id_reused=reuse is not None)
            slots[position] = Prepared(
                article, text, digest, article_to_json(article), source, reuse, verdict.untrusted, legacy
            )
        except Exception as exc:  # one odd entry must not cost the others
            slots[position] = EntryFailure(position + 1, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    warning = "; ".join(w for w in (parsed.warning, note, refused_note(refused)) if w) or None
    entries = [slots[position] for position in sorted(slots)]
    return ReadFeed(entries, ttl=parsed.ttl, warning=warning, items=tokens, encoding=parsed.encoding)


def refused_note(refused: list[str]) -> str | None:
    """The feed's one line about URLs left out of ``link:``/``image:`` (see ``core.safeurl``), or None."""
    if not refused:
        return None
    kinds = ", ".join(sorted(set(refused)))
    return f"left out {len(refused)} link/image URL{'s' if len(refused) != 1 else ''} that {'are' if len(refused) != 1 else 'is'} not http or https ({kinds})"


def source_hash(entry: Any, salt: str) -> str:
    """A hash of everything feedparser read for ``entry``, and of ``salt``.

    The entry is serialized with pickle, the fastest exact serialization of
    feedparser's nested dicts (a third of JSON's cost). The bytes could
    change with another Python or feedparser; that only costs one full pass.
    """
    digest = hashlib.sha256(salt.encode("utf-8", "surrogatepass"))
    digest.update(pickle.dumps(entry, protocol=5))
    return digest.hexdigest()[:32]


def available_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit included)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# What a fork server imports before forking its first worker, so that every worker shares one
# copy of it instead of importing its own: the reading code, or the article extractor.
READING = (
    "ingest.shell.reader_pool",
    "ingest.core.content.article",
    "ingest.core.content.normalize",
    "ingest.core.content.reuse",
    "ingest.core.deciding.edits",
    "ingest.core.reading.incremental",
    "ingest.core.reading.parse",
    "feedparser",
    "nh3",
    "ingest.core.rendering.page",
    "ingest.core.rendering.profiles",
)
EXTRACTING = ("ingest.shell.reader_pool", "ingest.core.content.article_page", "lxml.html", "readability")


class Readers:
    """Where a run reads its feeds: worker processes, or the calling process.

    Use as a context manager; leaving it stops the workers. ``pending`` is
    how many fetched bodies may wait for a worker at once, which bounds the
    memory a run holds whatever the number of feeds.

    Workers start in one of two ways. A run that will read many feeds whole
    (``fork``) forks them at once, before it opens any connection or thread
    (a fork beside running threads can copy a held lock): they share this
    process's pages. Otherwise none starts up front, so a run in which every
    feed answers 304 starts no process: the first ``inline`` jobs run here,
    and only then do workers start, from a fork server (a clean process that
    imports the reading code once and forks each worker from itself, safe
    whatever threads this process has by then), while the jobs that come
    meanwhile still run here. With ``inline`` None, jobs wait for the workers
    instead of holding up this process's event loop (the daemon's article
    extraction).
    """

    def __init__(
        self, workers: int, pending: int | None = None, close_fds: tuple[int, ...] = (), *,
        fork: bool = False, inline: int | None = None, preload: tuple[str, ...] = READING,
    ) -> None:
        """``workers``: at most that many processes (fewer than one: every job runs here).

        ``close_fds``: descriptors forked workers must not keep, such as the store's lock.
        """
        self.pending = asyncio.Semaphore(pending or 2 * workers) if workers > 1 else None
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._frozen = False
        self._workers = 0  # workers still to start from the fork server
        self._inline = inline
        self._preload = preload
        self._starting: asyncio.Future[None] | None = None
        self._closed = False
        self._lock = threading.Lock()  # the fork server's pool is made in a thread while the run may be ending
        methods = multiprocessing.get_all_start_methods()
        if fork and workers > 1 and "fork" in methods:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker, initargs=(close_fds,),
            )
            # Fork every worker now, while this process has no other thread: the first
            # submission forks them all (the fork start method) before it starts the pool's
            # own thread. Not waiting for the job spares the run the workers' start-up.
            # Everything this process holds by then (modules, the config) is frozen out of the
            # garbage collector's reach first: a collection writes to every object it visits, and
            # each page it wrote in a worker would become that worker's own copy (about 10 MB a
            # worker) instead of staying shared.
            gc.freeze()
            self._frozen = True
            self._pool.submit(int)
        elif workers >= 1 and "forkserver" in methods:
            self._workers = workers

    @classmethod
    def inline(cls) -> Readers:
        return cls(0)

    @classmethod
    def spawned(cls, workers: int = 1) -> Readers:
        """Workers for a long-running process (the daemon's article extraction), started at the first job."""
        return cls(workers, preload=EXTRACTING)

    async def read(
        self, result: FetchResult, feed: FeedConfig, scope: str, profile: str, body: str,
        salt: str = "", known: frozenset[str] = frozenset(), items: frozenset[str] = frozenset(),
    ) -> ReadFeed:
        return await self.call(read_feed, result, feed, scope, profile, body, salt, known, items)

    async def extract(
        self, data: bytes, url: str, content_type: str, selector: tuple[str, ...], remove: tuple[str, ...],
    ) -> Extracted:
        """An article page's article (``content: extract``), extracted in a worker when there are any."""
        from ..core.content.article_page import extract_article

        return await self.call(extract_article, data, url, content_type, selector, remove)

    async def call(self, job: Callable[..., _T], *args: Any) -> _T:
        """``job(*args)``, in a worker when there is one; ``job`` and its arguments must pickle."""
        pool = self._pool if self._pool is not None else await self._started()
        if pool is not None:
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, job, *args)
            except concurrent.futures.process.BrokenProcessPool:
                self._lost_workers()
        return job(*args)

    async def _started(self) -> concurrent.futures.ProcessPoolExecutor | None:
        """The fork server's pool once it is up; None while this job is to run here."""
        if not self._workers:
            return None
        if self._inline:  # one of the first jobs: it runs here, and the workers may never be needed
            self._inline -= 1
            return None
        if self._starting is None:  # its start (about a tenth of a second) runs in a thread: the loop goes on
            self._starting = asyncio.ensure_future(asyncio.to_thread(self._start, self._workers))
            self._starting.add_done_callback(self._settle)
        if self._inline is None and not self._starting.done():  # the daemon's extraction waits for its workers
            with contextlib.suppress(Exception):
                await asyncio.shield(self._starting)
        return self._pool

    def _settle(self, starting: asyncio.Future[None]) -> None:
        """A start that failed (a limit on processes, a broken pool) leaves every job to this process."""
        if starting.cancelled() or starting.exception() is None:
            return
        if self._workers:
            log.warning("could not start worker processes (%s); reading in this process", starting.exception())
        self._workers = 0

    def _start(self, workers: int) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(self._preload))
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=((), os.getpid()),
        )
        try:
            pool.submit(int).result()  # the fork server and a first worker are up
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        with self._lock:
            closed = self._closed
            if not closed:
                self._pool = pool
        if closed:  # the run ended while its workers were starting
            pool.shutdown(wait=False, cancel_futures=True)

    def _lost_workers(self) -> None:
        """A worker was killed (out of memory, a signal): the run goes on in this process."""
        log.warning("the worker processes stopped; reading the remaining feeds in this process")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        self._workers = 0

    def __enter__(self) -> Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        self._workers = 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._frozen:  # no worker shares this process's pages any more: collect them as usual again
            gc.unfreeze()
            self._frozen = False


def _start_worker(close_fds: tuple[int, ...], owner: int | None = None) -> None:
    """Workers yield the CPU to the run's own process, leave Ctrl-C to it, and die with it.

    The run's process does short bursts of work between waits (a response
    arriving, a file created); on a machine whose cores the workers fill, at
    equal priority each burst would wait for a time slice. Ctrl-C stops the
    run, which then stops the workers. A worker must not outlive a run that
    was killed: it would hold the store's lock (a forked worker's copy of its
    descriptor) and every later run would find the store busy. So the lock
    is closed here, and on Linux the kernel ends a forked worker when its
    parent dies. A worker a fork server started has the fork server as its
    parent, so it watches its ``owner`` (the process that asked for it)
    instead; and it freezes what it inherited from the fork server (the
    preloaded modules) out of the garbage collector's reach, which would
    otherwise make each page it visits this worker's own copy.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd in close_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    if owner is not None:
        gc.freeze()
        _end_with(owner)
    elif sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(0)
    with contextlib.suppress(OSError):
        os.nice(_WORKER_NICENESS)


def _end_with(owner: int) -> None:
    """End this worker when ``owner`` ends, though another process is its parent.

    A fork server's worker would otherwise outlive a daemon that was
    killed, waiting for jobs forever, and keep the fork server alive too
    (each worker holds the descriptor whose closing tells the fork server
    to stop).
    """
    try:
        watched = os.pidfd_open(owner)
    except ProcessLookupError:  # gone already
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd here: the worker ends when its pool stops it
        return

    def wait() -> None:
        select.select([watched], [], [])
        os._exit(0)

    threading.Thread(target=wait, name="ingest-owner-watch", daemon=True).start()

