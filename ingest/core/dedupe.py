"""The dedupe decision: what becomes of an entry, given what the store knows of it.

Pure: the store's record comes in as a value, the decision goes out as one,
so every store backend applies the same rule.
"""

from __future__ import annotations

import enum

from .records import StoredEntry

__all__ = ["Action", "decide"]


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
