"""The records that pass between ingest's stages, in one place.

Plain data with no behaviour beyond small derived properties: the core
computes with them, the shell reads and stores them, the faces print them.
This module imports nothing from the shell, so any layer may use it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .printable import printable_url

if TYPE_CHECKING:  # named in annotations only: listing the feeds does not load the sanitizer
    from .content.article import Article
    from .content.reuse import Reuse
    from .scheduling.politeness import Hop

__all__ = [
    "EntryState", "FailureKind", "FeedReport", "FeedState", "FeedStatus", "FetchResult", "HookResult", "Layout",
    "PollRecorded", "StoredEntry", "Validators", "EntryFailure", "Held", "Unchanged", "Prepared", "ReadFeed",
    "Blocked", "Broken", "Forget", "HoldBack", "Intent", "KeepEdit", "Same", "Skip", "Withdraw", "Write",
]


class FailureKind(str, enum.Enum):
    """Why a poll failed, as a value: tests, metrics and ``--json`` use it; the message says it in words."""

    TIMEOUT = "timeout"  # no answer within the feed's timeout
    DEADLINE = "deadline"  # the whole fetch took longer than the feed's deadline
    CONNECT = "connect"  # no connection (refused, unknown host, a refused address, TLS)
    HTTP = "http"  # an HTTP error status
    GONE = "gone"  # 410: the feed is retired
    REDIRECT = "redirect"  # a broken redirect: loop, too many, no Location, not HTTP
    TOO_LARGE = "too-large"  # more than the feed's max_size
    BAD_RESPONSE = "bad-response"  # an answer that cannot be decoded or a URL that cannot be asked
    FILE = "file"  # a file: URL that cannot be read
    NOT_A_FEED = "not-a-feed"  # bytes that are not a feed ingest can trust
    WRITE = "write"  # a file of the output could not be written
    CONFIG = "config"  # the output no longer matches the config (its profile or body changed: rebuild)
    INTERNAL = "internal"  # a bug in ingest


@dataclass(frozen=True)
class Validators:
    """What the server told us last time, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class PollRecorded:
    """What a poll's recorded outcome left in the feed's row that planning its next poll needs.

    Written and returned in one statement, so the daemon plans the next
    poll without reading the row again.
    """

    not_before: datetime | None  # the server's hint, a backoff or a deferral; None: no wait

    def waiting(self, now: datetime) -> bool:
        return self.not_before is not None and self.not_before > now


@dataclass(frozen=True)
class FetchResult:
    """The value at the fetch boundary: what came back, or why nothing usable did.

    ``url`` is the URL asked for, ``final_url`` where the body came from after
    ``hops`` (every redirect followed, in order).
    """

    url: str
    final_url: str
    status: int | None = None
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = field(default_factory=Validators)
    not_modified: bool = False
    error: str | None = None
    elapsed: float = 0.0
    hops: tuple[Hop, ...] = ()
    kind: FailureKind | None = None  # set with ``error``

    @property
    def ok(self) -> bool:
        return self.error is None


# pending: claimed, its file maybe not written yet; written: on disk and confirmed;
# deleted: never written again (the owner deleted it, or a filter or retention hid it).
EntryState = Literal["pending", "written", "deleted"]


@dataclass(frozen=True)
class StoredEntry:
    identity: str
    feed_id: int
    path: str
    content_hash: str
    state: EntryState
    first_seen: datetime
    slug: str | None = None
    article: str | None = None  # the normalized entry as JSON; None if written by an older ingest
    # The hash of the text the file on disk was written from (None: not known),
    # and that text's article while it differs from ``article`` (an owner's
    # edit was kept while upstream moved on).
    written_hash: str | None = None
    written_article: str | None = None
    hidden: str | None = None  # 'filtered' or 'pruned' for a 'deleted' entry ingest removed itself

    @property
    def given_slug(self) -> str:
        """The slug the entry was given; entries from before slugs were stored have it as their file name."""
        return self.slug or Path(self.path).stem

    @property
    def ours(self) -> tuple[str | None, ...]:
        """Hashes of the texts ingest may have left in the file: its base, and an unconfirmed claim's.

        Empty when no base is known (a new entry's file that a stopped run
        never recorded, or a claim from before bases were kept): the file is
        then taken as ingest's, as it always was.
        """
        if self.written_hash is None:
            return ()
        return (self.written_hash, self.content_hash) if self.state == "pending" else (self.written_hash,)

    @property
    def base_article(self) -> str | None:
        """The article the file on disk was rendered from."""
        return self.written_article or self.article


