"""What a read feed's dates decide before its entries are applied: held entries wait, untrusted ones are said.

An entry dated in the future under ``future_dates: hold`` is not applied
at all (no file, no source hash remembered), and the feed's body is not
remembered either, so the next poll reads it again even when its bytes are
the same. An entry whose date was not trusted is applied, dated when first
seen; the feed's line says how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config.model import FeedConfig
from ..records import EntryFailure, Held, Prepared, ReadFeed, Unchanged

__all__ = ["DatesSaid", "reading_settings", "sort_out_dates"]


# Settings that shape how entries are read, with their defaults: part of a feed's settings key when set.
_READING_DEFAULTS = (("future_dates", "first_seen"), ("timezone", None), ("identity", "migrate"), ("extra_fields", ()))


@dataclass(frozen=True)
class DatesSaid:
    entries: list[Prepared | Unchanged | EntryFailure]  # what to apply
    held: int = 0
    untrusted: int = 0
    notes: list[str] = field(default_factory=list)  # for the feed's line


def sort_out_dates(read: ReadFeed) -> DatesSaid:
    """The entries to apply, less those held for a future date, and what the feed's line says of dates."""
    notes = []
    untrusted = [item.untrusted for item in read.entries if isinstance(item, Prepared) and item.untrusted]
    if untrusted:
        shown = ", ".join(sorted({moment.date().isoformat() for moment in untrusted}))
        many = len(untrusted) != 1
        notes.append(f"{len(untrusted)} entr{'ies' if many else 'y'} with an untrusted date ({shown}) dated when first seen")
    held = [item for item in read.entries if isinstance(item, Held)]
    if held:
        until = min(item.until for item in held)
        notes.append(f"{len(held)} held until their date (the first on {until.date().isoformat()})")
    entries = [item for item in read.entries if not isinstance(item, Held)]
    return DatesSaid(entries, held=len(held), untrusted=len(untrusted), notes=notes)


def reading_settings(feed: FeedConfig) -> tuple[tuple[str, object], ...]:
    """The reading settings that differ from their defaults (so stores from before keep their settings key)."""
    return tuple((name, getattr(feed, name)) for name, default in _READING_DEFAULTS if getattr(feed, name) != default)
