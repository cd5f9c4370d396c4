"""Look up what the entry decision needs from the store and the output directory (its ``Facts``).

The core says which candidate names matter (``names_to_look_up``); this
asks the store about all of them in one query and reads the output at each
name the store has not given, so the decision sees complete facts.
"""

from __future__ import annotations

import os
from dataclasses import replace

from ..core.content.article import article_from_json
from ..core.content.entry_images import out_of_bundle
from ..core.deciding.entries import (
    OCCUPIED,
    EntryDecision,
    Facts,
    Settings,
    as_stored,
    dated,
    names_to_look_up,
    rendered,
)
from ..core.records import (
    Blocked,
    Broken,
    Forget,
    HoldBack,
    Prepared,
    Skip,
    StoredEntry,
    Withdraw,
    Write,
)
from ..shell.store import StoreAPI as Store
from ..shell.write import read_text
from .place_images import Images

__all__ = ["cannot_write", "look_up", "place_images"]


def look_up(
    store: Store, output: str, entries: list[Prepared], stored: dict[str, StoredEntry], settings: Settings, depth: int,
) -> tuple[Facts, dict[str, str]]:
    """The facts for deciding about ``entries``, and the entries whose file cannot be read (identity -> why)."""
    files: dict[str, str | None] = {}
    unreadable: dict[str, str] = {}
    for item in entries:
        entry = stored.get(item.article.identity)
        if entry is not None:
            try:
                files[entry.path] = read_text(os.path.join(output, entry.path))
            except OSError as exc:
                unreadable[entry.identity] = cannot_write(exc)
    pairs = names_to_look_up(entries, stored, settings, depth)
    taken = store.names_taken(key for pair in pairs for key in pair) if pairs else set()
    for slug, name in pairs:
        if slug not in taken and name not in taken and name not in files:
            files[name] = _occupant(os.path.join(output, name))
    return Facts(stored, frozenset(taken), files), unreadable


def place_images(
    images: Images, prepared: list[Prepared], stored: dict[str, StoredEntry], decision: EntryDecision,
    settings: Settings,
) -> tuple[dict[str, tuple[str, dict[str, str]]], dict[str, tuple[str, str]], list[str]]:
    """The texts of the posts a first decision writes or keeps, with their images made local (``images: download``).

    Stored posts: identity -> (text, the references made local); new posts,
    now that the decision named them: identity -> (slug, text); and the
    images that could not be had ("URL: reason"). Entries the
    decision holds back, withdraws or skips get none, so the rules are
    applied once, by the decision. A post an edit kept out of its bundle
    gets none either: its images would sit beside no post.
    """
    feed, feed_id, now = settings.feed, settings.feed_id, settings.now
    texts: dict[str, tuple[str, dict[str, str]]] = {}
    fresh: dict[str, tuple[str, str]] = {}
    failures: list[str] = []
    for item, intent in zip(prepared, decision.intents):
        if isinstance(intent, (HoldBack, Withdraw, Skip, Broken, Blocked, Forget)):
            continue
        entry = stored.get(item.article.identity)
        if entry is None:
            if isinstance(intent, Write) and intent.first:
                article = replace(article_from_json(intent.data), slug=intent.slug)
                outcome = images.place(feed.images, feed_id, article, intent.text, now, None)
                failures += outcome.failures
                if outcome.text != intent.text:
                    fresh[intent.identity] = (intent.slug, outcome.text)
            continue
        if out_of_bundle(settings.profile, entry, dated(item.article, entry, now).date or now.date()):
            continue
        article = as_stored(item, entry, now)
        text = rendered(article, item, settings.profile, settings.body)
        outcome = images.place(feed.images, feed_id, article, text, now, entry)
        failures += outcome.failures
        texts[article.identity] = (outcome.text, outcome.refs)
    return texts, fresh, failures


def _occupant(path: str) -> str | None:
    """A candidate name's file: its text, None if there is none, ``OCCUPIED`` if it is not a regular file."""
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        return OCCUPIED
    try:
        return read_text(path)
    except OSError:
        return OCCUPIED


def cannot_write(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write{where}: {exc.strerror or exc}"
