"""When two entries are the same entry: identity links, and entries that survive a publisher's move.

An entry's identity is its guid, else its link (see ``normalize.identity``).
Publishers move: from http to https, to or from ``www.``, adding
``?utm_source=rss`` to every link, or rotating guids while the links stay.
Each such move used to make every recent entry a second file. Two rules
keep them one:

- **Identity links.** Links (and http(s) guids) are compared in the form
  ``identity.identity_link`` gives: the scheme's http/https difference, a leading
  ``www.``, default ports, the fragment and the ``TRACKING_PARAMETERS`` are
  ignored; every other query parameter counts (``?id=1`` and ``?id=2`` are
  two entries). This form is the identity, so it holds across feeds too.
- **The same feed's entry.** A new identity whose identity link (or, for an
  entry without a link, its title and date) matches an entry the same feed
  already has is that entry: it takes the stored identity and its file, and
  is updated in place if it changed. ``identity: strict`` turns this off.

Stores written before identity links keep their identities: an entry is
looked up under its identity and under the one it had before
(``Prepared.legacy``), and takes the stored one, so nothing is renamed,
rewritten or written twice on upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .identity import identity_link

if TYPE_CHECKING:
    from ..config.model import FeedConfig
    from ..records import EntryFailure, Held, Prepared, StoredEntry, Unchanged

__all__ = ["judge_same", "Judged", "match_key", "RECENT", "RECENT_PER_ENTRY"]


# How many of a feed's most recently seen entries a new entry is compared with (see ``judge_same``).
RECENT = 100
RECENT_PER_ENTRY = 4


@dataclass(frozen=True)
class Judged:
    """An entry judged the same as one the feed already has: its new identity, and the stored one it became."""

    identity: str
    stored: str
    path: str  # the stored entry's file, within the output
    why: str  # "identity before identity links", "link", "title and date"


def judge_same(
    entries: list[Prepared | Unchanged | EntryFailure | Held],
    feed: FeedConfig,
    feed_id: int,
    lookup: Callable[[Iterable[str]], dict[str, StoredEntry]],
    entry_keys: Callable[[int, int], list[tuple[str, str, str, str, str | None]]],
) -> tuple[list[Prepared | Unchanged | EntryFailure | Held], list[Judged]]:
    """Give each new entry that is an entry already stored its stored identity; say which were judged so.

    ``lookup`` is the store's batched ``stored_entries``; ``entry_keys``
    the identity, file, link, title and time of one feed's most recently
    seen entries (``RECENT``, or ``RECENT_PER_ENTRY`` per entry of the
    document if more: a moved entry is one the feed still carries), asked
    only when some entry is still new after the lookup (and never under
    ``identity: strict``).
    """
    from ..records import Prepared

    prepared = [item for item in entries if isinstance(item, Prepared)]
    if not prepared:
        return entries, []
    earlier = {id(item): _earlier_keys(item) for item in prepared}
    stored = lookup({item.article.identity for item in prepared} | {key for keys in earlier.values() for key in keys})
    matches = _Matches({item.article.identity for item in prepared if item.article.identity in stored})
    new = matches.under_earlier_identities(prepared, earlier, stored)
    if new and feed.identity != "strict":
        matches.in_the_same_feed(new, _keys(entry_keys(feed_id, max(RECENT, RECENT_PER_ENTRY * len(entries)))))
    if not matches.changed:
        return entries, matches.judged
    return [matches.changed.get(id(item), item) for item in entries], matches.judged


@dataclass
class _Matches:
    """The entries of one document found to be stored ones, and the stored identities already taken."""

    present: set[str]  # a stored identity two entries of the document must not both take
    changed: dict[int, Prepared] = field(default_factory=dict)  # by id() of the entry, the entry with its stored identity
    judged: list[Judged] = field(default_factory=list)

    def under_earlier_identities(
        self, prepared: list[Prepared], earlier: dict[int, list[str]], stored: dict[str, StoredEntry]
    ) -> list[Prepared]:
        """Entries stored by a version before identity links take that identity; the others not stored are new."""
        new: list[Prepared] = []
        for item in prepared:
            if item.article.identity in stored:
                continue
            found = next((key for key in earlier[id(item)] if key in stored and key not in self.present), None)
            if found is None:
                new.append(item)
                continue
            self.present.add(found)  # the same entry under the identity a store from before identity links holds
            self.changed[id(item)] = _as(item, found)
        return new

    def in_the_same_feed(self, new: list[Prepared], known: dict[str, tuple[str, str, str]]) -> None:
        """New entries whose link (or title and date) is a stored entry's of the feed become that entry."""
        for item in new:
            match = known.get(match_key(item.article.link, item.article.title, item.article.published))
            if match is None or match[0] in self.present:
                continue
            identity, path, why = match
            self.present.add(identity)
            self.changed[id(item)] = _as(item, identity)
            self.judged.append(Judged(item.article.identity, identity, path, why))


def _earlier_keys(item: Prepared) -> list[str]:
    """Identities the entry may be stored under by a version before identity links, most likely first.

    Its own identity in the earlier form, then its identity link with http
    or https and with or without ``www.``, as earlier identities kept them.
    """
    keys = [item.legacy] if item.legacy else []
    identity = item.article.identity
    if identity.startswith("url:https://"):
        rest = identity.removeprefix("url:https://")
        for scheme in ("http://", "https://"):
            for host in (rest, f"www.{rest}"):
                key = f"url:{scheme}{host}"
                if key != identity and key not in keys:
                    keys.append(key)
    return keys


def match_key(link: str, title: str, published: object) -> str:
    """What makes two entries of one feed the same when their identities differ: link, else title and date."""
    if link:
        return f"link {identity_link(link)}"
    when = published.isoformat() if hasattr(published, "isoformat") else str(published or "")  # as stored
    return f"title {title}\n{when}"


def _keys(stored: list[tuple[str, str, str, str, str | None]]) -> dict[str, tuple[str, str, str]]:
    """The feed's stored entries by match key (the first stored wins): identity, file, what matched."""
    keys: dict[str, tuple[str, str, str]] = {}
    for identity, path, link, title, published in stored:
        keys.setdefault(match_key(link, title, published), (identity, path, "link" if link else "title and date"))
    return keys


def _as(item: Prepared, identity: str) -> Prepared:
    from .article import article_to_json

    article = replace(item.article, identity=identity)
    return replace(item, article=article, data=article_to_json(article))

