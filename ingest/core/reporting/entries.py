"""What a feed's entries came to, derived from the intents the applier carried out.

The entry decision returns one intent per entry; the applier records each in
the store and writes the files. The counts and lists of the feed's line and
``--json`` record (new, updated, unchanged, skipped, kept, merged, held,
filtered, removed...) follow from those intents alone, plus the little that
only carrying them out can tell: whether a file was written, and what a
withdrawal found on disk (a file removed, or one the owner edited meanwhile
and that therefore stayed). Deriving them here, in one ``match`` checked for
exhaustiveness, means a new kind of intent cannot be forgotten by the report,
and the applier no longer keeps a tally by hand.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import assert_never

from ..records import (
    Blocked,
    Broken,
    EntryFailure,
    FeedReport,
    Forget,
    HoldBack,
    Intent,
    KeepEdit,
    Same,
    Skip,
    Unchanged,
    Withdraw,
    Write,
)

__all__ = ["Applied", "EntryReport", "Outcome", "add_entries", "add_rewrites", "entry_report", "rule_changes"]


@dataclass(frozen=True)
class Applied:
    """One intent as the applier carried it out, with what only carrying it out could tell.

    ``written``: a ``Write`` whose file now stands (a dry run counts it as
    written). ``removed`` and ``held``: the names within the output a
    ``Withdraw`` removed, or left because the owner had edited the file.
    """

    intent: Intent
    written: bool = False
    removed: tuple[str, ...] = ()
    held: tuple[str, ...] = ()


# What became of each entry of a feed: an intent carried out, an entry the
# feed had exactly as before (nothing decided), or one that could not be read.
Outcome = Applied | Unchanged | EntryFailure


@dataclass(frozen=True)
class EntryReport:
    """The part of a ``FeedReport`` that the entries' outcomes decide (same field names and meanings)."""

    new: tuple[str, ...] = ()  # paths of the files written for the first time
    updated: tuple[str, ...] = ()  # paths of the files written again
    unchanged: int = 0
    skipped: int = 0
    kept: tuple[str, ...] = ()  # edited files left as they were (names within the output)
    merged: tuple[str, ...] = ()
    kept_bodies: tuple[str, ...] = ()
    held: tuple[str, ...] = ()
    filtered: int = 0
    removed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # entries that could not be read or decided
    pruned: tuple[str, ...] = ()  # files ``keep:`` removed
    admitted: tuple[str, ...] = ()  # files of stored entries the rules held back and now admit (in ``new`` too)


@dataclass
class _Tally:
    """The lists being gathered while the outcomes are read, in their order."""

    new: list[str]
    updated: list[str]
    kept: list[str]
    merged: list[str]
    kept_bodies: list[str]
    held: list[str]
    removed: list[str]
    notes: list[str]
    unchanged: int = 0
    skipped: int = 0
    filtered: int = 0


def entry_report(outcomes: Iterable[Outcome], output: str) -> EntryReport:
    """What ``outcomes`` (in the order they were carried out) came to; file paths are joined to ``output``."""
    tally = _Tally([], [], [], [], [], [], [], [])
    for outcome in outcomes:
        match outcome:
            case Unchanged():
                tally.unchanged += 1
            case EntryFailure(index=index, error=error):
                tally.notes.append(f"entry {index} skipped: {error}")
            case Applied():
                _count(tally, outcome, output)
            case _:
                assert_never(outcome)
    return EntryReport(
        new=tuple(tally.new), updated=tuple(tally.updated), unchanged=tally.unchanged, skipped=tally.skipped,
        kept=tuple(tally.kept), merged=tuple(tally.merged), kept_bodies=tuple(tally.kept_bodies),
        held=tuple(tally.held), filtered=tally.filtered, removed=tuple(tally.removed), notes=tuple(tally.notes),
    )


def _count(tally: _Tally, applied: Applied, output: str) -> None:
    """Count one carried-out intent: one case per kind of intent, so a new kind cannot go uncounted."""
    intent = applied.intent
    match intent:
        case Same():
            tally.unchanged += 1
        case Skip() | Forget():  # not this feed's to write, or deleted by the owner: never written again
            tally.skipped += 1
        case Broken(label=label, error=error):
            tally.notes.append(f"entry {label} skipped: {type(error).__name__}: {error}")
        case Blocked(name=name):
            tally.held.append(name)
        case KeepEdit(name=name):
            tally.kept.append(name)
        case HoldBack():
            tally.filtered += 1
        case Withdraw():
            tally.filtered += 1
            tally.removed += applied.removed
            tally.held += applied.held
        case Write(name=name):
            if intent.merged:
                tally.merged.append(name)
            if intent.kept_body:
                tally.kept_bodies.append(name)
            if applied.written:
                (tally.new if intent.first else tally.updated).append(os.path.join(output, name))
        case _:
            assert_never(intent)


def rule_changes(
    output: str, admitted: Sequence[str], removed: Sequence[str], pruned: Sequence[str], held: Sequence[str],
) -> EntryReport:
    """What the feed's rules (judged again when they changed) and its ``keep:`` did to its stored entries.

    Names within the output: the files written back for entries the rules
    admit again (new files, so in ``new`` as paths too), those the rules
    removed, those ``keep:`` pruned, and edited files either would have
    removed but left.
    """
    return EntryReport(
        new=tuple(os.path.join(output, name) for name in admitted), removed=tuple(removed), pruned=tuple(pruned),
        held=tuple(held), admitted=tuple(admitted),
    )


def add_entries(report: FeedReport, entries: EntryReport, same_as: Sequence[str] = (),
                images_failed: Sequence[str] = ()) -> None:
    """Add what a feed's entries came to (and what was learned deciding them) to the feed's report."""
    report.new += entries.new
    report.updated += entries.updated
    report.unchanged += entries.unchanged
    report.skipped += entries.skipped
    report.kept += entries.kept
    report.merged += entries.merged
    report.kept_bodies += entries.kept_bodies
    report.held += entries.held
    report.filtered += entries.filtered
    report.removed += entries.removed
    report.notes += entries.notes
    report.pruned += entries.pruned
    report.admitted += entries.admitted
    report.same_as += same_as
    report.images_failed += images_failed


def add_rewrites(report: FeedReport, entries: EntryReport) -> None:
    """Add stored posts decided again between polls (their images made local) to the feed's poll report.

    They are entries the poll may have counted already: a file rewritten,
    kept or merged is named once on the feed's line; skips add up.
    """
    report.updated += [path for path in entries.updated if path not in report.updated and path not in report.new]
    report.kept += [name for name in entries.kept if name not in report.kept]
    report.merged += [name for name in entries.merged if name not in report.merged]
    report.skipped += entries.skipped