@dataclass(frozen=True)
class Layout:
    """Where and how the files on disk were written; a change needs ``ingest rebuild``."""

    dir: str
    profile: str
    body: str


@dataclass(frozen=True)
class FeedState:
    """What the store knows about one feed, for the CLI and the schedulers."""

    id: int
    url: str
    name: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    error_count: int
    not_before: datetime | None
    next_poll_at: datetime | None
    body_hash: str | None = None
    ttl_minutes: float | None = None
    pending_redirect: str | None = None
    moved_to: str | None = None
    retired_at: datetime | None = None
    retired_reason: str | None = None
    entry_sources: frozenset[str] = frozenset()
    item_tokens: frozenset[str] = frozenset()  # see ``core.reading.incremental``
    validators: Validators = Validators()  # the last ETag and Last-Modified, for a conditional GET
    request_key: str | None = None  # what the last poll asked for (see ``Store.note_request``)
    failing_since: datetime | None = None  # the first failure of the current run of failures
    filter_key: str = ""  # the rules its stored entries were last judged by (see ``Store.save_filter_key``)

    @property
    def fetch_url(self) -> str:
        """Where to ask for the feed: its confirmed new address, else the configured one."""
        return self.moved_to or self.url

    @property
    def troubled(self) -> bool:
        """Whether failures, a deferral or a retirement are recorded for the feed."""
        return bool(self.error_count or self.not_before or self.retired_at or self.last_error)

    def waiting(self, now: datetime) -> bool:
        """Whether the feed asked (or backoff says) not to be polled before a time still ahead."""
        return self.not_before is not None and self.not_before > now


# What a feed's poll came to: written (ok), nothing to read (not-modified, same-content),
# failed, not asked (deferred until a time, retired by a 410).
FeedStatus = Literal["ok", "not-modified", "same-content", "failed", "deferred", "retired"]


@dataclass
class FeedReport:
    """What one feed did in this run, for the CLI line and the summary."""

    name: str
    url: str
    status: FeedStatus = "ok"
    kind: FailureKind | None = None  # why it failed, when it did
    # Paths of the files written, as strings: a big first run writes tens of
    # thousands, and a Path object costs twice the memory.
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None
    # Files the owner edited: left as they were although upstream changed, or
    # merged with the change (these are in ``updated`` too). Names within the output.
    kept: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    until: datetime | None = None  # next attempt (deferred, failed); since when (retired)
    notes: list[str] = field(default_factory=list)
    backing_off: bool = False  # deferred because its last polls failed, not because the server asked
    # The feed's rules and ``keep:``: entries held back, files they removed, and
    # edited files they would have removed but left (names within the output).
    filtered: int = 0
    removed: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    # files of stored entries the rules held back and now admit (in ``new`` too); names within the output
    admitted: list[str] = field(default_factory=list)
    # merged files whose body upstream changed while the owner's edited body was kept (names within the output)
    kept_bodies: list[str] = field(default_factory=list)
    images_failed: list[str] = field(default_factory=list)  # "URL: reason" of entry images not downloaded
    # Full articles (``content: extract``): articles used as bodies in this run,
    # "URL: reason" of pages that could not be extracted, and whether those
    # fail the run (``extract_failures: fail``).
    extracted: int = 0
    extract_failed: list[str] = field(default_factory=list)
    extract_fatal: bool = False
    quiet: str | None = None  # answered, but nothing new for longer than ``expect_new_within``: how long
    encoding: str | None = None  # how the feed's bytes were decoded when ingest decided, not the feed
    untrusted_dates: int = 0  # entries whose date was not trusted, dated when first seen
    held_dates: int = 0  # entries held until their future date (``future_dates: hold``)
    # Files of entries a new identity was judged the same as (a publisher's move: https, www, tracking
    # parameters, a new guid with the same link): updated in place, never written twice.
    same_as: list[str] = field(default_factory=list)
    recorded: PollRecorded | None = None  # what the poll's outcome left in the store (None: not written, or unknown)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def failing(self) -> bool:
        """Failed in this run, not asked while it backs off after failures, images not downloaded, or
        articles not extracted under ``extract_failures: fail``: what a cron job must hear of."""
        return (self.failed or self.backing_off or bool(self.images_failed)
                or (self.extract_fatal and bool(self.extract_failed)))

    def __post_init__(self) -> None:
        # a report is what gets shown: it never holds a URL's credentials, whoever builds it
        self.url = printable_url(self.url)


@dataclass(frozen=True)
class HookResult:
    command: str
    returncode: int | None  # None: it could not be started
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self) -> str:
        if self.ok:
            return f"after_run hook succeeded: {self.command}"
        if self.returncode is None:
            return f"after_run hook could not start: {self.error} ({self.command})"
        return f"after_run hook failed with exit code {self.returncode}: {self.command}"


