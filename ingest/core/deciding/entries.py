"""The dedupe decision: what becomes of each entry of a feed, as intents.

Pure: what the store and the output directory hold comes in as values
(``Facts``, looked up by the shell beforehand) and the decision goes out as
intents (``records.Write``, ``KeepEdit``, ...) that the shell applies in its
crash-safe order (claim, write, flush, confirm). Every store backend thus
applies the same rule, and property tests can drive it without a disk.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..config.model import FeedConfig
from ..content.article import Article, article_from_json, article_to_json
from ..content.entry_images import relink
from ..content.normalize import plain_text
from ..records import (
    Blocked,
    Broken,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Prepared,
    Same,
    Skip,
    StoredEntry,
    Withdraw,
    Write,
)
from ..rendering.page import base_text, render
from ..rendering.profiles import Profile
from .edits import Resolution, content_hash, is_edited, resolve
from .filters import RuleTimeout, compile_filter

__all__ = [
    "FILTERED", "OCCUPIED", "PRUNED", "Action", "as_stored", "rendered", "EntryDecision", "Facts", "Settings", "admits", "candidates", "dated", "prejudge",
    "decide", "decide_entries", "deeper", "judged", "LOOKUP_DEPTH", "MAX_CANDIDATES", "names_to_look_up", "rejudge", "slug_candidates", "texts_of", "withdrawal", "withdrawals",
]


class Action(enum.Enum):
    NEW = "new"
    PENDING = "pending"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    OTHER_FEED = "other-feed"
    DELETED = "deleted"


def decide(stored: StoredEntry | None, feed_id: int, content_hash: str) -> Action:
    """What to do with an entry, given what the store knows about it.

    An entry belongs to the first feed that delivered it: the same story in a
    second feed is left alone, so two feeds never fight over one file. A file
    the user deleted stays deleted.
    """
    if stored is None:
        return Action.NEW
    if stored.feed_id != feed_id:
        return Action.OTHER_FEED
    if stored.state == "deleted":
        return Action.DELETED
    if stored.state == "pending":
        return Action.PENDING  # claimed by a run that stopped before confirming: write it again
    if stored.content_hash == content_hash:
        return Action.UNCHANGED
    return Action.CHANGED


# --- the decision for a feed's entries ----------------------------------------

# Names a site builder treats specially (Hugo's section and leaf bundle pages).
RESERVED_SLUGS = frozenset({"index", "_index"})
FILTERED = "filtered"  # StoredEntry.hidden of an entry the feed's rules keep out
PRUNED = "pruned"  # StoredEntry.hidden of an entry retention removed


@dataclass(frozen=True)
class Settings:
    """What the decision needs to know of the feed and the run."""

    feed: FeedConfig
    feed_id: int
    profile: Profile
    body: str
    now: datetime


@dataclass(frozen=True)
class Facts:
    """What the shell looked up for a batch of entries, so the decision needs no store or disk.

    ``stored`` holds the store's record of every entry in the batch that
    has one. ``taken`` holds the slugs and names among ``candidates`` that
    the store has given to other entries. ``files`` holds the text of each
    file looked up in the output (the stored entries' files and the
    candidates' names), None where there is no file; a name that is not a
    regular file has ``OCCUPIED``.
    """

    stored: Mapping[str, StoredEntry]
    taken: AbstractSet[str] = frozenset()
    files: Mapping[str, str | None] = field(default_factory=dict)
    # A stored entry's text with its images made local (``images: download``),
    # by identity; the decision compares and writes it instead of the rendered text.
    placed: Mapping[str, str] = field(default_factory=dict)
    # and the references it made local (URL -> local), for a merge to carry into the owner's body
    relinks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # A new entry's text with its images made local, by identity: (the slug it was made for, the text).
    # The shell makes it once an earlier decision named the entry; with the same facts, this one names it alike.
    placed_new: Mapping[str, tuple[str, str]] = field(default_factory=dict)


OCCUPIED = "\udcff"  # never equal to rendered text (a lone surrogate)


@dataclass(frozen=True)
class EntryDecision:
    """One intent per entry, in the batch's order, and the identities and names this batch took.

    ``short`` names the entries whose candidate names the facts did not
    cover (every one looked up was taken): decide the batch again with
    facts looked up deeper, or these get no name.
    """

    intents: list[Intent]
    seen: frozenset[str]
    claimed: frozenset[str]
    short: frozenset[str] = frozenset()


def dated(article: Article, stored: StoredEntry | None, now: datetime) -> Article:
    """An entry without a date of its own is dated when it was first seen."""
    if article.date is not None:
        return article
    first_seen = stored.first_seen if stored else now
    return replace(article, date=first_seen.date(), published=first_seen)


def as_stored(prepared: Prepared, stored: StoredEntry, now: datetime) -> Article:
    """A stored entry's article as its file is written: dated when first seen, under the slug it was given."""
    return replace(dated(prepared.article, stored, now), slug=stored.given_slug)


def rendered(article: Article, prepared: Prepared, profile: Profile, body: str) -> str:
    """The file's text, as the worker rendered it unless the decision changed the Article."""
    if prepared.text is not None and article == prepared.article:
        return prepared.text
    return render(article, profile, body)


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
    for n in range(2, MAX_CANDIDATES):
        yield f"{base}-{short}-{n}"


def candidates(article: Article, profile: Profile, images: str = "keep") -> Iterator[tuple[str, str]]:
    """The (slug, file name) pairs a new entry may get, best first; the shell looks them up."""
    assert article.date is not None  # dated before it is named (first seen, if not by its feed)
    for slug in slug_candidates(article.slug, article.identity):
        yield slug, profile.path_for(slug, article.date, images)


# Candidate names looked up per new entry before deciding: its plain slug's, its
# own suffixed one and one more. An entry that needs more (every one of these
# taken) is named in ``Decision.short``, and the shell looks deeper.
LOOKUP_DEPTH = 3
MAX_CANDIDATES = 1000  # names a new entry may get; a look-up this deep covers them all


def deeper(depth: int) -> int | None:
    """How deep to look up next after a decision came back ``short``; None once every candidate was looked up."""
    return None if depth > MAX_CANDIDATES else depth * 4


def names_to_look_up(
    entries: Iterable[Prepared], stored: Mapping[str, StoredEntry], settings: Settings, depth: int = LOOKUP_DEPTH,
) -> list[tuple[str, str]]:
    """The (slug, file name) pairs whose owners the decision needs: the first ``depth`` candidates of each new entry.

    The shell asks the store which are taken (one batched lookup) and reads
    the output at each name that is not, and hands both over as ``Facts``.
    """
    pairs: list[tuple[str, str]] = []
    for item in entries:
        if item.article.identity not in stored:
            article = dated(item.article, None, settings.now)
            pairs += itertools.islice(candidates(article, settings.profile, settings.feed.images), depth)
    return pairs


def withdrawal(entry: StoredEntry, current: str | None, reason: str) -> Withdraw:
    """What a rule's taking ``entry`` out does to its file, whose text is ``current`` (None: no file).

    An edited file stays, and so does its entry; a file already gone was
    deleted by its owner. The filters, ``keep:`` and ``ingest prune`` all
    decide here, and the applier carries the verdict out.
    """
    if current is None:
        return Withdraw(entry, reason, "gone")
    if is_edited(current, entry.ours):
        return Withdraw(entry, reason, "held")
    return Withdraw(entry, reason, "remove")


def withdrawals(entries: Iterable[StoredEntry], files: Mapping[str, str | None], reason: str) -> list[Withdraw]:
    """``withdrawal`` for each of ``entries``, their files' texts looked up in ``files`` by name."""
    return [withdrawal(entry, files.get(entry.path), reason) for entry in entries]


def texts_of(article: Article) -> tuple[str, ...]:
    """What the rules look at: title, summary, body text, the entry's own categories and its author."""
    return (article.title, article.summary, plain_text(article.body), *article.entry_categories, article.author)


def admits(feed: FeedConfig, article: Article) -> bool:
    """Whether the feed's rules let the entry be written (no rules: every entry)."""
    if not feed.include and not feed.exclude:
        return True
    return compile_filter(feed.include, feed.exclude).admits(texts_of(article))


def prejudge(feed: FeedConfig, articles: Sequence[Article]) -> None:
    """Judge the entries by the feed's rules ahead of ``decide_entries`` (which then finds the verdicts ready).

    For a caller that runs this off its event loop when a rule may take long.
    """
    rules = compile_filter(feed.include, feed.exclude)
    for article in articles:
        try:
            rules.admits(texts_of(article))
        except RuleTimeout:  # remembered too: the decision reports it
            pass


def rejudge(
    feed: FeedConfig, feed_id: int, entries: Iterable[StoredEntry],
) -> tuple[list[StoredEntry], list[StoredEntry], list[tuple[str, str]]]:
    """The feed's stored entries its rules (changed since they were judged) now exclude and now admit again.

    Pruned entries, files the owner deleted and claims still pending are
    not judged; of the others, written ones the rules exclude are to be
    withdrawn and filtered ones they admit are to be written. An entry a
    rule ran out of time on is left as it is: (identity, why) in the third
    list, and the rules are to be judged again next time.
    """
    excluded: list[StoredEntry] = []
    admitted: list[StoredEntry] = []
    timed_out: list[tuple[str, str]] = []
    for entry in entries:
        if entry.article is None or entry.state == "pending" or not judged(entry, feed_id):
            continue
        try:
            admit = admits(feed, article_from_json(entry.article))
        except RuleTimeout as exc:
            timed_out.append((entry.identity, str(exc)))
            continue
        if admit:
            if entry.state == "deleted":
                admitted.append(entry)
        elif entry.state == "written":
            excluded.append(entry)
    return excluded, admitted, timed_out


def judged(stored: StoredEntry | None, feed_id: int) -> bool:
    """Whether the rules decide about an entry: not when another feed owns it, the owner deleted it or it was pruned."""
    if stored is None:
        return True
    return stored.feed_id == feed_id and (stored.state != "deleted" or stored.hidden == FILTERED)


def decide_entries(
    entries: Sequence[Prepared], facts: Facts, settings: Settings,
    seen: AbstractSet[str] = frozenset(), claimed: AbstractSet[str] = frozenset(),
) -> EntryDecision:
    """Decide about each of a feed's entries; ``seen`` and ``claimed`` are what earlier feeds of the run took.

    An entry seen earlier in the run is skipped; a new entry gets the first
    candidate name that neither the store, this run nor a file the owner
    put there holds (a file with exactly the bytes ingest would write is
    ingest's own, left by an interrupted run, and is adopted).
    """
    decider = _Decider(facts, settings, seen, claimed)
    intents: list[Intent] = []
    short: set[str] = set()
    for prepared in entries:
        try:
            intents.append(decider.decide(prepared))
        except _NotLookedUp as exc:
            short.add(prepared.article.identity)
            intents.append(Broken(prepared.article.link or prepared.article.identity, exc))
        except Exception as exc:  # one odd entry must not cost the others
            intents.append(Broken(prepared.article.link or prepared.article.identity, exc))
    return EntryDecision(intents, frozenset(decider.seen_now), frozenset(decider.claimed_now), frozenset(short))


class _NotLookedUp(LookupError):
    """The facts hold no free candidate name for an entry: the shell looked up too few."""


@dataclass
class _Decider:
    facts: Facts
    settings: Settings
    seen: AbstractSet[str]  # earlier batches' (read only: a run's sets are large, and not copied)
    claimed: AbstractSet[str]
    seen_now: set[str] = field(default_factory=set)  # this batch's
    claimed_now: set[str] = field(default_factory=set)

    def decide(self, prepared: Prepared) -> Intent:
        """One entry's fate: skipped, held back by the rules, unchanged, or written (new, changed, edited)."""
        article = prepared.article
        if article.identity in self.seen or article.identity in self.seen_now:
            return Skip(article.identity)
        self.seen_now.add(article.identity)
        stored = self.facts.stored.get(article.identity)
        article = dated(article, stored, self.settings.now)
        if judged(stored, self.settings.feed_id) and not admits(self.settings.feed, article):
            return self._hold_back(prepared, article, stored)
        revived = stored is not None and stored.hidden == FILTERED  # changed, and the rules now admit it
        article, name, text = self._named(article, prepared, stored)
        digest = prepared.digest if text is prepared.text and prepared.digest is not None else content_hash(text)
        action = self._action(stored, digest, revived)
        if action is Action.UNCHANGED:
            missing = stored is not None and stored.article is None
            return Same(article.identity, self._json(article, prepared) if missing else None)
        if action in (Action.OTHER_FEED, Action.DELETED):
            return Skip(article.identity)
        data = self._json(article, prepared)
        # A claim a stopped run left is new unless its file had been written before (an update)
        first = action is Action.NEW or (action is Action.PENDING and stored is not None and stored.written_hash is None)
        if stored is None:
            return Write(article.identity, name, text, digest, article.slug, data, first)
        return self._update(stored, article, name, text, digest, data, first, action is Action.CHANGED, revived)

    def _named(self, article: Article, prepared: Prepared, stored: StoredEntry | None) -> tuple[Article, str, str]:
        """The entry's article, file name and text: a stored entry keeps its slug and file, a new one gets a free name."""
        if stored is None:
            return self._name_new(article, prepared)
        article = replace(article, slug=stored.given_slug)
        return article, stored.path, self.facts.placed.get(article.identity) or self._render(article, prepared)

    def _action(self, stored: StoredEntry | None, digest: str, revived: bool) -> Action:
        """What the store says of the entry's text; one the rules admit again is new, or changed if written before."""
        action = decide(stored, self.settings.feed_id, digest)
        if revived and stored is not None:
            return Action.NEW if stored.written_hash is None else Action.CHANGED
        return action

    def _update(
        self, stored: StoredEntry, article: Article, name: str, text: str, digest: str, data: str, first: bool,
        changed: bool, revived: bool,
    ) -> Intent:
        """A stored entry's new text against its file as it is: the owner's edits are kept, merged or overwritten."""
        current = self.facts.files.get(name)
        if revived and stored.written_hash is None and current not in (None, text):
            return Blocked(article.identity, name)  # never written, and someone else's file is at its name
        if current is None and not (changed and not revived):
            return Write(article.identity, name, text, digest, article.slug, data, first)
        profile, body = self.settings.profile, self.settings.body
        edits = self.settings.feed.edits
        outcome = resolve(edits, current, stored.ours, text, lambda: base_text(stored, profile, body))
        if outcome.resolution is Resolution.DELETED:
            return Forget(article.identity, name, digest, article.slug, data)
        if outcome.resolution is Resolution.KEEP:
            return KeepEdit(article.identity, name, digest, data, stored.base_article)
        text = outcome.text or text
        if outcome.resolution is not Resolution.MERGE:
            return Write(article.identity, name, text, digest, article.slug, data, first)
        # the owner's body stays theirs, but points at the images now stored beside it
        text = relink(text, self.facts.relinks.get(article.identity, {}))
        return Write(article.identity, name, text, digest, article.slug, data, False, True, stored.base_article,
                     kept_body=outcome.kept_body)

    def _hold_back(self, prepared: Prepared, article: Article, stored: StoredEntry | None) -> Intent:
        if stored is not None and stored.state != "deleted":  # written before: its file goes, unless edited
            return withdrawal(stored, self.facts.files.get(stored.path), FILTERED)
        if stored is None:
            article, name, text = self._name_new(article, prepared)
        else:
            article, name = replace(article, slug=stored.given_slug), stored.path
            text = self._render(article, prepared)
        return HoldBack(article.identity, name, content_hash(text), article.slug, self._json(article, prepared))

    def _render(self, article: Article, prepared: Prepared) -> str:
        return rendered(article, prepared, self.settings.profile, self.settings.body)

    def _json(self, article: Article, prepared: Prepared) -> str:
        return prepared.data if article == prepared.article else article_to_json(article)

    def _name_new(self, article: Article, prepared: Prepared) -> tuple[Article, str, str]:
        """Give a new entry a slug and a file name no other entry or owner's file has.

        The first entry with a slug gets it plain; another entry with the same
        slug gets a suffix derived from its own identity. Slugs are unique
        whatever the profile's file-name pattern, so switching profiles never
        makes two entries collide. Names are kept in the store, so they never
        change afterwards.
        """
        taken, files = self.facts.taken, self.facts.files
        for slug, name in candidates(article, self.settings.profile, self.settings.feed.images):
            if slug in taken or name in taken or self._claimed(slug) or self._claimed(name):
                continue
            if name not in files:
                raise _NotLookedUp(f"no candidate name looked up is free for {article.slug!r}")
            candidate = article if slug == article.slug else replace(article, slug=slug)
            text = self._render(candidate, prepared)
            if files[name] is not None and files[name] != text:
                continue
            self.claimed_now.update((slug, name))
            placed = self.facts.placed_new.get(article.identity)
            if placed is not None and placed[0] == slug:
                text = placed[1]
            return candidate, name, text
        raise RuntimeError(f"no free file name for {article.slug!r}")

    def _claimed(self, key: str) -> bool:
        return key in self.claimed_now or key in self.claimed
