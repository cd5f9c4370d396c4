"""Entries that share one id: told apart instead of dropped.

Some feeds give every item the same guid (the site's address, a constant,
a CMS default). Identity by id then makes every item after the first a
duplicate of it, and the stories are lost. Within one document, entries
that share an id but differ in their own link (or, lacking links, in
title and publication time) are distinct: each is known by that link, or
by its title and time within the feed, exactly as an entry without an id
is (``identity.identity``). The decision is made over the whole document
before any entry is skipped as known, and does not depend on the order of
the items, so it is the same on every run. True repeats (same id, same
link, or same title and time) remain one entry, written once. A feed that
never reuses an id is not touched: its entries keep their identities and
their source hashes.

The first run that tells such entries apart may find one of them already
stored under the shared id (written before the feed began to reuse it, or
by an ingest that did not tell them apart). ``adopt_earlier_files`` gives
that identity back to the entry whose link (or title) it was stored with,
so its file is kept rather than written a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .article import article_to_json
from .identity import identity, normalize_link
from .normalize import entry_datetime, entry_id, entry_link, entry_title

if TYPE_CHECKING:
    from ..records import EntryFailure, Prepared, StoredEntry, Unchanged


__all__ = ["adopt_earlier_files", "find_reused", "Reuse"]


@dataclass(frozen=True)
class Reuse:
    """How one entry whose id is reused is told apart from the others sharing it."""

    shared: str  # the identity the shared id alone would give
    by: str  # "link" or "title": what distinguishes it
    key: str  # the normalized link, or the title


def find_reused(entries: Sequence[Any], base_url: str, scope: str) -> tuple[dict[int, Reuse], str | None]:
    """The entries (by 0-based position) whose id other, different entries share, and a note for the report."""
    groups: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        raw_id = entry_id(entry)
        if raw_id:
            groups.setdefault(raw_id, []).append(index)
    reused: dict[int, Reuse] = {}
    ids = distinct = 0
    for raw_id, members in groups.items():
        if len(members) < 2:
            continue
        keys = {index: _distinguisher(entries[index], base_url) for index in members}
        if len(set(keys.values())) < 2:
            continue  # true repeats: one entry
        ids += 1
        distinct += len(set(keys.values()))
        shared = identity(raw_id, "", "", None, scope)
        for index, (by, key) in keys.items():
            reused[index] = Reuse(shared, by, key)
    if not reused:
        return reused, None
    plural = "s" if ids != 1 else ""
    note = (
        f"{distinct} different entries share {ids} id{plural}; each is kept as its own entry, "
        "known by its link, or by its title and date"
    )
    return reused, note


def _distinguisher(entry: Any, base_url: str) -> tuple[str, str]:
    link = entry_link(entry, base_url)
    if link:
        return "link", normalize_link(link)
    published = entry_datetime(entry)
    return "title", f"{entry_title(entry)}\n{published.isoformat() if published else ''}"


def adopt_earlier_files(
    entries: list[Prepared | Unchanged | EntryFailure],
    feed_id: int,
    lookup: Callable[[Iterable[str]], dict[str, StoredEntry]],
) -> list[Prepared | Unchanged | EntryFailure]:
    """Give a shared id's stored identity back to the entry it was stored for, so its file is kept.

    ``lookup`` is the store's ``stored_entries``. Only an entry this feed
    stored counts, and only one entry per shared id takes it back.
    """
    from ..records import Prepared

    told_apart = [item for item in entries if isinstance(item, Prepared) and item.reuse is not None]
    if not told_apart:
        return entries
    stored = lookup({item.reuse.shared for item in told_apart if item.reuse})
    taken: set[str] = set()
    adopted: dict[int, Prepared] = {}
    for item in told_apart:
        reuse = item.reuse
        assert reuse is not None
        earlier = stored.get(reuse.shared)
        if earlier is None or earlier.feed_id != feed_id or earlier.article is None or reuse.shared in taken:
            continue
        wanted = reuse.key if reuse.by == "link" else reuse.key.split("\n", 1)[0]
        if _stored_key(earlier.article, reuse.by) == wanted:
            taken.add(reuse.shared)
            article = replace(item.article, identity=reuse.shared)
            adopted[id(item)] = replace(item, article=article, data=article_to_json(article))
    if not adopted:
        return entries
    return [adopted.get(id(item), item) for item in entries]


def _stored_key(article_json: str, by: str) -> str:
    """What a stored entry would be told apart by, from the Article kept in the store."""
    from .article import article_from_json

    article = article_from_json(article_json)
    if by == "link":
        return normalize_link(article.link) if article.link else ""
    return article.title  # not its time: one of its own or, lacking that, the day it was first seen