@dataclass(frozen=True)
class EntryFailure:
    """An entry that could not be turned into an Article; the others go on."""

    index: int  # 1-based position in the feed
    error: str
    details: str = ""  # the traceback, for the log


@dataclass(frozen=True)
class Unchanged:
    """An entry exactly as the feed's last processed body had it: nothing to redo."""

    source: str


@dataclass(frozen=True)
class Prepared:
    """An Article with its file already rendered, hashed and serialized, for the common case.

    These hold for the Article exactly as it is; the run redoes them when it
    gives the entry another slug or a date of its own (first seen).
    """

    article: Article
    text: str | None  # None when the entry has no date of its own
    digest: str | None
    data: str
    source: str  # the hash of the entry as the feed gave it
    reuse: Reuse | None = None  # set when other, different entries of the feed share this entry's id
    untrusted: datetime | None = None  # the date the entry gave, not trusted (before 1995, in the future)
    legacy: str | None = None  # the entry's identity in stores from before identity links, when it differs


@dataclass(frozen=True)
class Held:
    """An entry dated in the future under ``future_dates: hold``: not written before ``until``."""

    index: int  # 1-based position in the feed
    until: datetime


@dataclass(frozen=True)
class ReadFeed:
    """A feed's entries, in document order, or why the feed could not be read."""

    entries: list[Prepared | Unchanged | EntryFailure | Held] = field(default_factory=list)
    ttl: float | None = None  # RSS <ttl>, minutes
    warning: str | None = None  # something forgiven, for the run's report
    error: str | None = None  # the bytes are not a feed we can trust
    items: dict[str, str] = field(default_factory=dict)  # source hash -> token, to remember the items by
    encoding: str | None = None  # how the bytes were decoded when ingest decided ("windows-1251 (detected)")


# --- intents: what the dedupe decision asks the shell to do with one entry ----


@dataclass(frozen=True)
class Write:
    """Claim ``name`` for the entry, write ``text`` there, and confirm it once it is on disk."""

    identity: str
    name: str  # within the output directory
    text: str
    digest: str
    slug: str
    data: str  # the article as JSON, kept for rebuilds
    first: bool  # a new file (not an update of one written before)
    merged: bool = False  # the owner's edit merged with upstream's change
    base: str | None = None  # the article a merged file's owner edit was made on
    moved_from: str | None = None  # ``ingest rebuild``: the name the file had, removed once this one stands
    kept_body: bool = False  # merged, but upstream's change to the body gave way to the owner's body


@dataclass(frozen=True)
class KeepEdit:
    """Leave the owner's edited file as it is; remember upstream's version for a later merge."""

    identity: str
    name: str
    digest: str
    data: str
    base: str | None


@dataclass(frozen=True)
class Forget:
    """The owner deleted the entry's file: record that, and never write it again."""

    identity: str
    name: str
    digest: str
    slug: str
    data: str


@dataclass(frozen=True)
class HoldBack:
    """The feed's rules keep the entry out: record it under its name, write nothing."""

    identity: str
    name: str
    digest: str
    slug: str
    data: str


@dataclass(frozen=True)
class Withdraw:
    """A rule (the feed's filters, ``keep:``, ``ingest prune``) takes an entry written before out of the output.

    ``verdict`` says what becomes of its file: ``remove`` (ingest's own:
    the entry is marked deleted for ``reason`` first, then the file goes),
    ``held`` (the owner edited it: it stays, and so does its entry),
    ``gone`` (the owner deleted it already: recorded as such).
    """

    entry: StoredEntry
    reason: str = "filtered"  # 'filtered' or 'pruned'
    verdict: Literal["remove", "held", "gone"] = "remove"


@dataclass(frozen=True)
class Same:
    """Nothing changed; ``data`` is set when the store has no article for the entry yet."""

    identity: str
    data: str | None = None


@dataclass(frozen=True)
class Skip:
    """Not this feed's to write: already seen in this run, owned by another feed, or deleted."""

    identity: str


@dataclass(frozen=True)
class Broken:
    """The entry could not be decided (a bug or a value no rule foresaw); the others go on."""

    label: str  # the entry's link or identity, for the report
    error: BaseException


@dataclass(frozen=True)
class Blocked:
    """The rules admit again an entry never written, but a file that is not ingest's sits at its name: left alone."""

    identity: str
    name: str


Intent = Write | KeepEdit | Forget | HoldBack | Withdraw | Same | Skip | Broken | Blocked
